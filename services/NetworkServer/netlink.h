/* netlink.h — NetworkServer's view of the kernel: a socket in the
 * link/address/route multicast groups (so changes made by anyone, `ip`
 * included, are seen), and the dumps that fill the model at start and
 * again after the socket overflowed (ENOBUFS: events were lost). */
#pragma once

#include <haven/loop.h>

#include "state.h"

typedef struct nws_netlink nws_netlink;

/* Called for every message the model took that changed it (m after
 * nws_state_apply), on the loop. */
typedef void (*nws_change_cb)(const nws_msg *m, nws_change ch, void *userdata);

/* Open the monitor socket, dump links, addresses and routes into *state,
 * then watch for changes on loop. Kernel calls only: they do not block on
 * another process. */
int nws_netlink_open(hv_loop *loop, nws_state *state, nws_change_cb cb, void *userdata,
		     nws_netlink **out);
void nws_netlink_close(nws_netlink *n); /* NULL-safe */

/* Read a buffer of netlink messages into state (the monitor path, and the
 * fuzz target): each message parsed and applied, cb told of changes.
 * Malformed messages are skipped (and counted in *bad when given). */
int nws_netlink_feed(nws_state *state, const void *buf, size_t len, nws_change_cb cb,
		     void *userdata, unsigned *bad);
