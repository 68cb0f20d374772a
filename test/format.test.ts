// src/core/format.ts's quantities for messages and tables, worked out by hand: each binary unit
// at its boundary, two decimals from KiB up, none for bytes; with trim, no trailing zeros.

import { describe, expect, it } from "vitest";
import { formatBytes, formatMs } from "../src/core/format.js";

describe("formatBytes", () => {
  it("picks the largest unit the size reaches, from B to TiB, with two decimals from KiB up", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.00 KiB");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(2 ** 20 - 1)).toBe("1024.00 KiB"); // 1023.999 KiB rounds up, still in KiB
    expect(formatBytes(64 * 2 ** 20)).toBe("64.00 MiB");
    expect(formatBytes(10.53 * 2 ** 30)).toBe("10.53 GiB");
    expect(formatBytes(3 * 2 ** 40)).toBe("3.00 TiB");
    // TiB is the last unit: 2048 TiB stays in it.
    expect(formatBytes(2 ** 51)).toBe("2048.00 TiB");
    // A negative size is scaled by its magnitude.
    expect(formatBytes(-2048)).toBe("-2.00 KiB");
  });

  it("with trim: no trailing zeros", () => {
    expect(formatBytes(32 * 2 ** 20, true)).toBe("32 MiB");
    expect(formatBytes(1.5 * 2 ** 30, true)).toBe("1.5 GiB");
    expect(formatBytes(100, true)).toBe("100 B");
  });
});

describe("formatMs", () => {
  it("milliseconds to one decimal below a second, seconds to two from one on; - for none", () => {
    expect(formatMs(undefined)).toBe("-");
    expect(formatMs(0)).toBe("0.0 ms");
    expect(formatMs(999.94)).toBe("999.9 ms");
    expect(formatMs(1000)).toBe("1.00 s");
    expect(formatMs(-1500)).toBe("-1.50 s");
    expect(formatMs(-20)).toBe("-20.0 ms");
  });
});
