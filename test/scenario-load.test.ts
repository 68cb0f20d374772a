// The scenario loader's rules, each with the exact line a user sees (file:line: field: what was
// expected, got what): defaults as the README and QEMU state them, every bound of every
// quantity, the input limits, variants and their `set` paths (issue 19: the fuzz only checks
// that a rejection is one line, not which line or which limit).
import { describe, expect, it } from "vitest";
import { createDevices, migrationParams } from "../src/scenario/assemble.js";
import { inputLimits, loadScenario, ScenarioError } from "../src/scenario/load.js";
import { problemsOf } from "./helpers.js";

/** The problems a file is refused with; [] when it loads. */
const problems = (text: string) => problemsOf(() => loadScenario(text, "s.yaml"));

/** The first problem, for files refused for one reason. */
const problem = (text: string) => {
  const p = problems(text);
  expect(p.length, `refused: ${text}`).toBeGreaterThan(0);
  return p[0];
};

const base = (extra = "", vm = "{memory: 1GiB}", link = "{bandwidth: 10Gbit/s}") => `name: t
vm: ${vm}
link: ${link}
${extra}`;

const load = (text: string) => loadScenario(text, "s.yaml")[0].scenario;

describe("defaults", () => {
  it("a minimal file: one vCPU, 4 KiB pages, idle, no latency, QEMU's migration defaults, one virtio NIC, no variants", () => {
    expect(load(base())).toEqual({
      name: "t",
      vm: { memory: 2 ** 30, vcpus: 1, pageSize: 4096, workload: { kind: "idle" } },
      link: { bandwidth: 1.25e9, latency: 0 },
      migration: {
        downtimeLimit: 300, maxBandwidth: 128 * 2 ** 20, autoConverge: false,
        cpuThrottleInitial: 20, cpuThrottleIncrement: 10, cpuThrottleTailslow: false, maxCpuThrottle: 99, giveUp: {},
      },
      devices: [{ kind: "virtio", options: { queuePairs: 1 }, costs: {} }],
      variants: [],
    });
  });
  it("a migration map that sets one field gets the others' defaults", () => {
    expect(load(base("migration: {autoConverge: true}")).migration).toEqual({
      downtimeLimit: 300, maxBandwidth: 128 * 2 ** 20, autoConverge: true,
      cpuThrottleInitial: 20, cpuThrottleIncrement: 10, cpuThrottleTailslow: false, maxCpuThrottle: 99, giveUp: {},
    });
  });
  it("workloads: hotcold 10 % of the set takes 90 % of the writes, Zipf exponent 1, 1500-byte frames", () => {
    const w = (workload: string) => load(base("", `{memory: 1GiB, workload: ${workload}}`)).vm.workload;
    expect(w("{kind: hotcold, workingSet: 1MiB, rate: 5}")).toEqual({ kind: "hotcold", workingSet: 2 ** 20, rate: 5, hotFraction: 0.1, hotShare: 0.9 });
    expect(w("{kind: zipf, workingSet: 1MiB, rate: 5}")).toEqual({ kind: "zipf", workingSet: 2 ** 20, rate: 5, exponent: 1 });
    expect(w("{kind: scan, workingSet: 1MiB, rate: 5, bytesPerWrite: 64B}")).toEqual({ kind: "scan", workingSet: 2 ** 20, rate: 5, bytesPerWrite: 64 });
    expect(w("{kind: idle, rx: {rate: 2kpps}}")).toEqual({ kind: "idle", rx: { rate: 2000, size: 1500 } });
  });
  it("modes: 2 multifd channels, post-copy without preempt, a 64 MiB xbzrle cache; a probe every 1 ms", () => {
    const m = load(base("migration: {multifd: {}, hostCores: 4}")).migration;
    expect([m.multifd, m.hostCores]).toEqual([{ channels: 2 }, 4]);
    expect(load(base("migration: {postcopy: {after: {passes: 3}}}")).migration.postcopy).toEqual({ after: { passes: 3 }, preempt: false });
    expect(load(base("migration: {xbzrle: {}}")).migration.xbzrle).toEqual({ cacheSize: 64 * 2 ** 20 });
    expect(load(base("migration: {dirtyLimit: 1MiB/s, dirtyRingSize: 1024}")).migration).toMatchObject({ dirtyLimit: 2 ** 20, dirtyRingSize: 1024 });
    expect(load(base("probe: {}")).probe).toEqual({ interval: 1 });
  });
  it("a device's options get its strategy's defaults; a cost given is kept apart from the options", () => {
    expect(load(base("devices: [{kind: virtio, queuePairs: 2, stateBytes: 100}, {kind: vdpa, pinning: early}]")).devices).toEqual([
      { kind: "virtio", options: { queuePairs: 2 }, costs: { stateBytes: 100 } },
      {
        kind: "vdpa",
        options: expect.objectContaining({ queuePairs: 8, pinning: "early", tracking: "svq", parallelSuspend: false }),
        costs: {},
      },
    ]);
  });
});

