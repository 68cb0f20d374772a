// Human-readable quantities, for messages and tables.

/** "10.53 GiB"; with `trim`, no trailing zeros ("32 MiB", "1.5 GiB"), as a control shows a size. */
export function formatBytes(n: number, trim = false): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  const digits = n.toFixed(i === 0 ? 0 : 2);
  return `${trim ? String(Number(digits)) : digits} ${units[i]}`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "-";
  return Math.abs(ms) >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
