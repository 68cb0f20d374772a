// Virtual time, after SimPy's Environment: a heap of (time, sequence) wake-ups; the dispatcher
// pops the earliest, sets `now`, resumes its waiter, and pops the next only when every process
// is blocked on the clock again (a sleep, a join, or its end). Virtual time is therefore exact, and
// same-time wake-ups run in the order they were scheduled, so runs are deterministic.

import type { Clock } from "../core/ports.js";

interface TaskState {
  settled: boolean;
  ok: boolean;
  value: unknown;
  error: unknown;
  onSettle: (() => void)[];
}

export class VirtualClock implements Clock {
  /** What `alarmAwaited` returns when it rang at once (`nextWakeUpIsOwn`): run out, not woken. */
  static readonly ranOut: { rang: Promise<boolean>; wake: () => void } = { rang: Promise.resolve(false), wake: () => undefined };
  private time = 0;
  private seq = 0;
  // The heap of wake-ups as three parallel arrays (time, sequence, waiter): no object per wake-up.
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly resumes: (() => void)[] = [];
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
    // The other wake-up came first: this one resumes nobody, so the run loop goes on.
    const ring = (woken: boolean) => (settled ? this.block() : ((settled = true), resolve(woken)));
    this.schedule(ms, () => ring(false));
    this.block();
    return { rang, wake: () => void (settled || this.schedule(0, () => ring(true))) };
  }

  /**
   * `sleep`, for a caller that awaits it at once, doing nothing else on the clock before (a
   * page read, a send): where it would be the next wake-up anyway, it ends now (`nextWakeUpIsOwn`).
   */
  sleepAwaited(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`sleep(${ms}): expected a duration >= 0`);
    return this.nextWakeUpIsOwn(ms) ? settled : this.sleep(ms);
  }

  /** `alarm`, for a caller that awaits it at once: nobody runs before it rings, so nobody can wake it. */
  alarmAwaited(ms: number): { rang: Promise<boolean>; wake: () => void } {
    if (!(ms >= 0)) throw new RangeError(`alarm(${ms}): expected a duration >= 0`);
    return this.nextWakeUpIsOwn(ms) ? VirtualClock.ranOut : this.alarm(ms);
  }

  /**
   * Whether the one running process, going to sleep for `ms` and awaiting it at once, would be
   * the next to wake: no other process runs and no wake-up is due before then (one due at the
   * same time was scheduled first, so it goes first). Then the clock moves to that time now,
   * with the dispatcher's sum, and the process goes on: the same wake-ups in the same order,
   * without a heap entry, a promise and two turns of the dispatcher (most of a lone migration's
   * sleeps: its page reads and sends). Only for a caller that awaits at once: one that went on
   * to spawn or wake a process first would do so at the later time.
   */
  private nextWakeUpIsOwn(ms: number): boolean {
    if (this.running !== 1) return false;
    const t = this.time + ms;
    if (this.times.length > 0 && !(this.times[0] > t)) return false;
    this.time = t;
    return true;
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

  joinAny(tasks: Promise<unknown>[]): Promise<void> {
    const states = tasks.map((t) => {
      const s = this.tasks.get(t);
      if (!s) throw new Error("joinAny: not a task spawned on this clock");
      return s;
    });
    return new Promise<void>((resolve) => {
      let woken = false;
      const wake = () => {
        if (woken) return;
        woken = true;
        this.schedule(0, resolve);
      };
      if (states.length === 0 || states.some((s) => s.settled)) wake();
      else for (const s of states) s.onSettle.push(wake);
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
      if (this.times.length === 0) {
        const finished = this.finished;
        this.finished = undefined;
        finished?.();
        break;
      }
      this.time = this.times[0];
      const resume = this.pop();
      this.running++;
      resume();
    }
    this.dispatching = false;
  };

  private block(): void {
    // A job on a settled promise: queueMicrotask would do the same at twice the cost (Node wraps it for async hooks).
    if (--this.running === 0 && !this.dispatching && this.finished) settled.then(this.dispatch);
  }

  private schedule(delay: number, resume: () => void): void {
    const { times, seqs, resumes } = this;
    const t = this.time + delay;
    const seq = this.seq++;
    // Sift up: parents later than the new wake-up move down into the hole.
    let i = times.length;
    times.push(t);
    seqs.push(seq);
    resumes.push(resume);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(t, seq, times[parent], seqs[parent])) break;
      this.move(parent, i);
      i = parent;
    }
    times[i] = t;
    seqs[i] = seq;
    resumes[i] = resume;
  }

  /** Takes the earliest wake-up off the heap and returns its waiter. */
  private pop(): () => void {
    const { times, seqs, resumes } = this;
    const top = resumes[0];
    const t = times.pop()!;
    const seq = seqs.pop()!;
    const resume = resumes.pop()!;
    const n = times.length;
    if (n > 0) {
      // Sift the last wake-up down from the root: earlier children move up into the hole.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = -1;
        if (l < n && before(times[l], seqs[l], t, seq)) m = l;
        if (r < n && before(times[r], seqs[r], m < 0 ? t : times[l], m < 0 ? seq : seqs[l])) m = r;
        if (m < 0) break;
        this.move(m, i);
        i = m;
      }
      times[i] = t;
      seqs[i] = seq;
      resumes[i] = resume;
    }
    return top;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from];
    this.seqs[to] = this.seqs[from];
    this.resumes[to] = this.resumes[from];
  }
}

const settled = Promise.resolve();

/** `clock.sleepAwaited` where the clock is a VirtualClock, else its `sleep`: for a caller that awaits at once. */
export function sleepAwaited(clock: Clock, ms: number): Promise<void> {
  return clock instanceof VirtualClock ? clock.sleepAwaited(ms) : clock.sleep(ms);
}

/** Whether wake-up (t, seq) comes before (u, useq): earlier, or as early and scheduled first. */
function before(t: number, seq: number, u: number, useq: number): boolean {
  return t < u || (t === u && seq < useq);
}
