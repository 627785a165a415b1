/* LookupServer.c — the handlers of LookupServer.ipc and the resolver behind
 * them. Sources, in order: the hosts file (hosts.c), our cache (cache.c),
 * then libunbound, which does the DNS work (retries, failover between
 * nameservers, TCP after truncation, DNSSEC validation) on its own thread;
 * its results come back through ub_fd(), watched by the service's loop.
 * A lookup that must wait holds its IPC call and answers when the last of
 * its types is in, or when its deadline passes. */
#include "LookupServer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unbound.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/util.h>

#include "cache.h"
#include "dns.h"
#include "hosts.h"

#define LKS_MAX_ADDRS 64       /* hosts-file addresses in one answer */
#define LKS_MAX_NAMESERVERS 16
#define LKS_ROOT_KEY "/usr/share/dns/root.key" /* Debian's dns-root-data */

struct query;

/* One client request, held while some of its types are being resolved. */
struct job {
	hv_call *call;
	bool reverse; /* lookup_address: one answer */
	size_t n, pending;
	lookup_server_answer *answers;
	hv_timer *timer;
	struct query **queries; /* [n]; NULL for types answered at once */
};

/* One (name, type) at libunbound. */
struct query {
	struct job *job;
	size_t idx;
	int ub_id;
	uint16_t type;
	struct query *prev, *next; /* every query in flight, for flush */
	char name[LKS_NAME_MAX + 2];
};

static struct lks {
	hv_loop *loop;
	struct lks_config cfg;
	char fwd[LKS_MAX_NAMESERVERS][64]; /* "IP@PORT" */
	unsigned ports[LKS_MAX_NAMESERVERS];
	size_t nfwd;
	struct ub_ctx *ub;
	hv_watch *ub_watch;
	lks_cache *cache;
	lks_hosts *hosts;
	struct query *inflight;
	lookup_server_counters stats;
} S;

/* --- libunbound ------------------------------------------------------- */

/* "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 → unbound's "IP@PORT". */
static int parse_nameserver(const char *arg, char *out, size_t size, unsigned *port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *p = NULL;
	unsigned char a[16];
	*port = 53;
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (!end || (size_t)(end - arg - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(end - arg - 1), arg + 1);
		p = end[1] == ':' ? end + 2 : (end[1] ? "" : NULL);
	} else if (inet_pton(AF_INET6, arg, a) == 1) {
		snprintf(host, sizeof(host), "%s", arg);
	} else {
		const char *colon = strchr(arg, ':');
		size_t hl = colon ? (size_t)(colon - arg) : strlen(arg);
		if (hl >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)hl, arg);
		p = colon ? colon + 1 : NULL;
	}
	if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
		return -EINVAL;
	if (p) {
		uint64_t v;
		if (hv_parse_u64(p, 65535, &v) < 0 || v == 0)
			return -EINVAL;
		*port = (unsigned)v;
	}
	snprintf(out, size, "%s@%u", host, *port);
	return 0;
}

static void on_ub_fd(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	int r = ub_process(S.ub);
	if (r != 0)
		hv_log_error("LookupServer: ub_process: %s", ub_strerror(r));
}

static int ub_set(struct ub_ctx *ub, const char *opt, const char *val)
{
	int r = ub_ctx_set_option(ub, opt, val);
	if (r != 0)
		hv_log_error("LookupServer: libunbound option %s %s: %s", opt, val, ub_strerror(r));
	return r ? -EINVAL : 0;
}

/* A libunbound context as configured; its thread starts with the first
 * query (after the sandbox is in place). */
