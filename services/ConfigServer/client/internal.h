/* internal.h — what client.c, cache.c and follow.c share (not installed):
 * the state the library keeps with a connection (hv_conn_attach). */
#pragma once

#include "config-client.h"

typedef struct conf_entry conf_entry;
typedef union conf_value {
	int32_t i32;
	uint32_t u32;
	bool b;
} conf_value;

typedef struct conf_state {
	/* Events: to w for the domains in `watched` (conf_monitor), or all
	 * of them (watch_all: conf_follow filters its own). */
	const conf_watcher *w;
	hv_strv watched;
	bool watch_all;
	bool in_event; /* an event is being delivered: a read must not dispatch */
	/* The read cache (cache.c). */
	bool uncached;	 /* conf_set_cache(c, false) */
	hv_strv domains; /* monitored for the cache */
	conf_entry *buckets[1024];
	conf_entry *oldest, *newest;
	size_t count, bytes;
} conf_state;

/* c's state, created when `create` (NULL: no memory, or none yet). */
conf_state *conf_state_of(hv_conn *c, bool create);
/* Serve ConfigClient's events on c: to w (when not NULL; c's userdata
 * becomes w, -EBUSY if it is something else) for every domain if `all`,
 * else for those conf_monitor adds. w NULL: for the cache only. */
int conf_serve_events(hv_conn *c, const conf_watcher *w, bool all);

/* For a read of domain: the state whose cache answers it, after applying
 * the events that have arrived and monitoring the domain (first time);
 * NULL: read from the server, uncached. */
conf_state *conf_cache_for_read(hv_conn *c, const char *domain);
/* An entry for these names and type: *present, *v and (strings) *str. */
const conf_entry *conf_cache_find(conf_state *st, const char *domain, const char *group,
				  const char *key, conf_type type, bool *present, conf_value *v,
				  const char **str);
void conf_cache_put(conf_state *st, const char *domain, const char *group, const char *key,
		    conf_type type, bool present, conf_value v, const char *str);
/* Drop key (all types), or with key NULL the group, or with group NULL
 * too the domain. st may be NULL. */
void conf_cache_forget(conf_state *st, const char *domain, const char *group, const char *key);
void conf_cache_clear(conf_state *st);
