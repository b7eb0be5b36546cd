import { createWriteStream } from "node:fs";
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
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import { type CallMetadata, callMetadataSchema } from "../call-metadata.ts";
import {
  type ConnectorContext,
  type PullConnector,
  type PulledCall,
  pullCommonConfig,
  sourceAuthFailed,
  sourceUnavailable,
} from "./connector.ts";

const isValidPattern = (p: string) => {
  try {
    return new RegExp(p).source.includes("(?<externalId>");
  } catch {
    return false;
  }
};

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
    /** A regular expression over the file name with named groups: externalId (required), startedAt, direction, operator, phone. */
    fileNamePattern: z
      .string()
      .max(1000)
      .refine(isValidPattern, "must be a valid regular expression with a named group (?<externalId>…)")
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
  return sourceUnavailable(
    "The bucket",
    e.name ? `${e.name}${status ? ` (HTTP ${status})` : ""}` : "it could not be reached",
    error,
  );
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
  });
  const pattern = config.fileNamePattern ? new RegExp(config.fileNamePattern) : undefined;

  const download = async (key: string, filePath: string): Promise<{ bytes: number }> => {
    let body: Readable;
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
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

  const readSidecar = async (key: string): Promise<unknown> => {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      const text = await out.Body!.transformToString("utf8");
      if (text.length > 64 * 1024) return undefined;
      return JSON.parse(text);
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
      const groups = pattern?.exec(fileName)?.groups;
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
        listed = await client.send(
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
