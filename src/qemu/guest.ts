// The test guest: a stock Debian kernel and a busybox initramfs with livemig's workload
// program (guest/). Built by guest/build.sh into a project-local cache, keyed by a hash of
// its inputs, so a change to the program, the script or busybox rebuilds it.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../project-root.js";

export interface GuestImage {
  kernel: string;
  initrd: string;
  /** The hash of the inputs it was built from. */
  key: string;
}

export class GuestBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuestBuildError";
  }
}

/** What the build reads: guest/*, the busybox binary, and an explicitly chosen kernel. */
function inputsKey(guestDir: string): string {
  const hash = createHash("sha256");
  for (const name of readdirSync(guestDir).sort()) {
    hash.update(name).update("\0").update(readFileSync(join(guestDir, name))).update("\0");
  }
  for (const busybox of ["/bin/busybox", "/usr/bin/busybox"]) {
    if (existsSync(busybox)) {
      const s = statSync(busybox);
      hash.update(`${busybox}:${s.size}:${s.mtimeMs}`);
      break;
    }
  }
  const kernel = process.env.LIVEMIG_KERNEL;
  if (kernel && existsSync(kernel)) {
    const s = statSync(kernel);
    hash.update(`kernel:${kernel}:${s.size}:${s.mtimeMs}`);
  }
  return hash.digest("hex").slice(0, 16);
}

/** The cached guest, built first if its inputs changed. */
export function ensureGuest(root = projectRoot(), log: (line: string) => void = () => {}): GuestImage {
  const guestDir = join(root, "guest");
  if (!existsSync(join(guestDir, "build.sh"))) throw new GuestBuildError(`${guestDir}/build.sh is missing`);
  const key = inputsKey(guestDir);
  const cache = join(root, ".cache", "guest");
  const out = join(cache, key);
  const image = { kernel: join(out, "vmlinuz"), initrd: join(out, "initrd.gz"), key };
  if (existsSync(image.kernel) && existsSync(image.initrd)) return image;

  log(`building the test guest (${key}) ...`);
  mkdirSync(cache, { recursive: true });
  // Build beside the final place, then rename: a build killed halfway leaves no half guest.
  const partial = `${out}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const build = spawnSync("bash", [join(guestDir, "build.sh"), partial], { encoding: "utf8" });
  if (build.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    const why = (build.stderr || build.error?.message || "").trim().split("\n").slice(-3).join("; ");
    throw new GuestBuildError(`building the test guest failed: ${why}`);
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(partial, out);
  // Older builds are of no use any more.
  for (const name of readdirSync(cache)) if (name !== key && !name.includes(".partial-")) rmSync(join(cache, name), { recursive: true, force: true });
  return image;
}
