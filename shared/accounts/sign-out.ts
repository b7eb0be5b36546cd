import type { Db } from "../db/client.ts";
import { revokeSession } from "../db/repositories/accounts.repository.ts";

/** Revokes the session the request was made with; the user's other sessions stay. */
export async function signOut(deps: { db: Db; clock: () => Date }, sessionId: string): Promise<void> {
  await revokeSession(deps.db, sessionId, deps.clock());
}
