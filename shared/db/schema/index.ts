export * from "./accounts.schema.ts";
export * from "./calls.schema.ts";
export * from "./idempotency.schema.ts";
export * from "./ledger.schema.ts";
export * from "./payments.schema.ts";
export * from "./providers.schema.ts";
export * from "./sources.schema.ts";
export * from "./templates.schema.ts";