static int make_ctx(struct ub_ctx **out)
{
	struct ub_ctx *ub = ub_ctx_create();
	if (!ub)
		return -ENOMEM;
	int r = ub_ctx_async(ub, 1);
	/* Nameservers on loopback (a local forwarder, the tests') are allowed. */
	if (!r)
		r = ub_set(ub, "do-not-query-localhost:", "no");
	for (size_t i = 0; !r && i < S.nfwd; i++)
		if ((r = ub_ctx_set_fwd(ub, S.fwd[i])) != 0)
			hv_log_error("LookupServer: nameserver %s: %s", S.fwd[i], ub_strerror(r));
	if (!r && !S.nfwd && (r = ub_ctx_resolvconf(ub, S.cfg.resolv_conf)) != 0)
		hv_log_error("LookupServer: %s: %s", S.cfg.resolv_conf, ub_strerror(r));
	const char *ta = S.cfg.trust_anchor;
	if (!ta && access(LKS_ROOT_KEY, R_OK) == 0)
		ta = LKS_ROOT_KEY;
	if (!r && ta && (r = ub_ctx_add_ta_file(ub, ta)) != 0)
		hv_log_error("LookupServer: trust anchor %s: %s", ta, ub_strerror(r));
	/* libunbound answers special-use domains itself (RFC 6761: test.
	 * is NXDOMAIN; RFC 6303: private and documentation reverse zones).
	 * Those are for local nameservers to serve (a home router answers
	 * 168.192.in-addr.arpa.), so they are asked. localhost., invalid.,
	 * onion. and 127.in-addr.arpa. keep their fixed answers. (This
	 * finalizes the context: it comes after every option.) */
	static const char *const asked[] = {
		"test.", "home.arpa.", "10.in-addr.arpa.", "168.192.in-addr.arpa.",
		"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
		"d.f.ip6.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.",
	};
	for (int i = 16; !r && i < 32; i++) {
		char z[32];
		snprintf(z, sizeof(z), "%d.172.in-addr.arpa.", i);
		if ((r = ub_ctx_zone_remove(ub, z)) != 0)
			hv_log_error("LookupServer: cannot lift the local zone %s: %s", z, ub_strerror(r));
	}
	for (size_t i = 0; !r && i < HV_ARRAY_SIZE(asked); i++)
		if ((r = ub_ctx_zone_remove(ub, asked[i])) != 0)
			hv_log_error("LookupServer: cannot lift the local zone %s: %s", asked[i], ub_strerror(r));
	if (r) {
		ub_ctx_delete(ub);
		return -EINVAL;
	}
	*out = ub;
	return 0;
}

static int attach_ctx(struct ub_ctx *ub)
{
	hv_watch *w = NULL;
	int r = hv_loop_add_fd(S.loop, ub_fd(ub), HV_IO_READ, on_ub_fd, NULL, &w);
	if (r < 0)
		return r;
	hv_watch_free(S.ub_watch);
	S.ub_watch = w;
	S.ub = ub;
	return 0;
}

/* --- answers ---------------------------------------------------------- */

