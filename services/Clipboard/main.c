/* Clipboard — the session's clipboard: entries with several MIME
 * representations in shared memory, a bounded history, change events. Every
 * change is in --state-dir before it is acknowledged: a respawn has it all. */
#include <haven/service.h>

#include "Clipboard.h"

static const char *state_dir;
static int64_t history; /* 0: ConfigServer's Clipboard/History/Size */

static int setup(hv_server *srv)
{
	static char dir[4096];
	int r = hv_state_dir_arg(state_dir, "Clipboard", dir, sizeof(dir), &state_dir);
	return r < 0 ? r : clip_service_open(srv, state_dir, (size_t)history);
}

/* An explicit --history wins over the setting. */
static int ready(hv_server *srv) { return history ? 0 : clip_service_follow_setting(srv); }

static const hv_service clipboard = {
	.name = "Clipboard",
	.summary = "Serves ClipboardServer.ipc: the session's clipboard and its history.",
	.endpoint = &clipboard_server_endpoint,
	.handlers = &clip_handlers,
	.conn_size = sizeof(struct clip_client),
	.options = (const hv_option[]){
		HV_OPT_STRING("state-dir", "DIR", &state_dir, "where entries survive a crash (default\n"
			      "$XDG_RUNTIME_DIR/haven/Clipboard; \"-\" keeps them in memory)"),
		HV_OPT_INT("history", "N", &history, 1, CLIP_MAX_HISTORY, "entries kept (default: ConfigServer's\n"
			   "Clipboard/History/Size, else the store's default)"),
		{0}},
	.setup = setup,
	.ready = ready,
	.teardown = clip_service_close,
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(state_dir, "rwc"), {0}},
	.pledge = "stdio rpath wpath cpath unix recvfd sendfd",
};

int main(int argc, char **argv) { return hv_service_main(&clipboard, argc, argv); }
