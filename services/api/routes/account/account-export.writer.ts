import type { Response } from "express";
import type { AccountExport } from "../../../../shared/privacy/export-account-data.ts";
import { toInvoiceDto } from "../billing/invoices.routes.ts";
import { toCallDetail } from "../calls/calls.dto.ts";
import { toAccountSettingsDto } from "./account.dto.ts";

/**
 * Writes the export as one JSON attachment, piece by piece (waiting for the socket to drain), so that
 * neither the document nor a section is ever held in memory whole.
 */
export async function writeAccountExport(res: Response, data: AccountExport): Promise<void> {
  const write = (chunk: string) =>
    res.write(chunk) ? Promise.resolve() : new Promise<void>((resolve) => res.once("drain", resolve));
  const writeArray = async <T>(name: string, items: AsyncIterable<T>, toJson: (item: T) => unknown) => {
    await write(`,${JSON.stringify(name)}:[`);
    let first = true;
    for await (const item of items) {
      await write(`${first ? "" : ","}${JSON.stringify(toJson(item))}`);
      first = false;
    }
    await write("]");
  };
  const { account } = data;
  res.status(200);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.setHeader(
    "Content-Disposition",
    `attachment; filename="tyndau-export-${data.exportedAt.toISOString().slice(0, 10)}.json"`,
  );
  await write(`{"exportedAt":${JSON.stringify(data.exportedAt.toISOString())}`);
  await write(`,"audioLinksExpireAt":${JSON.stringify(data.audioLinksExpireAt.toISOString())}`);
  await write(`,"account":${JSON.stringify(toAccountSettingsDto(account))}`);
  const users = await data.users();
  await write(
    `,"users":${JSON.stringify(users.map((u) => ({ ...u, createdAt: u.createdAt.toISOString() })))}`,
  );
  const sources = await data.sources();
  await write(
    `,"sources":${JSON.stringify(
      sources.map((s) => ({
        id: s.id,
        name: s.name,
        kind: s.kind,
        operatorChannel: s.operatorChannel,
        requireSignature: s.requireSignature,
        createdAt: s.createdAt.toISOString(),
      })),
    )}`,
  );
  await writeArray("calls", data.calls(), ({ call, analyses, audioUrl }) => ({
    ...toCallDetail(call, analyses),
    purgedAt: call.purgedAt?.toISOString() ?? null,
    audioUrl,
  }));
  await writeArray("ledger", data.ledger(), (l) => ({
    id: l.id,
    at: l.at.toISOString(),
    type: l.type,
    amount: l.amount.toFixed(2),
    currency: account.currency,
    callId: l.callId,
    paymentId: l.paymentId,
    invoiceId: l.invoiceId,
  }));
  await writeArray("invoices", data.invoices(), toInvoiceDto);
  await write("}");
  res.end();
}
