// Preloaded (`node --require`) into every thread of a livemig process by bench/thread-cpu.ts:
// writes "pid tid threadId name" to $LIVEMIG_THREAD_LOG, so that the kernel's per-thread CPU
// times (/proc/PID/task/TID) can be read by what each thread is (main, pin-worker, vcpu, ...).
// CommonJS because Node 20 runs --require preloads in worker threads, and --import ones not.
"use strict";
const { appendFileSync, readlinkSync } = require("node:fs");
const wt = require("node:worker_threads");

const log = process.env.LIVEMIG_THREAD_LOG;
if (log) {
  const tid = readlinkSync("/proc/thread-self").split("/").pop();
  const line = (threadId, name) => appendFileSync(log, `${process.pid} ${threadId} ${name}\n`);
  // The kernel's thread id of this thread, under its worker threadId; names come from the creator.
  appendFileSync(log, `${process.pid} tid ${wt.threadId} ${tid}\n`);
  if (wt.isMainThread) {
    line(0, process.argv[2] === "dest" ? "destination-main" : "source-main");
    const Base = wt.Worker;
    wt.Worker = class extends Base {
      constructor(script, options) {
        super(script, options);
        const name = String(script).split("/").pop().replace(/\.js$/, "");
        line(this.threadId, name);
      }
    };
    require("node:module").syncBuiltinESMExports();
  }
}
