// Frames on the guest network: Ethernet's header (destination MAC, source MAC, EtherType)
// carried in UDP datagrams between the switch and its ports. Three payloads: the prober's
// echo (request, reply), RARP announcements, and bulk receive traffic.

export const etherHeaderBytes = 14;
export const etherType = {
  /** QEMU's self-announce is a RARP */
  rarp: 0x8035,
  /** IEEE local experimental: the prober's echo */
  echo: 0x88b5,
  /** IEEE local experimental: receive traffic the guest reads and drops */
  data: 0x88b6,
} as const;

export const echoOp = { request: 1, reply: 2 } as const;
/** op (1) + pad (3) + seq (4) */
const echoBytes = 8;

export type Mac = Uint8Array;
export const broadcastMac: Mac = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export function parseMac(text: string): Mac {
  const parts = text.split(":").map((h) => parseInt(h, 16));
  if (parts.length !== 6 || parts.some((x) => !(x >= 0 && x <= 255))) throw new Error(`not a MAC address: ${text}`);
  return Uint8Array.from(parts);
}

export function macKey(frame: Uint8Array, at: number): string {
  let s = "";
  for (let i = at; i < at + 6; i++) s += (frame[i] < 16 ? "0" : "") + frame[i].toString(16) + (i < at + 5 ? ":" : "");
  return s;
}

export function frameType(frame: Uint8Array): number {
  return frame.length >= etherHeaderBytes ? (frame[12] << 8) | frame[13] : -1;
}

export function etherFrame(dst: Mac, src: Mac, type: number, payloadBytes: number): Uint8Array {
  const f = new Uint8Array(etherHeaderBytes + payloadBytes);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  return f;
}

export function echoFrame(dst: Mac, src: Mac, op: number, seq: number): Uint8Array {
  const f = etherFrame(dst, src, etherType.echo, echoBytes);
  f[etherHeaderBytes] = op;
  new DataView(f.buffer).setUint32(etherHeaderBytes + 4, seq);
  return f;
}

export function readEcho(frame: Uint8Array): { op: number; seq: number } | undefined {
  if (frameType(frame) !== etherType.echo || frame.length < etherHeaderBytes + echoBytes) return undefined;
  return { op: frame[etherHeaderBytes], seq: new DataView(frame.buffer, frame.byteOffset).getUint32(etherHeaderBytes + 4) };
}

/** A RARP "request reverse" for `mac`, broadcast: what qemu_announce_self sends. */
export function rarpFrame(mac: Mac): Uint8Array {
  const f = etherFrame(broadcastMac, mac, etherType.rarp, 28);
  const p = etherHeaderBytes;
  f.set([0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x03], p); // Ethernet, IPv4, opcode 3
  f.set(mac, p + 8);
  f.set(mac, p + 18);
  return f;
}
