/* client.c — the RFC 2131 state machine of one interface (client.h).
 *
 * One retransmission timer drives whatever is being sent; three lease
 * timers (T1, T2, expiry) run from the moment the accepted REQUEST went
 * out (RFC 2131 §4.4.1). Replies arrive on the packet socket in the
 * broadcast phases and on the UDP socket in RENEWING; both land in
 * on_message(), which checks xid, chaddr and type against the state. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <haven/log.h>
#include <haven/util.h>

#include "apply.h"
#include "client.h"
#include "net.h"

#define NS 1000000000ull
#define RETX_FIRST_S 4
#define RETX_MAX_S 64
#define RENEW_MIN_S 60
#define REQUEST_TRIES 4 /* REQUESTING / REBOOTING give up after these */
#define NAK_BACKOFF_MAX_S 64
#define DECLINE_WAIT_S 10 /* RFC 2131 3.1.5: at least 10 s after a DECLINE */

struct dhc_client {
	hv_loop *loop;
	struct dhc_config cfg;
	hv_rtnl *rtnl;
	uint8_t mac[6];
	int raw_fd, udp_fd, arp_fd;
	hv_watch *raw_w, *udp_w, *arp_w;
	struct dhc_lease probed;   /* PROBING: the ACKed lease, not yet set */
	hv_timer *retx, *t1, *t2, *expiry;
	struct dhc_status st;
	struct dhc_lease offer;    /* SELECTING's chosen offer */
	uint32_t xid;
	uint64_t phase_start_ns;   /* for the secs field */
	uint64_t request_sent_ns;  /* the lease's clock starts here */
	unsigned tries;
	unsigned nak_backoff_s;
	/* The saved lease's address may still be on the link (a --keep stop,
	 * a crash): INIT-REBOOT removes it if the server says no. */
	bool saved_on_link;
	dhc_change_fn on_change;
	void *on_change_data;
};

static const char *const state_names[] = {
	[DHC_INIT] = "init", [DHC_SELECTING] = "selecting", [DHC_REQUESTING] = "requesting",
	[DHC_BOUND] = "bound", [DHC_RENEWING] = "renewing", [DHC_REBINDING] = "rebinding",
	[DHC_INIT_REBOOT] = "init-reboot", [DHC_REBOOTING] = "rebooting",
	[DHC_STOPPED] = "stopped", [DHC_PROBING] = "probing",
};
const char *dhc_state_name(enum dhc_state s) { return s <= DHC_PROBING ? state_names[s] : "?"; }

static uint32_t rand32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)hv_now_ns() * 2654435761u;
	return v;
}

