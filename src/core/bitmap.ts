// Page-exact bitmap over guest RAM: 32 pages per word, so 1 TiB of 4 KiB pages is 32 MiB.

/**
 * The words of released bitmaps, by length, for the next bitmap of that size: a fleet's VMs come
 * and go, and clearing memory in use costs far less than faulting in fresh memory for each.
 * Released with no bit set (`clean`), they need no clearing at all: the next one takes those first.
 */
const releasedWords = new Map<number, { clean: Uint32Array[]; dirty: Uint32Array[] }>();

export class PageBitmap {
  readonly words: Uint32Array;
  private setCount = 0;

  constructor(readonly size: number) {
    const length = Math.ceil(size / 32);
    const free = releasedWords.get(length);
    const clean = free?.clean.pop();
    const dirty = clean ? undefined : free?.dirty.pop();
    this.words = clean ?? dirty?.fill(0) ?? new Uint32Array(length);
  }

  /** Gives the words back for a later bitmap of this size: this one must not be used again. */
  release(): void {
    let free = releasedWords.get(this.words.length);
    if (!free) releasedWords.set(this.words.length, (free = { clean: [], dirty: [] }));
    // The count is exact (every operation keeps it so; clearAll relies on it too): none set means every word is 0.
    (this.setCount === 0 ? free.clean : free.dirty).push(this.words);
  }

  get count(): number {
    return this.setCount;
  }

  test(page: number): boolean {
    return (this.words[page >>> 5] & (1 << (page & 31))) !== 0;
  }

  /**
   * Sets a bit; returns true when it was clear. Without a branch on the word: the guest's
   * writes land at random, and a branch on what each load finds would mispredict about as
   * often as the pages repeat, and stall on each load in turn instead of overlapping them.
   */
  set(page: number): boolean {
    const i = page >>> 5;
    const b = page & 31;
    const w = this.words[i];
    const was = (w >>> b) & 1;
    this.words[i] = w | (1 << b);
    this.setCount += was ^ 1;
    return was === 0;
  }

  /** Clears a bit; returns true when it was set (without a branch on the word, as `set`). */
  clear(page: number): boolean {
    const i = page >>> 5;
    const b = page & 31;
    const w = this.words[i];
    const was = (w >>> b) & 1;
    this.words[i] = w & ~(1 << b);
    this.setCount -= was;
    return was === 1;
  }

  setAll(): void {
    this.words.fill(0xffffffff);
    const tail = this.size & 31;
    if (tail) this.words[this.words.length - 1] = (1 << tail) - 1 >>> 0;
    this.setCount = this.size;
  }

  clearAll(): void {
    // No bit set: every word is 0 already (a fresh bitmap's pages need not be touched).
    if (this.setCount !== 0) this.words.fill(0);
    this.setCount = 0;
  }

  /** Sets pages [from, to), a word at a time (a 1 TiB guest's used RAM is millions of pages). */
  setRange(from: number, to: number): void {
    if (from >= to) return;
    const words = this.words;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    // The words between the first and the last are set whole (no mask; a clear word adds 32):
    // in a bitmap with no bit set (a fresh guest's used pages), one fill.
    if (this.setCount === 0 && last - first > 1) {
      words.fill(0xffffffff, first + 1, last);
      this.setCount = 32 * (last - first - 1);
    } else {
      for (let i = first + 1; i < last; i++) {
        const w = words[i];
        if (w === 0xffffffff) continue;
        this.setCount += w === 0 ? 32 : popcount(~w);
        words[i] = 0xffffffff;
      }
    }
    this.setMasked(first, rangeMask(first, from, to));
    if (last !== first) this.setMasked(last, rangeMask(last, from, to));
  }

  /** Clears pages [from, to), a word at a time. */
  clearRange(from: number, to: number): void {
    if (from >= to) return;
    const words = this.words;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    for (let i = first + 1; i < last; i++) {
      const w = words[i];
      if (w === 0) continue;
      this.setCount -= w === 0xffffffff ? 32 : popcount(w);
      words[i] = 0;
    }
    this.clearMasked(first, rangeMask(first, from, to));
    if (last !== first) this.clearMasked(last, rangeMask(last, from, to));
  }

