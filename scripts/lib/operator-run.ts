import { runOperatorCommand } from "../../services/operator-commands.ts";
import { loadConfig } from "../../shared/config/config.ts";
import { migrateDatabase, openDatabase } from "../../shared/db/client.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createMailer } from "../../shared/providers/mail/create-mailer.ts";
import { createObjectStorage } from "../../shared/providers/storage/create-object-storage.ts";
import { callRunningServer, lockDataDir } from "../../shared/runtime/embedded-control.ts";
import { openInfrastructure } from "../../shared/runtime/infrastructure.ts";

/**
 * Runs an operator command against the same database a server uses: PostgreSQL directly; embedded PGlite
 * through the running all-in-one server when there is one (PGlite is single-process), else directly.
 */
export async function runOperator(command: string, args: Record<string, unknown>): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    name: "tyndau-cli",
  });
  if (config.database.kind === "pglite") {
    const viaServer = await callRunningServer(config.dataDir, command, args);
    if (viaServer) {
      if (!viaServer.ok) throw new Error(viaServer.error);
      print({ via: "running server", result: viaServer.result });
      return;
    }
  }
  const release = config.database.kind === "pglite" ? lockDataDir(config.dataDir) : () => {};
  const database = await openDatabase(config.database);
  try {
    await migrateDatabase(database);
    // pull-sources downloads, probes and stores recordings and enqueues jobs: it needs everything.
    const infra =
      command === "job" && args.name === "pull-sources"
        ? await openInfrastructure(config, logger, { database })
        : undefined;
    try {
      print({
        via: config.database.kind,
        result: await runOperatorCommand(
          infra ?? {
            database,
            mailer: createMailer(config.mail),
            storage: createObjectStorage(config.storage, {
              publicUrl: config.publicUrl,
              secret: config.appSecret,
            }),
          },
          logger,
          command,
          args,
        ),
      });
    } finally {
      await infra?.close();
    }
  } finally {
    await database.close();
    release();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export async function main(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
