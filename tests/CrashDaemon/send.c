/* send.c (crash-send) — a `crashed` call by hand, for what a real handler never
 * sends: crash-send SOCKET PID TID SIGNAL prints the reply's id, or the
 * error's code and message and exits 1. crash-send --crashtest SOCKET asks
 * CrashTest (crash-service) to crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/ipc.h>

#include "CrashDaemon.ipc.h"
#include "CrashTest.ipc.h"

static int ask_crash(const char *path)
{
	hv_conn *c = NULL;
	int r = hv_conn_connect(NULL, path, &c);
	if (r < 0)
		return fprintf(stderr, "crash-send: connect: %d\n", r), 1;
	r = crash_test_crash(c);
	printf("%d\n", r);
	hv_conn_close(c);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--crashtest"))
		return ask_crash(argv[2]);
	if (argc != 5) {
		fprintf(stderr, "usage: crash-send SOCKET PID TID SIGNAL\n");
		return 2;
	}
	hv_conn *c = NULL;
	int r = hv_conn_connect(NULL, argv[1], &c);
	if (r < 0) {
		fprintf(stderr, "crash-send: connect: %d\n", r);
		return 1;
	}
	const char *id = NULL;
	hv_bytes regs = {0};
	r = crash_daemon_crashed(c, atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), 0, 0, regs, &id);
	if (r < 0) {
		printf("error %d: %s\n", r, hv_conn_strerror(c, r));
		hv_conn_close(c);
		return 1;
	}
	printf("%s\n", id);
	hv_conn_close(c);
	return 0;
}
