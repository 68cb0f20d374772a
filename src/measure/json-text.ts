// JSON input as people save it: one document (often pretty-printed) or JSON lines (a QMP
// transcript, a prober log). Every value comes with the line it starts on, and a way to find
// the line of a field inside it, so that errors can say "file:17: ram.transferred: ...".

import { LineCounter, parseDocument, isMap, isSeq, type Node } from "yaml";
import { flowNesting } from "../core/nesting.js";
import { error, excerpt, warning, type Parsed, type Problem } from "./problems.js";

/** Deeper documents are located by their first line only. */
const maxLocatedDepth = 64;

export interface JsonRecord {
  value: unknown;
  /** 1-based line where the value starts. */
  line: number;
  /** The line of the deepest node along `path` inside this value. */
  lineOf(path: PropertyKey[]): number;
}

export function readJson(text: string): Parsed<JsonRecord[]> {
  const firstLine = firstContentLine(text);
  if (firstLine === undefined) return { value: [], problems: [error(0, "empty file: expected JSON")] };
  try {
    const value = JSON.parse(text) as unknown;
    return { value: [record(text, value, firstLine, 0)], problems: [] };
  } catch (e) {
    const lines = text.split("\n");
    if (isJson(lines[firstLine - 1])) return readJsonLines(lines, text.endsWith("\n"));
    // V8 quotes a piece of the input, which may hold a \r or other control characters.
    const why = (e as Error).message.split("\n")[0].replace(/[\x00-\x1f\x7f]/g, "?");
    return { value: [], problems: [error(syntaxErrorLine(text, e as Error), `expected JSON: ${why}`)] };
  }
}

function readJsonLines(lines: string[], endsWithNewline: boolean): Parsed<JsonRecord[]> {
  const records: JsonRecord[] = [];
  const problems: Problem[] = [];
  let last = lines.length - 1;
  while (last > 0 && lines[last].trim() === "") last--;
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return;
    try {
      records.push(record(raw, JSON.parse(raw) as unknown, i + 1, i));
    } catch {
      // A writer stopped mid-line leaves a cut last line; everything before it still counts.
      if (i === last && !endsWithNewline) problems.push(warning(i + 1, `last line cut off, ignored: ${excerpt(raw)}`));
      else problems.push(error(i + 1, `expected one JSON value per line, got ${excerpt(raw)}`));
    }
  });
  return { value: records, problems };
}

function record(text: string, value: unknown, line: number, lineOffset: number): JsonRecord {
  let located: { doc: ReturnType<typeof parseDocument>; counter: LineCounter } | null | undefined;
  return {
    value,
    line,
    lineOf(path) {
      if (located === undefined) {
        // One JSON line holds the whole value: no parser needed. A value nested hundreds deep
        // is not handed to the yaml parser either (it recurses per level and exhausts V8).
        if (!text.includes("\n") || flowNesting(text, maxLocatedDepth).depth > maxLocatedDepth) located = null;
        else {
          // Valid JSON is valid YAML, and the yaml package keeps source ranges: borrow them.
          const counter = new LineCounter();
          located = { doc: parseDocument(text, { lineCounter: counter }), counter };
        }
      }
      if (located === null) return line;
      for (let n = path.length; n >= 0; n--) {
        const node = located.doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
        if (node && (isMap(node) || isSeq(node) || "range" in node) && node.range) {
          return located.counter.linePos(node.range[0]).line + lineOffset;
        }
      }
      return line;
    },
  };
}

function isJson(line: string | undefined): boolean {
  if (line === undefined) return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function firstContentLine(text: string): number | undefined {
  const i = text.split("\n").findIndex((l) => l.trim() !== "");
  return i < 0 ? undefined : i + 1;
}

/** V8 names a position for most syntax errors, quotes a snippet for the rest. */
function syntaxErrorLine(text: string, e: Error): number {
  const lineAt = (offset: number) => text.slice(0, offset).split("\n").length;
  const position = /at position (\d+)/.exec(e.message);
  if (position) return lineAt(Number(position[1]));
  if (/Unexpected end of JSON input/.test(e.message)) return text.trimEnd().split("\n").length;
  const snippet = /^Unexpected token .*?, "(?:\.\.\.)?([\s\S]*?)(?:\.\.\.)?" is not valid JSON/.exec(e.message);
  if (snippet && snippet[1].length < text.length) {
    const at = text.indexOf(snippet[1]);
    if (at >= 0) return lineAt(at + (snippet[1].length >> 1));
  }
  return firstContentLine(text) ?? 1;
}
