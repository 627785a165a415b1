/* peer.h — a chess program on pipes (peer.c). */
#pragma once

#include <stdio.h>
#include <sys/types.h>

struct peer {
	pid_t pid;
	FILE *to;
	int from;
	char buf[16384], line[16384];
	size_t len;
};

int peer_start(struct peer *p, char *const argv[]);
void peer_send(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *peer_line(struct peer *p, int timeout_ms);
const char *peer_expect(struct peer *p, const char *prefix, int timeout_ms);
void peer_stop(struct peer *p);
double now_s(void);