/* Names in rdata → wire form, for hosts-file PTR answers. */
static size_t name_to_wire(const char *name, uint8_t *out)
{
	size_t o = 0;
	while (*name && strcmp(name, ".")) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		out[o++] = (uint8_t)l;
		memcpy(out + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return o;
}

static void count_answer(const lookup_server_answer *a)
{
	S.stats.lookups++;
	if (a->status == LOOKUP_SERVER_STATUS_BOGUS)
		S.stats.bogus++;
	if (a->status > LOOKUP_SERVER_STATUS_NO_DATA)
		S.stats.failures++;
}

/* Fill *out from a cached (or just resolved) answer, with what is left of
 * its TTL. Memory from the call's arena. */
static int fill_answer(hv_call *call, lookup_server_answer *out, uint16_t type,
		       const struct lks_answer *a, uint64_t now, uint8_t source)
{
	uint64_t left = a->expires_ns > now ? (a->expires_ns - now) / 1000000000u : 0;
	*out = (lookup_server_answer){
		.type = type,
		.status = a->status,
		.validation = a->validation,
		.source = source,
		.canonical_name = hv_call_strdup(call, a->canonical_name ? a->canonical_name : ""),
		.why = hv_call_strdup(call, a->why ? a->why : ""),
		.ttl = (uint32_t)left,
	};
	if (!out->canonical_name || !out->why)
		return -ENOMEM;
	lookup_server_record *recs = a->count ? hv_call_calloc(call, a->count, sizeof(*recs)) : NULL;
	if (a->count && !recs)
		return -ENOMEM;
	char value[LKS_VALUE_MAX];
	size_t n = 0;
	for (size_t i = 0; i < a->count; i++) {
		/* A record we cannot show is left out, not shown wrong. */
		if (lks_rdata_format(a->rrs[i].type, a->rrs[i].data, a->rrs[i].len, value) < 0)
			continue;
		/* Copies: the reply may wait for other types, while the cache
		 * entry is evicted or libunbound's result freed. */
		uint8_t *rdata = hv_call_alloc(call, a->rrs[i].len ? a->rrs[i].len : 1);
		recs[n] = (lookup_server_record){
			.type = a->rrs[i].type,
			.ttl = (uint32_t)left,
			.value = hv_call_strdup(call, value),
			.rdata = {.data = rdata, .len = a->rrs[i].len},
		};
		if (!recs[n++].value || !rdata)
			return -ENOMEM;
		memcpy(rdata, a->rrs[i].data, a->rrs[i].len);
	}
	out->records.items = recs;
	out->records.count = n;
	count_answer(out);
	return 0;
}

/* An answer from the hosts file (TTL 0: it is read live). 1 when the hosts
 * file answers the question, 0 when DNS must. */
static int hosts_answer(hv_call *call, lookup_server_answer *out, const char *name, uint16_t type)
{
	if (!S.hosts || (type != LOOKUP_SERVER_RECORD_TYPE_A && type != LOOKUP_SERVER_RECORD_TYPE_AAAA))
		return 0;
	static uint8_t addrs[LKS_MAX_ADDRS][16];
	int known = 0;
	int family = type == LOOKUP_SERVER_RECORD_TYPE_A ? AF_INET : AF_INET6;
	size_t n = lks_hosts_find(S.hosts, name, family, addrs, LKS_MAX_ADDRS, &known);
	if (!known)
		return 0;
	/* Copies: the table may be reloaded before a held call is answered. */
	struct lks_rr rrs[LKS_MAX_ADDRS];
	for (size_t i = 0; i < n; i++) {
		rrs[i] = (struct lks_rr){.type = type, .len = family == AF_INET ? 4 : 16};
		rrs[i].data = hv_call_alloc(call, 16);
		if (!rrs[i].data)
			return -ENOMEM;
		memcpy(rrs[i].data, addrs[i], 16);
	}
	struct lks_answer a = {
		.status = n ? LOOKUP_SERVER_STATUS_OK : LOOKUP_SERVER_STATUS_NO_DATA,
		.validation = LOOKUP_SERVER_VALIDATION_INSECURE,
		.canonical_name = (char *)name,
		.count = n,
		.rrs = rrs,
	};
	S.stats.hosts_hits++;
	int r = fill_answer(call, out, type, &a, 0, LOOKUP_SERVER_SOURCE_HOSTS);
	return r < 0 ? r : 1;
}

/* libunbound's result → what we cache; err is libunbound's own error. */
static void convert_result(int err, struct ub_result *res, struct lks_answer *a, uint64_t now)
{
	*a = (struct lks_answer){.status = LOOKUP_SERVER_STATUS_OK, .expires_ns = now};
	if (err) {
		a->status = LOOKUP_SERVER_STATUS_SERVER_FAILURE;
		a->why = (char *)ub_strerror(err);
		return;
	}
	a->validation = res->secure ? LOOKUP_SERVER_VALIDATION_SECURE
			: res->bogus ? LOOKUP_SERVER_VALIDATION_BOGUS
				     : LOOKUP_SERVER_VALIDATION_INSECURE;
	a->canonical_name = res->canonname ? res->canonname : res->qname;
	if (res->bogus) {
		a->status = LOOKUP_SERVER_STATUS_BOGUS;
		a->why = res->why_bogus ? res->why_bogus : "DNSSEC validation failed";
		return; /* never the data of a bogus answer */
	}
	switch (res->rcode) {
	case 0: a->status = res->havedata ? LOOKUP_SERVER_STATUS_OK : LOOKUP_SERVER_STATUS_NO_DATA; break;
	case 3: a->status = LOOKUP_SERVER_STATUS_NO_SUCH_NAME; break;
	case 5: a->status = LOOKUP_SERVER_STATUS_REFUSED; a->why = "refused by the nameserver"; break;
	default: a->status = LOOKUP_SERVER_STATUS_SERVER_FAILURE; a->why = "no nameserver gave a usable answer"; break;
	}
	if (a->status <= LOOKUP_SERVER_STATUS_NO_DATA)
		a->expires_ns = now + (uint64_t)(res->ttl > 0 ? res->ttl : 0) * 1000000000u;
}

/* --- jobs ------------------------------------------------------------- */

static void inflight_unlink(struct query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		S.inflight = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static void job_respond(struct job *j)
{
	hv_timer_free(j->timer);
	if (j->reverse)
		lookup_server_lookup_address_respond(j->call, &(lookup_server_lookup_address_rep){.answer = j->answers[0]});
	else
		lookup_server_lookup_respond(j->call, &(lookup_server_lookup_rep){
			.answers = {.items = j->answers, .count = j->n}});
	free(j->queries);
	free(j);
}

static void on_ub_result(void *mydata, int err, struct ub_result *res)
{
	struct query *q = mydata;
	struct job *j = q->job;
	uint64_t now = hv_now_ns();
	struct lks_answer a;
	convert_result(err, res, &a, now);
	struct lks_rr *rrs = NULL;
	size_t n = 0;
	if (a.status == LOOKUP_SERVER_STATUS_OK) {
		for (; res->data[n]; n++)
			;
		rrs = calloc(n ? n : 1, sizeof(*rrs));
		for (size_t i = 0; rrs && i < n; i++)
			rrs[i] = (struct lks_rr){.type = q->type, .len = (uint16_t)res->len[i], .data = (uint8_t *)res->data[i]};
		a.rrs = rrs;
		a.count = rrs ? n : 0;
	}
	if (a.expires_ns > now && lks_cache_put(S.cache, q->name, q->type, &a) < 0)
		hv_log_warn("LookupServer: out of memory caching %s", q->name);
	if (fill_answer(j->call, &j->answers[q->idx], q->type, &a, now, LOOKUP_SERVER_SOURCE_NETWORK) < 0)
		j->answers[q->idx].status = LOOKUP_SERVER_STATUS_SERVER_FAILURE;
	free(rrs);
	ub_resolve_free(res);
	inflight_unlink(q);
	j->queries[q->idx] = NULL;
	free(q);
	if (--j->pending == 0)
		job_respond(j);
}

/* The deadline: what is still out is answered Timeout. */
static void on_job_timeout(hv_loop *loop, hv_timer *t, void *userdata)
{
	struct job *j = userdata;
	for (size_t i = 0; i < j->n; i++) {
		struct query *q = j->queries[i];
		if (!q)
			continue;
		ub_cancel(S.ub, q->ub_id);
		inflight_unlink(q);
		j->answers[i] = (lookup_server_answer){
			.type = q->type,
			.status = LOOKUP_SERVER_STATUS_TIMEOUT,
			.canonical_name = "",
			.why = "no answer within the deadline",
		};
		count_answer(&j->answers[i]);
		free(q);
		j->queries[i] = NULL;
	}
	j->pending = 0;
	j->timer = NULL; /* freed below by job_respond via hv_timer_free(t) */
	hv_timer_free(t);
	job_respond(j);
}

static int query_start(struct job *j, size_t idx, const char *name, uint16_t type)
{
	struct query *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->job = j;
	q->idx = idx;
	q->type = type;
	snprintf(q->name, sizeof(q->name), "%s", name);
	int r = ub_resolve_async(S.ub, q->name, type, 1 /* IN */, q, on_ub_result, &q->ub_id);
	if (r != 0) {
		free(q);
		return hv_log_errno(-EIO, "LookupServer: cannot start a query for %s: %s", name, ub_strerror(r));
	}
	q->next = S.inflight;
	if (S.inflight)
		S.inflight->prev = q;
	S.inflight = q;
	j->queries[idx] = q;
	j->pending++;
	S.stats.network_queries++;
	return 0;
}

/* Answer each type from the hosts file or the cache, or start its query.
 * 0: all answered (reply now); HV_IPC_DEFERRED: the call is held. */
static int job_run(hv_call *call, struct job *j, const char *name, const lookup_server_record_type *types)
{
	uint64_t now = hv_now_ns();
	for (size_t i = 0; i < j->n; i++) {
		int r = hosts_answer(call, &j->answers[i], name, types[i]);
		if (r != 0) {
			if (r < 0)
				return r;
			continue;
		}
		const struct lks_answer *c = lks_cache_get(S.cache, name, types[i], now);
		if (c) {
			S.stats.cache_hits++;
			if ((r = fill_answer(call, &j->answers[i], types[i], c, now, LOOKUP_SERVER_SOURCE_CACHE)) < 0)
				return r;
			continue;
		}
		S.stats.cache_misses++;
		if ((r = query_start(j, i, name, types[i])) < 0)
			return r;
	}
	if (!j->pending)
		return 0;
	int r = hv_loop_add_timer(S.loop, S.cfg.timeout_ms * 1000000u, 0, on_job_timeout, j, &j->timer);
	if (r < 0)
		return r;
	j->call = hv_call_hold(call);
	return HV_IPC_DEFERRED;
}

static struct job *job_new(hv_call *call, size_t n, bool reverse)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->n = n;
	j->reverse = reverse;
	j->answers = hv_call_calloc(call, n, sizeof(*j->answers));
	j->queries = calloc(n, sizeof(*j->queries));
	if (!j->answers || !j->queries) {
		free(j->queries);
		free(j);
		return NULL;
	}
	return j;
}

/* Queries already started when a later step failed are abandoned. */
static void job_abort(struct job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		if (!j->queries[i])
			continue;
		ub_cancel(S.ub, j->queries[i]->ub_id);
		inflight_unlink(j->queries[i]);
		free(j->queries[i]);
	}
	hv_timer_free(j->timer);
	free(j->queries);
	free(j);
}

