import type { Caller } from "../../../shared/accounts/caller.ts";
import type { AuthContext } from "./route.ts";

type ClientRequest = { ip?: string | undefined; socket: { remoteAddress?: string | undefined } };

/** Express resolves `req.ip` through TRUST_PROXY, so behind a load balancer this is the client's address. */
export const clientAddress = (req: ClientRequest) => req.ip ?? req.socket.remoteAddress ?? "unknown";

/** The signed-in caller of an operation, with the client's address for its audit entries. */
export const callerOf = (auth: AuthContext, req: ClientRequest): Caller => ({
  user: auth.user,
  account: auth.account,
  ip: clientAddress(req),
});
