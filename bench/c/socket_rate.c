// The floor under the latency-at-a-fixed-rate rows: 64 B requests over a Unix stream
// socket pair, answered by an echo, both sides waiting in epoll_wait as an event loop
// does (one wake-up each way per round trip once the rate leaves each side idle). As
// the Node.js rows do (bench/lib/roles.js, rate), each latency runs from when its
// request was due, the client turns (here: spins) until then, the first tenth is
// warm-up, and the CPU per message is the echo's alone. Prints the count, the p50, p99
// and p99.9 in ns (latency.h's ranks), then the echo's CPU µs per message.
//   socket_rate N RATE SIZE
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "latency.h"

static double cpu_us(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

// Waits until `fd` is readable, then reads exactly `size` bytes (a stream may split them).
static void take(int ep, int fd, char *buf, int size) {
  for (int got = 0; got < size;) {
    struct epoll_event e;
    if (epoll_wait(ep, &e, 1, -1) < 0) perror("epoll_wait"), exit(1);
    ssize_t r = read(fd, buf + got, size - got);
    if (r <= 0) perror("read"), exit(1);
    got += r;
  }
}

static int watch(int fd) {
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) perror("epoll"), exit(1);
  return ep;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: socket_rate N RATE SIZE\n");
    return 2;
  }
  long n = atol(argv[1]), warm = n / 10;
  double interval = 1e9 / atof(argv[2]);
  int size = atoi(argv[3]);
  char *buf = calloc(1, size);
  int sv[2], cpu[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(cpu) < 0) return perror("socketpair"), 1;
  if (fork() == 0) {
    int ep = watch(sv[1]);
    double c0 = 0;
    for (long i = 0; i < n; i++) {
      if (i == warm) c0 = cpu_us();
      take(ep, sv[1], buf, size);
      if (write(sv[1], buf, size) != size) perror("write"), exit(1);
    }
    double per = (cpu_us() - c0) / (n - warm);
    if (write(cpu[1], &per, sizeof per) != sizeof per) perror("write"), exit(1);
    _exit(0);
  }
  int ep = watch(sv[0]);
  double *lat = malloc(n * sizeof(double));
  double t0 = now_ns() + 1e6;
  for (long i = 0; i < n; i++) {
    double due = t0 + i * interval;
    while (now_ns() < due) {
    }
    if (write(sv[0], buf, size) != size) return perror("write"), 1;
    take(ep, sv[0], buf, size);
    lat[i] = now_ns() - due;
  }
  double per;
  if (read(cpu[0], &per, sizeof per) != sizeof per) return perror("read"), 1;
  wait(NULL);
  struct latency l = {lat + warm, n - warm, n - warm, 0, 0};
  qsort(l.ns, l.count, sizeof(double), by_value);
  printf("%ld\n%.0f %.0f %.0f\n%.3f\n", n - warm, rank(&l, 0.5), rank(&l, 0.99), rank(&l, 0.999), per);
  return 0;
}