/* --- handlers --------------------------------------------------------- */

static int on_lookup(hv_call *call, const lookup_server_lookup_req *req, lookup_server_lookup_rep *rep)
{
	char name[LKS_NAME_MAX + 2];
	const char *why;
	if (lks_name_check(req->name, name, &why) < 0)
		return lookup_server_error(call, LOOKUP_SERVER_ERR_INVALID_NAME, "%s", why);
	static const lookup_server_record_type both[] = {LOOKUP_SERVER_RECORD_TYPE_A, LOOKUP_SERVER_RECORD_TYPE_AAAA};
	const lookup_server_record_type *types = req->types.count ? req->types.items : both;
	size_t n = req->types.count ? req->types.count : 2;
	struct job *j = job_new(call, n, false);
	if (!j)
		return -ENOMEM;
	int r = job_run(call, j, name, types);
	if (r == HV_IPC_DEFERRED)
		return r;
	if (r == 0) {
		rep->answers.items = j->answers;
		rep->answers.count = n;
	}
	job_abort(j);
	return r;
}

static int on_lookup_address(hv_call *call, const lookup_server_lookup_address_req *req,
			     lookup_server_lookup_address_rep *rep)
{
	char name[LKS_REVERSE_NAME_SIZE];
	uint8_t a[16] = {0};
	if (lks_reverse_name(req->address, name) < 0)
		return lookup_server_error(call, LOOKUP_SERVER_ERR_INVALID_ADDRESS, "not an IPv4 or IPv6 address: %s", req->address);
	int family = inet_pton(AF_INET, req->address, a) == 1 ? AF_INET : AF_INET6;
	if (family == AF_INET6)
		inet_pton(AF_INET6, req->address, a);
	const char *host = S.hosts ? lks_hosts_reverse(S.hosts, family, a) : NULL;
	if (host) {
		uint8_t wire[LKS_NAME_MAX + 2];
		struct lks_rr rr = {.type = LOOKUP_SERVER_RECORD_TYPE_PTR, .data = wire};
		rr.len = (uint16_t)name_to_wire(host, wire);
		struct lks_answer ans = {.canonical_name = name, .count = 1, .rrs = &rr};
		S.stats.hosts_hits++;
		return fill_answer(call, &rep->answer, rr.type, &ans, 0, LOOKUP_SERVER_SOURCE_HOSTS);
	}
	static const lookup_server_record_type ptr[] = {LOOKUP_SERVER_RECORD_TYPE_PTR};
	struct job *j = job_new(call, 1, true);
	if (!j)
		return -ENOMEM;
	int r = job_run(call, j, name, ptr);
	if (r == HV_IPC_DEFERRED)
		return r;
	if (r == 0)
		rep->answer = j->answers[0];
	job_abort(j);
	return r;
}

