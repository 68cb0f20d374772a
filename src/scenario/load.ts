// Reads scenario text (YAML or JSON) into validated runs: the base scenario, then each
// variant with its `set` paths applied. Errors name the file, line and field.

import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node } from "yaml";
import { describe, scenarioSchema, type Scenario } from "./schema.js";

export class ScenarioError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ScenarioError";
  }
}

export interface ScenarioRun {
  variant: string;
  scenario: Scenario;
}

export function loadScenario(text: string, file = "<scenario>"): ScenarioRun[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? "?"}: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`),
    );
  }
  const raw = doc.toJS() as unknown;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ScenarioError([`${file}: expected a mapping with name, vm, link, ... at the top level`]);
  }
  const where = (path: PropertyKey[]) => {
    const line = lineOf(doc, lines, path);
    return `${file}${line ? `:${line}` : ""}: ${path.length ? path.join(".") : "(top level)"}`;
  };
  const base = validate(raw, where, "");
  const runs: ScenarioRun[] = [{ variant: "base", scenario: base }];
  base.variants.forEach((v, i) => {
    const copy = structuredClone(raw) as Record<string, unknown>;
    delete copy.variants;
    for (const [path, value] of Object.entries(v.set)) {
      const problem = setPath(copy, path.split("."), value);
      if (problem) throw new ScenarioError([`${where(["variants", i, "set"])}: "${path}": ${problem}`]);
    }
    const scenario = validate(copy, (p) => `${where(["variants", i, "set"])}: ${p.join(".")}`, ` (variant "${v.name}")`);
    runs.push({ variant: v.name, scenario });
  });
  const names = runs.map((r) => r.variant);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ScenarioError([`${where(["variants"])}: variant name "${dup}" is used twice (or is "base")`]);
  return runs;
}

function validate(raw: unknown, where: (path: PropertyKey[]) => string, suffix: string): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  if (parsed.success) {
    const s = parsed.data;
    if (s.vm.used !== undefined && s.vm.used > s.vm.memory) {
      throw new ScenarioError([`${where(["vm", "used"])}: expected at most vm.memory (${s.vm.memory} B), got ${s.vm.used} B${suffix}`]);
    }
    if (s.vm.pageSize <= 0 || (s.vm.pageSize & (s.vm.pageSize - 1)) !== 0) {
      throw new ScenarioError([`${where(["vm", "pageSize"])}: expected a power of two${suffix}`]);
    }
    return s;
  }
  throw new ScenarioError(parsed.error.issues.map((i) => `${where(i.path)}: ${describe(i)}${suffix}`));
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): string | undefined {
  let node: unknown = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const container = node as Record<string, unknown>;
    if (container[key] === undefined) container[key] = {};
    node = container[key];
    if (typeof node !== "object" || node === null) return `"${path.slice(0, i + 1).join(".")}" is not a mapping or list`;
  }
  (node as Record<string, unknown>)[path[path.length - 1]] = value;
  return undefined;
}

function lineOf(doc: Document, lines: LineCounter, path: PropertyKey[]): number | undefined {
  // The deepest node that exists along the path.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
    if (node && (isMap(node) || isSeq(node) || "range" in node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
