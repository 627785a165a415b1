/* Clipboard — the session's clipboard: entries with several MIME
 * representations in shared memory, a bounded history, change events.
 *
 *   Clipboard [--socket PATH] [--state-dir DIR] [--history N]
 *
 * Every change is written to the state directory (default
 * $XDG_RUNTIME_DIR/haven/Clipboard) before it is acknowledged, so a
 * respawned Clipboard has it all.
 */
#include <haven/service.h>

#include "Clipboard.h"

static const char *state_dir;
static int64_t history; /* 0: ConfigServer's Clipboard/History/Size */
static hv_clip_store *store;

static int setup(hv_server *srv)
{
	static char dir[4096];
	int r = hv_state_dir_arg(state_dir, "Clipboard", dir, sizeof(dir), &state_dir);
	if (r >= 0)
		r = hv_clip_store_new(state_dir, history ? (size_t)history : HV_CLIP_DEFAULT_HISTORY, 0, &store);
	if (r >= 0)
		clipboard_attach(srv, store);
	return r;
}

/* An explicit --history wins over the setting. */
static int ready(hv_server *srv)
{
	if (!history)
		clipboard_follow_config(hv_server_loop(srv), store);
	return 0;
}

static void teardown(int code)
{
	clipboard_detach();
	hv_clip_store_free(store);
}

static const hv_service clipboard = {
	.name = "Clipboard",
	.summary = "Serves ClipboardServer.ipc: the session's clipboard and its history.",
	.endpoint = &clipboard_server_endpoint,
	.handlers = &clipboard_handlers,
	.options = (const hv_option[]){
		HV_OPT_STRING("state-dir", "DIR", &state_dir, "where entries survive a crash (default\n"
			      "$XDG_RUNTIME_DIR/haven/Clipboard; \"-\" keeps them in memory)"),
		HV_OPT_INT("history", "N", &history, 1, HV_CLIP_MAX_HISTORY, "entries kept (default: ConfigServer's\n"
			   "Clipboard/History/Size, else the store's default)"),
		{0}},
	.setup = setup,
	.ready = ready,
	.teardown = teardown,
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(state_dir, "rwc"), {0}},
	.pledge = "stdio rpath wpath cpath unix recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&clipboard, argc, argv); }
