// The QMP client's protocol framing against a fake QEMU monitor on a unix socket.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QmpClient, QmpCommandError, QmpConnectionError } from "../../src/qemu/qmp.js";

const greeting = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 }, package: "" }, capabilities: ["oob"] } };

let server: Server | undefined;
let dir: string | undefined;

afterEach(() => {
  server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fake monitor: sends the greeting, then answers each command line with `answer`. */
function fakeMonitor(answer: (msg: { execute: string; arguments?: Record<string, unknown>; id?: string }, socket: Socket) => void): string {
  dir = mkdtempSync(join(tmpdir(), "livemig-qmp-"));
  const path = join(dir, "qmp.sock");
  server = createServer((socket) => {
    socket.write(JSON.stringify(greeting) + "\r\n");
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      let i: number;
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        answer(JSON.parse(line), socket);
      }
    });
  });
  server.listen(path);
  return path;
}

const reply = (socket: Socket, body: object) => socket.write(JSON.stringify(body) + "\r\n");

describe("QmpClient", () => {
  it("reads the greeting, negotiates, and matches replies to commands by id", async () => {
    const seen: string[] = [];
    const path = fakeMonitor((msg, socket) => {
      seen.push(msg.execute);
      if (msg.execute === "query-status") {
        // An event arrives between the command and its reply; replies may come in split chunks.
        reply(socket, { event: "STOP", timestamp: { seconds: 1, microseconds: 2 } });
        const text = JSON.stringify({ return: { running: true, status: "running" }, id: msg.id });
        socket.write(text.slice(0, 10));
        setTimeout(() => socket.write(text.slice(10) + "\r\n"), 10);
      } else {
        reply(socket, { return: {}, id: msg.id });
      }
    });
    const { client, greeting: g } = await QmpClient.connect(path, { timeoutMs: 2000 });
    const events: string[] = [];
    client.onEvent((e) => events.push(e.event));
    expect(g.version.qemu.major).toBe(7);
    const status = await client.execute<{ running: boolean }>("query-status");
    expect(status.running).toBe(true);
    expect(events).toEqual(["STOP"]);
    expect(seen).toEqual(["qmp_capabilities", "query-status"]);
    client.disconnect();
  });

  it("turns an error reply into a typed QmpCommandError", async () => {
    const path = fakeMonitor((msg, socket) => {
      if (msg.execute === "migrate") reply(socket, { error: { class: "GenericError", desc: "Failed to connect" }, id: msg.id });
      else reply(socket, { return: {}, id: msg.id });
    });
    const { client } = await QmpClient.connect(path);
    const failure = client.execute("migrate", { uri: "tcp:127.0.0.1:1" });
    await expect(failure).rejects.toBeInstanceOf(QmpCommandError);
    await expect(failure).rejects.toMatchObject({ errorClass: "GenericError", desc: "Failed to connect", command: "migrate" });
    client.disconnect();
  });

  it("rejects pending commands when QEMU goes away", async () => {
    const path = fakeMonitor((msg, socket) => {
      if (msg.execute === "quit") socket.destroy();
      else reply(socket, { return: {}, id: msg.id });
    });
    const { client } = await QmpClient.connect(path);
    await expect(client.execute("quit")).rejects.toBeInstanceOf(QmpConnectionError);
    await expect(client.execute("query-status")).rejects.toBeInstanceOf(QmpConnectionError);
  });

  it("gives up on a monitor socket that never appears", async () => {
    dir = mkdtempSync(join(tmpdir(), "livemig-qmp-"));
    await expect(QmpClient.connect(join(dir, "missing.sock"), { timeoutMs: 200 })).rejects.toThrow(/did not open its monitor socket/);
  });

  it("waits for a named event", async () => {
    const path = fakeMonitor((msg, socket) => {
      reply(socket, { return: {}, id: msg.id });
      if (msg.execute === "migrate") {
        reply(socket, { event: "MIGRATION", data: { status: "active" } });
        reply(socket, { event: "MIGRATION", data: { status: "completed" } });
      }
    });
    const { client } = await QmpClient.connect(path);
    const done = client.waitForEvent("MIGRATION", 2000, (e) => e.data?.status === "completed");
    await client.execute("migrate");
    expect((await done).data?.status).toBe("completed");
    client.disconnect();
  });
});
