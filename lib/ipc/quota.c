/* lib/ipc/quota.c — what a server holds for its clients, charged to each
 * client's uid against quotas (as dbus-broker's per-user accounting): bytes
 * buffered in both directions, fds received and not yet released,
 * connections; with totals per server. A connection that takes its uid (or
 * the server) over a quota is ended with a logged reason — the peer loses
 * its connection, never the server its memory. Also the server's watchdog
 * timer: a frame not complete within the frame deadline, or a connection
 * idle past the idle timeout, ends its connection.
 *
 * Charges change where memory does, not per message: when a connection's
 * read or write buffer changes capacity (the 64 KiB each way that every
 * connection may use is not charged), when undispatched messages are
 * queued, when fds arrive and when a message holding fds is released. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "conn.h"

/* Not charged: what a connection uses anyway, each way. */
#define QUOTA_FREE_BYTES ((size_t)HV_RBUF_READ_CHUNK)

/* Per-uid quotas given with hv_server_set_quotas for one uid. */
struct uid_quotas {
	uid_t uid;
	bool none; /* q NULL: no per-uid quota */
	hv_ipc_quotas q;
};

struct hv_ipc_account {
	struct hv_ipc_account *next;
	uid_t uid;
	unsigned conns, fds;
	size_t bytes;
	hv_ipc_quotas q; /* this uid's; a 0 field is no limit */
};

struct hv_quota {
	hv_server *server;
	struct hv_ipc_account *accounts;
	hv_ipc_quotas any; /* HV_IPC_ANY_UID */
	struct uid_quotas *uids;
	unsigned nuids;
	hv_ipc_quotas total; /* bytes and fds over every uid */
	size_t bytes;
	unsigned fds;
	hv_conn *conns; /* attached connections (c->acct_next/prev) */
	int frame_deadline_ms, idle_timeout_ms;
	hv_timer *timer;
};

static const hv_ipc_quotas uid_defaults = {
	.bytes = HV_IPC_UID_MAX_BYTES,
	.fds = HV_IPC_UID_MAX_FDS,
	.connections = HV_IPC_UID_MAX_CONNECTIONS,
};

struct hv_quota *hv_quota_new(hv_server *s)
{
	struct hv_quota *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->server = s;
	q->any = uid_defaults;
	q->total = (hv_ipc_quotas){.bytes = HV_IPC_SERVER_MAX_BYTES, .fds = HV_IPC_SERVER_MAX_FDS};
	q->frame_deadline_ms = HV_IPC_FRAME_DEADLINE_MS;
	/* Root and the server's own uid can stop the server anyway: no
	 * per-uid quota unless the service gives them one. */
	q->uids = calloc(2, sizeof(*q->uids));
	if (!q->uids) {
		free(q);
		return NULL;
	}
	q->uids[q->nuids++] = (struct uid_quotas){.uid = 0, .none = true};
	if (geteuid() != 0)
		q->uids[q->nuids++] = (struct uid_quotas){.uid = geteuid(), .none = true};
	return q;
}

/* After every connection has ended (hv_server_free). */
void hv_quota_free(struct hv_quota *q)
{
	if (!q)
		return;
	hv_timer_free(q->timer);
	free(q->uids);
	free(q);
}

static hv_ipc_quotas quotas_of(const struct hv_quota *q, uid_t uid)
{
	for (unsigned i = 0; i < q->nuids; i++)
		if (q->uids[i].uid == uid)
			return q->uids[i].none ? (hv_ipc_quotas){0} : q->uids[i].q;
	return q->any;
}

static void watchdog(hv_loop *loop, hv_timer *t, void *userdata);

/* The watchdog runs while connections are attached and a deadline or
 * timeout is set, every quarter of the shorter (5 ms to 1 s); `rearm`
 * restarts it with that period (a setting changed). */
