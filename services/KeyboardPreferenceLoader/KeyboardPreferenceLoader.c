/* KeyboardPreferenceLoader.c — follow the Keyboard domain, check what it
 * says, apply it (WindowServer, the console), and answer status().
 *
 * Not quite a oneshot: it applies the preferences once ConfigServer has
 * answered for each of them at the session's start, then stays to apply
 * every change at once (ConfigServer's change events, through
 * conf_follow), and to give a WindowServer that (re)starts the keymap. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/util.h>

#include "KeyboardPreferenceLoader.h"
#include "WindowServer.ipc.h"
#include "config-client.h"

struct kpl_state kpl = {.wanted = {.num_lock = -1}, .applied = {.num_lock = -1}};

/* The retry delays of the WindowServer connection (doubled, capped). */
#define KPL_WS_RETRY_FIRST_MS 500u
#define KPL_WS_RETRY_MAX_MS 30000u

void kpl_set_status(char **slot, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*slot);
	*slot = s;
}

/* --- WindowServer ------------------------------------------------------------- */

static void ws_send(void);

static void on_ws_retry(hv_loop *loop, hv_timer *t, void *ud)
{
	(void)loop, (void)t, (void)ud;
	ws_send();
}

static void ws_retry_later(void)
{
	kpl.ws_retry_ms = kpl.ws_retry_ms ? HV_MIN(kpl.ws_retry_ms * 2, KPL_WS_RETRY_MAX_MS) : KPL_WS_RETRY_FIRST_MS;
	if (!kpl.ws_retry && hv_loop_add_timer(kpl.loop, 0, 0, on_ws_retry, NULL, &kpl.ws_retry) < 0)
		return;
	hv_timer_arm(kpl.ws_retry, kpl.ws_retry_ms * 1000000ull, 0);
}

static void on_ws_gone(hv_conn *c, void *ud)
{
	(void)ud;
	if (c != kpl.ws)
		return;
	kpl.ws = NULL;
	hv_conn_close(c);
	kpl_set_status(&kpl.ws_status, "not running");
	ws_retry_later(); /* a respawned WindowServer gets the keymap again */
}

static void on_ws_reply(hv_conn *c, int status, const window_server_set_keymap_rep *rep, void *ud)
{
	(void)rep, (void)ud;
	if (status >= 0) {
		kpl.ws_retry_ms = 0;
		kpl_set_status(&kpl.ws_status, "applied");
		hv_log_info("WindowServer: keymap %s applied", kpl.keymap_name);
		return;
	}
	kpl_set_status(&kpl.ws_status, "refused: %s", hv_conn_strerror(c, status));
	hv_log_warn("WindowServer refused keymap %s: %s", kpl.keymap_name, hv_conn_strerror(c, status));
}

/* Send the applied keymap; never waits for WindowServer (async call). */
static void ws_send(void)
{
	if (!kpl.keymap)
		return;
	if (!kpl.ws) {
		int r = kpl_opts.windowserver_socket ? hv_conn_connect(kpl.loop, kpl_opts.windowserver_socket, &kpl.ws)
						     : hv_conn_connect_portal(kpl.loop, "window", &kpl.ws);
		if (r < 0) {
			kpl.ws = NULL;
			if (!kpl.ws_status || strcmp(kpl.ws_status, "not running"))
				hv_log_info("WindowServer not reachable (%s): it gets the keymap when it is",
					    strerror(-r));
			kpl_set_status(&kpl.ws_status, "not running");
			ws_retry_later();
			return;
		}
		hv_conn_on_disconnect(kpl.ws, on_ws_gone, NULL);
	}
	int r = window_server_set_keymap_async(kpl.ws, kpl.keymap_name, kpl.keymap, kpl.applied.num_lock == 1,
					       on_ws_reply, NULL);
	if (r < 0)
		kpl_set_status(&kpl.ws_status, "not sent: %s", strerror(-r));
}

/* --- applying ------------------------------------------------------------------ */

static void apply(hv_loop *loop, void *ud)
{
	(void)ud;
	kpl.apply_queued = false;
	if (!kpl.wanted.layout || !kpl.wanted.layout[0]) {
		kpl_set_status(&kpl.error, "no layout in ConfigServer's %s domain: nothing to apply", KBD_DOMAIN);
		hv_log_info("%s", kpl.error);
		return;
	}
	_hv_free_ char *keymap = NULL, *why = NULL, *name = kbd_prefs_name(&kpl.wanted);
	int r = kbd_prefs_check(&kpl.wanted, kpl_opts.xkb_root, &keymap, &why);
	if (r < 0) {
		/* The previous keymap stays: nothing is sent anywhere. */
		kpl_set_status(&kpl.error, "%s", why ? why : strerror(-r));
		hv_log_warn("keyboard preferences not applied, the previous ones stay: %s", kpl.error);
		return;
	}
	if (kbd_prefs_copy(&kpl.applied, &kpl.wanted) < 0)
		return;
	free(kpl.error);
	kpl.error = NULL;
	free(kpl.keymap);
	free(kpl.keymap_name);
	kpl.keymap = HV_TAKE_PTR(keymap);
	kpl.keymap_name = HV_TAKE_PTR(name);
	kpl.applies++;
	hv_log_info("applying keyboard preferences %s", kpl.keymap_name);
	ws_send();
	kpl_console_apply(&kpl.applied);
}