describe("every bound of every quantity, with the line and the limit", () => {
  it("the link: more than 0, at most 1 PB/s; its latency at most 30 days", () => {
    expect(problem(base("", undefined, "{bandwidth: 0}"))).toBe('s.yaml:3: link.bandwidth: expected more than 0, got 0');
    expect(problem(base("", undefined, "{bandwidth: 0Gbit/s}"))).toBe('s.yaml:3: link.bandwidth: expected more than 0, got "0Gbit/s"');
    expect(problems(base("", undefined, "{bandwidth: 8000Tbit/s}"))).toEqual([]);
    expect(problem(base("", undefined, "{bandwidth: 8001Tbit/s}"))).toBe('s.yaml:3: link.bandwidth: expected at most 1000000 GB/s, got "8001Tbit/s"');
    expect(problems(base("", undefined, "{bandwidth: 1Gbit/s, latency: 43200min}"))).toEqual([]);
    expect(problem(base("", undefined, "{bandwidth: 1Gbit/s, latency: 43201min}"))).toBe('s.yaml:3: link.latency: expected at most 30 days, got "43201min"');
  });
  it("max-bandwidth may be 0 (unlimited); a dirty limit is at least 1 MiB/s", () => {
    expect(load(base("migration: {maxBandwidth: 0}")).migration.maxBandwidth).toBe(0);
    expect(problem(base("migration: {maxBandwidth: 1001TB/s}"))).toBe('s.yaml:4: migration.maxBandwidth: expected at most 1000000 GB/s, got "1001TB/s"');
    expect(problem(base("migration: {dirtyLimit: 1023KiB/s}"))).toBe('s.yaml:4: migration.dirtyLimit: expected at least 1 MiB/s, got "1023KiB/s"');
    expect(problem(base("migration: {dirtyLimit: 1001TB/s}"))).toBe('s.yaml:4: migration.dirtyLimit: expected at most 1000000 GB/s, got "1001TB/s"');
  });
  it("a probe interval: more than 0, at most a day", () => {
    expect(problem(base("probe: {interval: 0}"))).toBe("s.yaml:4: probe.interval: expected more than 0, got 0");
    expect(problems(base("probe: {interval: 1440min}"))).toEqual([]);
    expect(problem(base("probe: {interval: 1441min}"))).toBe('s.yaml:4: probe.interval: expected at most 1 day, got "1441min"');
  });
  it("frames: 1 B to 64 KiB, at most 1 Gpps", () => {
    const rx = (r: string) => base("", `{memory: 1GiB, workload: {kind: idle, rx: ${r}}}`);
    expect(problem(rx("{rate: 1kpps, size: 0B}"))).toBe('s.yaml:2: vm.workload.rx.size: expected at least 1 B, got "0B"');
    expect(problems(rx("{rate: 1Gpps, size: 64KiB}"))).toEqual([]);
    expect(problems(rx("{rate: 0, size: 1B}"))).toEqual([]);
    expect(problem(rx("{rate: 1kpps, size: 65537B}"))).toBe('s.yaml:2: vm.workload.rx.size: expected at most 64.00 KiB, got "65537B"');
    expect(problem(rx("{rate: 1000000001}"))).toBe("s.yaml:2: vm.workload.rx.rate: expected at most 1000000000 frames/s, got 1000000001");
  });
  it("a size at most 1 PiB; the units' own expectation when the text is no quantity", () => {
    expect(problems(base("migration: {xbzrle: {cacheSize: 1024TiB}}"))).toEqual([]);
    expect(problem(base("", "{memory: 1025TiB}"))).toBe('s.yaml:2: vm.memory: expected at most 1024.00 TiB, got "1025TiB"');
    expect(problem(base("", "{memory: lots}"))).toBe('s.yaml:2: vm.memory: expected a size such as "4GiB", "512MiB" or "1500B", got "lots"');
    expect(problem(base("migration: {downtimeLimit: 300}"))).toBe('s.yaml:4: migration.downtimeLimit: expected a duration such as "300ms", "2s" or "100us" (a unit is required), got 300');
  });
  it("plain numbers: range, integer, and an open upper end", () => {
    expect(problem(base("", "{memory: 1GiB, vcpus: 0}"))).toBe("s.yaml:2: vm.vcpus: expected an integer in [1, 1024], got 0");
    expect(problem(base("", "{memory: 1GiB, vcpus: 1.5}"))).toBe("s.yaml:2: vm.vcpus: expected an integer in [1, 1024], got 1.5");
    expect(problem(base("", "{memory: 1GiB, vcpus: 1025}"))).toBe("s.yaml:2: vm.vcpus: expected an integer in [1, 1024], got 1025");
    expect(problem(base("", "{memory: 1GiB, vcpus: \"2\"}"))).toBe('s.yaml:2: vm.vcpus: expected an integer in [1, 1024], got "2"');
    expect(problems(base("", "{memory: 1GiB, vcpus: 1024}"))).toEqual([]);
    expect(problems(base("", "{memory: 1GiB, vcpus: 1}"))).toEqual([]);
    expect(problem(base("migration: {giveUp: {passes: 0}}"))).toBe("s.yaml:4: migration.giveUp.passes: expected an integer >= 1, got 0");
    expect(problems(base("migration: {giveUp: {passes: 1000000}}"))).toEqual([]);
    expect(problem(base("migration: {cpuThrottleInitial: 100}"))).toBe("s.yaml:4: migration.cpuThrottleInitial: expected an integer in [1, 99], got 100");
    expect(problem(base("seed: 2147483648"))).toBe("s.yaml:4: seed: expected an integer in [0, 2.147483647e+9], got 2147483648");
    expect(problem(base("", "{memory: 1GiB, workload: {kind: hotcold, workingSet: 1MiB, rate: 1, hotShare: 1.5}}"))).toBe(
      "s.yaml:2: vm.workload.hotShare: expected a number in [0, 1], got 1.5",
    );
    expect(problem(base("", "{memory: 1GiB, workload: {kind: uniform, workingSet: 1MiB, rate: -1}}"))).toBe("s.yaml:2: vm.workload.rate: expected a number in [0, 1e+12], got -1");
    // A number in quotes is text, even where its value would be in range.
    expect(problem(base("", '{memory: 1GiB, workload: {kind: hotcold, workingSet: 1MiB, rate: 5, hotShare: "0.5"}}'))).toBe('s.yaml:2: vm.workload.hotShare: expected a number in [0, 1], got "0.5"');
  });
});

