/* stats.c — sample sets, medians and CPU pinning for ipc-bench. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

int bench_samples_add(bench_samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ns;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

uint64_t bench_samples_median(bench_samples *s)
{
	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof *s->v, cmp_u64);
	if (s->n % 2)
		return s->v[s->n / 2];
	return (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

void bench_samples_free(bench_samples *s)
{
	free(s->v);
	*s = (bench_samples){0};
}

void bench_pin_pid(int pid, enum bench_pin pin, int role)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (pin == BENCH_PIN_NONE || pin == BENCH_PIN_AUTO) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		for (long i = 0; i < n && i < CPU_SETSIZE; i++)
			CPU_SET((int)i, &set);
	} else {
		CPU_SET((pin == BENCH_PIN_SPLIT && role == 1) ? 1 : 0, &set);
	}
	/* Best effort: a CPU we may not use leaves the scheduler in charge. */
	(void)sched_setaffinity(pid, sizeof set, &set);
}

void bench_pin_self(enum bench_pin pin, int role) { bench_pin_pid(0, pin, role); }

const char *bench_pin_name(enum bench_pin pin)
{
	switch (pin) {
	case BENCH_PIN_AUTO:
		return "auto";
	case BENCH_PIN_SAME:
		return "same CPU";
	case BENCH_PIN_SPLIT:
		return "split CPUs";
	default:
		return "none";
	}
}
