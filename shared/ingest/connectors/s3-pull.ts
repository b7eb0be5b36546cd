import { createWriteStream } from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  GetObjectCommand,
  ListObjectsCommand,
  type ListObjectsCommandOutput,
  S3Client,
} from "@aws-sdk/client-s3";
import { RE2JS } from "re2js";
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import { isPrivateAddress, literalAddress, publicOnlyLookup } from "../../security/public-address.ts";
import { type CallMetadata, callMetadataSchema } from "../call-metadata.ts";
import {
  type ConnectorContext,
  type NetworkPolicy,
  type PullConnector,
  type PulledCall,
  pullCommonConfig,
  sourceAuthFailed,
  sourceUnavailable,
  UNREACHABLE,
} from "./connector.ts";

/**
 * fileNamePattern is an owner's regular expression run on names a remote chooses, so it runs on RE2
 * (re2js, a pure-JS port of Google's RE2): matching time is linear in the name, whatever the pattern,
 * so no pattern can stall the worker's event loop (catastrophic backtracking). V8's own engine has no
 * such guarantee, and no subset of its syntax that still allows `*` inside groups is safe to check by
 * hand. RE2 has no look-arounds or back-references; patterns using them are refused at create time.
 */
export function compileFileNamePattern(pattern: string): RE2JS | undefined {
  try {
    const compiled = RE2JS.compile(pattern);
    return "externalId" in compiled.namedGroups() ? compiled : undefined;
  } catch {
    return undefined;
  }
}
const isValidPattern = (p: string) => compileFileNamePattern(p) !== undefined;

/** A sidecar is a few hundred bytes of JSON; anything larger is refused while it streams. */
export const MAX_SIDECAR_BYTES = 64 * 1024;
/** Object keys are at most 1024 bytes in S3; longer names are not matched at all. */
const MAX_FILE_NAME_CHARS = 1024;

/** Settings of an `s3_pull` source (docs/PULL-SOURCES.md). */
export const s3PullConfig = z
  .object({
    bucket: z.string().min(3).max(63),
    prefix: z.string().max(1024).default(""),
    region: z.string().min(1).max(64).default("us-east-1"),
    endpoint: z.url().optional(),
    forcePathStyle: z.boolean().default(false),
    accessKeyId: z.string().min(1).max(256),
    /** sidecar: `<name>.json` next to each recording holds its metadata; filename: `fileNamePattern`. */
    metadata: z.enum(["sidecar", "filename"]).default("sidecar"),
    /**
     * A regular expression (RE2 syntax: no look-arounds or back-references) over the file name with named
     * groups: externalId (required), startedAt, direction, operator, phone.
     */
    fileNamePattern: z
      .string()
      .max(1000)
      .refine(
        isValidPattern,
        "must be a valid RE2 regular expression (no look-arounds or back-references) with a named group (?<externalId>…)",
      )
      .optional(),
    ...pullCommonConfig,
  })
  .strict()
  .refine((c) => c.metadata !== "filename" || c.fileNamePattern, {
    message: "fileNamePattern is required when metadata is filename",
    path: ["fileNamePattern"],
  });
export const s3PullSecrets = z.object({ secretAccessKey: z.string().min(1).max(1024) }).strict();

const authErrors = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
]);

function s3Error(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if ((e.name && authErrors.has(e.name)) || status === 401 || status === 403)
    return sourceAuthFailed("The bucket", status);
  // Only an answer from the store (an S3 error name with its HTTP status) is described; a connection that
  // failed or was refused (non-public address) reads the same, with no error text of ours.
  return sourceUnavailable(
    "The bucket",
    status && e.name && /^[A-Za-z]{1,64}$/.test(e.name)
      ? `it answered ${e.name} (HTTP ${status})`
      : UNREACHABLE,
    error,
  );
}

/** HTTP(S) agents whose lookup refuses non-public answers (production), for the S3 client. */
function publicOnlyAgents(network: NetworkPolicy) {
  if (network.allowPrivateAddresses) return {};
  const lookup = publicOnlyLookup(network.isBlocked ?? isPrivateAddress);
  return { httpAgent: new http.Agent({ lookup }), httpsAgent: new https.Agent({ lookup }) };
}

