CREATE TABLE "provider_usage" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"call_id" uuid,
	"kind" text NOT NULL,
	"provider" text NOT NULL,
	"audio_sec" double precision DEFAULT 0 NOT NULL,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"our_cost" numeric(20, 6) NOT NULL,
	"currency" text NOT NULL,
	"attempts" integer NOT NULL,
	"outcome" text NOT NULL,
	"error_code" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_usage_currency_check" CHECK ("provider_usage"."currency" in ('KZT','RUB','USD')),
	CONSTRAINT "provider_usage_cost_nonnegative" CHECK ("provider_usage"."our_cost" >= 0),
	CONSTRAINT "provider_usage_counts_nonnegative" CHECK ("provider_usage"."attempts" >= 0 and "provider_usage"."input_tokens" >= 0 and "provider_usage"."output_tokens" >= 0 and "provider_usage"."audio_sec" >= 0)
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "speech_language" text DEFAULT 'auto' NOT NULL;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "speech_providers" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "analysis_providers" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "provider_usage" ADD CONSTRAINT "provider_usage_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_usage" ADD CONSTRAINT "provider_usage_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "provider_usage_account_created_idx" ON "provider_usage" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "provider_usage_call_idx" ON "provider_usage" USING btree ("call_id");--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_speech_language_check" CHECK ("accounts"."speech_language" in ('ru','kk','en','auto'));--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_speech_providers_array" CHECK (jsonb_typeof("accounts"."speech_providers") = 'array');--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_analysis_providers_array" CHECK (jsonb_typeof("accounts"."analysis_providers") = 'array');