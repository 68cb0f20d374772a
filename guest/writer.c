/*
 * livemig's guest workload: the initramfs's main program, run by /init as PID 1's child.
 *
 * It writes pages at a fixed rate over a working set, choosing them as livemig's workload
 * models do (`uniform`, `scan` or `hotcold`, src/sim/workload.ts), and keeps a generation counter per page in a
 * separate array, so that it can verify, continuously, that every page still holds the
 * last value written to it. A write lost by live migration (the dirty log missed it, the
 * destination got the old copy) shows as a page whose content is older than its counter.
 *
 * Parameters come from the kernel command line:
 *   livemig.ws=BYTES    working set (0: idle, only the heartbeat)
 *   livemig.rate=N      page writes per second over the working set
 *   livemig.seed=N      PRNG seed
 *   livemig.pattern=N   0 uniform random pages, 1 scan (sequential, wrapping),
 *                       2 hotcold (the first hotpct % of the set gets hotshare % of the writes)
 *   livemig.hotpct=N, livemig.hotshare=N   hotcold's shares, in percent (default 10, 90)
 *
 * Console lines (one every ~100 ms; the host parses them, see src/qemu/console.ts):
 *   LIVEMIG READY ws=<bytes> pages=<n> rate=<target>
 *   HB <seq> <ms since start> <writes total> <achieved writes/s over the last second>
 *   VERIFY <first seq> <last seq> <pages checked> <bad pages>
 *   LOST <page> <expected generation> <found word>          (first few only)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define TICK_MS 100
/* The verifier checks this share of the working set each tick: a full scan every 2 s. */
#define VERIFY_TICKS 20
#define MAX_LOST_LINES 20

static uint64_t rng_state;

