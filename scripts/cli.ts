// npm run cli -- staff:create --email <e> --password <p>
import { parseArgs } from "node:util";
import { main, runOperator } from "./lib/operator-run.ts";

await main(async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { email: { type: "string" }, password: { type: "string" } },
  });
  const command = positionals[0];
  if (command !== "staff:create" || !values.email || !values.password) {
    throw new Error("usage: npm run cli -- staff:create --email <e> --password <p>");
  }
  await runOperator("staff:create", { email: values.email, password: values.password });
});