/** New objects under a prefix, in key order after the cursor (the last key taken). */
export function createS3PullConnector(
  config: z.output<typeof s3PullConfig>,
  secrets: z.output<typeof s3PullSecrets>,
  since: Date,
  ctx: ConnectorContext,
): PullConnector {
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: secrets.secretAccessKey },
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000, ...publicOnlyAgents(ctx.download) },
  });
  // A literal endpoint address never goes through the lookup: it is checked here, before any request.
  const endpointRefused =
    !ctx.download.allowPrivateAddresses &&
    config.endpoint !== undefined &&
    (() => {
      const literal = literalAddress(new URL(config.endpoint));
      return literal !== undefined && (ctx.download.isBlocked ?? isPrivateAddress)(literal);
    })();
  const send: S3Client["send"] = ((command: Parameters<S3Client["send"]>[0]) => {
    if (endpointRefused) return Promise.reject(sourceUnavailable("The bucket", UNREACHABLE));
    return client.send(command);
  }) as S3Client["send"];
  const pattern = config.fileNamePattern ? compileFileNamePattern(config.fileNamePattern) : undefined;

  const download = async (key: string, filePath: string): Promise<{ bytes: number }> => {
    let body: Readable;
    try {
      const out = await send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      if ((out.ContentLength ?? 0) > ctx.download.maxBytes)
        throw new AppError("PAYLOAD_TOO_LARGE", "The recording in the bucket is larger than the limit.");
      body = out.Body as Readable;
    } catch (error) {
      throw s3Error(error);
    }
    let bytes = 0;
    await pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          if (bytes > ctx.download.maxBytes)
            done(new AppError("PAYLOAD_TOO_LARGE", "The recording in the bucket is larger than the limit."));
          else done(null, chunk);
        },
      }),
      createWriteStream(filePath),
    );
    return { bytes };
  };

  /** The sidecar's JSON; undefined when it is missing, not JSON, or larger than MAX_SIDECAR_BYTES. */
  const readSidecar = async (key: string): Promise<unknown> => {
    try {
      const out = await send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      const body = out.Body as Readable;
      if ((out.ContentLength ?? 0) > MAX_SIDECAR_BYTES) {
        body.destroy();
        return undefined;
      }
      // Counted while it streams: a store that sends more than its Content-Length promised is cut off.
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > MAX_SIDECAR_BYTES) {
          body.destroy();
          return undefined;
        }
        chunks.push(chunk);
      }
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || error instanceof SyntaxError) return undefined;
      throw s3Error(error);
    }
  };

  const metadataFor = async (
    key: string,
  ): Promise<{ metadata: CallMetadata & { externalId: string }; invalid?: AppError }> => {
    const fileName = path.posix.basename(key);
    const fallback = { externalId: key.slice(0, 200) };
    let raw: unknown;
    if (config.metadata === "sidecar") {
      const sidecarKey = `${key.replace(/\.[^./]*$/, "")}.json`;
      raw = await readSidecar(sidecarKey);
      if (raw === undefined) {
        return {
          metadata: fallback,
          invalid: new AppError(
            "VALIDATION_FAILED",
            `The sidecar ${path.posix.basename(sidecarKey)} is missing or not JSON.`,
          ),
        };
      }
      if (raw && typeof raw === "object" && !("externalId" in raw))
        raw = { ...raw, externalId: fallback.externalId };
    } else {
      const groups = fileName.length <= MAX_FILE_NAME_CHARS ? matchGroups(pattern, fileName) : undefined;
      if (!groups?.externalId) {
        return {
          metadata: fallback,
          invalid: new AppError(
            "VALIDATION_FAILED",
            `The file name ${fileName} does not match fileNamePattern.`,
          ),
        };
      }
      raw = {
        externalId: groups.externalId,
        startedAt: groups.startedAt ? normalizeInstant(groups.startedAt) : undefined,
        direction: groups.direction,
        operator: groups.operator ? { externalId: groups.operator } : undefined,
        client: groups.phone ? { phone: groups.phone } : undefined,
      };
    }
    const parsed = callMetadataSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        metadata: fallback,
        invalid: new AppError(
          "VALIDATION_FAILED",
          `The metadata of ${fileName} is invalid (${issue?.path.join(".") || "body"}: ${issue?.message}).`,
        ),
      };
    }
    return { metadata: parsed.data };
  };

  return {
    async fetchPage(cursor) {
      let listed: ListObjectsCommandOutput;
      try {
        // ListObjects (v1) with Marker = the last key taken: the cursor is a plain key, portable across
        // S3-compatible stores (v2 continuation tokens are opaque and store-specific).
        listed = await send(
          new ListObjectsCommand({
            Bucket: config.bucket,
            Prefix: config.prefix || undefined,
            Marker: cursor ?? undefined,
            MaxKeys: config.pageSize,
          }),
        );
      } catch (error) {
        throw s3Error(error);
      }
      const objects = listed.Contents ?? [];
      const calls: PulledCall[] = [];
      for (const object of objects) {
        const key = object.Key!;
        if (key.endsWith("/") || key.endsWith(".json")) continue;
        if (object.LastModified && object.LastModified < since) continue;
        const { metadata, invalid } = await metadataFor(key);
        calls.push({ metadata, invalid, fetchRecording: (filePath) => download(key, filePath) });
      }
      const last = objects.at(-1)?.Key ?? cursor;
      return { calls, cursor: last, done: !listed.IsTruncated };
    },
  };
}

/** The named groups of the pattern's first match in `name` (RE2: linear time), or undefined. */
function matchGroups(
  pattern: RE2JS | undefined,
  name: string,
): Record<string, string | undefined> | undefined {
  if (!pattern) return undefined;
  const matcher = pattern.matcher(name);
  if (!matcher.find()) return undefined;
  const groups: Record<string, string | undefined> = {};
  for (const group of Object.keys(pattern.namedGroups())) groups[group] = matcher.group(group) ?? undefined;
  return groups;
}

/** File names carry instants like 20260105T093000Z or 2026-01-05T09-30-00Z; returns ISO 8601 or the input. */
function normalizeInstant(value: string): string {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})[T_ -]?(\d{2})[-:]?(\d{2})[-:]?(\d{2})(Z|[+-]\d{2}:?\d{2})?$/.exec(
    value,
  );
  if (!m) return value;
  const zone =
    !m[7] || m[7] === "Z" ? "Z" : m[7].includes(":") ? m[7] : `${m[7].slice(0, 3)}:${m[7].slice(3)}`;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${zone}`;
}
