CREATE TABLE "account_deletions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"requested_at" timestamp with time zone,
	"executed_at" timestamp with time zone NOT NULL,
	"counts" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "deletion_scheduled_for" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "processing_blocked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "purged_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "account_deletions_account_idx" ON "account_deletions" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "calls_unpurged_created_idx" ON "calls" USING btree ("account_id","created_at") WHERE "calls"."purged_at" is null;