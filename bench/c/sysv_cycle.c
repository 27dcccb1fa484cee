/* System V segment life cycles in C, the floor for System V open/close (bench/drivers/c.js).
 *   sysv_cycle create <bytes> <iterations>   shmget + shmat + pre-fault + shmdt + IPC_RMID
 *   sysv_cycle attach <bytes> <iterations>   shmat + shmdt of one existing segment
 * Prints nanoseconds per cycle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  size_t size = strtoul(argv[2], NULL, 10);
  long n = atol(argv[3]);
  int create = !strcmp(argv[1], "create");
  int id = create ? -1 : shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  double start = now_ns();
  for (long i = 0; i < n; i++) {
    if (create) id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
    void *p = shmat(id, NULL, 0);
    if (id < 0 || p == (void *)-1) return perror("shm"), 1;
    if (create && madvise(p, size, MADV_POPULATE_WRITE) != 0) return perror("madvise"), 1;
    shmdt(p);
    if (create) shmctl(id, IPC_RMID, NULL);
  }
  double per = (now_ns() - start) / n;
  if (!create) shmctl(id, IPC_RMID, NULL);
  printf("%.0f\n", per);
  return 0;
}
