// src/core/nesting.ts, the scan that finds how deeply a YAML or JSON text nests before a parser
// sees it, on texts small enough to count by hand: where brackets count, where they do not
// (strings of either quote, comments), and the line the deepest level is first reached on.

import { describe, expect, it } from "vitest";
import { flowNesting } from "../src/core/nesting.js";

describe("flowNesting", () => {
  it("counts nested flow collections and the line the deepest is first reached on", () => {
    expect(flowNesting("")).toEqual({ depth: 0, line: 1 });
    expect(flowNesting("{a: [1, {b: 2}]}")).toEqual({ depth: 3, line: 1 });
    expect(flowNesting("a: 1\nb: [\n  {c: [x]}\n]\n")).toEqual({ depth: 3, line: 3 });
    // Depth 2 on lines 2 and 3: the first.
    expect(flowNesting("[1]\n[[2]]\n[[3]]")).toEqual({ depth: 2, line: 2 });
    // A closing bracket with nothing open closes nothing.
    expect(flowNesting("]] [")).toEqual({ depth: 1, line: 1 });
  });

  it("skips brackets inside strings: double quotes with backslash escapes, single quotes with ''", () => {
    expect(flowNesting('{"a[": "}{[["}')).toEqual({ depth: 1, line: 1 });
    // \" does not end the string: its [ stays inside (ended there, the [ would count and the last " open a
    // string to the end).
    expect(flowNesting('["a\\"[", 1]')).toEqual({ depth: 1, line: 1 });
    // '' inside '...' is a quote, not the string's end; nor inside "...", where ' is a plain character.
    expect(flowNesting("['it''s [', 1]")).toEqual({ depth: 1, line: 1 });
    expect(flowNesting(`["a''[", 1]`)).toEqual({ depth: 1, line: 1 });
    expect(flowNesting(`['a\\', [1]]`)).toEqual({ depth: 2, line: 1 });
    // A string at the very start, after [ { , and after a space.
    expect(flowNesting('"[[" [1]')).toEqual({ depth: 1, line: 1 });
    expect(flowNesting("[a,'[',{\"}\": 1}]")).toEqual({ depth: 2, line: 1 });
    // A line break inside a string still counts as a line.
    expect(flowNesting('x: "a\nb"\ny: [[1]]')).toEqual({ depth: 2, line: 3 });
  });

  it("a quote inside a word opens no string", () => {
    // Were the ' of don't a string's start, the rest of the text would be inside it: depth 1.
    expect(flowNesting("[don't, [1]]")).toEqual({ depth: 2, line: 1 });
    expect(flowNesting('[say"x, [1]]')).toEqual({ depth: 2, line: 1 });
  });

  it("skips a comment (# at the start or after white space) to the end of its line", () => {
    expect(flowNesting("a: 1 # [[[[\nb: [1]")).toEqual({ depth: 1, line: 2 });
    expect(flowNesting("#[[\n[1]")).toEqual({ depth: 1, line: 2 });
    expect(flowNesting("a: [1] # [[[")).toEqual({ depth: 1, line: 1 });
    // Not after white space: part of a word, and the brackets after it count.
    expect(flowNesting("[a#[b]]")).toEqual({ depth: 2, line: 1 });
  });

  it("stops counting once past the limit", () => {
    expect(flowNesting("[[[\n[[[[[", 3)).toEqual({ depth: 4, line: 2 });
    expect(flowNesting("[[[\n[[[[[")).toEqual({ depth: 8, line: 2 });
    // At the limit, not past it: goes on.
    expect(flowNesting("[[[]]]", 3)).toEqual({ depth: 3, line: 1 });
  });
});
