import { grantWelcomeBonus } from "../billing/balance.ts";
import type { Config } from "../config/config.ts";
import {
  type AccountRow,
  createAccount,
  createUser,
  findUserByEmail,
  type UserRow,
} from "../db/repositories/accounts.repository.ts";
import { deleteRegistrationAttempt, recordRegistrationAttempt } from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { Currency } from "../money/money.ts";
import { hashPassword } from "../security/passwords.ts";
import { type SessionDeps, startSession } from "./start-session.ts";

export interface SignUpDeps extends SessionDeps {
  security: Pick<Config["security"], "sessionTtlHours" | "registerMaxPerAddress" | "registerWindowSec">;
}

/**
 * Registers an account with its owner, credits the welcome bonus and signs the owner in. The password
 * rules were checked when the request was parsed. Throws RATE_LIMITED (with Retry-After) when the
 * client address used up its registrations, CONFLICT when the e-mail is taken.
 */
export async function signUp(
  deps: SignUpDeps,
  input: { email: string; password: string; company: string; currency: Currency; ip: string },
): Promise<{ token: string; user: UserRow; account: AccountRow }> {
  // Cheap checks first: the throttle, then whether the e-mail is free; only then the deliberately
  // expensive hash.
  const now = deps.clock();
  await refuseRegistrationFlood(deps, input.ip, now);
  if (await findUserByEmail(deps.db, input.email)) {
    throw new AppError("CONFLICT", "An account with this e-mail already exists.");
  }
  const passwordHash = await hashPassword(input.password);
  const { user, account } = await deps.db.transaction(async (tx) => {
    const account = await createAccount(tx, { company: input.company, currency: input.currency });
    const user = await createUser(tx, {
      accountId: account.id,
      email: input.email,
      passwordHash,
      role: "owner",
    });
    // The e-mail was taken between the check and the insert.
    if (!user) throw new AppError("CONFLICT", "An account with this e-mail already exists.");
    await grantWelcomeBonus(tx, account, now);
    return { user, account };
  });
  return { token: await startSession(deps, user.id), user, account };
}

/** At most REGISTER_MAX_PER_ADDRESS registrations per address per window. */
async function refuseRegistrationFlood(deps: SignUpDeps, ip: string, now: Date): Promise<void> {
  const { registerMaxPerAddress, registerWindowSec } = deps.security;
  const windowMs = registerWindowSec * 1000;
  const attempt = await recordRegistrationAttempt(deps.db, {
    ip,
    at: now,
    since: new Date(now.getTime() - windowMs),
  });
  if (attempt.count <= registerMaxPerAddress) return;
  // A refused attempt does not count: the window ends as if it had not been made.
  await deleteRegistrationAttempt(deps.db, attempt.id);
  const retryAfter = Math.max(1, Math.ceil((attempt.oldest.getTime() + windowMs - now.getTime()) / 1000));
  throw new AppError("RATE_LIMITED", "Too many registrations from this address; try again later.", {
    headers: { "Retry-After": String(retryAfter) },
  });
}
