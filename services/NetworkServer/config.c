/* config.c — the desired configuration: ConfigServer's Network domain,
 * one group per interface name (keys in NetworkServer.h). Read at start
 * and followed (monitor_domain) on one connection whose every call is
 * asynchronous, so the loop never waits for ConfigServer: while it is
 * absent or restarting, the service keeps what it has and retries with a
 * growing delay (as conf_follow does for one key). A value is applied to
 * the kernel where the kernel differs: when it is read, when it changes,
 * and when its interface appears. */
#include "NetworkServer.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <haven/log.h>

#include "ConfigClient.ipc.h"
#include "ConfigServer.ipc.h"

#define RETRY_FIRST_MS 200u
#define RETRY_MAX_MS 30000u

struct nws_cfgconn {
	char *socket_path; /* NULL: the "config" portal */
	hv_conn *conn, *lost;
	hv_timer *retry;
	unsigned retry_ms;
	bool said_absent;
};

static const char *const keys[] = {NWS_KEY_UP, NWS_KEY_MTU, NWS_KEY_ADDRESSES, NWS_KEY_ROUTES, NWS_KEY_DHCP};

nws_config *nws_config_get(const char *name, bool create)
{
	for (size_t i = 0; i < nws.nconfigs; i++)
		if (!strcmp(nws.configs[i].name, name))
			return &nws.configs[i];
	if (!create || strlen(name) >= IFNAMSIZ)
		return NULL;
	nws_config *v = realloc(nws.configs, (nws.nconfigs + 1) * sizeof(*v));
	if (!v)
		return NULL;
	nws.configs = v;
	nws_config *c = &v[nws.nconfigs++];
	*c = (nws_config){.up = -1};
	strcpy(c->name, name);
	return c;
}

/* --- applying --------------------------------------------------------------- */
static bool has_addr(const nws_iface *f, const nws_prefix *p)
{
	for (size_t i = 0; i < f->naddrs; i++)
		if (f->addrs[i].family == p->family && f->addrs[i].prefix == p->len &&
		    !memcmp(f->addrs[i].addr, p->bytes, nws_family_len(p->family)))
			return true;
	return false;
}

static bool has_route(const nws_iface *f, const nws_route_spec *rs)
{
	for (size_t i = 0; i < nws.state.nroutes; i++) {
		const nws_route *r = &nws.state.routes[i];
		if (r->oif == f->link.index && r->family == rs->dst.family && r->dst_len == rs->dst.len &&
		    r->metric == rs->metric && !memcmp(r->dst, rs->dst.bytes, nws_family_len(r->family)))
			return true;
	}
	return false;
}

static void warn_failed(const nws_config *c, const char *what, int r)
{
	if (r < 0)
		hv_log_warn("%s: cannot apply %s from the %s domain: %s", c->name, what, NWS_DOMAIN,
			    strerror(-r));
}

void nws_config_apply(const nws_config *c)
{
	const nws_iface *f = nws_state_find_name(&nws.state, c->name);
	if (!f)
		return;
	uint32_t index = f->link.index;
	if (c->up >= 0 && !!(f->link.flags & IFF_UP) != c->up)
		warn_failed(c, NWS_KEY_UP, nws_kernel_set_up(index, c->up));
	if (c->mtu && c->mtu != f->link.mtu)
		warn_failed(c, NWS_KEY_MTU, nws_kernel_set_mtu(index, c->mtu));
	/* Addresses before routes: a gateway must be reachable first. The
	 * model is re-read each time (a change above may have moved it). */
	for (size_t i = 0; i < c->addresses.n; i++) {
		nws_prefix p;
		f = nws_state_find(&nws.state, index);
		if (f && nws_prefix_parse(c->addresses.v[i], true, &p) == 0 && !has_addr(f, &p))
			warn_failed(c, c->addresses.v[i], nws_kernel_address(index, &p, true));
	}
	for (size_t i = 0; i < c->routes.n; i++) {
		nws_route_spec rs;
		f = nws_state_find(&nws.state, index);
		if (f && nws_route_parse_line(c->routes.v[i], &rs) == 0 && !has_route(f, &rs))
			warn_failed(c, c->routes.v[i], nws_kernel_route(index, &rs, true));
	}
	if (c->dhcp)
		warn_failed(c, NWS_KEY_DHCP, nws_dhcp_set(c->name, true));
}

void nws_config_link_added(const char *name)
{
	const nws_config *c = nws_config_get(name, false);
	if (c)
		nws_config_apply(c);
}

