/* KeyboardPreferenceLoader — the person's keyboard applied at every start
 * of a session, and at every change: layout, variant, options, repeat and
 * Num Lock from ConfigServer's Keyboard domain, checked with xkbcommon
 * against xkb-data, sent to WindowServer (its keymap) and to the Linux
 * console (kbd's loadkeys) where there is one.
 *
 *   KeyboardPreferenceLoader [--socket PATH] [--config-socket PATH]
 *       [--windowserver-socket PATH] [--console DEV|none] [--loadkeys PATH]
 *       [--xkb-root DIR]
 *
 * Sandbox: reads the XKB data only; talks to ConfigServer and WindowServer;
 * no writes, no exec, no network. The console, when there is one, is a
 * helper's, forked before the sandbox (console.c). */
#include <haven/service.h>

#include "KeyboardPreferenceLoader.h"

static const hv_service kpl_service = {
	.name = "KeyboardPreferenceLoader",
	.summary = "Applies the keyboard preferences of ConfigServer's Keyboard domain to\n"
		   "WindowServer and the console; serves KeyboardPreferenceLoader.ipc (status).",
	.endpoint = &keyboard_preference_loader_endpoint,
	.handlers = &kpl_handlers,
	.options = kpl_options,
	.setup = kpl_setup,
	.ready = kpl_ready,
	.teardown = kpl_teardown,
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(kpl_opts.xkb_root, "r"), {0}},
	.pledge = "stdio rpath unix",
};

int main(int argc, char **argv) { return hv_service_main(&kpl_service, argc, argv); }
