/** Where an account's recordings come from: pushed by telephony, or pulled on a schedule. */

export const sourceKinds = ["push", "http_pull", "s3_pull", "zadarma"] as const;
export type SourceKind = (typeof sourceKinds)[number];
