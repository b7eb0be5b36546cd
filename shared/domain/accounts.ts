/** Customer accounts and their users (PRODUCT.md "Who uses it"). */

/**
 * `blocked`: staff stopped the account (PRODUCT.md "A blocked account"); `closed`: the owner ended the
 * agreement (no new calls; data is kept until retention ends).
 */
export const accountStatuses = ["active", "blocked", "closed"] as const;
export type AccountStatus = (typeof accountStatuses)[number];

/** `operator`: the service operator's own account, which holds the staff users; at most one. */
export const accountKinds = ["customer", "operator"] as const;
export type AccountKind = (typeof accountKinds)[number];

export const userRoles = ["owner", "manager", "staff"] as const;
export type UserRole = (typeof userRoles)[number];

/** Staff are never invited (they belong to the operator's account, shared/accounts/create-staff-user.ts). */
export const invitationRoles = ["owner", "manager"] as const;
export type InvitationRole = (typeof invitationRoles)[number];

/** Languages an account can ask speech-to-text for; "auto" lets the provider detect among them. */
export const speechLanguages = ["ru", "kk", "en", "auto"] as const;
export type SpeechLanguage = (typeof speechLanguages)[number];
