// npm run job -- <name> [--now <ISO>]: runs one scheduled job once, as of --now, and prints what it did.
import { parseArgs } from "node:util";
import { main, runOperator } from "./lib/operator-run.ts";

await main(async () => {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { now: { type: "string" } } });
  const name = positionals[0];
  if (!name) throw new Error("usage: npm run job -- <name> [--now <ISO instant>]");
  if (values.now && Number.isNaN(new Date(values.now).getTime()))
    throw new Error(`--now is not an ISO instant: ${values.now}`);
  await runOperator("job", { name, now: values.now });
});
