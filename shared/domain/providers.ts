/** Third-party work recorded per call (provider_usage): which kind of provider, and how it went. */

export const providerKinds = ["speech", "analysis"] as const;
export type ProviderKind = (typeof providerKinds)[number];

export const providerOutcomes = ["ok", "failed"] as const;
export type ProviderOutcome = (typeof providerOutcomes)[number];
