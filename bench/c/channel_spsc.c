// One-way throughput of 64-byte messages from one process to another through a ring in
// shared memory laid out as a channel's (docs/channel.md): a 1 MiB data area of records
// with an 8-byte header, padding at the wrap, head and tail 128 bytes apart, each side
// caching the other's position, the consumer publishing its tail every quarter ring or
// when it catches up. The producer publishes its head after every `batch` messages: 1 is
// what send() does, 64 what sendMany() of 64 does. The consumer checks every sequence
// number. Prints messages per second.
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

struct ring {
  _Alignas(128) _Atomic uint32_t head;
  _Alignas(128) _Atomic uint32_t tail;
  _Alignas(4096) unsigned char data[CAPACITY];
};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int consume(struct ring *r, long n) {
  uint32_t read = 0, head = 0, published = 0;
  long got = 0, bad = 0;
  while (got < n) {
    if (read == head) {
      if (read != published) atomic_store_explicit(&r->tail, published = read, memory_order_release);
      while ((head = atomic_load_explicit(&r->head, memory_order_acquire)) == read) __builtin_ia32_pause();
    }
    const unsigned char *rec = r->data + (read & (CAPACITY - 1));
    uint32_t extent, seq;
    memcpy(&extent, rec, 4);
    read += 8 + (extent & ~1u);
    if (extent & 1) continue;  // padding at the wrap
    memcpy(&seq, rec + 8, 4);
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
  uint32_t head = 0, tail = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    uint32_t index = head & (CAPACITY - 1), room = CAPACITY - index;
    uint32_t need = RECORD <= room ? RECORD : RECORD + room;
    while (CAPACITY - (head - tail) < need) {
      atomic_store_explicit(&r->head, head, memory_order_release);
      tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    }
    if (RECORD > room) {
      uint32_t pad = (room - 8) | 1;
      memcpy(r->data + index, &pad, 4);
      head += room;
      index = 0;
    }
    uint32_t header[2] = {MSG, MSG}, seq = (uint32_t)i;
    memcpy(r->data + index, header, 8);
    memcpy(msg, &seq, 4);
    memcpy(r->data + index + 8, msg, MSG);
    head += RECORD;
    if ((i + 1) % batch == 0) atomic_store_explicit(&r->head, head, memory_order_release);
  }
  atomic_store_explicit(&r->head, head, memory_order_release);
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
