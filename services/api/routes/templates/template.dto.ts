import { z } from "zod";
import type { Tariff } from "../../../../shared/db/repositories/ledger.repository.ts";
import type { TemplateRow } from "../../../../shared/db/repositories/templates.repository.ts";
import type { Currency } from "../../../../shared/money/money.ts";
import { templateOwnPrice } from "../../../../shared/templates/template-price.ts";

/** A template as POST/GET /api/v1/templates and a library copy answer with it. */
export const templateDto = z.object({
  id: z.uuid(),
  name: z.string(),
  provider: z.string(),
  active: z.boolean(),
  version: z.number().int(),
  questions: z.array(z.unknown()),
  pricePerMinute: z.string(),
  currency: z.string(),
  updatedAt: z.string(),
});

export function toTemplateDto(
  t: TemplateRow,
  tariff: Tariff,
  currency: Currency,
): z.infer<typeof templateDto> {
  return {
    id: t.id,
    name: t.name,
    provider: t.provider,
    active: t.active,
    version: t.version,
    questions: t.questions,
    pricePerMinute: templateOwnPrice(tariff, t).toFixed(2),
    currency,
    updatedAt: t.updatedAt.toISOString(),
  };
}
