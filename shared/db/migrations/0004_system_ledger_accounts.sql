-- The service's own ledger accounts, one per kind and currency, with ids derived from both
-- (md5('tyndau-ledger:<kind>:<currency>') as a uuid; systemLedgerAccountId() computes the same in code).
-- Rows a running system already created keep their ids; entries posted to them stay where they are.
INSERT INTO ledger_accounts (id, account_id, kind, currency)
SELECT md5('tyndau-ledger:' || k.kind || ':' || c.currency)::uuid, NULL, k.kind, c.currency
  FROM (VALUES ('revenue'), ('bonus_spent'), ('bonus_issued'), ('bonus_expired'), ('card_clearing'), ('bank_clearing'), ('refunds')) AS k (kind)
 CROSS JOIN (VALUES ('KZT'), ('RUB'), ('USD')) AS c (currency)
ON CONFLICT ON CONSTRAINT ledger_accounts_owner_kind_key DO NOTHING;
