import type { ManualMetadata } from "./call-metadata.ts";
import {
  type IngestDeps,
  type IngestInput,
  type IngestOutcome,
  ingestRecording,
} from "./ingest-recording.ts";

/**
 * A recording uploaded by hand (owner or manager): a call with no source. Without an externalId it is
 * named after the file, `manual:<file name>`.
 */
export async function acceptUpload(
  deps: IngestDeps,
  input: {
    account: IngestInput["account"];
    metadata: ManualMetadata;
    file: { path: string; bytes: number; fileName: string };
  },
): Promise<IngestOutcome> {
  const { account, metadata, file } = input;
  return ingestRecording(deps, {
    account,
    source: null,
    metadata: { ...metadata, externalId: metadata.externalId ?? `manual:${file.fileName}` },
    filePath: file.path,
    bytes: file.bytes,
  });
}