  private setMasked(i: number, mask: number): void {
    const w = this.words[i];
    this.setCount += popcount(mask & ~w);
    this.words[i] = w | mask;
  }

  private clearMasked(i: number, mask: number): void {
    const w = this.words[i];
    this.setCount -= popcount(mask & w);
    this.words[i] = w & ~mask;
  }

  /**
   * ORs `other` into this bitmap and clears `other` (read-and-clear); returns the bits newly set
   * here. Only the words of pages [from, to) are looked at (the caller knows `other` has none
   * elsewhere); `other`'s count stays exact either way, as its reuse relies on (`release`).
   */
  takeFrom(other: PageBitmap, from = 0, to = this.size): number {
    let added = 0;
    let taken = 0;
    const a = this.words;
    const b = other.words;
    const end = Math.min(a.length, (to + 31) >>> 5);
    for (let i = from >>> 5; i < end; i++) {
      const w = b[i];
      if (w === 0) continue;
      added += popcount(w & ~a[i]);
      taken += popcount(w);
      a[i] |= w;
      b[i] = 0;
    }
    this.setCount += added;
    other.setCount -= taken;
    return added;
  }

  /** The set bits of the word holding `page`, from `page` on (bit b: page `page - page % 32 + b`). */
  wordFrom(page: number): number {
    return this.words[page >>> 5] & (0xffffffff << (page & 31));
  }

  /** Index of the first set bit in [from, to), or -1. */
  nextSet(from: number, to = this.size): number {
    if (from >= to) return -1;
    const last = (to - 1) >>> 5;
    let i = from >>> 5;
    let w = this.words[i] & (0xffffffff << (from & 31));
    while (w === 0) {
      if (++i > last) return -1;
      w = this.words[i];
    }
    const page = (i << 5) + (31 - Math.clz32(w & -w));
    return page < to ? page : -1;
  }

  /**
   * The page just past the `n`-th set page (n >= 1) from `from` on, looking no further than
   * `to`; -1 when fewer are set there. A word's popcount at a time.
   */
  pastNthSet(from: number, n: number, to: number): number {
    if (from >= to) return -1;
    const words = this.words;
    const last = (to - 1) >>> 5;
    let i = from >>> 5;
    let w = words[i] & (0xffffffff << (from & 31));
    for (;;) {
      if (i === last) w &= lowBits(to);
      const c = popcount(w);
      if (c >= n) {
        for (; n > 1; n--) w &= w - 1; // drop the lower set bits
        return (i << 5) + lowestBit(w) + 1;
      }
      n -= c;
      if (++i > last) return -1;
      w = words[i];
    }
  }

  /** Consecutive pages from `from` on, at most `max`, whose bits are all `set` (0 if `from`'s is not); a word at a time. */
  runLength(from: number, max: number, set: boolean): number {
    const to = Math.min(from + max, this.size);
    if (from >= to) return 0;
    const words = this.words;
    const last = (to - 1) >>> 5;
    // Flipped so that the run's bits read as zeroes: it ends at the first one.
    const flip = set ? 0xffffffff : 0;
    let i = from >>> 5;
    let other = (words[i] ^ flip) & (0xffffffff << (from & 31));
    if (other === 0 && i < last) {
      i = firstWordNot(words, i + 1, last, flip);
      if (i > last) return to - from;
      other = words[i] ^ flip;
    }
    if (other === 0) return to - from;
    return Math.min(to, (i << 5) + (31 - Math.clz32(other & -other))) - from;
  }

  /** Pages set in both bitmaps. */
  countAnd(other: PageBitmap): number {
    let n = 0;
    for (let i = 0; i < this.words.length; i++) {
      const w = this.words[i] & other.words[i];
      if (w) n += popcount(w);
    }
    return n;
  }

  /** Set pages, in order, at most `limit` of them. */
  list(limit = Infinity): number[] {
    const out: number[] = [];
    for (let p = this.nextSet(0); p >= 0 && out.length < limit; p = this.nextSet(p + 1)) out.push(p);
    return out;
  }
}

