-- Report rollup (report_daily_operators): the sums of the operator KPIs and daily trends per account,
-- Astana day and (operator external id, name), kept up to date by statement-level triggers on calls and
-- call_analyses. Each change recomputes the affected (account, day, operator) rows from calls, so a
-- rerun step never counts a call twice. reports.repository.ts reads whole days from it and computes
-- partial-day edges with report_rollup_compute, the same aggregate.

-- The rollup rows of calls that happened (started, else received) in [p_from, p_to), optionally of one
-- (external id, name) pair. A call's scores are its score answers normalised to 0..1 on the question's
-- scale of the template version answered (as reports.repository.ts scoresOfCall).
CREATE FUNCTION report_rollup_compute(p_account uuid, p_from timestamptz, p_to timestamptz,
                                      p_by_operator boolean, p_external_id text, p_name text)
RETURNS TABLE (day date, operator_external_id text, operator_name text, last_created_at timestamptz,
               calls int, done_calls int, measured_calls int, duration_sum float8,
               measured_duration_sum float8, score_total float8, score_count int, talk_ratio_sum float8,
               talk_ratio_count int, operator_interruptions_sum float8, operator_interruptions_count int,
               client_interruptions_sum float8, client_interruptions_count int, silence_sum float8)
LANGUAGE sql STABLE AS $$
  select ((coalesce(c.started_at, c.created_at) at time zone 'UTC') + interval '5 hours')::date,
         c.operator_external_id, c.operator_name, max(c.created_at),
         count(*)::int, (count(*) filter (where c.status = 'done'))::int, count(c.metrics)::int,
         sum(c.duration_sec)::float8, (sum(c.duration_sec) filter (where c.metrics is not null))::float8,
         sum(sc.total)::float8, coalesce(sum(sc.n), 0)::int,
         sum((c.metrics->>'talkRatio')::float8), count((c.metrics->>'talkRatio')::float8)::int,
         sum((c.metrics->'interruptions'->>'operator')::float8),
         count((c.metrics->'interruptions'->>'operator')::float8)::int,
         sum((c.metrics->'interruptions'->>'client')::float8),
         count((c.metrics->'interruptions'->>'client')::float8)::int,
         sum((c.metrics->>'silenceSec')::float8)
    from calls c
    left join lateral (
      select sum(greatest(0, least(1,
                   ((ans.v->>'value')::float8 - (q.v->'scale'->>'min')::float8)
                   / nullif((q.v->'scale'->>'max')::float8 - (q.v->'scale'->>'min')::float8, 0)))) as total,
             count(*) as n
        from call_analyses an
        join template_versions tv on tv.template_id = an.template_id and tv.version = an.template_version
        cross join lateral jsonb_array_elements(an.answers) ans(v)
        cross join lateral jsonb_array_elements(tv.questions) q(v)
       where an.call_id = c.id and an.account_id = p_account and an.status = 'done'
         and ans.v->>'type' = 'score' and jsonb_typeof(ans.v->'value') = 'number'
         and q.v->>'key' = ans.v->>'key' and q.v->'scale' is not null
    ) sc on true
   where c.account_id = p_account
     and coalesce(c.started_at, c.created_at) >= p_from
     and coalesce(c.started_at, c.created_at) < p_to
     and (not p_by_operator or (c.operator_external_id is not distinct from p_external_id
                                and c.operator_name is not distinct from p_name))
   group by 1, 2, 3
$$;
--> statement-breakpoint
-- Recomputes one (account, Astana day, operator) row from calls; serialised per row by an advisory lock
-- so two transactions changing calls of the same row cannot both write their own stale version.
CREATE FUNCTION report_rollup_refresh(p_account uuid, p_day date, p_external_id text, p_name text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_from timestamptz := (p_day::timestamp - interval '5 hours') at time zone 'UTC';
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(
    'report_rollup|' || p_account || '|' || p_day || '|' || coalesce(p_external_id, '') || '|' || coalesce(p_name, ''), 0));
  DELETE FROM report_daily_operators r
   WHERE r.account_id = p_account AND r.day = p_day
     AND r.operator_external_id IS NOT DISTINCT FROM p_external_id
     AND r.operator_name IS NOT DISTINCT FROM p_name;
  INSERT INTO report_daily_operators
  SELECT p_account, x.*
    FROM report_rollup_compute(p_account, v_from, v_from + interval '1 day', true, p_external_id, p_name) x;
END $$;
--> statement-breakpoint
CREATE FUNCTION report_rollup_calls_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM report_rollup_refresh(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT n.account_id,
                    ((coalesce(n.started_at, n.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    n.operator_external_id, n.operator_name
               FROM new_rows n ORDER BY 1, 2, 3, 4) g;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM report_rollup_refresh(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT o.account_id,
                    ((coalesce(o.started_at, o.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    o.operator_external_id, o.operator_name
               FROM old_rows o
              WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = o.account_id)
              ORDER BY 1, 2, 3, 4) g;
  ELSE
    -- Only updates that move an aggregate: both the row the call left and the one it joined.
    PERFORM report_rollup_refresh(g.account_id, g.day, g.operator_external_id, g.operator_name)
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
CREATE TRIGGER calls_report_rollup_insert AFTER INSERT ON calls
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_calls_changed();
--> statement-breakpoint
CREATE TRIGGER calls_report_rollup_update AFTER UPDATE ON calls
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_calls_changed();
--> statement-breakpoint
CREATE TRIGGER calls_report_rollup_delete AFTER DELETE ON calls
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_calls_changed();
--> statement-breakpoint
-- An analysis (insert, reanalysis, purge) changes its call's scores: recompute that call's row.
CREATE FUNCTION report_rollup_analyses_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM report_rollup_refresh(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT c.account_id,
                    ((coalesce(c.started_at, c.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    c.operator_external_id, c.operator_name
               FROM calls c WHERE c.id IN (SELECT call_id FROM new_rows) ORDER BY 1, 2, 3, 4) g;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM report_rollup_refresh(g.account_id, g.day, g.operator_external_id, g.operator_name)
       FROM (SELECT DISTINCT c.account_id,
                    ((coalesce(c.started_at, c.created_at) at time zone 'UTC') + interval '5 hours')::date AS day,
                    c.operator_external_id, c.operator_name
               FROM calls c WHERE c.id IN (SELECT call_id FROM old_rows) ORDER BY 1, 2, 3, 4) g;
  ELSE
    PERFORM report_rollup_refresh(g.account_id, g.day, g.operator_external_id, g.operator_name)
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
CREATE TRIGGER call_analyses_report_rollup_insert AFTER INSERT ON call_analyses
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_analyses_changed();
--> statement-breakpoint
CREATE TRIGGER call_analyses_report_rollup_update AFTER UPDATE ON call_analyses
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_analyses_changed();
--> statement-breakpoint
CREATE TRIGGER call_analyses_report_rollup_delete AFTER DELETE ON call_analyses
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_analyses_changed();
--> statement-breakpoint
-- Rebuilds the whole rollup from calls (this migration's backfill; the benchmark after its bulk load).
CREATE FUNCTION report_rollup_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE report_daily_operators IN EXCLUSIVE MODE;
  DELETE FROM report_daily_operators;
  INSERT INTO report_daily_operators
  SELECT a.id, x.*
    FROM accounts a
   CROSS JOIN LATERAL report_rollup_compute(a.id, '-infinity', 'infinity', false, null, null) x;
END $$;
--> statement-breakpoint
-- Fresh statistics first: with none, the per-call score look-up may scan a whole account's analyses.
ANALYZE calls, call_analyses;
--> statement-breakpoint
SELECT report_rollup_rebuild();
