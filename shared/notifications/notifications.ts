import { BONUS_GRACE_DAYS, billingEventTypes } from "../billing/balance.ts";
import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { getAccount, lowBalanceThresholdOf } from "../db/repositories/accounts.repository.ts";
import { hasTransactionOfTypes, sumBalances } from "../db/repositories/ledger.repository.ts";
import {
  claimNotification,
  completeNotification,
  countAwaitingCalls,
  findBonusDay5Candidates,
  findInvoicePaidCandidates,
  findLatestTopUpId,
  findLowBalanceCandidates,
  findOwnerEmails,
  findSuspendedCandidates,
} from "../db/repositories/notifications.repository.ts";
import { hasEverConnectedSource } from "../db/repositories/sources.repository.ts";
import { isAppError } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";
import type { Currency, Money } from "../money/money.ts";
import type { Mailer, MailMessage } from "../providers/mail/mailer.ts";
import { endOfDayOnePeriod, startOfAstanaDay, toAstanaIso } from "../time/astana-time.ts";

/**
 * E-mail notifications to account owners (PRODUCT.md Billing → Notifications).
 *
 * At most one e-mail per dedupe key, kept in the `notifications` table:
 * - A sender first *claims* the key: INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING, status
 *   `pending`. Only the inserter sends; a concurrent caller with the same key gets nothing back and skips.
 * - Success → `sent` + `sent_at`. Failure (any mailer error) → `failed`, logged without recipients or body.
 * - Retries: a `failed` row is claimed again (UPDATE … SET status = 'pending' WHERE status = 'failed'
 *   RETURNING, again one winner) by the next call for the same key — i.e. the next run of the
 *   `low-balance-notify` job while the condition still holds (still below the threshold, still suspended,
 *   still on days 5–7 with a voidable bonus), or, for invoice-paid, by that job for invoices credited in
 *   the last INVOICE_PAID_RETRY_DAYS days (which also sends the notice of a credited invoice whose
 *   payment path never got to call notifyInvoicePaid). The text is rebuilt from the current state.
 *   A condition that stopped holding (e.g. the owner topped up) leaves the failed warning unsent: it would
 *   be stale. Permanent refusals (bad credentials, rejected address) are retried the same way, since
 *   fixing the configuration is what makes them pass.
 * - A row left `pending` (the process died between claiming and recording the outcome) is never resent
 *   automatically: whether the server took the message is unknown, and "at most once" wins. Setting it
 *   to `failed` by hand makes the next run send it.
 *
 * Recipients are the account's users with role `owner`, never managers or staff. Each message carries
 * Russian and English text. Call these after the transaction that changed the state has committed, with
 * the root database (not a transaction): they read committed state and a send cannot be rolled back.
 */

export interface NotificationDeps {
  db: Db;
  mailer: Mailer;
  logger: Logger;
}

export type NotificationKind = "low_balance" | "suspended" | "bonus_day5" | "invoice_paid";

/**
 * `sent`: this call sent it. `failed`: this call tried and failed (the row is `failed`, a later run retries).
 * `already_notified`: sent (or being sent) before under the same key. `not_due`: the condition does not
 * hold. `no_recipients`: the account has no owner to write to (nothing recorded, so a later owner gets it).
 */
export type NotifyOutcome = "sent" | "failed" | "already_notified" | "not_due" | "no_recipients";

export type NotifiableAccount = Pick<
  AccountRow,
  "id" | "company" | "currency" | "lowBalanceThreshold" | "createdAt"
>;

/** Day of the bonus period (registration day = day 1, Astana time) on which the owners are warned. */
export const BONUS_NOTICE_DAY = 5;

/** How long after an invoice payment was credited the job still sends (or retries) its notice. */
export const INVOICE_PAID_RETRY_DAYS = 3;

const DAY_MS = 86_400_000;

