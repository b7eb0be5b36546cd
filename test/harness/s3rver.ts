import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

/** s3rver's fixed credentials (any SDK client talking to it must sign with these). */
export const S3RVER_ACCESS_KEY_ID = "S3RVER";
export const S3RVER_SECRET_ACCESS_KEY = "S3RVER";

interface S3rverOptions {
  address?: string;
  port?: number;
  silent?: boolean;
  directory?: string;
  resetOnClose?: boolean;
  configureBuckets?: { name: string; configs?: string[] }[];
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}

// s3rver is CommonJS without type declarations.
const require = createRequire(import.meta.url);
const S3rver = require("s3rver") as new (options: S3rverOptions) => S3rverInstance;

export interface RunningS3rver {
  /** e.g. `http://127.0.0.1:41234`; use forcePathStyle and the S3RVER credentials. */
  endpoint: string;
  port: number;
  /** Where s3rver keeps its objects. */
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts an in-process fake S3 (s3rver) on 127.0.0.1. `port` 0 (default) picks a free port; `dir`
 * defaults to a fresh temp directory that close() removes. `buckets` are created before it listens
 * (or create them later with ensureBucket from shared/providers/storage/s3-object-storage.ts).
 */
export async function startS3rver(
  options: { port?: number; dir?: string; buckets?: string[] } = {},
): Promise<RunningS3rver> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), "tyndau-s3rver-")));
  if (!ownDir) await mkdir(dir, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: options.port ?? 0,
    silent: true,
    directory: dir,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    dir,
    async close() {
      if (closed) return;
      closed = true;
      const closing = server.close();
      // Keep-alive connections of SDK clients and fetch() would otherwise hold close() open.
      server.httpServer?.closeAllConnections();
      await closing;
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stops the s3rver started for this caller; a no-op for TEST_S3_ENDPOINT. */
  close(): Promise<void>;
}

/**
 * The S3 a test should talk to (path-style): TEST_S3_ENDPOINT when set (scripts/test starts one s3rver
 * and exports it; TEST_S3_REGION, TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY default to
 * us-east-1 and s3rver's credentials), else a private s3rver started now. Create your bucket with
 * ensureBucket (a unique name per test file keeps runs apart).
 */
export async function useTestS3(): Promise<TestS3> {
  const env = process.env;
  const base = {
    region: env.TEST_S3_REGION || "us-east-1",
    accessKeyId: env.TEST_S3_ACCESS_KEY_ID || S3RVER_ACCESS_KEY_ID,
    secretAccessKey: env.TEST_S3_SECRET_ACCESS_KEY || S3RVER_SECRET_ACCESS_KEY,
  };
  if (env.TEST_S3_ENDPOINT) return { ...base, endpoint: env.TEST_S3_ENDPOINT, close: async () => {} };
  const server = await startS3rver();
  return { ...base, endpoint: server.endpoint, close: () => server.close() };
}
