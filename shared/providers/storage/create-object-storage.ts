import type { StorageConfig } from "../../config/config.ts";
import { createLocalObjectStorage } from "./local-object-storage.ts";
import type { ObjectStorage } from "./object-storage.ts";
import { createS3ObjectStorage } from "./s3-object-storage.ts";

/**
 * The storage adapter the configuration asks for: S3 when S3_BUCKET is set, else files under
 * DATA_DIR/recordings. `publicUrl` and `secret` sign local links (`/api/v1/files/...`); S3 presigns its own.
 */
export function createObjectStorage(
  config: StorageConfig,
  opts: { publicUrl: string; secret: string },
): ObjectStorage {
  switch (config.kind) {
    case "local":
      return createLocalObjectStorage({ root: config.root, publicUrl: opts.publicUrl, secret: opts.secret });
    case "s3":
      return createS3ObjectStorage({
        endpoint: config.endpoint,
        bucket: config.bucket,
        region: config.region,
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        forcePathStyle: config.forcePathStyle,
      });
  }
}
