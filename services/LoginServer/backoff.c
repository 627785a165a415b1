/* backoff.c — repeated failures back off per user name: after
 * LGS_BACKOFF_FREE_FAILURES failures in a row, each attempt for that name
 * waits backoff_ms, doubled per further failure up to backoff_max_ms,
 * counted from the last failure. Names that do not exist are remembered
 * like those that do (otherwise the back-off itself would tell which
 * exist). The table is bounded: the entry failed longest ago makes room. */
#include <stdlib.h>
#include <string.h>

#include "LoginServer.h"

struct entry {
	char *user;
	unsigned failures;
	uint64_t last_ns;
};
static struct entry table[LGS_BACKOFF_USERS];

static struct entry *find(const char *user)
{
	for (size_t i = 0; i < LGS_BACKOFF_USERS; i++)
		if (table[i].user && strcmp(table[i].user, user) == 0)
			return &table[i];
	return NULL;
}

uint64_t lgs_backoff_wait_ns(const char *user, uint64_t now_ns)
{
	struct entry *e = find(user);
	if (!e || e->failures < LGS_BACKOFF_FREE_FAILURES || lgs_opts.backoff_ms <= 0)
		return 0;
	uint64_t ms = (uint64_t)lgs_opts.backoff_ms;
	for (unsigned i = LGS_BACKOFF_FREE_FAILURES; i < e->failures && ms < (uint64_t)lgs_opts.backoff_max_ms; i++)
		ms *= 2;
	if (ms > (uint64_t)lgs_opts.backoff_max_ms)
		ms = (uint64_t)lgs_opts.backoff_max_ms;
	uint64_t until = e->last_ns + ms * 1000000u;
	return until > now_ns ? until - now_ns : 0;
}

void lgs_backoff_failed(const char *user, uint64_t now_ns)
{
	struct entry *e = find(user);
	if (!e) {
		e = &table[0];
		for (size_t i = 0; i < LGS_BACKOFF_USERS && e->user; i++)
			if (!table[i].user || table[i].last_ns < e->last_ns)
				e = &table[i];
		free(e->user);
		*e = (struct entry){.user = strdup(user)};
		if (!e->user)
			return; /* out of memory: this failure is not counted */
	}
	e->failures++;
	e->last_ns = now_ns;
}

void lgs_backoff_succeeded(const char *user)
{
	struct entry *e = find(user);
	if (e) {
		free(e->user);
		*e = (struct entry){0};
	}
}

void lgs_backoff_clear(void)
{
	for (size_t i = 0; i < LGS_BACKOFF_USERS; i++) {
		free(table[i].user);
		table[i] = (struct entry){0};
	}
}
