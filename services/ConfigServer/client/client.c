/* client.c — the calls of the ConfigServer client library
 * (config-client.h): one generated sync call each, results copied out of
 * the reply (whose strings live only until the next call), and the domain
 * watch that turns ConfigClient's seven events into one callback. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ConfigClient.ipc.h"
#include "ConfigServer.ipc.h"
#include "config-client.h"
#include "internal.h"

int conf_connect(hv_loop *loop, const char *socket_path, hv_conn **out)
{
	int r = socket_path ? hv_conn_connect(loop, socket_path, out)
			    : hv_conn_connect_portal(loop, CONF_PORTAL, out);
	if (r == 0)
		hv_conn_set_timeout(*out, CONF_TIMEOUT_MS);
	return r;
}

/* --- reading and writing ------------------------------------------------ */
/* A read: from the cache when it has the value (cache.c), else from
 * ConfigServer, the answer then kept. Errors are never kept. */
int conf_read_string(hv_conn *c, const char *domain, const char *group, const char *key, char **out)
{
	conf_state *st = conf_cache_for_read(c, domain);
	bool present;
	conf_value cv = {0};
	const char *s = NULL;
	if (!st || !conf_cache_find(st, domain, group, key, CONF_STRING, &present, &cv, &s)) {
		hv_opt_bytestring v;
		int r = config_server_read_string_value(c, domain, group, key, &v);
		if (r < 0)
			return r;
		if (st)
			conf_cache_put(st, domain, group, key, CONF_STRING, v.present, cv, v.value);
		present = v.present;
		s = v.value;
	}
	if (!present)
		return 0;
	if (!(*out = strdup(s)))
		return -ENOMEM;
	return 1;
}

int conf_read_i32(hv_conn *c, const char *domain, const char *group, const char *key, int32_t *out)
{
	conf_state *st = conf_cache_for_read(c, domain);
	bool present;
	conf_value cv = {0};
	if (!st || !conf_cache_find(st, domain, group, key, CONF_I32, &present, &cv, NULL)) {
		hv_opt_i32 v;
		int r = config_server_read_i32_value(c, domain, group, key, &v);
		if (r < 0)
			return r;
		present = v.present;
		cv.i32 = v.value;
		if (st)
			conf_cache_put(st, domain, group, key, CONF_I32, present, cv, NULL);
	}
	if (present)
		*out = cv.i32;
	return present;
}

int conf_read_u32(hv_conn *c, const char *domain, const char *group, const char *key, uint32_t *out)
{
	conf_state *st = conf_cache_for_read(c, domain);
	bool present;
	conf_value cv = {0};
	if (!st || !conf_cache_find(st, domain, group, key, CONF_U32, &present, &cv, NULL)) {
		hv_opt_u32 v;
		int r = config_server_read_u32_value(c, domain, group, key, &v);
		if (r < 0)
			return r;
		present = v.present;
		cv.u32 = v.value;
		if (st)
			conf_cache_put(st, domain, group, key, CONF_U32, present, cv, NULL);
	}
	if (present)
		*out = cv.u32;
	return present;
}

int conf_read_bool(hv_conn *c, const char *domain, const char *group, const char *key, bool *out)
{
	conf_state *st = conf_cache_for_read(c, domain);
	bool present;
	conf_value cv = {0};
	if (!st || !conf_cache_find(st, domain, group, key, CONF_BOOL, &present, &cv, NULL)) {
		hv_opt_bool v;
		int r = config_server_read_bool_value(c, domain, group, key, &v);
		if (r < 0)
			return r;
		present = v.present;
		cv.b = v.value;
		if (st)
			conf_cache_put(st, domain, group, key, CONF_BOOL, present, cv, NULL);
	}
	if (present)
		*out = cv.b;
	return present;
}

/* This connection's own writes are not announced to it: what it kept of
 * what they touch goes (whether the write succeeded or not). */
static int wrote(hv_conn *c, int r, const char *domain, const char *group, const char *key)
{
	conf_cache_forget(conf_state_of(c, false), domain, group, key);
	return r;
}

int conf_write_string(hv_conn *c, const char *domain, const char *group, const char *key,
		     const char *value)
{
	return wrote(c, config_server_write_string_value(c, domain, group, key, value), domain,
		     group, key);
}

int conf_write_i32(hv_conn *c, const char *domain, const char *group, const char *key, int32_t value)
{
	return wrote(c, config_server_write_i32_value(c, domain, group, key, value), domain, group,
		     key);
}

int conf_write_u32(hv_conn *c, const char *domain, const char *group, const char *key, uint32_t value)
{
	return wrote(c, config_server_write_u32_value(c, domain, group, key, value), domain, group,
		     key);
}

int conf_write_bool(hv_conn *c, const char *domain, const char *group, const char *key, bool value)
{
	return wrote(c, config_server_write_bool_value(c, domain, group, key, value), domain, group,
		     key);
}

int conf_remove_key(hv_conn *c, const char *domain, const char *group, const char *key)
{
	return wrote(c, config_server_remove_key_entry(c, domain, group, key), domain, group, key);
}

int conf_remove_group(hv_conn *c, const char *domain, const char *group)
{
	return wrote(c, config_server_remove_group_entry(c, domain, group), domain, group, NULL);
}

int conf_add_group(hv_conn *c, const char *domain, const char *group)
{
	return config_server_add_group_entry(c, domain, group);
}

