/* ConfigServer.c — the handlers of ConfigServer.ipc, one per message, and the
 * per-connection state they share (pledged domains, permissive mode,
 * monitored domains). Storage is store.c's; this file only checks access,
 * converts types and announces changes to monitoring clients.
 */
#include "ConfigServer.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "ConfigClient.ipc.h"

struct cfg_service {
	cfg_store *store;
	hv_server *server;
};

static cfg_service the_service;

static cfg_client *client_of(hv_call *call) { return hv_call_state(call); }

/* A name for an error message (which must be UTF-8): bytes of an invalid
 * or control-bearing name are shown as \xHH. */
static const char *printable(hv_call *call, const char *s)
{
	size_t len = strlen(s);
	bool ok = hv_utf8_valid(s, len);
	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
	if (ok || len > 256)
		return ok ? s : "(a long unprintable name)";
	char *out = hv_call_alloc(call, len * 4 + 1);
	if (!out)
		return "(unprintable)";
	char *o = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			*o++ = (char)c;
		else
			o += sprintf(o, "\\x%02x", c);
	}
	*o = '\0';
	return out;
}

/* Name valid and within this client's pledge. A client that pledged and
 * then reaches outside is misbehaving (SerenityOS: did_misbehave) unless it
 * asked for permissive mode, where the call is just refused. */
static int check_domain(hv_call *call, const char *domain)
{
	const char *why = NULL;
	if (cfg_check_domain(domain, &why) < 0)
		return hv_call_fail(call, -EINVAL, "invalid domain name \"%s\": %s",
				    printable(call, domain), why);
	cfg_client *c = client_of(call);
	if (!c->has_pledged || hv_strv_contains(&c->pledged, domain))
		return 0;
	if (c->permissive)
		return hv_call_fail(call, -EACCES, "domain \"%s\" is outside this client's pledge",
				    domain);
	hv_conn_misbehave(hv_call_conn(call), "touched domain \"%s\" outside its pledge", domain);
	return -EACCES;
}

static int store_fail(hv_call *call, int r, const char *why)
{
	return hv_call_fail(call, r, "%s", why ? why : strerror(-r));
}

/* --- session ------------------------------------------------------------- */
static int on_pledge_domains(hv_call *call, const config_server_pledge_domains_req *req,
			     config_server_pledge_domains_rep *rep)
{
	cfg_client *c = client_of(call);
	if (c->has_pledged) {
		hv_conn_misbehave(hv_call_conn(call), "pledged domains twice");
		return -EPERM;
	}
	for (size_t i = 0; i < req->domains.count; i++) {
		const char *why = NULL;
		if (cfg_check_domain(req->domains.items[i], &why) < 0)
			return hv_call_fail(call, -EINVAL, "invalid domain name \"%s\": %s",
					    printable(call, req->domains.items[i]), why);
	}
	for (size_t i = 0; i < req->domains.count; i++)
		if (hv_strv_push_unique(&c->pledged, req->domains.items[i]) < 0)
			return -ENOMEM;
	c->has_pledged = true;
	return 0;
}

static int on_enable_permissive_mode(hv_call *call, const config_server_enable_permissive_mode_req *req,
				     config_server_enable_permissive_mode_rep *rep)
{
	client_of(call)->permissive = true;
	return 0;
}

static int on_monitor_domain(hv_call *call, const config_server_monitor_domain_req *req,
			     config_server_monitor_domain_rep *rep)
{
	int r = check_domain(call, req->domain);
	if (r < 0)
		return r;
	const char *why = NULL;
	/* Load now, so later changes (hand edits too) are diffed against it. */
	if ((r = cfg_store_load(the_service.store, req->domain, &why)) < 0)
		return store_fail(call, r, why);
	cfg_client *c = client_of(call);
	return hv_strv_push_unique(&c->monitored, req->domain);
}

/* --- reads --------------------------------------------------------------- */
static int fill_names(hv_call *call, const char **names, size_t n, hv_vec_bytestring *out)
{
	out->count = n;
	out->items = NULL;
	if (n == 0)
		return 0;
	const char **items = hv_call_calloc(call, n, sizeof(*items));
	if (!items)
		return -ENOMEM;
	/* Store names stay valid until the store changes: after this reply. */
	memcpy(items, names, n * sizeof(*items));
	out->items = items;
	return 0;
}