static const char *ip(uint32_t a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void set_state(dhc_client *c, enum dhc_state s)
{
	if (c->st.state != s)
		hv_log_info("%s: %s -> %s", c->cfg.ifname, dhc_state_name(c->st.state), dhc_state_name(s));
	c->st.state = s;
	c->st.changes++;
	if (c->on_change)
		c->on_change(c, c->on_change_data);
}

/* Seconds of the current lease left now (0 when it has run out). */
static uint32_t lease_left(const dhc_client *c)
{
	if (c->st.lease.lease == UINT32_MAX)
		return UINT32_MAX;
	uint64_t end = c->st.bound_ns + (uint64_t)c->st.lease.lease * NS, now = hv_now_ns();
	return now >= end ? 0 : (uint32_t)((end - now + NS - 1) / NS);
}

/* ---- sending ---- */

static int send_msg(dhc_client *c, uint8_t type)
{
	const struct dhc_lease *l = &c->st.lease;
	struct dhc_req q = {.type = type, .xid = c->xid, .hostname = c->cfg.hostname};
	memcpy(q.mac, c->mac, 6);
	uint64_t secs = (hv_now_ns() - c->phase_start_ns) / NS;
	q.secs = secs > 65535 ? 65535 : (uint16_t)secs;
	bool unicast = false;
	uint32_t src = 0;
	switch (c->st.state) {
	case DHC_REQUESTING:
		q.requested_ip = c->offer.addr;
		q.server_id = c->offer.server_id;
		break;
	case DHC_REBOOTING:
		q.requested_ip = l->addr;
		break;
	case DHC_RENEWING:
		q.ciaddr = l->addr;
		unicast = true;
		break;
	case DHC_REBINDING:
		q.ciaddr = src = l->addr;
		break;
	default:
		break;
	}
	if (type == DHC_DECLINE) {
		q.requested_ip = c->probed.addr;
		q.server_id = c->probed.server_id;
	}
	if (type == DHC_RELEASE) {
		/* RFC 2131 §4.4.6: unicast to the server, which it names. */
		q.ciaddr = l->addr;
		q.server_id = l->server_id;
		unicast = true;
	}
	uint8_t buf[DHC_MAX_MSG];
	size_t len = dhc_build(&q, buf);
	int r = unicast ? dhc_udp_send(c->udp_fd, l->server_id, buf, len)
			: dhc_raw_send(c->raw_fd, c->st.ifindex, src, buf, len);
	if (r < 0)
		return hv_log_errno(r, "%s: failed to send %s", c->cfg.ifname, dhc_type_name(type));
	c->st.sent[type]++;
	char s[INET_ADDRSTRLEN];
	hv_log_debug("%s: sent %s xid %08x%s%s", c->cfg.ifname, dhc_type_name(type), c->xid,
		     unicast ? " to " : "", unicast ? ip(l->server_id, s) : "");
	return 0;
}

/* The next retransmission: exponential from 4 s to 64 s, ±1 s of jitter. */
static uint64_t backoff_ns(unsigned tries)
{
	unsigned s = RETX_FIRST_S << (tries < 5 ? tries : 4);
	if (s > RETX_MAX_S)
		s = RETX_MAX_S;
	int64_t jitter = (int64_t)(rand32() % (2 * NS + 1)) - (int64_t)NS;
	return (uint64_t)((int64_t)s * (int64_t)NS + jitter);
}

/* RENEWING/REBINDING: half the time to `deadline`, at least 60 s, never
 * beyond it (RFC 2131 §4.4.5). */
static uint64_t halfway_ns(uint64_t deadline)
{
	uint64_t now = hv_now_ns();
	if (deadline <= now)
		return 1;
	uint64_t half = (deadline - now) / 2;
	if (half < RENEW_MIN_S * NS)
		half = RENEW_MIN_S * NS;
	return HV_MIN(half, deadline - now);
}

static void sockets_for(dhc_client *c, enum dhc_state s)
{
	bool broadcast = s == DHC_SELECTING || s == DHC_REQUESTING || s == DHC_REBOOTING ||
			 s == DHC_REBINDING;
	dhc_raw_listen(c->raw_fd, broadcast);
	if (s != DHC_RENEWING && c->udp_fd >= 0) {
		hv_watch_free(c->udp_w);
		c->udp_w = NULL;
		hv_close(&c->udp_fd);
	}
}

static void begin(dhc_client *c, enum dhc_state s, uint8_t type)
{
	sockets_for(c, s);
	c->xid = rand32();
	c->tries = 0;
	c->phase_start_ns = hv_now_ns();
	set_state(c, s);
	if (type == DHC_REQUEST)
		c->request_sent_ns = hv_now_ns();
	send_msg(c, type);
	uint64_t next = backoff_ns(0);
	if (s == DHC_RENEWING)
		next = halfway_ns(c->st.bound_ns + (uint64_t)c->st.lease.t2 * NS);
	else if (s == DHC_REBINDING)
		next = halfway_ns(c->st.bound_ns + (uint64_t)c->st.lease.lease * NS);
	hv_timer_arm(c->retx, next, 0);
}

static void start_discovery(dhc_client *c) { begin(c, DHC_SELECTING, DHC_DISCOVER); }

/* ---- losing the lease ---- */

static void disarm_lease_timers(dhc_client *c)
{
	hv_timer_disarm(c->t1);
	hv_timer_disarm(c->t2);
	hv_timer_disarm(c->expiry);
}

static void drop_lease(dhc_client *c)
{
	disarm_lease_timers(c);
	if (c->st.has_lease || c->saved_on_link)
		dhc_unapply(c->rtnl, c->st.ifindex, &c->st.lease, c->cfg.route_metric);
	c->saved_on_link = false;
	if (c->cfg.lease_dirfd >= 0)
		dhc_lease_remove(c->cfg.lease_dirfd, c->cfg.ifname);
	c->st.has_lease = false;
}

/* INIT after a NAK, with a back-off (1, 2, 4 ... 64 s) against a server
 * that NAKs every request. */
static void restart_after_nak(dhc_client *c)
{
	drop_lease(c);
	sockets_for(c, DHC_INIT);
	set_state(c, DHC_INIT);
	c->nak_backoff_s = c->nak_backoff_s ? HV_MIN(c->nak_backoff_s * 2, NAK_BACKOFF_MAX_S) : 1;
	hv_timer_arm(c->retx, (uint64_t)c->nak_backoff_s * NS, 0);
}

/* ---- binding ---- */

static void arm_lease_timers(dhc_client *c)
{
	disarm_lease_timers(c);
	const struct dhc_lease *l = &c->st.lease;
	if (l->lease == UINT32_MAX)
		return;
	uint64_t now = hv_now_ns(), base = c->st.bound_ns;
	uint64_t at[3] = {base + (uint64_t)l->t1 * NS, base + (uint64_t)l->t2 * NS,
			  base + (uint64_t)l->lease * NS};
	hv_timer *t[3] = {c->t1, c->t2, c->expiry};
	for (int i = 0; i < 3; i++)
		hv_timer_arm(t[i], at[i] > now ? at[i] - now : 1, 0);
}

static void bind_lease(dhc_client *c, const struct dhc_lease *l)
{
	char s[INET_ADDRSTRLEN];
	if ((c->st.has_lease || c->saved_on_link) && c->st.lease.addr != l->addr)
		dhc_unapply(c->rtnl, c->st.ifindex, &c->st.lease, c->cfg.route_metric);
	c->st.lease = *l;
	c->st.has_lease = true;
	c->saved_on_link = false;
	c->st.bound_ns = c->request_sent_ns;
	c->nak_backoff_s = 0;
	hv_timer_disarm(c->retx);
	sockets_for(c, DHC_BOUND);
	dhc_apply(c->rtnl, c->st.ifindex, l, lease_left(c), c->cfg.route_metric);
	if (c->cfg.lease_dirfd >= 0) {
		int r = dhc_lease_save(c->cfg.lease_dirfd, c->cfg.ifname, l);
		if (r < 0)
			hv_log_errno(r, "%s: failed to save the lease", c->cfg.ifname);
	}
	arm_lease_timers(c);
	hv_log_info("%s: bound to %s/%u for %us (T1 %us, T2 %us)", c->cfg.ifname, ip(l->addr, s),
		    l->prefix, l->lease, l->t1, l->t2);
	set_state(c, DHC_BOUND);
}

/* ---- receiving ---- */

static bool expected(const dhc_client *c, const struct dhc_msg *m)
{
	switch (c->st.state) {
	case DHC_SELECTING:
		return m->type == DHC_OFFER;
	case DHC_REQUESTING:
		/* Only the server whose offer we took may answer. */
		return (m->type == DHC_ACK || m->type == DHC_NAK) && m->has_server_id &&
		       m->server_id == c->offer.server_id;
	case DHC_RENEWING:
		return (m->type == DHC_ACK || m->type == DHC_NAK) && m->has_server_id &&
		       m->server_id == c->st.lease.server_id;
	case DHC_REBOOTING:
	case DHC_REBINDING:
		return m->type == DHC_ACK || m->type == DHC_NAK;
	default:
		return false;
	}
}

static void on_offer(dhc_client *c, const struct dhc_msg *m)
{
	struct dhc_lease l;
	char s[INET_ADDRSTRLEN];
	if (dhc_lease_from_ack(m, &l) < 0) {
		hv_log_warn("%s: ignored an OFFER of %s without a usable lease", c->cfg.ifname,
			    ip(m->yiaddr, s));
		c->st.ignored++;
		return;
	}
	c->offer = l;
	begin(c, DHC_REQUESTING, DHC_REQUEST);
}

static void on_ack(dhc_client *c, const struct dhc_msg *m)
{
	struct dhc_lease l;
	char s[INET_ADDRSTRLEN];
	bool same = c->st.state == DHC_REQUESTING ? m->yiaddr == c->offer.addr
						   : m->yiaddr == c->st.lease.addr;
	if (!same || dhc_lease_from_ack(m, &l) < 0) {
		hv_log_warn("%s: ignored an ACK of %s (lease %u s): not what was asked or no lease",
			    c->cfg.ifname, ip(m->yiaddr, s), m->has_lease ? m->lease : 0);
		c->st.ignored++;
		return;
	}
	if (c->st.state == DHC_REQUESTING && c->cfg.arp_probe_ms && c->arp_fd >= 0) {
		/* A new address: is anyone else using it (RFC 5227)? */
		c->probed = l;
		hv_timer_disarm(c->retx);
		sockets_for(c, DHC_PROBING);
		dhc_arp_listen(c->arp_fd, true);
		set_state(c, DHC_PROBING);
		int r = dhc_arp_probe(c->arp_fd, c->st.ifindex, c->mac, l.addr);
		if (r < 0)
			hv_log_errno(r, "%s: failed to send the ARP probe", c->cfg.ifname);
		hv_timer_arm(c->retx, (uint64_t)c->cfg.arp_probe_ms * 1000000ull, 0);
		return;
	}
	bind_lease(c, &l);
}

static void on_arp(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	dhc_client *c = userdata;
	for (int i = 0; i < 64; i++) {
		int r = dhc_arp_recv(fd, c->mac, c->probed.addr);
		if (r < 0)
			return;
		if (r == 0 || c->st.state != DHC_PROBING)
			continue;
		char s[INET_ADDRSTRLEN];
		hv_log_warn("%s: %s is in use by another host: DECLINE", c->cfg.ifname,
			    ip(c->probed.addr, s));
		dhc_arp_listen(fd, false);
		send_msg(c, DHC_DECLINE);
		sockets_for(c, DHC_INIT);
		set_state(c, DHC_INIT);
		hv_timer_arm(c->retx, DECLINE_WAIT_S * NS, 0);
		return;
	}
}

static void on_message(dhc_client *c, const uint8_t *buf, size_t len)
{
	struct dhc_msg m;
	if (dhc_parse(buf, len, &m) < 0 || m.xid != c->xid || memcmp(m.chaddr, c->mac, 6) != 0 ||
	    !expected(c, &m)) {
		c->st.ignored++;
		return;
	}
	c->st.received[m.type]++;
	hv_log_debug("%s: received %s xid %08x", c->cfg.ifname, dhc_type_name(m.type), m.xid);
	if (m.type == DHC_OFFER)
		on_offer(c, &m);
	else if (m.type == DHC_ACK)
		on_ack(c, &m);
	else {
		hv_log_warn("%s: NAK in %s%s%s", c->cfg.ifname, dhc_state_name(c->st.state),
			    m.message[0] ? ": " : "", m.message);
		restart_after_nak(c);
	}
}

static void on_readable(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	dhc_client *c = userdata;
	uint8_t buf[DHC_MAX_MSG];
	/* A bounded batch per wake-up: a flood cannot starve the timers. */
	for (int i = 0; i < 64; i++) {
		int n = fd == c->raw_fd ? dhc_raw_recv(fd, buf, sizeof(buf))
					: dhc_udp_recv(fd, buf, sizeof(buf));
		if (n < 0)
			return;
		if (n == 0) {
			c->st.ignored++;
			continue;
		}
		on_message(c, buf, (size_t)n);
		if (fd == c->udp_fd && c->udp_fd < 0)
			return; /* the socket went with the state */
	}
}

/* ---- timers ---- */

static void on_retx(hv_loop *loop, hv_timer *t, void *userdata)
{
	dhc_client *c = userdata;
	switch (c->st.state) {
	case DHC_INIT:
		start_discovery(c);
		return;
	case DHC_PROBING:
		/* Nobody answered for the address: it is ours. */
		dhc_arp_listen(c->arp_fd, false);
		bind_lease(c, &c->probed);
		return;
	case DHC_REQUESTING:
	case DHC_REBOOTING:
		if (++c->tries >= REQUEST_TRIES) {
			hv_log_warn("%s: no answer in %s", c->cfg.ifname, dhc_state_name(c->st.state));
			if (c->st.state == DHC_REBOOTING)
				drop_lease(c);
			start_discovery(c);
			return;
		}
		break;
	case DHC_SELECTING:
		c->tries++;
		break;
	case DHC_RENEWING:
	case DHC_REBINDING:
		break;
	default:
		return;
	}
	send_msg(c, c->st.state == DHC_SELECTING ? DHC_DISCOVER : DHC_REQUEST);
	uint64_t next = backoff_ns(c->tries);
	if (c->st.state == DHC_RENEWING)
		next = halfway_ns(c->st.bound_ns + (uint64_t)c->st.lease.t2 * NS);
	else if (c->st.state == DHC_REBINDING)
		next = halfway_ns(c->st.bound_ns + (uint64_t)c->st.lease.lease * NS);
	hv_timer_arm(c->retx, next, 0);
}

static void on_t1(hv_loop *loop, hv_timer *t, void *userdata)
{
	dhc_client *c = userdata;
	if (c->st.state != DHC_BOUND)
		return;
	int fd = dhc_udp_open(c->cfg.ifname, c->st.lease.addr);
	if (fd < 0) {
		hv_log_errno(fd, "%s: no UDP socket for RENEWING; waiting for T2", c->cfg.ifname);
		return;
	}
	c->udp_fd = fd;
	if (hv_loop_add_fd(c->loop, fd, HV_IO_READ, on_readable, c, &c->udp_w) < 0) {
		hv_close(&c->udp_fd);
		return;
	}
	begin(c, DHC_RENEWING, DHC_REQUEST);
}

static void on_t2(hv_loop *loop, hv_timer *t, void *userdata)
{
	dhc_client *c = userdata;
	if (c->st.state == DHC_BOUND || c->st.state == DHC_RENEWING)
		begin(c, DHC_REBINDING, DHC_REQUEST);
}

static void on_expiry(hv_loop *loop, hv_timer *t, void *userdata)
{
	dhc_client *c = userdata;
	hv_log_warn("%s: the lease expired", c->cfg.ifname);
	drop_lease(c);
	start_discovery(c);
}

/* ---- life cycle ---- */

int dhc_client_new(hv_loop *loop, const struct dhc_config *cfg, dhc_client **out)
{
	_hv_cleanup_(dhc_client_freep) dhc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->cfg = *cfg;
	c->raw_fd = c->udp_fd = c->arp_fd = -1;
	c->st.ifname = cfg->ifname;
	c->st.state = DHC_INIT;
	int r = hv_rtnl_open(&c->rtnl);
	if (r < 0)
		return hv_log_errno(r, "failed to open rtnetlink");
	if ((r = hv_rtnl_link_index(c->rtnl, cfg->ifname)) < 0)
		return hv_log_errno(r, "no interface %s", cfg->ifname);
	c->st.ifindex = r;
	struct hv_rtnl_link link;
	if ((r = hv_rtnl_link_get(c->rtnl, c->st.ifindex, &link)) < 0)
		return hv_log_errno(r, "%s: failed to read the link", cfg->ifname);
	if (link.hwaddr_len != 6)
		return hv_log_errno(-EAFNOSUPPORT, "%s: not an Ethernet link", cfg->ifname);
	memcpy(c->mac, link.hwaddr, 6);
	if (!(link.flags & IFF_UP) && (r = hv_rtnl_link_set_up(c->rtnl, c->st.ifindex, true)) < 0)
		return hv_log_errno(r, "%s: failed to bring the link up", cfg->ifname);
	if ((c->raw_fd = dhc_raw_open(c->st.ifindex)) < 0)
		return hv_log_errno(c->raw_fd, "%s: failed to open the packet socket", cfg->ifname);
	if (cfg->arp_probe_ms &&
	    ((c->arp_fd = dhc_arp_open(c->st.ifindex)) < 0 ||
	     (r = hv_loop_add_fd(loop, c->arp_fd, HV_IO_READ, on_arp, c, &c->arp_w)) < 0))
		return hv_log_errno(c->arp_fd < 0 ? c->arp_fd : r, "%s: failed to open the ARP socket",
				    cfg->ifname);
	if ((r = hv_loop_add_fd(loop, c->raw_fd, HV_IO_READ, on_readable, c, &c->raw_w)) < 0 ||
	    (r = hv_loop_add_timer(loop, 0, 0, on_retx, c, &c->retx)) < 0 ||
	    (r = hv_loop_add_timer(loop, 0, 0, on_t1, c, &c->t1)) < 0 ||
	    (r = hv_loop_add_timer(loop, 0, 0, on_t2, c, &c->t2)) < 0 ||
	    (r = hv_loop_add_timer(loop, 0, 0, on_expiry, c, &c->expiry)) < 0)
		return r;
	hv_timer_disarm(c->retx);
	disarm_lease_timers(c);
	*out = HV_TAKE_PTR(c);
	return 0;
}

int dhc_client_start(dhc_client *c)
{
	struct dhc_lease saved;
	int r = c->cfg.lease_dirfd >= 0 ? dhc_lease_load(c->cfg.lease_dirfd, c->cfg.ifname, &saved)
					: -ENOENT;
	if (r == 0) {
		/* INIT-REBOOT: ask for the saved address again. */
		c->st.lease = saved;
		c->st.has_lease = false;
		c->saved_on_link = true;
		set_state(c, DHC_INIT_REBOOT);
		begin(c, DHC_REBOOTING, DHC_REQUEST);
		return 0;
	}
	if (r != -ENOENT)
		hv_log_info("%s: saved lease not used (%s)", c->cfg.ifname, strerror(-r));
	start_discovery(c);
	return 0;
}

void dhc_client_stop(dhc_client *c)
{
	if (!c || c->st.state == DHC_STOPPED)
		return;
	hv_timer_disarm(c->retx);
	disarm_lease_timers(c);
	if (c->st.has_lease && !c->cfg.keep_on_stop) {
		int fd = dhc_udp_open(c->cfg.ifname, c->st.lease.addr);
		if (fd >= 0) {
			hv_close(&c->udp_fd);
			hv_watch_free(c->udp_w);
			c->udp_w = NULL;
			c->udp_fd = fd;
			c->xid = rand32();
			send_msg(c, DHC_RELEASE);
		}
		drop_lease(c);
	}
	set_state(c, DHC_STOPPED);
}

void dhc_client_free(dhc_client *c)
{
	if (!c)
		return;
	hv_watch_free(c->raw_w);
	hv_watch_free(c->udp_w);
	hv_watch_free(c->arp_w);
	hv_close(&c->arp_fd);
	hv_timer_free(c->retx);
	hv_timer_free(c->t1);
	hv_timer_free(c->t2);
	hv_timer_free(c->expiry);
	hv_close(&c->raw_fd);
	hv_close(&c->udp_fd);
	hv_rtnl_close(c->rtnl);
	free(c);
}

void dhc_client_on_change(dhc_client *c, dhc_change_fn fn, void *userdata)
{
	c->on_change = fn;
	c->on_change_data = userdata;
}

const struct dhc_status *dhc_client_status(const dhc_client *c) { return &c->st; }
