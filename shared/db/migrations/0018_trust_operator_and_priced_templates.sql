ALTER TABLE "accounts" ADD COLUMN "kind" text DEFAULT 'customer' NOT NULL;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "priced_templates" jsonb;--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_one_operator_key" ON "accounts" USING btree ("kind") WHERE "accounts"."kind" = 'operator';--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_kind_check" CHECK ("accounts"."kind" in ('customer','operator'));--> statement-breakpoint
-- Staff are marked, not named: existing staff users move to one new operator account (before this,
-- staff:create found "the staff account" by company name, which a customer could register first).
INSERT INTO "accounts" ("company", "currency", "kind")
SELECT 'Tyndau operations (staff)', 'KZT', 'operator'
WHERE EXISTS (SELECT 1 FROM "users" WHERE "role" = 'staff');--> statement-breakpoint
UPDATE "users" SET "account_id" = (SELECT "id" FROM "accounts" WHERE "kind" = 'operator')
WHERE "role" = 'staff';