/* --- values ------------------------------------------------------------------ */
/* A list value into canonical entries; bad entries are logged and left out. */
static void parse_list(const nws_config *c, const char *key, const char *value, hv_strv *out)
{
	bool routes = !strcmp(key, NWS_KEY_ROUTES);
	char *copy = strdup(value ? value : "");
	char *save = NULL;
	for (char *w = copy ? strtok_r(copy, routes ? "," : " \t", &save) : NULL; w;
	     w = strtok_r(NULL, routes ? "," : " \t", &save)) {
		w += strspn(w, " \t");
		char canon[NWS_TEXT_MAX];
		nws_prefix p;
		nws_route_spec rs;
		if (!routes && nws_prefix_parse(w, true, &p) == 0)
			nws_prefix_format(&p, canon);
		else if (routes && nws_route_parse_line(w, &rs) == 0)
			nws_route_format(&rs, canon);
		else {
			hv_log_warn("%s/%s/%s: \"%s\" is not a valid %s: ignored", NWS_DOMAIN, c->name, key, w,
				    routes ? "route (DEST [via GW] [metric N])" : "address (A/P)");
			continue;
		}
		hv_strv_push_unique(out, canon);
	}
	free(copy);
}

/* What a list lost is taken out of the kernel too (what it gained is
 * added by nws_config_apply). */
static void remove_dropped(const nws_config *c, const hv_strv *old, const hv_strv *now, bool routes)
{
	const nws_iface *f = nws_state_find_name(&nws.state, c->name);
	for (size_t i = 0; f && i < old->n; i++) {
		if (hv_strv_contains(now, old->v[i]))
			continue;
		nws_prefix p;
		nws_route_spec rs;
		if (!routes && nws_prefix_parse(old->v[i], true, &p) == 0)
			nws_kernel_address(f->link.index, &p, false);
		else if (routes && nws_route_parse_line(old->v[i], &rs) == 0)
			nws_kernel_route(f->link.index, &rs, false);
	}
}

static void bad_value(const nws_config *c, const char *key, const char *value)
{
	hv_log_warn("%s/%s/%s: \"%s\" is not a valid value: ignored", NWS_DOMAIN, c->name, key, value);
}

/* key = value (NULL: removed) in c. */
static void set_value(nws_config *c, const char *key, const char *value)
{
	bool b = false;
	uint64_t u = 0;
	if (!strcmp(key, NWS_KEY_UP)) {
		if (value && hv_parse_bool(value, &b) < 0)
			bad_value(c, key, value);
		c->up = value && hv_parse_bool(value, &b) == 0 ? b : -1;
	} else if (!strcmp(key, NWS_KEY_MTU)) {
		bool ok = value && hv_parse_u64(value, 65535, &u) == 0 && u >= 68;
		if (value && !ok)
			bad_value(c, key, value);
		c->mtu = ok ? (uint32_t)u : 0;
	} else if (!strcmp(key, NWS_KEY_DHCP)) {
		if (value && hv_parse_bool(value, &b) < 0)
			bad_value(c, key, value);
		bool was = c->dhcp;
		c->dhcp = value && b;
		if (was && !c->dhcp)
			nws_dhcp_set(c->name, false);
	} else if (!strcmp(key, NWS_KEY_ADDRESSES) || !strcmp(key, NWS_KEY_ROUTES)) {
		bool routes = key[0] == 'r';
		hv_strv *list = routes ? &c->routes : &c->addresses, now = {0};
		parse_list(c, key, value, &now);
		remove_dropped(c, list, &now, routes);
		hv_strv_clear(list);
		*list = now;
	}
}

static char *join(const hv_strv *l, const char *sep)
{
	size_t len = 1;
	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + strlen(sep);
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			strcat(s, sep);
		strcat(s, l->v[i]);
	}
	return s;
}

static char *value_of(const nws_config *c, const char *key)
{
	char *s = NULL;
	if (!strcmp(key, NWS_KEY_UP))
		s = strdup(c->up > 0 ? "true" : "false");
	else if (!strcmp(key, NWS_KEY_MTU) && asprintf(&s, "%u", c->mtu) < 0)
		s = NULL;
	else if (!strcmp(key, NWS_KEY_DHCP))
		s = strdup(c->dhcp ? "true" : "false");
	else if (!strcmp(key, NWS_KEY_ADDRESSES) || !strcmp(key, NWS_KEY_ROUTES)) {
		const hv_strv *l = key[0] == 'r' ? &c->routes : &c->addresses;
		s = join(l, key[0] == 'r' ? ", " : " ");
	}
	return s;
}