/**
 * Low balance: available (main + bonus, holds excluded) below the account's threshold. Once per
 * crossing, and the key names the latest top-up: spending only lowers the balance, so after the owners
 * were warned it can get back above the threshold — and then cross it again — only through a top-up,
 * which changes the key. (A release, a failed call's hold coming back, also raises it; counting that as
 * a new crossing would re-warn on every technical failure near the threshold, so it does not.) A top-up
 * too small to lift the balance above the threshold yields one more notice, "still below after your
 * top-up", which is true, if not strictly a crossing.
 */
export async function notifyLowBalance(
  deps: NotificationDeps,
  account: NotifiableAccount,
  now: Date,
): Promise<NotifyOutcome> {
  const threshold = lowBalanceThresholdOf(account);
  if (threshold === null) return "not_due";
  const available = await availableBalance(deps.db, account.id, account.currency);
  if (available.compare(threshold) >= 0) return "not_due";
  const topUpId = await findLatestTopUpId(deps.db, account.id);
  return deliverOnce(deps, {
    accountId: account.id,
    kind: "low_balance",
    dedupeKey: `low_balance:${account.id}:${topUpId ?? "initial"}`,
    message: lowBalanceMessage(account.company, available, threshold, now),
  });
}

/**
 * Processing suspended: the account has calls waiting for funds. Once per suspension: a top-up resumes
 * them, so a later suspension necessarily follows a newer top-up (same key scheme as low balance).
 */
export async function notifySuspended(
  deps: NotificationDeps,
  account: Pick<AccountRow, "id" | "company" | "currency">,
): Promise<NotifyOutcome> {
  const waiting = await countAwaitingCalls(deps.db, account.id);
  if (waiting === 0) return "not_due";
  const available = await availableBalance(deps.db, account.id, account.currency);
  const topUpId = await findLatestTopUpId(deps.db, account.id);
  return deliverOnce(deps, {
    accountId: account.id,
    kind: "suspended",
    dedupeKey: `suspended:${account.id}:${topUpId ?? "initial"}`,
    message: suspendedMessage(account.company, available, waiting),
  });
}

/**
 * The welcome bonus will be voided at the start of day 8 (clause 7.1.3): from the start of day 5 until
 * then, if it is still voidable (positive bonus, no data source ever, no billing event), warn once.
 */
export async function notifyBonusAboutToBeVoided(
  deps: NotificationDeps,
  account: Pick<AccountRow, "id" | "company" | "currency" | "createdAt">,
  now: Date,
): Promise<NotifyOutcome> {
  const noticeFrom = endOfDayOnePeriod(account.createdAt, BONUS_NOTICE_DAY - 1);
  const voidsAt = endOfDayOnePeriod(account.createdAt, BONUS_GRACE_DAYS);
  if (now.getTime() < noticeFrom.getTime() || now.getTime() >= voidsAt.getTime()) return "not_due";
  const sums = await sumBalances(deps.db, account.id, account.currency);
  if (!sums.bonus.isPositive()) return "not_due";
  if (await hasEverConnectedSource(deps.db, account.id)) return "not_due";
  if (await hasTransactionOfTypes(deps.db, account.id, billingEventTypes)) return "not_due";
  return deliverOnce(deps, {
    accountId: account.id,
    kind: "bonus_day5",
    dedupeKey: `bonus_day5:${account.id}`,
    message: bonusDay5Message(account.company, sums.bonus, voidsAt),
  });
}

export interface InvoicePaidInput {
  accountId: string;
  invoiceNumber: string;
  /** What was credited to `main`. */
  amount: Money;
}

/** A bank invoice was paid and credited: once per invoice number (numbers are unique). */
export async function notifyInvoicePaid(
  deps: NotificationDeps,
  input: InvoicePaidInput,
): Promise<NotifyOutcome> {
  const account = await getAccount(deps.db, input.accountId);
  if (!account) return "not_due";
  return deliverOnce(deps, {
    accountId: input.accountId,
    kind: "invoice_paid",
    dedupeKey: `invoice_paid:${input.invoiceNumber}`,
    message: invoicePaidMessage(account.company, input.invoiceNumber, input.amount),
  });
}

