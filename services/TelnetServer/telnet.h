/* telnet.h — the telnet side of a TelnetServer connection: option
 * negotiation and the byte stream in both directions, with no fds (the
 * relay, relay.c, moves the bytes; the fuzz target, fuzz/TelnetServer,
 * feeds it whatever a peer could send).
 *
 * libtelnet does the IAC state machine and RFC 1143 negotiation; this
 * file decides what we offer (ECHO, SGA, NAWS, TTYPE, NEW-ENVIRON,
 * BINARY when asked), turns their subnegotiations into a window size, a
 * terminal type and a few accepted environment variables, and translates
 * NVT line ends (CR LF and CR NUL in, a bare CR out as CR NUL). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Environment variables a client may set through NEW-ENVIRON, and the
 * most we keep: names from a fixed list (never LD_* or PATH), values
 * printable and short. */
#define TS_ENV_MAX	 16
#define TS_ENV_VALUE_MAX 256
/* The longest terminal type kept (RFC 1091 allows 40 characters). */
#define TS_TTYPE_MAX	 64

typedef struct ts_proto ts_proto;

struct ts_proto_ops {
	/* Data for the terminal, already decoded (IAC IAC → 0xFF, CR LF and
	 * CR NUL → CR): never more bytes than ts_proto_recv() was given. */
	void (*to_pty)(void *ud, const uint8_t *buf, size_t len);
	/* Bytes for the socket (negotiation answers): at most as many as
	 * ts_proto_recv() was given, plus what ts_proto_start() sends. */
	void (*to_net)(void *ud, const uint8_t *buf, size_t len);
	/* NAWS: the client's window, both > 0. */
	void (*winsize)(void *ud, unsigned cols, unsigned rows);
	/* IAC IP or IAC BRK: interrupt the foreground process group. */
	void (*interrupt)(void *ud);
};

/* A new connection's protocol state; -ENOMEM. */
int ts_proto_new(const struct ts_proto_ops *ops, void *ud, ts_proto **out);
void ts_proto_free(ts_proto *p); /* NULL-safe */

/* Our opening offers: WILL ECHO, WILL SGA, DO SGA, DO NAWS, DO TTYPE,
 * DO NEW-ENVIRON (through to_net). */
void ts_proto_start(ts_proto *p);

/* Bytes from the peer. 0, or a negative errno when the connection must
 * end: -EMSGSIZE for a subnegotiation longer than libtelnet's buffer
 * (16 KiB: an endless one), -EPROTO for what libtelnet calls an error. */
int ts_proto_recv(ts_proto *p, const uint8_t *buf, size_t len);

/* Terminal output for the socket: IAC doubled and, unless the client
 * asked for BINARY, a CR not followed by LF sent as CR NUL. `out` holds
 * at least 2 * len bytes; returns the bytes written there. */
size_t ts_proto_encode(ts_proto *p, const uint8_t *in, size_t len, uint8_t *out);

/* Whether every option we asked about has been answered (and TTYPE,
 * NAWS and NEW-ENVIRON, if accepted, have sent their values): the
 * session starts then, or after a timeout (relay.c), so that TERM and
 * the window size are right from its first line. */
bool ts_proto_settled(const ts_proto *p);

/* The terminal type the client sent, lower-cased; NULL before any or if
 * it sent none that is acceptable. */
const char *ts_proto_term(const ts_proto *p);

/* The accepted NEW-ENVIRON variables as "NAME=value" strings, and USER
 * (the login name the client proposes; NULL if none). */
size_t ts_proto_env_count(const ts_proto *p);
const char *ts_proto_env(const ts_proto *p, size_t i);
const char *ts_proto_user(const ts_proto *p);
