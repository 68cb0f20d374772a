// Reads back what QEMU printed with a trace-events format string. The table of known events
// (trace-events.ts) is then written in QEMU's own words: "dev: %p, idx: %u, enable: %u, r: %d".

export type FieldValue = string | number;

export type FormatDecoder = (args: string) => FieldValue[] | undefined;

// One printf conversion: flags, width, precision, length modifier, conversion letter.
const conversion = /%(%|[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t|L)?([diuxXopscf]))/g;

type Kind = "int" | "hex" | "pointer" | "string" | "float";

const pattern: Record<Kind, string> = {
  int: "([-+]?\\d+)",
  hex: "([0-9a-fA-F]+)",
  // glibc prints NULL as "(nil)"
  pointer: "(0x[0-9a-fA-F]+|\\(nil\\)|[0-9a-fA-F]+)",
  string: "(.*?)",
  float: "([-+]?(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|inf|nan))",
};

function kindOf(letter: string): Kind {
  if (letter === "x" || letter === "X") return "hex";
  if (letter === "p") return "pointer";
  if (letter === "s" || letter === "c") return "string";
  if (letter === "f") return "float";
  return "int"; // d, i, u, o (octal is never used by the events livemig reads)
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Compiles a format such as `"dirty_pages %lu"` (PRI* macros written out as QEMU's compiler
 * expands them on 64-bit Linux). Hexadecimal numbers become JavaScript numbers, exact up to
 * 2^53, which covers sizes and guest addresses; pointers stay strings.
 */
export function compileFormat(format: string): FormatDecoder {
  const kinds: Kind[] = [];
  let source = "";
  let last = 0;
  for (const m of format.matchAll(conversion)) {
    source += escapeRegExp(format.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] === "%") {
      source += "%";
      continue;
    }
    const kind = kindOf(m[2]);
    kinds.push(kind);
    source += pattern[kind];
  }
  source += escapeRegExp(format.slice(last));
  // Leading blanks vary (vfio formats start with " (%s)"); trailing ones are noise.
  const regex = new RegExp(`^\\s*${source.replace(/^ +/, "")}\\s*$`);
  return (args) => {
    const m = regex.exec(args);
    if (!m) return undefined;
    const out: FieldValue[] = [];
    for (let i = 0; i < kinds.length; i++) {
      const raw = m[i + 1];
      const kind = kinds[i];
      if (kind === "int" || kind === "float") out.push(Number(raw));
      else if (kind === "hex") out.push(parseInt(raw, 16));
      else out.push(raw);
    }
    return out;
  };
}
