-- Balances already posted before this migration.
UPDATE ledger_accounts la
   SET balance = COALESCE((SELECT sum(le.amount) FROM ledger_entries le WHERE le.ledger_account_id = la.id), 0);
--> statement-breakpoint
-- Every entry moves its ledger account's cached balance in the same statement. The UPDATE row-locks the
-- ledger account until commit (concurrent postings to it queue up) and the CHECK constraint
-- ledger_accounts_customer_nonnegative refuses a customer balance below zero: an overspend aborts.
CREATE OR REPLACE FUNCTION ledger_apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ledger_accounts SET balance = balance + NEW.amount WHERE id = NEW.ledger_account_id;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry();
--> statement-breakpoint
-- The cached balance changes only through entries.
CREATE OR REPLACE FUNCTION ledger_guard_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() < 2 AND NEW.balance IS DISTINCT FROM OLD.balance THEN
    RAISE EXCEPTION 'ledger account balances change only by posting entries'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER ledger_accounts_guard_balance BEFORE UPDATE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_guard_balance();
--> statement-breakpoint
-- Ledger accounts are never deleted (the books outlive customer accounts).
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
--> statement-breakpoint
-- The invariant check (npm run job -- ledger-check, and tests): rows returned are violations.
CREATE OR REPLACE VIEW ledger_violations AS
  SELECT 'cached balance differs from entries' AS problem, la.id::text AS subject,
         la.balance::text || ' vs ' || COALESCE(s.total, 0)::text AS detail
    FROM ledger_accounts la
    LEFT JOIN (SELECT ledger_account_id, sum(amount) AS total FROM ledger_entries GROUP BY ledger_account_id) s
      ON s.ledger_account_id = la.id
   WHERE la.balance <> COALESCE(s.total, 0)
  UNION ALL
  SELECT 'transaction does not balance', transaction_id::text, currency || ' ' || sum(amount)::text
    FROM ledger_entries GROUP BY transaction_id, currency HAVING sum(amount) <> 0
  UNION ALL
  SELECT 'negative customer balance', id::text, balance::text
    FROM ledger_accounts WHERE account_id IS NOT NULL AND balance < 0;
