/* Clipboard.h — what main.c needs from the Clipboard's handlers. */
#pragma once

#include <haven/ipc.h>

#include "ClipboardServer.ipc.h"
#include "clip_store.h"

/* The handlers of ClipboardServer.ipc, one per message (Clipboard.c). */
extern const clipboard_server_handlers clipboard_handlers;

/* Serve `store` on `srv` (tracks subscribers for change events). */
void clipboard_attach(hv_server *srv, hv_clip_store *store);

/* Follow the history size (config.c) in ConfigServer (domain "Clipboard", group
 * "History", key "Size"): read it now and watch it. Without a ConfigServer
 * the store keeps its bound and this returns -ENOENT / -ECONNREFUSED. */
int clipboard_follow_config(hv_loop *loop, hv_clip_store *store);
void clipboard_detach(void);
