// Page-exact bitmap over guest RAM: 32 pages per word, so 1 TiB of 4 KiB pages is 32 MiB.

export class PageBitmap {
  readonly words: Uint32Array;
  private setCount = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  get count(): number {
    return this.setCount;
  }

  test(page: number): boolean {
    return (this.words[page >>> 5] & (1 << (page & 31))) !== 0;
  }

  /** Sets a bit; returns true when it was clear. */
  set(page: number): boolean {
    const i = page >>> 5;
    const bit = 1 << (page & 31);
    const w = this.words[i];
    if (w & bit) return false;
    this.words[i] = w | bit;
    this.setCount++;
    return true;
  }

  /** Clears a bit; returns true when it was set. */
  clear(page: number): boolean {
    const i = page >>> 5;
    const bit = 1 << (page & 31);
    const w = this.words[i];
    if (!(w & bit)) return false;
    this.words[i] = w & ~bit;
    this.setCount--;
    return true;
  }

  setAll(): void {
    this.words.fill(0xffffffff);
    const tail = this.size & 31;
    if (tail) this.words[this.words.length - 1] = (1 << tail) - 1 >>> 0;
    this.setCount = this.size;
  }

  clearAll(): void {
    this.words.fill(0);
    this.setCount = 0;
  }

  setRange(from: number, to: number): void {
    for (let p = from; p < to; p++) this.set(p);
  }

  /** ORs `other` into this bitmap and clears `other` (read-and-clear); returns the bits newly set here. */
  takeFrom(other: PageBitmap): number {
    let added = 0;
    const a = this.words;
    const b = other.words;
    for (let i = 0; i < a.length; i++) {
      const w = b[i];
      if (w === 0) continue;
      added += popcount(w & ~a[i]);
      a[i] |= w;
      b[i] = 0;
    }
    this.setCount += added;
    other.setCount = 0;
    return added;
  }

  /** Index of the first set bit at or after `from`, or -1. */
  nextSet(from: number): number {
    if (from >= this.size) return -1;
    let i = from >>> 5;
    let w = this.words[i] & (0xffffffff << (from & 31));
    while (w === 0) {
      if (++i >= this.words.length) return -1;
      w = this.words[i];
    }
    const page = (i << 5) + (31 - Math.clz32(w & -w));
    return page < this.size ? page : -1;
  }

  /**
   * Clears and collects up to `max` set pages at or after `from`, in order, into
   * `out[offset...]`; returns how many. `collectEnd` is then where a next call should start.
   * Works a word at a time: the migration's send loop runs through every page of RAM.
   */
  collect(from: number, out: Uint32Array, offset: number, max: number): number {
    const words = this.words;
    let n = 0;
    let i = from >>> 5;
    let w = i < words.length ? words[i] & (0xffffffff << (from & 31)) : 0;
    while (n < max) {
      while (w === 0) {
        if (++i >= words.length) {
          this.setCount -= n;
          this.collectEnd = this.size;
          return n;
        }
        w = words[i];
      }
      let taken = 0;
      while (w !== 0 && n < max) {
        const bit = w & -w;
        out[offset + n++] = (i << 5) + (31 - Math.clz32(bit));
        taken |= bit;
        w ^= bit;
      }
      words[i] &= ~taken;
      if (w !== 0) {
        this.setCount -= n;
        this.collectEnd = out[offset + n - 1] + 1;
        return n;
      }
    }
    this.setCount -= n;
    this.collectEnd = n > 0 ? out[offset + n - 1] + 1 : from;
    return n;
  }

  /** Where the last `collect` stopped. */
  collectEnd = 0;

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

export function popcount(w: number): number {
  w = w - ((w >>> 1) & 0x55555555);
  w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
  return (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