static int copy_names(const hv_vec_bytestring *names, hv_strv *out)
{
	for (size_t i = 0; i < names->count; i++) {
		int r = hv_strv_push(out, names->items[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int conf_list_groups(hv_conn *c, const char *domain, hv_strv *out)
{
	hv_vec_bytestring names;
	int r = config_server_list_config_groups(c, domain, &names);
	return r < 0 ? r : copy_names(&names, out);
}

int conf_list_keys(hv_conn *c, const char *domain, const char *group, hv_strv *out)
{
	hv_vec_bytestring names;
	int r = config_server_list_config_keys(c, domain, group, &names);
	return r < 0 ? r : copy_names(&names, out);
}

/* conf_op_kind is the protocol's ConfigOpKind, value for value. */
_Static_assert((int)CONF_OP_SET == (int)CONFIG_SERVER_CONFIG_OP_KIND_SET &&
		       (int)CONF_OP_REMOVE_KEY == (int)CONFIG_SERVER_CONFIG_OP_KIND_REMOVE_KEY &&
		       (int)CONF_OP_REMOVE_GROUP == (int)CONFIG_SERVER_CONFIG_OP_KIND_REMOVE_GROUP &&
		       (int)CONF_OP_ADD_GROUP == (int)CONFIG_SERVER_CONFIG_OP_KIND_ADD_GROUP,
	       "conf_op_kind differs from ConfigOpKind");

int conf_write_batch(hv_conn *c, const char *domain, const conf_op *ops, size_t n)
{
	_hv_free_ config_server_config_op *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = (config_server_config_op){
			.kind = (config_server_config_op_kind)ops[i].kind,
			.group = ops[i].group,
			.key = ops[i].key ? ops[i].key : "",
			.value = ops[i].value ? ops[i].value : "",
		};
	return wrote(c, config_server_write_batch(c, domain, (hv_vec_config_server_config_op){v, n}),
		     domain, NULL, NULL);
}

/* --- watching a domain --------------------------------------------------- */
/* Every event first drops what the cache kept of what it names, then goes
 * to the watcher if it asked for the domain. */
static void deliver(hv_call *call, conf_event e)
{
	conf_state *st = conf_state_of(hv_call_conn(call), false);
	if (!st)
		return;
	if (e.kind != CONF_ADDED_GROUP) /* an empty group changes no value */
		conf_cache_forget(st, e.domain, e.group, e.key);
	if (!st->w || !st->w->cb || !(st->watch_all || hv_strv_contains(&st->watched, e.domain)))
		return;
	bool was = st->in_event;
	st->in_event = true;
	st->w->cb(&e, st->w->userdata);
	st->in_event = was;
}

static int on_string(hv_call *call, const config_client_notify_changed_string_value_req *q)
{
	deliver(call, (conf_event){CONF_CHANGED, q->domain, q->group, q->key, CONF_STRING, q->value});
	return 0;
}

static int on_i32(hv_call *call, const config_client_notify_changed_i32_value_req *q)
{
	char v[16];
	snprintf(v, sizeof v, "%" PRId32, q->value);
	deliver(call, (conf_event){CONF_CHANGED, q->domain, q->group, q->key, CONF_I32, v});
	return 0;
}

static int on_u32(hv_call *call, const config_client_notify_changed_u32_value_req *q)
{
	char v[16];
	snprintf(v, sizeof v, "%" PRIu32, q->value);
	deliver(call, (conf_event){CONF_CHANGED, q->domain, q->group, q->key, CONF_U32, v});
	return 0;
}

static int on_bool(hv_call *call, const config_client_notify_changed_bool_value_req *q)
{
	deliver(call, (conf_event){CONF_CHANGED, q->domain, q->group, q->key, CONF_BOOL,
				  q->value ? "true" : "false"});
	return 0;
}

static int on_removed_key(hv_call *call, const config_client_notify_removed_key_req *q)
{
	deliver(call, (conf_event){CONF_REMOVED_KEY, q->domain, q->group, q->key, CONF_STRING, NULL});
	return 0;
}

static int on_removed_group(hv_call *call, const config_client_notify_removed_group_req *q)
{
	deliver(call, (conf_event){CONF_REMOVED_GROUP, q->domain, q->group, NULL, CONF_STRING, NULL});
	return 0;
}

static int on_added_group(hv_call *call, const config_client_notify_added_group_req *q)
{
	deliver(call, (conf_event){CONF_ADDED_GROUP, q->domain, q->group, NULL, CONF_STRING, NULL});
	return 0;
}

static const config_client_handlers event_handlers = {
	.notify_changed_string_value = on_string,
	.notify_changed_i32_value = on_i32,
	.notify_changed_u32_value = on_u32,
	.notify_changed_bool_value = on_bool,
	.notify_removed_key = on_removed_key,
	.notify_removed_group = on_removed_group,
	.notify_added_group = on_added_group,
};

int conf_serve_events(hv_conn *c, const conf_watcher *w, bool all)
{
	conf_state *st = conf_state_of(c, true);
	if (!st)
		return -ENOMEM;
	if (w && st->w != w && hv_conn_userdata(c))
		return -EBUSY; /* the connection's userdata is someone's already */
	int r = hv_conn_serve(c, &config_client_endpoint, &event_handlers);
	if (r < 0 || !w)
		return r;
	hv_conn_set_userdata(c, (void *)w);
	st->w = w;
	st->watch_all |= all;
	return 0;
}

int conf_monitor(hv_conn *c, const char *domain, const conf_watcher *w)
{
	int r = conf_serve_events(c, w, false);
	if (r == 0)
		r = config_server_monitor_domain(c, domain);
	if (r == 0)
		r = hv_strv_push_unique(&conf_state_of(c, false)->watched, domain);
	return r;
}
