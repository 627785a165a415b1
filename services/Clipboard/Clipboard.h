/* Clipboard.h — what main.c needs from the Clipboard's handlers (Clipboard.c)
 * and its ConfigServer follower (config.c). */
#pragma once

#include <haven/ipc.h>

#include "ClipboardServer.ipc.h"
#include "clip_store.h"

/* The handlers of ClipboardServer.ipc, one per message (Clipboard.c). */
extern const clipboard_server_handlers clip_handlers;

/* Each client's state (the service description's conn_size). */
struct clip_client {
	bool subscribed; /* wants ClipboardClient change events */
};

/* The service's lifetime (main.c's setup, ready and teardown): open the
 * store in state_dir (NULL: memory only) keeping `history` entries (0: the
 * default) and serve it on srv; follow the history size in ConfigServer;
 * free it all. */
int clip_service_open(hv_server *srv, const char *state_dir, size_t history);
int clip_service_follow_setting(hv_server *srv);
void clip_service_close(int exit_code);

/* Follow the history size (config.c) in ConfigServer (domain "Clipboard", group
 * "History", key "Size") on loop, without waiting for it: the store keeps
 * its bound until ConfigServer answers, and whenever it is away. Returns
 * 0, or a negative errno if the follow could not even be set up. */
int clipboard_follow_config(hv_loop *loop, clip_store *store);
void clipboard_detach(void);
