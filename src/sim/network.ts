// A network shared by migration streams: links (each host NIC each way, an optional fabric)
// with capacities, and flows across them whose rates are max-min fair. A flow is a Channel:
// its sender blocks while the link takes its bytes, as on a full socket buffer, at the rate the
// sharing gives it now; when flows join or leave, every flow whose rate changed re-plans the
// rest of the send it is in. One flow alone on its links sends at the slowest of them (and its
// own ceiling), exactly as a dedicated link of that bandwidth: the single-VM link is this case.

import type { Channel } from "../core/ports.js";
import { VirtualClock } from "./clock.js";

/** The width of a link's utilisation bins, ms. */
export const utilisationBinMs = 1000;

export class NetLink {
  /** Flows sending across this link now. */
  readonly flows = new Set<Flow>();
  /** Bytes carried so far (for utilisation). */
  carried = 0;
  /** Bytes carried in each bin of `utilisationBinMs` from time 0 (utilisation over time). */
  readonly carriedPerBin: number[] = [];

  constructor(
    readonly name: string,
    /** Bytes per second. */
    readonly capacity: number,
  ) {}

  /** `bytes` sent at an even rate from `from` to `to` (ms): counted, and spread over the bins they span. */
  carry(bytes: number, from: number, to: number): void {
    this.carried += bytes;
    const bins = this.carriedPerBin;
    const first = Math.floor(from / utilisationBinMs);
    const last = Math.floor(to / utilisationBinMs);
    while (bins.length <= last) bins.push(0);
    if (first === last) {
      bins[last] += bytes;
      return;
    }
    for (let b = first; b <= last; b++) {
      const overlap = Math.min(to, (b + 1) * utilisationBinMs) - Math.max(from, b * utilisationBinMs);
      bins[b] += (bytes * overlap) / (to - from);
    }
  }
}

export interface FlowSpec {
  /** The links the stream crosses, e.g. the source NIC's transmit side, the fabric, the destination NIC's receive side. */
  path: NetLink[];
  /**
   * Bytes/s the flow is entitled to at most when it competes (QEMU's max-bandwidth; 0: none).
   * It is not a line rate: a capped flow with spare capacity around it sends its bursts faster,
   * and QEMU's own 100 ms windows hold it to the cap, as they do on a dedicated link.
   */
  cap: number;
  /** Bytes/s the sender can push at all (its stream's copy rate, from a machine profile); Infinity: no limit. */
  ceiling: number;
  latencyMs: number;
}

const settled: Promise<void> = Promise.resolve();

/** Relative slack under which a link counts as full and a flow as at its ceiling. */
const full = 1e-12;

export class SharedNetwork {
  private readonly active = new Set<Flow>();

  constructor(private readonly clock: VirtualClock) {}

  link(name: string, capacity: number): NetLink {
    if (!(capacity > 0)) throw new RangeError(`link ${name}: capacity ${capacity}: expected > 0 bytes/s`);
    return new NetLink(name, capacity);
  }

  flow(spec: FlowSpec): Flow {
    return new Flow(this, this.clock, spec);
  }

  /** Flows sending now. */
  get flows(): ReadonlySet<Flow> {
    return this.active;
  }

  join(flow: Flow): void {
    if (this.active.has(flow)) return;
    this.active.add(flow);
    for (const l of flow.spec.path) l.flows.add(flow);
    this.reallocate();
  }

  leave(flow: Flow): void {
    if (!this.active.delete(flow)) return;
    for (const l of flow.spec.path) l.flows.delete(flow);
    flow.rate = 0;
    this.reallocate();
  }

  /** New rates for every active flow; the ones that changed re-plan their current send. */
  private reallocate(): void {
    const flows = [...this.active];
    const rates = maxMinRates(flows.map((f) => f.spec));
    flows.forEach((f, i) => f.setRate(rates[i]));
  }
}

/**
 * Max-min fair rates (progressive filling): every flow's rate rises at the same pace until a
 * link it crosses is full or it reaches its bound; then it stops and the others go on.
 * First with each flow bounded by its cap (what it is entitled to), then what is left is filled
 * again up to each flow's ceiling, so capped flows burst into capacity nobody else wants.
 * A flow that shares no link with another gets exactly min(its ceiling, its slowest link).
 */
export function maxMinRates(specs: readonly FlowSpec[]): number[] {
  const links = new Map<NetLink, number>(); // remaining capacity
  for (const s of specs) for (const l of s.path) links.set(l, l.capacity);
  const entitled = fill(specs, links, specs.map((s) => Math.min(s.cap > 0 ? s.cap : Infinity, s.ceiling)));
  const extra = fill(specs, links, specs.map((s, i) => s.ceiling - entitled[i]));
  // Alone, the sum of the two fillings is the same figure up to float rounding: take it exactly.
  return specs.map((s, i) => (isAloneIn(s, specs) ? Math.min(s.ceiling, ...s.path.map((l) => l.capacity)) : entitled[i] + extra[i]));
}