static void watchdog_update(struct hv_quota *q, bool rearm)
{
	int ms = q->frame_deadline_ms;
	if (q->idle_timeout_ms > 0 && (ms <= 0 || q->idle_timeout_ms < ms))
		ms = q->idle_timeout_ms;
	if (ms <= 0 || !q->conns) {
		if (q->timer)
			hv_timer_disarm(q->timer);
		return;
	}
	uint64_t every = (uint64_t)HV_MIN(HV_MAX(ms / 4, 5), 1000) * 1000000u;
	if (!q->timer) {
		if (hv_loop_add_timer(hv_server_loop(q->server), every, every, watchdog, q, &q->timer) < 0)
			hv_log_warn("ipc: no timer for the frame deadline and idle timeout");
		return;
	}
	if (rearm || !hv_timer_armed(q->timer))
		hv_timer_arm(q->timer, every, every);
}

int hv_quota_attach(struct hv_quota *q, hv_conn *c)
{
	const struct ucred *peer = hv_conn_peer(c);
	struct hv_ipc_account *a = q->accounts;
	while (a && a->uid != peer->uid)
		a = a->next;
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		a->uid = peer->uid;
		a->q = quotas_of(q, peer->uid);
		a->next = q->accounts;
		q->accounts = a;
	}
	if (a->q.connections && a->conns >= a->q.connections) {
		hv_log_warn("ipc: %s: refusing peer pid=%d uid=%d: its uid has %u connections (quota)",
			    c->nserved ? c->served[0].ep->name : "?", (int)peer->pid, (int)peer->uid, a->conns);
		return -EDQUOT;
	}
	a->conns++;
	c->acct = a;
	c->quota = q;
	c->idle_since = hv_now_ns();
	c->acct_prev = NULL;
	c->acct_next = q->conns;
	if (q->conns)
		q->conns->acct_prev = c;
	q->conns = c;
	watchdog_update(q, false);
	return 0;
}

static void account_drop(struct hv_quota *q, struct hv_ipc_account *a)
{
	struct hv_ipc_account **p = &q->accounts;
	while (*p != a)
		p = &(*p)->next;
	*p = a->next;
	free(a);
}

void hv_quota_detach(hv_conn *c)
{
	struct hv_ipc_account *a = c->acct;
	struct hv_quota *q = c->quota;
	a->bytes -= c->charged_bytes;
	a->fds -= c->charged_fds;
	q->bytes -= c->charged_bytes;
	q->fds -= c->charged_fds;
	c->charged_bytes = 0;
	c->charged_fds = 0;
	if (c->acct_prev)
		c->acct_prev->acct_next = c->acct_next;
	else
		q->conns = c->acct_next;
	if (c->acct_next)
		c->acct_next->acct_prev = c->acct_prev;
	c->acct_next = c->acct_prev = NULL;
	c->acct = NULL;
	if (--a->conns == 0)
		account_drop(q, a);
	if (!q->conns)
		watchdog_update(q, false);
}

/* Over a quota: log why and end the connection. */
static int over(hv_conn *c, const char *what, size_t have, size_t quota)
{
	hv_log_warn("ipc: %s: dropping peer pid=%d uid=%d: over the %s quota (%zu of %zu)",
		    c->nserved ? c->served[0].ep->name : "?", (int)c->peer.pid, (int)c->peer.uid, what,
		    have, quota);
	hv_conn_end(c, -EDQUOT);
	return -EDQUOT;
}

static size_t over_free(size_t cap) { return cap > QUOTA_FREE_BYTES ? cap - QUOTA_FREE_BYTES : 0; }

int hv_quota_charge(hv_conn *c)
{
	struct hv_ipc_account *a = c->acct;
	struct hv_quota *q = c->quota;
	size_t now = over_free(c->in.cap) + c->q_bytes + over_free(c->out_cap);
	a->bytes = a->bytes - c->charged_bytes + now;
	q->bytes = q->bytes - c->charged_bytes + now;
	bool grew = now > c->charged_bytes;
	c->charged_bytes = now;
	if (!grew)
		return 0;
	if (a->q.bytes && a->bytes > a->q.bytes)
		return over(c, "per-uid byte", a->bytes, a->q.bytes);
	if (q->total.bytes && q->bytes > q->total.bytes)
		return over(c, "server's byte", q->bytes, q->total.bytes);
	return 0;
}

