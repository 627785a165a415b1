/* server.h — what TelnetServer's files share: the options (main.c's
 * table fills them), the process (server.c: sockets, one process per
 * connection) and a connection's session (relay.c: pty, shell or login,
 * relay). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/options.h>

/* Each direction of the relay buffers at most this much (socket → pty
 * and pty → socket); a full buffer stops reading the other side. */
#define TS_BUF_SIZE    (64 * 1024)
/* Room in the socket-bound buffer kept for negotiation answers, so the
 * socket is read even while terminal output fills the rest. */
#define TS_NET_RESERVE 4096
/* How long a new connection waits for the client's terminal type,
 * window size and environment before the session starts without them. */
#define TS_SETTLE_MS   2000

typedef struct ts_config {
	int64_t port;
	const char *listen;
	const char *login_socket;
	bool no_auth;
} ts_config;

extern ts_config ts_opts;

typedef struct ts_service {
	const char *name;
	const char *summary;
	const hv_option *options;
} ts_service;

/* The whole process: parse the command line, then serve the connection
 * SystemServer accepted (AcceptSocketConnections, LISTEN_FDS), or accept
 * on its listening socket or on --listen/--port, one child per
 * connection. Returns the exit code. */
int ts_main(const ts_service *svc, int argc, char **argv);

/* One connection on `sock` (relay.c), until the session or the peer
 * ends it. Returns the exit code: 0 when it ended as a connection ends
 * (including a peer that broke the protocol: logged), 1 when it could
 * not be served (no pty, no session). */
int ts_serve_connection(int sock);
