/* wire.h — the messages between LoginServer's front and a worker, one per
 * SOCK_SEQPACKET datagram: a type byte, then fields (u8, i32/u32 little
 * endian, strings as u32 length + bytes + a NUL, no NUL inside). The front parses
 * what a worker says (PAM modules write its prompts), so lgs_wire_* decode
 * with bounds checks and fuzz/LoginServer covers them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LGS_WIRE_MAX (64u * 1024) /* bytes of one message */
#define LGS_WIRE_STRV_MAX 256	   /* strings in a vector (argv, env) */

enum lgs_wire_type {
	/* worker -> front */
	W_PROMPT = 1,	  /* u8 kind, str text */
	W_AUTH_OK,	  /* str user (PAM_USER after authentication) */
	W_AUTH_FAIL,	  /* str message (for the log; greeters get AuthFailed) */
	W_SESSION_OK,	  /* i32 pid, u32 uid, str runtime_dir */
	W_SESSION_FAIL,	  /* str message */
	W_ENDED,	  /* i32 exit_code, i32 signal */
	/* front -> worker */
	F_BEGIN = 64,	  /* str user, u8 autologin */
	F_ANSWER,	  /* str text */
	F_START,	  /* strv argv, strv env; 0-3 fds: stdin, stdout, stderr */
	F_TERMINATE,	  /* (nothing) */
	F_FINISH,	  /* u8 remove_runtime_dir */
};

struct lgs_wbuf {
	uint8_t data[LGS_WIRE_MAX];
	size_t len;
	bool overflow;
};
void lgs_wput_u8(struct lgs_wbuf *b, uint8_t v);
void lgs_wput_i32(struct lgs_wbuf *b, int32_t v);
void lgs_wput_str(struct lgs_wbuf *b, const char *s);
void lgs_wput_strv(struct lgs_wbuf *b, const char *const *v, size_t n);
/* Send it as one datagram: 0, -EMSGSIZE when it overflowed, or -errno. */
int lgs_wsend(int fd, const struct lgs_wbuf *b);
/* The same with up to LGS_WIRE_FDS fds (F_START: the session's stdio). */
#define LGS_WIRE_FDS 3
int lgs_wsend_fds(int fd, const struct lgs_wbuf *b, const int *fds, size_t nfds);

/* A received message; strings point into its data (NUL-terminated there). */
struct lgs_wmsg {
	uint8_t data[LGS_WIRE_MAX + 1];
	size_t len, pos;
	int fds[LGS_WIRE_FDS]; /* received with it (CLOEXEC), the receiver's */
	size_t nfds;
};
/* Receive one datagram: its length, 0 at EOF, or -errno (-EAGAIN).
 * More fds than LGS_WIRE_FDS, or a truncated one, is -EBADMSG. */
ssize_t lgs_wrecv(int fd, struct lgs_wmsg *m);
bool lgs_wget_u8(struct lgs_wmsg *m, uint8_t *v);
bool lgs_wget_i32(struct lgs_wmsg *m, int32_t *v);
/* *s points into m (its NUL is on the wire): valid until the next
 * lgs_wrecv on m. */
bool lgs_wget_str(struct lgs_wmsg *m, const char **s);
/* *v is malloc'd (n+1 pointers, NULL-terminated) into m's strings. */
bool lgs_wget_strv(struct lgs_wmsg *m, char ***v, size_t *n);
bool lgs_wget_end(const struct lgs_wmsg *m);