static int on_list_config_groups(hv_call *call, const config_server_list_config_groups_req *req,
				 config_server_list_config_groups_rep *rep)
{
	int r = check_domain(call, req->domain);
	if (r < 0)
		return r;
	const char **names = NULL, *why = NULL;
	size_t n = 0;
	if ((r = cfg_store_list_groups(the_service.store, req->domain, &names, &n, &why)) < 0)
		return store_fail(call, r, why);
	r = fill_names(call, names, n, &rep->groups);
	free(names);
	return r;
}

static int on_list_config_keys(hv_call *call, const config_server_list_config_keys_req *req,
			       config_server_list_config_keys_rep *rep)
{
	int r = check_domain(call, req->domain);
	if (r < 0)
		return r;
	const char **names = NULL, *why = NULL;
	size_t n = 0;
	r = cfg_store_list_keys(the_service.store, req->domain, req->group, &names, &n, &why);
	if (r < 0)
		return store_fail(call, r, why);
	r = fill_names(call, names, n, &rep->keys);
	free(names);
	return r;
}

/* 0 and *value, 1 if absent, or a failed call's error. */
static int read_value(hv_call *call, const char *domain, const char *group, const char *key,
		      const char **value)
{
	int r = check_domain(call, domain);
	if (r < 0)
		return r;
	const char *why = NULL;
	r = cfg_store_get(the_service.store, domain, group, key, value, &why);
	if (r == -ENOENT)
		return 1;
	return r < 0 ? store_fail(call, r, why) : 0;
}

static int not_a(hv_call *call, const char *group, const char *key, const char *v,
		 const char *type)
{
	return hv_call_fail(call, -EINVAL, "%s.%s is \"%s\", not %s", group, key,
			    printable(call, v), type);
}

static int on_read_string_value(hv_call *call, const config_server_read_string_value_req *req,
				config_server_read_string_value_rep *rep)
{
	const char *v;
	int r = read_value(call, req->domain, req->group, req->key, &v);
	if (r < 0)
		return r;
	rep->value.present = r == 0;
	/* Copied: the reply outlives nothing, but a view must not dangle. */
	rep->value.value = r == 0 ? hv_call_strdup(call, v) : NULL;
	if (r == 0 && !rep->value.value)
		return -ENOMEM;
	return 0;
}

static int on_read_i32_value(hv_call *call, const config_server_read_i32_value_req *req,
			     config_server_read_i32_value_rep *rep)
{
	const char *v;
	int r = read_value(call, req->domain, req->group, req->key, &v);
	if (r < 0)
		return r;
	rep->value.present = r == 0;
	int64_t n = 0;
	if (r == 0 && hv_parse_i64(v, INT32_MIN, INT32_MAX, &n) < 0)
		return not_a(call, req->group, req->key, v, "an i32");
	rep->value.value = (int32_t)n;
	return 0;
}

static int on_read_u32_value(hv_call *call, const config_server_read_u32_value_req *req,
			     config_server_read_u32_value_rep *rep)
{
	const char *v;
	int r = read_value(call, req->domain, req->group, req->key, &v);
	if (r < 0)
		return r;
	rep->value.present = r == 0;
	uint64_t n = 0;
	if (r == 0 && hv_parse_u64(v, UINT32_MAX, &n) < 0)
		return not_a(call, req->group, req->key, v, "a u32");
	rep->value.value = (uint32_t)n;
	return 0;
}

static int on_read_bool_value(hv_call *call, const config_server_read_bool_value_req *req,
			      config_server_read_bool_value_rep *rep)
{
	const char *v;
	int r = read_value(call, req->domain, req->group, req->key, &v);
	if (r < 0)
		return r;
	rep->value.present = r == 0;
	bool b = false;
	if (r == 0 && hv_parse_bool(v, &b) < 0)
		return not_a(call, req->group, req->key, v, "a bool");
	rep->value.value = b;
	return 0;
}

/* --- writes -------------------------------------------------------------- */
static int apply(hv_call *call, const char *domain, const cfg_op *ops, size_t n)
{
	int r = check_domain(call, domain);
	if (r < 0)
		return r;
	const char *why = NULL;
	/* origin = the writer's connection: it is not told about its own write. */
	r = cfg_store_apply(the_service.store, domain, ops, n, hv_call_conn(call), &why);
	return r < 0 ? store_fail(call, r, why) : 0;
}

