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

export async function startLocalDestination(host = "127.0.0.1"): Promise<LocalDestination> {
  // A secret file holds text; both sides use its bytes, trimmed (see readSecretFile).
  const secret = Buffer.from(randomBytes(32).toString("hex"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "livemig-"));
  const secretFile = join(dir, "secret");
  writeFileSync(secretFile, secret, { mode: 0o600 });
  const child: ChildProcess = spawn(process.execPath, [mainJs, "dest", "--listen", `${host}:0`, "--secret-file", secretFile, "--once"], {
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
    return { address: { host, port }, secret, exited, stop: () => child.kill() };
  } finally {
    rmSync(dir, { recursive: true, force: true }); // read at start-up; no longer needed
  }
}