/* --- the connection ------------------------------------------------------------ */
static nws_cfgconn cfgc;

typedef struct pending_write {
	nws_persist_cb done;
	void *ud;
} pending_write;

static void on_written(hv_conn *c, int status, const config_server_write_string_value_rep *rep, void *ud)
{
	pending_write *w = ud;
	if (status < 0)
		hv_log_warn("ConfigServer did not keep a %s setting: %s", NWS_DOMAIN, hv_conn_strerror(c, status));
	w->done(status == 0, w->ud);
	free(w);
}

void nws_config_persist(const nws_config *c, const char *key, nws_persist_cb done, void *ud)
{
	char *value = value_of(c, key);
	pending_write *w = malloc(sizeof(*w));
	int r = -ENOTCONN;
	if (value && w && cfgc.conn) {
		*w = (pending_write){done, ud};
		r = config_server_write_string_value_async(cfgc.conn, NWS_DOMAIN, c->name, key, value, on_written, w);
	}
	free(value);
	if (r < 0) {
		free(w);
		done(false, ud);
	}
}

/* A group's values as they arrive: when all keys are in, apply. */
typedef struct group_read {
	char name[IFNAMSIZ];
	unsigned left;
} group_read;

typedef struct key_read {
	group_read *g;
	const char *key;
} key_read;

static void on_value(hv_conn *conn, int status, const config_server_read_string_value_rep *rep, void *ud)
{
	key_read *k = ud;
	group_read *g = k->g;
	nws_config *c = conn == cfgc.conn && status == 0 ? nws_config_get(g->name, true) : NULL;
	if (c)
		set_value(c, k->key, rep->value.present ? rep->value.value : NULL);
	if (--g->left == 0) {
		if (c)
			nws_config_apply(c);
		free(g);
	}
	free(k);
}

static void read_group(const char *name)
{
	if (strlen(name) >= IFNAMSIZ) {
		hv_log_warn("%s/%s: not an interface name (at most %d bytes): ignored", NWS_DOMAIN, name,
			    IFNAMSIZ - 1);
		return;
	}
	group_read *g = calloc(1, sizeof(*g));
	if (!g)
		return;
	strcpy(g->name, name);
	g->left = HV_ARRAY_SIZE(keys);
	for (size_t i = 0; i < HV_ARRAY_SIZE(keys); i++) {
		key_read *k = malloc(sizeof(*k));
		int r = k ? 0 : -ENOMEM;
		if (k) {
			*k = (key_read){g, keys[i]};
			r = config_server_read_string_value_async(cfgc.conn, NWS_DOMAIN, name, keys[i], on_value, k);
		}
		if (r < 0) {
			free(k);
			if (--g->left == 0)
				free(g);
		}
	}
}

static void on_groups(hv_conn *conn, int status, const config_server_list_config_groups_rep *rep, void *ud)
{
	if (conn != cfgc.conn || status < 0)
		return;
	cfgc.retry_ms = RETRY_FIRST_MS;
	cfgc.said_absent = false;
	for (size_t i = 0; i < rep->groups.count; i++)
		read_group(rep->groups.items[i]);
}

static void on_monitoring(hv_conn *conn, int status, const config_server_monitor_domain_rep *rep, void *ud)
{
	if (conn == cfgc.conn && status < 0)
		hv_log_warn("ConfigServer will not report changes to %s: %s", NWS_DOMAIN,
			    hv_conn_strerror(conn, status));
}

/* Changes made by others (`config`, a hand edit): our own writes are not
 * echoed. */
static void changed(const char *domain, const char *group, const char *key, const char *value)
{
	nws_config *c = strcmp(domain, NWS_DOMAIN) ? NULL : nws_config_get(group, true);
	if (!c)
		return;
	if (key)
		set_value(c, key, value);
	else
		for (size_t i = 0; i < HV_ARRAY_SIZE(keys); i++)
			set_value(c, keys[i], NULL);
	nws_config_apply(c);
}

static int on_changed_string(hv_call *call, const config_client_notify_changed_string_value_req *req)
{
	changed(req->domain, req->group, req->key, req->value);
	return 0;
}

static int on_changed_i32(hv_call *call, const config_client_notify_changed_i32_value_req *req)
{
	char v[16];
	snprintf(v, sizeof v, "%d", req->value);
	changed(req->domain, req->group, req->key, v);
	return 0;
}

