/* NotificationServer.h — what main.c needs from the handlers. */
#pragma once

#include <haven/ipc.h>

#include "NotificationServer.ipc.h"
#include "notify_queue.h"

/* The handlers of NotificationServer.ipc, one per message. */
extern const notification_server_handlers nq_handlers;

/* Each client's state (the service description's conn_size): the token
 * that names it as an owner (never the hv_conn pointer, so an event can
 * never reach a later connection that reuses the memory), and whether it
 * watches the screen. */
struct nq_conn {
	uint64_t token;
	bool watching;
};
int nq_conn_init(hv_conn *c, void *state);
void nq_conn_fini(hv_conn *c, void *state); /* its notifications stay, owned by nobody */

/* The service's setup hook: resolve *state_dir (hv_state_dir_arg: NULL is
 * the default directory, "-" memory only, which sets it to NULL), create
 * the queue, load what the directory holds and start the expiry timer on
 * srv's loop. Every acknowledged change is saved there first. 0 or a
 * negative errno (logged). nq_server_teardown undoes it. */
int nq_server_setup(hv_server *srv, const char **state_dir, unsigned max_visible, unsigned history);
void nq_server_teardown(int exit_code);