static int on_stats(hv_call *call, const lookup_server_stats_req *req, lookup_server_stats_rep *rep)
{
	rep->counters = S.stats;
	rep->counters.cache_entries = lks_cache_count(S.cache);
	rep->counters.cache_capacity = lks_cache_capacity(S.cache);
	rep->counters.hosts_entries = S.hosts ? lks_hosts_count(S.hosts) : 0;
	rep->counters.hosts_reloads = S.hosts ? lks_hosts_reloads(S.hosts) : 0;
	rep->counters.nameservers = (uint32_t)S.nfwd;
	return 0;
}

/* libunbound keeps a cache of its own, with no call to empty it: a flush
 * replaces the context, and the queries in flight move to the new one. */
static int on_flush(hv_call *call, const lookup_server_flush_req *req, lookup_server_flush_rep *rep)
{
	struct ub_ctx *ub = NULL;
	int r = make_ctx(&ub);
	if (r < 0)
		return hv_call_fail(call, r, "cannot make a new resolver context");
	struct ub_ctx *old = S.ub;
	if ((r = attach_ctx(ub)) < 0) {
		ub_ctx_delete(ub);
		return r;
	}
	for (struct query *q = S.inflight; q; q = q->next) {
		ub_cancel(old, q->ub_id);
		if (ub_resolve_async(ub, q->name, q->type, 1, q, on_ub_result, &q->ub_id) != 0)
			hv_log_error("LookupServer: flush lost the query for %s", q->name);
	}
	ub_ctx_delete(old);
	lks_cache_flush(S.cache);
	return 0;
}

