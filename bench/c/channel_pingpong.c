// Round trip between two processes over a shared word: the C baseline for a channel's
// round trip. `spin`: both sides spin on the word; `futex`: both sleep on it with the
// shared futex and wake each other; `futex-spin`: as a channel's `block` waits, a spin
// of at most 2 us (BLOCK_SPIN_NS in lib/channel_wait.ts), then the futex, woken only
// when a sleeping flag is raised. Prints the mean round trip in ns.
//   channel_pingpong spin|futex|futex-spin [round_trips]
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPIN_FIRST_NS 2000

static _Atomic unsigned *word;
static _Atomic unsigned *sleeping;
static enum { SPIN, FUTEX, FUTEX_SPIN } mode;

static double now_ns(void);

static void await_value(unsigned v) {
  if (mode == FUTEX_SPIN) {
    double end = now_ns() + SPIN_FIRST_NS;
    do {
      for (int i = 0; i < 16; i++)
        if (atomic_load(word) == v) return;
    } while (now_ns() < end);
  }
  while (atomic_load(word) != v) {
    if (mode == SPIN) {
      __builtin_ia32_pause();
      continue;
    }
    if (mode == FUTEX_SPIN) atomic_store(sleeping, 1);
    unsigned cur = atomic_load(word);
    if (cur != v) syscall(SYS_futex, word, FUTEX_WAIT, cur, NULL, NULL, 0);
  }
}

static void publish(unsigned v) {
  atomic_store(word, v);
  if (mode == FUTEX || (mode == FUTEX_SPIN && atomic_exchange(sleeping, 0)))
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "spin";
  mode = strcmp(m, "futex") == 0 ? FUTEX : strcmp(m, "futex-spin") == 0 ? FUTEX_SPIN : SPIN;
  long n = argc > 2 ? atol(argv[2]) : (mode == SPIN ? 1000000 : 20000);
  word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  // On its own cache line: the flag's traffic must not slow the word's.
  sleeping = word + 32;
  atomic_store(word, 0);
  pid_t child = fork();
  if (child == 0) {
    for (long i = 0; i < n; i++) {
      await_value(2 * i + 1);
      publish(2 * i + 2);
    }
    _exit(0);
  }
  double t0 = 0;
  long warm = n / 10;
  for (long i = 0; i < n; i++) {
    if (i == warm) t0 = now_ns();
    publish(2 * i + 1);
    await_value(2 * i + 2);
  }
  double t1 = now_ns();
  waitpid(child, NULL, 0);
  printf("%.1f\n", (t1 - t0) / (n - warm));
  return 0;
}
