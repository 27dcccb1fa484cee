// The floor for podshm-mq (bench/drivers/c.js): plain blocking mq_send/mq_receive.
//   mq echo <req> <resp> <n>         receive on req, send it back on resp, n times
//   mq ping <req> <resp> <n> <size>  n round trips; prints ns per round trip after the
//                                    first tenth, then its percentiles (latency.h)
//   mq send <q> <n> <size>           sends n messages
//   mq recv <q> <n>                  receives n; prints msg/s from the first to the last
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "latency.h"

static mqd_t open_q(const char* name, int flags) {
  mqd_t q = mq_open(name, flags);
  if (q == (mqd_t)-1) {
    perror(name);
    exit(1);
  }
  return q;
}

int main(int argc, char** argv) {
  char buf[1 << 16];
  unsigned prio;
  if (argc >= 5 && strcmp(argv[1], "echo") == 0) {
    mqd_t req = open_q(argv[2], O_RDONLY), resp = open_q(argv[3], O_WRONLY);
    for (long i = 0, n = atol(argv[4]); i < n; i++) {
      ssize_t len = mq_receive(req, buf, sizeof buf, &prio);
      if (len < 0 || mq_send(resp, buf, len, 0) != 0) return perror("echo"), 1;
    }
  } else if (argc >= 6 && strcmp(argv[1], "ping") == 0) {
    mqd_t req = open_q(argv[2], O_WRONLY), resp = open_q(argv[3], O_RDONLY);
    long n = atol(argv[4]);
    size_t size = atol(argv[5]);
    memset(buf, 1, size);
    long warm = n / 10;
    struct latency l = latency_new(n - warm);
    for (long i = 0; i < n; i++) {
      if (i == warm) latency_start(&l);
      if (mq_send(req, buf, size, 0) != 0 || mq_receive(resp, buf, sizeof buf, &prio) < 0) return perror("ping"), 1;
      if (i >= warm) latency_record(&l);
    }
    latency_print(&l);
  } else if (argc >= 5 && strcmp(argv[1], "send") == 0) {
    mqd_t q = open_q(argv[2], O_WRONLY);
    size_t size = atol(argv[4]);
    memset(buf, 2, size);
    for (long i = 0, n = atol(argv[3]); i < n; i++) {
      if (mq_send(q, buf, size, 0) != 0) return perror("send"), 1;
    }
  } else if (argc >= 4 && strcmp(argv[1], "recv") == 0) {
    mqd_t q = open_q(argv[2], O_RDONLY);
    long n = atol(argv[3]);
    double start = 0;
    for (long i = 0; i < n; i++) {
      if (mq_receive(q, buf, sizeof buf, &prio) < 0) return perror("recv"), 1;
      if (i == 0) start = now_ns();
    }
    printf("%f\n", (n - 1) / ((now_ns() - start) / 1e9));
  } else {
    fprintf(stderr, "usage: see the comment at the top of mq.c\n");
    return 2;
  }
  return 0;
}
