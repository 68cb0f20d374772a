// The simulated prober (src/sim/prober.ts) on timelines written by hand: which pings of a
// 1 ms (or 10 ms) prober go unanswered, worked out by hand.

import { describe, expect, it } from "vitest";
import { Timeline, type TimelineEvent } from "../src/core/timeline.js";
import { probe } from "../src/sim/prober.js";

const counters = { transferred: 0, duplicate: 0, normal: 0, normalBytes: 0, precopyBytes: 0, downtimeBytes: 0 };

function gaps(events: TimelineEvent[], intervalMs: number, fabricLearnMs: number) {
  const tl = new Timeline();
  for (const e of events) tl.add(e);
  probe(tl, intervalMs, fabricLearnMs);
  return tl.all("probe-gap").map(({ t, end, lost }) => ({ t, end, lost }));
}

describe("the simulated prober", () => {
  it("loses the pings sent from vm-stop until the fabric learns the guest's new port", () => {
    const g = gaps([
      { t: 100.5, kind: "vm-stop" },
      { t: 130, kind: "vm-resume" },
      { t: 130, kind: "announce", round: 0 },
      { t: 180, kind: "announce", round: 1 },
      { t: 500, kind: "end", counters },
    ], 1, 0.2);
    // Outage [100.5, 130.2]: pings 101..130 go unanswered, 131 is answered.
    expect(g).toEqual([{ t: 101, end: 131, lost: 30 }]);
  });

  it("adds the times the strategy marks the network down; degraded is not down; one that never ends lasts to the end", () => {
    const g = gaps([
      { t: 20.2, kind: "net", state: "down", reason: "unplug" },
      { t: 25, kind: "net", state: "degraded", reason: "standby" },
      { t: 95, kind: "net", state: "down", reason: "again" },
      { t: 100.5, kind: "vm-stop" },
      { t: 110, kind: "net", state: "degraded", reason: "standby" },
      { t: 130, kind: "vm-resume" },
      { t: 130, kind: "announce", round: 0 },
      { t: 400, kind: "net", state: "down", reason: "lost" },
      { t: 500, kind: "end", counters },
    ], 1, 0.2);
    expect(g).toEqual([
      { t: 21, end: 25, lost: 4 }, // [20.2, 25]
      { t: 95, end: 131, lost: 36 }, // [95, 110] joined to the switch-over's [100.5, 130.2]
      { t: 400, end: 500, lost: 100 }, // down until the end
    ]);
  });

  it("counts only whole pings: an outage between two pings loses none; a 10 ms prober loses fewer", () => {
    expect(gaps([{ t: 10.2, kind: "net", state: "down", reason: "blip" }, { t: 10.8, kind: "net", state: "up", reason: "back" }, { t: 50, kind: "end", counters }], 1, 0)).toEqual([]);
    const g = gaps([
      { t: 100.5, kind: "vm-stop" },
      { t: 130, kind: "vm-resume" },
      { t: 131, kind: "announce", round: 0 },
      { t: 500, kind: "end", counters },
    ], 10, 0.5);
    // Outage [100.5, 131.5]: the pings at 110, 120 and 130 go unanswered, 140 is answered.
    expect(g).toEqual([{ t: 110, end: 140, lost: 3 }]);
  });

  it("a down window starts at the first down event (repeats do not move it) and ends at the next other state; outages that touch are one gap", () => {
    const g = gaps([
      { t: 5, kind: "net", state: "up", reason: "start" },
      { t: 10.5, kind: "net", state: "down", reason: "unplug" },
      { t: 15, kind: "net", state: "down", reason: "again" },
      { t: 20, kind: "net", state: "up", reason: "back" },
      { t: 30, kind: "net", state: "degraded", reason: "standby" },
      { t: 40, kind: "net", state: "up", reason: "back" },
      { t: 60, kind: "net", state: "down", reason: "unplug" },
      { t: 70, kind: "vm-stop" },
      { t: 70, kind: "net", state: "up", reason: "stop" },
      { t: 80, kind: "vm-resume" },
      { t: 80, kind: "announce", round: 0 },
      { t: 500, kind: "end", counters },
    ], 1, 0);
    // [10.5, 20]: pings 11..19; [60, 70] and the switch-over's [70, 80] one gap, pings 60..79.
    expect(g).toEqual([{ t: 11, end: 20, lost: 9 }, { t: 60, end: 80, lost: 20 }]);
  });

  it("a run cut short: stopped and never resumed, its pings are lost from the stop on; down with no end event, no gap", () => {
    // No resume and no announce: the guest is found nowhere, the outage never ends (a failed run reports no service figure).
    expect(gaps([{ t: 40.5, kind: "vm-stop" }], 1, 0.2)).toEqual([{ t: 41, end: Infinity, lost: Infinity }]);
    // Down at 10 with no end event: the run's end counts as 0, before the outage began.
    expect(gaps([{ t: 10, kind: "net", state: "down", reason: "blip" }], 1, 0)).toEqual([]);
  });
});

