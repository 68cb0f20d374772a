// The destination `run` starts on loopback: `livemig dest` in a process of its own, with a
// fresh secret handed over in a private file.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface LocalDestination {
  address: { host: string; port: number };
  secret: Buffer;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  stop(): void;
}

const mainJs = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** After SIGTERM, how long the destination has to exit before SIGKILL (a stopped one never would). */
const killAfterMs = 2000;

export async function startLocalDestination(host = "127.0.0.1", peerTimeoutMs?: number): Promise<LocalDestination> {
  // A secret file holds text; both sides use its bytes, trimmed (see readSecretFile).
  const secret = Buffer.from(randomBytes(32).toString("hex"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "livemig-"));
  const secretFile = join(dir, "secret");
  writeFileSync(secretFile, secret, { mode: 0o600 });
  const child: ChildProcess = spawn(process.execPath, [
    mainJs, "dest", "--listen", `${host}:0`, "--secret-file", secretFile, "--once",
    ...(peerTimeoutMs !== undefined ? ["--peer-timeout", String(peerTimeoutMs / 1000)] : []),
  ], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /listening on .*:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`the local destination exited (${code}) before listening: ${stderr.trim()}`)));
    });
    const stop = () => {
      child.kill();
      const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      void exited.then(() => clearTimeout(timer));
    };
    return { address: { host, port }, secret, exited, stop };
  } finally {
    rmSync(dir, { recursive: true, force: true }); // read at start-up; no longer needed
  }
}
