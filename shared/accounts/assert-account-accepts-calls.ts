import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { AppError } from "../errors/app-error.ts";

/** The account fields that decide whether it may take (and process) calls; an AccountRow fits. */
export type AccountCallState = Pick<
  AccountRow,
  "status" | "closedAt" | "deletionScheduledFor" | "processingBlockedAt"
>;

/**
 * The one rule for "may this account take calls": not closed, not blocked by staff, no deletion
 * pending, processing not blocked by its owner — checked in this order, so a closed account says so
 * even if it is also blocked. Ingest refuses with the error; the pipeline holds the call back.
 */
function refusalOf(account: AccountCallState): AppError | undefined {
  if (account.closedAt || account.status === "closed") {
    return new AppError("ACCOUNT_CLOSED", "The account is closed: new calls are not accepted.");
  }
  if (account.status === "blocked") {
    return new AppError("ACCOUNT_BLOCKED", "The account is blocked by the service's staff.");
  }
  if (account.deletionScheduledFor) {
    return new AppError(
      "ACCOUNT_DELETION_PENDING",
      "The account is scheduled for deletion: new calls are not accepted until the request is cancelled.",
    );
  }
  if (account.processingBlockedAt) {
    return new AppError(
      "PROCESSING_BLOCKED",
      "Processing of this account's data is blocked by its owner: new calls are not accepted.",
    );
  }
  return undefined;
}

/** Throws ACCOUNT_CLOSED, ACCOUNT_BLOCKED, ACCOUNT_DELETION_PENDING or PROCESSING_BLOCKED. */
export function assertAccountAcceptsCalls(account: AccountCallState): void {
  const refusal = refusalOf(account);
  if (refusal) throw refusal;
}

/** The same rule where a refused account's calls wait instead of failing; no account: false. */
export function accountAcceptsCalls<A extends AccountCallState>(account: A | undefined): account is A {
  return account !== undefined && refusalOf(account) === undefined;
}
