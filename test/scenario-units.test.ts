// Every unit form the scenario file documents (README "Scenario files"), each worked out from
// the unit's definition, and every rejection with the exact expectation it states: a mistake in
// a prefix, a regular expression or a message shows here, not only as "some error" (issue 19).
import { describe, expect, it } from "vitest";
import { parseBandwidth, parseDuration, parsePacketRate, parseSize } from "../src/scenario/units.js";

const size = 'a size such as "4GiB", "512MiB" or "1500B"';
const bandwidth = 'a bandwidth such as "10Gbit/s", "1Gbps" or "128MiB/s"';
const duration = 'a duration such as "300ms", "2s" or "100us"';
const packetRate = 'a packet rate such as "50kpps" or 2000';

const ok = (value: number) => ({ ok: true, value });
const no = (expected: string) => ({ ok: false, expected });

describe("the number before the unit", () => {
  it("decimals, exponents and spaces around it", () => {
    expect(parseSize("1.5KiB")).toEqual(ok(1536));
    expect(parseSize("2e3B")).toEqual(ok(2000));
    expect(parseSize("2e+3B")).toEqual(ok(2000));
    expect(parseDuration("5e-1s")).toEqual(ok(500));
    expect(parseSize("  4 KiB  ")).toEqual(ok(4096));
    expect(parseDuration("\t2\ts ")).toEqual(ok(2000));
  });
  it("a sign, a leading dot, a capital E, text before or after, or two numbers are refused", () => {
    for (const bad of ["-1KiB", "+1KiB", ".5KiB", "1.KiB", "1E3B", "x1KiB", "1KiB x", "1 2KiB", "1e3.5B", "1ee3B", ""]) expect(parseSize(bad)).toEqual(no(size));
  });
  it("a number too large to be finite is refused, as text or as a number", () => {
    expect(parseDuration("1e400s")).toEqual(no(duration));
    expect(parseSize(Infinity)).toEqual(no(size));
    expect(parseBandwidth(Number.NaN)).toEqual(no(bandwidth));
    expect(parsePacketRate(-Infinity)).toEqual(no(packetRate));
  });
  it("only numbers and strings are quantities", () => {
    for (const bad of [true, null, undefined, {}, [4], 4n]) {
      expect(parseSize(bad)).toEqual(no(size));
      expect(parseBandwidth(bad)).toEqual(no(bandwidth));
      expect(parseDuration(bad)).toEqual(no(duration));
      expect(parsePacketRate(bad)).toEqual(no(packetRate));
    }
  });
});

describe("sizes", () => {
  it("powers of two and of ten, each unit", () => {
    const cases: [string, number][] = [
      ["3B", 3], ["3KiB", 3 * 1024], ["3MiB", 3 * 1024 ** 2], ["3GiB", 3 * 1024 ** 3], ["3TiB", 3 * 1024 ** 4],
      ["3KB", 3000], ["3kB", 3000], ["3MB", 3e6], ["3GB", 3e9], ["3TB", 3e12],
    ];
    for (const [text, bytes] of cases) expect(parseSize(text), text).toEqual(ok(bytes));
  });
  it("whole bytes: a fraction of a byte is rounded to the nearest", () => {
    expect(parseSize("1.4B")).toEqual(ok(1));
    expect(parseSize("1.6B")).toEqual(ok(2));
    expect(parseSize("0.001KiB")).toEqual(ok(1)); // 1.024 B
  });
  it("a bare number is refused (a unit is required) except 0, as text or as a number", () => {
    expect(parseSize(0)).toEqual(ok(0));
    expect(parseSize("0")).toEqual(ok(0));
    expect(parseSize(4096)).toEqual(no(`${size} (a unit is required)`));
    expect(parseSize("12")).toEqual(no(`${size} (a unit is required)`));
  });
  it("a bare prefix letter is ambiguous: the message gives both readings", () => {
    expect(parseSize("16G")).toEqual(no(`${size}; "G" alone is ambiguous here: write 16GiB (QEMU's -m 16G, powers of two) or 16GB (powers of ten)`));
    expect(parseSize("2.5k")).toEqual(no(`${size}; "k" alone is ambiguous here: write 2.5KiB (QEMU's -m 2.5k, powers of two) or 2.5kB (powers of ten)`));
  });
  it("other units, or units in the wrong case, are refused with the forms", () => {
    for (const bad of ["4 gigs", "4gib", "4GIB", "4b", "4KIB", "4Kib", "4mb"]) expect(parseSize(bad), bad).toEqual(no(size));
  });
});

