/* config.c — the Clipboard's one setting, the history size, followed in
 * ConfigServer (domain "Clipboard", group "History", key "Size") with the
 * ConfigServer client library's conf_follow: read once ConfigServer
 * answers, then changed live by its events, and read again after it comes
 * back from a crash. Nothing here waits for ConfigServer: the Clipboard
 * serves from its first loop iteration with the size it has, and a
 * missing, frozen or restarting ConfigServer only delays the setting.
 * Settings are a convenience, never a reason not to serve the clipboard.
 */
#include <errno.h>
#include <string.h>

#include <haven/log.h>

#include "Clipboard.h"

#include "config-client.h"

#define DOMAIN "Clipboard"
#define GROUP "History"
#define KEY "Size"

static conf_follow *follow;

/* value: the setting's text, NULL when there is none (the default). */
static void apply(const char *value, void *userdata)
{
	clip_store *store = userdata;
	int64_t n = CLIP_DEFAULT_HISTORY;
	if (value && hv_parse_i64(value, 1, CLIP_MAX_HISTORY, &n) < 0) {
		hv_log_warn("ignoring %s/%s/%s = \"%s\": not a number in 1..%u; history keeps %zu "
			    "entries", DOMAIN, GROUP, KEY, value, CLIP_MAX_HISTORY,
			    clip_store_max_entries(store));
		return;
	}
	if ((size_t)n != clip_store_max_entries(store))
		hv_log_info("history keeps %lld entries (%s)", (long long)n,
			    value ? "from ConfigServer" : "no setting: the default");
	clip_store_set_limits(store, (size_t)n, 0);
}

int clipboard_follow_config(hv_loop *loop, clip_store *store)
{
	int r = conf_follow_new(loop, NULL, DOMAIN, GROUP, KEY, apply, store, &follow);
	if (r < 0)
		hv_log_warn("cannot follow %s/%s/%s (%s): history keeps %zu entries", DOMAIN, GROUP,
			    KEY, strerror(-r), clip_store_max_entries(store));
	return r;
}

void clipboard_detach(void)
{
	conf_follow_free(follow);
	follow = NULL;
}
