// Virtual time, after SimPy's Environment: a heap of (time, sequence) wake-ups; the dispatcher
// pops the earliest, sets `now`, resumes its waiter, and pops the next only when every process
// is blocked on the clock again (a sleep, a join, or its end). Virtual time is therefore exact, and
// same-time wake-ups run in the order they were scheduled, so runs are deterministic.

import type { Clock } from "../core/ports.js";

interface Wakeup {
  t: number;
  seq: number;
  resume: () => void;
}

interface TaskState {
  settled: boolean;
  ok: boolean;
  value: unknown;
  error: unknown;
  onSettle: (() => void)[];
}

export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly heap: Wakeup[] = [];
  private readonly tasks = new WeakMap<Promise<unknown>, TaskState>();
  /** Processes running now, i.e. not blocked on the clock. */
  private running = 0;
  /** Settles `run`'s promise when no wake-up is left. */
  private finished: (() => void) | undefined;
  private dispatching = false;

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`sleep(${ms}): expected a duration >= 0`);
    return new Promise((resolve) => {
      this.schedule(ms, resolve);
      this.block();
    });
  }

  /**
   * A sleep that `wake()` can end early: resolves to true when woken, false when the time ran
   * out (a flow of the shared network re-plans when its rate changes mid-send).
   */
  alarm(ms: number): { rang: Promise<boolean>; wake: () => void } {
    if (!(ms >= 0)) throw new RangeError(`alarm(${ms}): expected a duration >= 0`);
    let settled = false;
    let resolve!: (woken: boolean) => void;
    const rang = new Promise<boolean>((r) => (resolve = r));
    const fire = (woken: boolean) => () => {
      // The other wake-up came first: this one resumes nobody, so the run loop goes on.
      if (settled) return this.block();
      settled = true;
      resolve(woken);
    };
    this.schedule(ms, fire(false));
    this.block();
    return { rang, wake: () => void (settled || this.schedule(0, fire(true))) };
  }

  spawn<T>(body: () => Promise<T>): Promise<T> {
    const state: TaskState = { settled: false, ok: false, value: undefined, error: undefined, onSettle: [] };
    const task = new Promise<T>((resolve, reject) => {
      this.schedule(0, () => {
        body()
          .then(
            (value) => Object.assign(state, { ok: true, value }),
            (error) => Object.assign(state, { ok: false, error }),
          )
          .then(() => {
            state.settled = true;
            if (state.ok) resolve(state.value as T);
            else reject(state.error);
            for (const f of state.onSettle) f();
            this.block();
          });
      });
    });
    task.catch(() => undefined); // reported through join or run, not as unhandled
    this.tasks.set(task, state);
    return task;
  }

  join<T>(tasks: Promise<T>[]): Promise<T[]> {
    const states = tasks.map((t) => {
      const s = this.tasks.get(t);
      if (!s) throw new Error("join: not a task spawned on this clock");
      return s;
    });
    return new Promise<T[]>((resolve, reject) => {
      let woken = false;
      const wakeWhenAllSettled = () => {
        if (woken || !states.every((s) => s.settled)) return;
        woken = true;
        this.schedule(0, () => {
          const failed = states.find((s) => !s.ok);
          if (failed) reject(failed.error);
          else resolve(states.map((s) => s.value as T));
        });
      };
      for (const s of states) if (!s.settled) s.onSettle.push(wakeWhenAllSettled);
      wakeWhenAllSettled();
      this.block();
    });
  }

  /** Runs `main` to completion in virtual time and returns its result. */
  run<T>(main: () => Promise<T>): Promise<T> {
    const task = this.spawn(main);
    const state = this.tasks.get(task)!;
    return new Promise<T>((resolve, reject) => {
      this.finished = () => {
        if (!state.settled) reject(new Error("virtual clock: deadlock, a process waits on something that is not the clock"));
        else if (!state.ok) reject(state.error);
        else resolve(state.value as T);
      };
      this.dispatch();
    });
  }

  /**
   * Resumes the earliest waiter; again while a resume blocks at once (a stale alarm). The last
   * process to block queues it as a microtask, where an awaiting run loop would have gone on:
   * the same order of wake-ups, without a promise per wake-up.
   */
  private readonly dispatch = (): void => {
    this.dispatching = true;
    while (this.running === 0) {
      if (this.heap.length === 0) {
        const finished = this.finished;
        this.finished = undefined;
        finished?.();
        break;
      }
      const w = this.pop();
      this.time = w.t;
      this.running++;
      w.resume();
    }
    this.dispatching = false;
  };

  private block(): void {
    // A job on a settled promise: queueMicrotask would do the same at twice the cost (Node wraps it for async hooks).
    if (--this.running === 0 && !this.dispatching && this.finished) settled.then(this.dispatch);
  }

  private schedule(delay: number, resume: () => void): void {
    const h = this.heap;
    h.push({ t: this.time + delay, seq: this.seq++, resume });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): Wakeup {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const settled = Promise.resolve();

function before(a: Wakeup, b: Wakeup): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
