import type { AudioTools } from "../../audio/audio-tools.ts";
import type { ProviderOutcome } from "../../domain/providers.ts";
import { Money } from "../../money/money.ts";
import { createChunkedTranscriber } from "../transcription/chunked-transcriber.ts";
import type { TranscribeInput, Transcriber, TranscriptionResult } from "../transcription/transcriber.ts";
import { callGuarded, type Meter } from "./guarded-call.ts";
import { type SpeechPricing, speechCost } from "./provider-costs.ts";
import {
  allFailed,
  codeOf,
  endsTheRoute,
  failedTry,
  type ProviderRouting,
  type ProviderTry,
  routeOrder,
  unavailableTries,
} from "./provider-routing.ts";
import type { ProviderUsageRecord, UsageContext } from "./provider-usage.ts";

/** The account fields routing reads (an AccountRow fits). */
export interface SpeechAccountSettings {
  id?: string;
  /** Fallback order; empty or absent = the server's default order. */
  speechProviders?: readonly string[];
  /** ru | kk | en | auto. */
  speechLanguage?: string;
}

export interface RoutedTranscriptionResult extends TranscriptionResult {
  /** The provider whose transcript this is. */
  provider: string;
  /** Requests sent to that provider. */
  attempts: number;
  tried: ProviderTry[];
}

export interface RoutedTranscriber extends Transcriber {
  /** Providers in the order they will be tried. */
  readonly order: readonly string[];
  transcribe(input: TranscribeInput): Promise<RoutedTranscriptionResult>;
}

export interface SpeechRouting extends ProviderRouting {
  transcribers: Record<string, Transcriber>;
  /** The server's order, for accounts without one of their own. */
  defaultOrder: readonly string[];
  /** Languages (ISO 639-1) a provider can do; providers not listed are assumed to do any. */
  speechLanguages: Record<string, readonly string[]> | undefined;
  pricing: Record<string, SpeechPricing> | undefined;
  /** Needed when a policy has chunking. */
  audio: Pick<AudioTools, "speechIntervals" | "cut"> | undefined;
  /** Where chunk pieces are written. */
  tmpDir: string | undefined;
}

/**
 * A Transcriber for the account: tries its providers in order (skipping those that do not speak the
 * language asked for), each guarded, and reports each provider's usage once.
 */
export function createRoutedTranscriber(
  routing: SpeechRouting,
  account: SpeechAccountSettings,
  context: UsageContext = {},
): RoutedTranscriber {
  const order = routeOrder([], account.speechProviders, routing.defaultOrder, routing.transcribers);
  const accountLanguage =
    account.speechLanguage && account.speechLanguage !== "auto" ? account.speechLanguage : undefined;
  const usage = (name: string, meter: Meter, outcome: ProviderOutcome, errorCode?: string) =>
    speechUsage(routing, { name, meter, outcome, errorCode }, account, context);
  return {
    name: "registry",
    order: order.map((o) => o.name),
    async transcribe(input: TranscribeInput): Promise<RoutedTranscriptionResult> {
      // An explicit language wins; "auto" means none, so each provider detects it.
      const requested = input.language === "auto" ? undefined : input.language;
      const language = requested ?? accountLanguage;
      const { language: _ignored, ...rest } = input;
      const request = { ...rest, ...(language === undefined ? {} : { language }) };
      const tried = unavailableTries(order);
      let lastError: unknown;
      for (const { name, configured } of order) {
        if (!configured) continue;
        const speaks = routing.speechLanguages?.[name];
        if (language !== undefined && speaks && !speaks.includes(language)) {
          tried.push({
            provider: name,
            attempts: 0,
            outcome: "skipped",
            message: `does not recognise "${language}"`,
          });
          continue;
        }
        const meter: Meter = { attempts: 0, audioSec: 0 };
        try {
          const result = await providerTranscriber(routing, name, meter).transcribe(request);
          tried.push({ provider: name, attempts: meter.attempts, outcome: "ok" });
          await routing.report(usage(name, meter, "ok"));
          return { ...result, provider: name, attempts: meter.attempts, tried };
        } catch (error) {
          lastError = error;
          tried.push(failedTry(name, meter.attempts, error));
          if (meter.attempts > 0) await routing.report(usage(name, meter, "failed", codeOf(error)));
          if (endsTheRoute(error, input.signal)) throw error;
        }
      }
      throw allFailed("TRANSCRIPTION_FAILED", "speech-to-text", tried, lastError);
    },
  };
}

/** One provider, guarded, metering the audio it heard; cut in pieces at silences when its policy says so. */
function providerTranscriber(routing: SpeechRouting, name: string, meter: Meter): Transcriber {
  const provider = routing.transcribers[name]!;
  const state = routing.stateOf("speech", name);
  const one: Transcriber = {
    name,
    transcribe: async (piece) => {
      const result = await callGuarded(state, meter, (signal) => provider.transcribe({ ...piece, signal }), {
        signal: piece.signal,
        audioSec: piece.durationSec,
        hooks: routing.hooks,
      });
      meter.audioSec += result.usage.audioSec;
      return result;
    },
  };
  const chunking = state.policy.chunking;
  if (!chunking || !routing.audio) return one;
  return createChunkedTranscriber(one, {
    audio: routing.audio,
    ...chunking,
    ...(routing.tmpDir ? { tmpDir: routing.tmpDir } : {}),
  });
}

function speechUsage(
  routing: SpeechRouting,
  tried: { name: string; meter: Meter; outcome: ProviderOutcome; errorCode: string | undefined },
  account: SpeechAccountSettings,
  context: UsageContext,
): ProviderUsageRecord {
  const price = routing.pricing?.[tried.name];
  return {
    kind: "speech",
    provider: tried.name,
    accountId: account.id,
    callId: context.callId,
    audioSec: tried.meter.audioSec,
    inputTokens: 0,
    outputTokens: 0,
    ourCost: price ? speechCost(tried.meter.audioSec, price) : Money.zero(routing.zeroCostCurrency),
    attempts: tried.meter.attempts,
    outcome: tried.outcome,
    errorCode: tried.errorCode,
  };
}