describe("bandwidths, in bytes per second", () => {
  it("bit forms: bit/s and bps with decimal prefixes, 8 bits a byte", () => {
    const cases: [string, number][] = [
      ["8bit/s", 1], ["8bps", 1], ["8kbit/s", 1e3], ["8Kbps", 1e3], ["8Mbit/s", 1e6], ["8Gbps", 1e9], ["8Tbit/s", 1e12], ["10Gbit/s", 1.25e9],
    ];
    for (const [text, bytes] of cases) expect(parseBandwidth(text), text).toEqual(ok(bytes));
  });
  it("byte forms: any size unit per second", () => {
    const cases: [string, number][] = [["3B/s", 3], ["3KiB/s", 3072], ["3MiB/s", 3 * 2 ** 20], ["3GB/s", 3e9], ["3kB/s", 3000], ["3TiB/s", 3 * 2 ** 40]];
    for (const [text, bytes] of cases) expect(parseBandwidth(text), text).toEqual(ok(bytes));
  });
  it("b/s is ambiguous (bit or byte?) with any prefix", () => {
    for (const unit of ["b/s", "kb/s", "Gb/s", "Mib/s"]) expect(parseBandwidth(`10${unit}`)).toEqual(no(`${bandwidth}; "${unit}" is ambiguous, write bit/s or B/s`));
  });
  it("a bare number is refused except 0; units that are no bandwidth are refused with the forms", () => {
    expect(parseBandwidth(0)).toEqual(ok(0));
    expect(parseBandwidth("0")).toEqual(ok(0));
    expect(parseBandwidth(100)).toEqual(no(`${bandwidth} (a unit is required)`));
    for (const bad of ["10 furlongs", "10GiB", "10XB/s", "10Pbit/s", "10mbit/s", "10Gbits", "10bit/sec", "10/s", "10Gbpsx", "10B/sx", "10Gb/sx", "10µKiB/s", "10/KiB/s"]) expect(parseBandwidth(bad), bad).toEqual(no(bandwidth));
  });
});

describe("durations, in milliseconds", () => {
  it("us (or µs), ms, s, min", () => {
    expect(parseDuration("250us")).toEqual(ok(0.25));
    expect(parseDuration("250µs")).toEqual(ok(0.25));
    expect(parseDuration("250ms")).toEqual(ok(250));
    expect(parseDuration("3s")).toEqual(ok(3000));
    expect(parseDuration("3min")).toEqual(ok(180_000));
  });
  it("a bare number is refused except 0; other units are refused with the forms", () => {
    expect(parseDuration(0)).toEqual(ok(0));
    expect(parseDuration("0")).toEqual(ok(0));
    expect(parseDuration(5)).toEqual(no(`${duration} (a unit is required)`));
    for (const bad of ["3h", "3m", "3S", "3sec", "3 mins", "3ns"]) expect(parseDuration(bad), bad).toEqual(no(duration));
  });
});

describe("packet rates, in frames per second", () => {
  it("pps with decimal prefixes, or a bare number", () => {
    expect(parsePacketRate(2000)).toEqual(ok(2000));
    expect(parsePacketRate("2000")).toEqual(ok(2000));
    expect(parsePacketRate("2000pps")).toEqual(ok(2000));
    expect(parsePacketRate("50kpps")).toEqual(ok(50_000));
    expect(parsePacketRate("50Kpps")).toEqual(ok(50_000));
    expect(parsePacketRate("3Mpps")).toEqual(ok(3e6));
    expect(parsePacketRate("1Gpps")).toEqual(ok(1e9));
  });
  it("other units are refused with the forms", () => {
    for (const bad of ["1Tpps", "5fps", "5kpp", "5pps/s", "5 packets"]) expect(parsePacketRate(bad), bad).toEqual(no(packetRate));
  });
});
