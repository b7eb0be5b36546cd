import { defineConfig } from "drizzle-kit";

// Only `drizzle-kit generate` uses this file: migrations are produced from the schema and committed.
export default defineConfig({
  dialect: "postgresql",
  schema: "./shared/db/schema/*.schema.ts",
  out: "./shared/db/migrations",
});
