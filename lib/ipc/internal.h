/* lib/ipc/internal.h — what the connection code (conn*.c) and server.c share (not installed). */
#pragma once

#include <haven/ipc.h>

/* Wrap an accepted socket as a server-side connection serving the server's
 * endpoint (conn.c). The server holds the returned reference. */
int hv_conn_new_accepted(hv_server *s, hv_loop *loop, int fd, const hv_endpoint *ep,
			 const void *handlers, hv_conn **out);
/* End a connection with `reason` (a negative errno) (conn.c). */
void hv_conn_end(hv_conn *c, int reason);
/* Called by conn.c when a server-side connection ended: the server forgets
 * it and drops its reference (server.c). */
void hv_server_conn_ended(hv_server *s, hv_conn *c);
void hv_conn_unref(hv_conn *c);
