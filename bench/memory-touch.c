// What fresh anonymous memory costs this host per 4 KiB page (docs/validation.md, fifth
// round): the first write, the first read (free where the kernel maps its shared zero page,
// a full population where it does not), a second write, and a first write right after
// munmap of the same amount. Build and run under the measurement lock:
//   gcc -O2 -o /tmp/memory-touch bench/memory-touch.c
//   flock /tmp/livemig-measure.lock /tmp/memory-touch 1024        (MiB, MADV_NOHUGEPAGE)
//   flock /tmp/livemig-measure.lock /tmp/memory-touch 1024 thp    (MADV_HUGEPAGE, as QEMU maps guest RAM)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static char *fresh(size_t bytes, int advice) {
  char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); exit(1); }
  madvise(p, bytes, advice);
  return p;
}

int main(int argc, char **argv) {
  if (argc < 2 || atol(argv[1]) <= 0) { fprintf(stderr, "usage: memory-touch MIB [thp]\n"); return 2; }
  const size_t bytes = (size_t)atol(argv[1]) << 20, page = 4096, pages = bytes / page;
  const int advice = argc > 2 && strcmp(argv[2], "thp") == 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
  char *written = fresh(bytes, advice), *read = fresh(bytes, advice);
  volatile char sink = 0;
  double t0 = seconds();
  for (size_t i = 0; i < bytes; i += page) written[i] = 1;
  double t1 = seconds();
  for (size_t i = 0; i < bytes; i += page) sink += read[i];
  double t2 = seconds();
  for (size_t i = 0; i < bytes; i += page) written[i] = 2;
  double t3 = seconds();
  munmap(written, bytes);
  char *again = fresh(bytes, advice);
  double t4 = seconds();
  for (size_t i = 0; i < bytes; i += page) again[i] = 1;
  double t5 = seconds();
  const double us = 1e6 / pages;
  printf("%s %zu MiB: first write %.2f us/page, first read %.2f, second write %.3f, first write after munmap %.2f\n",
         advice == MADV_HUGEPAGE ? "thp" : "4k", bytes >> 20, (t1 - t0) * us, (t2 - t1) * us, (t3 - t2) * us, (t5 - t4) * us);
  return 0;
}
