import { assertAccountAcceptsCalls } from "../accounts/assert-account-accepts-calls.ts";
import type { Db } from "../db/client.ts";
import { type AccountRow, getAccount } from "../db/repositories/accounts.repository.ts";
import { findSourceByTokenHash, type SourceRow } from "../db/repositories/sources.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { hashToken } from "../security/tokens.ts";

/**
 * The source a push token names, and its account — the one read of the account row for the whole push.
 * Refused before the body is read: an unknown or revoked token (UNAUTHENTICATED), a disabled source
 * (FORBIDDEN), an account that may not take calls (ACCOUNT_CLOSED, ACCOUNT_BLOCKED, …).
 */
export async function authenticatePushSource(
  db: Db,
  token: string,
): Promise<{ source: SourceRow; account: AccountRow }> {
  const source = await findSourceByTokenHash(db, hashToken(token));
  if (!source) throw new AppError("UNAUTHENTICATED", "Unknown or revoked source token.");
  if (!source.enabled) {
    throw new AppError("FORBIDDEN", "This source is disabled; enable it in the source's settings.");
  }
  const account = await getAccount(db, source.accountId);
  if (!account) {
    throw new AppError("FORBIDDEN", "This account is blocked or closed: recordings are not accepted.");
  }
  assertAccountAcceptsCalls(account);
  return { source, account };
}
