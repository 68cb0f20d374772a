// QEMU's "log" trace backend, as written to stderr or the -D file:
//   9585@1676093788.259201:vhost_vdpa_suspend dev: 0x55a5a77cec20    (-msg timestamp=on, to mid 2025)
//   2025-07-21T18:43:28.089797Z vhost_vdpa_suspend dev: 0x55a5a77cec20 (-msg timestamp=on, later)
//   vhost_vdpa_suspend dev: 0x55a5a77cec20                           (no timestamps)
// Lines that are not trace records (QEMU warnings, shell noise) are skipped with a warning;
// a record cut in two by a wrap is joined back, two records glued together are split.

import { decodeEvent, formatsOf, isKnownEvent, type Decoded } from "./trace-events.js";
import { error, excerpt, warning, type Parsed, type Problem } from "./problems.js";

export interface TraceEvent {
  /** 1-based line where the record starts. */
  line: number;
  /** Milliseconds since the Unix epoch; absent when QEMU printed no timestamp. */
  t?: number;
  /** Thread id (TID@ format) or process id (late-2025 "program(pid:thread):" context). */
  tid?: number;
  name: string;
  /** The arguments exactly as printed. */
  args: string;
  /** Typed fields, when the event is one livemig knows and its arguments match its format. */
  decoded?: Decoded;
}

export type TimestampStyle = "tid@sec.usec" | "iso-8601" | "none";

export interface Trace {
  events: TraceEvent[];
  /** The timestamp styles seen, in order of first appearance. */
  styles: TimestampStyle[];
}

const TID_STAMP = /^(\d{1,10})@(\d{1,12})\.(\d{1,9}):/;
const ISO_STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2}) /;
// A message-context series of late 2025 lets qemu_log add "[workload] program(pid:thread): ".
const CONTEXT = /^(?:\[[^\]\n]*\] )?[\w.+-]+(?:\((\d+):[^)\n]*\))?: (?:\((\d+):[^)\n]*\): )?/;
// Trace event names are lower case with at least one underscore; this keeps prose out.
const EVENT = /^([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?: (.*))?$/;
// Where a second record starts inside a line (a lost newline).
const GLUED = /(?<=\S)(?=\d{1,10}@\d{1,12}\.\d{6}:[a-z]|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z [a-z])/;

const EXPECTED_STAMP = 'a timestamp "TID@SEC.USEC:" (6 digits of microseconds) or "YYYY-MM-DDTHH:MM:SS.ffffffZ "';

interface Stamp {
  t?: number;
  tid?: number;
  style: TimestampStyle;
  rest: string;
}

type StampResult = { ok: true; stamp: Stamp } | { ok: false; message: string };

function readStamp(text: string): StampResult {
  const tid = TID_STAMP.exec(text);
  if (tid) {
    if (tid[3].length !== 6) return { ok: false, message: `expected ${EXPECTED_STAMP}, got ${excerpt(tid[0])}` };
    return {
      ok: true,
      stamp: { t: Number(tid[2]) * 1000 + Number(tid[3]) / 1000, tid: Number(tid[1]), style: "tid@sec.usec", rest: text.slice(tid[0].length) },
    };
  }
  const iso = ISO_STAMP.exec(text);
  if (iso) {
    const t = isoMillis(iso);
    if (t === undefined) return { ok: false, message: `expected ${EXPECTED_STAMP}, got the impossible date ${excerpt(iso[0].trim())}` };
    return { ok: true, stamp: { t, style: "iso-8601", rest: text.slice(iso[0].length) } };
  }
  return { ok: true, stamp: { style: "none", rest: text } };
}

function isoMillis(m: RegExpExecArray): number | undefined {
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const base = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(base);
  // Date.UTC rolls 2025-13-40 over into 2026; a real timestamp survives the round trip.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) return undefined;
  const fraction = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  let offset = 0;
  if (m[8] !== "Z") {
    const [, sign, oh, om] = /^([+-])(\d{2}):?(\d{2})$/.exec(m[8]) ?? [];
    offset = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  }
  return base + fraction - offset;
}

interface Body {
  name: string;
  args: string;
  pid?: number;
}

function readBody(rest: string): Body | undefined {
  let text = rest;
  let pid: number | undefined;
  const context = CONTEXT.exec(text);
  if (context && !EVENT.test(text)) {
    pid = context[1] !== undefined ? Number(context[1]) : context[2] !== undefined ? Number(context[2]) : undefined;
    text = text.slice(context[0].length);
  }
  const m = EVENT.exec(text);
  if (!m) return undefined;
  return { name: m[1], args: m[2] ?? "", pid };
}

/** Splits text into physical lines, then splits lines that hold two glued records. */
function pieces(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // Look for a second record only after this line's own timestamp.
    const own = (TID_STAMP.exec(line) ?? ISO_STAMP.exec(line))?.[0].length ?? 0;
    const parts = line.slice(own).split(GLUED);
    parts[0] = line.slice(0, own) + parts[0];
    for (const part of parts) out.push({ line: i + 1, text: part });
  });
  return out;
}

