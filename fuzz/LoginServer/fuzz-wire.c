/* fuzz-loginserver-wire — what LoginServer's front parses from a worker
 * (wire.c; the prompts' text comes from PAM modules) and what a worker
 * parses from the front, decoded the way each side does, plus the user
 * name check (names.c) on the whole input. Invariants: every string read
 * lies inside the message and ends at its NUL; the read position never
 * passes the end; a vector holds at most LGS_WIRE_STRV_MAX strings. */
#include <stdlib.h>
#include <string.h>

#include "LoginServer.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const struct lgs_wmsg *m, const char *s)
{
	const char *base = (const char *)m->data;
	if (s < base || s >= base + m->len || strlen(s) >= (size_t)(base + m->len - s) ||
	    m->pos > m->len)
		abort();
}

static void decode(struct lgs_wmsg *m)
{
	uint8_t type, u;
	int32_t a, b;
	const char *s;
	char **v;
	size_t n;
	if (!lgs_wget_u8(m, &type))
		return;
	switch (type) {
	case W_PROMPT:
		if (lgs_wget_u8(m, &u) && lgs_wget_str(m, &s))
			check_str(m, s);
		break;
	case W_AUTH_OK:
	case W_AUTH_FAIL:
	case W_SESSION_FAIL:
	case F_ANSWER:
		if (lgs_wget_str(m, &s))
			check_str(m, s);
		break;
	case W_SESSION_OK:
		if (lgs_wget_i32(m, &a) && lgs_wget_i32(m, &b) && lgs_wget_str(m, &s))
			check_str(m, s);
		break;
	case W_ENDED: (void)(lgs_wget_i32(m, &a) && lgs_wget_i32(m, &b)); break;
	case F_BEGIN:
		if (lgs_wget_str(m, &s) && lgs_wget_u8(m, &u))
			check_str(m, s);
		break;
	case F_START:
		for (int k = 0; k < 2 && lgs_wget_strv(m, &v, &n); k++) {
			if (n > LGS_WIRE_STRV_MAX || v[n])
				abort();
			for (size_t i = 0; i < n; i++)
				check_str(m, v[i]);
			free(v);
		}
		break;
	case F_FINISH: lgs_wget_u8(m, &u); break;
	default: break;
	}
	lgs_wget_end(m);
	if (m->pos > m->len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lgs_wmsg m;
	if (size > LGS_WIRE_MAX)
		return 0;
	memcpy(m.data, data, size);
	m.len = size;
	m.pos = 0;
	m.data[size] = 0;
	m.nfds = 0;
	decode(&m);
	char *name = malloc(size + 1);
	if (!name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	const char *why = lgs_user_invalid(name);
	if (!why && (strlen(name) == 0 || strlen(name) > LGS_USER_MAX || strchr(name, '/')))
		abort();
	free(name);
	return 0;
}
