// What the frame integrity (src/live/integrity.ts) costs on the migration stream: 1 MiB
// Memory frames (one controller slice each, sent as the RAM stream sends them) from this process to a receiver process over loopback TCP, as raw
// socket writes, as untagged frames, and as tagged frames (the protocol after its handshake).
// Each is timed from the first write to the receiver's answer after the last byte.
//
//   npm run build && flock /tmp/livemig-measure.lock node dist/bench/stream.js [MiB] [repeats]

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Connection } from "../src/live/connection.js";
import { frameMacs } from "../src/live/integrity.js";
import { Command } from "../src/live/protocol.js";

type Kind = "raw" | "frames" | "tagged";
const frameBytes = 1 << 20;
const secret = Buffer.from("bench-secret");
const nonces = [Buffer.alloc(16, 1), Buffer.alloc(16, 2)] as const;

/** The receiver's CPU time (ms) so far, on its stdout, for the sender to read. */
function reportCpu(): void {
  const c = process.cpuUsage();
  process.stdout.write(`cpu ${(c.user + c.system) / 1000}\n`);
}

/** The receiving process: reads `total` bytes of payload, then answers. */
function sink(kind: Kind, total: number): void {
  const server = createServer((socket: Socket) => {
    if (kind === "raw") {
      let got = 0;
      socket.on("data", (d: Buffer) => {
        got += d.length;
        if (got >= total) {
          reportCpu();
          socket.end(Buffer.of(1));
        }
      });
      return;
    }
    const conn = new Connection(socket, "bench source");
    if (kind === "tagged") conn.secure(frameMacs(secret, nonces[0], nonces[1], "destination"));
    void (async () => {
      for (;;) {
        const f = await conn.next();
        if (f.type === Command.Sync) {
          reportCpu();
          conn.reply(f.id);
          return;
        }
      }
    })();
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

/** Throughput (MiB/s) and CPU time of both processes per GiB moved (ms). */
async function once(kind: Kind, total: number): Promise<{ rate: number; cpu: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "sink", kind, String(total)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((r) => child.stdout!.once("data", (d) => r(Number(String(d).trim()))));
  const socket = connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  const receiverCpu = new Promise<number>((r) => child.stdout!.on("data", (d) => {
    const m = /cpu ([\d.]+)/.exec(String(d));
    if (m) r(Number(m[1]));
  }));
  const payload = randomBytes(frameBytes);
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  if (kind === "raw") {
    const done = new Promise((r) => socket.once("data", r));
    for (let sent = 0; sent < total; sent += frameBytes) {
      if (!socket.write(payload)) await new Promise((r) => socket.once("drain", r));
    }
    await done;
  } else {
    const conn = new Connection(socket, "bench destination");
    if (kind === "tagged") conn.secure(frameMacs(secret, nonces[0], nonces[1], "source"));
    // As the RAM stream sends: the payload as chunks, staged and sealed by the link (sendFrames).
    for (let sent = 0; sent < total; sent += frameBytes) await conn.sendFrames(Command.Memory, [[payload]], frameBytes);
    await conn.request(Command.Sync);
    conn.close();
  }
  const ms = performance.now() - t;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1000 + (await receiverCpu);
  socket.destroy();
  child.kill();
  return { rate: total / 2 ** 20 / (ms / 1000), cpu: cpu / (total / 2 ** 30) };
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 1024);
  const repeats = Number(process.argv[3] ?? 3);
  const total = mib * 2 ** 20;
  const rows: Record<Kind, { rate: number; cpu: number }[]> = { raw: [], frames: [], tagged: [] };
  for (let i = 0; i < repeats; i++) for (const kind of ["raw", "frames", "tagged"] as const) rows[kind].push(await once(kind, total));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const kind of ["raw", "frames", "tagged"] as const) {
    const rates = rows[kind].map((x) => x.rate);
    const cpu = median(rows[kind].map((x) => x.cpu));
    process.stdout.write(
      `${kind.padEnd(7)} ${median(rates).toFixed(0).padStart(6)} MiB/s, ${cpu.toFixed(0)} ms CPU per GiB (both processes; median of ${repeats}: ${rates.map((x) => x.toFixed(0)).join(" ")} MiB/s)\n`,
    );
  }
}

if (process.argv[2] === "sink") sink(process.argv[3] as Kind, Number(process.argv[4]));
else void main();
