/* NotificationServer.h — what main.c needs from the handlers. */
#pragma once

#include <haven/ipc.h>

#include "NotificationServer.ipc.h"
#include "notify_queue.h"

/* The handlers of NotificationServer.ipc, one per message. */
extern const notification_server_handlers notification_handlers;

/* Create the queue (cfg's icon_free is ours), load what state_dir holds
 * (NULL: memory only), start its expiry timer on loop, and track srv's
 * connections (owners, watchers). Every acknowledged change is saved to
 * state_dir first. Undo with notification_server_detach(). */
int notification_server_attach(hv_server *srv, hv_loop *loop, const hv_nq_config *cfg,
			       const char *state_dir, hv_nq **out);
void notification_server_detach(void);
