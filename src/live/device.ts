// A strategy's Device, run live: the same hooks with the same costs, and the marks they make
// drive the real NIC. `nic-suspend` stops the source NIC; `nic-ready` starts the destination
// NIC; a "down" network before the switch-over takes the source NIC's link down until the
// strategy brings it back; pinning is real work at the destination (DeviceContext.pin).

import type { Device, DeviceContext } from "../core/device.js";
import type { EventKind, Timeline, TimelineEvent } from "../core/timeline.js";
import { Command } from "./protocol.js";
import type { Guest } from "./guest/guest.js";
import type { Nic } from "./nic.js";
import type { SourceSession } from "./source.js";

export interface LiveDeviceParts {
  guest: Guest;
  nic: Nic;
  session: SourceSession;
  /** Resolves once the destination has applied the RAM sent so far (LiveChannel.applied). */
  applied: () => Promise<void>;
}

export function liveDevice(inner: Device, parts: LiveDeviceParts): Device {
  const { guest, nic, session, applied } = parts;
  // The NIC's thread reads the strategy's dmaLogged() from a register: refreshed whenever the
  // strategy may have changed its mind (an event it adds, a network change, a hook's end).
  const onEvent = (e: TimelineEvent) => {
    nic.syncDmaLogged();
    if (e.kind === "nic-suspend") nic.suspend();
    else if (e.kind === "nic-ready") session.post(Command.NicStart);
  };
  const after = <A extends unknown[]>(hook: (...a: A) => Promise<void>) => async (...a: A) => {
    try {
      await hook(...a);
    } finally {
      nic.syncDmaLogged();
    }
  };
  const live = (ctx: DeviceContext): DeviceContext => ({
    ...ctx,
    timeline: tap(ctx.timeline, onEvent),
    net(state, reason) {
      ctx.net(state, reason);
      nic.syncDmaLogged();
      if (!guest.vcpusRunning) return;
      if (state === "down") nic.linkDown();
      else if (nic.state === "link-down") nic.run();
    },
    pin: () => session.pin(),
  });
  const wrapped: Device = {
    kind: inner.kind,
    dmaLogged: () => inner.dmaLogged(),
    blockedReason: inner.blockedReason && (() => inner.blockedReason!()),
    unplugPending: inner.unplugPending && (() => inner.unplugPending!()),
    vfioMigration: inner.vfioMigration,
    preCopyBytes: inner.preCopyBytes && (() => inner.preCopyBytes!()),
    preCopyArrived: inner.preCopyArrived && ((ctx) => inner.preCopyArrived!(live(ctx))),
    switchoverAcked: inner.switchoverAcked && (() => inner.switchoverAcked!()),
    stateBytes: () => inner.stateBytes(),
    async abort(ctx) {
      await inner.abort?.(live(ctx));
      if (nic.state !== "running") nic.run();
    },
  };
  if (inner.setup) wrapped.setup = after((ctx) => inner.setup!(live(ctx)));
  // A precopy sync, after which the controller may decide to switch over, first waits for
  // the destination to apply what was sent (LiveChannel.applied): what it has still to apply
  // when the guest stops is in the downtime, and the simulator's stream, one pipeline from
  // source RAM into destination RAM, leaves nothing behind at a pass's end.
  wrapped.sync = after(async (ctx, bitmap, final) => {
    if (!final) await applied();
    await inner.sync?.(live(ctx), bitmap, final);
  });
  if (inner.stop) wrapped.stop = after((ctx) => inner.stop!(live(ctx)));
  if (inner.load) wrapped.load = after((ctx) => inner.load!(live(ctx)));
  if (inner.start) wrapped.start = after((ctx) => inner.start!(live(ctx)));
  if (inner.afterResume) wrapped.afterResume = after((ctx) => inner.afterResume!(live(ctx)));
  return wrapped;
}

/** The controller's timeline, with `on` called for every event a device adds. */
function tap(t: Timeline, on: (e: TimelineEvent) => void): Timeline {
  return {
    events: t.events,
    add(e: TimelineEvent) {
      t.add(e);
      on(e);
    },
    all: <K extends EventKind>(k: K) => t.all(k),
    first: <K extends EventKind>(k: K) => t.first(k),
    last: <K extends EventKind>(k: K) => t.last(k),
  };
}
