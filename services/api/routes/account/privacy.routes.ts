import type { Response } from "express";
import { z } from "zod";
import { resumeWaitingCalls } from "../../../../shared/accounts/block-account.ts";
import { type AuditAction, recordAudit } from "../../../../shared/audit/audit-log.ts";
import type { AccountRow } from "../../../../shared/db/repositories/accounts.repository.ts";
import { findAnalyses, findCalls } from "../../../../shared/db/repositories/calls.repository.ts";
import { findInvoices } from "../../../../shared/db/repositories/invoices.repository.ts";
import { findLedgerLines } from "../../../../shared/db/repositories/ledger.repository.ts";
import {
  cancelAccountDeletion,
  closeAccount,
  findAccountUsers,
  scheduleAccountDeletion,
  setProcessingBlocked,
} from "../../../../shared/db/repositories/privacy.repository.ts";
import { findSources } from "../../../../shared/db/repositories/sources.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { Currency } from "../../../../shared/money/money.ts";
import { deletionDueAt } from "../../../../shared/privacy/data-lifecycle.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, type AuthContext, defineRoute } from "../../http/route.ts";
import { toInvoiceDto } from "../billing/invoices.routes.ts";
import { toCallDetail } from "../calls/calls.dto.ts";
import { AUDIO_URL_TTL_SEC } from "../calls/calls.routes.ts";
import { accountDto, toDto } from "./account.routes.ts";

const deletionDto = z.object({ requestedAt: z.string(), deleteBy: z.string() });

/**
 * PRODUCT.md "Data lifecycle and privacy": closing the agreement, the data subject's rights (export,
 * blocking, deletion). Each action is audited in its own transaction.
 */