int hv_quota_charge_fds(hv_conn *c, int delta)
{
	struct hv_ipc_account *a = c->acct;
	struct hv_quota *q = c->quota;
	if (delta < 0 && (unsigned)-delta > c->charged_fds)
		delta = -(int)c->charged_fds;
	c->charged_fds += (unsigned)delta;
	a->fds += (unsigned)delta;
	q->fds += (unsigned)delta;
	if (delta <= 0)
		return 0;
	if (a->q.fds && a->fds > a->q.fds)
		return over(c, "per-uid fd", a->fds, a->q.fds);
	if (q->total.fds && q->fds > q->total.fds)
		return over(c, "server's fd", q->fds, q->total.fds);
	return 0;
}

/* Why c should end now (a stalled frame, idle), or NULL. */
static const char *overdue(struct hv_quota *q, hv_conn *c, uint64_t now)
{
	if (c->nreads != c->nreads_seen) {
		c->nreads_seen = c->nreads;
		c->idle_since = now;
	}
	uint64_t ms = 1000000u;
	if (q->frame_deadline_ms > 0 && c->partial_since &&
	    now - c->partial_since >= (uint64_t)q->frame_deadline_ms * ms)
		return "a frame not complete within the frame deadline";
	/* A peer waiting for an answer the server holds is not idle. */
	if (q->idle_timeout_ms > 0 && !c->held && now - c->idle_since >= (uint64_t)q->idle_timeout_ms * ms)
		return "idle past the idle timeout";
	return NULL;
}

static void watchdog(hv_loop *loop, hv_timer *t, void *userdata)
{
	struct hv_quota *q = userdata;
	uint64_t now = hv_now_ns();
	hv_conn *victims = NULL; /* chained through acct_victim, referenced */
	for (hv_conn *c = q->conns; c; c = c->acct_next) {
		const char *why = overdue(q, c, now);
		if (!why)
			continue;
		hv_log_warn("ipc: %s: dropping peer pid=%d uid=%d: %s",
			    c->nserved ? c->served[0].ep->name : "?", (int)c->peer.pid, (int)c->peer.uid, why);
		conn_ref(c);
		c->acct_victim = victims;
		victims = c;
	}
	/* Ended after the walk: ending detaches (and hooks may end others). */
	while (victims) {
		hv_conn *c = victims;
		victims = c->acct_victim;
		c->acct_victim = NULL;
		hv_conn_end(c, -ETIMEDOUT);
		conn_unref(c);
	}
}

int hv_server_set_quotas(hv_server *s, uid_t uid, const hv_ipc_quotas *qs)
{
	struct hv_quota *q = hv_server_quota(s);
	if (uid == HV_IPC_ANY_UID) {
		q->any = qs ? *qs : (hv_ipc_quotas){0};
	} else {
		unsigned i = 0;
		while (i < q->nuids && q->uids[i].uid != uid)
			i++;
		if (i == q->nuids) {
			struct uid_quotas *t = reallocarray(q->uids, q->nuids + 1, sizeof(*t));
			if (!t)
				return -ENOMEM;
			q->uids = t;
			q->nuids++;
		}
		q->uids[i] = (struct uid_quotas){.uid = uid, .none = !qs, .q = qs ? *qs : (hv_ipc_quotas){0}};
	}
	/* Open connections: from their next charge on. */
	for (struct hv_ipc_account *a = q->accounts; a; a = a->next)
		a->q = quotas_of(q, a->uid);
	return 0;
}

void hv_server_set_total_quotas(hv_server *s, const hv_ipc_quotas *qs)
{
	struct hv_quota *q = hv_server_quota(s);
	q->total = *qs;
	hv_server_set_max_connections(s, qs->connections ? qs->connections : UINT_MAX);
}

void hv_server_set_frame_deadline(hv_server *s, int ms)
{
	struct hv_quota *q = hv_server_quota(s);
	q->frame_deadline_ms = ms > 0 ? ms : 0;
	watchdog_update(q, true);
}

void hv_server_set_idle_timeout(hv_server *s, int ms)
{
	struct hv_quota *q = hv_server_quota(s);
	q->idle_timeout_ms = ms > 0 ? ms : 0;
	watchdog_update(q, true);
}
