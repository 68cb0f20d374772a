// The 2015 thread's prober: an echo request to the guest's MAC every `interval` ms through
// the switch, every reply recorded. A run of unanswered requests is a gap in service; its
// length, measured between send times, is what `service-downtime` reports.

import { createSocket, type Socket } from "node:dgram";
import type { Timeline } from "../core/timeline.js";
import { echoFrame, echoOp, readEcho, type Mac } from "./frame.js";
import { wallNow } from "./clock.js";

export interface ProbeRecord {
  /** Send time of each request (wall-clock ms), by sequence number. */
  sent: number[];
  /** Receive time of its reply, or -1. */
  replied: number[];
}

export class Prober {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sent: number[] = [];
  private replied: number[] = [];

  constructor(
    private readonly mac: Mac,
    private readonly switchAddress: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const socket = createSocket("udp4");
    socket.on("message", (m) => {
      const echo = readEcho(new Uint8Array(m.buffer, m.byteOffset, m.length));
      if (echo?.op === echoOp.reply && echo.seq < this.sent.length && this.replied[echo.seq] < 0) this.replied[echo.seq] = wallNow();
    });
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, undefined, () => resolve()));
    this.socket = socket;
  }

  /** Pings `target` every `intervalMs`; a tick that comes late sends one request, not a burst. */
  start(target: Mac, intervalMs: number): void {
    this.stop();
    this.sent = [];
    this.replied = [];
    let due = wallNow();
    this.timer = setInterval(() => {
      const now = wallNow();
      if (now < due) return;
      const seq = this.sent.length;
      this.sent.push(now);
      this.replied.push(-1);
      this.socket?.send(echoFrame(target, this.mac, echoOp.request, seq), this.switchAddress.port, this.switchAddress.host);
      due = Math.max(due + intervalMs, now - intervalMs / 2);
    }, Math.max(1, Math.floor(intervalMs / 2)));
  }

  stop(): ProbeRecord {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return { sent: this.sent, replied: this.replied };
  }

  close(): void {
    this.stop();
    this.socket?.close();
    this.socket = undefined;
  }
}

/** Requests answered, out of those sent in [from, to]. */
export function answered(record: ProbeRecord, from: number, to: number): { sent: number; answered: number } {
  let sent = 0;
  let ok = 0;
  record.sent.forEach((t, i) => {
    if (t < from || t > to) return;
    sent++;
    if (record.replied[i] >= 0) ok++;
  });
  return { sent, answered: ok };
}

/** Adds a probe-gap event per run of unanswered requests sent in [from, to]. */
export function addProbeGaps(timeline: Timeline, record: ProbeRecord, from: number, to: number): void {
  const { sent, replied } = record;
  let i = 0;
  while (i < sent.length) {
    if (replied[i] >= 0 || sent[i] < from || sent[i] > to) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < sent.length && replied[j + 1] < 0) j++;
    const end = j + 1 < sent.length ? sent[j + 1] : sent[j] + (sent[j] - sent[Math.max(0, j - 1)] || 1);
    timeline.add({ t: sent[i], kind: "probe-gap", end, lost: j - i + 1 });
    i = j + 1;
  }
}
