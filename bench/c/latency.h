// Round trips timed one by one, as the Node.js rows time theirs (bench/lib/roles.js,
// ping): each from the end of the one before, so the clock read is inside, and the
// mean over the same span. Printed as two lines: the mean, then p50, p99 and p99.9
// (nearest rank), all in ns.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct latency {
  double *ns;
  long n, count;
  double start, last;
};

static struct latency latency_new(long n) {
  struct latency l = {malloc(n * sizeof(double)), n, 0, 0, 0};
  if (l.ns == NULL) perror("malloc"), exit(1);
  return l;
}

static void latency_start(struct latency *l) { l->start = l->last = now_ns(); }

static void latency_record(struct latency *l) {
  double t = now_ns();
  if (l->count < l->n) l->ns[l->count++] = t - l->last;
  l->last = t;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double rank(const struct latency *l, double q) {
  long i = (long)(q * l->count + 0.999999) - 1;
  return l->ns[i < 0 ? 0 : i];
}

static void latency_print(struct latency *l) {
  double mean = (l->last - l->start) / l->count;
  qsort(l->ns, l->count, sizeof(double), by_value);
  printf("%.1f\n%.0f %.0f %.0f\n", mean, rank(l, 0.5), rank(l, 0.99), rank(l, 0.999));
}
