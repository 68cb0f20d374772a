// The virtual clock's order of wake-ups: by time, and wake-ups due at the same time in the
// order they were scheduled (what makes runs deterministic), against a sort of the schedule.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/sim/clock.js";
import { propertyRuns } from "./helpers.js";

describe("the virtual clock's wake-ups", () => {
  it("come in order of time, ties in the order they were scheduled, whatever the mix of processes and sleeps", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Each process: its sleeps, in ms, from a small set so that many fall due at once.
        fc.array(fc.array(fc.constantFrom(0, 0.5, 1, 1.5, 2, 3, 7), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 12 }),
        async (processes) => {
          const clock = new VirtualClock();
          const woke: { t: number; at: number; process: number }[] = [];
          const scheduled: { due: number; order: number; process: number }[] = [];
          let order = 0;
          await clock.run(async () => {
            const tasks = processes.map((sleeps, process) =>
              clock.spawn(async () => {
                for (const ms of sleeps) {
                  scheduled.push({ due: clock.now() + ms, order: order++, process });
                  await clock.sleep(ms);
                  woke.push({ t: clock.now(), at: scheduled.findLast((s) => s.process === process)!.order, process });
                }
              }),
            );
            await clock.join(tasks);
          });
          // Every sleep ended at its due time, and the ends came sorted by (due time, scheduling order).
          const expected = [...scheduled].sort((a, b) => a.due - b.due || a.order - b.order);
          expect(woke.map((w) => w.at)).toEqual(expected.map((s) => s.order));
          expect(woke.map((w) => w.t)).toEqual(expected.map((s) => s.due));
        },
      ),
      { numRuns: propertyRuns(100) },
    );
  });

  it("an alarm woken early resolves true at the wake's time, and its own time passes without resuming anyone", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    await clock.run(async () => {
      const alarm = clock.alarm(10);
      const waker = clock.spawn(async () => {
        await clock.sleep(4);
        alarm.wake();
        alarm.wake(); // a second wake changes nothing
      });
      events.push(`${await alarm.rang} at ${clock.now()}`);
      await clock.sleep(20);
      events.push(`slept to ${clock.now()}`);
      await clock.join([waker]);
    });
    expect(events).toEqual(["true at 4", "slept to 24"]);
  });
});

describe("the virtual clock's durations", () => {
  it("refuses a negative or NaN duration in each of its waits, naming it, and takes 0", async () => {
    const clock = new VirtualClock();
    await clock.run(async () => {
      for (const ms of [-1, Number.NaN]) {
        expect(() => clock.sleep(ms)).toThrow(new RangeError(`sleep(${ms}): expected a duration >= 0`));
        expect(() => clock.sleepAwaited(ms)).toThrow(new RangeError(`sleep(${ms}): expected a duration >= 0`));
        expect(() => clock.alarm(ms)).toThrow(new RangeError(`alarm(${ms}): expected a duration >= 0`));
        expect(() => clock.alarmAwaited(ms)).toThrow(new RangeError(`alarm(${ms}): expected a duration >= 0`));
      }
      await clock.sleep(0);
      await clock.sleepAwaited(0);
    });
    expect(clock.now()).toBe(0);
  });
});
