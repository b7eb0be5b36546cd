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
