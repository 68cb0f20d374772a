// How deeply a YAML or JSON text nests, found by a scan before any parser sees it: the
// parsers recurse (and V8 compiles regexps) per level, so an input nested thousands deep
// can exhaust the stack or the heap instead of failing with a message.

export interface Nesting {
  /** Deepest nesting of flow collections ([ ] and { }) outside quoted strings. */
  depth: number;
  /** 1-based line where that depth is first reached. */
  line: number;
}

/** Stops counting past `limit` (the caller refuses the text anyway). */
export function flowNesting(text: string, limit = Infinity): Nesting {
  let depth = 0;
  let most = 0;
  let mostLine = 1;
  let line = 1;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (quote) {
      if (quote === '"' && c === "\\") i++;
      else if (quote === "'" && c === "'" && text[i + 1] === "'") i++; // YAML's '' inside '...'
      else if (c === quote) quote = undefined;
      continue;
    }
    // A quote opens a string only where a token starts: in `don't` it is part of the word.
    if ((c === '"' || c === "'") && (i === 0 || /[\s[{,]/.test(text[i - 1]))) quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      // A YAML comment runs to the end of the line (JSON has none outside strings).
      const end = text.indexOf("\n", i);
      i = (end < 0 ? text.length : end) - 1;
    } else if (c === "[" || c === "{") {
      if (++depth > most) {
        most = depth;
        mostLine = line;
        if (most > limit) break;
      }
    } else if ((c === "]" || c === "}") && depth > 0) depth--;
  }
  return { depth: most, line: mostLine };
}
