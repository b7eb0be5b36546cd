import type { Db } from "../db/client.ts";
import { createUser, ensureOperatorAccount } from "../db/repositories/accounts.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { hashPassword } from "../security/passwords.ts";

/** The company name the operator's account is created with (a label only: it is found by its kind). */
export const STAFF_COMPANY = "Tyndau operations (staff)";

/**
 * Staff (admins of the service) belong to the operator's own account, created on first use. That account
 * is found by its mark (`kind = 'operator'`, at most one by a unique index), never by its company name,
 * which any customer may also register (PRODUCT.md "Staff are marked, not named").
 */
export async function createStaffUser(
  db: Db,
  input: { email: string; password: string },
): Promise<{ userId: string; accountId: string }> {
  if (input.password.length < 10)
    throw new AppError("VALIDATION_FAILED", "The password needs at least 10 characters.");
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(input.email))
    throw new AppError("VALIDATION_FAILED", "Not an e-mail address.");
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const account = await ensureOperatorAccount(tx, STAFF_COMPANY);
    const user = await createUser(tx, {
      accountId: account.id,
      email: input.email,
      passwordHash,
      role: "staff",
    });
    if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
    return { userId: user.id, accountId: account.id };
  });
}
