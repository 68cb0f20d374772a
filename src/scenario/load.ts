// Reads scenario text (YAML or JSON) into validated runs: the base scenario, then each
// variant with its `set` paths applied. Errors name the file, line and field.

import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, visit, type Document, type Node } from "yaml";
import { flowNesting } from "../core/nesting.js";
import { formatBytes } from "../core/format.js";
import type * as z from "../zod.js";
import { describe, maxPages, scenarioSchema, type Scenario } from "./schema.js";

export class ScenarioError extends Error {
  /** The message is one line (the first problem); `problems` holds them all. */
  constructor(readonly problems: string[]) {
    super(problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : problems[0]);
    this.name = "ScenarioError";
  }
}

export interface ScenarioRun {
  variant: string;
  scenario: Scenario;
}

/** Limits checked before the YAML parser runs, so a hostile file fails with a message, not a crash. */
export const inputLimits = {
  /**
   * Characters. 2,000 variants take ~160 KiB; the yaml package parses ~0.5 MB/s at worst
   * (a line per key inside a flow mapping), so this bounds a parse to about half a second.
   */
  maxChars: 256 * 1024,
  /** Nested [ ] and { }. */
  maxFlowDepth: 64,
  /** Column where a line's content starts (indentation plus "- " indicators): bounds block nesting. */
  maxColumn: 256,
  /** Aliases expanded (the yaml package's default, stated here since the message quotes it). */
  maxAliases: 100,
};

export function loadScenario(text: string, file = "<scenario>"): ScenarioRun[] {
  return loadRuns(text, file, "name, vm, link", validate).map((r) => ({ variant: r.variant, scenario: r.value }));
}

/** A validator of one run: `where` names the file, line and field of a path. */
export type Validator<T> = (raw: unknown, where: (path: PropertyKey[]) => string, suffix: string) => T;

/**
 * Text (YAML or JSON) with variants into validated runs: the base, then each variant with its
 * `set` paths applied. The scenario file and the fleet file (scenario/fleet.ts) both read this way.
 */
export function loadRuns<T extends { variants: { name: string; set: Record<string, unknown> }[] }>(
  text: string, file: string, topLevel: string, check: Validator<T>,
): { variant: string; value: T }[] {
  checkShape(text, file);
  const lines = new LineCounter();
  // Keys are checked for duplicates below: the yaml package's own check compares each key
  // with every other (100,000 keys took it three minutes).
  // Not prettyErrors either: it copies the whole line for every error (quadratic on one long line).
  // logLevel "error": the yaml package's warnings (a collection used as a key) would print
  // lines of their own on stderr; such a key is an unknown key to the schema anyway.
  const doc = withoutStacks(() => parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, logLevel: "error" }));
  if (doc.errors.length > 0) {
    throw new ScenarioError(doc.errors.map((e) => `${file}:${lines.linePos(e.pos[0]).line}: ${e.message.split("\n")[0]}`));
  }
  checkUniqueKeys(doc, lines, file);
  const raw = toJS(doc, lines, file);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ScenarioError([`${file}: expected a mapping with ${topLevel}, ... at the top level`]);
  }
  const where = (path: PropertyKey[]) => {
    const line = lineOf(doc, lines, path);
    return `${file}${line ? `:${line}` : ""}: ${path.length ? path.join(".") : "(top level)"}`;
  };
  const base = check(raw, where, "");
  const runs = [{ variant: "base", value: base }];
  const names = new Set(["base"]);
  const { variants: _, ...withoutVariants } = raw as Record<string, unknown>;
  base.variants.forEach((v, i) => {
    const here = where(["variants", i, "set"]);
    if (names.has(v.name)) throw new ScenarioError([`${where(["variants", i])}: variant name "${v.name}" is used twice (or is "base")`]);
    names.add(v.name);
    // Only the containers along the set paths are copied: the rest is shared with the base.
    const copy = { ...withoutVariants };
    const copied = new Set<object>([copy]);
    for (const [path, value] of Object.entries(v.set)) {
      const problem = setPath(copy, path.split("."), value, copied);
      if (problem) throw new ScenarioError([`${here}: "${path}": ${problem} (variant "${v.name}")`]);
    }
    runs.push({ variant: v.name, value: check(copy, (p) => `${here}: ${p.length ? p.join(".") : "(top level)"}`, ` (variant "${v.name}")`) });
  });
  return runs;
}

/**
 * The yaml package makes an Error per problem, and each captures a stack trace: 100,000
 * problems (a line of quotes) took seconds for traces nobody reads.
 */
function withoutStacks<T>(work: () => T): T {
  const v8 = Error as { stackTraceLimit?: number }; // V8's (Node, Chromium); elsewhere a no-op
  const limit = v8.stackTraceLimit;
  v8.stackTraceLimit = 0;
  try {
    return work();
  } finally {
    v8.stackTraceLimit = limit;
  }
}