const lookup_server_handlers lks_handlers =
	LOOKUP_SERVER_HANDLERS(on_lookup, on_lookup_address, on_stats, on_flush);

/* --- life ------------------------------------------------------------- */

int lks_open(hv_server *srv, const struct lks_config *cfg)
{
	S.loop = hv_server_loop(srv);
	S.cfg = *cfg;
	for (const char *const *ns = cfg->nameservers; ns && *ns; ns++) {
		if (S.nfwd == LKS_MAX_NAMESERVERS)
			return hv_log_errno(-E2BIG, "LookupServer: more than %d nameservers", LKS_MAX_NAMESERVERS);
		if (parse_nameserver(*ns, S.fwd[S.nfwd], sizeof(S.fwd[0]), &S.ports[S.nfwd]) < 0)
			return hv_log_errno(-EINVAL, "LookupServer: bad nameserver %s (IP[:PORT])", *ns);
		S.nfwd++;
	}
	int r = lks_cache_new(cfg->cache_size, &S.cache);
	if (r < 0)
		return r;
	if (cfg->hosts && (r = lks_hosts_open(S.loop, cfg->hosts, NULL, NULL, &S.hosts)) < 0)
		return r;
	struct ub_ctx *ub = NULL;
	if ((r = make_ctx(&ub)) < 0)
		return r;
	if ((r = attach_ctx(ub)) < 0) {
		ub_ctx_delete(ub);
		return r;
	}
	hv_server_set_userdata(srv, &S);
	return 0;
}

void lks_close(int exit_code)
{
	/* Held calls are gone with the server; their queries go with the
	 * context (its callbacks never run again). */
	while (S.inflight) {
		struct query *q = S.inflight;
		struct job *j = q->job;
		inflight_unlink(q);
		free(q);
		if (--j->pending == 0) {
			hv_timer_free(j->timer);
			free(j->queries);
			free(j);
		}
	}
	if (S.ub)
		ub_ctx_delete(S.ub);
	hv_watch_free(S.ub_watch);
	lks_hosts_free(S.hosts);
	lks_cache_free(S.cache);
}

size_t lks_nameserver_ports(unsigned *ports, size_t max)
{
	if (!S.nfwd && max) { /* resolv.conf has no ports: DNS's own */
		ports[0] = 53;
		return 1;
	}
	size_t n = HV_MIN(max, S.nfwd);
	memcpy(ports, S.ports, n * sizeof(*ports));
	return n;
}
