// The virtual clock's sleeps for callers that await at once (`sleepAwaited`, `alarmAwaited`: a
// page read, a send): they may end without the dispatcher where nothing else would run first,
// and must give exactly the wake-ups `sleep` gives, in the same order, at the same times.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/sim/clock.js";
import { propertyRuns } from "./helpers.js";

type Kind = "sleep" | "sleepAwaited" | "alarmAwaited";

describe("the virtual clock's sleeps awaited at once", () => {
  it("wake in order of time, ties in the order they were scheduled, mixed with plain sleeps in any way", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Each process: its sleeps (ms from a small set, so that many fall due at once) and how each sleeps.
        fc.array(fc.array(fc.tuple(fc.constantFrom(0, 0.5, 1, 1.5, 2, 3, 7), fc.constantFrom<Kind>("sleep", "sleepAwaited", "alarmAwaited")), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        async (processes) => {
          const clock = new VirtualClock();
          const woke: { t: number; at: number }[] = [];
          const scheduled: { due: number; order: number; process: number }[] = [];
          let order = 0;
          await clock.run(async () => {
            const tasks = processes.map((sleeps, process) =>
              clock.spawn(async () => {
                for (const [ms, kind] of sleeps) {
                  scheduled.push({ due: clock.now() + ms, order: order++, process });
                  if (kind === "sleep") await clock.sleep(ms);
                  else if (kind === "sleepAwaited") await clock.sleepAwaited(ms);
                  else expect(await clock.alarmAwaited(ms).rang).toBe(false);
                  woke.push({ t: clock.now(), at: scheduled.findLast((s) => s.process === process)!.order });
                }
              }),
            );
            await clock.join(tasks);
          });
          const expected = [...scheduled].sort((a, b) => a.due - b.due || a.order - b.order);
          expect(woke.map((w) => w.at)).toEqual(expected.map((s) => s.order));
          expect(woke.map((w) => w.t)).toEqual(expected.map((s) => s.due));
        },
      ),
      { numRuns: propertyRuns(100) },
    );
  });

  it("an awaited alarm with another process due first is an alarm that process can wake", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    await clock.run(async () => {
      let wake: (() => void) | undefined;
      const waker = clock.spawn(async () => {
        await clock.sleep(4);
        wake?.();
      });
      const alarm = clock.alarmAwaited(10);
      wake = alarm.wake;
      events.push(`${await alarm.rang} at ${clock.now()}`);
      await clock.join([waker]);
    });
    expect(events).toEqual(["true at 4"]);
  });
});
