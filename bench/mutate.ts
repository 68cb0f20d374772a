// Mutated inputs for the fuzz tests (test/input-fuzz.test.ts) and the fuzz bench
// (bench/input-fuzz.ts): a seed text with a few edits of the kinds that broke livemig
// before (issue 14): extreme numbers, aliases, deep nesting, cut and shuffled lines.

import fc from "fast-check";

/** Values a field can be given: extremes, wrong types, wrong units, YAML tricks. */
export const scenarioValues = [
  "0", "-1", "1e400", "1e400s", "1e30GiB", "Infinity", "-Infinity", ".nan", "NaN", "1e-320", "4294967296",
  "16G", "0B", "1B", "4TiB", "5TiB", "1bit/s", "0Gbit/s", "10Gb/s", "1e9", "1e13", "0.5", "earley", "hot-cold",
  "yes", "~", "null", "[]", "{}", '""', "''", "*nope", "&a 1", "*a", "!!binary aGk=", "[[[[[[", "{a: {b: {c: ",
];

/** Snippets inserted as lines. */
export const scenarioLines = [
  "variants: [{name: v, set: {devices.3.pinning: early}}]",
  "variants: [{name: base, set: {}}]",
  "  - {name: w, set: {vm.memory: 0}}",
  "  - {name: x, set: {__proto__.polluted: 1}}",
  "  - {name: y, set: {migration.giveUp: {}}}",
  "a: &a [1, 2, 3]",
  "b: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "devices: [{kind: vdpa, pinning: early, pinningMsPerGiB: 1e300}]",
  "probe: {interval: 0}",
  "migration: {giveUp: {}}",
  "- - - - - - - - - - x",
  "? complex",
  "\t",
  "%YAML 1.2",
  "---",
  "...",
  "\0",
];

/** Tokens for measurement files: timestamps, sequence numbers, JSON pieces. */
export const measureValues = [
  "0", "-1", "1e400", "NaN", "9007199254740993", "1.5", "", "null", "[", "]", "{", "}", '"', ",", ":",
  "1700000000.000001", "9999999999", "icmp_seq=0", "icmp_seq=-5", "time=1e400", "seq", "sent", "\0", "\r",
];

export const measureLines = [
  '{"seq": 1, "sent": 1e400, "received": null}',
  '{"return": {"status": "completed", "ram": {"transferred": -1}}}',
  '{"return": null}',
  '{"status": "none"}',
  '{"scenario": "x", "runs": [{"variant": "a", "result": null}]}',
  "64 bytes from 10.0.0.2: icmp_seq=4294967296 ttl=64 time=0.1 ms",
  "[99999999999.0] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms",
  "1@99999999999.999999:vhost_vdpa_suspend dev 0x1",
  "1@0.000001:migration_completed",
  "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.",
];

export interface Mutation {
  kind: number;
  /** Where in the text, as a fraction of its length or line count. */
  at: number;
  pick: number;
  /** For repeated insertions: how many times. */
  times: number;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.integer({ min: 0, max: 8 }),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  pick: fc.nat(),
  times: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 50, max: 3000 }), fc.constant(200_000)),
});

/** Applies one edit; each kind is one way real inputs went wrong. */
export function mutate(text: string, m: Mutation, values: string[], inserts: string[]): string {
  const lines = text.split("\n");
  const line = Math.min(lines.length - 1, Math.floor(m.at * lines.length));
  const value = values[m.pick % values.length];
  switch (m.kind) {
    case 0: {
      // A value replaced: the token after the n-th ": " or in a flow mapping.
      // (No lookbehind: with a run of 200,000 spaces it would make this edit quadratic.)
      const tokens = [...text.matchAll(/[:,[{][ \t]{0,8}([^\s,\]}{[:#][^,\]}\n]{0,200})/g)];
      if (tokens.length === 0) return text + value;
      const t = tokens[m.pick % tokens.length];
      const at = t.index! + t[0].length - t[1].length;
      return text.slice(0, at) + value + text.slice(at + t[1].length);
    }
    case 1:
      lines.splice(line, 0, inserts[m.pick % inserts.length]);
      return lines.join("\n");
    case 2:
      lines.splice(line, 1);
      return lines.join("\n");
    case 3:
      lines.splice(line, 0, lines[line]);
      return lines.join("\n");
    case 4:
      return text.slice(0, Math.floor(m.at * text.length));
    case 5: {
      // Deep nesting or a long run of one character, inserted mid-text.
      const at = Math.floor(m.at * text.length);
      const unit = ["[", "{", "- ", "  ", "a", "*a ", '"'][m.pick % 7];
      return text.slice(0, at) + unit.repeat(m.times) + text.slice(at);
    }
    case 6: {
      const other = Math.floor(((m.pick % 997) / 997) * lines.length);
      [lines[line], lines[other]] = [lines[other], lines[line]];
      return lines.join("\n");
    }
    case 7:
      lines[line] = " ".repeat(m.times % 9) + lines[line].trimStart();
      return lines.join("\n");
    default: {
      const at = Math.floor(m.at * text.length);
      return text.slice(0, at) + String.fromCharCode(m.pick % 0x3000) + text.slice(at + 1);
    }
  }
}

/** A seed (from `seeds`, or one of them as is) with one to four edits. */
export function mutants(seeds: string[], values: string[], inserts: string[]): fc.Arbitrary<string> {
  return fc
    .record({ seed: fc.nat({ max: seeds.length - 1 }), edits: fc.array(mutation, { minLength: 0, maxLength: 4 }) })
    .map(({ seed, edits }) => edits.reduce((text, m) => mutate(text, m, values, inserts), seeds[seed]));
}
