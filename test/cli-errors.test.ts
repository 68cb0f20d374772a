// Every command's bad inputs, as a user types them, through the built CLI in child
// processes: exit 2, exactly one `livemig: ...` line on stderr, nothing on stdout, no stack.
// (LIVEMIG_CLI points the table at another build, to check it against an older one.)

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = process.env.LIVEMIG_CLI ?? join(root, "dist/cli/main.js");
const fx = join(root, "test/fixtures/measure");

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function livemig(args: string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
const scenario = (extra = "", vm = "memory: 1GiB") => `name: t\nvm: {${vm}}\nlink: {bandwidth: 1Gbit/s}\n${extra}`;

/** Files the table refers to by name, written into a scratch directory. */
const files: Record<string, string> = {
  "ok.yaml": scenario(),
  "alias.yaml": "name: t\nvm: {memory: *nope}\nlink: {bandwidth: 1Gbit/s}\n",
  "alias-bomb.yaml": `a: &a [1, 2]\nb: [${Array(120).fill("*a").join(", ")}]\n`,
  // Nine levels of ten aliases each: 90 aliases that would expand to 10^9 copies.
  "laughs.yaml": ["a0: &a0 [lol]", ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(", ")}]`)].join("\n") + "\n",
  "brackets.yaml": "[".repeat(10_000_000),
  "deep.yaml": "[".repeat(2000),
  "dashes.yaml": "- ".repeat(5000) + "x\n",
  "huge-memory.yaml": scenario("", "memory: 1e30GiB"),
  "zero-memory.yaml": scenario("", "memory: 0"),
  "zero-bandwidth.yaml": scenario().replace("1Gbit/s", "0"),
  "infinite-bandwidth.yaml": scenario().replace("1Gbit/s", "Infinity"),
  "infinite-latency.yaml": scenario().replace("1Gbit/s}", "1Gbit/s, latency: 1e400s}"),
  "pinning.yaml": scenario("devices: [{kind: vdpa, pinning: earley}]\n"),
  "hot-cold.yaml": scenario("", "memory: 1GiB, workload: {kind: hot-cold, workingSet: 1GiB, rate: 1}"),
  "auto-converge.yaml": scenario("migration: {autoConverge: yes}\n"),
  "missing-device.yaml": scenario("devices: [{kind: vdpa}]\nvariants: [{name: e, set: {devices.1.pinning: early}}]\n"),
  "working-set.yaml": scenario("", "memory: 1GiB, workload: {kind: uniform, workingSet: 2GiB, rate: 1}"),
  "qemu-size.yaml": scenario("", "memory: 16G"),
  "used.yaml": scenario("", "memory: 1GiB, used: 2GiB"),
  "many-problems.yaml": "colour: blue\n",
  "deep.jsonl": `${"[".repeat(900)}${"]".repeat(900)}\n`.repeat(2),
  "profile.yaml": "not: [a profile\n",
  "no-wait-profile.yaml": "pageReadBytesPerSecond: 10000000000\nswitchoverMs: 14\n",
  "runs.json": '{"garbage": 1}\n',
  "secret": "s3cret\n",
  "collection-key.yaml": scenario("{}: 1\n"),
  "carriage-return.json": '{"a":\r}',
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "livemig-errors-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, "a-directory"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** [command line, what the one line must say]. */
const table: [string[], RegExp][] = [
  // commander's own errors
  [["frobnicate"], /unknown command 'frobnicate'/],
  [["simulat"], /unknown command 'simulat' \(Did you mean simulate\?\)/],
  [["simulate", "ok.yaml", "--bogus"], /unknown option '--bogus'/],
  [["simulate", "ok.yaml", "--seed"], /option '--seed <n>' argument missing/],
  [["analyze"], /missing required argument 'files'/],
  [["compare", "ok.yaml"], /missing required argument 'b'/],
  [["demo", "extra"], /too many arguments for 'demo'/],
  [["demo", "--bogus"], /unknown option '--bogus'/],
  [["calibrate", "runs.json"], /required option '-o, --output <file>' not specified/],
  [["calibrate", "runs.json", "-o"], /option '-o, --output <file>' argument missing/],
  [["run"], /missing required argument 'file'/],
  [["run", "ok.yaml", "--html"], /option '--html <file>' argument missing/],
  [["dest", "--secret-file", "secret"], /required option '--listen <host:port>' not specified/],
  [["qemu"], /missing required argument 'scenario'/],
  [["qemu", "ok.yaml", "--runs"], /option '--runs <n>' argument missing/],
  // simulate: scenario files
  [["simulate"], /expected a scenario file/],
  [["simulate", "missing.yaml"], /missing\.yaml: cannot read the scenario file \(no such file or directory\)/],
  [["simulate", "a-directory"], /a-directory: cannot read the scenario file \(it is a directory\)/],
  [["simulate", "alias.yaml"], /alias\.yaml:2: alias \*nope names no anchor/],
  [["simulate", "alias-bomb.yaml"], /alias-bomb\.yaml: 120 aliases \(\*name\); a scenario file has at most 100/],
  [["simulate", "laughs.yaml"], /laughs\.yaml: aliases expand to more than 100 copies/],
  [["simulate", "brackets.yaml"], /brackets\.yaml: 10000000 characters; a scenario file has at most 262144/],
  [["simulate", "deep.yaml"], /deep\.yaml:1: nested more than 64 levels deep/],
  [["simulate", "dashes.yaml"], /dashes\.yaml:1: content starts at column \d+/],
  [["simulate", "huge-memory.yaml"], /vm\.memory: expected at most .*got "1e30GiB"/],
  [["simulate", "zero-memory.yaml"], /vm\.memory: expected at least one page \(4\.00 KiB\), got 0 B/],
  [["simulate", "zero-bandwidth.yaml"], /link\.bandwidth: expected more than 0, got 0/],
  [["simulate", "infinite-bandwidth.yaml"], /link\.bandwidth: expected a bandwidth .*got "Infinity"/],
  [["simulate", "infinite-latency.yaml"], /link\.latency: expected a duration .*got "1e400s"/],
  [["simulate", "pinning.yaml"], /devices\.0\.pinning: expected at-start \| early, got "earley"/],
  [["simulate", "hot-cold.yaml"], /vm\.workload\.kind: expected kind to be one of idle \| uniform \| hotcold \| zipf \| scan, got "hot-cold"/],
  [["simulate", "auto-converge.yaml"], /migration\.autoConverge: expected a boolean, got "yes"/],
  [["simulate", "missing-device.yaml"], /"devices\.1\.pinning": "devices\.1" does not exist: devices has 1 entry/],
  [["simulate", "working-set.yaml"], /vm\.workload\.workingSet: expected at most vm\.memory \(1\.00 GiB\), got 2\.00 GiB/],
  [["simulate", "qemu-size.yaml"], /vm\.memory: .*write 16GiB \(QEMU's -m 16G, powers of two\) or 16GB/],
  [["simulate", "used.yaml"], /vm\.used: expected at most vm\.memory \(1\.00 GiB\), got 2\.00 GiB/],
  [["simulate", "collection-key.yaml"], /collection-key\.yaml:1: \(top level\): unknown key "\{\}"/],
  [["simulate", "many-problems.yaml"], /many-problems\.yaml.*\(and \d+ more problems\)/],
  [["simulate", "ok.yaml", "--seed", "x"], /--seed: expected an integer/],
  [["simulate", "ok.yaml", "--profile", "missing.yaml"], /missing\.yaml: cannot read the profile \(no such file or directory\)/],
  [["simulate", "ok.yaml", "--profile", "profile.yaml"], /profile\.yaml: not YAML/],
  [["simulate", "ok.yaml", "--cpu-wait", "0.2"], /--cpu-wait: needs --profile/],
  [["simulate", "ok.yaml", "--profile", "no-wait-profile.yaml", "--cpu-wait", "1.5"], /--cpu-wait: expected a share between 0 and 0\.9/],
  [["simulate", "ok.yaml", "--profile", "no-wait-profile.yaml", "--cpu-wait", "0.2"], /--cpu-wait: no-wait-profile\.yaml does not say the CPU wait its costs were fitted at \(cpuWaitShare\)/],
  [["simulate", "ok.yaml", "--html", "no-such-dir/x.html"], /--html no-such-dir\/x\.html: cannot write the report \(no such file or directory\)/],
  [["simulate", "ok.yaml", "--html", "a-directory"], /--html a-directory: cannot write the report \(it is a directory\)/],
  // analyze and compare
  [["analyze", "deep.jsonl"], /deep\.jsonl:1: expected a query-migrate reply/],
  [["analyze", "missing.trace"], /missing\.trace/],
  [["analyze", "carriage-return.json"], /carriage-return\.json:1: expected JSON: Unexpected token '}', "\{"a":\?}" is not valid JSON/],
  [["analyze", join(fx, "vdpa-pair"), "--interval", "0"], /--interval: expected a positive number of milliseconds, got "0"/],
  [["analyze", join(fx, "vdpa-pair"), "--clock-offset", "soon"], /--clock-offset: expected a number of milliseconds, got "soon"/],
  [["analyze", join(fx, "vdpa-pair"), "--html", "no-such-dir/x.html"], /--html no-such-dir\/x\.html: cannot write the report/],
  [["compare", "missing-a", "missing-b"], /missing-a: no such file or directory/],
  [["compare", join(fx, "runs/early"), join(fx, "runs/early"), "--interval", "-1"], /--interval: expected a positive number/],
  [["compare", join(fx, "runs/early"), join(fx, "runs/early"), "--clock-offset", "soon"], /--clock-offset: expected a number of milliseconds, got "soon"/],
  [["analyze", "nothing-here-*.log"], /nothing-here-\*\.log: no file matches/],
  // calibrate
  [["calibrate", "missing.json", "-o", "p.yaml"], /missing\.json: cannot read \(no such file or directory\)/],
  [["calibrate", "runs.json", "-o", "p.yaml"], /runs\.json: .*expected the output of livemig qemu --json/],
  [["calibrate", "ok.yaml", "-o", "p.yaml"], /ok\.yaml: not JSON/],
  // run, dest: addresses and secrets
  [["run", "ok.yaml", "--dest", "nohost"], /--dest: expected HOST:PORT, got "nohost"/],
  [["run", "ok.yaml", "--dest", "localhost:99999"], /--dest: expected HOST:PORT, got "localhost:99999"/],
  [["run", "ok.yaml", "--dest", "127.0.0.1:1"], /--dest: needs --secret-file/],
  [["run", "ok.yaml", "--emulate-link", "bogus"], /--emulate-link: expected one of/],
  [["run", "ok.yaml", "--profile", "p.yaml"], /--profile: only with --predict/],
  [["run", "ok.yaml", "--predict", "--profile", "missing.yaml"], /missing\.yaml: cannot read the profile/],
  [["run", "alias.yaml"], /alias\.yaml:2: alias \*nope/],
  [["run", "missing.yaml"], /missing\.yaml: cannot read the scenario file \(no such file or directory\)/],
  [["run", "ok.yaml", "--seed", "x"], /--seed: expected an integer in \[0, 2147483647\], got "x"/],
  [["run", "ok.yaml", "--runs", "0"], /--runs: expected a whole number of runs from 1 to 1000, got "0"/],
  [["run", "ok.yaml", "--peer-timeout", "soon"], /--peer-timeout: expected seconds between 0\.1 and 3600, got "soon"/],
  [["run", "ok.yaml", "--start-at", "noon"], /--start-at: expected a wall-clock time in ms since 1970, got "noon"/],
  [["dest", "--listen", "127.0.0.1:0", "--secret-file", "secret", "--peer-timeout", "x"], /--peer-timeout: expected seconds between 0\.1 and 3600, got "x"/],
  [["dest", "--listen", "nonsense", "--secret-file", "secret"], /--listen: expected HOST:PORT, got "nonsense"/],
  [["dest", "--listen", "127.0.0.1:70000", "--secret-file", "secret"], /--listen: expected HOST:PORT/],
  [["dest", "--listen", "127.0.0.1:0", "--secret-file", "missing"], /--secret-file missing: cannot read it \(no such file or directory\)/],
  // qemu (refused before any QEMU starts)
  [["qemu", "ok.yaml", "--runs", "0"], /--runs: expected an integer/],
  [["qemu", "missing.yaml"], /missing\.yaml: cannot read the scenario file \(no such file or directory\)/],
  [["qemu", "ok.yaml", "--profile", "missing.yaml"], /missing\.yaml: cannot read the profile/],
  // serve
  [["serve", "--port", "70000"], /--port: expected an integer in \[0, 65535\]/],
  [["serve", "--port", "abc"], /--port: expected an integer in \[0, 65535\]/],
  [["serve", "--port"], /option '--port <n>' argument missing/],
];

describe("bad input to every command: exit 2 and one line", () => {
  const outcomes: Outcome[] = [];
  // Each case is a node process: two at a time.
  beforeAll(async () => {
    let next = 0;
    const worker = async () => {
      while (next < table.length) {
        const i = next++;
        outcomes[i] = await livemig(table[i][0], dir);
      }
    };
    await Promise.all([worker(), worker()]);
  }, 240_000);

  it.each(table.map(([args, says], i) => [args.join(" "), says, i] as const))("livemig %s", (_, says, i) => {
    const r = outcomes[i];
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.endsWith("\n")).toBe(true);
    const lines = r.stderr.slice(0, -1).split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^livemig: /);
    expect(lines[0]).toMatch(says);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(2);
  });
});

describe("livemig serve", () => {
  it("answers a request target that is no URL with 400 and keeps serving", async () => {
    const child = spawn(process.execPath, [cli, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d;
          const m = /127\.0\.0\.1:(\d+)\//.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
      });
      const raw = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1", () => socket.end(request));
          let reply = "";
          socket.on("data", (d: Buffer) => (reply += d));
          socket.on("close", () => resolve(reply));
          socket.on("error", reject);
        });
      expect(await raw("GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
      expect(await raw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 /);
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill();
    }
  }, 30_000);
});
