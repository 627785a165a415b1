/* config.c — the Clipboard's one setting, the history size, followed in
 * ConfigServer (domain "Clipboard", group "History", key "Size"): read at
 * start, then changed live by ConfigServer's events. Without a ConfigServer
 * the Clipboard keeps its default; settings are a convenience, never a
 * reason not to serve the clipboard. If ConfigServer goes away (crash,
 * restart), the Clipboard reconnects with a growing delay and reads the
 * setting again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "Clipboard.h"

#ifdef HAVE_CONFIG_CLIENT
#include "ConfigClient.ipc.h"
#include "ConfigServer.ipc.h"

#define DOMAIN "Clipboard"
#define GROUP "History"
#define KEY "Size"
/* Never block the clipboard for long on a settings service. */
#define CONFIG_TIMEOUT_MS 5000

/* Reconnection delays after losing ConfigServer: doubled up to the max. */
#define RETRY_FIRST_MS 200u
#define RETRY_MAX_MS 30000u

static hv_conn *config;
static hv_conn *lost; /* ended; closed from the retry timer (not inside its callback) */
static clip_store *store;
static hv_loop *loop_;
static hv_timer *retry;
static unsigned retry_ms = RETRY_FIRST_MS;

static void apply(int64_t n, const char *how)
{
	if (n < 1 || n > CLIP_MAX_HISTORY) {
		hv_log_warn("ignoring %s/%s/%s = %lld: want 1..%u", DOMAIN, GROUP, KEY, (long long)n,
			    CLIP_MAX_HISTORY);
		return;
	}
	if ((size_t)n != clip_store_max_entries(store))
		hv_log_info("history keeps %lld entries (%s)", (long long)n, how);
	clip_store_set_limits(store, (size_t)n, 0);
}

static bool ours(const char *domain, const char *group, const char *key)
{
	return !strcmp(domain, DOMAIN) && !strcmp(group, GROUP) && (!key || !strcmp(key, KEY));
}

static int on_u32(hv_call *call, const config_client_notify_changed_u32_value_req *req)
{
	if (ours(req->domain, req->group, req->key))
		apply(req->value, "changed in ConfigServer");
	return 0;
}

static int on_i32(hv_call *call, const config_client_notify_changed_i32_value_req *req)
{
	if (ours(req->domain, req->group, req->key))
		apply(req->value, "changed in ConfigServer");
	return 0;
}

static int on_string(hv_call *call, const config_client_notify_changed_string_value_req *req)
{
	int64_t n;
	if (!ours(req->domain, req->group, req->key))
		return 0;
	if (hv_parse_i64(req->value, 1, CLIP_MAX_HISTORY, &n) < 0) {
		hv_log_warn("ignoring %s/%s/%s = \"%s\": not a number in 1..%u", DOMAIN, GROUP, KEY,
			    req->value, CLIP_MAX_HISTORY);
		return 0;
	}
	apply(n, "changed in ConfigServer");
	return 0;
}

static int on_removed_key(hv_call *call, const config_client_notify_removed_key_req *req)
{
	if (ours(req->domain, req->group, req->key))
		apply(CLIP_DEFAULT_HISTORY, "setting removed");
	return 0;
}

static int on_removed_group(hv_call *call, const config_client_notify_removed_group_req *req)
{
	if (ours(req->domain, req->group, NULL))
		apply(CLIP_DEFAULT_HISTORY, "setting removed");
	return 0;
}

static const config_client_handlers config_events = {
	.notify_changed_string_value = on_string,
	.notify_changed_i32_value = on_i32,
	.notify_changed_u32_value = on_u32,
	.notify_removed_key = on_removed_key,
	.notify_removed_group = on_removed_group,
};

static int follow(bool quiet);

static void on_retry(hv_loop *loop, hv_timer *t, void *userdata)
{
	if (lost) {
		hv_conn_close(lost);
		lost = NULL;
	}
	if (follow(true) == 0) {
		retry_ms = RETRY_FIRST_MS;
		return;
	}
	retry_ms = HV_MIN(retry_ms * 2, RETRY_MAX_MS);
	hv_timer_arm(retry, (uint64_t)retry_ms * 1000000u, 0);
}

static void on_config_gone(hv_conn *c, void *userdata)
{
	/* Keep the size we have, and come back for changes. */
	hv_log_info("lost ConfigServer; history size stays %zu, reconnecting",
		    clip_store_max_entries(store));
	lost = config;
	config = NULL;
	if (retry || hv_loop_add_timer(loop_, 0, 0, on_retry, NULL, &retry) == 0)
		hv_timer_arm(retry, (uint64_t)retry_ms * 1000000u, 0);
}

int clipboard_follow_config(hv_loop *loop, clip_store *st)
{
	store = st;
	loop_ = loop;
	return follow(false);
}

static int follow(bool quiet)
{
	int r = hv_conn_connect_portal(loop_, "config", &config);
	if (r < 0) {
		if (!quiet)
			hv_log_info("no ConfigServer (%s): history keeps %zu entries", strerror(-r),
				    clip_store_max_entries(store));
		return r;
	}
	hv_conn_set_timeout(config, CONFIG_TIMEOUT_MS);
	hv_conn_on_disconnect(config, on_config_gone, NULL);
	if ((r = hv_conn_serve(config, &config_client_endpoint, &config_events)) < 0 ||
	    (r = config_server_monitor_domain(config, DOMAIN)) < 0)
		goto fail;
	hv_opt_u32 v = {0};
	r = config_server_read_u32_value(config, DOMAIN, GROUP, KEY, &v);
	if (r == -EINVAL) {
		hv_log_warn("%s/%s/%s is not a number; history keeps %zu entries", DOMAIN, GROUP,
			    KEY, clip_store_max_entries(store));
		return 0;
	}
	if (r < 0)
		goto fail;
	if (v.present)
		apply(v.value, "from ConfigServer");
	return 0;
fail:
	hv_log_warn("ConfigServer did not answer (%s): history keeps %zu entries", strerror(-r),
		    clip_store_max_entries(store));
	if (config) {
		hv_conn *c = config;
		config = NULL;
		hv_conn_on_disconnect(c, NULL, NULL); /* this is not a loss to retry */
		hv_conn_close(c);
	}
	return r;
}

void clipboard_detach(void)
{
	hv_timer_free(retry);
	retry = NULL;
	if (lost)
		hv_conn_close(lost);
	if (config) {
		hv_conn_on_disconnect(config, NULL, NULL); /* leaving, not lost */
		hv_conn_close(config);
	}
	config = lost = NULL;
}

#else

int clipboard_follow_config(hv_loop *loop, clip_store *st) { return -EOPNOTSUPP; }
void clipboard_detach(void) {}

#endif