/** Size and nesting, before parsing. */
function checkShape(text: string, file: string): void {
  if (text.length > inputLimits.maxChars) {
    throw new ScenarioError([`${file}: ${text.length} characters; a scenario file has at most ${inputLimits.maxChars} (256 KiB)`]);
  }
  const flow = flowNesting(text, inputLimits.maxFlowDepth);
  if (flow.depth > inputLimits.maxFlowDepth) {
    throw new ScenarioError([`${file}:${flow.line}: nested more than ${inputLimits.maxFlowDepth} levels deep in [ ] or { }`]);
  }
  // The yaml package resolves each alias by a walk of the document, and 200,000 of them took
  // it five minutes: more than the expansion limit allows are refused before it starts.
  const aliases = text.match(/(?:^|[\s,[{])\*[^\s,[\]{}]/g)?.length ?? 0;
  if (aliases > inputLimits.maxAliases) {
    throw new ScenarioError([`${file}: ${aliases} aliases (*name); a scenario file has at most ${inputLimits.maxAliases}`]);
  }
  let line = 0;
  for (const l of text.split("\n")) {
    line++;
    const column = /^(?:[ \t]|[-?:](?=[ \t]))*/.exec(l)![0].length;
    if (column > inputLimits.maxColumn) {
      throw new ScenarioError([`${file}:${line}: content starts at column ${column + 1}; nesting that deep is refused (at most column ${inputLimits.maxColumn})`]);
    }
  }
}

function checkUniqueKeys(doc: Document, lines: LineCounter, file: string): void {
  let duplicate: string | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        const at = isNode(pair.key) && pair.key.range ? `:${lines.linePos(pair.key.range[0]).line}` : "";
        duplicate = `${file}${at}: key "${key}" appears twice in the same mapping`;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (duplicate) throw new ScenarioError([duplicate]);
}

/** The document as plain data; aliases that point nowhere or expand too often are the file's error. */
function toJS(doc: Document, lines: LineCounter, file: string): unknown {
  let unresolved: string | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc)) return undefined;
      unresolved = `${file}:${node.range ? lines.linePos(node.range[0]).line : "?"}: alias *${node.source} names no anchor (&${node.source}) defined before it`;
      return visit.BREAK;
    },
  });
  if (unresolved) throw new ScenarioError([unresolved]);
  try {
    return doc.toJS({ maxAliasCount: inputLimits.maxAliases }) as unknown;
  } catch (e) {
    if (e instanceof ReferenceError) {
      throw new ScenarioError([`${file}: aliases expand to more than ${inputLimits.maxAliases} copies; write the values out`]);
    }
    throw e;
  }
}

function validate(raw: unknown, where: (path: PropertyKey[]) => string, suffix: string): Scenario {
  const s = parseWith(scenarioSchema, raw, where, suffix);
  checkVm(s.vm, (path, what) => new ScenarioError([`${where(path)}: ${what}${suffix}`]));
  return s;
}

/** Parses with a zod schema; every issue a line naming the file, line and field. */
export function parseWith<S extends z.ZodMiniType>(schema: S, raw: unknown, where: (path: PropertyKey[]) => string, suffix: string): z.output<S> {
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((i) => `${where(i.path)}: ${describe(i)}${suffix}`));
  return parsed.data;
}

/** What the schema cannot say about a VM: page size, memory against pages, used and working set within memory. */
export function checkVm(vm: Scenario["vm"], problemAt: (path: PropertyKey[], what: string) => ScenarioError, prefix: PropertyKey[] = ["vm"]): void {
  const problem = (path: string[], what: string) => problemAt([...prefix, ...path.slice(1)], what);
  const { memory, pageSize, used, workload } = vm;
  if (pageSize <= 0 || (pageSize & (pageSize - 1)) !== 0) throw problem(["vm", "pageSize"], `expected a power of two, got ${pageSize} B`);
  if (memory < pageSize) throw problem(["vm", "memory"], `expected at least one page (${formatBytes(pageSize)}), got ${formatBytes(memory)}`);
  if (memory / pageSize > maxPages) {
    throw problem(["vm", "memory"], `expected at most ${maxPages} pages (${formatBytes(maxPages * pageSize)} of ${formatBytes(pageSize)} pages: what the simulator holds), got ${formatBytes(memory)}`);
  }
  if (used !== undefined && used > memory) throw problem(["vm", "used"], `expected at most vm.memory (${formatBytes(memory)}), got ${formatBytes(used)}`);
  if ("workingSet" in workload && workload.workingSet > memory) {
    throw problem(["vm", "workload", "workingSet"], `expected at most vm.memory (${formatBytes(memory)}), got ${formatBytes(workload.workingSet)}`);
  }
}

/**
 * Sets `path` in `obj`, copying each container on the way the first time this variant
 * touches it. A list entry must exist: `devices.1.pinning` with one device is an error.
 */
function setPath(obj: Record<string, unknown>, path: string[], value: unknown, copied: Set<object>): string | undefined {
  let node: Record<string, unknown> = obj;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    const here = path.slice(0, i + 1).join(".");
    if (key === "" || key === "__proto__" || key === "constructor" || key === "prototype") return `"${here}" is not a field`;
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0) return `"${here}": expected a list index 0..${node.length - 1}`;
      if (index >= node.length) {
        const list = path.slice(0, i).join(".");
        return `"${here}" does not exist: ${list} has ${node.length} entr${node.length === 1 ? "y" : "ies"} (${list}.0${node.length > 1 ? `..${list}.${node.length - 1}` : ""})`;
      }
    }
    if (i === path.length - 1) break;
    let next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === undefined) {
      if (/^\d+$/.test(path[i + 1])) return `"${here}.${path[i + 1]}" does not exist: the scenario has no ${here} list to index`;
      next = {};
    } else if (typeof next !== "object" || next === null) {
      return `"${here}" is not a mapping or list`;
    } else if (!copied.has(next)) {
      next = Array.isArray(next) ? [...next] : { ...next };
    }
    copied.add(next as object);
    node[key] = next;
    node = next as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
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