describe("what zod finds, said in the file's terms", () => {
  it("a missing field is required, with its type", () => {
    expect(problems("vm: {memory: 1GiB}\nlink: {bandwidth: 1Gbit/s}\n")).toEqual(["s.yaml:1: name: required (expected a string)"]);
    expect(problem("name: t\nlink: {bandwidth: 1Gbit/s}\n")).toBe("s.yaml:1: vm: required (expected an object)");
  });
  it("a wrong type names what was expected and what was found", () => {
    expect(problem(base("", "5"))).toBe("s.yaml:2: vm: expected an object, got 5");
    expect(problem(base("migration: {autoConverge: yes please}"))).toBe('s.yaml:4: migration.autoConverge: expected a boolean, got "yes please"');
  });
  it("unknown keys: one, or several in one line", () => {
    expect(problem(base("colour: blue"))).toBe('s.yaml:1: (top level): unknown key "colour"');
    expect(problem(base("", "{memory: 1GiB, colour: blue, size: 3}"))).toBe('s.yaml:2: vm: unknown keys "colour", "size"');
  });
  it("a workload or device kind outside the list, listing the kinds", () => {
    expect(problem(base("", "{memory: 1GiB, workload: {kind: bursty}}"))).toBe(
      's.yaml:2: vm.workload.kind: expected kind to be one of idle | uniform | hotcold | zipf | scan, got "bursty"',
    );
    expect(problem(base("devices: [{kind: e1000}]"))).toMatch(/^s\.yaml:4: devices\.0\.kind: expected kind to be one of virtio \| .*vdpa.*, got "e1000"$/);
    expect(problem(base("devices: [{queuePairs: 2}]"))).toMatch(/^s\.yaml:4: devices\.0\.kind: expected kind to be one of .*, got undefined$/);
    // A kind is a string: a list holding a kind's name is none (its text would name the strategy).
    expect(problem(base("devices: [{kind: [virtio]}]"))).toMatch(/^s\.yaml:4: devices\.0\.kind: expected kind to be one of .*, got \["virtio"\]$/);
    expect(problem(base("devices: [null]"))).toMatch(/^s\.yaml:4: devices\.0\.kind: expected kind to be one of .*, got undefined$/);
    // A name every object inherits is no strategy (it once crashed the parse with a stack trace).
    for (const inherited of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(problem(base(`devices: [{kind: ${inherited}}]`))).toMatch(new RegExp(`^s\\.yaml:4: devices\\.0\\.kind: expected kind to be one of .*, got "${inherited}"$`));
    }
    expect(problem(base("devices: [{kind: vdpa, pinning: late}]"))).toBe('s.yaml:4: devices.0.pinning: expected at-start | early, got "late"');
  });
  it("a device's cost is a number in [0, 1e9]; an empty device list is refused", () => {
    expect(problem(base("devices: [{kind: virtio, stateBytes: -1}]"))).toBe("s.yaml:4: devices.0.stateBytes: expected a number in [0, 1e+9], got -1");
    expect(problem(base("devices: []"))).toMatch(/^s\.yaml:4: devices: Too small: expected array to have >=1 items?$/);
  });
  it("QEMU's refusals of capability pairs, in QEMU's words", () => {
    const at = (m: string) => problem(base(`migration: ${m}`));
    expect(at("{multifd: {}, xbzrle: {}}")).toBe("s.yaml:4: migration.xbzrle: Multifd is not compatible with xbzrle");
    expect(at("{multifd: {}, postcopy: {after: {passes: 2}}}")).toBe("s.yaml:4: migration.postcopy: Postcopy is not yet compatible with multifd");
    expect(at("{dirtyLimit: 1MiB/s, autoConverge: true}")).toBe("s.yaml:4: migration.dirtyLimit: dirty-limit conflicts with auto-converge either of then available currently");
    expect(at("{xbzrle: {cacheSize: 3MiB}}")).toBe("s.yaml:4: migration.xbzrle: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size, got 3.00 MiB");
    expect(at("{xbzrle: {cacheSize: 2KiB}}")).toBe("s.yaml:4: migration.xbzrle: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size, got 2.00 KiB");
    expect(at("{postcopy: {after: {}}}")).toBe("s.yaml:4: migration.postcopy: expected after: {passes: N} or after: {time: T}");
    // Each alone, or the pairs QEMU allows, load.
    for (const ok of ["{multifd: {}}", "{xbzrle: {cacheSize: 4KiB}}", "{dirtyLimit: 1MiB/s}", "{autoConverge: true, xbzrle: {}}", "{postcopy: {after: {time: 2s}}, xbzrle: {}}"]) {
      expect(problems(base(`migration: ${ok}`)), ok).toEqual([]);
    }
  });
});