export interface NotificationRunCounts {
  /** Notices sent by this run, per kind. */
  lowBalance: number;
  suspended: number;
  bonusDay5: number;
  /** Invoice-paid notices sent by this run: retries of failed ones, or ones the payment path missed. */
  invoicePaid: number;
  /** Attempts that failed in this run (left `failed`, retried by the next run). */
  failed: number;
}

/**
 * The `low-balance-notify` scheduled job. One query per kind selects the candidate accounts — active,
 * condition holding, and no `sent`/`pending` row under the current key — so accounts already notified
 * cost nothing; each candidate is then re-checked and sent by the notify function above (which also
 * retries `failed` rows). Sends run one after another: notices are few and the SMTP server is not ours
 * to flood.
 */
export async function runLowBalanceNotifications(
  deps: NotificationDeps,
  now: Date,
): Promise<NotificationRunCounts> {
  const counts: NotificationRunCounts = {
    lowBalance: 0,
    suspended: 0,
    bonusDay5: 0,
    invoicePaid: 0,
    failed: 0,
  };
  const tally = (kind: "lowBalance" | "suspended" | "bonusDay5" | "invoicePaid", outcome: NotifyOutcome) => {
    if (outcome === "sent") counts[kind] += 1;
    else if (outcome === "failed") counts.failed += 1;
  };
  for (const account of await findLowBalanceCandidates(deps.db))
    tally("lowBalance", await notifyLowBalance(deps, account, now));
  for (const account of await findSuspendedCandidates(deps.db))
    tally("suspended", await notifySuspended(deps, account));
  for (const account of await findBonusDay5Candidates(deps.db, bonusDay5Registrations(now)))
    tally("bonusDay5", await notifyBonusAboutToBeVoided(deps, account, now));
  const invoicesPaidSince = new Date(now.getTime() - INVOICE_PAID_RETRY_DAYS * DAY_MS);
  for (const invoice of await findInvoicePaidCandidates(deps.db, invoicesPaidSince))
    tally("invoicePaid", await notifyInvoicePaid(deps, invoice));
  return counts;
}

// ---------------------------------------------------------------------------------------------------
// Delivery: claim the key, send, record the outcome.

async function deliverOnce(
  deps: NotificationDeps,
  input: {
    accountId: string;
    kind: NotificationKind;
    dedupeKey: string;
    message: Omit<MailMessage, "to">;
  },
): Promise<NotifyOutcome> {
  const log = deps.logger.child({ accountId: input.accountId, notification: input.kind });
  const recipients = await findOwnerEmails(deps.db, input.accountId);
  if (recipients.length === 0) {
    log.warn("notification due but the account has no owner to write to");
    return "no_recipients";
  }
  const id = await claimNotification(deps.db, { ...input, recipients });
  if (!id) return "already_notified";
  try {
    await deps.mailer.send({ ...input.message, to: recipients });
  } catch (error) {
    await completeNotification(deps.db, id, "failed");
    log.warn(
      {
        notificationId: id,
        code: isAppError(error) ? error.code : "INTERNAL",
        retryable: isAppError(error) ? error.retryable : false,
        // Our adapters' messages name no address; anything else might, so only its class is logged.
        reason: isAppError(error) ? error.message : error instanceof Error ? error.name : typeof error,
      },
      "notification not sent; the next run retries it",
    );
    return "failed";
  }
  await completeNotification(deps.db, id, "sent");
  log.info({ notificationId: id, recipients: recipients.length }, "notification sent");
  return "sent";
}

// ---------------------------------------------------------------------------------------------------
// Reads.

/** What new calls can be reserved against: main + bonus; money held by reservations is not available. */
async function availableBalance(db: Db, accountId: string, currency: Currency): Promise<Money> {
  const sums = await sumBalances(db, accountId, currency);
  return sums.main.plus(sums.bonus);
}

/**
 * Today (Astana) is day 5, 6 or 7 of the account's bonus period exactly when it registered on the
 * Astana day starting between (today − 6 days) and (today − 4 days): created_at in [today − 6, today − 3).
 */
