/* config-client.h — the ConfigServer client library (SerenityOS's
 * LibConfig): read and write settings, watch a domain, and follow one
 * setting for the life of a program.
 *
 * Prefix cfg_ (ipcc's generated code for the protocol uses config_server_
 * and config_client_; the service's own code has a prefix of its own).
 * Installed as <haven/config-client.h>, pkg-config haven-config-client;
 * docs/configserver.md, "Client library".
 *
 * Two ways to use it:
 *  - Calls on a connection (cfg_connect): each is one sync request. A
 *    connection cfg_connect makes times out each call after
 *    CFG_TIMEOUT_MS (hv_conn_set_timeout changes it): -ETIMEDOUT.
 *  - cfg_follow: one setting followed on the caller's hv_loop, never
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
#define CFG_PORTAL "config"

/* Call timeout of connections made by cfg_connect. */
#define CFG_TIMEOUT_MS 25000

/* Connect to socket_path, or (NULL) to the CFG_PORTAL portal. loop may be
 * NULL (sync calls only; events then come with hv_conn_dispatch). */
int cfg_connect(hv_loop *loop, const char *socket_path, hv_conn **out);

/* --- reading and writing ------------------------------------------------ */
/* 1 and *out set when the key has a value, 0 when it has none (*out
 * untouched), or a negative errno; -EINVAL from the typed reads: the value
 * stored is not such a number / boolean. cfg_read_string's *out is
 * malloc'd (free it). */
int cfg_read_string(hv_conn *c, const char *domain, const char *group, const char *key, char **out);
int cfg_read_i32(hv_conn *c, const char *domain, const char *group, const char *key, int32_t *out);
int cfg_read_u32(hv_conn *c, const char *domain, const char *group, const char *key, uint32_t *out);
int cfg_read_bool(hv_conn *c, const char *domain, const char *group, const char *key, bool *out);

/* On disk (fsync'd) before these return 0. */
int cfg_write_string(hv_conn *c, const char *domain, const char *group, const char *key,
		     const char *value);
int cfg_write_i32(hv_conn *c, const char *domain, const char *group, const char *key, int32_t value);
int cfg_write_u32(hv_conn *c, const char *domain, const char *group, const char *key, uint32_t value);
int cfg_write_bool(hv_conn *c, const char *domain, const char *group, const char *key, bool value);
int cfg_remove_key(hv_conn *c, const char *domain, const char *group, const char *key);
int cfg_remove_group(hv_conn *c, const char *domain, const char *group);
int cfg_add_group(hv_conn *c, const char *domain, const char *group);

/* The groups of domain, or the keys of group, appended to *out (copies;
 * hv_strv_clear frees them). */
int cfg_list_groups(hv_conn *c, const char *domain, hv_strv *out);
int cfg_list_keys(hv_conn *c, const char *domain, const char *group, hv_strv *out);

/* All of ops, or none of them (one durable file replacement). */
typedef enum cfg_op_kind {
	CFG_OP_SET = 1,		 /* group.key = value */
	CFG_OP_REMOVE_KEY = 2,	 /* group.key */
	CFG_OP_REMOVE_GROUP = 3, /* group */
	CFG_OP_ADD_GROUP = 4,	 /* group, empty */
} cfg_op_kind;
typedef struct cfg_op {
	cfg_op_kind kind;
	const char *group;
	const char *key;   /* "" or NULL unless SET / REMOVE_KEY */
	const char *value; /* "" or NULL unless SET */
} cfg_op;
int cfg_write_batch(hv_conn *c, const char *domain, const cfg_op *ops, size_t n);

/* --- watching a domain --------------------------------------------------- */
typedef enum cfg_event_kind {
	CFG_CHANGED,	   /* group.key = value */
	CFG_REMOVED_KEY,   /* group.key is gone */
	CFG_REMOVED_GROUP, /* group is gone */
	CFG_ADDED_GROUP,   /* group exists, empty */
} cfg_event_kind;
typedef enum cfg_type { CFG_STRING, CFG_I32, CFG_U32, CFG_BOOL } cfg_type;
typedef struct cfg_event {
	cfg_event_kind kind;
	const char *domain, *group;
	const char *key;   /* NULL for group events */
	cfg_type type;	   /* CHANGED: how it was written (hand edits: CFG_STRING) */
	const char *value; /* CHANGED: the value as text ("-5", "true"); else NULL */
} cfg_event;
/* The event's strings live until the callback returns. */
typedef void (*cfg_event_cb)(const cfg_event *e, void *userdata);
typedef struct cfg_watcher {
	cfg_event_cb cb;
	void *userdata;
} cfg_watcher;

/* Deliver changes to `domain` made by others (not by c's own writes) to
 * w->cb, on c's loop (or from hv_conn_dispatch). w must live as long as c:
 * the connection serves ConfigClient.ipc for the library, which keeps w as
 * c's userdata (hv_conn_set_userdata); -EBUSY if c has another userdata.
 * Several domains may be monitored on one connection with the same w. */
int cfg_monitor(hv_conn *c, const char *domain, const cfg_watcher *w);

/* --- following one setting ---------------------------------------------- */
typedef struct cfg_follow cfg_follow;
/* value: the setting as text, NULL when it has none (absent or removed). */
typedef void (*cfg_follow_cb)(const char *value, void *userdata);

/* Reconnection delays after losing (or not finding) ConfigServer: doubled
 * from the first up to the max, reset once a read is answered. */
#define CFG_FOLLOW_RETRY_FIRST_MS 200u
#define CFG_FOLLOW_RETRY_MAX_MS 30000u

/* Follow domain/group/key on loop: cb runs once ConfigServer has answered
 * the first read, then on every change to it, and again after each
 * reconnection. Returns at once (no call waits here, not even connect):
 * while ConfigServer is absent, frozen or restarting, cb simply does not
 * run and the caller keeps what it has. socket_path NULL: the CFG_PORTAL
 * portal. cb never runs from inside cfg_follow_new or cfg_follow_free. */
int cfg_follow_new(hv_loop *loop, const char *socket_path, const char *domain, const char *group,
		   const char *key, cfg_follow_cb cb, void *userdata, cfg_follow **out);
void cfg_follow_free(cfg_follow *f); /* NULL-safe */
