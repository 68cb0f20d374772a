// The README's transcripts are the commands' real output: every `$ npx livemig ...` line in a
// README code block is run, and each line printed under it must be a line of its output.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const livemig = (args: string[]) => spawnSync("node", ["dist/cli/main.js", ...args], { encoding: "utf8" });

interface Transcript {
  command: string;
  expected: string[];
}

function transcripts(markdown: string): Transcript[] {
  const out: Transcript[] = [];
  const blocks = markdown.split("```").filter((_, i) => i % 2 === 1);
  for (const block of blocks) {
    let current: Transcript | undefined;
    for (const line of block.split("\n")) {
      if (line.startsWith("$ npx livemig ")) out.push((current = { command: line.slice("$ npx livemig ".length), expected: [] }));
      // "..." marks output left out of the README.
      else if (current && line.trim() !== "" && !line.startsWith("...")) current.expected.push(line.trimEnd());
    }
  }
  return out;
}

const readme = readFileSync("README.md", "utf8");

describe("README", () => {
  const all = transcripts(readme);

  it("has transcripts to check (simulate, analyze, compare)", () => {
    expect(all.map((t) => t.command.split(" ")[0])).toEqual(expect.arrayContaining(["simulate", "analyze", "compare"]));
  });

  for (const t of all) {
    it(`$ npx livemig ${t.command}`, () => {
      const r = livemig(t.command.split(" "));
      const lines = r.stdout.split("\n").map((l) => l.trimEnd());
      expect(t.expected.length).toBeGreaterThan(0);
      for (const line of t.expected) expect(lines, line).toContain(line);
    }, 30_000);
  }

  it("its example files are valid: the scenario file and the fleet file (with their modes and policy lines)", async () => {
    const { loadScenario } = await import("../src/scenario/load.js");
    const { loadFleet } = await import("../src/scenario/fleet.js");
    const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    const fleets = examples.filter((text) => /^evacuate:/m.test(text));
    const scenarios = examples.filter((text) => !/^evacuate:/m.test(text));
    expect([scenarios.length, fleets.length]).toEqual([1, 1]);
    const [scenario] = loadScenario(scenarios[0], "README.md");
    expect(scenario.scenario.name).toBe("busy-4g");
    // The modes the example sets are the ones it runs with.
    expect(scenarios[0]).toMatch(/multifd: \{channels: 4\}/);
    expect(scenario.scenario.migration.multifd?.channels).toBe(4);
    // Post-copy, commented out as the alternative to multifd (QEMU refuses the pair), loads in its place.
    const postcopy = scenarios[0].replace(/^  multifd:.*\n/m, "").replace(/^  # postcopy: /m, "  postcopy: ");
    expect(postcopy).not.toBe(scenarios[0]);
    expect(loadScenario(postcopy, "README.md")[0].scenario.migration.postcopy?.after.passes).toBe(2);
    expect(loadFleet(fleets[0], "README.md").map((r) => r.variant)).toEqual(["base", "serial"]);
  }, 30_000);

  it("the seeds table's vDPA figures are the simulator's guest-visible downtimes, at start -> early", async () => {
    const { formatMs } = await import("../src/core/format.js");
    const rows = [...readme.matchAll(/^\| 2025, [^|]+\| `(2025-vdpa-[\w-]+\.yaml)` \| ([\d.]+ s -> [\d.]+ s) \|/gm)];
    expect(rows.map((m) => m[1])).toEqual(["2025-vdpa-39g.yaml", "2025-vdpa-128g.yaml"]);
    for (const [, file, shown] of rows) {
      const { runs } = JSON.parse(livemig(["simulate", `scenarios/${file}`, "--json"]).stdout) as { runs: { result: { "guest-visible-downtime": number } }[] };
      expect(`${file}: ${runs.map((r) => formatMs(r.result["guest-visible-downtime"])).join(" -> ")}`).toBe(`${file}: ${shown}`);
    }
  }, 60_000);

  it("exit codes as it says: the demo 0 and simulate of the same scenario 1; bad input a line per problem, 2", () => {
    expect(readme).toMatch(/The demo is a\s+showcase, not a check: it exits 0/);
    const demo = livemig(["demo"]);
    expect(demo.status).toBe(0);
    expect(demo.stderr).toContain("livemig demo: the base run fails on purpose");
    expect(livemig(["simulate", "scenarios/demo.yaml"]).status).toBe(1);

    const file = join(mkdtempSync(join(tmpdir(), "livemig-readme-")), "two.yaml");
    writeFileSync(file, "name: x\nvm: {memory: lots, vcpus: -1}\nlink: {bandwidth: 1Gbit/s}\n");
    const bad = livemig(["simulate", file]);
    expect(bad.status).toBe(2);
    // One line: the first problem, and how many more there are.
    const lines = bad.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^livemig: ${file}:2: vm\\.(memory|vcpus): .*\\(and 1 more problem`));
  }, 30_000);

  it("the demo's help says what the demo shows", () => {
    const help = livemig(["demo", "--help"]).stdout.replace(/\s+/g, " ");
    expect(help).toContain("scenarios/demo.yaml");
    expect(help).toContain("virtio NIC");
    expect(help).not.toMatch(/passthrough strategies/);
    // The three runs it names are the scenario's.
    const scenario = readFileSync("scenarios/demo.yaml", "utf8");
    expect(scenario).toMatch(/name: unlimited, set: \{migration\.maxBandwidth: 0\}/);
    expect(scenario).toMatch(/name: auto-converge, set: \{migration\.autoConverge: true\}/);
  }, 30_000);
});
