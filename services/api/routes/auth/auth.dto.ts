import { z } from "zod";
import type { AccountRow, UserRow } from "../../../../shared/db/repositories/accounts.repository.ts";

export const userDto = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(["owner", "manager", "staff"]),
});
export const accountDto = z.object({
  id: z.uuid(),
  company: z.string(),
  currency: z.enum(["KZT", "RUB", "USD"]),
});
export const sessionDto = z.object({ token: z.string(), user: userDto, account: accountDto });

export const toUserDto = (u: UserRow): z.infer<typeof userDto> => ({
  id: u.id,
  email: u.email,
  role: u.role,
});
export const toAccountDto = (a: AccountRow): z.infer<typeof accountDto> => ({
  id: a.id,
  company: a.company,
  currency: a.currency as "KZT" | "RUB" | "USD",
});

const email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
export const passwordSchema = z
  .string()
  .min(10, "The password needs at least 10 characters.")
  .max(200, "The password is too long.");

export const registerBody = z.object({
  email,
  password: passwordSchema,
  company: z.string().trim().min(1).max(200),
  currency: z.enum(["KZT", "RUB", "USD"]).default("KZT"),
});
export const loginBody = z.object({ email, password: z.string().min(1).max(200) });
export const createUserBody = z.object({
  email,
  password: passwordSchema,
  role: z.enum(["manager", "owner"]),
});
