import { hashToken, safeEqualHex } from "../security/tokens.ts";

/**
 * Who may read /metrics (it names routes, queues and volumes, so it is not public): with METRICS_TOKEN
 * set, only a request with `Authorization: Bearer <METRICS_TOKEN>`; without it, anyone outside
 * production (the embedded single machine) and no one in production, where /metrics answers 404.
 */
export type MetricsAccess = "allowed" | "unauthenticated" | "not_served";

export function metricsAccess(
  options: { env: "development" | "test" | "production"; metricsToken: string | undefined },
  authorization: string | undefined,
): MetricsAccess {
  if (!options.metricsToken) return options.env === "production" ? "not_served" : "allowed";
  const presented = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!presented) return "unauthenticated";
  // Compared as hashes: equal lengths, constant time.
  return safeEqualHex(hashToken(presented), hashToken(options.metricsToken)) ? "allowed" : "unauthenticated";
}
