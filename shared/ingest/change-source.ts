import {
  lockSource,
  type SourceRow,
  type SourceSettings,
  updateSource,
} from "../db/repositories/sources.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { SourceDeps } from "./connect-source.ts";
import { assertPullEndpointsPublic, isPullKind, mergePullConfig } from "./connectors/index.ts";

export interface SourceChange
  extends Partial<
    Pick<SourceRow, "name" | "enabled" | "operatorChannel" | "processingDelaySec" | "requireSignature">
  > {
  /**
   * Pull sources: settings and credentials to change (other keys are kept; null removes an optional
   * one). A new `since` restarts the source from that date.
   */
  config?: Record<string, unknown>;
}

/**
 * Changes a source's settings with its row locked, so two changes at once cannot lose one's config
 * keys. NOT_FOUND for another account's (or a deleted) source; push sources have no config.
 */
export async function changeSource(
  deps: SourceDeps,
  input: { accountId: string; sourceId: string; change: SourceChange },
): Promise<SourceRow> {
  const { accountId, sourceId } = input;
  const row = await deps.database.db.transaction(async (tx) => {
    const source = await lockSource(tx, accountId, sourceId);
    if (!source) throw new AppError("NOT_FOUND", "Source not found.");
    const { config: configPatch, ...settings } = input.change;
    if (configPatch === undefined) return updateSource(tx, accountId, sourceId, settings);
    if (!isPullKind(source.kind)) {
      throw new AppError("VALIDATION_FAILED", "Push sources have no config to change.", {
        details: [
          { path: "body.config", message: "only pull sources (http_pull, s3_pull, zadarma) have one" },
        ],
      });
    }
    const config = mergePullConfig(source.kind, source.config, configPatch, deps.appSecret, deps.clock());
    if (deps.requirePublicEndpoints) await assertPullEndpointsPublic(source.kind, config);
    // Already received calls are not taken twice: a restart only rereads the remote history.
    const restart = "since" in configPatch && config.since !== source.config.since;
    const patch: SourceSettings = { ...settings, config, ...(restart ? { pullCursor: null } : {}) };
    return updateSource(tx, accountId, sourceId, patch);
  });
  if (!row) throw new AppError("NOT_FOUND", "Source not found.");
  return row;
}