static int write_one(hv_call *call, const char *domain, const char *group, const char *key,
		     const char *value, enum cfg_type type)
{
	cfg_op op = {.kind = CFG_SET, .type = type, .group = group, .key = key,
			   .value = value};
	return apply(call, domain, &op, 1);
}

static int on_write_string_value(hv_call *call, const config_server_write_string_value_req *req,
				 config_server_write_string_value_rep *rep)
{
	return write_one(call, req->domain, req->group, req->key, req->value,
			 CFG_TYPE_STRING);
}

static int on_write_i32_value(hv_call *call, const config_server_write_i32_value_req *req,
			      config_server_write_i32_value_rep *rep)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%" PRId32, req->value);
	return write_one(call, req->domain, req->group, req->key, buf, CFG_TYPE_I32);
}

static int on_write_u32_value(hv_call *call, const config_server_write_u32_value_req *req,
			      config_server_write_u32_value_rep *rep)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%" PRIu32, req->value);
	return write_one(call, req->domain, req->group, req->key, buf, CFG_TYPE_U32);
}

static int on_write_bool_value(hv_call *call, const config_server_write_bool_value_req *req,
			       config_server_write_bool_value_rep *rep)
{
	return write_one(call, req->domain, req->group, req->key, req->value ? "true" : "false",
			 CFG_TYPE_BOOL);
}

static int on_remove_key_entry(hv_call *call, const config_server_remove_key_entry_req *req,
			       config_server_remove_key_entry_rep *rep)
{
	cfg_op op = {.kind = CFG_REMOVE_KEY, .group = req->group, .key = req->key};
	return apply(call, req->domain, &op, 1);
}

static int on_remove_group_entry(hv_call *call, const config_server_remove_group_entry_req *req,
				 config_server_remove_group_entry_rep *rep)
{
	cfg_op op = {.kind = CFG_REMOVE_GROUP, .group = req->group};
	return apply(call, req->domain, &op, 1);
}

static int on_add_group_entry(hv_call *call, const config_server_add_group_entry_req *req,
			      config_server_add_group_entry_rep *rep)
{
	cfg_op op = {.kind = CFG_ADD_GROUP, .group = req->group};
	return apply(call, req->domain, &op, 1);
}

