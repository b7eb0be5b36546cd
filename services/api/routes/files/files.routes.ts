import { z } from "zod";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { sendStoredObject } from "../../http/send-stored-object.ts";

/**
 * Serves local-disk objects behind signed, expiring links (the S3 adapter signs its own URLs), with
 * byte ranges so an audio player can seek.
 */
export function filesRoutes(deps: ApiDeps): AnyRoute[] {
  const verify = deps.verifyFileSignature;
  if (!verify) return [];
  const storage = deps.storage;
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/files/{key}",
      summary: "A stored object through a signed link (honours a single `Range: bytes=` header).",
      tag: "files",
      access: "token",
      params: z.object({ key: z.string().min(1).max(500) }),
      query: z.object({ expires: z.coerce.number().int(), signature: z.string().regex(/^[0-9a-f]{64}$/) }),
      responses: {
        200: { description: "The bytes" },
        206: { description: "The requested byte range" },
        401: { description: "Bad or expired signature" },
        416: { description: "The range lies outside the object" },
      },
      handler: async ({ params, query, req, res }) => {
        if (!verify(params.key, query.expires, query.signature)) {
          throw new AppError("UNAUTHENTICATED", "The link is invalid or has expired.");
        }
        await sendStoredObject(storage, params.key, req, res);
        return undefined;
      },
    }),
  ];
}
