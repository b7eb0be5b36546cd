CREATE TABLE "report_rollup_pending" (
	"account_id" uuid NOT NULL,
	"day" date NOT NULL,
	"operator_external_id" text,
	"operator_name" text
);
--> statement-breakpoint
-- Rollup refreshes move to commit time (issue 13.4). Before, each statement's trigger recomputed its
-- (account, day, operator) rows at once under a transaction-scoped advisory lock, so two transactions
-- whose statements touched the same rows in opposite order (A: day 1 then day 2, B: day 2 then day 1)
-- deadlocked and one failed with 40P01. Now the triggers only note the rows in report_rollup_pending;
-- a deferred constraint trigger on the notes refreshes all of the transaction's rows at its commit in
-- one pass sorted by (account, day, external id, name). Every transaction takes the rollup's locks in
-- that one global order, at one point, holding none before: no cycle is possible. The refresh itself
-- (report_rollup_refresh: advisory lock, delete, recompute from calls) is unchanged.
CREATE FUNCTION report_rollup_note(p_account uuid, p_day date, p_external_id text, p_name text)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO report_rollup_pending (account_id, day, operator_external_id, operator_name)
  VALUES (p_account, p_day, p_external_id, p_name);
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION report_rollup_calls_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM report_rollup_note(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT n.account_id,
                    ((coalesce(n.started_at, n.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    n.operator_external_id, n.operator_name
               FROM new_rows n ORDER BY 1, 2, 3, 4) g;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM report_rollup_note(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT o.account_id,
                    ((coalesce(o.started_at, o.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    o.operator_external_id, o.operator_name
               FROM old_rows o
              WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = o.account_id)
              ORDER BY 1, 2, 3, 4) g;
  ELSE
    -- Only updates that move an aggregate: both the row the call left and the one it joined.
    PERFORM report_rollup_note(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT x.account_id, x.day, x.operator_external_id, x.operator_name
               FROM old_rows o
               JOIN new_rows n ON n.id = o.id
              CROSS JOIN LATERAL (VALUES
                (o.account_id, ((coalesce(o.started_at, o.created_at) at time zone 'UTC') + interval '5 hours')::date,
                 o.operator_external_id, o.operator_name),
                (n.account_id, ((coalesce(n.started_at, n.created_at) at time zone 'UTC') + interval '5 hours')::date,
                 n.operator_external_id, n.operator_name)
              ) x(account_id, day, operator_external_id, operator_name)
              WHERE (o.account_id, o.status, o.started_at, o.created_at, o.duration_sec, o.metrics,
                     o.operator_external_id, o.operator_name)
                    IS DISTINCT FROM
                    (n.account_id, n.status, n.started_at, n.created_at, n.duration_sec, n.metrics,
                     n.operator_external_id, n.operator_name)
              ORDER BY 1, 2, 3, 4) g;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION report_rollup_analyses_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM report_rollup_note(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT c.account_id,
                    ((coalesce(c.started_at, c.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    c.operator_external_id, c.operator_name
               FROM calls c WHERE c.id IN (SELECT call_id FROM new_rows) ORDER BY 1, 2, 3, 4) g;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM report_rollup_note(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT c.account_id,
                    ((coalesce(c.started_at, c.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    c.operator_external_id, c.operator_name
               FROM calls c WHERE c.id IN (SELECT call_id FROM old_rows) ORDER BY 1, 2, 3, 4) g;
  ELSE
    PERFORM report_rollup_note(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT c.account_id,
                    ((coalesce(c.started_at, c.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    c.operator_external_id, c.operator_name
               FROM calls c
              WHERE c.id IN (SELECT o.call_id FROM old_rows o UNION SELECT n.call_id FROM new_rows n)
              ORDER BY 1, 2, 3, 4) g;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Runs at commit once per note; the first run takes every note of the transaction (others' notes are
-- never visible: they are deleted before their commit) and the later runs find none.
CREATE FUNCTION report_rollup_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_keys report_rollup_pending[];
  v_key report_rollup_pending;
BEGIN
  WITH noted AS (DELETE FROM report_rollup_pending RETURNING *)
  SELECT array_agg(ROW(n.account_id, n.day, n.operator_external_id, n.operator_name)::report_rollup_pending
                   ORDER BY n.account_id, n.day, n.operator_external_id, n.operator_name)
    INTO v_keys
    FROM (SELECT DISTINCT * FROM noted) n;
  IF v_keys IS NULL THEN
    RETURN NULL;
  END IF;
  FOREACH v_key IN ARRAY v_keys LOOP
    -- An account deleted in this transaction took its rollup rows with it (ON DELETE CASCADE).
    IF EXISTS (SELECT 1 FROM accounts a WHERE a.id = v_key.account_id) THEN
      PERFORM report_rollup_refresh(v_key.account_id, v_key.day, v_key.operator_external_id, v_key.operator_name);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER report_rollup_pending_flush AFTER INSERT ON report_rollup_pending
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_rollup_flush();
