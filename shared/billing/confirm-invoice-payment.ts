import type { Db } from "../db/client.ts";
import { getInvoiceForStaff } from "../db/repositories/invoices.repository.ts";
import type { Currency } from "../money/money.ts";
import { Money } from "../money/money.ts";
import type { NotificationDeps } from "../notifications/notifications.ts";
import { notifyInvoicePaid } from "../notifications/notifications.ts";
import type { JobQueue } from "../queue/job-queue.ts";
import { type RecordInvoicePaymentResult, recordInvoicePayment } from "./invoices.ts";

export interface ConfirmInvoicePaymentInput {
  invoiceId: string;
  /** What arrived on the bank statement, a decimal string. */
  amount: string;
  /** The currency that arrived; the invoice's own when omitted. */
  currency?: Currency | undefined;
  paidAt: Date;
  staffUserId: string;
  staffIp: string | null;
}

/**
 * Staff confirm a bank payment against an invoice: credits the balance once (recordInvoicePayment decides
 * and audits in its transaction, `beforeCommit` joins it), then tells the owners. The notice is sent after
 * the commit, outside any transaction; if it fails the low-balance-notify job sends it later.
 */
export async function confirmInvoicePayment(
  deps: NotificationDeps & { queue: Pick<JobQueue, "send">; clock: () => Date },
  input: ConfirmInvoicePaymentInput,
  options: { beforeCommit?: (tx: Db, result: RecordInvoicePaymentResult) => Promise<void> } = {},
): Promise<RecordInvoicePaymentResult> {
  const current = await getInvoiceForStaff(deps.db, input.invoiceId);
  const result = await recordInvoicePayment(
    deps,
    {
      invoiceId: input.invoiceId,
      amount: Money.of(input.amount, input.currency ?? current.amount.currency),
      paidAt: input.paidAt,
      staffUserId: input.staffUserId,
      staffIp: input.staffIp,
    },
    options,
  );
  if (result.credited) {
    const { accountId, number: invoiceNumber, amount } = result.invoice;
    await notifyInvoicePaid(deps, { accountId, invoiceNumber, amount }).catch((err) =>
      deps.logger.warn({ err }, "invoice-paid notice deferred to the job"),
    );
  }
  return result;
}
