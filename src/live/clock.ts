// The wall clock, behind the same Clock port as the simulator's virtual one. Times are
// milliseconds since the epoch with sub-millisecond resolution, so the hypervisor, its
// threads and the prober (in another thread) share one time base.

import type { Clock } from "../core/ports.js";

export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export class WallClock implements Clock {
  now(): number {
    return wallNow();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }

  spawn<T>(body: () => Promise<T>): Promise<T> {
    const task = Promise.resolve().then(body);
    task.catch(() => undefined); // reported through join, not as unhandled
    return task;
  }

  join<T>(tasks: Promise<T>[]): Promise<T[]> {
    return Promise.all(tasks);
  }
}
