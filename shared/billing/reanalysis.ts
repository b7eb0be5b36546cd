import { randomUUID } from "node:crypto";
import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import type { CallRow } from "../db/repositories/calls.repository.ts";
import { findTariffInForce } from "../db/repositories/ledger.repository.ts";
import type { TemplateRow } from "../db/repositories/templates.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { Money } from "../money/money.ts";
import { reanalyzeCallJob } from "../queue/job-definitions.ts";
import type { JobQueue } from "../queue/job-queue.ts";
import { placeHold } from "./holds.ts";
import { billableMinutes, pricePerMinute } from "./tariff.ts";

/**
 * API.md: a reanalysis is billed like a new analysis of the call: its minutes × the active templates'
 * price (no transcription: the transcript is reused). The cost is held now, in the request's
 * transaction with the job, and charged or released when the job ends (`reanalysis:<runId>`).
 */
export async function startReanalysis(
  tx: Db,
  queue: Pick<JobQueue, "send">,
  input: { account: AccountRow; call: CallRow; templates: TemplateRow[]; now: Date },
): Promise<{ runId: string; minutes: number; amount: Money }> {
  const { account, call, templates, now } = input;
  if (call.status !== "done" || !call.transcript) {
    throw new AppError("CONFLICT", "Only a processed call with a transcript can be reanalysed.");
  }
  if (templates.length === 0)
    throw new AppError("CONFLICT", "There are no active templates to analyse the call with.");
  const currency = account.currency;
  const tariff = await findTariffInForce(tx, currency, now);
  const price = pricePerMinute(tariff, templates).minus(tariff.transcriptionPerMinute);
  const minutes = billableMinutes(call.durationSec ?? 0);
  const amount = price.times(minutes);
  const runId = randomUUID();
  if (amount.isPositive()) {
    const held = await placeHold(tx, {
      accountId: account.id,
      ref: `reanalysis:${runId}`,
      amount,
      occurredAt: now,
      memo: `Reanalysis of call ${call.id}: ${minutes} min × ${price.toFixed(2)} ${currency}`,
    });
    if (held === "insufficient") {
      throw new AppError(
        "INSUFFICIENT_FUNDS",
        `The reanalysis costs ${amount.toFixed(2)} ${currency}; top up first.`,
      );
    }
  }
  await queue.send(
    reanalyzeCallJob,
    { accountId: account.id, callId: call.id, runId, currency, templateIds: templates.map((t) => t.id) },
    { tx },
  );
  return { runId, minutes, amount };
}
