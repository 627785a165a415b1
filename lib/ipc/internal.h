/* lib/ipc/internal.h — what the connection code (conn*.c), server.c and
 * quota.c share (not installed). */
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
/* The server's accounting (quota.c). */
struct hv_quota;
struct hv_quota *hv_server_quota(hv_server *s);

/* --- quota.c: what a server holds for its clients, charged per uid ----- */
struct hv_quota *hv_quota_new(hv_server *s);
void hv_quota_free(struct hv_quota *q); /* after every connection ended */
/* Charge a new connection to its peer's uid: -EDQUOT (logged) over the
 * uid's connection quota, -ENOMEM. */
int hv_quota_attach(struct hv_quota *q, hv_conn *c);
/* The connection ends: its charges go (hv_conn_end). */
void hv_quota_detach(hv_conn *c);
/* Recharge c's bytes after a buffer changed size; over a quota the
 * connection is ended (logged) and -EDQUOT returned. */
int hv_quota_charge(hv_conn *c);
/* fds arrived (delta > 0, may end c as above) or were released. */
int hv_quota_charge_fds(hv_conn *c, int delta);
