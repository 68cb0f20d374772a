// Quantities with units, as scenario files write them. Each parser returns a number in
// livemig's base unit (bytes, bytes/s, ms, frames/s) or an error message saying what was expected.

export type Parsed = { ok: true; value: number } | { ok: false; expected: string };

const sizeUnits: Record<string, number> = {
  B: 1,
  KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40,
  KB: 1e3, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
};

const decimalPrefix: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

const timeUnits: Record<string, number> = { us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, min: 60000 };

const numberWithUnit = /^\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*([A-Za-zµ/]*)\s*$/;

function split(input: unknown): { n: number; unit: string } | undefined {
  if (typeof input === "number") return Number.isFinite(input) ? { n: input, unit: "" } : undefined;
  if (typeof input !== "string") return undefined;
  const m = numberWithUnit.exec(input);
  // "1e400s" matches the pattern but is no number a duration can be.
  return m && Number.isFinite(Number(m[1])) ? { n: Number(m[1]), unit: m[2] } : undefined;
}

/** Sizes: B, KiB..TiB (powers of two), KB..TB (powers of ten). A bare 0 is allowed. */
export function parseSize(input: unknown): Parsed {
  const expected = 'a size such as "4GiB", "512MiB" or "1500B"';
  const q = split(input);
  if (!q) return { ok: false, expected };
  if (q.unit === "") return q.n === 0 ? { ok: true, value: 0 } : { ok: false, expected: `${expected} (a unit is required)` };
  const f = sizeUnits[q.unit];
  if (f) return { ok: true, value: Math.round(q.n * f) };
  // QEMU's -m 16G means GiB, but livemig's GB is 10^9 bytes: the bare letter is refused, with both readings.
  if (q.unit in decimalPrefix) return { ok: false, expected: `${expected}; "${q.unit}" alone is ambiguous here: write ${q.n}${q.unit.toUpperCase()}iB (QEMU's -m ${q.n}${q.unit}, powers of two) or ${q.n}${q.unit}B (powers of ten)` };
  return { ok: false, expected };
}

/**
 * Bandwidths, in bytes per second: bit forms "10Gbit/s", "10Gbps" (powers of ten) and byte
 * forms "128MiB/s", "1GB/s". "Gb/s" is rejected: b for bit or B for byte is too easy to misread.
 */
export function parseBandwidth(input: unknown): Parsed {
  const expected = 'a bandwidth such as "10Gbit/s", "1Gbps" or "128MiB/s"';
  const q = split(input);
  if (!q) return { ok: false, expected };
  if (q.unit === "") return q.n === 0 ? { ok: true, value: 0 } : { ok: false, expected: `${expected} (a unit is required)` };
  const bits = /^([kKMGT]?)(bit\/s|bps)$/.exec(q.unit);
  if (bits) return { ok: true, value: (q.n * decimalPrefix[bits[1]]) / 8 };
  const bytes = /^([A-Za-z]*B)\/s$/.exec(q.unit);
  if (bytes && sizeUnits[bytes[1]]) return { ok: true, value: q.n * sizeUnits[bytes[1]] };
  if (/b\/s$/.test(q.unit)) return { ok: false, expected: `${expected}; "${q.unit}" is ambiguous, write bit/s or B/s` };
  return { ok: false, expected };
}

/** Durations, in milliseconds: us, ms, s, min. A bare 0 is allowed. */
export function parseDuration(input: unknown): Parsed {
  const expected = 'a duration such as "300ms", "2s" or "100us"';
  const q = split(input);
  if (!q) return { ok: false, expected };
  if (q.unit === "") return q.n === 0 ? { ok: true, value: 0 } : { ok: false, expected: `${expected} (a unit is required)` };
  const f = timeUnits[q.unit];
  return f ? { ok: true, value: q.n * f } : { ok: false, expected };
}

/** Packet rates, in frames per second: "50kpps", "1Mpps", "2000pps", or a bare number. */
export function parsePacketRate(input: unknown): Parsed {
  const expected = 'a packet rate such as "50kpps" or 2000';
  const q = split(input);
  if (!q) return { ok: false, expected };
  if (q.unit === "") return { ok: true, value: q.n };
  const m = /^([kKMG]?)pps$/.exec(q.unit);
  return m ? { ok: true, value: q.n * decimalPrefix[m[1]] } : { ok: false, expected };
}
