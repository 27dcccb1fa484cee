// The floor for 1 MiB messages one way (bench/drivers/c.js): a writer and a reader
// process hand 1 MiB frames through shared memory; the writer fills each frame with
// its pattern, the reader checks every word. Prints frames per second.
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8
#define FRAME (1 << 20)

struct header {
  _Atomic int64_t written;
  char pad1[56];
  _Atomic int64_t read;
  char pad2[56];
};

static uint32_t pattern(int64_t seq) { return (uint32_t)(seq + 1) * 0x9e3779b1u; }

int main(int argc, char** argv) {
  int64_t frames = argc > 1 ? atoll(argv[1]) : 2000;
  struct header* h = mmap(NULL, sizeof *h + (size_t)SLOTS * FRAME, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (h == MAP_FAILED) return perror("mmap"), 1;
  uint32_t* data = (uint32_t*)(h + 1);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    int64_t bad = 0;
    for (int64_t seq = 0; seq < frames; seq++) {
      while (atomic_load_explicit(&h->written, memory_order_acquire) == seq) {}
      uint32_t* f = data + (seq % SLOTS) * (FRAME / 4);
      uint32_t want = pattern(seq);
      for (int i = 0; i < FRAME / 4; i++) bad += f[i] != want;
      atomic_store_explicit(&h->read, seq + 1, memory_order_release);
    }
    _exit(bad != 0);
  }
  for (int64_t seq = 0; seq < frames; seq++) {
    while (seq - atomic_load_explicit(&h->read, memory_order_acquire) >= SLOTS) {}
    uint32_t* f = data + (seq % SLOTS) * (FRAME / 4);
    uint32_t v = pattern(seq);
    for (int i = 0; i < FRAME / 4; i++) f[i] = v;
    atomic_store_explicit(&h->written, seq + 1, memory_order_release);
  }
  int status;
  waitpid(pid, &status, 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("%f\n", frames / secs);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
