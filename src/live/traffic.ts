// Receive traffic for the guest (the scenario's `rx`): frames of the given size at the given
// rate, sent through the switch to the guest's MAC. Its NIC writes each into a receive
// buffer by DMA; the driver reads and drops them. Each frame carries its sequence number, as
// real traffic differs frame to frame: a buffer rewritten with the very same bytes would not
// show as stale however late the DMA came.

import { createSocket, type Socket } from "node:dgram";
import { etherFrame, etherHeaderBytes, etherType, type Mac } from "./frame.js";

export class TrafficSource {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  sent = 0;

  constructor(
    private readonly mac: Mac,
    private readonly switchAddress: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const socket = createSocket("udp4");
    socket.on("error", () => undefined);
    socket.on("message", () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, undefined, () => resolve()));
    this.socket = socket;
  }

  start(target: Mac, framesPerSecond: number, frameBytes: number): void {
    if (framesPerSecond <= 0) return;
    const payloadBytes = Math.max(4, frameBytes - etherHeaderBytes);
    let last = performance.now();
    let carry = 0;
    this.timer = setInterval(() => {
      const now = performance.now();
      const exact = ((now - last) * framesPerSecond) / 1000 + carry;
      last = now;
      const n = Math.floor(exact);
      carry = exact - n;
      for (let i = 0; i < n; i++) {
        const frame = etherFrame(target, this.mac, etherType.data, payloadBytes);
        new DataView(frame.buffer).setUint32(etherHeaderBytes, ++this.sent);
        this.socket?.send(frame, this.switchAddress.port, this.switchAddress.host);
      }
    }, 1);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.socket?.close();
    this.socket = undefined;
  }
}
