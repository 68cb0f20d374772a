import { describe, expect, it } from "vitest";
import { loadScenario } from "../src/scenario/load.js";
import { parseBandwidth, parseDuration, parseSize } from "../src/scenario/units.js";
import { problemsOf } from "./helpers.js";

const problems = (yaml: string) => problemsOf(() => loadScenario(yaml, "s.yaml"));

describe("units", () => {
  it("sizes in powers of two and of ten", () => {
    expect(parseSize("4GiB")).toEqual({ ok: true, value: 4 * 2 ** 30 });
    expect(parseSize("1500B")).toEqual({ ok: true, value: 1500 });
    expect(parseSize("2GB")).toEqual({ ok: true, value: 2e9 });
    expect(parseSize("12").ok).toBe(false);
    expect(parseSize("4 gigs").ok).toBe(false);
  });
  it("bandwidths as bits or bytes, rejecting the ambiguous b/s", () => {
    expect(parseBandwidth("10Gbit/s")).toEqual({ ok: true, value: 1.25e9 });
    expect(parseBandwidth("1Gbps")).toEqual({ ok: true, value: 1.25e8 });
    expect(parseBandwidth("128MiB/s")).toEqual({ ok: true, value: 128 * 2 ** 20 });
    expect(parseBandwidth(0)).toEqual({ ok: true, value: 0 });
    const amb = parseBandwidth("10Gb/s");
    expect(amb.ok).toBe(false);
    expect(!amb.ok && amb.expected).toMatch(/ambiguous/);
  });
  it("durations in us, ms, s", () => {
    expect(parseDuration("300ms")).toEqual({ ok: true, value: 300 });
    expect(parseDuration("2s")).toEqual({ ok: true, value: 2000 });
    expect(parseDuration("100us")).toEqual({ ok: true, value: 0.1 });
    expect(parseDuration("5").ok).toBe(false);
  });
});

describe("scenario validation names the field", () => {
  const base = `name: t
vm:
  memory: 4GiB
  workload: {kind: uniform, workingSet: 512MiB, rate: RATE}
link: {bandwidth: 10Gbit/s}
`;
  it("wrong type with line number", () => {
    const p = problems(base.replace("RATE", '"fast"'));
    expect(p).toEqual(['s.yaml:4: vm.workload.rate: expected a number in [0, 1e+12], got "fast"']);
  });
  it("unknown key", () => {
    const p = problems(base.replace("RATE", "1") + "colour: blue\n");
    expect(p[0]).toMatch(/s\.yaml.*: \(top level\): unknown key "colour"/);
  });
  it("wrong unit", () => {
    const p = problems(base.replace("RATE", "1").replace("10Gbit/s", "10 furlongs"));
    expect(p[0]).toMatch(/^s\.yaml:5: link\.bandwidth: expected a bandwidth/);
  });
  it("unknown device kind and device option", () => {
    expect(problems(base.replace("RATE", "1") + "devices: [{kind: e1000}]\n")[0]).toMatch(/devices\.0\.kind: expected kind to be one of/);
    expect(problems(base.replace("RATE", "1") + "devices: [{kind: virtio, turbo: true}]\n")[0]).toMatch(/devices\.0.*unknown key "turbo"/);
  });
  it("used larger than memory", () => {
    expect(problems(base.replace("RATE", "1").replace("memory: 4GiB", "memory: 4GiB\n  used: 8GiB"))[0]).toMatch(/vm\.used: expected at most vm\.memory/);
  });
  it("YAML syntax errors carry the line", () => {
    expect(problems("name: x\nvm: {memory: 4GiB\n")[0]).toMatch(/^s\.yaml:\d+: /);
  });
  it("variants override paths and are validated", () => {
    const runs = loadScenario(base.replace("RATE", "1") + "variants:\n  - {name: fast, set: {migration.maxBandwidth: 0}}\n", "s.yaml");
    expect(runs.map((r) => r.variant)).toEqual(["base", "fast"]);
    expect(runs[0].scenario.migration.maxBandwidth).toBe(128 * 2 ** 20);
    expect(runs[1].scenario.migration.maxBandwidth).toBe(0);
    expect(problems(base.replace("RATE", "1") + "variants:\n  - {name: bad, set: {migration.maxBandwidth: lots}}\n")[0]).toMatch(/variant "bad"/);
  });
});
