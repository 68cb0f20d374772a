// The virtual clock's sleeps for callers that await at once (`sleepAwaited`, `alarmAwaited`: a
// page read, a send): they may end without the dispatcher where nothing else would run first,
// and must give exactly the wake-ups `sleep` gives, in the same order, at the same times.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/sim/clock.js";
import { propertyRuns } from "./helpers.js";

type Kind = "sleep" | "sleepAwaited" | "alarmAwaited";

describe("the virtual clock's sleeps awaited at once", () => {
  it("give the wake-ups plain sleeps give, at the same times and in the same order, mixed with them in any way", async () => {
    /** Each process's wake-ups, as "process@time", in the order they came. */
    const trace = async (processes: [number, Kind][][], plain: boolean) => {
      const clock = new VirtualClock();
      const woke: string[] = [];
      await clock.run(() =>
        clock.join(
          processes.map((sleeps, p) =>
            clock.spawn(async () => {
              for (const [ms, kind] of sleeps) {
                if (plain || kind === "sleep") await clock.sleep(ms);
                else if (kind === "sleepAwaited") await clock.sleepAwaited(ms);
                else if (await clock.alarmAwaited(ms).rang) woke.push(`${p} woken`);
                woke.push(`${p}@${clock.now()}`);
              }
            }),
          ),
        ),
      );
      return woke;
    };
    await fc.assert(
      fc.asyncProperty(
        // Each process: its sleeps (ms from a small set, so that many fall due at once) and how each sleeps.
        fc.array(fc.array(fc.tuple(fc.constantFrom(0, 0.5, 1, 1.5, 2, 3, 7), fc.constantFrom<Kind>("sleep", "sleepAwaited", "alarmAwaited")), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        async (processes) => {
          expect(await trace(processes, false)).toEqual(await trace(processes, true));
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
