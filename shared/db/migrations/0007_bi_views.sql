-- Read-only views for BI tools (Metabase, Superset, Power BI, DataLens…), documented in docs/BI.md.
-- They expose what reporting needs and nothing more: no transcripts, no evidence quotes, no client
-- phone numbers, no e-mails, no payer details, no secrets. Every row carries account_id, so a BI
-- connection filters by customer. Times are timestamptz; *_day columns are Astana (UTC+05:00) days.
-- Idempotent: safe to run again (CREATE OR REPLACE, IF NOT EXISTS guards).

-- Calls with their measurements and cost, one row per call.
CREATE OR REPLACE VIEW bi_calls AS
SELECT c.id                                                        AS call_id,
       c.account_id,
       c.source_id,
       c.status,
       c.error_code,
       c.direction,
       c.operator_external_id,
       c.operator_name,
       c.started_at,
       c.created_at                                                AS received_at,
       c.processed_at,
       ((coalesce(c.started_at, c.created_at) AT TIME ZONE 'UTC') + interval '5 hours')::date AS call_day,
       c.duration_sec,
       c.channels,
       c.mono,
       (c.metrics ->> 'operatorTalkSec')::float8                  AS operator_talk_sec,
       (c.metrics ->> 'clientTalkSec')::float8                    AS client_talk_sec,
       (c.metrics ->> 'talkRatio')::float8                        AS talk_ratio,
       (c.metrics ->> 'silenceSec')::float8                       AS silence_sec,
       (c.metrics ->> 'overlapSec')::float8                       AS overlap_sec,
       (c.metrics -> 'interruptions' ->> 'operator')::int         AS interruptions_operator,
       (c.metrics -> 'interruptions' ->> 'client')::int           AS interruptions_client,
       (c.metrics ->> 'longestMonologueSec')::float8              AS longest_monologue_sec,
       (c.metrics ->> 'switchesPerMinute')::float8                AS switches_per_minute,
       c.cost_minutes,
       c.price_per_minute,
       c.cost_amount,
       c.cost_currency,
       c.cost_status
  FROM calls c;

-- One row per answer of a finished or failed analysis; scores also normalised to 0..1 on the scale of
-- the template version that was asked.
--> statement-breakpoint
CREATE OR REPLACE VIEW bi_answers AS
SELECT a.call_id,
       a.account_id,
       a.template_id,
       a.template_name,
       a.template_version,
       a.provider,
       a.status                                                    AS analysis_status,
       a.created_at                                                AS analysed_at,
       ans.ord::int                                                AS question_position,
       ans.v ->> 'key'                                             AS question_key,
       ans.v ->> 'question'                                        AS question_text,
       ans.v ->> 'type'                                            AS question_type,
       ans.v ->> 'value'                                           AS value_text,
       CASE WHEN jsonb_typeof(ans.v -> 'value') = 'boolean' THEN (ans.v ->> 'value')::boolean END AS value_boolean,
       CASE WHEN jsonb_typeof(ans.v -> 'value') = 'number' THEN (ans.v ->> 'value')::float8 END AS value_number,
       CASE
         WHEN ans.v ->> 'type' = 'score' AND jsonb_typeof(ans.v -> 'value') = 'number'
          AND (q.v -> 'scale' ->> 'max')::float8 > (q.v -> 'scale' ->> 'min')::float8
         THEN greatest(0, least(1, ((ans.v ->> 'value')::float8 - (q.v -> 'scale' ->> 'min')::float8)
                                  / ((q.v -> 'scale' ->> 'max')::float8 - (q.v -> 'scale' ->> 'min')::float8)))
       END                                                         AS score_normalised,
       jsonb_array_length(coalesce(ans.v -> 'evidence', '[]'::jsonb)) AS evidence_count
  FROM call_analyses a
 CROSS JOIN LATERAL jsonb_array_elements(a.answers) WITH ORDINALITY AS ans (v, ord)
  LEFT JOIN template_versions tv ON tv.template_id = a.template_id AND tv.version = a.template_version
  LEFT JOIN LATERAL (
        SELECT qq.v FROM jsonb_array_elements(tv.questions) AS qq (v)
         WHERE qq.v ->> 'key' = ans.v ->> 'key' LIMIT 1
       ) q ON true;