/**
 * The first of words[i..last] that is not `word`, or last + 1. A loop of its own, with nothing
 * after it: V8 compiles a long scan's loop while it runs (on-stack replacement), and when that
 * loop was inline in `runLength`, its many short calls kept entering the code compiled there and
 * falling out of it at the first line past the loop, which the long scan had never reached
 * (~190 deoptimisations in the 128 GiB worst case, a quarter of its in-process instructions).
 */
function firstWordNot(words: Uint32Array, i: number, last: number, word: number): number {
  while (i <= last && words[i] === word) i++;
  return i;
}

/** The bits of the word holding page `to - 1` that are below `to`. */
function lowBits(to: number): number {
  return 0xffffffff >>> (31 - ((to - 1) & 31));
}

/** The bits of word `i` that are pages in [from, to). */
function rangeMask(i: number, from: number, to: number): number {
  const above = i === from >>> 5 ? 0xffffffff << (from & 31) : 0xffffffff;
  return i === (to - 1) >>> 5 ? above & lowBits(to) : above;
}

/**
 * Pages in send order, as runs of consecutive pages: run i is `lengths[i]` pages from
 * `starts[i]`. A slice of the migration stream is a few runs, not thousands of page numbers.
 */
export class PageRuns {
  starts: Uint32Array;
  lengths: Uint32Array;
  /** Runs held. */
  count = 0;
  /** Pages held: the sum of the lengths. */
  pages = 0;

  /** Room for `capacity` runs at first; it grows when more are added (a slice is a few runs most of the time). */
  constructor(capacity: number) {
    this.starts = new Uint32Array(Math.max(1, capacity));
    this.lengths = new Uint32Array(Math.max(1, capacity));
  }

  clear(): void {
    this.count = 0;
    this.pages = 0;
  }

  /** The set bits of one bitmap word as runs, in order (bit b: page `base + b`). */
  addWord(base: number, bits: number): void {
    for (let w = bits; w !== 0; ) {
      const b = lowestBit(w);
      const length = bitRunFrom(w, b);
      this.add(base + b, length);
      w = b + length === 32 ? 0 : w & (0xffffffff << (b + length));
    }
  }

  /** The set pages of `bitmap` in [from, to) as runs, in order, a word at a time. */
  addSet(bitmap: PageBitmap, from: number, to: number): void {
    if (from >= to) return;
    const words = bitmap.words;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    for (let i = first; i <= last; i++) {
      let bits = i === first ? words[i] & (0xffffffff << (from & 31)) : words[i];
      if (i === last) bits &= lowBits(to);
      else if (bits === 0xffffffff) {
        // Whole words set (a first pass's pages): one run through them.
        let j = i + 1;
        while (j < last && words[j] === 0xffffffff) j++;
        this.add(i << 5, (j - i) << 5);
        i = j - 1;
        continue;
      }
      this.addWord(i << 5, bits);
    }
  }

  /** Appends pages [start, start + length), joined to the last run when they continue it. */
  add(start: number, length: number): void {
    const last = this.count - 1;
    if (last >= 0 && this.starts[last] + this.lengths[last] === start) this.lengths[last] += length;
    else {
      if (this.count === this.starts.length) this.grow();
      this.starts[this.count] = start;
      this.lengths[this.count++] = length;
    }
    this.pages += length;
  }

  private grow(): void {
    const starts = new Uint32Array(this.starts.length * 2);
    const lengths = new Uint32Array(this.lengths.length * 2);
    starts.set(this.starts);
    lengths.set(this.lengths);
    this.starts = starts;
    this.lengths = lengths;
  }
}

/** The lowest set bit's index in a non-zero word. */
export function lowestBit(w: number): number {
  return 31 - Math.clz32(w & -w);
}

/** How many bits of `w` are set from bit `b` on without a gap (bit b itself set). */
export function bitRunFrom(w: number, b: number): number {
  const gaps = ~(w >>> b);
  return gaps === 0 ? 32 : lowestBit(gaps);
}

export function popcount(w: number): number {
  w = w - ((w >>> 1) & 0x55555555);
  w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
  return (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
