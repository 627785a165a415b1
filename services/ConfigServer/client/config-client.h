/* config-client.h — the ConfigServer client library (SerenityOS's
 * LibConfig): read and write settings, watch a domain, and follow one
 * setting for the life of a program.
 *
 * Prefix conf_: ipcc's generated code for the protocol is config_server_
 * and config_client_, ConfigServer's own code cfg_.
 * Installed as <haven/config-client.h>, pkg-config haven-config-client;
 * docs/configserver.md, "Client library".
 *
 * Two ways to use it:
 *  - Calls on a connection (conf_connect): each is one sync request. A
 *    connection conf_connect makes times out each call after
 *    CONF_TIMEOUT_MS (hv_conn_set_timeout changes it): -ETIMEDOUT.
 *  - conf_follow: one setting followed on the caller's hv_loop, never
 *    blocking it — for services, which must not wait on another service
 *    on their start-up or event path. It connects, reads, and watches in
 *    the background, and reconnects with back-off when ConfigServer goes.
 *
 * Errors are negative errno values; a request ConfigServer refused leaves
 * its reason in hv_conn_last_error(c) (hv_conn_strerror). Reading an
 * absent key is not an error.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <haven/ipc.h>
#include <haven/util.h>

/* The portal SystemServer serves ConfigServer on (etc/services/ConfigServer.ini). */
#define CONF_PORTAL "config"

/* Call timeout of connections made by conf_connect. */
#define CONF_TIMEOUT_MS 25000

/* Connect to socket_path, or (NULL) to the CONF_PORTAL portal. loop may be
 * NULL (sync calls only; events then come with hv_conn_dispatch). */
int conf_connect(hv_loop *loop, const char *socket_path, hv_conn **out);

/* --- reading and writing ------------------------------------------------ */
/* Reads are cached per connection (docs/configserver.md, "The read
 * cache"): the first read of a domain asks ConfigServer to report the
 * domain's changes to this connection (monitor_domain), and a value read
 * once is answered from memory until a change event for it is processed
 * or this connection writes it. Each read first processes the events that
 * have arrived (hv_conn_dispatch: a conf_monitor watcher may run from a
 * read), so a read returns the value as of the last event processed, and
 * never one older than an event that had reached the connection. A read
 * on a connection that has ended fails as every call does: nothing kept
 * answers for a ConfigServer that is gone (a new connection starts empty).
 * Bounded per connection: */
#define CONF_CACHE_MAX_ENTRIES 1024u	   /* values kept, oldest out first */
#define CONF_CACHE_MAX_BYTES (1024u << 10) /* their names and values */
#define CONF_CACHE_MAX_DOMAINS 64u	   /* domains monitored for it; reads beyond: uncached */
/* Off: every read on c is a round trip to ConfigServer (what was kept is
 * freed). On by default. -ENOMEM, or 0. */
int conf_set_cache(hv_conn *c, bool on);

/* 1 and *out set when the key has a value, 0 when it has none (*out
 * untouched), or a negative errno; -EINVAL from the typed reads: the value
 * stored is not such a number / boolean. conf_read_string's *out is
 * malloc'd (free it). */
int conf_read_string(hv_conn *c, const char *domain, const char *group, const char *key, char **out);
int conf_read_i32(hv_conn *c, const char *domain, const char *group, const char *key, int32_t *out);
int conf_read_u32(hv_conn *c, const char *domain, const char *group, const char *key, uint32_t *out);
int conf_read_bool(hv_conn *c, const char *domain, const char *group, const char *key, bool *out);

/* On disk (fsync'd) before these return 0. */
int conf_write_string(hv_conn *c, const char *domain, const char *group, const char *key,
		     const char *value);
int conf_write_i32(hv_conn *c, const char *domain, const char *group, const char *key, int32_t value);
int conf_write_u32(hv_conn *c, const char *domain, const char *group, const char *key, uint32_t value);
int conf_write_bool(hv_conn *c, const char *domain, const char *group, const char *key, bool value);
int conf_remove_key(hv_conn *c, const char *domain, const char *group, const char *key);
int conf_remove_group(hv_conn *c, const char *domain, const char *group);
int conf_add_group(hv_conn *c, const char *domain, const char *group);

