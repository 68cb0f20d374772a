// Tells what a file is from its first lines, so `livemig analyze` takes files in any order.

export type FileKind = "trace" | "ping" | "prober" | "query-migrate" | "simulate";

export type Detection = { ok: true; kind: FileKind } | { ok: false; why: string };

const TRACE_LINE = [
  /^\d+@\d+\.\d+:[a-z][a-z0-9]*_/, // TID@SEC.USEC:event
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}) /, // ISO timestamp
  /^(?:vhost|vhost_vdpa|migrat|migrate|vmstate|savevm|loadvm|qemu_loadvm|vfio|virtio|multifd|postcopy|ram)_[a-z0-9_]+(?: |$)/,
];
const PING_LINE = [/^PING \S+/, /^(?:\[\d+(?:\.\d+)?\] )?\d+ bytes from .*?: (?:icmp_)?seq=\d+/, /^(?:\[\d+(?:\.\d+)?\] )?no answer yet for icmp_seq=/];

/** Looks at up to `scan` non-empty lines; binary content is refused. */
export function detectKind(text: string, scan = 50): Detection {
  if (text.includes("\0")) {
    return { ok: false, why: "binary file (a QEMU simpletrace? convert it with scripts/simpletrace.py, or trace with -trace ...,file= and the log backend)" };
  }
  const lines = text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "").slice(0, scan);
  if (lines.length === 0) return { ok: false, why: "empty file" };
  // Before JSON: ping -D lines start with "[" too.
  if (lines.some((l) => PING_LINE.some((p) => p.test(l)))) return { ok: true, kind: "ping" };
  const head = lines[0].trimStart();
  if (head.startsWith("{") || head.startsWith("[")) return { ok: true, kind: jsonKind(text, lines[0]) };
  if (lines.some((l) => TRACE_LINE.some((p) => p.test(l)))) return { ok: true, kind: "trace" };
  return {
    ok: false,
    why: "not a QEMU trace log, ping output, prober log (JSON lines) or query-migrate reply (JSON)",
  };
}

function jsonKind(text: string, firstLine: string): FileKind {
  const sample = firstValue(text) ?? firstValue(firstLine);
  const obj = Array.isArray(sample) ? sample[0] : sample;
  if (obj && typeof obj === "object") {
    const keys = Object.keys(obj);
    if (keys.includes("scenario") && keys.includes("runs")) return "simulate";
    if (keys.includes("seq") && keys.includes("sent")) return "prober";
    return "query-migrate";
  }
  // Unparsable: guess from the text, and let that parser say what is wrong and where.
  if (/"scenario"\s*:/.test(text) && /"runs"\s*:/.test(text)) return "simulate";
  if (/"seq"\s*:/.test(firstLine) && /"sent"\s*:/.test(firstLine)) return "prober";
  return "query-migrate";
}

function firstValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
