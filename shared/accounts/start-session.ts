import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { createSession } from "../db/repositories/accounts.repository.ts";
import { hashToken, newToken } from "../security/tokens.ts";

export interface SessionDeps {
  db: Db;
  clock: () => Date;
  security: Pick<Config["security"], "sessionTtlHours">;
}

/** Opens a session for the user and returns its bearer token (only its hash is stored). */
export async function startSession(deps: SessionDeps, userId: string, now = deps.clock()): Promise<string> {
  const token = newToken("tyn");
  await createSession(deps.db, {
    userId,
    tokenHash: hashToken(token),
    expiresAt: new Date(now.getTime() + deps.security.sessionTtlHours * 3600_000),
  });
  return token;
}