describe("the VM's own rules", () => {
  it("page size a power of two; memory at least a page and at most 2^30 pages; used and working set within memory", () => {
    expect(problem(base("", "{memory: 1GiB, pageSize: 3000B}"))).toBe("s.yaml:2: vm.pageSize: expected a power of two, got 3000 B");
    expect(problem(base("", "{memory: 1GiB, pageSize: 0}"))).toBe("s.yaml:2: vm.pageSize: expected a power of two, got 0 B");
    expect(problem(base("", "{memory: 2KiB}"))).toBe("s.yaml:2: vm.memory: expected at least one page (4.00 KiB), got 2.00 KiB");
    expect(problems(base("", "{memory: 4KiB}"))).toEqual([]);
    expect(problems(base("", "{memory: 4TiB}"))).toEqual([]);
    expect(problem(base("", "{memory: 5TiB}"))).toBe(
      "s.yaml:2: vm.memory: expected at most 1073741824 pages (4.00 TiB of 4.00 KiB pages: what the simulator holds), got 5.00 TiB",
    );
    expect(problems(base("", "{memory: 8TiB, pageSize: 2MiB}"))).toEqual([]);
    expect(problem(base("", "{memory: 1GiB, used: 2GiB}"))).toBe("s.yaml:2: vm.used: expected at most vm.memory (1.00 GiB), got 2.00 GiB");
    expect(problems(base("", "{memory: 1GiB, used: 1GiB, workload: {kind: scan, workingSet: 1GiB, rate: 1}}"))).toEqual([]);
    expect(problem(base("", "{memory: 1GiB, workload: {kind: scan, workingSet: 1025MiB, rate: 1}}"))).toBe(
      "s.yaml:2: vm.workload.workingSet: expected at most vm.memory (1.00 GiB), got 1.00 GiB",
    );
  });
});

