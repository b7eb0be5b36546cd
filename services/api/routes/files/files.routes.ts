import { z } from "zod";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

/** Serves local-disk objects behind signed, expiring links (the S3 adapter signs its own URLs). */
export function filesRoutes(deps: ApiDeps): AnyRoute[] {
  const verify = deps.verifyFileSignature;
  if (!verify) return [];
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/files/{key}",
      summary: "A stored object through a signed link.",
      tag: "files",
      access: "token",
      params: z.object({ key: z.string().min(1).max(500) }),
      query: z.object({ expires: z.coerce.number().int(), signature: z.string().regex(/^[0-9a-f]{64}$/) }),
      responses: { 200: { description: "The bytes" }, 401: { description: "Bad or expired signature" } },
      handler: async ({ params, query, res }) => {
        if (!verify(params.key, query.expires, query.signature)) {
          throw new AppError("UNAUTHENTICATED", "The link is invalid or has expired.");
        }
        const stream = await deps.storage.get(params.key);
        // The container is sniffed by the player; the stored object keeps the original format.
        res.setHeader("Content-Type", "application/octet-stream");
        res.setHeader("Cache-Control", "private, max-age=60");
        res.status(200);
        stream.pipe(res);
        await new Promise<void>((resolve, reject) => {
          stream.on("end", resolve);
          stream.on("error", reject);
        });
        return undefined;
      },
    }),
  ];
}
