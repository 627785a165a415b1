/* login.h — a connection's login through LoginServer's conversation
 * (--login-socket): its prompts written to the terminal, the answers
 * read from it (a secret one with the terminal's echo off), then the
 * session started by LoginServer on this terminal. */
#pragma once

#include <haven/loop.h>

#include "server.h"
#include "session.h"
#include "telnet.h"

typedef struct ts_login ts_login;

int ts_login_new(const ts_config *cfg, int slave, ts_session_end_cb end, void *ud, ts_login **out);
const char *ts_login_promises(const ts_login *l);
int ts_login_attach(ts_login *l, hv_loop *loop);
int ts_login_start(ts_login *l, const ts_proto *p);
void ts_login_free(ts_login *l); /* NULL-safe */