static int on_changed_u32(hv_call *call, const config_client_notify_changed_u32_value_req *req)
{
	char v[16];
	snprintf(v, sizeof v, "%u", req->value);
	changed(req->domain, req->group, req->key, v);
	return 0;
}

static int on_changed_bool(hv_call *call, const config_client_notify_changed_bool_value_req *req)
{
	changed(req->domain, req->group, req->key, req->value ? "true" : "false");
	return 0;
}

static int on_removed_key(hv_call *call, const config_client_notify_removed_key_req *req)
{
	changed(req->domain, req->group, req->key, NULL);
	return 0;
}

static int on_removed_group(hv_call *call, const config_client_notify_removed_group_req *req)
{
	changed(req->domain, req->group, NULL, NULL);
	return 0;
}

static const config_client_handlers events = CONFIG_CLIENT_HANDLERS(
	on_changed_string, on_changed_i32, on_changed_u32, on_changed_bool, on_removed_key,
	on_removed_group, NULL);

static int connect_nonblocking(int *out)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int r = cfgc.socket_path ? (strlen(cfgc.socket_path) < sizeof path ? 0 : -ENAMETOOLONG)
				 : hv_portal_path("config", path, sizeof path);
	if (r < 0)
		return r;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, cfgc.socket_path ? cfgc.socket_path : path);
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* AF_UNIX completes at once or fails (EAGAIN: a full listen queue). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	*out = HV_TAKE_FD(fd);
	return 0;
}

static void schedule_retry(void)
{
	hv_timer_arm(cfgc.retry, (uint64_t)cfgc.retry_ms * 1000000u, 0);
	cfgc.retry_ms = HV_MIN(cfgc.retry_ms * 2, RETRY_MAX_MS);
}

static void on_gone(hv_conn *c, void *ud)
{
	hv_log_info("lost ConfigServer; the %s settings stay as they are until it is back", NWS_DOMAIN);
	cfgc.lost = c;
	cfgc.conn = NULL;
	schedule_retry();
}

static void drop(hv_conn **c)
{
	if (*c) {
		hv_conn_on_disconnect(*c, NULL, NULL);
		hv_conn *gone = *c;
		*c = NULL;
		hv_conn_close(gone);
	}
}

static int attempt(void)
{
	int fd = -1;
	int r = connect_nonblocking(&fd);
	if (r == 0)
		r = hv_conn_from_fd(nws.loop, fd, &cfgc.conn);
	if (r == 0 && (r = hv_conn_serve(cfgc.conn, &config_client_endpoint, &events)) == 0 &&
	    (r = config_server_monitor_domain_async(cfgc.conn, NWS_DOMAIN, on_monitoring, NULL)) == 0)
		r = config_server_list_config_groups_async(cfgc.conn, NWS_DOMAIN, on_groups, NULL);
	if (r < 0) {
		drop(&cfgc.conn);
		if (!cfgc.said_absent)
			hv_log_info("no ConfigServer (%s): the %s settings are not applied yet; retrying",
				    strerror(-r), NWS_DOMAIN);
		cfgc.said_absent = true;
		return r;
	}
	hv_conn_on_disconnect(cfgc.conn, on_gone, NULL);
	return 0;
}

static void on_retry(hv_loop *loop, hv_timer *t, void *ud)
{
	drop(&cfgc.lost);
	if (attempt() < 0)
		schedule_retry();
}

int nws_config_start(const char *socket_path)
{
	cfgc = (nws_cfgconn){.retry_ms = RETRY_FIRST_MS};
	if (socket_path && !(cfgc.socket_path = strdup(socket_path)))
		return -ENOMEM;
	nws.cfg = &cfgc;
	/* The first attempt runs from the loop, at once. */
	return hv_loop_add_timer(nws.loop, 0, 0, on_retry, NULL, &cfgc.retry);
}

void nws_config_stop(void)
{
	hv_timer_free(cfgc.retry);
	drop(&cfgc.conn);
	drop(&cfgc.lost);
	free(cfgc.socket_path);
	for (size_t i = 0; i < nws.nconfigs; i++) {
		hv_strv_clear(&nws.configs[i].addresses);
		hv_strv_clear(&nws.configs[i].routes);
	}
	free(nws.configs);
	nws.configs = NULL;
	nws.nconfigs = 0;
	cfgc = (nws_cfgconn){0};
}
