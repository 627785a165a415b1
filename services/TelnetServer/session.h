/* session.h — what runs on a connection's terminal: a shell of our own
 * (--no-auth, tests only) or a session LoginServer starts after its
 * conversation (login.c). relay.c calls these in order:
 * new (before the sandbox), promises, start (the client's terminal is
 * known), interrupt (IAC IP/BRK), free. */
#pragma once

#include <haven/loop.h>

#include "server.h"
#include "telnet.h"

typedef struct ts_session ts_session;
typedef void (*ts_session_end_cb)(void *ud);

/* Prepare the session on the pty (`master`, and its terminal `slave`,
 * both borrowed: the session keeps copies where it needs them), on
 * `loop`. `end` runs once the session is over. A negative errno, logged. */
int ts_session_new(const ts_config *cfg, hv_loop *loop, int master, int slave,
		   ts_session_end_cb end, void *ud, ts_session **out);
/* The promises the connection's process keeps from here on. */
const char *ts_session_promises(const ts_session *s);
/* Start it with what the client told (TERM, environment, user). */
int ts_session_start(ts_session *s, const ts_proto *p);
/* IAC IP / IAC BRK: SIGINT to the terminal's foreground process group
 * (tcgetpgrp on the master) where this process may signal it, else the
 * terminal's interrupt character, which makes the kernel do the same. */
void ts_session_interrupt(ts_session *s, int master);
void ts_session_free(ts_session *s); /* NULL-safe; hangs up a running shell */
