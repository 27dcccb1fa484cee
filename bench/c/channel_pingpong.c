// Round trip between two processes over a shared word: the C baseline for a channel's
// round trip. `spin`: both sides spin on the word; `futex`: both sleep on it with the
// shared futex and wake each other; `futex-spin`: as a channel's `block` waits, a spin
// of at most 5 us (BLOCK_SPIN_NS in lib/channel/wait.ts), then the channel's sleep
// protocol (a sleeping flag and a futex word per direction, woken only when the flag
// is raised). Prints the mean round trip and its percentiles in ns (latency.h).
//   channel_pingpong spin|futex|futex-spin [round_trips]
#define _GNU_SOURCE
#include <linux/futex.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "latency.h"

#define SPIN_FIRST_NS 5000

// One direction's sleeping place, on its own cache line.
struct sleeper {
  _Atomic unsigned flag;
  _Atomic unsigned seq;
  char pad[56];
};

static _Atomic unsigned *word;
// [0]: the child waits for the parent, [1]: the parent for the child.
static struct sleeper *sleepers;
static enum { SPIN, FUTEX, FUTEX_SPIN } mode;

static void await_value(unsigned v, struct sleeper *s) {
  if (mode == FUTEX_SPIN) {
    double end = now_ns() + SPIN_FIRST_NS;
    do {
      for (int i = 0; i < 16; i++)
        if (atomic_load(word) == v) return;
    } while (now_ns() < end);
    // lib/channel/wait.ts: the word before the flag, then the re-check.
    while (atomic_load(word) != v) {
      unsigned expected = atomic_load(&s->seq);
      atomic_store(&s->flag, 1);
      if (atomic_load(word) == v) return;
      syscall(SYS_futex, &s->seq, FUTEX_WAIT, expected, NULL, NULL, 0);
    }
    return;
  }
  while (atomic_load(word) != v) {
    if (mode == SPIN) {
      __builtin_ia32_pause();
      continue;
    }
    unsigned cur = atomic_load(word);
    if (cur != v) syscall(SYS_futex, word, FUTEX_WAIT, cur, NULL, NULL, 0);
  }
}

static void publish(unsigned v, struct sleeper *s) {
  atomic_store(word, v);
  if (mode == FUTEX) {
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
  } else if (mode == FUTEX_SPIN && atomic_load(&s->flag) && atomic_exchange(&s->flag, 0)) {
    atomic_fetch_add(&s->seq, 1);
    syscall(SYS_futex, &s->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  }
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "spin";
  mode = strcmp(m, "futex") == 0 ? FUTEX : strcmp(m, "futex-spin") == 0 ? FUTEX_SPIN : SPIN;
  long n = argc > 2 ? atol(argv[2]) : (mode == SPIN ? 1000000 : 20000);
  word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  // On lines of their own: the flags' traffic must not slow the word's.
  sleepers = (struct sleeper *)((char *)word + 128);
  atomic_store(word, 0);
  pid_t child = fork();
  if (child == 0) {
    for (long i = 0; i < n; i++) {
      await_value(2 * i + 1, &sleepers[0]);
      publish(2 * i + 2, &sleepers[1]);
    }
    _exit(0);
  }
  long warm = n / 10;
  struct latency l = latency_new(n - warm);
  for (long i = 0; i < n; i++) {
    if (i == warm) latency_start(&l);
    publish(2 * i + 1, &sleepers[0]);
    await_value(2 * i + 2, &sleepers[1]);
    if (i >= warm) latency_record(&l);
  }
  waitpid(child, NULL, 0);
  latency_print(&l);
  return 0;
}
