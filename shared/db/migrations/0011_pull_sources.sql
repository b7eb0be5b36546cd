ALTER TABLE "sources" ADD COLUMN "pull_cursor" text;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "pull_lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "last_pull_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "last_pull_error_code" text;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "last_pull_error_message" text;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "last_pull_error_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sources" ADD COLUMN "pull_failed" integer DEFAULT 0 NOT NULL;