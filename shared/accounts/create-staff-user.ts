import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { createAccount, createUser } from "../db/repositories/accounts.repository.ts";
import { accounts } from "../db/schema/index.ts";
import { AppError } from "../errors/app-error.ts";
import { hashPassword } from "../security/passwords.ts";

/** Staff (admins of the service) belong to the operator's own account, created on first use. */
export const STAFF_COMPANY = "Tyndau operations (staff)";

export async function createStaffUser(
  db: Db,
  input: { email: string; password: string },
): Promise<{ userId: string }> {
  if (input.password.length < 10)
    throw new AppError("VALIDATION_FAILED", "The password needs at least 10 characters.");
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(input.email))
    throw new AppError("VALIDATION_FAILED", "Not an e-mail address.");
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(accounts).where(eq(accounts.company, STAFF_COMPANY)).limit(1);
    const account = existing ?? (await createAccount(tx, { company: STAFF_COMPANY, currency: "KZT" }));
    const user = await createUser(tx, {
      accountId: account.id,
      email: input.email,
      passwordHash,
      role: "staff",
    });
    if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
    return { userId: user.id };
  });
}
