// The floor for podshm-sem (bench/drivers/c.js): POSIX process-shared semaphores
// (sem_init with pshared = 1 in MAP_SHARED memory), the baseline podshm's Semaphore
// is compared to.
//   sync_sem uncontended N   ns per sem_wait + sem_post, nobody else around
//   sync_sem handoff N       ns per round trip between two processes (ping-pong), then
//                            its percentiles (latency.h)
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "latency.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: sync_sem uncontended|handoff N\n");
    return 2;
  }
  long n = atol(argv[2]);
  sem_t* s = mmap(NULL, 2 * sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return perror("mmap"), 1;
  if (strcmp(argv[1], "uncontended") == 0) {
    sem_init(&s[0], 1, 1);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      sem_wait(&s[0]);
      sem_post(&s[0]);
    }
    printf("%.1f\n", (now_ns() - t0) / n);
    return 0;
  }
  sem_init(&s[0], 1, 0);
  sem_init(&s[1], 1, 0);
  pid_t child = fork();
  if (child == 0) {
    for (long i = 0; i < n; i++) {
      sem_wait(&s[0]);
      sem_post(&s[1]);
    }
    _exit(0);
  }
  long warm = n / 10;
  struct latency l = latency_new(n - warm);
  for (long i = 0; i < n; i++) {
    if (i == warm) latency_start(&l);
    sem_post(&s[0]);
    sem_wait(&s[1]);
    if (i >= warm) latency_record(&l);
  }
  waitpid(child, NULL, 0);
  latency_print(&l);
  return 0;
}