/* The groups of domain, or the keys of group, appended to *out (copies;
 * hv_strv_clear frees them). */
int conf_list_groups(hv_conn *c, const char *domain, hv_strv *out);
int conf_list_keys(hv_conn *c, const char *domain, const char *group, hv_strv *out);

/* All of ops, or none of them (one durable file replacement). */
typedef enum conf_op_kind {
	CONF_OP_SET = 1,		 /* group.key = value */
	CONF_OP_REMOVE_KEY = 2,	 /* group.key */
	CONF_OP_REMOVE_GROUP = 3, /* group */
	CONF_OP_ADD_GROUP = 4,	 /* group, empty */
} conf_op_kind;
typedef struct conf_op {
	conf_op_kind kind;
	const char *group;
	const char *key;   /* "" or NULL unless SET / REMOVE_KEY */
	const char *value; /* "" or NULL unless SET */
} conf_op;
int conf_write_batch(hv_conn *c, const char *domain, const conf_op *ops, size_t n);

/* --- watching a domain --------------------------------------------------- */
typedef enum conf_event_kind {
	CONF_CHANGED,	   /* group.key = value */
	CONF_REMOVED_KEY,   /* group.key is gone */
	CONF_REMOVED_GROUP, /* group is gone */
	CONF_ADDED_GROUP,   /* group exists, empty */
} conf_event_kind;
typedef enum conf_type { CONF_STRING, CONF_I32, CONF_U32, CONF_BOOL } conf_type;
typedef struct conf_event {
	conf_event_kind kind;
	const char *domain, *group;
	const char *key;   /* NULL for group events */
	conf_type type;	   /* CHANGED: how it was written (hand edits: CONF_STRING) */
	const char *value; /* CHANGED: the value as text ("-5", "true"); else NULL */
} conf_event;
/* The event's strings live until the callback returns. */
typedef void (*conf_event_cb)(const conf_event *e, void *userdata);
typedef struct conf_watcher {
	conf_event_cb cb;
	void *userdata;
} conf_watcher;

/* Deliver changes to `domain` made by others (not by c's own writes) to
 * w->cb, on c's loop (or from hv_conn_dispatch, or a cached read). Only
 * the domains given here reach w, not those the read cache monitors. w must live as long as c:
 * the connection serves ConfigClient.ipc for the library, which keeps w as
 * c's userdata (hv_conn_set_userdata); -EBUSY if c has another userdata.
 * Several domains may be monitored on one connection with the same w. */
int conf_monitor(hv_conn *c, const char *domain, const conf_watcher *w);

/* --- following one setting ---------------------------------------------- */
typedef struct conf_follow conf_follow;
/* value: the setting as text, NULL when it has none (absent or removed). */
typedef void (*conf_follow_cb)(const char *value, void *userdata);

/* Reconnection delays after losing (or not finding) ConfigServer: doubled
 * from the first up to the max, reset once a read is answered. */
#define CONF_FOLLOW_RETRY_FIRST_MS 200u
#define CONF_FOLLOW_RETRY_MAX_MS 30000u

/* Follow domain/group/key on loop: cb runs once ConfigServer has answered
 * the first read, then on every change to it, and again after each
 * reconnection. Returns at once (no call waits here, not even connect):
 * while ConfigServer is absent, frozen or restarting, cb simply does not
 * run and the caller keeps what it has. socket_path NULL: the CONF_PORTAL
 * portal. cb never runs from inside conf_follow_new or conf_follow_free. */
int conf_follow_new(hv_loop *loop, const char *socket_path, const char *domain, const char *group,
		   const char *key, conf_follow_cb cb, void *userdata, conf_follow **out);
void conf_follow_free(conf_follow *f); /* NULL-safe */
