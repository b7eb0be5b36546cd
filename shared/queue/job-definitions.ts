import { z } from "zod";
import { defineJob } from "./job-queue.ts";

/** Every pipeline job names the account too, so a worker never loads a call outside its account. */
export const callJobPayload = z.object({ accountId: z.uuid(), callId: z.uuid() });
export type CallJobPayload = z.infer<typeof callJobPayload>;

/** Steps 2–3: probe the stored recording, then reserve its cost (billing seam). */
export const probeCallJob = defineJob({
  name: "call-probe",
  payload: callJobPayload,
  retryLimit: 5,
  retryDelaySec: 2,
  expireInSec: 10 * 60,
});

/** Steps 4–6: split channels, measure speech intervals, transcribe each channel, merge the dialogue. */
export const transcribeCallJob = defineJob({
  name: "call-transcribe",
  payload: callJobPayload,
  retryLimit: 5,
  retryDelaySec: 5,
  expireInSec: 60 * 60,
});

/** Steps 7–8: answer each active template, then settle the reservation and mark the call done. */
export const analyzeCallJob = defineJob({
  name: "call-analyze",
  payload: callJobPayload,
  retryLimit: 5,
  retryDelaySec: 5,
  expireInSec: 30 * 60,
});

/** Scheduled maintenance jobs (API.md "Command line"), enqueued by the scheduler once per slot. */
export const scheduledJobPayload = z.object({
  name: z.string(),
  now: z.iso.datetime({ offset: true }).optional(),
});
export const scheduledJob = defineJob({
  name: "scheduled-job",
  payload: scheduledJobPayload,
  retryLimit: 3,
  retryDelaySec: 30,
  expireInSec: 30 * 60,
});

/** After a top-up: reserve and restart the account's calls waiting for funds, oldest first. */
export const resumeAwaitingCallsJob = defineJob({
  name: "resume-awaiting-calls",
  payload: z.object({ accountId: z.uuid() }),
  retryLimit: 10,
  retryDelaySec: 5,
  expireInSec: 15 * 60,
});

/** An owner's reanalysis of a done call with the current templates; its cost is already held. */
export const reanalyzeCallJob = defineJob({
  name: "call-reanalyze",
  payload: z.object({
    accountId: z.uuid(),
    callId: z.uuid(),
    runId: z.uuid(),
    currency: z.enum(["KZT", "RUB", "USD"]),
    templateIds: z.array(z.uuid()),
  }),
  retryLimit: 5,
  retryDelaySec: 5,
  expireInSec: 30 * 60,
});

/** Pull every enabled pull source once (issue #4): enqueued each minute by the scheduler, run by ingestion. */
export const pullSourcesJob = defineJob({
  name: "pull-sources",
  payload: z.object({}),
  retryLimit: 0,
  retryDelaySec: 30,
  expireInSec: 30 * 60,
});

/**
 * Every queue of Tyndau. Each process creates them all when its queue starts: pg-boss 12 refuses to
 * send to a queue that does not exist yet, and an API may start (and take a push) before any worker.
 */
export const allJobDefinitions = [
  probeCallJob,
  transcribeCallJob,
  analyzeCallJob,
  scheduledJob,
  resumeAwaitingCallsJob,
  reanalyzeCallJob,
  pullSourcesJob,
] as const;
