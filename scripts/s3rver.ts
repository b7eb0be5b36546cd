/**
 * A fake S3 for local runs and scripts/test:
 *   tsx scripts/s3rver.ts [--port 0] [--dir <dir>] [--port-file <file>] [--bucket <name>]...
 * Prints the endpoint, writes the chosen port to --port-file (atomically), and runs until SIGTERM/SIGINT.
 * Credentials are S3RVER / S3RVER; clients need path-style addressing.
 */
import { rename, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { startS3rver } from "../test/harness/s3rver.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    dir: { type: "string" },
    "port-file": { type: "string" },
    bucket: { type: "string", multiple: true },
  },
  strict: true,
  allowPositionals: false,
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`s3rver: invalid --port ${values.port}`);
  process.exit(2);
}

const server = await startS3rver({
  port,
  ...(values.dir ? { dir: values.dir } : {}),
  buckets: values.bucket ?? [],
});

const portFile = values["port-file"];
if (portFile) {
  const tmp = `${portFile}.${process.pid}.tmp`;
  await writeFile(tmp, `${server.port}\n`);
  await rename(tmp, portFile);
}
console.log(`s3rver listening on ${server.endpoint} (dir ${server.dir})`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`s3rver: close after ${signal} failed`, err);
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
