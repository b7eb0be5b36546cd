import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { AppError, isAppError } from "../../errors/app-error.ts";
import {
  assertValidObjectKey,
  assertValidRange,
  clampTtl,
  feedThroughLimit,
} from "./local-object-storage.ts";
import type { ObjectStorage, PutOptions } from "./object-storage.ts";

export interface S3ObjectStorageOptions {
  /** For S3-compatible servers (MinIO, s3rver, R2…); unset → AWS. */
  endpoint?: string | undefined;
  bucket: string;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  forcePathStyle: boolean;
}

/** 5 MiB parts (the S3 minimum), at most 2 in flight: an upload holds ≈ 10–15 MiB, whatever its size. */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 2;

const TRANSIENT_NAMES = new Set([
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ServiceUnavailable",
  "InternalError",
]);

function createClient(options: S3ObjectStorageOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
    // Checksums only where S3 demands them: S3-compatible servers reject or mangle the newer
    // aws-chunked trailing-checksum uploads.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  });
}

function httpStatusOfS3(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null || !("$metadata" in err)) return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof meta?.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}

function nameOf(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function isNotFound(err: unknown): boolean {
  const name = nameOf(err);
  if (name === "NoSuchBucket") return false;
  return name === "NoSuchKey" || name === "NotFound" || httpStatusOfS3(err) === 404;
}

/** S3 SDK errors → AppError: missing key NOT_FOUND, network/5xx/throttling UNAVAILABLE (retryable). */
function mapS3Error(err: unknown, op: string, key?: string): AppError {
  if (isAppError(err)) return err;
  const context = { op, ...(key === undefined ? {} : { key }) };
  if (key !== undefined && isNotFound(err))
    return new AppError("NOT_FOUND", "Object not found.", { context });
  const status = httpStatusOfS3(err);
  const name = nameOf(err);
  if (status === undefined || status >= 500 || status === 429 || (name && TRANSIENT_NAMES.has(name))) {
    return new AppError("UNAVAILABLE", `Object storage ${op} failed${name ? ` (${name})` : ""}.`, {
      retryable: true,
      cause: err,
      context,
    });
  }
  // 4xx other than 404: wrong credentials, bucket, region — a configuration problem retries won't fix.
  return new AppError("UNAVAILABLE", `Object storage refused ${op}${name ? ` (${name})` : ""}.`, {
    retryable: false,
    cause: err,
    context: { ...context, status },
  });
}

/** Objects in an S3 bucket (production). Bodies are streamed in parts; nothing holds a whole object. */
export function createS3ObjectStorage(options: S3ObjectStorageOptions): ObjectStorage {
  const client = createClient(options);
  const Bucket = options.bucket;

  const getStream = async (key: string, range?: { start: number; end: number }): Promise<Readable> => {
    assertValidObjectKey(key);
    try {
      const res = await client.send(
        new GetObjectCommand({
          Bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const body = res.Body;
      if (body instanceof Readable) return body;
      throw new AppError("INTERNAL", "Object storage returned no body.", { context: { key } });
    } catch (err) {
      throw mapS3Error(err, "get", key);
    }
  };

  return {
    kind: "s3",

    async put(key: string, body: Readable, putOptions: PutOptions = {}) {
      assertValidObjectKey(key);
      const feed = feedThroughLimit(body, putOptions.maxBytes);
      const upload = new Upload({
        client,
        params: {
          Bucket,
          Key: key,
          Body: feed.counter,
          ...(putOptions.contentType ? { ContentType: putOptions.contentType } : {}),
        },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      // When the limit is crossed (or the body fails) the counter errors, done() aborts the multipart
      // upload before it rejects, so no parts and no object are left behind; a single-part body is only
      // sent once it was read whole.
      try {
        await upload.done();
        return { bytes: feed.counter.bytes };
      } catch (err) {
        feed.release();
        if (feed.counter.exceeded) {
          throw new AppError(
            "PAYLOAD_TOO_LARGE",
            `The file is larger than the limit of ${putOptions.maxBytes} bytes.`,
            {
              context: { maxBytes: putOptions.maxBytes },
            },
          );
        }
        const fromSource = feed.sourceError();
        if (fromSource !== undefined) throw fromSource;
        throw mapS3Error(err, "put", key);
      }
    },

    get: (key: string) => getStream(key),

    async stat(key: string) {
      assertValidObjectKey(key);
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { bytes: head.ContentLength ?? 0 };
      } catch (err) {
        throw mapS3Error(err, "stat", key);
      }
    },

    async getRange(key: string, start: number, end: number) {
      assertValidRange(start, end);
      return getStream(key, { start, end });
    },

    async download(key: string, filePath: string) {
      const stream = await getStream(key);
      const target = path.resolve(filePath);
      const tmp = path.join(path.dirname(target), `.tmp-${randomUUID()}-${path.basename(target)}`);
      try {
        await pipeline(stream, createWriteStream(tmp, { flags: "wx" }));
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => {});
        throw mapS3Error(err, "download", key);
      }
    },

    async delete(key: string) {
      assertValidObjectKey(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
      } catch (err) {
        if (isNotFound(err)) return;
        throw mapS3Error(err, "delete", key);
      }
    },

    async exists(key: string) {
      assertValidObjectKey(key);
      try {
        await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw mapS3Error(err, "exists", key);
      }
    },

    async signedUrl(key: string, ttlSec: number, signOptions: { contentType?: string } = {}) {
      assertValidObjectKey(key);
      const expiresIn = clampTtl(ttlSec);
      try {
        return await getSignedUrl(
          client,
          new GetObjectCommand({
            Bucket,
            Key: key,
            ...(signOptions.contentType ? { ResponseContentType: signOptions.contentType } : {}),
          }),
          { expiresIn },
        );
      } catch (err) {
        throw mapS3Error(err, "signedUrl", key);
      }
    },

    async ping() {
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
      } catch (err) {
        throw mapS3Error(err, "ping");
      }
    },
  };
}

/** Creates the bucket when it does not exist yet (development and tests; production buckets are provisioned). */
export async function ensureBucket(options: S3ObjectStorageOptions): Promise<void> {
  const client = createClient(options);
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket: options.bucket }));
      return;
    } catch (err) {
      if (!(nameOf(err) === "NotFound" || nameOf(err) === "NoSuchBucket" || httpStatusOfS3(err) === 404)) {
        throw mapS3Error(err, "ensureBucket");
      }
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: options.bucket }));
    } catch (err) {
      const name = nameOf(err);
      if (name === "BucketAlreadyOwnedByYou" || name === "BucketAlreadyExists") return;
      throw mapS3Error(err, "ensureBucket");
    }
  } finally {
    client.destroy();
  }
}
