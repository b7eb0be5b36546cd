import type { Config } from "../config/config.ts";
import {
  type AccountRow,
  findUserByEmail,
  getAccount,
  type UserRow,
} from "../db/repositories/accounts.repository.ts";
import {
  clearLoginFailures,
  deleteLoginFailure,
  loginFailureCounts,
  pruneLoginFailures,
  recordLoginFailure,
  setUserPassword,
} from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { burnPasswordCheck, hashPassword, needsRehash, verifyPassword } from "../security/passwords.ts";
import { type SessionDeps, startSession } from "./start-session.ts";

export interface SignInDeps extends SessionDeps {
  security: Pick<
    Config["security"],
    "sessionTtlHours" | "loginMaxFailuresPerEmail" | "loginMaxFailuresPerAddress" | "loginFailureWindowSec"
  >;
}

/**
 * Signs a user in with e-mail and password. Throws RATE_LIMITED (Retry-After) when the e-mail or the
 * address used up its failed attempts, UNAUTHENTICATED for wrong credentials, ACCOUNT_BLOCKED when staff
 * blocked the account (said only after the right password, so the block is no oracle for guessers).
 */
export async function signIn(
  deps: SignInDeps,
  input: { email: string; password: string; ip: string },
): Promise<{ token: string; user: UserRow; account: AccountRow }> {
  const { db } = deps;
  const { email, password, ip } = input;
  const now = deps.clock();
  const windowMs = deps.security.loginFailureWindowSec * 1000;
  // Counted as a failure until proven otherwise: recorded before the throttle's count.
  const attemptId = await recordLoginFailure(db, { email, ip, at: now });
  try {
    await refuseWhenThrottled(deps, email, ip, now);
  } catch (error) {
    await deleteLoginFailure(db, attemptId);
    throw error;
  }
  const fail = async () => {
    await pruneLoginFailures(db, { email, ip, before: new Date(now.getTime() - windowMs) });
    return new AppError("UNAUTHENTICATED", "Wrong e-mail or password.");
  };
  const user = await findUserByEmail(db, email);
  if (!user) {
    await burnPasswordCheck(password);
    throw await fail();
  }
  if (!(await verifyPassword(password, user.passwordHash))) throw await fail();
  const account = await getAccount(db, user.accountId);
  if (!account) throw await fail();
  // The right password: this attempt was no failure (and, below, neither were the earlier ones).
  await deleteLoginFailure(db, attemptId);
  if (account.status === "blocked") {
    throw new AppError("ACCOUNT_BLOCKED", "This account is blocked by the service's staff.");
  }
  await clearLoginFailures(db, email);
  // A hash made with weaker parameters than today's is replaced while the password is at hand.
  if (needsRehash(user.passwordHash)) {
    await setUserPassword(db, user.id, await hashPassword(password));
  }
  return { token: await startSession(deps, user.id), user, account };
}

/**
 * 429 with Retry-After when the e-mail or the address has used up its failed attempts in the window.
 * The counts include this attempt (recorded as a failure before the check), so of N guesses sent at
 * once no more than the limit get their password checked.
 */
async function refuseWhenThrottled(deps: SignInDeps, email: string, ip: string, now: Date): Promise<void> {
  const { loginMaxFailuresPerEmail, loginMaxFailuresPerAddress, loginFailureWindowSec } = deps.security;
  const windowMs = loginFailureWindowSec * 1000;
  const counts = await loginFailureCounts(deps.db, { email, ip, since: new Date(now.getTime() - windowMs) });
  const blockedBy = [
    counts.email.count > loginMaxFailuresPerEmail ? counts.email.oldest : null,
    counts.ip.count > loginMaxFailuresPerAddress ? counts.ip.oldest : null,
  ].filter((d): d is Date => d !== null);
  if (blockedBy.length === 0) return;
  const until = Math.max(...blockedBy.map((d) => new Date(d).getTime() + windowMs));
  const retryAfter = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
  throw new AppError("RATE_LIMITED", "Too many failed sign-in attempts; try again later.", {
    headers: { "Retry-After": String(retryAfter) },
  });
}