export function privacyRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  const audit = (
    tx: typeof db,
    auth: AuthContext,
    ip: string | undefined,
    action: AuditAction,
    details: Record<string, unknown> = {},
  ) =>
    recordAudit(tx, {
      accountId: auth.account.id,
      actor: { userId: auth.user.id, role: auth.user.role, ip: ip ?? null },
      action,
      objectType: "account",
      objectId: auth.account.id,
      details,
    });

  /** Queues the calls that waited while processing was stopped, in arrival order. */
  const resumeWaiting = (accountId: string) =>
    resumeWaitingCalls({ db, queue: deps.queue, clock: deps.clock }, accountId);

  return [
    defineRoute({
      method: "post",
      path: "/api/v1/account/close",
      summary:
        "End the agreement: no new calls are accepted or processed; data is kept until retention ends (at most 3 years).",
      tag: "account",
      access: ["owner"],
      responses: { 200: { description: "Closed (also when it already was)", schema: accountDto } },
      handler: async ({ auth, req }) => {
        const now = deps.clock();
        const account = await db.transaction(async (tx) => {
          const closed = await closeAccount(tx, auth.account.id, now);
          if (closed) await audit(tx, auth, req.ip, "account.close", { closedAt: now.toISOString() });
          return closed;
        });
        return { status: 200, body: toDto(account ?? auth.account) };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/account/deletion-request",
      summary: `Ask to delete the account and all its data: deleted after a cancellable grace period (within 30 days).`,
      tag: "account",
      access: ["owner"],
      responses: {
        202: {
          description: "Deletion scheduled (the same answer when already pending)",
          schema: deletionDto,
        },
      },
      handler: async ({ auth, req }) => {
        const now = deps.clock();
        const account: AccountRow = await db.transaction(async (tx) => {
          const scheduled = await scheduleAccountDeletion(tx, auth.account.id, now, deletionDueAt(now));
          if (!scheduled) return auth.account;
          await audit(tx, auth, req.ip, "account.deletion_request", {
            deleteBy: scheduled.deletionScheduledFor?.toISOString(),
          });
          return scheduled;
        });
        return {
          status: 202,
          body: {
            requestedAt: account.deletionRequestedAt!.toISOString(),
            deleteBy: account.deletionScheduledFor!.toISOString(),
          },
        };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/account/deletion-request",
      summary: "Cancel a pending deletion request (during the grace period).",
      tag: "account",
      access: ["owner"],
      responses: {
        200: { description: "Cancelled", schema: accountDto },
        409: { description: "No deletion pending (CONFLICT)" },
      },
      handler: async ({ auth, req }) => {
        const account = await db.transaction(async (tx) => {
          const cancelled = await cancelAccountDeletion(tx, auth.account.id);
          if (!cancelled) throw new AppError("CONFLICT", "No deletion request is pending.");
          await audit(tx, auth, req.ip, "account.deletion_cancel");
          return cancelled;
        });
        await resumeWaiting(auth.account.id);
        return { status: 200, body: toDto(account) };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/account/processing/block",
      summary:
        "Block processing of the account's data: new calls are refused (409 PROCESSING_BLOCKED), queued ones wait; data is kept.",
      tag: "account",
      access: ["owner"],
      responses: { 200: { description: "Blocked (also when it already was)", schema: accountDto } },
      handler: async ({ auth, req }) => {
        const account = await db.transaction(async (tx) => {
          const blocked = await setProcessingBlocked(tx, auth.account.id, deps.clock());
          if (blocked) await audit(tx, auth, req.ip, "account.processing_block");
          return blocked;
        });
        return { status: 200, body: toDto(account ?? auth.account) };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/account/processing/unblock",
      summary: "Resume processing: calls that waited are queued again.",
      tag: "account",
      access: ["owner"],
      responses: { 200: { description: "Unblocked (also when it was not blocked)", schema: accountDto } },
      handler: async ({ auth, req }) => {
        const account = await db.transaction(async (tx) => {
          const unblocked = await setProcessingBlocked(tx, auth.account.id, null);
          if (unblocked) await audit(tx, auth, req.ip, "account.processing_unblock");
          return unblocked;
        });
        if (account) await resumeWaiting(auth.account.id);
        return { status: 200, body: toDto(account ?? auth.account) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/account/export",
      summary:
        "Everything the account holds, streamed as one JSON document: account, users and sources (no secrets), calls with transcripts, analyses and signed audio links, ledger, invoices.",
      tag: "account",
      access: ["owner"],
      responses: { 200: { description: "The export (application/json attachment)" } },
      handler: async ({ auth, req, res }) => {
        const now = deps.clock();
        await db.transaction(async (tx) =>
          audit(tx, auth, req.ip, "account.export", { at: now.toISOString() }),
        );
        await streamExport(deps, auth.account, res, now);
        return undefined;
      },
    }),
  ];
}

/** Writes the export piece by piece (calls and ledger in pages), never holding it all in memory. */
async function streamExport(deps: ApiDeps, account: AccountRow, res: Response, now: Date): Promise<void> {
  const db = deps.database.db;
  const accountId = account.id;
  const write = (chunk: string) =>
    res.write(chunk) ? Promise.resolve() : new Promise<void>((resolve) => res.once("drain", resolve));
  res.status(200);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.setHeader(
    "Content-Disposition",
    `attachment; filename="tyndau-export-${now.toISOString().slice(0, 10)}.json"`,
  );
  await write(`{"exportedAt":${JSON.stringify(now.toISOString())}`);
  await write(
    `,"audioLinksExpireAt":${JSON.stringify(new Date(now.getTime() + AUDIO_URL_TTL_SEC * 1000).toISOString())}`,
  );
  await write(`,"account":${JSON.stringify(toDto(account))}`);
  const users = await findAccountUsers(db, accountId);
  await write(
    `,"users":${JSON.stringify(users.map((u) => ({ ...u, createdAt: u.createdAt.toISOString() })))}`,
  );
  const sources = await findSources(db, accountId);
  await write(
    `,"sources":${JSON.stringify(
      sources.map((s) => ({
        id: s.id,
        name: s.name,
        kind: s.kind,
        operatorChannel: s.operatorChannel,
        requireSignature: s.requireSignature,
        createdAt: s.createdAt.toISOString(),
      })),
    )}`,
  );

  await write(`,"calls":[`);
  let first = true;
  let cursor: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const page = await findCalls(db, accountId, { limit: 100, cursor });
    for (const call of page) {
      const detail = toCallDetail(call, call.purgedAt ? [] : await findAnalyses(db, accountId, call.id));
      const audioUrl = call.recordingKey
        ? await deps.storage.signedUrl(call.recordingKey, AUDIO_URL_TTL_SEC)
        : null;
      const item = { ...detail, purgedAt: call.purgedAt?.toISOString() ?? null, audioUrl };
      await write(`${first ? "" : ","}${JSON.stringify(item)}`);
      first = false;
    }
    if (page.length < 100) break;
    const last = page[page.length - 1]!;
    cursor = { createdAt: last.createdAt, id: last.id };
  }
  await write("]");

  await write(`,"ledger":[`);
  first = true;
  let before: { at: Date; id: string } | undefined;
  for (;;) {
    const lines = await findLedgerLines(db, accountId, account.currency as Currency, { limit: 500, before });
    for (const l of lines) {
      const item = {
        id: l.id,
        at: l.at.toISOString(),
        type: l.type,
        amount: l.amount.toFixed(2),
        currency: account.currency,
        callId: l.callId,
        paymentId: l.paymentId,
        invoiceId: l.invoiceId,
      };
      await write(`${first ? "" : ","}${JSON.stringify(item)}`);
      first = false;
    }
    if (lines.length < 500) break;
    const last = lines[lines.length - 1]!;
    before = { at: last.at, id: last.id };
  }
  await write("]");

  await write(`,"invoices":[`);
  first = true;
  let invoicesBefore: { at: Date; id: string } | undefined;
  for (;;) {
    const page = await findInvoices(db, accountId, { limit: 100, before: invoicesBefore });
    for (const inv of page) {
      await write(`${first ? "" : ","}${JSON.stringify(toInvoiceDto(inv))}`);
      first = false;
    }
    if (page.length < 100) break;
    const last = page[page.length - 1]!;
    invoicesBefore = { at: last.createdAt, id: last.id };
  }
  await write("]}");
  res.end();
}
