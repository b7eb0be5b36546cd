import type { Db } from "../db/client.ts";
import { type CallRow, findCall, lockCall } from "../db/repositories/calls.repository.ts";
import { AppError } from "../errors/app-error.ts";

/** One call of the account; NOT_FOUND, or CALL_PURGED (410) once its retention ended. */
export async function getCall(db: Db, accountId: string, callId: string): Promise<CallRow> {
  return assertCallPresent(await findCall(db, accountId, callId));
}

/** The same as getCall, with the call's row locked for the caller's transaction. */
export async function getLockedCall(tx: Db, accountId: string, callId: string): Promise<CallRow> {
  return assertCallPresent(await lockCall(tx, accountId, callId));
}

function assertCallPresent(call: CallRow | undefined): CallRow {
  if (!call) throw new AppError("NOT_FOUND", "Call not found.");
  if (call.purgedAt) {
    throw new AppError(
      "CALL_PURGED",
      `The call's recording, transcript and analyses were deleted on ${call.purgedAt.toISOString()} when its retention ended.`,
    );
  }
  return call;
}
