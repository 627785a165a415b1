/* process.c — KeyboardPreferenceLoader's options and the steps around
 * its loop: the console's helper is forked in setup, before the sandbox;
 * ConfigServer is followed once the view is narrowed. */
#include <string.h>

#include <haven/log.h>

#include "KeyboardPreferenceLoader.h"

struct kpl_options kpl_opts = {
	.loadkeys = "/usr/bin/loadkeys",
	.xkb_root = KBD_XKB_ROOT,
};

const hv_option kpl_options[] = {
	HV_OPT_STRING("config-socket", "PATH", &kpl_opts.config_socket, "ConfigServer's socket (default: its portal)"),
	HV_OPT_STRING("windowserver-socket", "PATH", &kpl_opts.windowserver_socket,
		      "WindowServer's socket (default: its portal)"),
	HV_OPT_STRING("console", "DEV", &kpl_opts.console, "the Linux console to set (default: /dev/tty0 when\n"
		      "it is a VT this session may open; \"none\": never)"),
	HV_OPT_STRING("loadkeys", "PATH", &kpl_opts.loadkeys, "kbd's loadkeys (default /usr/bin/loadkeys)"),
	HV_OPT_STRING("xkb-root", "DIR", &kpl_opts.xkb_root, "the XKB data (default " KBD_XKB_ROOT ")"),
	{0},
};

int kpl_setup(hv_server *srv)
{
	kpl.loop = hv_server_loop(srv);
	return kpl_console_start(kpl.loop);
}

int kpl_ready(hv_server *srv)
{
	(void)srv;
	return kpl_follow_start();
}

void kpl_teardown(int exit_code)
{
	(void)exit_code;
	kpl_console_stop();
	kpl_follow_stop();
}