static int on_write_batch(hv_call *call, const config_server_write_batch_req *req,
			  config_server_write_batch_rep *rep)
{
	if (req->ops.count > CFG_MAX_BATCH_OPS)
		return hv_call_fail(call, -E2BIG, "a batch holds at most %u operations",
				    CFG_MAX_BATCH_OPS);
	cfg_op *ops = hv_call_calloc(call, req->ops.count ? req->ops.count : 1, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	for (size_t i = 0; i < req->ops.count; i++) {
		const config_server_config_op *in = &req->ops.items[i];
		cfg_op *op = &ops[i];
		op->group = in->group;
		op->key = in->key;
		op->value = in->value;
		switch (in->kind) {
		case CONFIG_SERVER_CONFIG_OP_KIND_SET: op->kind = CFG_SET; break;
		case CONFIG_SERVER_CONFIG_OP_KIND_REMOVE_KEY: op->kind = CFG_REMOVE_KEY; break;
		case CONFIG_SERVER_CONFIG_OP_KIND_REMOVE_GROUP: op->kind = CFG_REMOVE_GROUP; break;
		case CONFIG_SERVER_CONFIG_OP_KIND_ADD_GROUP: op->kind = CFG_ADD_GROUP; break;
		default:
			return hv_call_fail(call, -EINVAL, "operation %zu has an unknown kind", i);
		}
	}
	return apply(call, req->domain, ops, req->ops.count);
}

const config_server_handlers cfg_handlers = {
	.pledge_domains = on_pledge_domains,
	.enable_permissive_mode = on_enable_permissive_mode,
	.monitor_domain = on_monitor_domain,
	.list_config_groups = on_list_config_groups,
	.list_config_keys = on_list_config_keys,
	.read_string_value = on_read_string_value,
	.read_i32_value = on_read_i32_value,
	.read_u32_value = on_read_u32_value,
	.read_bool_value = on_read_bool_value,
	.write_string_value = on_write_string_value,
	.write_i32_value = on_write_i32_value,
	.write_u32_value = on_write_u32_value,
	.write_bool_value = on_write_bool_value,
	.remove_key_entry = on_remove_key_entry,
	.remove_group_entry = on_remove_group_entry,
	.add_group_entry = on_add_group_entry,
	.write_batch = on_write_batch,
};

/* --- change events ------------------------------------------------------ */
typedef struct announce_ctx {
	const cfg_change *ch;
	void *origin;
} announce_ctx;

static int send_change(hv_conn *conn, void *ud)
{
	announce_ctx *a = ud;
	cfg_client *c = hv_conn_userdata(conn); /* the runner's per-connection state */
	const cfg_change *ch = a->ch;
	if (conn == a->origin || !hv_strv_contains(&c->monitored, ch->domain))
		return 0;
	int r = 0;
	int64_t i = 0;
	uint64_t u = 0;
	bool b = false;
	switch (ch->kind) {
	case CFG_CHANGED_VALUE:
		/* Typed writes are announced typed; their text always parses back. */
		if (ch->type == CFG_TYPE_I32 && hv_parse_i64(ch->value, INT32_MIN, INT32_MAX, &i) == 0)
			r = config_client_notify_changed_i32_value(conn, ch->domain, ch->group, ch->key,
								   (int32_t)i);
		else if (ch->type == CFG_TYPE_U32 && hv_parse_u64(ch->value, UINT32_MAX, &u) == 0)
			r = config_client_notify_changed_u32_value(conn, ch->domain, ch->group, ch->key,
								   (uint32_t)u);
		else if (ch->type == CFG_TYPE_BOOL && hv_parse_bool(ch->value, &b) == 0)
			r = config_client_notify_changed_bool_value(conn, ch->domain, ch->group, ch->key, b);
		else
			r = config_client_notify_changed_string_value(conn, ch->domain, ch->group,
								      ch->key, ch->value);
		break;
	case CFG_REMOVED_KEY:
		r = config_client_notify_removed_key(conn, ch->domain, ch->group, ch->key);
		break;
	case CFG_REMOVED_GROUP:
		r = config_client_notify_removed_group(conn, ch->domain, ch->group);
		break;
	case CFG_ADDED_GROUP:
		r = config_client_notify_added_group(conn, ch->domain, ch->group);
		break;
	}
	if (r < 0)
		hv_log_warn("cannot notify a client of a change in %s: %s", ch->domain, strerror(-r));
	return 0;
}

static void on_store_change(const cfg_change *ch, void *origin, void *userdata)
{
	cfg_service *svc = userdata;
	announce_ctx a = {.ch = ch, .origin = origin};
	hv_server_foreach(svc->server, send_change, &a);
}

void cfg_client_fini(hv_conn *conn, void *state)
{
	cfg_client *c = state;
	hv_strv_clear(&c->pledged);
	hv_strv_clear(&c->monitored);
}

static void on_inotify(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	cfg_service *svc = userdata;
	int r = cfg_store_process_inotify(svc->store);
	if (r < 0)
		hv_log_errno(r, "Failed to read inotify events");
}

int cfg_service_init(hv_server *srv, cfg_store *store)
{
	hv_loop *loop = hv_server_loop(srv);
	cfg_service *svc = &the_service;
	svc->store = store;
	svc->server = srv;
	cfg_store_set_change_cb(store, on_store_change, svc);
	int r = hv_loop_add_fd(loop, cfg_store_inotify_fd(store), HV_IO_READ, on_inotify, svc,
			       NULL);
	if (r < 0)
		return hv_log_errno(r, "Failed to watch the configuration directory");
	return 0;
}

int cfg_default_dir(const char **out)
{
	static char *dir; /* the process's own, for the process's life */
	int r = dir ? 0 : hv_xdg_path(HV_XDG_CONFIG, "haven", &dir);
	if (r < 0)
		return hv_log_errno(r, "neither XDG_CONFIG_HOME nor HOME is an absolute path; "
				       "use --config-dir");
	*out = dir;
	return 0;
}
