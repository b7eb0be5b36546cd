import type { Database } from "../db/client.ts";
import { createSource, type SourceRow } from "../db/repositories/sources.repository.ts";
import { encryptSecret, hashToken, newToken } from "../security/tokens.ts";
import { assertPullEndpointsPublic, isPullKind, sealPullConfig } from "./connectors/index.ts";

export interface SourceDeps {
  database: Database;
  clock: () => Date;
  /** Seals pull credentials and the signing secret (AES-256-GCM). */
  appSecret: string;
  /** Production: an owner's feed, API or bucket endpoint must be a public address (SSRF). */
  requirePublicEndpoints: boolean;
}

export interface NewSourceInput {
  accountId: string;
  name: string;
  kind: SourceRow["kind"];
  operatorChannel: SourceRow["operatorChannel"];
  requireSignature: boolean;
  processingDelaySec: number;
  /** A pull source's settings and credentials (credentials are sealed before they are stored). */
  config: Record<string, unknown>;
}

/**
 * Connects a data source to the account. Its push token and signing secret are returned once, here:
 * only the token's hash and the sealed secret are stored.
 */
export async function connectSource(
  deps: SourceDeps,
  input: NewSourceInput,
): Promise<{ source: SourceRow; token: string; signingSecret: string }> {
  const { config: given, ...settings } = input;
  const config = isPullKind(input.kind)
    ? sealPullConfig(input.kind, given, deps.appSecret, deps.clock())
    : given;
  if (isPullKind(input.kind) && deps.requirePublicEndpoints)
    await assertPullEndpointsPublic(input.kind, config);
  const token = newToken("src");
  const signingSecret = newToken("whsec");
  const source = await createSource(deps.database.db, {
    ...settings,
    config,
    tokenHash: hashToken(token),
    signingSecretEnc: encryptSecret(deps.appSecret, signingSecret),
  });
  return { source, token, signingSecret };
}
