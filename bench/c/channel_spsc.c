// One-way throughput of 64-byte messages from one process to another through a ring in
// shared memory laid out and published as a channel's (docs/channel.md, layout 2): a
// 1 MiB data area of records with an 8-byte header, padding at the wrap; a record is
// published by storing its word 0 last, after a 0 in the word 0 that follows it; the
// consumer polls the record's word 0, not the head, and publishes its tail every
// quarter ring or when it catches up. The producer publishes after every `batch`
// messages, the batch's first record last: 1 is what send() does, 64 what sendMany() of
// 64 does. The consumer checks every sequence number. Prints messages per second.
//   channel_spsc [messages] [batch]
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

#define CAPACITY (1u << 20)
#define MSG 64
#define RECORD (8 + MSG)
#define PAD 1u
#define WRITTEN 2u

struct ring {
  _Alignas(128) _Atomic uint32_t head;
  _Alignas(128) _Atomic uint32_t tail;
  _Alignas(4096) _Atomic uint32_t data[CAPACITY / 4];
};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static _Atomic uint32_t *word0(struct ring *r, uint32_t pos) { return &r->data[(pos & (CAPACITY - 1)) / 4]; }

static int consume(struct ring *r, long n) {
  uint32_t read = 0, published = 0;
  long got = 0, bad = 0;
  while (got < n) {
    uint32_t w0 = atomic_load_explicit(word0(r, read), memory_order_acquire);
    if (w0 == 0) {
      if (read != published) atomic_store_explicit(&r->tail, published = read, memory_order_release);
      while ((w0 = atomic_load_explicit(word0(r, read), memory_order_acquire)) == 0) __builtin_ia32_pause();
    }
    uint32_t seq;
    memcpy(&seq, (const unsigned char *)word0(r, read) + 8, 4);
    read += 8 + (w0 & ~7u);
    if (w0 & PAD) continue;
    bad += seq != (uint32_t)got++;
    if (read - published >= CAPACITY / 4) atomic_store_explicit(&r->tail, published = read, memory_order_release);
  }
  return bad == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 50000000;
  long batch = argc > 2 ? atol(argv[2]) : 1;
  struct ring *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid_t child = fork();
  if (child == 0) _exit(consume(r, n));
  unsigned char msg[MSG] = {0};
  uint32_t head = 0, tail = 0, first = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    uint32_t index = head & (CAPACITY - 1), room = CAPACITY - index;
    uint32_t need = (RECORD <= room ? RECORD : RECORD + room) + 8;
    while (CAPACITY - (head - tail) < need) tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (RECORD > room) {
      atomic_store_explicit(word0(r, 0), 0, memory_order_relaxed);
      atomic_store_explicit(word0(r, head) + 1, 0, memory_order_relaxed);
      atomic_store_explicit(word0(r, head), (room - 8) | WRITTEN | PAD, memory_order_release);
      head += room;
    }
    uint32_t seq = (uint32_t)i;
    atomic_store_explicit(word0(r, head + RECORD), 0, memory_order_relaxed);
    atomic_store_explicit(word0(r, head) + 1, MSG, memory_order_relaxed);
    memcpy(msg, &seq, 4);
    memcpy((unsigned char *)word0(r, head) + 8, msg, MSG);
    if (i % batch == 0) {
      first = head;
    } else {
      atomic_store_explicit(word0(r, head), MSG | WRITTEN, memory_order_relaxed);
    }
    head += RECORD;
    if ((i + 1) % batch == 0 || i + 1 == n) {
      atomic_store_explicit(word0(r, first), MSG | WRITTEN, memory_order_release);
      atomic_store_explicit(&r->head, head, memory_order_relaxed);
    }
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
