// One-way throughput of 64-byte messages through a single-producer single-consumer
// ring in shared memory between two processes: the C baseline for the channel's
// one-way figure. Head and tail on separate cache-line pairs, each side caching the
// other's position. Prints messages per second.
//   channel_spsc [messages]
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 65536
#define MSG 64

struct ring {
  _Alignas(128) _Atomic uint64_t head;
  _Alignas(128) _Atomic uint64_t tail;
  _Alignas(128) unsigned char data[SLOTS][MSG];
};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 50000000;
  struct ring *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid_t child = fork();
  if (child == 0) {
    uint64_t tail = 0, head = 0, sum = 0;
    while (tail < (uint64_t)n) {
      if (tail == head) {
        while ((head = atomic_load_explicit(&r->head, memory_order_acquire)) == tail) __builtin_ia32_pause();
      }
      uint64_t seq;
      memcpy(&seq, r->data[tail % SLOTS], sizeof seq);
      sum += seq;
      tail++;
      atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
    _exit(sum == (uint64_t)n * (n - 1) / 2 ? 0 : 1);
  }
  unsigned char msg[MSG] = {0};
  uint64_t head = 0, tail = 0;
  double t0 = now_ns();
  for (uint64_t i = 0; i < (uint64_t)n; i++) {
    if (head - tail == SLOTS) {
      while (head - (tail = atomic_load_explicit(&r->tail, memory_order_acquire)) == SLOTS) __builtin_ia32_pause();
    }
    memcpy(msg, &i, sizeof i);
    memcpy(r->data[head % SLOTS], msg, MSG);
    head++;
    atomic_store_explicit(&r->head, head, memory_order_release);
  }
  int status;
  waitpid(child, &status, 0);
  double t1 = now_ns();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "consumer saw wrong data\n");
    return 1;
  }
  printf("%.0f\n", n / ((t1 - t0) / 1e9));
  return 0;
}