/** Whether no other flow of `specs` crosses any link of `s`. */
function isAloneIn(s: FlowSpec, specs: readonly FlowSpec[]): boolean {
  return specs.every((o) => o === s || !o.path.some((l) => s.path.includes(l)));
}

/** One progressive filling of `remaining` capacities, each flow bounded by `bounds`; consumes the capacity it hands out. */
function fill(specs: readonly FlowSpec[], remaining: Map<NetLink, number>, bounds: number[]): number[] {
  const rate = specs.map(() => 0);
  let rising = specs.map((_, i) => i).filter((i) => bounds[i] > 0 && specs[i].path.every((l) => remaining.get(l)! > full * l.capacity));
  while (rising.length > 0) {
    const crossing = new Map<NetLink, number>();
    for (const i of rising) for (const l of specs[i].path) crossing.set(l, (crossing.get(l) ?? 0) + 1);
    let step = Infinity;
    for (const [l, n] of crossing) step = Math.min(step, remaining.get(l)! / n);
    for (const i of rising) step = Math.min(step, bounds[i] - rate[i]);
    for (const i of rising) rate[i] += step;
    for (const [l, n] of crossing) remaining.set(l, remaining.get(l)! - step * n);
    rising = rising.filter((i) => below(rate[i], bounds[i]) && specs[i].path.every((l) => remaining.get(l)! > full * l.capacity));
  }
  return rate;
}

/** Whether a rate is still short of its bound (an infinite bound never reached). */
const below = (rate: number, bound: number) => bound === Infinity || bound - rate > full * bound;

/** One migration stream across the shared network. */
export class Flow implements Channel {
  /** Bytes/s while sending. */
  rate = 0;
  /** Bytes sent so far. */
  sent = 0;
  private wake: (() => void) | undefined;
  private abortReason: string | undefined;

  constructor(
    private readonly network: SharedNetwork,
    private readonly clock: VirtualClock,
    readonly spec: FlowSpec,
  ) {}

  /** Joins the sharing at the first byte (setup and wait-unplug hold no share). */
  send(bytes: number): Promise<void> {
    if (this.abortReason !== undefined) return Promise.reject(new Error(this.abortReason));
    this.network.join(this);
    const start = this.clock.now();
    // The controller awaits a send at once (the Channel port's contract).
    const alarm = this.clock.alarmAwaited((bytes * 1000) / this.rate);
    // Nobody ran before it rang, so the rate held: sent, without a frame that waits (a lone flow's every send).
    if (alarm === VirtualClock.ranOut) {
      this.account(bytes, start);
      return settled;
    }
    return this.sendRest(bytes, start, alarm);
  }

  /** The send from `start` on, with its first alarm set: re-planned whenever the rate changes before it is done. */
  private async sendRest(bytes: number, start: number, alarm: { rang: Promise<boolean>; wake: () => void }): Promise<void> {
    let left = bytes;
    for (;;) {
      const rate = this.rate;
      this.wake = alarm.wake;
      const woken = await alarm.rang;
      this.wake = undefined;
      this.checkAborted();
      if (!woken) return this.account(left, start);
      const done = Math.min(left, ((this.clock.now() - start) * rate) / 1000);
      this.account(done, start);
      left -= done;
      // What a float product leaves over (a fraction of a byte) is no reason for another wake-up.
      if (left <= full * bytes) return;
      start = this.clock.now();
      alarm = this.clock.alarm((left * 1000) / this.rate);
    }
  }

  /** Back-to-back sections as one send: the link carries them in the same time (Channel.sendSections). */
  sendSections(bytes: number, count: number): Promise<void> {
    return this.send(bytes * count);
  }

  /** The stream ends with the device state: the flow leaves the sharing, the last byte arrives after the latency. */
  async drain(): Promise<void> {
    this.network.leave(this);
    await this.clock.sleep(this.spec.latencyMs);
  }

  /** Leaves the sharing (a migration that ended without a drain: failed or aborted). */
  close(): void {
    this.network.leave(this);
  }

  /**
   * The orchestrator cancels the migration (migrate_cancel shuts the stream down): the send in
   * progress, or the next one, fails with `reason`, and the controller ends the migration as failed.
   */
  abort(reason: string): void {
    this.abortReason ??= reason;
    this.network.leave(this);
    this.wake?.();
  }

  setRate(rate: number): void {
    if (rate === this.rate) return;
    this.rate = rate;
    this.wake?.();
  }

  private checkAborted(): void {
    if (this.abortReason !== undefined) throw new Error(this.abortReason);
  }

  /** Bytes sent from `since` until now. */
  private account(bytes: number, since: number): void {
    this.sent += bytes;
    const now = this.clock.now();
    for (const l of this.spec.path) l.carry(bytes, since, now);
  }
}
