/* DeviceMapper.c — the device table, what an event does to it (rules,
 * nodes, symlinks), the subscribers, and the handlers of
 * DeviceMapper.ipc, one per message. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/log.h>

#include "DeviceMapper.h"
#include "nodes.h"

struct dm_state dm = {.devfd = -1, .sysfd = -1, .nlfd = -1};

/* --- the table -------------------------------------------------------------- */

static void dev_free(struct dm_dev *d)
{
	if (!d)
		return;
	free(d->devpath);
	free(d->subsystem);
	free(d->name);
	free(d->devname);
	for (size_t i = 0; i < d->nprops; i++) {
		free(d->props[i].key);
		free(d->props[i].value);
	}
	free(d->props);
	hv_strv_clear(&d->links);
	free(d);
}
HV_DEFINE_CLEANUP(struct dm_dev *, dev_free)

static ssize_t dev_index(const char *devpath)
{
	for (size_t i = 0; i < dm.ndevs; i++)
		if (strcmp(dm.devs[i]->devpath, devpath) == 0)
			return (ssize_t)i;
	return -1;
}

void dm_free_devices(void)
{
	for (size_t i = 0; i < dm.ndevs; i++)
		dev_free(dm.devs[i]);
	free(dm.devs);
	dm.devs = NULL;
	dm.ndevs = dm.cap = 0;
}

static const char *dev_prop(const struct dm_dev *d, const char *key)
{
	for (size_t i = 0; i < d->nprops; i++)
		if (strcmp(d->props[i].key, key) == 0)
			return d->props[i].value;
	return NULL;
}

