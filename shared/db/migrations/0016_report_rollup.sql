CREATE TABLE "report_daily_operators" (
	"account_id" uuid NOT NULL,
	"day" date NOT NULL,
	"operator_external_id" text,
	"operator_name" text,
	"last_created_at" timestamp with time zone NOT NULL,
	"calls" integer NOT NULL,
	"done_calls" integer NOT NULL,
	"measured_calls" integer NOT NULL,
	"duration_sum" double precision,
	"measured_duration_sum" double precision,
	"score_total" double precision,
	"score_count" integer NOT NULL,
	"talk_ratio_sum" double precision,
	"talk_ratio_count" integer NOT NULL,
	"operator_interruptions_sum" double precision,
	"operator_interruptions_count" integer NOT NULL,
	"client_interruptions_sum" double precision,
	"client_interruptions_count" integer NOT NULL,
	"silence_sum" double precision
);
--> statement-breakpoint
ALTER TABLE "report_daily_operators" ADD CONSTRAINT "report_daily_operators_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "report_daily_operators_account_day_idx" ON "report_daily_operators" USING btree ("account_id","day");