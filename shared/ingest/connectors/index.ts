import type { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import { isPrivateAddress, pointsToPrivateAddress } from "../../security/public-address.ts";
import { decryptSecret, encryptSecret } from "../../security/tokens.ts";
import type { ConnectorContext, PullConnector } from "./connector.ts";
import { createHttpPullConnector, httpPullConfig, httpPullSecrets } from "./http-pull.ts";
import { createS3PullConnector, s3PullConfig, s3PullSecrets } from "./s3-pull.ts";
import { createZadarmaConnector, zadarmaConfig, zadarmaSecrets } from "./zadarma.ts";

export const pullKinds = ["http_pull", "s3_pull", "zadarma"] as const;
export type PullKind = (typeof pullKinds)[number];
export const isPullKind = (kind: string): kind is PullKind => (pullKinds as readonly string[]).includes(kind);

const kinds = {
  http_pull: { config: httpPullConfig, secrets: httpPullSecrets, create: createHttpPullConnector },
  s3_pull: { config: s3PullConfig, secrets: s3PullSecrets, create: createS3PullConnector },
  zadarma: { config: zadarmaConfig, secrets: zadarmaSecrets, create: createZadarmaConnector },
} as const;

const SECRETS_FIELD = "secretsEnc";

/**
 * Validates a pull source's `config` as sent to POST /sources: credentials (bearerToken,
 * secretAccessKey, apiKey, apiSecret) are split off and sealed with APP_SECRET (AES-256-GCM) into one
 * field that no response or log ever shows; `since` is fixed to the creation instant when absent.
 */
export function sealPullConfig(
  kind: PullKind,
  input: Record<string, unknown>,
  appSecret: string,
  now: Date,
): Record<string, unknown> {
  const spec = kinds[kind];
  const secretKeys = Object.keys(spec.secrets.shape);
  const publicPart = Object.fromEntries(Object.entries(input).filter(([k]) => !secretKeys.includes(k)));
  const secretPart = Object.fromEntries(Object.entries(input).filter(([k]) => secretKeys.includes(k)));
  const issues = [
    ...issuesOf(spec.config.safeParse(publicPart)),
    ...issuesOf(spec.secrets.safeParse(secretPart)),
  ];
  if (issues.length > 0) {
    throw new AppError("VALIDATION_FAILED", `The config of a ${kind} source is invalid.`, {
      details: issues.map((i) => ({ path: ["body", "config", ...i.path].join("."), message: i.message })),
    });
  }
  const config = spec.config.parse(publicPart) as Record<string, unknown>;
  return {
    ...config,
    since: config.since ?? now.toISOString(),
    [SECRETS_FIELD]: encryptSecret(appSecret, JSON.stringify(spec.secrets.parse(secretPart))),
  };
}

/**
 * PATCH /sources/{id} `config`: the given keys (credentials included) replace the stored ones, `null`
 * removes an optional key, everything else is kept; the result is validated like a new source's.
 */
export function mergePullConfig(
  kind: PullKind,
  existing: Record<string, unknown>,
  patch: Record<string, unknown>,
  appSecret: string,
  now: Date,
): Record<string, unknown> {
  const { [SECRETS_FIELD]: sealed, ...stored } = existing;
  const secrets = typeof sealed === "string" ? JSON.parse(decryptSecret(appSecret, sealed)) : {};
  const merged: Record<string, unknown> = { ...stored, ...secrets, ...patch };
  for (const [key, value] of Object.entries(patch)) if (value === null) delete merged[key];
  return sealPullConfig(kind, merged, appSecret, now);
}

function issuesOf(result: z.ZodSafeParseResult<unknown>) {
  return result.success ? [] : result.error.issues;
}

/** The config keys whose URLs a pull kind connects to (owner-configured endpoints). */
const endpointKeys: Record<PullKind, string[]> = {
  http_pull: ["url"],
  s3_pull: ["endpoint"],
  zadarma: ["baseUrl"],
};

/**
 * Production, at create/PATCH time: refuses (400, naming the field) an endpoint whose host is a
 * non-public literal address or a name that resolves to one now. The connection-time check (the lookup
 * of every connection, every hop) still applies later: DNS answers can change after this.
 */
export async function assertPullEndpointsPublic(
  kind: PullKind,
  config: Record<string, unknown>,
  isBlocked: (address: string) => boolean = isPrivateAddress,
): Promise<void> {
  const details: { path: string; message: string }[] = [];
  for (const key of endpointKeys[kind]) {
    const value = config[key];
    if (typeof value !== "string") continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      continue; // the schema has already refused it
    }
    if (await pointsToPrivateAddress(url, isBlocked)) {
      details.push({
        path: `body.config.${key}`,
        message: "must be a public address: private, loopback, link-local and reserved addresses are refused",
      });
    }
  }
  if (details.length > 0) {
    throw new AppError("VALIDATION_FAILED", `The config of a ${kind} source is invalid.`, { details });
  }
}

/** What responses may show of a source's config: everything but the sealed credentials. */
export function publicSourceConfig(config: Record<string, unknown>): Record<string, unknown> {
  const { [SECRETS_FIELD]: _sealed, ...rest } = config;
  return rest;
}

export function createPullConnector(
  source: { kind: string; config: Record<string, unknown>; createdAt: Date },
  appSecret: string,
  ctx: ConnectorContext,
): PullConnector {
  if (!isPullKind(source.kind)) throw new Error(`not a pull source kind: ${source.kind}`);
  const spec = kinds[source.kind];
  const { [SECRETS_FIELD]: sealed, ...config } = source.config;
  const secrets = typeof sealed === "string" ? JSON.parse(decryptSecret(appSecret, sealed)) : {};
  const parsed = spec.config.parse(config) as { since?: string };
  const since = parsed.since ? new Date(parsed.since) : source.createdAt;
  // biome-ignore lint/suspicious/noExplicitAny: each kind's create matches its own config and secrets.
  return (spec.create as any)(parsed, spec.secrets.parse(secrets), since, ctx);
}

export type { ConnectorContext, PullConnector, PulledCall, PullPage } from "./connector.ts";
