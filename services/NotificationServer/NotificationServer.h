/* NotificationServer.h — what main.c needs from the handlers. */
#pragma once

#include <haven/ipc.h>

#include "NotificationServer.ipc.h"
#include "notify_queue.h"

/* The handlers of NotificationServer.ipc, one per message. */
extern const notification_server_handlers nq_handlers;

/* Create the queue (cfg's icon_free is ours), load what state_dir holds
 * (NULL: memory only), start its expiry timer on loop, and track srv's
 * connections (owners, watchers). Every acknowledged change is saved to
 * state_dir first. Undo with nq_server_detach(). */
int nq_server_attach(hv_server *srv, hv_loop *loop, const nq_config *cfg,
			       const char *state_dir, nq_queue **out);
void nq_server_detach(void);
