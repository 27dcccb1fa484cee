// Round trip between two processes over a shared word: the C baseline for a channel's
// round trip. `spin`: both sides spin on the word; `futex`: both sleep on it with the
// shared futex and wake each other. Prints the mean round trip in ns.
//   channel_pingpong spin|futex [round_trips]
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

static _Atomic unsigned *word;
static int use_futex;

static void await_value(unsigned v) {
  while (atomic_load(word) != v) {
    if (use_futex) {
      unsigned cur = atomic_load(word);
      if (cur != v) syscall(SYS_futex, word, FUTEX_WAIT, cur, NULL, NULL, 0);
    } else {
      __builtin_ia32_pause();
    }
  }
}

static void publish(unsigned v) {
  atomic_store(word, v);
  if (use_futex) syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  use_futex = argc > 1 && strcmp(argv[1], "futex") == 0;
  long n = argc > 2 ? atol(argv[2]) : (use_futex ? 20000 : 1000000);
  word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
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
