/* login.h — a connection's login through LoginServer's conversation
 * (--login-socket, or LoginServer's "login" portal): its prompts written
 * to the terminal, the answers read from it (a secret one with the
 * terminal's echo off), then the session started by LoginServer with the
 * terminal as its stdin, stdout, stderr and controlling terminal. */
#pragma once

#include <haven/loop.h>

#include "server.h"
#include "session.h"
#include "telnet.h"

/* Failed logins before the connection is closed, as login(1). */
#define TS_LOGIN_TRIES 3

typedef struct ts_login ts_login;

/* Connects to LoginServer (before the sandbox narrows). */
int ts_login_new(const ts_config *cfg, hv_loop *loop, int master, int slave, ts_session_end_cb end,
		 void *ud, ts_login **out);
const char *ts_login_promises(const ts_login *l);
int ts_login_start(ts_login *l, const ts_proto *p);
void ts_login_free(ts_login *l); /* NULL-safe */