function bonusDay5Registrations(now: Date) {
  const today = startOfAstanaDay(now).getTime();
  return {
    registeredFrom: new Date(today - (BONUS_GRACE_DAYS - 1) * DAY_MS),
    registeredUntil: new Date(today - (BONUS_NOTICE_DAY - 2) * DAY_MS),
    billingEventTypes,
  };
}

// ---------------------------------------------------------------------------------------------------
// Texts: Russian, then English, in one message. Short and factual.

const SEPARATOR = "\n\n————————————————————\n\n";
const SIGNATURE = "\n\n— Tyndau";

function bilingual(subject: { ru: string; en: string }, ru: string[], en: string[]): Omit<MailMessage, "to"> {
  return {
    subject: `Tyndau: ${subject.ru} / ${subject.en}`,
    text: `${ru.join("\n")}${SEPARATOR}${en.join("\n")}${SIGNATURE}\n`,
  };
}

const amountOf = (m: Money) => `${m.toFixed(2)} ${m.currency}`;

export function lowBalanceMessage(
  company: string,
  available: Money,
  threshold: Money,
  now: Date,
): Omit<MailMessage, "to"> {
  return bilingual(
    { ru: "баланс ниже порога", en: "balance below your threshold" },
    [
      `Доступный баланс аккаунта «${company}» — ${amountOf(available)}, это ниже заданного вами порога ${amountOf(threshold)} (на ${toAstanaIso(now)}).`,
      "Когда средств не хватит на очередной звонок, обработка приостановится. Пополните баланс, чтобы она шла без перерыва.",
    ],
    [
      `The available balance of the account "${company}" is ${amountOf(available)}, below your threshold of ${amountOf(threshold)} (as of ${toAstanaIso(now)}).`,
      "When it no longer covers the next call, processing pauses. Top up the balance to keep it running.",
    ],
  );
}

export function suspendedMessage(
  company: string,
  available: Money,
  waiting: number,
): Omit<MailMessage, "to"> {
  return bilingual(
    { ru: "обработка звонков приостановлена", en: "call processing is paused" },
    [
      `Обработка звонков аккаунта «${company}» приостановлена: доступного баланса (${amountOf(available)}) не хватает на очередной звонок.`,
      `Звонков в ожидании: ${waiting}. После пополнения баланса они будут обработаны автоматически, в порядке поступления.`,
    ],
    [
      `Call processing for the account "${company}" is paused: the available balance (${amountOf(available)}) does not cover the next call.`,
      `Calls waiting: ${waiting}. Once the balance is topped up they are processed automatically, in order of arrival.`,
    ],
  );
}

export function bonusDay5Message(company: string, bonus: Money, voidsAt: Date): Omit<MailMessage, "to"> {
  const at = toAstanaIso(voidsAt);
  return bilingual(
    { ru: "приветственный бонус скоро будет аннулирован", en: "your welcome bonus is about to be voided" },
    [
      `Приветственный бонус аккаунта «${company}» (${amountOf(bonus)}) будет аннулирован ${at} (время Астаны).`,
      "Чтобы сохранить его, до этого момента подключите источник данных или пополните баланс.",
    ],
    [
      `The welcome bonus of the account "${company}" (${amountOf(bonus)}) will be voided at ${at} (Astana time).`,
      "To keep it, connect a data source or top up the balance before then.",
    ],
  );
}

export function invoicePaidMessage(
  company: string,
  invoiceNumber: string,
  amount: Money,
): Omit<MailMessage, "to"> {
  return bilingual(
    {
      ru: `оплата по счёту № ${invoiceNumber} получена`,
      en: `payment for invoice No. ${invoiceNumber} received`,
    },
    [
      `Оплата по счёту № ${invoiceNumber} получена: ${amountOf(amount)} зачислено на баланс аккаунта «${company}».`,
    ],
    [
      `Payment for invoice No. ${invoiceNumber} has been received: ${amountOf(amount)} was credited to the balance of the account "${company}".`,
    ],
  );
}
