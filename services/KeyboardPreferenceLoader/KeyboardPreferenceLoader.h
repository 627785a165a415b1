/* KeyboardPreferenceLoader.h — what the parts of KeyboardPreferenceLoader
 * share: options, state, the console, the endpoint's handlers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>
#include <haven/options.h>

#include "KeyboardPreferenceLoader.ipc.h"
#include "keyboard-prefs.h"

struct kpl_options {
	const char *config_socket;	 /* --config-socket: NULL, the "config" portal */
	const char *windowserver_socket; /* --windowserver-socket: NULL, the "window" portal */
	const char *console;		 /* --console DEV|none; NULL: /dev/tty0 when it is a VT */
	const char *loadkeys;		 /* --loadkeys PATH */
	const char *xkb_root;		 /* --xkb-root DIR */
};
extern struct kpl_options kpl_opts;
extern const hv_option kpl_options[];
int kpl_setup(hv_server *srv);
int kpl_ready(hv_server *srv);
void kpl_teardown(int exit_code);

/* The state (KeyboardPreferenceLoader.c). */
struct kpl_state {
	hv_loop *loop;
	struct kbd_prefs wanted, applied;
	unsigned answered; /* bit per followed key: ConfigServer answered it once */
	bool apply_queued;
	char *error;	    /* why wanted is not applied; NULL when it is */
	char *ws_status;    /* "applied", "not running", "refused: …" */
	char *console_status;
	uint64_t applies;
	char *keymap;	    /* the applied keymap as text, for a WindowServer that comes back */
	char *keymap_name;
	hv_conn *ws;
	struct hv_timer *ws_retry;
	struct hv_watch *console_watch; /* the console helper's replies */
	uint64_t ws_retry_ms;
};
extern struct kpl_state kpl;
extern const keyboard_preference_loader_handlers kpl_handlers;
int kpl_follow_start(void);
void kpl_follow_stop(void);
void kpl_set_status(char **slot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The Linux console (console.c): which one (NULL: none; decided before
 * the sandbox), its helper (forked in setup, before the sandbox), and
 * applying preferences to it (asynchronous: the status follows). */
const char *kpl_console_path(void);
int kpl_console_start(hv_loop *loop);
void kpl_console_apply(const struct kbd_prefs *p);
void kpl_console_stop(void);
