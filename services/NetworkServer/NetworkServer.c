/* NetworkServer.c — the handlers of NetworkServer.ipc, one per message,
 * and the events of NetworkClient.ipc. A change is made in the kernel
 * first (its answer decides the reply's error), then written to the
 * Network domain; the reply waits for ConfigServer's answer without
 * blocking the loop (the call is held) and says whether it was kept. */
#include "NetworkServer.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <haven/log.h>

#include "NetworkClient.ipc.h"

/* linux/if.h has it, but clashes with net/if.h. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

nws_service nws;

/* --- the model as the protocol's structs --------------------------------- */
/* Where a struct's strings and arrays live: a reply's in its call's
 * arena, an event's (no call) in blocks freed once it is sent. */
typedef struct arena {
	hv_call *call;
	void **blocks;
	size_t n;
} arena;

static void *arena_alloc(arena *a, size_t size)
{
	if (a->call)
		return hv_call_calloc(a->call, 1, size ? size : 1);
	void **v = realloc(a->blocks, (a->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	a->blocks = v;
	void *p = calloc(1, size ? size : 1);
	if (p)
		a->blocks[a->n++] = p;
	return p;
}

static void arena_free(arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	*a = (arena){0};
}

static char *dup_in(arena *a, const char *s)
{
	char *p = arena_alloc(a, strlen(s) + 1);
	return p ? strcpy(p, s) : NULL;
}

static int fill_addr(arena *call, const nws_addr *a, uint64_t seen, uint64_t now,
		     network_server_address *out)
{
	char text[64];
	nws_addr_format(a->family, a->addr, text, sizeof text);
	*out = (network_server_address){
		.family = a->family, .prefix = a->prefix, .scope = a->scope, .flags = a->flags,
		.valid_lifetime = nws_lifetime_left(a->valid, seen, now),
		.preferred_lifetime = nws_lifetime_left(a->preferred, seen, now),
	};
	out->address = dup_in(call, text);
	return out->address ? 0 : -ENOMEM;
}

static int fill_route(arena *call, const nws_route *rt, network_server_route *out)
{
	char dst[64] = "default", gw[64] = "";
	if (rt->dst_len)
		nws_addr_format(rt->family, rt->dst, dst, sizeof dst);
	if (rt->has_gw)
		nws_addr_format(rt->family, rt->gw, gw, sizeof gw);
	const nws_iface *f = rt->oif ? nws_state_find(&nws.state, rt->oif) : NULL;
	*out = (network_server_route){
		.family = rt->family, .prefix = rt->dst_len, .interface_index = rt->oif,
		.table = rt->table, .metric = rt->metric, .protocol = rt->protocol,
		.scope = rt->scope, .type = rt->type,
	};
	out->destination = dup_in(call, dst);
	out->gateway = dup_in(call, gw);
	out->interface = dup_in(call, f ? f->link.name : "");
	return out->destination && out->gateway && out->interface ? 0 : -ENOMEM;
}

static void mac_text(const nws_link *l, char *buf)
{
	size_t n = 0;
	for (size_t i = 0; i < l->mac_len; i++)
		n += (size_t)sprintf(buf + n, "%s%02x", i ? ":" : "", l->mac[i]);
	buf[n] = '\0';
}

static int iface_fill(arena *call, const nws_iface *f, network_server_interface *out)
{
	uint64_t now = hv_now_ns();
	char mac[NWS_MAC_MAX * 3 + 1];
	mac_text(&f->link, mac);
	const nws_config *c = nws_config_get(f->link.name, false);
	*out = (network_server_interface){
		.index = f->link.index, .mtu = f->link.mtu,
		.up = f->link.flags & IFF_UP, .carrier = f->link.flags & IFF_LOWER_UP,
		.state = f->link.operstate <= 6 ? f->link.operstate : 0,
		.dhcp = c && c->dhcp,
	};
	out->name = dup_in(call, f->link.name);
	out->mac = dup_in(call, mac);
	if (!out->name || !out->mac)
		return -ENOMEM;
	network_server_address *a = arena_alloc(call, f->naddrs * sizeof(*a));
	if (!a)
		return -ENOMEM;
	out->addresses = (hv_vec_network_server_address){.items = a, .count = f->naddrs};
	for (size_t i = 0; i < f->naddrs; i++)
		if (fill_addr(call, &f->addrs[i], f->addr_seen_ns[i], now, &a[i]) < 0)
			return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < nws.state.nroutes; i++)
		n += nws.state.routes[i].oif == f->link.index;
	network_server_route *r = arena_alloc(call, n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	out->routes = (hv_vec_network_server_route){.items = r, .count = n};
	for (size_t i = 0, k = 0; i < nws.state.nroutes; i++)
		if (nws.state.routes[i].oif == f->link.index && fill_route(call, &nws.state.routes[i], &r[k++]) < 0)
			return -ENOMEM;
	return 0;
}

/* --- reading -------------------------------------------------------------- */
/* Anyone may read; changing the network is for root and the service's
 * own uid (the socket is the service's, and reachable by every user). */
static int check_admin(hv_call *call)
{
	const struct ucred *peer = hv_call_peer(call);
	if (peer && (peer->uid == 0 || peer->uid == getuid()))
		return 0;
	return hv_call_fail(call, -EPERM, "changing the network is for root (uid %u may only read it)",
			    peer ? (unsigned)peer->uid : 0u);
}

/* The interface a change names, once the caller may change it. */
static int find_target(hv_call *call, const char *name, nws_iface **out)
{
	int r = check_admin(call);
	if (r < 0)
		return r;
	*out = nws_state_find_name(&nws.state, name);
	if (!*out)
		return network_server_error(call, NETWORK_SERVER_ERR_NO_SUCH_INTERFACE,
					    "no interface named \"%s\"", name);
	return 0;
}

static int find_iface(hv_call *call, const char *name, nws_iface **out)
{
	*out = nws_state_find_name(&nws.state, name);
	if (!*out)
		return network_server_error(call, NETWORK_SERVER_ERR_NO_SUCH_INTERFACE,
					    "no interface named \"%s\"", name);
	return 0;
}

static int on_list(hv_call *call, const network_server_list_req *req, network_server_list_rep *rep)
{
	arena a = {.call = call};
	network_server_interface *v = arena_alloc(&a, nws.state.n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < nws.state.n; i++)
		if (iface_fill(&a, &nws.state.ifaces[i], &v[i]) < 0)
			return -ENOMEM;
	rep->interfaces = (hv_vec_network_server_interface){.items = v, .count = nws.state.n};
	return 0;
}

static int on_get(hv_call *call, const network_server_get_req *req, network_server_get_rep *rep)
{
	nws_iface *f;
	int r = find_iface(call, req->name, &f);
	arena a = {.call = call};
	return r < 0 ? r : iface_fill(&a, f, &rep->interface);
}

static int on_dns_servers(hv_call *call, const network_server_dns_servers_req *req,
			  network_server_dns_servers_rep *rep)
{
	const hv_strv *l = nws_dns_servers();
	rep->servers = (hv_vec_string){.items = (const char **)l->v, .count = l->n};
	return 0;
}

static int on_subscribe(hv_call *call, const network_server_subscribe_req *req,
			network_server_subscribe_rep *rep)
{
	((nws_client *)hv_call_state(call))->subscribed = true;
	return 0;
}

/* --- changing --------------------------------------------------------------- */
/* The kernel's refusal as the reply: its errno's words, with what was asked. */
static int kernel_fail(hv_call *call, int r, const char *what)
{
	return network_server_error(call, NETWORK_SERVER_ERR_KERNEL_REFUSED, "%s: %s", what, strerror(-r));
}

/* Each set message's reply is {bool persisted}; the held call is answered
 * once ConfigServer has (or could not). */
typedef int (*respond_fn)(hv_call *call, bool persisted);
#define RESPONDER(msg)                                                                             \
	static int respond_##msg(hv_call *call, bool persisted)                                    \
	{                                                                                          \
		network_server_##msg##_rep rep = {.persisted = persisted};                         \
		return network_server_##msg##_respond(call, &rep);                                 \
	}
RESPONDER(set_up)
RESPONDER(set_mtu)
RESPONDER(add_address)
RESPONDER(del_address)
RESPONDER(add_route)
RESPONDER(del_route)
RESPONDER(set_dhcp)

typedef struct held {
	hv_call *call;
	respond_fn respond;
} held;

static void on_persisted(bool persisted, void *ud)
{
	held *h = ud;
	h->respond(h->call, persisted);
	free(h);
}

static int persist(hv_call *call, const nws_config *c, const char *key, respond_fn respond)
{
	held *h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	*h = (held){hv_call_hold(call), respond};
	nws_config_persist(c, key, on_persisted, h);
	return HV_IPC_DEFERRED;
}

static int on_set_up(hv_call *call, const network_server_set_up_req *req, network_server_set_up_rep *rep)
{
	nws_iface *f;
	int r = find_target(call, req->name, &f);
	if (r < 0)
		return r;
	if ((r = nws_kernel_set_up(f->link.index, req->up)) < 0)
		return kernel_fail(call, r, req->up ? "up" : "down");
	nws_config *c = nws_config_get(req->name, true);
	if (!c)
		return -ENOMEM;
	c->up = req->up;
	return persist(call, c, NWS_KEY_UP, respond_set_up);
}

/* 68: the least an IPv4 link must carry (RFC 791); 65535: IFLA_MTU's
 * practical ceiling (the device may allow less: the kernel says). */
#define NWS_MTU_MIN 68u
#define NWS_MTU_MAX 65535u

static int on_set_mtu(hv_call *call, const network_server_set_mtu_req *req, network_server_set_mtu_rep *rep)
{
	nws_iface *f;
	int r = find_target(call, req->name, &f);
	if (r < 0)
		return r;
	if (req->mtu < NWS_MTU_MIN || req->mtu > NWS_MTU_MAX)
		return network_server_error(call, NETWORK_SERVER_ERR_INVALID_MTU, "MTU %u is not within %u..%u",
					    req->mtu, NWS_MTU_MIN, NWS_MTU_MAX);
	if ((r = nws_kernel_set_mtu(f->link.index, req->mtu)) < 0)
		return kernel_fail(call, r, "mtu");
	nws_config *c = nws_config_get(req->name, true);
	if (!c)
		return -ENOMEM;
	c->mtu = req->mtu;
	return persist(call, c, NWS_KEY_MTU, respond_set_mtu);
}

static int bad_address(hv_call *call, int r, const char *text)
{
	return network_server_error(call, NETWORK_SERVER_ERR_INVALID_ADDRESS,
				    r == -ERANGE ? "\"%s\": the prefix must be /0../32 (IPv4) or /0../128 (IPv6)"
						 : "\"%s\" is not an IPv4 or IPv6 address",
				    text);
}

/* Add or remove s in list; true when that changed it. */
static bool edit_list(hv_strv *list, const char *s, bool add)
{
	bool had = hv_strv_contains(list, s);
	if (add && !had)
		return hv_strv_push(list, s) == 0;
	if (!add && had) {
		size_t k = 0;
		for (size_t i = 0; i < list->n; i++)
			if (strcmp(list->v[i], s))
				list->v[k++] = list->v[i];
			else
				free(list->v[i]);
		list->n = k;
		list->v[k] = NULL;
	}
	return had != add;
}

static int change_address(hv_call *call, const char *name, const char *text, bool add, respond_fn respond)
{
	nws_iface *f;
	int r = find_target(call, name, &f);
	if (r < 0)
		return r;
	nws_prefix p;
	if ((r = nws_prefix_parse(text, true, &p)) < 0)
		return bad_address(call, r, text);
	if ((r = nws_kernel_address(f->link.index, &p, add)) < 0)
		return kernel_fail(call, r, text);
	nws_config *c = nws_config_get(name, true);
	if (!c)
		return -ENOMEM;
	char canon[NWS_TEXT_MAX];
	nws_prefix_format(&p, canon);
	edit_list(&c->addresses, canon, add);
	return persist(call, c, NWS_KEY_ADDRESSES, respond);
}

static int on_add_address(hv_call *call, const network_server_add_address_req *req,
			  network_server_add_address_rep *rep)
{
	return change_address(call, req->name, req->address, true, respond_add_address);
}

static int on_del_address(hv_call *call, const network_server_del_address_req *req,
			  network_server_del_address_rep *rep)
{
	return change_address(call, req->name, req->address, false, respond_del_address);
}

static int change_route(hv_call *call, const char *name, const char *dst, const char *gw, uint32_t metric,
			bool add, respond_fn respond)
{
	nws_iface *f;
	int r = find_target(call, name, &f);
	if (r < 0)
		return r;
	nws_route_spec rs;
	if ((r = nws_route_parse(dst, gw, metric, &rs)) < 0)
		return network_server_error(call, NETWORK_SERVER_ERR_INVALID_ROUTE,
					    r == -ERANGE ? "\"%s\": the prefix must be /0../32 or /0../128"
							 : "\"%s\" via \"%s\": not addresses of one family",
					    dst, gw);
	char canon[NWS_TEXT_MAX];
	nws_route_format(&rs, canon);
	if ((r = nws_kernel_route(f->link.index, &rs, add)) < 0)
		return kernel_fail(call, r, canon);
	nws_config *c = nws_config_get(name, true);
	if (!c)
		return -ENOMEM;
	edit_list(&c->routes, canon, add);
	return persist(call, c, NWS_KEY_ROUTES, respond);
}

static int on_add_route(hv_call *call, const network_server_add_route_req *req, network_server_add_route_rep *rep)
{
	return change_route(call, req->name, req->destination, req->gateway, req->metric, true, respond_add_route);
}

static int on_del_route(hv_call *call, const network_server_del_route_req *req, network_server_del_route_rep *rep)
{
	return change_route(call, req->name, req->destination, req->gateway, req->metric, false, respond_del_route);
}

static int on_set_dhcp(hv_call *call, const network_server_set_dhcp_req *req, network_server_set_dhcp_rep *rep)
{
	nws_iface *f;
	int r = find_target(call, req->name, &f);
	if (r < 0)
		return r;
	if ((r = nws_dhcp_set(req->name, req->enabled)) == -ENOTSUP)
		return network_server_error(call, NETWORK_SERVER_ERR_DHCP_UNAVAILABLE,
					    "no DHCPClient to start for %s", req->name);
	if (r < 0)
		return hv_call_fail(call, r, "DHCP on %s: %s", req->name, strerror(-r));
	nws_config *c = nws_config_get(req->name, true);
	if (!c)
		return -ENOMEM;
	c->dhcp = req->enabled;
	return persist(call, c, NWS_KEY_DHCP, respond_set_dhcp);
}

const network_server_handlers nws_handlers = NETWORK_SERVER_HANDLERS(
	on_list, on_get, on_set_up, on_set_mtu, on_add_address, on_del_address, on_add_route,
	on_del_route, on_set_dhcp, on_dns_servers, on_subscribe);

/* --- events ------------------------------------------------------------------ */
typedef struct event {
	const nws_msg *m;
	int change;
	network_server_interface iface;
	network_server_address addr;
	network_server_route route;
	const char *name;
} event;

static int send_event(hv_conn *conn, void *ud)
{
	event *e = ud;
	const nws_client *cl = hv_conn_userdata(conn);
	if (!cl || !cl->subscribed)
		return 0;
	int r = 0;
	bool removed = e->change == NWS_REMOVED;
	switch (e->m->kind) {
	case NWS_MSG_LINK:
		r = removed ? network_client_link_removed(conn, e->m->link.index, e->m->link.name)
			    : network_client_link_changed(conn, e->iface);
		break;
	case NWS_MSG_ADDR:
		r = removed ? network_client_address_removed(conn, e->m->addr.index, e->name, e->addr)
			    : network_client_address_added(conn, e->m->addr.index, e->name, e->addr);
		break;
	case NWS_MSG_ROUTE:
		r = removed ? network_client_route_removed(conn, e->route) : network_client_route_added(conn, e->route);
		break;
	}
	if (r < 0)
		hv_log_warn("cannot send an event to a subscriber: %s", strerror(-r));
	return 0;
}

void nws_announce(const nws_msg *m, nws_change change, void *userdata)
{
	_hv_cleanup_(arena_free) arena a = {0};
	event e = {.m = m, .change = change};
	const nws_iface *f = NULL;
	int r = 0;
	switch (m->kind) {
	case NWS_MSG_LINK:
		if (change != NWS_REMOVED && (f = nws_state_find(&nws.state, m->link.index)))
			r = iface_fill(&a, f, &e.iface);
		if (change == NWS_ADDED && f)
			nws_config_link_added(f->link.name);
		break;
	case NWS_MSG_ADDR:
		f = nws_state_find(&nws.state, m->addr.index);
		e.name = f ? f->link.name : "";
		r = fill_addr(&a, &m->addr, hv_now_ns(), hv_now_ns(), &e.addr);
		break;
	case NWS_MSG_ROUTE:
		r = fill_route(&a, &m->route, &e.route);
		break;
	}
	if (r < 0) {
		hv_log_errno(r, "Failed to describe a change to subscribers");
		return;
	}
	hv_server_foreach(nws.srv, send_event, &e);
}
