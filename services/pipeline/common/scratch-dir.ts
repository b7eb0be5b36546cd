import fs from "node:fs/promises";
import path from "node:path";

/** A per-job scratch directory, removed whatever happens. */
export async function withScratchDir<T>(root: string, fn: (dir: string) => Promise<T>): Promise<T> {
  await fs.mkdir(root, { recursive: true });
  const dir = await fs.mkdtemp(path.join(root, "job-"));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
