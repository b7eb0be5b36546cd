/**
 * Merges per-channel transcripts into one dialogue ordered by time (step 6 of the pipeline), each
 * segment labelled with the side whose channel it came from.
 */
import type { TranscribedSegment } from "../providers/transcription/transcriber.ts";

export type DialogueSpeaker = "operator" | "client" | "unknown";

export interface DialogueSegment {
  speaker: DialogueSpeaker;
  /** Seconds from the start of the recording, two decimals. */
  startSec: number;
  endSec: number;
  text: string;
}

export interface DialogueChannel {
  speaker: DialogueSpeaker;
  segments: readonly TranscribedSegment[];
}

/** Fixed order for segments that start and end together, so the output never depends on input order. */
const SPEAKER_ORDER: Record<DialogueSpeaker, number> = { operator: 0, client: 1, unknown: 2 };

export function mergeDialogue(channels: readonly DialogueChannel[]): DialogueSegment[] {
  const merged: DialogueSegment[] = [];
  for (const channel of channels) {
    for (const segment of channel.segments) {
      // Providers pad and re-space text; runs of whitespace carry no meaning in a transcript.
      const text = segment.text.replace(/\s+/g, " ").trim();
      if (text === "") continue;
      const startSec = round2(Math.max(0, segment.startSec));
      // A provider may report end < start for a zero-length word; never emit a negative span.
      const endSec = Math.max(startSec, round2(segment.endSec));
      merged.push({ speaker: channel.speaker, startSec, endSec, text });
    }
  }
  return merged.sort(
    (a, b) =>
      a.startSec - b.startSec ||
      a.endSec - b.endSec ||
      SPEAKER_ORDER[a.speaker] - SPEAKER_ORDER[b.speaker] ||
      (a.text < b.text ? -1 : a.text > b.text ? 1 : 0),
  );
}

function round2(x: number): number {
  return Math.round((x + Number.EPSILON) * 100) / 100;
}
