DROP INDEX "calls_account_status_idx";--> statement-breakpoint
DROP INDEX "calls_account_created_idx";--> statement-breakpoint
CREATE INDEX "calls_account_status_created_idx" ON "calls" USING btree ("account_id","status","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "calls_account_call_time_idx" ON "calls" USING btree ("account_id",coalesce(started_at, created_at));--> statement-breakpoint
CREATE INDEX "calls_account_created_idx" ON "calls" USING btree ("account_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);