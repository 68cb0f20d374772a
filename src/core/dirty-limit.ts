// QEMU's dirty-limit (8.1+; migration/ram.c migration_dirty_limit_guest, system/dirtylimit.c).
// The trigger is auto-converge's (dirtied > throttle-trigger-threshold of sent, twice); then
// every vCPU gets the quota vcpu-dirty-limit, enforced through the KVM dirty ring: a vCPU
// whose ring fills exits (KVM_EXIT_DIRTY_RING_FULL) and sleeps `throttle_us_per_full` before
// it runs on. The dirtylimit thread re-measures each vCPU's dirty rate every
// vcpu-dirty-limit-period (1000 ms) and adjusts that sleep towards the quota; livemig takes
// the sleep that meets the quota at the rate just measured (QEMU reaches it in steps). A vCPU
// below its quota is not slowed at all, unlike auto-converge's whole-vCPU throttle.

export interface DirtyLimitOptions {
  /** vcpu-dirty-limit: bytes per second each vCPU may dirty. */
  bytesPerSecond: number;
  /** KVM dirty-ring-size: entries (pages) per vCPU ring. */
  ringSize: number;
  vcpus: number;
  pageSize: number;
}

export interface DirtyLimitState {
  /** Share of each vCPU's time spent sleeping on a full ring (0 below the quota). */
  fraction: number;
  /** dirty-limit-throttle-time-per-round: the sleep per ring full, us (QEMU: the largest vCPU's). */
  throttleUsPerFull: number;
  /** dirty-limit-ring-full-time: how long a vCPU takes to fill its ring, us, at the highest rate seen. */
  ringFullUs: number;
}

export class DirtyLimit {
  private maxRatePerVcpu = 0;

  constructor(private readonly o: DirtyLimitOptions) {}

  /**
   * The state that meets the quota, from the dirty rate (pages/s, all vCPUs) measured while
   * the vCPUs slept `fraction` of their time.
   */
  adjust(measuredPagesPerSecond: number, fraction: number): DirtyLimitState {
    const { o } = this;
    const quota = o.bytesPerSecond / o.pageSize; // pages/s per vCPU
    // What each vCPU would dirty if it did not sleep.
    const natural = measuredPagesPerSecond / o.vcpus / Math.max(1e-9, 1 - fraction);
    this.maxRatePerVcpu = Math.max(this.maxRatePerVcpu, natural);
    const ringFullUs = this.maxRatePerVcpu > 0 ? (o.ringSize / this.maxRatePerVcpu) * 1e6 : 0;
    if (!(natural > quota)) return { fraction: 0, throttleUsPerFull: 0, ringFullUs: Math.round(ringFullUs) };
    // ring / (ring / natural + sleep) = quota
    const sleepS = o.ringSize / quota - o.ringSize / natural;
    return { fraction: Math.round(Math.min(maxSleepShare, 1 - quota / natural) * 1e4) / 1e4, throttleUsPerFull: Math.round(sleepS * 1e6), ringFullUs: Math.round(ringFullUs) };
  }
}

/** The most a vCPU sleeps (auto-converge's max-cpu-throttle bound, 99 %): it always makes some progress. */
const maxSleepShare = 0.99;
