/* store.h — ConfigServer's storage: one INI file per domain, layered.
 *
 * A domain "Terminal" lives in <user_dir>/Terminal.ini (read-write) over
 * <defaults_dir>/Terminal.ini (read-only defaults shipped by the system). A
 * read sees the user's value, else the default. Removing a key or group
 * removes the user's entry only, so the default (if any) shows again.
 *
 * Every change goes through cfg_store_apply(): a batch of operations
 * on one domain, validated as a whole, written durably (temp file, fsync,
 * rename, fsync of the directory) and only then made visible — all or
 * nothing. Edits made by hand to the files are picked up through inotify
 * (cfg_store_process_inotify). Either way, the change callback is told
 * each effective change, once, in order.
 *
 * Files are parsed with inih. The distribution's inih reads lines of at most
 * 199 bytes, so long or unusual values are written quoted, with escapes and
 * continuation lines (see docs/configserver.md); longer hand-written lines
 * are reported with file:line and the file is not loaded.
 *
 * Every function that can fail returns a negative errno; `why` outputs, when
 * given, receive a static sentence for the user.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <haven/util.h>

/* Limits (documented in docs/configserver.md). */
#define CFG_MAX_DOMAIN_LEN 128u
#define CFG_MAX_NAME_LEN 48u /* group and key names: inih keeps 49 bytes */
#define CFG_MAX_VALUE_LEN (64u << 10)
#define CFG_MAX_FILE_SIZE (4u << 20)
#define CFG_MAX_BATCH_OPS 4096u
#define CFG_MAX_DOMAINS 4096u /* loaded at once */

typedef struct cfg_store cfg_store;

enum cfg_op_kind {
	CFG_SET = 1,	      /* group, key, value */
	CFG_REMOVE_KEY = 2,   /* group, key */
	CFG_REMOVE_GROUP = 3, /* group */
	CFG_ADD_GROUP = 4,    /* group */
};

/* How a value was written, so events can say it the way it was written. */
enum cfg_type {
	CFG_TYPE_STRING = 0,
	CFG_TYPE_I32 = 1,
	CFG_TYPE_U32 = 2,
	CFG_TYPE_BOOL = 3,
};

typedef struct cfg_op {
	enum cfg_op_kind kind;
	enum cfg_type type; /* for CFG_SET */
	const char *group;
	const char *key;
	const char *value;
} cfg_op;

enum cfg_change_kind {
	CFG_CHANGED_VALUE = 1, /* value is the new effective value */
	CFG_REMOVED_KEY = 2,
	CFG_REMOVED_GROUP = 3,
	CFG_ADDED_GROUP = 4,
};

typedef struct cfg_change {
	enum cfg_change_kind kind;
	enum cfg_type type; /* STRING unless a typed write made it */
	const char *domain, *group, *key, *value;
} cfg_change;

/* origin: what cfg_store_apply() was given (NULL for hand edits). */
typedef void (*cfg_change_cb)(const cfg_change *change, void *origin,
			      void *userdata);

/* user_dir is created (mode 0700, parents too) if missing; defaults_dir may
 * be NULL or missing. Stale temp files of an interrupted write are removed. */
int cfg_store_open(const char *user_dir, const char *defaults_dir,
		   cfg_store **out);
void cfg_store_free(cfg_store *s);
HV_DEFINE_CLEANUP(cfg_store *, cfg_store_free)
void cfg_store_set_change_cb(cfg_store *s, cfg_change_cb cb, void *userdata);

/* Name checks: 0 or -EINVAL with *why set. Domains: 1..128 bytes of UTF-8,
 * no '/', no "..", no leading '.', no control characters. Groups and keys:
 * 1..48 bytes of UTF-8, no control characters, none of "[]=:;#", no
 * leading or trailing blank. Values: up to 64 KiB, no NUL. */
int cfg_check_domain(const char *domain, const char **why);
int cfg_check_name(const char *name, const char **why);
int cfg_check_value(const char *value, const char **why);

/* Load a domain now (it is loaded on first use anyway). -EBADMSG with a
 * logged file:line if a file cannot be parsed. */
int cfg_store_load(cfg_store *s, const char *domain, const char **why);

/* Drop a loaded domain from memory (its files stay); the next use loads it
 * again from disk. For long-running tools and the fuzzer, which must not
 * open a store (an inotify instance) per input. */
void cfg_store_forget(cfg_store *s, const char *domain);

/* Effective value: 0 and *value (valid until the next change to the store)
 * or -ENOENT. */
int cfg_store_get(cfg_store *s, const char *domain, const char *group,
		  const char *key, const char **value, const char **why);

/* Effective group names / key names, in file order (user's first, then
 * defaults' own). *names is a malloc'd array of pointers valid until the
 * next change; free() it. A missing group lists no keys. */
int cfg_store_list_groups(cfg_store *s, const char *domain, const char ***names,
			  size_t *count, const char **why);
int cfg_store_list_keys(cfg_store *s, const char *domain, const char *group,
			const char ***names, size_t *count, const char **why);

/* Apply ops atomically to one domain: all are validated, the new file is
 * written durably, then the change callback runs for each effective change
 * with `origin`. Returns 0 (also when nothing changed: no write happens). */
int cfg_store_apply(cfg_store *s, const char *domain, const cfg_op *ops,
		    size_t n_ops, void *origin, const char **why);

/* inotify: an fd to poll for readability, and the function to call then.
 * Loaded domains whose files changed on disk are reloaded and their changes
 * announced (origin NULL); a file that fails to parse keeps the last good
 * state and is logged. */
int cfg_store_inotify_fd(const cfg_store *s);
int cfg_store_process_inotify(cfg_store *s);

/* The file name of a domain in the user directory (for tests and logs). */
int cfg_store_user_path(const cfg_store *s, const char *domain, char *buf,
			size_t size);
