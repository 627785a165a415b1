/* keyboard — the person's keyboard preferences (ConfigServer's Keyboard
 * domain), checked before they are written; KeyboardPreferenceLoader
 * applies them at once.
 *
 *   keyboard [--socket PATH] [--config-socket PATH] show
 *   keyboard [--config-socket PATH] set LAYOUT [VARIANT] [--options OPTS]
 *            [--delay MS] [--rate N] [--num-lock on|off]
 *
 * Exit codes: 0 done, 1 the preference does not compile (the reason is
 * printed, nothing is written) or a service cannot be reached, 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/options.h>

#include "KeyboardPreferenceLoader.ipc.h"
#include "cli.h"
#include "config-client.h"
#include "keyboard-prefs.h"

static const char *socket_path, *config_socket, *options, *num_lock, *xkb_root;
static int64_t delay, rate; /* HV_OPT_INT targets */

static const hv_option opts[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "KeyboardPreferenceLoader's socket (default: its portal)"),
	HV_OPT_STRING("config-socket", "PATH", &config_socket, "ConfigServer's socket (default: its portal)"),
	HV_OPT_STRING("options", "OPTS", &options, "set: XKB options, comma-separated (caps:escape,...)"),
	HV_OPT_INT("delay", "MS", &delay, KBD_DELAY_MIN, KBD_DELAY_MAX, "set: repeat delay"),
	HV_OPT_INT("rate", "N", &rate, KBD_RATE_MIN, KBD_RATE_MAX, "set: repeats per second"),
	HV_OPT_STRING("num-lock", "on|off", &num_lock, "set: Num Lock at the session's start"),
	HV_OPT_STRING("xkb-root", "DIR", &xkb_root, "set: the XKB data to check against (default " KBD_XKB_ROOT ")"),
	{0},
};

static void show_config(hv_conn *c)
{
	static const char *const keys[][2] = {{KBD_GROUP_MAPPING, "Layout"}, {KBD_GROUP_MAPPING, "Variant"},
					      {KBD_GROUP_MAPPING, "Options"}, {KBD_GROUP_REPEAT, "Delay"},
					      {KBD_GROUP_REPEAT, "Rate"},	{KBD_GROUP_STARTUP, "NumLock"}};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v = NULL;
		int r = conf_read_string(c, KBD_DOMAIN, keys[i][0], keys[i][1], &v);
		printf("%-8s %s\n", keys[i][1], r > 0 ? v : r == 0 ? "-" : "?");
		free(v);
	}
}

static int do_show(void)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, CONF_PORTAL, config_socket, &c) < 0)
		return 1;
	printf("preferences (ConfigServer, %s):\n", KBD_DOMAIN);
	show_config(c);
	hv_conn_close(c);
	hv_conn *k = NULL;
	int r = socket_path ? hv_conn_connect(NULL, socket_path, &k) : hv_conn_connect_portal(NULL, "keyboard", &k);
	if (r < 0) {
		printf("in effect: unknown (KeyboardPreferenceLoader not reachable)\n");
		return 0;
	}
	cli_adopt(k);
	keyboard_preference_loader_state st;
	r = keyboard_preference_loader_status(k, &st);
	if (r < 0) {
		int rc = cli_fail(k, r, "status");
		hv_conn_close(k);
		return rc;
	}
	const keyboard_preference_loader_preferences *a = &st.applied;
	printf("in effect: %s%s%s%s%s%s (applied %llu times)\n", a->layout[0] ? a->layout : "(nothing yet)",
	       a->variant[0] ? "(" : "", a->variant, a->variant[0] ? ")" : "", a->options[0] ? " " : "",
	       a->options, (unsigned long long)st.applies);
	printf("WindowServer: %s\nconsole: %s\n", st.windowserver[0] ? st.windowserver : "-",
	       st.console[0] ? st.console : "-");
	if (st.error[0])
		printf("not applied: %s\n", st.error);
	hv_conn_close(k);
	return 0;
}

static int do_set(char **args, int n)
{
	bool nl = false;
	if (num_lock && (!strcmp(num_lock, "on") || !strcmp(num_lock, "off")))
		nl = !strcmp(num_lock, "on");
	else if (num_lock)
		return cli_usage_error("--num-lock takes on or off, not %s", num_lock);
	struct kbd_prefs p = {.layout = args[1], .variant = n > 2 ? args[2] : NULL, .options = (char *)options,
			      .delay = (uint32_t)delay, .rate = (uint32_t)rate};
	char *why = NULL;
	int r = kbd_prefs_check(&p, xkb_root, NULL, &why);
	if (r < 0) {
		fprintf(stderr, "keyboard: %s\n", why ? why : strerror(-r));
		free(why);
		return 1;
	}
	char d[16], rt[16];
	snprintf(d, sizeof(d), "%lld", (long long)delay);
	snprintf(rt, sizeof(rt), "%lld", (long long)rate);
	conf_op ops[6];
	size_t k = 0;
	ops[k++] = (conf_op){CONF_OP_SET, KBD_GROUP_MAPPING, "Layout", p.layout};
	ops[k++] = p.variant ? (conf_op){CONF_OP_SET, KBD_GROUP_MAPPING, "Variant", p.variant}
			     : (conf_op){CONF_OP_REMOVE_KEY, KBD_GROUP_MAPPING, "Variant", NULL};
	ops[k++] = options ? (conf_op){CONF_OP_SET, KBD_GROUP_MAPPING, "Options", options}
			   : (conf_op){CONF_OP_REMOVE_KEY, KBD_GROUP_MAPPING, "Options", NULL};
	if (delay)
		ops[k++] = (conf_op){CONF_OP_SET, KBD_GROUP_REPEAT, "Delay", d};
	if (rate)
		ops[k++] = (conf_op){CONF_OP_SET, KBD_GROUP_REPEAT, "Rate", rt};
	if (num_lock)
		ops[k++] = (conf_op){CONF_OP_SET, KBD_GROUP_STARTUP, "NumLock", nl ? "true" : "false"};
	hv_conn *c = NULL;
	if (cli_connect(NULL, CONF_PORTAL, config_socket, &c) < 0)
		return 1;
	/* One durable replacement: the loader never sees half a layout. */
	r = conf_write_batch(c, KBD_DOMAIN, ops, k);
	int rc = r < 0 ? cli_fail(c, r, "set") : 0;
	hv_conn_close(c);
	return rc;
}

static const hv_option *const tables[] = {opts, NULL};
static const hv_cmdline cmd = {
	.name = "keyboard",
	.args = "show | set LAYOUT [VARIANT]",
	.summary = "The keyboard preferences of this session (ConfigServer's Keyboard domain).\n"
		   "show: what is asked for and what KeyboardPreferenceLoader has in effect;\n"
		   "set: check LAYOUT [VARIANT] and --options against xkb-data, then write them\n"
		   "(applied at once). Exit: 0 done, 1 refused or unreachable, 2 usage.\n" CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 1,
	.max_args = 3,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

int main(int argc, char **argv)
{
	cli_init("keyboard", "KeyboardPreferenceLoader", usage);
	hv_options_permute(&cmd, argc, argv); /* options may follow the verb */
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	char **args = argv + first;
	int n = argc - first;
	if (!strcmp(args[0], "show") && n == 1)
		return do_show();
	if (!strcmp(args[0], "set") && n >= 2)
		return do_set(args, n);
	return cli_usage_error("%s: expected show, or set LAYOUT [VARIANT]", args[0]);
}
