/* netlink.c — the rtnetlink side of the model (netlink.h): one socket
 * bound to the RTNLGRP_LINK, IPV4/IPV6_IFADDR and IPV4/IPV6_ROUTE groups,
 * read on the loop; the initial dumps on a second socket, before the loop
 * runs, so a notification that races a dump is simply applied twice
 * (applying is idempotent). */
#include "netlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <haven/log.h>
#include <haven/util.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "rtmsg.h"

struct nws_netlink {
	hv_loop *loop;
	struct mnl_socket *mon;
	hv_watch *watch;
	nws_state *state;
	nws_change_cb cb;
	void *userdata;
};

int nws_netlink_feed(nws_state *state, const void *buf, size_t len, nws_change_cb cb,
		     void *userdata, unsigned *bad)
{
	uint64_t now = hv_now_ns();
	const struct nlmsghdr *nlh = buf;
	int left = (int)HV_MIN(len, (size_t)INT32_MAX);
	/* mnl_nlmsg_ok compares nlmsg_len as an int: a length above 2^31
	 * passes, aligns to 0 and the walk never advances (found by the fuzz
	 * target). Checked unsigned first. */
	for (; mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= (uint32_t)left;
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NLMSG_DONE)
			break;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*e)) && e->error)
				return e->error < 0 ? e->error : -EPROTO;
			continue;
		}
		nws_msg m;
		int r = nws_msg_parse(nlh, &m);
		if (r < 0 && bad)
			(*bad)++;
		if (r != 0)
			continue;
		r = nws_state_apply(state, &m, now);
		if (r < 0)
			return r;
		if (r != NWS_NONE && cb)
			cb(&m, (nws_change)r, userdata);
	}
	return 0;
}

/* One dump request (RTM_GETLINK/GETADDR/GETROUTE), read to NLMSG_DONE. */
static int dump(struct mnl_socket *s, uint16_t type, nws_state *state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(s, buf, sizeof buf);
		if (n < 0)
			return -errno;
		int r = nws_netlink_feed(state, buf, (size_t)n, NULL, NULL, NULL);
		if (r < 0)
			return r;
		/* The last part of a dump ends with NLMSG_DONE. */
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		int left = (int)n;
		for (; mnl_nlmsg_ok(h, left) && h->nlmsg_len <= (uint32_t)left; h = mnl_nlmsg_next(h, &left))
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
	}
}

static int dump_all(nws_state *state)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s)
		return -errno;
	int r = mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	/* Links first: addresses and routes are filed under them. */
	if (r == 0)
		r = dump(s, RTM_GETLINK, state);
	if (r == 0)
		r = dump(s, RTM_GETADDR, state);
	if (r == 0)
		r = dump(s, RTM_GETROUTE, state);
	mnl_socket_close(s);
	return r;
}

static void on_readable(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	nws_netlink *n = userdata;
	char buf[MNL_SOCKET_BUFFER_SIZE * 2];
	for (;;) {
		ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (got < 0 && errno == EAGAIN)
			return;
		if (got < 0 && errno == ENOBUFS) {
			/* Notifications were lost: the model is rebuilt from a
			 * fresh dump (subscribers are not told what changed in
			 * the gap; docs/networkserver.md). */
			hv_log_warn("netlink notifications lost (socket overflow): dumping again");
			nws_state fresh = {0};
			int r = dump_all(&fresh);
			if (r < 0) {
				nws_state_clear(&fresh);
				hv_log_errno(r, "Failed to dump links, addresses and routes");
				continue;
			}
			nws_state_clear(n->state);
			*n->state = fresh;
			continue;
		}
		if (got < 0) {
			hv_log_errno(-errno, "Failed to read netlink notifications");
			return;
		}
		unsigned bad = 0;
		int r = nws_netlink_feed(n->state, buf, (size_t)got, n->cb, n->userdata, &bad);
		if (r < 0)
			hv_log_errno(r, "Failed to apply netlink notifications");
		if (bad)
			hv_log_warn("%u malformed netlink message(s) ignored", bad);
	}
}

int nws_netlink_open(hv_loop *loop, nws_state *state, nws_change_cb cb, void *userdata,
		     nws_netlink **out)
{
	nws_netlink *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = (nws_netlink){.loop = loop, .state = state, .cb = cb, .userdata = userdata};
	int r = 0;
	n->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned groups = 1u << (RTNLGRP_LINK - 1) | 1u << (RTNLGRP_IPV4_IFADDR - 1) |
			  1u << (RTNLGRP_IPV6_IFADDR - 1) | 1u << (RTNLGRP_IPV4_ROUTE - 1) |
			  1u << (RTNLGRP_IPV6_ROUTE - 1);
	if (!n->mon || mnl_socket_bind(n->mon, groups, MNL_SOCKET_AUTOPID) < 0)
		r = -errno;
	/* Subscribed first, dumped second: nothing falls between the two. */
	if (r == 0)
		r = dump_all(state);
	if (r == 0)
		r = hv_loop_add_fd(loop, mnl_socket_get_fd(n->mon), EPOLLIN, on_readable, n, &n->watch);
	if (r < 0) {
		nws_netlink_close(n);
		return r;
	}
	*out = n;
	return 0;
}

void nws_netlink_close(nws_netlink *n)
{
	if (!n)
		return;
	hv_watch_free(n->watch);
	if (n->mon)
		mnl_socket_close(n->mon);
	free(n);
}
