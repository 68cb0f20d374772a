// src/core/nesting.ts, the scan that finds how deeply a YAML or JSON text nests before a parser
// sees it, on texts small enough to count by hand: where brackets count, where they do not
// (strings of either quote, comments), and the line the deepest level is first reached on.

import { describe, expect, it } from "vitest";
import { flowNesting } from "../src/core/nesting.js";

/** [why, text, depth, line the deepest level is first reached on, limit]. */
type Case = [string, string, number, number, number?];

const cases: Record<string, Case[]> = {
  "counts nested flow collections and the line the deepest is first reached on": [
    ["nothing", "", 0, 1],
    ["one line", "{a: [1, {b: 2}]}", 3, 1],
    ["over lines", "a: 1\nb: [\n  {c: [x]}\n]\n", 3, 3],
    ["depth 2 on lines 2 and 3: the first", "[1]\n[[2]]\n[[3]]", 2, 2],
    ["a closing bracket with nothing open closes nothing", "]] [", 1, 1],
    // Were } not a close, the { of line 1 would stay open and line 2 reach 3.
    ["} closes a map as ] closes a list", "{a: 1}\n{b: [1]}", 2, 2],
  ],
  "skips brackets inside strings: double quotes with backslash escapes, single quotes with ''": [
    ["brackets in keys and values", '{"a[": "}{[["}', 1, 1],
    // Ended at \", the [ would count and the last " open a string to the end.
    ['\\" does not end the string', '["a\\"[", 1]', 1, 1],
    ["'' inside '...' is a quote, not the string's end", "['it''s [', 1]", 1, 1],
    ["inside \"...\" ' is a plain character", `["a''[", 1]`, 1, 1],
    ["a backslash does not escape in '...'", `['a\\', [1]]`, 2, 1],
    ["a string at the very start", '"[[" [1]', 1, 1],
    ["strings after [ { , and a space", "[a,'[',{\"}\": 1}]", 2, 1],
    ["a line break inside a string still counts as a line", 'x: "a\nb"\ny: [[1]]', 2, 3],
  ],
  // Were the ' of don't a string's start, the rest of the text would be inside it: depth 1.
  "a quote inside a word opens no string": [
    ["single quote", "[don't, [1]]", 2, 1],
    ["double quote", '[say"x, [1]]', 2, 1],
  ],
  "skips a comment (# at the start or after white space) to the end of its line": [
    ["after white space", "a: 1 # [[[[\nb: [1]", 1, 2],
    ["at the start", "#[[\n[1]", 1, 2],
    ["after a collection", "a: [1] # [[[", 1, 1],
    ["not after white space: part of a word, the brackets after it count", "[a#[b]]", 2, 1],
    // The character before the # decides, not the one after it.
    ["after white space, a bracket right after it", "a: 1 #[[\nb: [1]", 1, 2],
    ["after a word, white space right after it", "[a# [b]]", 2, 1],
  ],
  "stops counting once past the limit": [
    ["past the limit of 3", "[[[\n[[[[[", 4, 2, 3],
    ["no limit", "[[[\n[[[[[", 8, 2],
    ["at the limit, not past it: goes on", "[[[]]]", 3, 1, 3],
  ],
};

describe("flowNesting", () => {
  for (const [rule, table] of Object.entries(cases)) {
    it(rule, () => {
      for (const [why, text, depth, line, limit] of table) {
        expect(limit === undefined ? flowNesting(text) : flowNesting(text, limit), why).toEqual({ depth, line });
      }
    });
  }
});
