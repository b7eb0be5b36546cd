import { z } from "zod";
import type { AccountRow, UserRow } from "../../../../shared/db/repositories/accounts.repository.ts";
import { passwordProblem } from "../../../../shared/security/password-policy.ts";

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
  currency: a.currency,
});
export const toSessionDto = (s: {
  token: string;
  user: UserRow;
  account: AccountRow;
}): z.infer<typeof sessionDto> => ({
  token: s.token,
  user: toUserDto(s.user),
  account: toAccountDto(s.account),
});

const email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
export const passwordSchema = z
  .string()
  .min(10, "The password needs at least 10 characters.")
  .max(200, "The password is too long.")
  .superRefine((p, ctx) => {
    const problem = passwordProblem(p);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** The password must not be the e-mail of the same body. */
const notTheEmail = (b: { email: string; password: string }, ctx: z.RefinementCtx) => {
  const problem = passwordProblem(b.password, b.email);
  if (problem) ctx.addIssue({ code: "custom", message: problem, path: ["password"] });
};

export const registerBody = z
  .object({
    email,
    password: passwordSchema,
    company: z.string().trim().min(1).max(200),
    currency: z.enum(["KZT", "RUB", "USD"]).default("KZT"),
  })
  .superRefine(notTheEmail);
export const loginBody = z.object({ email, password: z.string().min(1).max(200) });
export const createUserBody = z
  .object({
    email,
    password: passwordSchema,
    role: z.enum(["manager", "owner"]),
  })
  .superRefine(notTheEmail);

export const userListDto = z.object({ items: z.array(userDto.extend({ createdAt: z.string() })) });
export const updateUserBody = z.object({ role: z.enum(["manager", "owner"]) }).strict();
export const userIdParams = z.object({ id: z.uuid() });
export const inviteBody = z.object({ email, role: z.enum(["manager", "owner"]) }).strict();
export const invitationDto = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(["manager", "owner"]),
  expiresAt: z.string(),
  createdAt: z.string(),
});
/** Returned once, at creation: the token is not stored and cannot be shown again. */
export const createdInvitationDto = invitationDto.extend({ token: z.string(), acceptUrl: z.string() });
export const acceptInvitationBody = z
  .object({ token: z.string().min(10).max(200), password: passwordSchema })
  .strict();
/** A user corrects their own sign-in e-mail (a subject right); the password confirms it is them. */
export const patchMeBody = z.object({ email, currentPassword: z.string().min(1).max(200) }).strict();

export const changePasswordBody = z
  .object({ currentPassword: z.string().min(1).max(200), newPassword: passwordSchema })
  .strict();
