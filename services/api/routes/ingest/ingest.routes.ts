import { z } from "zod";
import { assertAccountAcceptsCalls } from "../../../../shared/accounts/assert-account-accepts-calls.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { type AcceptPushDeps, acceptPush } from "../../../../shared/ingest/accept-push.ts";
import { acceptUpload } from "../../../../shared/ingest/accept-upload.ts";
import { authenticatePushSource } from "../../../../shared/ingest/authenticate-push-source.ts";
import { manualMetadataSchema } from "../../../../shared/ingest/call-metadata.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { discardUpload, receiveMultipart } from "../../http/multipart.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import {
  parseMetadata,
  pushReport,
  type ReceivedPush,
  receivePush,
  refuseUnread,
  startSignatureCheck,
} from "./push-request.ts";

const ingestResult = z.object({ callId: z.uuid(), status: z.string(), duplicate: z.boolean() });

export function ingestRoutes(deps: ApiDeps): AnyRoute[] {
  const ingestDeps: AcceptPushDeps = {
    ...deps,
    limits: deps.config.limits,
    allowPrivateAddresses: deps.config.env !== "production",
  };

  return [
    defineRoute({
      method: "post",
      path: "/api/v1/ingest/{token}/calls",
      summary: "Push one finished call: a multipart recording with metadata, or JSON with a recordingUrl.",
      tag: "ingest",
      access: "token",
      params: z.object({ token: z.string().min(1).max(200) }),
      rawBody: {
        contentType: "multipart/form-data",
        description: "fields: recording (file), metadata (JSON string)",
      },
      responses: {
        202: { description: "Accepted", schema: ingestResult },
        200: { description: "Duplicate externalId: the existing call", schema: ingestResult },
        400: {
          description: "Metadata missing or invalid, no recording, malformed multipart or bad recordingUrl",
        },
        401: { description: "Bad token or signature" },
        403: { description: "The source is disabled, or the account is blocked" },
        408: { description: "The body stalled" },
        409: { description: "The account is closed, scheduled for deletion or has processing blocked" },
        413: { description: "Too large" },
        415: { description: "Neither multipart/form-data nor JSON with a recordingUrl" },
        422: { description: "Not readable audio, or longer than the limit" },
        429: { description: "Too many uploads a minute, or downloads at once, for this account" },
      },
      handler: async ({ req, params, log }) => {
        const startedAt = performance.now();
        const { source, account } = await refuseUnread(req, () =>
          authenticatePushSource(deps.database.db, params.token),
        );
        const signature = source.requireSignature ? startSignatureCheck(req, source, deps) : undefined;
        const pushLog = log.child({ sourceId: source.id, accountId: source.accountId });
        const report = pushReport(deps.metrics, pushLog, source.kind, startedAt);
        let push: ReceivedPush | undefined;
        try {
          push = await receivePush(req, signature, deps);
          const outcome = await acceptPush(
            { ...ingestDeps, logger: pushLog },
            { source, account, metadata: push.metadata, recording: push.recording },
          );
          report.accepted(outcome, push.recording);
          return { status: outcome.duplicate ? 200 : 202, body: outcome };
        } catch (error) {
          report.refused(error);
          throw error;
        } finally {
          await push?.discard();
        }
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/calls",
      summary: "Upload a recording by hand (multipart: recording, metadata).",
      tag: "calls",
      access: ["owner", "manager"],
      rawBody: {
        contentType: "multipart/form-data",
        description: "fields: recording (file), metadata (JSON string, optional)",
      },
      responses: {
        202: { description: "Accepted", schema: z.object({ callId: z.uuid(), status: z.string() }) },
        400: { description: "Metadata invalid, no recording, or malformed multipart" },
        403: { description: "The account is blocked" },
        408: { description: "The body stalled" },
        409: { description: "The account is closed, scheduled for deletion or has processing blocked" },
        413: { description: "Too large" },
        415: { description: "Not multipart/form-data" },
        422: { description: "Not readable audio, or longer than the limit" },
        429: { description: "Too many uploads a minute for this account" },
      },
      handler: async ({ req, auth }) => {
        await refuseUnread(req, () => assertAccountAcceptsCalls(auth.account));
        const upload = await receiveMultipart(req, {
          fileField: "recording",
          maxFileBytes: deps.config.limits.maxUploadBytes,
          scratchDir: deps.scratchDir,
        });
        try {
          const metadata =
            upload.fields.metadata === undefined
              ? {}
              : parseMetadata(manualMetadataSchema, upload.fields.metadata);
          if (!upload.file) throw new AppError("VALIDATION_FAILED", "The `recording` file is missing.");
          const outcome = await acceptUpload(ingestDeps, {
            account: auth.account,
            metadata,
            file: upload.file,
          });
          return { status: 202, body: { callId: outcome.callId, status: outcome.status } };
        } finally {
          await discardUpload(upload);
        }
      },
    }),
  ];
}
