import { assertAccountAcceptsCalls } from "../../../shared/accounts/assert-account-accepts-calls.ts";
import type { Db } from "../../../shared/db/client.ts";
import { type AccountRow, getAccount } from "../../../shared/db/repositories/accounts.repository.ts";

/**
 * The account of a call already holding funds, read once per step (its routing and masking settings
 * come from the same row). Closed, blocked or up for deletion since the call was reserved: the AppError
 * (not retryable) makes the worker fail the call and release its hold.
 */
export async function getAccountStillAcceptingCalls(
  db: Db,
  accountId: string,
): Promise<AccountRow | undefined> {
  const account = await getAccount(db, accountId);
  if (account) assertAccountAcceptsCalls(account);
  return account;
}
