import type { Readable } from "node:stream";

export interface PutOptions {
  contentType?: string;
  /** Abort and delete the partial object once more than this many bytes arrived (AppError PAYLOAD_TOO_LARGE). */
  maxBytes?: number;
}

/**
 * Recordings and other blobs. Bodies are always streamed: nothing here holds a whole object in memory.
 * Keys are relative paths like `accounts/<accountId>/calls/<callId>/original`.
 */
export interface ObjectStorage {
  readonly kind: "local" | "s3";
  put(key: string, body: Readable, options?: PutOptions): Promise<{ bytes: number }>;
  /** Streams the object; AppError NOT_FOUND if absent. */
  get(key: string): Promise<Readable>;
  /** The object's size in bytes; AppError NOT_FOUND if absent. Lets HTTP serve byte ranges. */
  stat?(key: string): Promise<{ bytes: number }>;
  /**
   * Streams bytes `start`..`end` inclusive (HTTP Range semantics, 0 ≤ start ≤ end < size), so a player
   * can seek without downloading what lies before; AppError NOT_FOUND if absent.
   */
  getRange?(key: string, start: number, end: number): Promise<Readable>;
  /** Streams the object into a local file. */
  download(key: string, filePath: string): Promise<void>;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** A URL that serves the object without other credentials for ttlSec seconds (≤ 900). */
  signedUrl(key: string, ttlSec: number, options?: { contentType?: string }): Promise<string>;
  /** Throws when the storage cannot be reached (readiness). */
  ping(): Promise<void>;
}
