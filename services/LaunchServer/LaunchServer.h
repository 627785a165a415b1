/* LaunchServer.h — what main.c needs from the handlers (LaunchServer.c)
 * and the process around them (process.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>
#include <haven/options.h>
#include <haven/service.h>
#include <haven/util.h>

#include "LaunchServer.ipc.h"
#include "db.h"
#include "spawn.h"

extern const launch_server_handlers lch_handlers;

/* One allowlist entry (SerenityOS's AllowlistEntry): handler "" is the
 * default handler, which add_allowed_url allows for one URL. */
struct lch_allowed {
	char *handler;
	bool any_url;
	hv_strv urls; /* without fragments */
};

/* Each client's state. */
struct lch_client {
	struct lch_allowed *allowed;
	size_t nallowed;
	bool sealed;
};
void lch_client_fini(hv_conn *c, void *state);

/* The service's state: what handlers read. */
struct lch_state {
	struct lch_paths paths;
	struct lch_db *db; /* replaced whole on reload */
	struct lch_spawner *spawner;
	hv_strv terminal; /* argv prefix for Terminal=true apps */
	int inotify_fd;
	hv_watch *inotify_watch;
	hv_timer *reload_timer;
	uint64_t reloads;
};
extern struct lch_state lch;

/* Re-read everything now; the old database stays on failure. */
int lch_reload(void);

/* Options and hooks (process.c). */
struct lch_options {
	const char *terminal;
	const char *magic;
	bool app_output;
};
extern struct lch_options lch_opts;
extern const hv_option lch_option_table[];
extern const hv_unveil_rule lch_unveil_rules[];
int lch_setup(hv_server *srv);
void lch_teardown(int exit_code);