static void queue_apply(void)
{
	if (kpl.apply_queued)
		return;
	kpl.apply_queued = hv_loop_defer(kpl.loop, apply, NULL) == 0;
}

/* --- following ConfigServer ------------------------------------------------------ */

enum { K_LAYOUT, K_VARIANT, K_OPTIONS, K_DELAY, K_RATE, K_NUMLOCK, K_COUNT };
static const struct {
	const char *group, *key;
} keys[K_COUNT] = {
	[K_LAYOUT] = {KBD_GROUP_MAPPING, "Layout"}, [K_VARIANT] = {KBD_GROUP_MAPPING, "Variant"},
	[K_OPTIONS] = {KBD_GROUP_MAPPING, "Options"}, [K_DELAY] = {KBD_GROUP_REPEAT, "Delay"},
	[K_RATE] = {KBD_GROUP_REPEAT, "Rate"},	     [K_NUMLOCK] = {KBD_GROUP_STARTUP, "NumLock"},
};
static conf_follow *follows[K_COUNT];

static void set_number(uint32_t *dst, const char *key, const char *value)
{
	uint64_t v = 0;
	if (value && hv_parse_u64(value, UINT32_MAX, &v) < 0) {
		hv_log_warn("%s %s=%s is not a number: ignored", KBD_DOMAIN, key, value);
		v = 0;
	}
	*dst = (uint32_t)v;
}

static void on_value(const char *value, void *ud)
{
	size_t k = (size_t)(uintptr_t)ud;
	struct kbd_prefs *w = &kpl.wanted;
	char **str = k == K_LAYOUT ? &w->layout : k == K_VARIANT ? &w->variant : k == K_OPTIONS ? &w->options : NULL;
	if (str) {
		free(*str);
		*str = value ? strdup(value) : NULL;
	} else if (k == K_DELAY || k == K_RATE) {
		set_number(k == K_DELAY ? &w->delay : &w->rate, keys[k].key, value);
	} else {
		bool b;
		w->num_lock = value && hv_parse_bool(value, &b) == 0 ? b : -1;
	}
	kpl.answered |= 1u << k;
	/* At start, once everything has been read; after that, every change. */
	if (kpl.answered == (1u << K_COUNT) - 1)
		queue_apply();
}

int kpl_follow_start(void)
{
	for (size_t k = 0; k < K_COUNT; k++) {
		int r = conf_follow_new(kpl.loop, kpl_opts.config_socket, KBD_DOMAIN, keys[k].group, keys[k].key,
					on_value, (void *)(uintptr_t)k, &follows[k]);
		if (r < 0)
			return hv_log_errno(r, "Failed to follow %s %s.%s", KBD_DOMAIN, keys[k].group, keys[k].key);
	}
	return 0;
}

void kpl_follow_stop(void)
{
	for (size_t k = 0; k < K_COUNT; k++) {
		conf_follow_free(follows[k]);
		follows[k] = NULL;
	}
	if (kpl.ws)
		hv_conn_close(kpl.ws);
	kpl.ws = NULL;
	hv_timer_free(kpl.ws_retry);
	kpl.ws_retry = NULL;
	kbd_prefs_clear(&kpl.wanted);
	kbd_prefs_clear(&kpl.applied);
	free(kpl.error);
	free(kpl.ws_status);
	free(kpl.console_status);
	free(kpl.keymap);
	free(kpl.keymap_name);
}

/* --- status() ------------------------------------------------------------------- */

static keyboard_preference_loader_preferences wire(const struct kbd_prefs *p)
{
	return (keyboard_preference_loader_preferences){
		.layout = p->layout ? p->layout : "", .variant = p->variant ? p->variant : "",
		.options = p->options ? p->options : "", .repeat_delay = p->delay, .repeat_rate = p->rate,
		.num_lock = (int8_t)p->num_lock};
}

static int on_status(hv_call *call, const keyboard_preference_loader_status_req *req,
		     keyboard_preference_loader_status_rep *rep)
{
	(void)call, (void)req;
	rep->state = (keyboard_preference_loader_state){
		.wanted = wire(&kpl.wanted), .applied = wire(&kpl.applied), .error = kpl.error ? kpl.error : "",
		.windowserver = kpl.ws_status ? kpl.ws_status : "",
		.console = kpl.console_status ? kpl.console_status : "", .applies = kpl.applies};
	return 0;
}

const keyboard_preference_loader_handlers kpl_handlers = {.status = on_status};
