import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { Request } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../../shared/errors/app-error.ts";
import { discardUpload, receiveMultipart } from "./multipart.ts";

let scratch: string;
let server: http.Server;
let url: string;

beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-multipart-"));
  server = http.createServer(async (req, res) => {
    try {
      const upload = await receiveMultipart(req as Request, {
        fileField: "recording",
        maxFileBytes: 1024 * 1024,
        scratchDir: scratch,
        idleTimeoutMs: 300,
      });
      await discardUpload(upload);
      res.writeHead(200).end("ok");
    } catch (error) {
      res.writeHead(error instanceof AppError ? 408 : 500, { connection: "close" });
      res.end(error instanceof AppError ? error.code : String(error));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fs.rm(scratch, { recursive: true, force: true });
});

describe("receiveMultipart", () => {
  it("times out a client that stalls mid-file and leaves no scratch files", async () => {
    const boundary = "b0undary";
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="recording"; filename="a.wav"\r\n\r\n`;
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request(url, {
        method: "POST",
        headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": "500000" },
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.write(head + "x".repeat(64 * 1024)); // part of the file, then nothing
    });
    expect(answer).toBe("REQUEST_TIMEOUT");
    expect(await fs.readdir(scratch)).toEqual([]);
  });
});
