// The wall clock, behind the same Clock port as the simulator's virtual one. Times are
// milliseconds since the epoch with sub-millisecond resolution, so the hypervisor, its
// threads and the prober (in another thread) share one time base.

import type { Clock } from "../core/ports.js";

/** The end of a sleep is waited for by turning the event loop, not by a timer. */
const spinMs = 1.5;

export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export class WallClock implements Clock {
  now(): number {
    return wallNow();
  }

  /**
   * Sleeps `ms` and no more than the event loop's next turn longer: a timer for all but the
   * last `spinMs`, then the loop's turns (a timer alone fires 0.1-2 ms late on a quiet machine,
   * more under load, and the modelled costs in the downtime are sleeps of 1-20 ms).
   */
  sleep(ms: number): Promise<void> {
    const until = performance.now() + ms;
    return new Promise((resolve) => {
      const check = () => {
        const left = until - performance.now();
        if (left <= 0) resolve();
        else if (left > spinMs) setTimeout(check, left - spinMs);
        else setImmediate(check);
      };
      check();
    });
  }

  spawn<T>(body: () => Promise<T>): Promise<T> {
    const task = Promise.resolve().then(body);
    task.catch(() => undefined); // reported through join, not as unhandled
    return task;
  }

  join<T>(tasks: Promise<T>[]): Promise<T[]> {
    return Promise.all(tasks);
  }

  joinAny(tasks: Promise<unknown>[]): Promise<void> {
    const ended = () => undefined;
    return tasks.length === 0 ? Promise.resolve() : Promise.race(tasks.map((t) => t.then(ended, ended)));
  }
}
