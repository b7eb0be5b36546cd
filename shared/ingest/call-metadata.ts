import { z } from "zod";

/** Metadata telephony sends with a recording (API.md "Ingest"). */
export const callMetadataSchema = z
  .object({
    externalId: z.string().trim().min(1).max(200),
    startedAt: z.iso.datetime({ offset: true }).optional(),
    direction: z.enum(["inbound", "outbound"]).optional(),
    operator: z
      .object({
        externalId: z.string().trim().max(200).optional(),
        name: z.string().trim().max(200).optional(),
      })
      .optional(),
    client: z.object({ phone: z.string().trim().max(40).optional() }).optional(),
  })
  .strict();
export type CallMetadata = z.infer<typeof callMetadataSchema>;

/** Manual uploads may omit externalId: one is generated. */
export const manualMetadataSchema = callMetadataSchema.extend({
  externalId: z.string().trim().min(1).max(200).optional(),
});
export type ManualMetadata = z.infer<typeof manualMetadataSchema>;
