DROP INDEX "audit_log_account_created_idx";--> statement-breakpoint
DROP INDEX "ledger_transactions_account_idx";--> statement-breakpoint
DROP INDEX "invoices_account_idx";--> statement-breakpoint
DROP INDEX "payments_account_idx";--> statement-breakpoint
CREATE INDEX "audit_log_account_created_idx" ON "audit_log" USING btree ("account_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "ledger_transactions_account_idx" ON "ledger_transactions" USING btree ("account_id","occurred_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "invoices_account_idx" ON "invoices" USING btree ("account_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "payments_account_idx" ON "payments" USING btree ("account_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);