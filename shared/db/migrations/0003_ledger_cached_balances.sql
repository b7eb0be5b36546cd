-- Balances already posted before this migration (customer ledger accounts only: see below).
UPDATE ledger_accounts la
   SET balance = COALESCE((SELECT sum(le.amount) FROM ledger_entries le WHERE le.ledger_account_id = la.id), 0)
 WHERE la.account_id IS NOT NULL;
--> statement-breakpoint
-- Every entry moves its customer ledger account's cached balance in the same statement. The UPDATE
-- row-locks that ledger account until commit (concurrent postings to it queue up) and the CHECK
-- constraint ledger_accounts_customer_nonnegative refuses a customer balance below zero: an overspend
-- aborts. System ledger accounts (revenue, clearing…) keep no cached balance: every charge of every
-- customer touches them, and a cached row would serialise all charges; their balance is the sum.
CREATE OR REPLACE FUNCTION ledger_apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ledger_accounts SET balance = balance + NEW.amount
   WHERE id = NEW.ledger_account_id AND account_id IS NOT NULL;
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
   WHERE la.account_id IS NOT NULL AND la.balance <> COALESCE(s.total, 0)
  UNION ALL
  SELECT 'transaction does not balance', transaction_id::text, currency || ' ' || sum(amount)::text
    FROM ledger_entries GROUP BY transaction_id, currency HAVING sum(amount) <> 0
  UNION ALL
  SELECT 'negative customer balance', id::text, balance::text
    FROM ledger_accounts WHERE account_id IS NOT NULL AND balance < 0;
