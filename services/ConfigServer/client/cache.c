/* cache.c — what a connection of the client library keeps (internal.h's
 * conf_state, attached to the hv_conn): the conf_monitor watcher and the
 * read cache. A value read once is answered from here until a change
 * event (or the connection's own write) says it changed; the domain is
 * monitored from its first cached read on, so ConfigServer tells this
 * connection about every change by others. Bounded: CONF_CACHE_MAX_*,
 * oldest value out first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ConfigServer.ipc.h"
#include "config-client.h"
#include "internal.h"

#define NBUCKETS 1024u /* a power of two, >= CONF_CACHE_MAX_ENTRIES */
_Static_assert(NBUCKETS >= CONF_CACHE_MAX_ENTRIES, "chains longer than one on average");

struct conf_entry {
	conf_entry *hnext;	 /* hash chain */
	conf_entry *prev, *next; /* oldest first, for eviction */
	uint32_t hash;
	conf_type type;
	bool present;
	conf_value v;
	size_t size; /* what it counts against CONF_CACHE_MAX_BYTES */
	const char *group, *key, *str; /* in data, after the domain */
	char data[];		       /* domain\0group\0key\0[value\0] */
};

static const char state_key; /* hv_conn_attach's key: its address */

static void free_state(void *p)
{
	conf_state *st = p;
	conf_cache_clear(st);
	hv_strv_clear(&st->domains);
	hv_strv_clear(&st->watched);
	free(st);
}

conf_state *conf_state_of(hv_conn *c, bool create)
{
	conf_state *st = hv_conn_attached(c, &state_key);
	if (st || !create)
		return st;
	if (!(st = calloc(1, sizeof(*st))))
		return NULL;
	if (hv_conn_attach(c, &state_key, st, free_state) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

/* FNV-1a over the names with their NULs, then the type. */
static uint32_t hash_of(const char *domain, const char *group, const char *key, conf_type type)
{
	uint32_t h = 2166136261u;
	for (const char *s[] = {domain, group, key}, **p = s; p < s + 3; p++) {
		for (const unsigned char *b = (const unsigned char *)*p; *b; b++)
			h = (h ^ *b) * 16777619u;
		h = (h ^ 0xffu) * 16777619u;
	}
	return (h ^ (uint32_t)type) * 16777619u;
}

static bool names_match(const conf_entry *e, const char *domain, const char *group, const char *key)
{
	return !strcmp(e->key, key) && !strcmp(e->group, group) && !strcmp(e->data, domain);
}

static void unlink_entry(conf_state *st, conf_entry *e)
{
	conf_entry **p = &st->buckets[e->hash & (NBUCKETS - 1)];
	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		st->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		st->newest = e->prev;
	st->count--;
	st->bytes -= e->size;
	free(e);
}

void conf_cache_clear(conf_state *st)
{
	while (st->oldest)
		unlink_entry(st, st->oldest);
}

const conf_entry *conf_cache_find(conf_state *st, const char *domain, const char *group,
				  const char *key, conf_type type, bool *present, conf_value *v,
				  const char **str)
{
	uint32_t h = hash_of(domain, group, key, type);
	for (conf_entry *e = st->buckets[h & (NBUCKETS - 1)]; e; e = e->hnext)
		if (e->hash == h && e->type == type && names_match(e, domain, group, key)) {
			*present = e->present;
			*v = e->v;
			if (str)
				*str = e->str;
			return e;
		}
	return NULL;
}

static void forget_one(conf_state *st, const char *domain, const char *group, const char *key,
		       conf_type type)
{
	uint32_t h = hash_of(domain, group, key, type);
	for (conf_entry *e = st->buckets[h & (NBUCKETS - 1)]; e; e = e->hnext)
		if (e->hash == h && e->type == type && names_match(e, domain, group, key)) {
			unlink_entry(st, e);
			return;
		}
}

void conf_cache_forget(conf_state *st, const char *domain, const char *group, const char *key)
{
	if (!st)
		return;
	if (key) {
		for (conf_type t = CONF_STRING; t <= CONF_BOOL; t++)
			forget_one(st, domain, group, key, t);
		return;
	}
	/* A group, or (group NULL) a whole domain: rare, a walk is fine. */
	for (conf_entry *e = st->oldest, *n; e; e = n) {
		n = e->next;
		if (!strcmp(e->data, domain) && (!group || !strcmp(e->group, group)))
			unlink_entry(st, e);
	}
}

void conf_cache_put(conf_state *st, const char *domain, const char *group, const char *key,
		    conf_type type, bool present, conf_value v, const char *str)
{
	size_t ld = strlen(domain) + 1, lg = strlen(group) + 1, lk = strlen(key) + 1;
	size_t lv = present && str ? strlen(str) + 1 : 0;
	size_t size = ld + lg + lk + lv;
	if (size > CONF_CACHE_MAX_BYTES)
		return;
	forget_one(st, domain, group, key, type);
	while (st->oldest &&
	       (st->count >= CONF_CACHE_MAX_ENTRIES || st->bytes + size > CONF_CACHE_MAX_BYTES))
		unlink_entry(st, st->oldest);
	conf_entry *e = malloc(sizeof(*e) + size);
	if (!e)
		return; /* not kept: the next read asks again */
	*e = (conf_entry){.hash = hash_of(domain, group, key, type), .type = type,
			  .present = present, .v = v, .size = size};
	memcpy(e->data, domain, ld);
	e->group = memcpy(e->data + ld, group, lg);
	e->key = memcpy(e->data + ld + lg, key, lk);
	e->str = lv ? memcpy(e->data + ld + lg + lk, str, lv) : NULL;
	conf_entry **b = &st->buckets[e->hash & (NBUCKETS - 1)];
	e->hnext = *b;
	*b = e;
	e->prev = st->newest;
	if (st->newest)
		st->newest->next = e;
	else
		st->oldest = e;
	st->newest = e;
	st->count++;
	st->bytes += size;
}

conf_state *conf_cache_for_read(hv_conn *c, const char *domain)
{
	conf_state *st = conf_state_of(c, true);
	if (!st || st->uncached)
		return NULL;
	/* Apply the events that have arrived (the cache is as fresh as the
	 * last event processed) — unless this read comes from inside one,
	 * which must not dispatch the next in the middle of it. */
	if (!st->in_event && hv_conn_is_open(c))
		hv_conn_dispatch(c, 0);
	if (!hv_conn_is_open(c)) {
		/* ConfigServer went (or the connection broke): nothing kept
		 * may answer for it; the read fails the way every call does. */
		conf_cache_clear(st);
		return NULL;
	}
	if (hv_strv_contains(&st->domains, domain))
		return st;
	if (st->domains.n >= CONF_CACHE_MAX_DOMAINS || conf_serve_events(c, NULL, false) < 0)
		return NULL;
	/* Monitor before the first read: a change after that read's answer
	 * is then always announced. Refused (a bad name, outside a pledge):
	 * uncached, and the read itself says why. */
	if (config_server_monitor_domain(c, domain) < 0 || hv_strv_push(&st->domains, domain) < 0)
		return NULL;
	return st;
}

int conf_set_cache(hv_conn *c, bool on)
{
	conf_state *st = conf_state_of(c, true);
	if (!st)
		return -ENOMEM;
	st->uncached = !on;
	if (!on)
		conf_cache_clear(st);
	return 0;
}
