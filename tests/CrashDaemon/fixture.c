/* fixture.c (crash-fixture) — crashes on purpose, the way the CrashDaemon tests ask:
 *
 *   crash-fixture null|abort|fpe|overflow|thread|exit|sleep|big
 *
 * Each crash happens in crash_here, called by level2, by level1, by main
 * (by the thread function for "thread", in the 3rd of 4 threads), so a
 * report's backtrace can be checked frame by frame. "big" first makes
 * 100 MB resident (half text-like, half noise: a core as compressible as
 * a real one, roughly) and then dereferences NULL (the benchmark). Built
 * -O0 -g. */
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *mode;
static volatile int zero, seven = 7;

__attribute__((noinline)) static int recurse(int depth)
{
	volatile char pad[1024];
	pad[0] = (char)depth;
	if (depth < 0) /* never: only the stack's end stops it */
		return pad[0];
	return recurse(depth + 1) + pad[0];
}

__attribute__((noinline)) static void crash_here(void)
{
	if (!strcmp(mode, "null")) {
		volatile int *p = NULL;
		*p = 1;
	} else if (!strcmp(mode, "abort")) {
		abort();
	} else if (!strcmp(mode, "fpe")) {
		volatile int x = seven / zero; /* not 1 / x: gcc makes that a compare */
		(void)x;
	} else if (!strcmp(mode, "overflow")) {
		recurse(0);
	} else if (!strcmp(mode, "thread")) {
		volatile int *p = (int *)16;
		*p = 1;
	}
}

__attribute__((noinline)) static void level2(void) { crash_here(); }
__attribute__((noinline)) static void level1(void) { level2(); }

static pthread_barrier_t ready;

static void *idle_thread(void *arg)
{
	pthread_barrier_wait(&ready);
	for (;;)
		pause();
	return arg;
}

static void *crashing_thread(void *arg)
{
	pthread_barrier_wait(&ready);
	level1();
	return arg;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: crash-fixture null|abort|fpe|overflow|thread|exit|sleep|big\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "exit"))
		return 0;
	if (!strcmp(mode, "big")) {
		size_t n = 100u << 20;
		unsigned char *m = malloc(n);
		uint32_t x = 2463534242u;
		for (size_t i = 0; m && i < n; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			m[i] = (i >> 12) & 1 ? (unsigned char)x : (unsigned char)("haven crash "[i % 12]);
		}
		mode = "null";
	}
	if (!strcmp(mode, "sleep")) {
		for (;;)
			pause();
	}
	if (!strcmp(mode, "thread")) {
		pthread_t t[3];
		pthread_barrier_init(&ready, NULL, 4);
		pthread_create(&t[0], NULL, idle_thread, NULL);
		pthread_create(&t[1], NULL, idle_thread, NULL);
		pthread_create(&t[2], NULL, crashing_thread, NULL);
		pthread_barrier_wait(&ready);
		for (;;)
			pause();
	}
	level1();
	return 0;
}
