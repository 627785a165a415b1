/* state.c — the model of links, addresses and routes (state.h). Small
 * arrays: a machine has a handful of interfaces, each a handful of
 * addresses; lookups are linear and changes rare. */
#include "state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

nws_iface *nws_state_find(const nws_state *s, uint32_t index)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ifaces[i].link.index == index)
			return &s->ifaces[i];
	return NULL;
}

nws_iface *nws_state_find_name(const nws_state *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->ifaces[i].link.name, name))
			return &s->ifaces[i];
	return NULL;
}

uint32_t nws_lifetime_left(uint32_t reported, uint64_t seen_ns, uint64_t now_ns)
{
	if (reported == NWS_FOREVER)
		return reported;
	uint64_t gone = now_ns > seen_ns ? (now_ns - seen_ns) / 1000000000u : 0;
	return gone >= reported ? 0 : reported - (uint32_t)gone;
}

static void iface_free(nws_iface *f)
{
	free(f->addrs);
	free(f->addr_seen_ns);
}

static bool same_addr(const nws_addr *a, const nws_addr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       !memcmp(a->addr, b->addr, nws_family_len(a->family));
}

/* The kernel's identity of a route: table, family, destination, metric
 * (and type); the gateway and device are what it points at. We also keep
 * the device: the same prefix on two links is two routes for a person. */
static bool same_route(const nws_route *a, const nws_route *b)
{
	return a->family == b->family && a->dst_len == b->dst_len && a->table == b->table &&
	       a->metric == b->metric && a->oif == b->oif &&
	       !memcmp(a->dst, b->dst, nws_family_len(a->family));
}

static int apply_link(nws_state *s, nws_msg *m)
{
	nws_iface *f = nws_state_find(s, m->link.index);
	if (m->del) {
		if (!f)
			return NWS_NONE;
		memcpy(m->link.name, f->link.name, sizeof m->link.name);
		uint32_t index = f->link.index;
		iface_free(f);
		size_t at = (size_t)(f - s->ifaces);
		memmove(f, f + 1, (s->n - at - 1) * sizeof(*f));
		s->n--;
		size_t k = 0;
		for (size_t i = 0; i < s->nroutes; i++)
			if (s->routes[i].oif != index)
				s->routes[k++] = s->routes[i];
		s->nroutes = k;
		return NWS_REMOVED;
	}
	if (!m->link.name[0])
		/* A notification without the name keeps the one we know. */
		memcpy(m->link.name, f ? f->link.name : "?", f ? sizeof m->link.name : 2);
	if (f) {
		if (!memcmp(&f->link, &m->link, sizeof(f->link)))
			return NWS_NONE;
		f->link = m->link;
		return NWS_CHANGED;
	}
	nws_iface *v = realloc(s->ifaces, (s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->ifaces = v;
	size_t at = 0;
	while (at < s->n && s->ifaces[at].link.index < m->link.index)
		at++;
	memmove(&s->ifaces[at + 1], &s->ifaces[at], (s->n - at) * sizeof(*v));
	s->ifaces[at] = (nws_iface){.link = m->link};
	s->n++;
	return NWS_ADDED;
}

static int apply_addr(nws_state *s, const nws_msg *m, uint64_t now_ns)
{
	nws_iface *f = nws_state_find(s, m->addr.index);
	if (!f)
		return NWS_NONE; /* its link's message comes first; a dump race otherwise */
	size_t i = 0;
	while (i < f->naddrs && !same_addr(&f->addrs[i], &m->addr))
		i++;
	if (m->del) {
		if (i == f->naddrs)
			return NWS_NONE;
		memmove(&f->addrs[i], &f->addrs[i + 1], (f->naddrs - i - 1) * sizeof(*f->addrs));
		memmove(&f->addr_seen_ns[i], &f->addr_seen_ns[i + 1],
			(f->naddrs - i - 1) * sizeof(*f->addr_seen_ns));
		f->naddrs--;
		return NWS_REMOVED;
	}
	if (i < f->naddrs) {
		bool same = !memcmp(&f->addrs[i], &m->addr, sizeof(m->addr));
		f->addrs[i] = m->addr;
		f->addr_seen_ns[i] = now_ns;
		return same ? NWS_NONE : NWS_CHANGED;
	}
	nws_addr *v = realloc(f->addrs, (f->naddrs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	f->addrs = v;
	uint64_t *t = realloc(f->addr_seen_ns, (f->naddrs + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	f->addr_seen_ns = t;
	f->addrs[f->naddrs] = m->addr;
	f->addr_seen_ns[f->naddrs++] = now_ns;
	return NWS_ADDED;
}

static int apply_route(nws_state *s, const nws_msg *m)
{
	size_t i = 0;
	while (i < s->nroutes && !same_route(&s->routes[i], &m->route))
		i++;
	if (m->del) {
		if (i == s->nroutes)
			return NWS_NONE;
		memmove(&s->routes[i], &s->routes[i + 1], (s->nroutes - i - 1) * sizeof(*s->routes));
		s->nroutes--;
		return NWS_REMOVED;
	}
	if (i < s->nroutes) {
		bool same = !memcmp(&s->routes[i], &m->route, sizeof(m->route));
		s->routes[i] = m->route;
		return same ? NWS_NONE : NWS_CHANGED;
	}
	nws_route *v = realloc(s->routes, (s->nroutes + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->routes = v;
	s->routes[s->nroutes++] = m->route;
	return NWS_ADDED;
}

int nws_state_apply(nws_state *s, nws_msg *m, uint64_t now_ns)
{
	switch (m->kind) {
	case NWS_MSG_LINK: return apply_link(s, m);
	case NWS_MSG_ADDR: return apply_addr(s, m, now_ns);
	case NWS_MSG_ROUTE: return apply_route(s, m);
	}
	return -EINVAL;
}

void nws_state_clear(nws_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		iface_free(&s->ifaces[i]);
	free(s->ifaces);
	free(s->routes);
	*s = (nws_state){0};
}
