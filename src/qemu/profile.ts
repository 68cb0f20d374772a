// Machine profiles: the file `livemig calibrate` writes and `simulate --profile` reads.
// Physical terms only, so a profile fitted on idle guests also holds for busy ones:
// - pageReadBytesPerSecond: every page is read and zero-checked (4 KiB); this is all a zero
//   page costs (its 9 wire bytes aside);
// - copyBytesPerSecond: the stream a normal page's 4105 bytes go through (copy, socket,
//   destination load) on top of its read;
// - firstTouchUsPerPage: a page's first arrival at a destination that did not preallocate
//   its RAM (fault in and zero fresh memory); absent when the runs had no such destination;
// - sourceFirstReadUsPerPage: the source's first read of a page the guest never touched, on a
//   host where that read populates memory (no shared zero page); absent where a zero page
//   costs less than a normal one;
// - destinationFirstReadUsPerPage: what the destination's zero check of a zero page adds on its
//   first arrival at a destination that did not preallocate, on such a host (the check reads
//   the page and so populates it); absent where the runs cannot tell it;
// - setupMs, switchoverMs: fixed costs before the first pass and inside the downtime;
// - multifdQueueUsPerPage, multifdSendBytesPerSecond: multifd's split of that work, the
//   migration thread's walk and queueing per page and one channel's send rate (fitted from
//   idle one-channel multifd runs, src/qemu/calibrate-multifd.ts); hostCores, the cores the
//   threads shared there;
// - socketBufferBytes: what one TCP stream holds in flight at most (tcp_wmem + tcp_rmem
//   maxima of the calibrating machine); post-copy's requested pages without preempt wait
//   behind it;
// - laggingBufferBytes: what the socket buffers hold while the destination is the slower end
//   (tcp_wmem maximum + tcp_rmem default): its backlog at the switch-over is at most that;
// - qemu: the QEMU release the runs were made with (the simulator then follows its iteration
//   cadence);
// - cpuWaitShare: informative, the share of a run the calibrating runs' bottleneck migration
//   thread waited for a CPU (their median): the per-page costs hold at that load, each run's
//   intervals brought to it before fitting.
// `livemig calibrate` fits the per-page costs from the query-migrate polls of idle runs;
// `fitted` says, per figure, what it came from.

import { readFileSync, writeFileSync } from "node:fs";
import { stringify, parse } from "yaml";
import * as z from "../zod.js";
import type { MachineProfile } from "../sim/simulate.js";
import type { Figure } from "./calibrate.js";
import { fileProblem } from "../cli/errors.js";

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProfileError";
  }
}

// zod 4 numbers are finite.
const positive = z.number().check(z.positive());
const nonNegative = z.number().check(z.nonnegative());

export const profileSchema = z.strictObject({
  /** Where and from what it was fitted; informative. */
  machine: z.optional(z.string()),
  fittedFrom: z.optional(z.array(z.string())),
  fitted: z.optional(z.array(z.string())),
  pageReadBytesPerSecond: z.optional(positive),
  copyBytesPerSecond: z.optional(positive),
  firstTouchUsPerPage: z.optional(nonNegative),
  sourceFirstReadUsPerPage: z.optional(nonNegative),
  destinationFirstReadUsPerPage: z.optional(nonNegative),
  idleLayout: z.optional(z.array(nonNegative).check(z.minLength(1))),
  setupMs: z.optional(nonNegative),
  switchoverMs: z.optional(nonNegative),
  /** Cores the migration's threads may use (multifd); calibrate writes its machine's with multifd runs. */
  hostCores: z.optional(z.int().check(z.minimum(1), z.maximum(4096))),
  multifdQueueUsPerPage: z.optional(nonNegative),
  multifdSendBytesPerSecond: z.optional(positive),
  socketBufferBytes: z.optional(positive),
  laggingBufferBytes: z.optional(positive),
  qemu: z.optional(z.string().check(z.regex(/^\d+\.\d+(\.\d+)?$/))),
  cpuWaitShare: z.optional(z.number().check(z.gte(0), z.lt(1))),
});

export type ProfileFile = z.infer<typeof profileSchema>;

export function readProfile(file: string): MachineProfile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ProfileError(`${file}: cannot read the profile (${fileProblem(e)})`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new ProfileError(`${file}: not YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "(top level)";
    const what = issue.code === "unrecognized_keys" ? `unknown key(s) ${issue.keys.join(", ")}` : issue.message;
    throw new ProfileError(`${file}: ${field}: ${what} (expected pageReadBytesPerSecond, copyBytesPerSecond, firstTouchUsPerPage, sourceFirstReadUsPerPage, destinationFirstReadUsPerPage, idleLayout, setupMs, switchoverMs, hostCores, multifdQueueUsPerPage, multifdSendBytesPerSecond, socketBufferBytes, laggingBufferBytes, qemu, cpuWaitShare)`);
  }
  // The schema is strict: besides the informative fields, exactly MachineProfile's.
  const { machine: _machine, fittedFrom: _fittedFrom, fitted: _fitted, ...profile } = parsed.data;
  return profile;
}

export function writeProfile(file: string, profile: MachineProfile, about: { machine: string; fittedFrom: string[]; figures?: Figure[] }): void {
  const body: ProfileFile = { machine: about.machine, fittedFrom: about.fittedFrom, ...(about.figures ? { fitted: about.figures.map(figureLine) } : {}), ...roundProfile(profile) };
  const header = "# livemig machine profile, fitted by `livemig calibrate` from idle QEMU runs.\n# Use: livemig simulate SCENARIO --profile THIS_FILE\n";
  writeFileSync(file, header + stringify(body));
}

function roundProfile(p: MachineProfile): MachineProfile {
  const out: MachineProfile = { ...p };
  const to = (x: number | undefined, places: number) => (x === undefined ? undefined : Math.round(x * 10 ** places) / 10 ** places);
  for (const k of ["pageReadBytesPerSecond", "copyBytesPerSecond", "multifdSendBytesPerSecond"] as const) if (p[k] !== undefined) out[k] = to(p[k], 0);
  for (const k of ["firstTouchUsPerPage", "sourceFirstReadUsPerPage", "destinationFirstReadUsPerPage", "setupMs", "switchoverMs", "multifdQueueUsPerPage"] as const) if (p[k] !== undefined) out[k] = to(p[k], 3);
  if (p.cpuWaitShare !== undefined) out.cpuWaitShare = to(p.cpuWaitShare, 4);
  if (p.idleLayout !== undefined) out.idleLayout = p.idleLayout.map((x) => to(x, 4)!);
  return out;
}

/** One fitted figure and its support, as calibrate prints it and the profile file keeps it. */
export function figureLine(f: Figure): string {
  const value = f.unit === "ms" ? f.value.toFixed(1) : f.value.toFixed(3);
  return `${f.name}: ${value} ${f.unit} (from ${f.support} ${f.supportUnit === "runs" ? "run(s)" : "poll interval(s) where the cap did not bind"})`;
}
