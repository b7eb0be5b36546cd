import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The metrics a Tyndau process exposes on /metrics (one registry per process, built by main.ts). */
export function createAppMetrics(options: { service: string }) {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry, prefix: "tyndau_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "tyndau_http_requests_total",
      help: "HTTP requests by method, route and status.",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "tyndau_http_request_duration_seconds",
      help: "HTTP request duration.",
      labelNames: ["method", "route"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    ingested: new Counter({
      name: "tyndau_ingest_total",
      help: "Recordings offered for ingestion, by source kind and outcome (accepted, duplicate or an error code).",
      labelNames: ["source_kind", "outcome"] as const,
      registers: [registry],
    }),
    ingestAcceptDuration: new Histogram({
      name: "tyndau_ingest_accept_seconds",
      help: "Time to answer an accepted push (body received, stored, call written), by body kind.",
      labelNames: ["source_kind", "body"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    pullItems: new Counter({
      name: "tyndau_pull_items_total",
      help: "Calls listed by pull sources, by source kind and outcome (accepted, duplicate, failed).",
      labelNames: ["source_kind", "outcome"] as const,
      registers: [registry],
    }),
    pullRuns: new Counter({
      name: "tyndau_pull_runs_total",
      help: "Pull runs per source, by source kind and outcome (ok, auth_failed, unavailable, error).",
      labelNames: ["source_kind", "outcome"] as const,
      registers: [registry],
    }),
    pipelineSteps: new Counter({
      name: "tyndau_pipeline_steps_total",
      help: "Pipeline steps run, by step and outcome.",
      labelNames: ["step", "outcome"] as const,
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: "tyndau_queue_jobs",
      help: "Jobs by queue and state.",
      labelNames: ["queue", "state"] as const,
      registers: [registry],
    }),
  };
}
export type AppMetrics = ReturnType<typeof createAppMetrics>;