static uint64_t next_random(void) {
  /* xorshift64*: fast and good enough to pick pages uniformly. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static uint64_t param(const char *cmdline, const char *name, uint64_t fallback) {
  const char *p = strstr(cmdline, name);
  if (!p) return fallback;
  return strtoull(p + strlen(name), NULL, 10);
}

enum { PATTERN_UNIFORM, PATTERN_SCAN, PATTERN_HOTCOLD };

/* The next page to write, as the workload model of the same name picks it. */
static uint64_t next_page(int pattern, uint64_t pages, uint64_t hot, uint64_t hotshare, uint64_t *scan) {
  switch (pattern) {
    case PATTERN_SCAN: {
      uint64_t p = *scan;
      *scan = p + 1 == pages ? 0 : p + 1;
      return p;
    }
    case PATTERN_HOTCOLD:
      if (next_random() % 100 < hotshare || hot >= pages) return next_random() % hot;
      return hot + next_random() % (pages - hot);
    default:
      return next_random() % pages;
  }
}

/* What a page holds after its g-th write: its index and the generation, never zero. */
static inline uint64_t stamp(uint64_t page, uint32_t generation) {
  return ((uint64_t)generation << 32) | page;
}

int main(void) {
  char cmdline[4096] = {0};
  FILE *f = fopen("/proc/cmdline", "r");
  if (f) {
    if (!fgets(cmdline, sizeof cmdline, f)) cmdline[0] = 0;
    fclose(f);
  }
  uint64_t ws = param(cmdline, "livemig.ws=", 0);
  uint64_t rate = param(cmdline, "livemig.rate=", 0);
  rng_state = param(cmdline, "livemig.seed=", 1) * 0x9E3779B97F4A7C15ULL + 1;
  uint64_t pages = ws / PAGE;
  int pattern = (int)param(cmdline, "livemig.pattern=", PATTERN_UNIFORM);
  uint64_t hot = pages * param(cmdline, "livemig.hotpct=", 10) / 100;
  if (hot == 0) hot = 1;
  uint64_t hotshare = param(cmdline, "livemig.hotshare=", 90);
  uint64_t scan = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);

  uint8_t *mem = NULL;
  uint32_t *gen = NULL;
  if (pages > 0) {
    mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    gen = mmap(NULL, pages * sizeof *gen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED || gen == MAP_FAILED) {
      printf("LIVEMIG ERROR cannot map a working set of %llu bytes\n", (unsigned long long)ws);
      for (;;) pause();
    }
    /* Every page of the working set starts non-zero, as the simulator's `used` pages. */
    for (uint64_t p = 0; p < pages; p++) {
      gen[p] = 1;
      *(volatile uint64_t *)(mem + p * PAGE) = stamp(p, 1);
    }
  }
  printf("LIVEMIG READY ws=%llu pages=%llu rate=%llu\n", (unsigned long long)ws, (unsigned long long)pages, (unsigned long long)rate);

  double start = now_ms();
  double next_tick = start + TICK_MS;
  uint64_t writes = 0, seq = 0, lost_lines = 0;
  uint64_t window_writes[10] = {0};
  double window_ms[10] = {0};
  uint64_t verify_cursor = 0, verify_first_seq = 0, verify_bad = 0;
  uint64_t per_tick_verify = pages / VERIFY_TICKS + 1;

  for (;;) {
    double t = now_ms();
    if (pages > 0 && rate > 0) {
      /* Catch up with the target count, in bursts, checking the clock every 64 writes. */
      uint64_t due = (uint64_t)((t - start) * rate / 1000.0);
      while (writes < due) {
        uint64_t chunk = due - writes < 64 ? due - writes : 64;
        for (uint64_t i = 0; i < chunk; i++) {
          uint64_t p = next_page(pattern, pages, hot, hotshare, &scan);
          uint32_t g = ++gen[p];
          *(volatile uint64_t *)(mem + p * PAGE) = stamp(p, g);
        }
        writes += chunk;
        if (now_ms() >= next_tick) break;
      }
    }
    t = now_ms();
    if (t >= next_tick) {
      seq++;
      /* Achieved rate over the last (up to) ten ticks. */
      int slot = seq % 10;
      uint64_t old_writes = window_writes[slot];
      double old_ms = window_ms[slot];
      window_writes[slot] = writes;
      window_ms[slot] = t;
      double achieved = (seq > 10 && t > old_ms) ? (writes - old_writes) * 1000.0 / (t - old_ms) : 0;
      printf("HB %llu %.0f %llu %.0f\n", (unsigned long long)seq, t - start, (unsigned long long)writes, achieved);

      /* A slice of the verification scan: reads only, so it dirties nothing. */
      if (pages > 0) {
        if (verify_cursor == 0) verify_first_seq = seq;
        uint64_t end = verify_cursor + per_tick_verify;
        if (end > pages) end = pages;
        for (uint64_t p = verify_cursor; p < end; p++) {
          uint64_t found = *(volatile uint64_t *)(mem + p * PAGE);
          if (found != stamp(p, gen[p])) {
            verify_bad++;
            if (lost_lines++ < MAX_LOST_LINES)
              printf("LOST %llu %u %llx\n", (unsigned long long)p, gen[p], (unsigned long long)found);
          }
        }
        verify_cursor = end;
        if (verify_cursor >= pages) {
          printf("VERIFY %llu %llu %llu %llu\n", (unsigned long long)verify_first_seq, (unsigned long long)seq,
                 (unsigned long long)pages, (unsigned long long)verify_bad);
          verify_cursor = 0;
          verify_bad = 0;
        }
      }
      next_tick += TICK_MS;
      /* After a long stall (the migration's downtime), do not replay the missed ticks. */
      if (next_tick < t) next_tick = t + TICK_MS;
    }
    /* Sleep until the next write is due or the next tick, whichever comes first. */
    double wake = next_tick;
    if (pages > 0 && rate > 0) {
      double due_at = start + (writes + 64) * 1000.0 / rate;
      if (due_at < wake) wake = due_at;
    }
    double wait = wake - now_ms();
    if (wait > 0.05) {
      struct timespec ts = {(time_t)(wait / 1000), (long)((wait - (time_t)(wait / 1000) * 1000) * 1e6)};
      nanosleep(&ts, NULL);
    }
  }
}
