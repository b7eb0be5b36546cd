import { pricePerMinute } from "../billing/tariff.ts";
import type { Tariff } from "../db/repositories/ledger.repository.ts";
import type { Money } from "../money/money.ts";

/** A template's own price per minute of audio: its base plus its questions (transcription not included). */
export function templateOwnPrice(tariff: Tariff, template: { questions: readonly unknown[] }): Money {
  return pricePerMinute(tariff, [template]).minus(tariff.transcriptionPerMinute);
}
