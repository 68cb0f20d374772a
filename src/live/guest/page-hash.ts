// The page hash both sides compare at switch-over, in WebAssembly. The comparison runs once per
// migration, inside the downtime, on a few hundred pages: as JavaScript, its loop ran there for
// the first time (nothing had warmed it: at Config the pages are zero, and a zero page was not
// hashed), in V8's interpreter: the destination's hashing of the NIC's 292 pages took 2.3-7.6 ms.
// WebAssembly is compiled before it first runs (V8's baseline compiler, Liftoff), so the first
// hash is about as fast as the hundredth: 0.9-2.8 ms there (docs/live.md, twelfth round).
//
// The function, in WebAssembly's text format (the bytes below are this, encoded by hand):
//
//   (func (export "hash") (param $p i32) (result i32) (local $a i32) (local $b i32) (local $end i32)
//     (local.set $end (i32.add (local.get $p) (i32.const 4096)))
//     (local.set $a (i32.const 0x811c9dc5)) (local.set $b (i32.const 0x01234567))
//     (loop $next   ;; two 32-bit lanes, each word xor-ed in and multiplied (FNV-1a's step)
//       (local.set $a (i32.mul (i32.xor (local.get $a) (i32.load offset=0 (local.get $p))) (i32.const 0x01000193)))
//       (local.set $b (i32.mul (i32.xor (local.get $b) (i32.load offset=4 (local.get $p))) (i32.const 0x5bd1e995)))
//       ... the same for offsets 8 and 12 ...
//       (br_if $next (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 16))) (local.get $end))))
//     (i32.xor (local.get $a) (i32.mul (i32.xor (local.get $b) (i32.shr_u (local.get $b) (i32.const 15))) (i32.const 0x27d4eb2d))))
//   (memory (export "memory") 1)

import { pageSize } from "./layout.js";

const op = { loop: 0x03, brIf: 0x0d, end: 0x0b, localGet: 0x20, localSet: 0x21, localTee: 0x22, i32Load: 0x28, i32Const: 0x41, i32LtU: 0x49, i32Add: 0x6a, i32Mul: 0x6c, i32Xor: 0x73, i32ShrU: 0x76 } as const;
const i32 = 0x7f;
const voidBlock = 0x40;
const [p, a, b, end] = [0, 1, 2, 3];

/** WebAssembly's LEB128 integers: signed for constants, unsigned for sizes and counts. */
function leb(v: number, signed: boolean): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v = signed ? v >> 7 : v >>> 7;
    const done = signed ? (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0) : v === 0;
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const constant = (v: number) => [op.i32Const, ...leb(v | 0, true)];
/** lane = (lane ^ word at p + offset) * k */
const step = (lane: number, offset: number, k: number) => [op.localGet, lane, op.localGet, p, op.i32Load, 2, offset, op.i32Xor, ...constant(k), op.i32Mul, op.localSet, lane];

const body = [
  1, 3, i32, // three i32 locals: a, b, end
  op.localGet, p, ...constant(pageSize), op.i32Add, op.localSet, end,
  ...constant(0x811c9dc5), op.localSet, a, ...constant(0x01234567), op.localSet, b,
  op.loop, voidBlock,
  ...step(a, 0, 0x01000193), ...step(b, 4, 0x5bd1e995), ...step(a, 8, 0x01000193), ...step(b, 12, 0x5bd1e995),
  op.localGet, p, ...constant(16), op.i32Add, op.localTee, p, op.localGet, end, op.i32LtU, op.brIf, 0,
  op.end,
  op.localGet, a, op.localGet, b, op.localGet, b, ...constant(15), op.i32ShrU, op.i32Xor, ...constant(0x27d4eb2d), op.i32Mul, op.i32Xor,
  op.end,
];

const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length, false), ...bytes];
const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

const moduleBytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // "\0asm", version 1
  ...section(1, [1, 0x60, 1, i32, 1, i32]), // types: (i32) -> i32
  ...section(3, [1, 0]), // functions: one, of type 0
  ...section(5, [1, 0, 1]), // memory: one, 1 page of 64 KiB, no maximum
  ...section(7, [2, ...name("hash"), 0, 0, ...name("memory"), 2, 0]), // exports
  ...section(10, [1, ...leb(body.length, false), ...body]), // code
]);

let instance: { hash: (at: number) => number; bytes: Uint8Array } | undefined;

/** Each thread compiles its own (~1 ms, once). */
function hasher(): { hash: (at: number) => number; bytes: Uint8Array } {
  if (!instance) {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes)).exports as { hash: (at: number) => number; memory: WebAssembly.Memory };
    instance = { hash: exports.hash, bytes: new Uint8Array(exports.memory.buffer) };
  }
  return instance;
}

/** 32-bit hash of page `page` of `ram` (two multiplicative lanes, mixed): only equality matters. */
export function hashPage(ram: Uint8Array, page: number): number {
  const h = hasher();
  // Guest RAM is a SharedArrayBuffer of its own, not this module's memory: the page is copied
  // in (a memcpy). A plain view, not `subarray`, whose Buffer species runs Node's JavaScript.
  h.bytes.set(new Uint8Array(ram.buffer, ram.byteOffset + page * pageSize, pageSize));
  return h.hash(0) >>> 0;
}
