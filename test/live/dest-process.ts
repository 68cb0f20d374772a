// `livemig dest` as a process of its own (the bundle users run), for tests that speak to it
// through the source's session: a fresh secret file, the port it listens on, its log, and a stop.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DestProcess {
  child: ChildProcess;
  address: { host: string; port: number };
  secret: Buffer;
  /** What it has logged (stderr) so far. */
  log(): string;
  stop(): void;
}

/** Starts `livemig dest --once` on loopback; resolves once it listens. */
export async function startDest(secret: string): Promise<DestProcess> {
  const secretFile = join(mkdtempSync(join(tmpdir(), "livemig-dest-")), "secret");
  writeFileSync(secretFile, secret);
  const child = spawn(process.execPath, ["dist/cli/main.js", "dest", "--listen", "127.0.0.1:0", "--secret-file", secretFile, "--once"]);
  let log = "";
  child.stderr!.on("data", (d) => (log += String(d)));
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += String(d);
      const m = /listening on .*:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`livemig dest exited (${code}) before listening: ${log}`)));
  });
  return { child, address: { host: "127.0.0.1", port }, secret: Buffer.from(secret), log: () => log, stop: () => child.kill() };
}
