import { z } from "zod";
import { AppError } from "../../../shared/errors/app-error.ts";

/** Opaque keyset cursors: base64url of "<ISO instant>|<uuid>". */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString("base64url");
}

export function decodeCursor(cursor: string): { at: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const at = new Date(iso ?? "");
  if (!id || Number.isNaN(at.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw new AppError("VALIDATION_FAILED", "The cursor is invalid.", {
      details: [{ path: "query.cursor", message: "invalid" }],
    });
  }
  return { at, id };
}

/** `limit` and `cursor` of every keyset-paginated list. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** A page of `item`s with the cursor of the next one (null on the last page). */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/**
 * Keyset pagination: asks `fetch` for one row more than the page, so whether a next page exists is known
 * without counting, and returns the page with the cursor after its last row.
 */
export async function fetchPage<R>(
  query: { limit: number; cursor?: string | undefined },
  fetch: (window: { limit: number; after: { at: Date; id: string } | undefined }) => Promise<R[]>,
  key: (row: R) => { at: Date; id: string },
): Promise<{ rows: R[]; nextCursor: string | null }> {
  const rows = await fetch({
    limit: query.limit + 1,
    after: query.cursor ? decodeCursor(query.cursor) : undefined,
  });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    rows: page,
    nextCursor: rows.length > query.limit && last ? encodeCursor(key(last).at, key(last).id) : null,
  };
}
