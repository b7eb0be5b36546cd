import { and, asc, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { queryRows } from "../client.ts";
import {
  accountDeletions,
  accounts,
  auditLog,
  callAnalyses,
  calls,
  idempotencyKeys,
  notifications,
  paymentEvents,
  payments,
  refunds,
  sources,
  users,
} from "../schema/index.ts";
import type { AccountRow } from "./accounts.repository.ts";

/** Closes the account (agreement ended) once; returns undefined when it was already closed. */
export async function markAccountClosed(
  db: Db,
  accountId: string,
  now: Date,
): Promise<AccountRow | undefined> {
  const [row] = await db
    .update(accounts)
    .set({ status: "closed", closedAt: now })
    .where(and(eq(accounts.id, accountId), isNull(accounts.closedAt)))
    .returning();
  return row;
}

/** Schedules deletion; undefined when one is already pending. */
export async function scheduleAccountDeletion(
  db: Db,
  accountId: string,
  requestedAt: Date,
  deleteAt: Date,
): Promise<AccountRow | undefined> {
  const [row] = await db
    .update(accounts)
    .set({ deletionRequestedAt: requestedAt, deletionScheduledFor: deleteAt })
    .where(and(eq(accounts.id, accountId), isNull(accounts.deletionScheduledFor)))
    .returning();
  return row;
}

/** Cancels a pending deletion; undefined when none was pending. */
export async function clearAccountDeletion(db: Db, accountId: string): Promise<AccountRow | undefined> {
  const [row] = await db
    .update(accounts)
    .set({ deletionRequestedAt: null, deletionScheduledFor: null })
    .where(and(eq(accounts.id, accountId), isNotNull(accounts.deletionScheduledFor)))
    .returning();
  return row;
}

/** Blocks (at = a time) or unblocks (at = null) processing; undefined when nothing changed. */
export async function setProcessingBlocked(
  db: Db,
  accountId: string,
  at: Date | null,
): Promise<AccountRow | undefined> {
  const [row] = await db
    .update(accounts)
    .set({ processingBlockedAt: at })
    .where(
      and(
        eq(accounts.id, accountId),
        at ? isNull(accounts.processingBlockedAt) : isNotNull(accounts.processingBlockedAt),
      ),
    )
    .returning();
  return row;
}

/**
 * The account's calls still waiting for the pipeline's first step (resumed after unblocking), oldest
 * first (arrival order), with when their source wanted processing to start (received + the source's
 * processing delay).
 */
export async function findReceivedCalls(db: Db, accountId: string): Promise<{ id: string; startAt: Date }[]> {
  const rows = await db
    .select({ id: calls.id, createdAt: calls.createdAt, delaySec: sources.processingDelaySec })
    .from(calls)
    .leftJoin(sources, eq(sources.id, calls.sourceId))
    .where(and(eq(calls.accountId, accountId), eq(calls.status, "received"), isNull(calls.purgedAt)))
    .orderBy(asc(calls.createdAt), asc(calls.id));
  return rows.map((r) => ({ id: r.id, startAt: new Date(r.createdAt.getTime() + (r.delaySec ?? 0) * 1000) }));
}

/** How many of the account's calls wait for funds. */
export async function findAwaitingCallCount(db: Db, accountId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(calls)
    .where(and(eq(calls.accountId, accountId), eq(calls.status, "awaiting_funds")));
  return row?.n ?? 0;
}

export interface CallDueForPurge {
  id: string;
  accountId: string;
  recordingKey: string | null;
}

/**
 * Locks up to `limit` calls past their retention line as of `now` and skips rows another purger holds,
 * so several machines can purge at once. A call is due 3 years after its account was closed, or
 * `retentionDays` after it was received when the account set a shorter retention. Calls mid-pipeline
 * (status processing: a hold is open) wait for the next run.
 */
export async function lockCallsDueForPurge(db: Db, now: Date, limit: number): Promise<CallDueForPurge[]> {
  const at = now.toISOString();
  return queryRows<CallDueForPurge>(
    db,
    sql`select c.id, c.account_id as "accountId", c.recording_key as "recordingKey"
          from ${calls} c join ${accounts} a on a.id = c.account_id
         where c.purged_at is null and c.status <> 'processing'
           and ((a.closed_at is not null and a.closed_at + interval '3 years' <= ${at}::timestamptz)
             or (a.retention_days is not null
                 and c.created_at + a.retention_days * interval '1 day' <= ${at}::timestamptz))
         order by c.created_at, c.id
         limit ${limit}
         for update of c skip locked`,
  );
}

/**
 * Leaves a non-personal shell of the call (duration, channels, metrics, cost, status, operator's
 * external id for aggregates): recording key, transcript, personal metadata and analyses are removed.
 */
export async function purgeCallContent(
  db: Db,
  accountId: string,
  callId: string,
  now: Date,
): Promise<number> {
  const removed = await db
    .delete(callAnalyses)
    .where(and(eq(callAnalyses.accountId, accountId), eq(callAnalyses.callId, callId)))
    .returning({ id: callAnalyses.id });
  await db
    .update(calls)
    .set({
      recordingKey: null,
      transcript: null,
      clientPhone: null,
      operatorName: null,
      errorMessage: null,
      purgedAt: now,
      updatedAt: now,
    })
    .where(and(eq(calls.accountId, accountId), eq(calls.id, callId)));
  return removed.length;
}

export interface AccountDueForDeletion {
  id: string;
  deletionRequestedAt: Date | null;
}

/**
 * Locks up to `limit` accounts whose deletion time has come and that have no call mid-pipeline, skipping
 * those another purger holds.
 */
export async function lockAccountsDueForDeletion(
  db: Db,
  now: Date,
  limit: number,
): Promise<AccountDueForDeletion[]> {
  const rows = await queryRows<{ id: string; requested: string | Date | null }>(
    db,
    sql`select id, deletion_requested_at as requested from ${accounts}
         where deletion_scheduled_for is not null and deletion_scheduled_for <= ${now.toISOString()}::timestamptz
           -- A call mid-pipeline holds funds; the pipeline refuses it at its next step and releases the
           -- hold, so the account waits for the next run rather than leave a hold open in the books.
           and not exists (select 1 from calls c where c.account_id = accounts.id and c.status = 'processing')
         order by deletion_scheduled_for, id
         limit ${limit}
         for update skip locked`,
  );
  return rows.map((r) => ({ id: r.id, deletionRequestedAt: r.requested ? new Date(r.requested) : null }));
}

/** Every storage key the account's rows point to (recordings, invoice PDFs). */
export async function findAccountStorageKeys(db: Db, accountId: string): Promise<string[]> {
  const rows = await queryRows<{ key: string }>(
    db,
    sql`select recording_key as key from calls where account_id = ${accountId} and recording_key is not null
        union all
        select pdf_key as key from invoices where account_id = ${accountId} and pdf_key is not null`,
  );
  return rows.map((r) => r.key);
}

/** Rows per kind the account holds (for the deletion report). */
export async function countAccountRows(db: Db, accountId: string): Promise<Record<string, number>> {
  const [row] = await queryRows<Record<string, number>>(
    db,
    sql`select
      (select count(*)::int from users where account_id = ${accountId}) as users,
      (select count(*)::int from sources where account_id = ${accountId}) as sources,
      (select count(*)::int from calls where account_id = ${accountId}) as calls,
      (select count(*)::int from call_analyses where account_id = ${accountId}) as analyses,
      (select count(*)::int from templates where account_id = ${accountId}) as templates,
      (select count(*)::int from payments where account_id = ${accountId}) as payments,
      (select count(*)::int from invoices where account_id = ${accountId}) as invoices,
      (select count(*)::int from audit_log where account_id = ${accountId}) as "auditEntries"`,
  );
  return row ?? {};
}

/**
 * Deletes the account row (everything of it cascades: users and their sessions, sources, calls,
 * analyses, templates, payments, invoices, provider usage) and its audit entries, notices and idempotency keys. The
 * ledger has no foreign key to accounts and holds no personal data: its rows stay for accounting, as
 * do refunds (reason text removed). Gateway notifications of its payments are deleted.
 */
export async function deleteAccountRows(db: Db, accountId: string): Promise<void> {
  await db.delete(auditLog).where(eq(auditLog.accountId, accountId));
  // Gateways' notifications may carry payer details (e-mail, card mask): gone with the payments.
  await db
    .delete(paymentEvents)
    .where(
      inArray(
        paymentEvents.paymentId,
        db.select({ id: payments.id }).from(payments).where(eq(payments.accountId, accountId)),
      ),
    );
  // Refunds stay for accounting (amounts, ids); their free-text reason may name people.
  await db
    .update(refunds)
    .set({ reason: "(removed with the account)" })
    .where(eq(refunds.accountId, accountId));
  await db.delete(notifications).where(eq(notifications.accountId, accountId));
  await db.delete(idempotencyKeys).where(eq(idempotencyKeys.accountId, accountId));
  await db.delete(accounts).where(eq(accounts.id, accountId));
}

export async function insertDeletionReport(db: Db, row: typeof accountDeletions.$inferInsert): Promise<void> {
  await db.insert(accountDeletions).values(row);
}

/** The account's users without secrets (export). */
export async function findAccountUsers(db: Db, accountId: string) {
  return db
    .select({ id: users.id, email: users.email, role: users.role, createdAt: users.createdAt })
    .from(users)
    .where(eq(users.accountId, accountId))
    .orderBy(users.createdAt);
}