static int add_prop(struct dm_dev *d, const char *key, size_t klen, const char *value)
{
	for (size_t i = 0; i < d->nprops; i++)
		if (strlen(d->props[i].key) == klen && strncmp(d->props[i].key, key, klen) == 0) {
			char *v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(d->props[i].value);
			d->props[i].value = v;
			return 0;
		}
	struct dm_kv *p = realloc(d->props, (d->nprops + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	d->props = p;
	p[d->nprops] = (struct dm_kv){strndup(key, klen), strdup(value)};
	if (!p[d->nprops].key || !p[d->nprops].value) {
		free(p[d->nprops].key);
		free(p[d->nprops].value);
		return -ENOMEM;
	}
	d->nprops++;
	return 0;
}

/* The device ev describes, with the rules' SETENV and its DEVLINKS. */
static struct dm_dev *dev_from(const struct dm_uevent *ev, const struct dm_outcome *o)
{
	_hv_cleanup_(dev_freep) struct dm_dev *d = calloc(1, sizeof(*d));
	if (!d || !(d->devpath = strdup(ev->devpath)) || !(d->subsystem = strdup(ev->subsystem)) ||
	    !(d->name = strdup(ev->name)) || (ev->devname && !(d->devname = strdup(ev->devname))))
		return NULL;
	d->seqnum = ev->seqnum;
	d->block = strcmp(ev->subsystem, "block") == 0;
	d->major = ev->major;
	d->minor = ev->minor;
	for (size_t i = 0; i < ev->nprops; i++)
		if (add_prop(d, ev->props[i].key, strlen(ev->props[i].key), ev->props[i].value) < 0)
			return NULL;
	for (size_t i = 0; o && i < o->setenv.n; i++) {
		const char *kv = o->setenv.v[i], *eq = strchr(kv, '=');
		if (add_prop(d, kv, (size_t)(eq - kv), eq + 1) < 0)
			return NULL;
	}
	return HV_TAKE_PTR(d);
}

/* --- applying an event ------------------------------------------------------ */

/* ATTR{name}: the sysfs attribute, its trailing newline dropped. */
static char *read_attr(const char *devpath, const char *name, void *ud)
{
	(void)ud;
	_hv_free_ char *rel = NULL;
	if (asprintf(&rel, "%s/%s", devpath + 1, name) < 0)
		return NULL;
	_hv_close_ int fd = openat(dm.sysfd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char buf[4097];
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	return strndup(buf, (size_t)n);
}

/* Symlinks: make the new ones, drop the ones the rules no longer give. */
static void update_links(struct dm_dev *d, const struct dm_dev *old, const struct dm_outcome *o)
{
	for (size_t i = 0; old && i < old->links.n; i++)
		if (!d->devname || !hv_strv_contains(&o->symlinks, old->links.v[i]))
			dm_link_remove(dm.devfd, old->links.v[i], old->devname);
	if (!d->devname)
		return;
	size_t len = 0;
	char devlinks[8192] = "";
	for (size_t i = 0; i < o->symlinks.n; i++) {
		int r = dm_link_make(dm.devfd, o->symlinks.v[i], d->devname);
		if (r < 0) {
			hv_log_warn("%s: symlink %s not made: %s", d->devpath, o->symlinks.v[i], strerror(-r));
			continue;
		}
		hv_strv_push(&d->links, o->symlinks.v[i]);
		int n = snprintf(devlinks + len, sizeof(devlinks) - len, "%s%s/%s", len ? " " : "",
				 dm_opts.dev_root, o->symlinks.v[i]);
		if (n > 0 && (size_t)n < sizeof(devlinks) - len)
			len += (size_t)n;
	}
	if (len)
		add_prop(d, "DEVLINKS", 8, devlinks);
}

static void notify(enum dm_action action, const struct dm_dev *d);

static void handle_remove(const struct dm_uevent *ev)
{
	ssize_t i = dev_index(ev->devpath);
	_hv_cleanup_(dev_freep) struct dm_dev *d = dev_from(ev, NULL);
	if (!d)
		return;
	if (i >= 0) {
		struct dm_dev *old = dm.devs[i];
		for (size_t j = 0; j < old->links.n; j++)
			dm_link_remove(dm.devfd, old->links.v[j], old->devname);
		if (old->made_node && old->devname)
			dm_node_remove(dm.devfd, old->devname, old->block, old->major, old->minor);
		const char *links = dev_prop(old, "DEVLINKS");
		if (links)
			add_prop(d, "DEVLINKS", 8, links);
		dev_free(old);
		memmove(&dm.devs[i], &dm.devs[i + 1], (dm.ndevs - (size_t)i - 1) * sizeof(*dm.devs));
		dm.ndevs--;
	}
	notify(DM_REMOVE, d);
}

static int table_put(struct dm_dev *d, ssize_t i)
{
	if (i >= 0) {
		dev_free(dm.devs[i]);
		dm.devs[i] = d;
		return 0;
	}
	if (dm.ndevs == dm.cap) {
		size_t cap = dm.cap ? dm.cap * 2 : 256;
		struct dm_dev **v = realloc(dm.devs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		dm.devs = v;
		dm.cap = cap;
	}
	dm.devs[dm.ndevs++] = d;
	return 0;
}

void dm_handle_uevent(const struct dm_uevent *ev, bool broadcast)
{
	if (ev->seqnum)
		dm.last_seqnum = ev->seqnum;
	if (ev->action == DM_REMOVE) {
		handle_remove(ev);
		return;
	}
	_hv_cleanup_(dm_outcome_clear) struct dm_outcome o;
	if (dm_rules_apply(&dm.rules, ev, read_attr, NULL, &o) < 0)
		return;
	ssize_t i = dev_index(ev->devpath);
	struct dm_dev *old = i >= 0 ? dm.devs[i] : NULL;
	_hv_cleanup_(dev_freep) struct dm_dev *d = dev_from(ev, &o);
	if (!d)
		return;
	bool made = false;
	int r = dm_node_apply(dm.devfd, ev, &o, dm_opts.make_nodes, &made);
	if (r < 0)
		hv_log_warn("%s: node %s left alone: %s", ev->devpath, ev->devname, strerror(-r));
	d->made_node = made || (old && old->made_node);
	update_links(d, old, &o);
	if (broadcast)
		notify(ev->action, d);
	if (table_put(d, i) == 0)
		d = NULL;
}

/* --- the wire ----------------------------------------------------------------- */

/* d as the protocol's Device; entries from alloc (the call's arena, or
 * malloc for events). */
static int to_wire(const struct dm_dev *d, device_mapper_device *out, void *(*alloc)(void *, size_t),
		   void *ctx)
{
	static char devnode[4096];
	*out = (device_mapper_device){.devpath = d->devpath, .subsystem = d->subsystem, .name = d->name,
				      .devnode = "", .seqnum = d->seqnum};
	if (d->devname) {
		char *p = ctx ? hv_call_printf(ctx, "%s/%s", dm_opts.dev_root, d->devname) : devnode;
		if (!ctx)
			snprintf(devnode, sizeof(devnode), "%s/%s", dm_opts.dev_root, d->devname);
		out->devnode = p ? p : "";
	}
	hv_map_bytestring_bytestring_entry *e = alloc(ctx, (d->nprops + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < d->nprops; i++)
		e[i] = (hv_map_bytestring_bytestring_entry){d->props[i].key, d->props[i].value};
	out->properties = (hv_map_bytestring_bytestring){e, d->nprops};
	return 0;
}

static void *call_alloc(void *call, size_t n) { return hv_call_alloc(call, n); }
static void *heap_alloc(void *unused, size_t n) { (void)unused; return malloc(n); }

static bool wants(const struct dm_peer *p, const char *subsystem)
{
	return !p->subsystems.n || hv_strv_contains(&p->subsystems, subsystem);
}

static void notify(enum dm_action action, const struct dm_dev *d)
{
	if (!dm.subscribers)
		return;
	device_mapper_device w;
	if (to_wire(d, &w, heap_alloc, NULL) < 0)
		return;
	for (struct dm_peer *p = dm.subscribers, *next; p; p = next) {
		next = p->next; /* a failed send may end p's connection */
		if (wants(p, d->subsystem))
			device_mapper_client_device_event(p->conn, (device_mapper_action)action, w);
	}
	free(w.properties.items);
}

/* --- the peers ---------------------------------------------------------------- */

int dm_peer_init(hv_conn *c, void *state)
{
	struct dm_peer *p = state;
	p->conn = c;
	return 0;
}

static void unsubscribe(struct dm_peer *p)
{
	if (!p->subscribed)
		return;
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
	p->subscribed = false;
	dm.nsubscribers--;
	hv_strv_clear(&p->subsystems);
}

void dm_peer_fini(hv_conn *c, void *state)
{
	(void)c;
	unsubscribe(state);
}

/* --- handlers ----------------------------------------------------------------- */

static bool dev_matches(const struct dm_dev *d, const device_mapper_list_req *req)
{
	if (req->subsystem[0] && strcmp(req->subsystem, d->subsystem))
		return false;
	if (req->name[0] && fnmatch(req->name, d->name, 0))
		return false;
	for (size_t i = 0; i < req->match.count; i++) {
		const char *v = dev_prop(d, req->match.items[i].key);
		if (!v || fnmatch(req->match.items[i].value, v, 0))
			return false;
	}
	return true;
}

static int by_devpath(const void *a, const void *b)
{
	return strcmp((*(const struct dm_dev *const *)a)->devpath, (*(const struct dm_dev *const *)b)->devpath);
}

static int on_list(hv_call *call, const device_mapper_list_req *req, device_mapper_list_rep *rep)
{
	qsort(dm.devs, dm.ndevs, sizeof(*dm.devs), by_devpath);
	device_mapper_device *v = hv_call_calloc(call, dm.ndevs + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < dm.ndevs; i++)
		if (dev_matches(dm.devs[i], req) && to_wire(dm.devs[i], &v[n++], call_alloc, call) < 0)
			return -ENOMEM;
	rep->devices = (hv_vec_device_mapper_device){v, n};
	return 0;
}

/* path: a devpath, a /sys path (sys root + devpath), or a node or symlink
 * under the dev root. */
static const struct dm_dev *find_device(const char *path)
{
	size_t sl = strlen(dm_opts.sys_root), dl = strlen(dm_opts.dev_root);
	if (strncmp(path, dm_opts.sys_root, sl) == 0 && path[sl] == '/')
		path += sl;
	ssize_t i = dev_index(path);
	if (i >= 0)
		return dm.devs[i];
	if (strncmp(path, dm_opts.dev_root, dl) || path[dl] != '/')
		return NULL;
	const char *rel = path + dl + 1;
	for (size_t j = 0; j < dm.ndevs; j++) {
		const struct dm_dev *d = dm.devs[j];
		if ((d->devname && strcmp(d->devname, rel) == 0) || hv_strv_contains(&d->links, rel))
			return d;
	}
	return NULL;
}

static int on_info(hv_call *call, const device_mapper_info_req *req, device_mapper_info_rep *rep)
{
	const struct dm_dev *d = find_device(req->path);
	if (!d)
		return hv_call_fail(call, DEVICE_MAPPER_ERR_NO_SUCH_DEVICE, "%s: no such device", req->path);
	return to_wire(d, &rep->device, call_alloc, call);
}

static int on_subscribe(hv_call *call, const device_mapper_subscribe_req *req, device_mapper_subscribe_rep *rep)
{
	(void)rep;
	struct dm_peer *p = hv_call_state(call);
	unsubscribe(p);
	for (size_t i = 0; i < req->subsystems.count; i++)
		if (hv_strv_push_unique(&p->subsystems, req->subsystems.items[i]) < 0)
			return -ENOMEM;
	p->subscribed = true;
	p->next = dm.subscribers;
	if (p->next)
		p->next->pprev = &p->next;
	p->pprev = &dm.subscribers;
	dm.subscribers = p;
	dm.nsubscribers++;
	return 0;
}

static int on_unsubscribe(hv_call *call, const device_mapper_unsubscribe_req *req,
			  device_mapper_unsubscribe_rep *rep)
{
	(void)req, (void)rep;
	unsubscribe(hv_call_state(call));
	return 0;
}

static int on_settle(hv_call *call, const device_mapper_settle_req *req, device_mapper_settle_rep *rep)
{
	(void)call, (void)req;
	dm_netlink_drain(); /* the events come out before this reply */
	rep->seqnum = dm.last_seqnum;
	return 0;
}

static int on_stats(hv_call *call, const device_mapper_stats_req *req, device_mapper_stats_rep *rep)
{
	(void)call, (void)req;
	rep->counters = (device_mapper_counters){.devices = dm.ndevs, .events = dm.events, .dropped = dm.dropped,
					   .overruns = dm.overruns, .subscribers = dm.nsubscribers,
					   .rules = (uint32_t)dm.rules.n};
	return 0;
}

const device_mapper_handlers dm_handlers = {
	.list = on_list,
	.info = on_info,
	.subscribe = on_subscribe,
	.unsubscribe = on_unsubscribe,
	.settle = on_settle,
	.stats = on_stats,
};