-- The customer's side of every ledger transaction: the signed effect on main + bonus (credits
-- positive) and on reserved money, as GET /api/v1/billing/ledger shows it. No memos.
--> statement-breakpoint
CREATE OR REPLACE VIEW bi_ledger AS
SELECT t.id                                                        AS transaction_id,
       t.account_id,
       t.type,
       t.occurred_at,
       ((t.occurred_at AT TIME ZONE 'UTC') + interval '5 hours')::date AS occurred_day,
       e.currency,
       sum(e.amount)                                               AS amount,
       coalesce(sum(e.amount) FILTER (WHERE la.kind IN ('hold_main', 'hold_bonus')), 0) AS reserved_change,
       coalesce(sum(e.amount) FILTER (WHERE la.kind IN ('main', 'hold_main')), 0) AS main_change,
       coalesce(sum(e.amount) FILTER (WHERE la.kind IN ('bonus', 'hold_bonus')), 0) AS bonus_change,
       t.call_id,
       t.payment_id,
       t.invoice_id
  FROM ledger_transactions t
  JOIN ledger_entries e ON e.transaction_id = t.id
  JOIN ledger_accounts la ON la.id = e.ledger_account_id AND la.account_id = t.account_id
 WHERE t.account_id IS NOT NULL
 GROUP BY t.id, e.currency;

-- Card payments (no gateway payloads).
--> statement-breakpoint
CREATE OR REPLACE VIEW bi_payments AS
SELECT p.id AS payment_id, p.account_id, p.gateway, p.status, p.amount, p.currency,
       p.created_at, p.completed_at, p.failure_reason
  FROM payments p;

-- Bank invoices (no payer name, BIN/IIN or address: an IIN identifies a person).
--> statement-breakpoint
CREATE OR REPLACE VIEW bi_invoices AS
SELECT i.id AS invoice_id, i.account_id, i.number, i.status, i.amount, i.currency,
       i.created_at, i.valid_until, i.paid_at
  FROM invoices i;

-- Per operator and Astana day: the numbers of the operators dashboard, ready to chart.
--> statement-breakpoint
CREATE OR REPLACE VIEW bi_operator_days AS
WITH scores AS (
  SELECT call_id, avg(score_normalised) AS score, count(score_normalised) AS n
    FROM bi_answers
   WHERE score_normalised IS NOT NULL AND analysis_status = 'done'
   GROUP BY call_id
)
SELECT c.account_id,
       c.call_day,
       coalesce(c.operator_external_id, c.operator_name) AS operator,
       count(*)                                           AS calls,
       coalesce(sum(c.duration_sec), 0) / 60              AS minutes,
       sum(s.score * s.n) / nullif(sum(s.n), 0)           AS average_score,
       avg(c.talk_ratio)                                  AS average_talk_ratio,
       avg(c.interruptions_operator)                      AS interruptions_per_call,
       sum(c.silence_sec) / nullif(sum(c.duration_sec) FILTER (WHERE c.silence_sec IS NOT NULL), 0) AS silence_share
  FROM bi_calls c
  LEFT JOIN scores s ON s.call_id = c.call_id
 GROUP BY c.account_id, c.call_day, coalesce(c.operator_external_id, c.operator_name);

-- The read-only group role BI logins join (see docs/BI.md). Roles are cluster-wide, hence the guard.
--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tyndau_bi') THEN
    CREATE ROLE tyndau_bi NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- another database of this cluster created it at the same moment
END
$$;

--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO tyndau_bi;
--> statement-breakpoint
GRANT SELECT ON bi_calls, bi_answers, bi_ledger, bi_payments, bi_invoices, bi_operator_days TO tyndau_bi;
