import { AppError } from "../errors/app-error.ts";

/** Analysis providers Tyndau knows; a template may name one only when this server has it configured. */
export const analysisProviders = ["rules", "openai", "openai-compatible", "gigachat", "yandexgpt"] as const;

/** Refuses a provider this server is not configured for, rather than failing every call later. */
export function assertProviderConfigured(configured: readonly string[], provider: string | undefined): void {
  if (provider === undefined || configured.includes(provider)) return;
  const message = `The "${provider}" analysis provider is not configured on this server; available: ${configured.join(", ")}.`;
  throw new AppError("VALIDATION_FAILED", message, { details: [{ path: "body.provider", message }] });
}
