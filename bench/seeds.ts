// Seeds for the input fuzzing: the shipped scenarios and measurement fixtures, and the
// cases of issue 14 that crashed or hung livemig.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../src/project-root.js";

/** The repository (this file runs from bench/ under vitest and from dist/bench/ built). */
export const root = projectRoot();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The issue's scenario cases, kept last (tests look at them alone). */
export const issueScenarios = [
  "name: t\nvm: {memory: *nope}\nlink: {bandwidth: 1Gbit/s}\n",
  `a: &a [1, 2]\nb: [${Array(120).fill("*a").join(", ")}]\n`,
  "name: t\nvm: {memory: 1e30GiB}\nlink: {bandwidth: 1Gbit/s}\n",
  "name: t\nvm: {memory: 0}\nlink: {bandwidth: 0, latency: 1e400s}\n",
  "name: t\nvm: {memory: 64GiB, workload: {kind: uniform, workingSet: 64GiB, rate: 1e9}}\nlink: {bandwidth: 10Gbit/s}\n",
  "name: t\nvm: {memory: 1GiB}\nlink: {bandwidth: 1Gbit/s}\ndevices: [{kind: vdpa, pinning: earley}]\nvariants: [{name: e, set: {devices.1.pinning: early}}]\n",
  "[".repeat(5000),
];

export const scenarioSeeds = [
  ...readdirSync(join(root, "scenarios"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => readFileSync(join(root, "scenarios", f), "utf8")),
  ...issueScenarios,
];

export const measureSeeds = [
  ...filesUnder(join(root, "test/fixtures/measure")).map((f) => readFileSync(f, "utf8")),
  `${"[".repeat(900)}${"]".repeat(900)}\n`.repeat(2),
  `${'{"a":'.repeat(900)}1${"}".repeat(900)}\n`.repeat(2),
];