describe("the file's shape, before and while it is parsed", () => {
  it("a text given without a file name is named <scenario> in the problems", () => {
    expect(problemsOf(() => loadScenario(base("colour: blue")))).toEqual(['<scenario>:1: (top level): unknown key "colour"']);
  });
  it("parsing leaves the process's stack trace limit as it was, a file refused or not (it is 0 only while the parser runs)", () => {
    const before = Error.stackTraceLimit;
    expect(before).toBeGreaterThan(0);
    load(base());
    expect(Error.stackTraceLimit).toBe(before);
    problems("name: [");
    expect(Error.stackTraceLimit).toBe(before);
  });
  it("the error's message is its first problem and how many more there are", () => {
    expect(new ScenarioError(["a"]).message).toBe("a");
    expect(new ScenarioError(["a", "b"]).message).toBe("a (and 1 more problem)");
    expect(new ScenarioError(["a", "b", "c"]).message).toBe("a (and 2 more problems)");
    expect(new ScenarioError(["a"]).name).toBe("ScenarioError");
  });
  it("every problem zod finds is listed, in order", () => {
    expect(problems("name: t\nvm: {memory: 1GiB, vcpus: 0}\nlink: {bandwidth: 0}\n")).toEqual([
      "s.yaml:2: vm.vcpus: expected an integer in [1, 1024], got 0",
      "s.yaml:3: link.bandwidth: expected more than 0, got 0",
    ]);
  });
  it("too long: the character count and the limit", () => {
    const text = base(`# ${"x".repeat(inputLimits.maxChars)}`);
    expect(problems(text)).toEqual([`s.yaml: ${text.length} characters; a scenario file has at most 262144 (256 KiB)`]);
    // At the limit it is read.
    const fits = base();
    expect(problems(fits + `#${"x".repeat(inputLimits.maxChars - fits.length - 1)}`)).toEqual([]);
  });
  it("nested too deep in [ ] or { }: the line where the limit is passed", () => {
    const deep = (n: number) => base(`x:\n  ${"[".repeat(n)}${"]".repeat(n)}`);
    expect(problems(deep(65))).toEqual(["s.yaml:5: nested more than 64 levels deep in [ ] or { }"]);
    expect(problems(deep(64))[0]).toMatch(/unknown key "x"/);
  });
  it("more aliases than the expansion limit, counted before parsing", () => {
    const aliases = (n: number) => base(`x: &a 1\ny: [${Array.from({ length: n }, () => "*a").join(", ")}]`);
    expect(problems(aliases(101))).toEqual(["s.yaml: 101 aliases (*name); a scenario file has at most 100"]);
    // 100 pass the count; the yaml package's own expansion limit then refuses them.
    expect(problems(aliases(100))).toEqual(["s.yaml: aliases expand to more than 100 copies; write the values out"]);
    expect(problems(aliases(99))[0]).toMatch(/unknown keys "x", "y"/);
    // An alias at the very start of the text counts too.
    expect(problems(`*a\n${aliases(100)}`)[0]).toBe("s.yaml: 101 aliases (*name); a scenario file has at most 100");
    // Stars that are no alias do not count: inside a word, or followed by a space.
    expect(problems(base(`note: "${"2*x ".repeat(101)}${"2 * 3 ".repeat(101)}"`))).toEqual(['s.yaml:1: (top level): unknown key "note"']);
  });
  it("content that starts past column 256: the line and the column", () => {
    const at = (col: number) => base(`x: |\n${" ".repeat(col - 1)}text`);
    expect(problems(at(258))).toEqual(["s.yaml:5: content starts at column 258; nesting that deep is refused (at most column 256)"]);
    expect(problems(at(257))[0]).toMatch(/unknown key "x"/);
    // Block indicators count as indentation.
    expect(problems(base(`x:\n${"- ".repeat(129)}1`))).toEqual(["s.yaml:5: content starts at column 259; nesting that deep is refused (at most column 256)"]);
  });
  it("YAML errors: the yaml package's words, first line only, each with its line", () => {
    expect(problems("name: t\nvm: {memory: 1GiB\nlink: [\n")).toEqual([
      "s.yaml:3: Flow map in block collection must be sufficiently indented and end with a }",
      "s.yaml:4: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
  });
  it("a key twice in one mapping, with the line of the second", () => {
    expect(problems(base("", "{memory: 1GiB}\nname: u"))).toEqual(['s.yaml:3: key "name" appears twice in the same mapping']);
  });
  it("an alias to no anchor, and aliases that expand too often", () => {
    expect(problems(base("x: *nowhere"))).toEqual(["s.yaml:4: alias *nowhere names no anchor (&nowhere) defined before it"]);
    // 11 aliases of a list of 10 aliases: 110 copies.
    const ten = Array.from({ length: 10 }, () => "*a").join(", ");
    const eleven = Array.from({ length: 11 }, () => "*b").join(", ");
    expect(problems(base(`x: &a 1\ny: &b [${ten}]\nz: [${eleven}]`))).toEqual(["s.yaml: aliases expand to more than 100 copies; write the values out"]);
  });
  it("the top level must be a mapping", () => {
    for (const text of ["- a\n- b\n", "5\n", "just text\n", ""]) {
      expect(problems(text)).toEqual(["s.yaml: expected a mapping with name, vm, link, ... at the top level"]);
    }
  });
  it("the yaml package's errors leave V8's stack-trace limit as it was", () => {
    const before = Error.stackTraceLimit;
    problems("name: t\nvm: {memory: 1GiB\n");
    load(base());
    expect(Error.stackTraceLimit).toBe(before);
  });
});

describe("variants", () => {
  /** A file with one device (line 4) and one variant (line 6). */
  const v = (set: string, name = "v") => base(`devices: [{kind: virtio}]\nvariants:\n  - {name: ${name}, set: ${set}}`);
  it("set paths make new mappings where there are none, copy the ones they change, and leave the base as it was", () => {
    const text = base("devices: [{kind: virtio}]\nvariants:\n  - {name: v, set: {probe.interval: 2ms, devices.0.queuePairs: 4, vm.workload.rx.rate: 5}}", "{memory: 1GiB, workload: {kind: idle}}");
    const runs = loadScenario(text, "s.yaml");
    expect(runs.map((r) => r.variant)).toEqual(["base", "v"]);
    expect(runs[0].scenario.probe).toBeUndefined();
    expect(runs[1].scenario.probe).toEqual({ interval: 2 });
    expect(runs[1].scenario.devices[0].options).toEqual({ queuePairs: 4 });
    expect(runs[1].scenario.vm.workload).toEqual({ kind: "idle", rx: { rate: 5, size: 1500 } });
    expect(runs[0].scenario.vm.workload).toEqual({ kind: "idle" });
  });
  it("set paths are applied one after another; a variant that sets nothing is the base", () => {
    const [b, s, none] = loadScenario(base("devices: [{kind: virtio}, {kind: virtio}]\nvariants:\n  - {name: s, set: {devices.1.queuePairs: 2, devices.1.stateBytes: 7}}\n  - {name: n, set: {}}"), "s.yaml");
    expect(s.scenario.devices).toEqual([b.scenario.devices[0], { kind: "virtio", options: { queuePairs: 2 }, costs: { stateBytes: 7 } }]);
    expect(b.scenario.devices[1]).toEqual({ kind: "virtio", options: { queuePairs: 1 }, costs: {} });
    expect({ ...none.scenario, variants: b.scenario.variants }).toEqual(b.scenario);
  });
  it("a variant's bad value names the variant, at the line of its set", () => {
    expect(problem(v("{link.bandwidth: 0}"))).toBe('s.yaml:6: variants.0.set: link.bandwidth: expected more than 0, got 0 (variant "v")');
    expect(problem(v("{vm.used: 2GiB}"))).toBe('s.yaml:6: variants.0.set: vm.used: expected at most vm.memory (1.00 GiB), got 2.00 GiB (variant "v")');
  });
  it("a variant name used twice, or named base", () => {
    expect(problem(base("variants:\n  - {name: a, set: {}}\n  - {name: a, set: {}}"))).toBe('s.yaml:6: variants.1: variant name "a" is used twice (or is "base")');
    expect(problem(v("{}", "base"))).toBe('s.yaml:6: variants.0: variant name "base" is used twice (or is "base")');
  });
  it("paths that are no field, or go through a value, or past a list's end", () => {
    const at = (path: string, what: string) => expect(problem(v(`{"${path}": 1}`))).toBe(`s.yaml:6: variants.0.set: "${path}": ${what} (variant "v")`);
    at("vm.__proto__.x", '"vm.__proto__" is not a field');
    at("constructor", '"constructor" is not a field');
    at("vm.prototype", '"vm.prototype" is not a field');
    at("vm..memory", '"vm." is not a field');
    at("name.first", '"name" is not a mapping or list');
    at("devices.x", '"devices.x": expected a list index 0..0');
    at("devices.-1", '"devices.-1": expected a list index 0..0');
    at("devices.1.queuePairs", '"devices.1" does not exist: devices has 1 entry (devices.0)');
    at("extra.0.x", '"extra.0" does not exist: the scenario has no extra list to index');
    // A list index is the whole key, of any number of digits: "10" is one, "x1" and "1x" are field names (the
    // file has no such field: the variant is the base with an unknown key).
    at("extra.10.x", '"extra.10" does not exist: the scenario has no extra list to index');
    // Through a value an earlier path of the same variant set: null is no mapping either.
    expect(problem(v("{probe: null, probe.interval: 1ms}"))).toBe('s.yaml:6: variants.0.set: "probe.interval": "probe" is not a mapping or list (variant "v")');
    expect(problem(v('{"probe.x1": 1}'))).toBe('s.yaml:6: variants.0.set: probe: unknown key "x1" (variant "v")');
    // A key the variant adds at the top level is named as the base file's would be.
    expect(problem(v("{extra: 1}"))).toBe('s.yaml:6: variants.0.set: (top level): unknown key "extra" (variant "v")');
    expect(problem(v('{"probe.1x": 1}'))).toBe('s.yaml:6: variants.0.set: probe: unknown key "1x" (variant "v")');
    expect(problem(base("devices: [{kind: virtio}, {kind: virtio}]\nvariants:\n  - {name: v, set: {devices.2: 1}}"))).toBe(
      's.yaml:6: variants.0.set: "devices.2": "devices.2" does not exist: devices has 2 entries (devices.0..devices.1) (variant "v")',
    );
  });
});

describe("the scenario as the controller's parameters and devices (assemble.ts)", () => {
  it("percent to fractions, QEMU's trigger and announce kept, livemig's give-up bound only when the file sets none", () => {
    const p = migrationParams(load(base("migration: {downtimeLimit: 50ms, maxBandwidth: 1GB/s, autoConverge: true, cpuThrottleInitial: 30, cpuThrottleIncrement: 5, maxCpuThrottle: 80, cpuThrottleTailslow: true}")));
    expect(p).toEqual({
      downtimeLimitMs: 50, maxBandwidth: 1e9, autoConverge: true,
      throttle: { initial: 0.3, increment: 0.05, max: 0.8, triggerThreshold: 0.5, tailslow: true },
      giveUp: { passes: 30, timeMs: 3_600_000, byDefault: true },
      announce: { initialMs: 50, maxMs: 550, rounds: 5, stepMs: 100 },
    });
    expect(migrationParams(load(base("migration: {giveUp: {passes: 3}}"))).giveUp).toEqual({ passes: 3, timeMs: undefined });
    expect(migrationParams(load(base("migration: {giveUp: {time: 2s}}"))).giveUp).toEqual({ passes: undefined, timeMs: 2000 });
  });
  it("the modes only where asked: 32 host cores and a 4096-entry dirty ring unless said", () => {
    const modes = (m: string) => {
      const { multifd, postcopy, xbzrle, dirtyLimit } = migrationParams(load(base(`migration: ${m}`)));
      return { multifd, postcopy, xbzrle, dirtyLimit };
    };
    expect(modes("{}")).toEqual({});
    expect(modes("{multifd: {channels: 4}}")).toEqual({ multifd: { channels: 4, hostCores: 32 } });
    expect(modes("{multifd: {}, hostCores: 3}")).toEqual({ multifd: { channels: 2, hostCores: 3 } });
    expect(modes("{postcopy: {after: {passes: 2, time: 5s}, preempt: true}}")).toEqual({ postcopy: { afterPasses: 2, afterMs: 5000, preempt: true } });
    expect(modes("{xbzrle: {cacheSize: 8MiB}}")).toEqual({ xbzrle: { cacheSize: 8 * 2 ** 20 } });
    expect(modes("{dirtyLimit: 2MiB/s}")).toEqual({ dirtyLimit: { bytesPerSecond: 2 * 2 ** 20, ringSize: 4096 } });
    expect(modes("{dirtyLimit: 2MiB/s, dirtyRingSize: 2048}")).toEqual({ dirtyLimit: { bytesPerSecond: 2 * 2 ** 20, ringSize: 2048 } });
  });
  it("one device per entry, of its strategy, with the entry's cost overrides", () => {
    const s = load(base("devices: [{kind: virtio, stateBytes: 12345}, {kind: vdpa}]"));
    const devices = createDevices(s, { ramBytes: s.vm.memory, pageSize: s.vm.pageSize, vcpus: 1 });
    expect(devices.map((d) => d.kind)).toEqual(["virtio", "vdpa"]);
    expect(devices[0].stateBytes()).toBe(12345);
  });
});