export function parseTrace(text: string): Parsed<Trace> {
  const events: TraceEvent[] = [];
  const problems: Problem[] = [];
  const styles: TimestampStyle[] = [];
  // The record on the line before, kept so that a wrapped tail can be joined to it. `event` is
  // absent when that line had a timestamp but no readable event name (cut inside the name).
  let previous: { line: number; stamp: Stamp; event?: TraceEvent } | undefined;

  for (const { line, text: piece } of pieces(text)) {
    if (piece.trim() === "") {
      previous = undefined;
      continue;
    }
    if (piece.includes("\0")) {
      problems.push(error(line, "binary data: expected a text trace from QEMU's log backend (a simpletrace file needs scripts/simpletrace.py first)"));
      previous = undefined;
      continue;
    }
    const stamped = readStamp(piece);
    if (!stamped.ok) {
      problems.push(error(line, stamped.message));
      previous = undefined;
      continue;
    }
    const stamp = stamped.stamp;

    // A line without a timestamp right after a record that did not decode may be its tail.
    if (stamp.style === "none" && previous && previous.line === line - 1 && !previous.event?.decoded) {
      const joined = joinWrapped(previous.stamp.rest, piece);
      if (joined) {
        const first = previous.event?.line ?? previous.line;
        const event = previous.event ?? newEvent(first, previous.stamp, joined.body);
        if (!previous.event) {
          events.push(event);
          dropProblem(problems, first, NO_EVENT);
          noteStyle(styles, previous.stamp.style);
        }
        Object.assign(event, { name: joined.body.name, args: joined.body.args, decoded: joined.decoded });
        dropProblem(problems, first, ARGUMENTS);
        problems.push(warning(line, `continues the record of line ${first} (a wrapped line, joined)`));
        previous = { line, stamp: { ...previous.stamp, rest: joined.text }, event };
        continue;
      }
    }

    const body = readBody(stamp.rest);
    if (!body) {
      if (stamp.style === "none") {
        problems.push(warning(line, `not a trace record, skipped: ${excerpt(piece)}`));
        previous = undefined;
      } else {
        problems.push(warning(line, `${NO_EVENT}, skipped: ${excerpt(piece)}`));
        previous = { line, stamp };
      }
      continue;
    }
    noteStyle(styles, stamp.style);
    if (stamp.style === "none") problems.push(warning(line, "no timestamp: run QEMU with -msg timestamp=on to measure times"));

    const event = newEvent(line, stamp, body);
    if (isKnownEvent(body.name)) {
      const decoded = decodeEvent(body.name, body.args);
      if (decoded) event.decoded = decoded;
      else problems.push(argumentWarning(line, body.name, body.args));
    }
    events.push(event);
    previous = { line, stamp, event };
  }

  if (events.length === 0 && !problems.some((p) => p.severity === "error")) {
    problems.push(error(0, "no QEMU trace records: expected lines like 'TID@SEC.USEC:event args' from QEMU's log trace backend"));
  }
  return { value: { events, styles }, problems };
}

function newEvent(line: number, stamp: Stamp, body: Body): TraceEvent {
  const event: TraceEvent = { line, name: body.name, args: body.args };
  if (stamp.t !== undefined) event.t = stamp.t;
  const tid = stamp.tid ?? body.pid;
  if (tid !== undefined) event.tid = tid;
  return event;
}

function noteStyle(styles: TimestampStyle[], style: TimestampStyle): void {
  if (!styles.includes(style)) styles.push(style);
}

const NO_EVENT = "timestamp without an event name";
const ARGUMENTS = "arguments do not match";

function argumentWarning(line: number, name: string, args: string): Problem {
  const formats = isKnownEvent(name) ? formatsOf(name).map((f) => JSON.stringify(f.trim())).join(" or ") : "";
  return warning(line, `${ARGUMENTS} ${name} ${formats} (truncated line?), kept undecoded: ${excerpt(args)}`);
}

function dropProblem(problems: Problem[], line: number, prefix: string): void {
  const i = problems.findIndex((p) => p.line === line && p.message.startsWith(prefix));
  if (i >= 0) problems.splice(i, 1);
}

/** Joins a record's text with the next line, with or without a space, if that decodes. */
function joinWrapped(head: string, tail: string): { body: Body; decoded: Decoded; text: string } | undefined {
  for (const text of [head + tail, `${head} ${tail.trimStart()}`]) {
    const body = readBody(text);
    if (!body || !isKnownEvent(body.name)) continue;
    const decoded = decodeEvent(body.name, body.args);
    if (decoded) return { body, decoded, text };
  }
  return undefined;
}
