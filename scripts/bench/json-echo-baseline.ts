// The ingest bench's baseline: the least an Express 5 JSON endpoint can do (parse the body, answer it).
// It runs in the bench's process, as the API does, so both share the load generator's CPU alike.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";

export interface JsonEcho {
  url: string;
  close(): Promise<void>;
}

export async function startJsonEcho(): Promise<JsonEcho> {
  const app = express();
  app.use(express.json());
  app.post("/echo", (req, res) => {
    res.json(req.body);
  });
  const server: Server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
