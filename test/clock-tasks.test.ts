// The virtual clock's tasks: what join, joinAny and run do when a task fails, when it has already ended, when
// several end, and when nothing is left to wake the main process; each sequence worked out by hand.

import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/sim/clock.js";

describe("the virtual clock's tasks", () => {
  it("join waits for every task, then gives their values in its own order, or rejects with the first failed one's error in that order", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const value = await clock.run(async () => {
      const late = clock.spawn(async () => (await clock.sleep(5), "late"));
      const early = clock.spawn(async () => (await clock.sleep(1), 1));
      log.push(`values ${JSON.stringify(await clock.join([late, early]))} at ${clock.now()}`);
      const fails = clock.spawn(async () => {
        await clock.sleep(2);
        throw new Error("failed at 7");
      });
      const failsLater = clock.spawn(async () => {
        await clock.sleep(3);
        throw new Error("failed at 8");
      });
      const ends = clock.spawn(async () => {
        await clock.sleep(4);
        log.push(`ended at ${clock.now()}`);
      });
      // The failures come before the last task ends: join still waits for it.
      await clock.join([ends, failsLater, fails]).catch((e: Error) => log.push(`${e.message}, rejected at ${clock.now()}`));
      return "main's value";
    });
    expect(value).toBe("main's value");
    expect(log).toEqual(['values ["late",1] at 5', "ended at 9", "failed at 8, rejected at 9"]);
  });

  it("run rejects with the main process's error, after the time it ran", async () => {
    const clock = new VirtualClock();
    await expect(
      clock.run(async () => {
        await clock.sleep(3);
        throw new Error("main failed");
      }),
    ).rejects.toThrow("main failed");
    expect(clock.now()).toBe(3);
  });

  it("run rejects, naming a deadlock, when no wake-up is left and the main process waits on a task that waits on itself", async () => {
    const clock = new VirtualClock();
    await expect(
      clock.run(async () => {
        const selfJoined: Promise<void> = clock.spawn(async () => void (await clock.join([selfJoined])));
        await clock.join([selfJoined]);
      }),
    ).rejects.toThrow(new Error("virtual clock: deadlock, a process waits on something that is not the clock"));
  });

  it("joinAny wakes once, when the first of its tasks ends (a failure too, without rejecting); at once when one has ended or none is given", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    await clock.run(async () => {
      const slow = clock.spawn(async () => void (await clock.sleep(9)));
      const fails = clock.spawn(async () => {
        await clock.sleep(3);
        throw new Error("failed");
      });
      // Both end after this wait began: it is woken by the first, and the second wakes nobody (the run goes on to 9).
      await clock.joinAny([slow, fails]);
      log.push(`any at ${clock.now()}`);
      await clock.joinAny([slow, fails]);
      log.push(`one had ended: at once, ${clock.now()}`);
      await clock.joinAny([]);
      log.push(`none: at once, ${clock.now()}`);
      await clock.join([slow]);
      log.push(`slow at ${clock.now()}`);
    });
    expect(log).toEqual(["any at 3", "one had ended: at once, 3", "none: at once, 3", "slow at 9"]);
  });

  it("a task listed twice wakes its join and its joinAny once each: the run goes on to its end", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    await clock.run(async () => {
      const once = clock.spawn(async () => (await clock.sleep(2), "v"));
      const twice = clock.spawn(async () => void (await clock.sleep(4)));
      log.push(`${JSON.stringify(await clock.join([once, once]))} at ${clock.now()}`);
      await clock.joinAny([twice, twice]);
      log.push(`any at ${clock.now()}`);
      await clock.sleep(1);
      log.push(`slept to ${clock.now()}`);
    });
    expect(log).toEqual(['["v","v"] at 2', "any at 4", "slept to 5"]);
  });

  it("join and joinAny refuse a promise the clock did not spawn, naming themselves", async () => {
    const clock = new VirtualClock();
    await clock.run(async () => {
      const foreign = Promise.resolve(1);
      expect(() => clock.join([foreign])).toThrow(new Error("join: not a task spawned on this clock"));
      expect(() => clock.joinAny([foreign])).toThrow(new Error("joinAny: not a task spawned on this clock"));
    });
  });
});
