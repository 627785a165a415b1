/* NotificationServer.c — the handlers of NotificationServer.ipc, one per
 * message, and the events the queue's decisions turn into: what became of a
 * notification goes to its owner only, what the screen shows goes to
 * watchers only.
 *
 * Owners are named by a per-connection token, never by the hv_conn pointer,
 * so an event can never reach a later connection that reuses the memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>

#include "NotificationClient.ipc.h"
#include "NotificationServer.h"
#include "icon_store.h"
/* Active notifications one connection may own, so one noisy client cannot
 * take every slot of the queue (NQ_MAX_ACTIVE) from the others. */
#define MAX_ACTIVE_PER_CLIENT 64u

struct notif_conn {
	uint64_t token;
	bool watching;
};

static nq_queue *queue;
static hv_server *server;
static hv_timer *timer;
static uint64_t next_token = 1;
static int state_dirfd = -1; /* -1: memory only */

static uint64_t now_ms(void) { return hv_now_ns() / 1000000u; }

#define STATE_FILE "state"
#define STATE_TMP ".state.tmp"
/* Far above what NQ_MAX_ACTIVE + a history can take: a bigger file is not ours. */
#define STATE_MAX_BYTES (64u << 20)

/* Write the queue's state durably (temp file, fsync, rename, fsync of the
 * directory) so a respawned server shows what this one acknowledged. A
 * failure is logged, not returned: the notification is on screen already,
 * and saying otherwise to the client would be a lie. */
/* An icon whose file is on disk was dropped (closed, or replaced): the next
 * save prunes the directory, instead of every save listing it. */
static bool icon_files_stale;

static bool icon_file_wanted(uint32_t id, void *ud)
{
	const nq_notification *n = nq_find(queue, id);
	return n && n->icon;
}

static void persist(void)
{
	if (state_dirfd < 0)
		return;
	/* Icons first: the state that names one is never on disk before it. */
	for (size_t i = 0; i < nq_active_count(queue); i++) {
		const nq_notification *n = nq_active(queue, i);
		nq_icon *icon = n->icon;
		int r = icon && !icon->saved ? nq_icon_save(state_dirfd, n->id, icon) : 0;
		if (r < 0)
			hv_log_errno(r, "Failed to save the icon of notification %u", n->id);
	}
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r = nq_serialize(queue, &data, &len);
	if (r < 0) {
		hv_log_errno(r, "Failed to serialize the notification state");
		return;
	}
	_hv_close_ int fd = openat(state_dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		hv_log_errno(-errno, "Failed to create %s", STATE_TMP);
		return;
	}
	r = hv_write_full(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(state_dirfd, STATE_TMP, state_dirfd, STATE_FILE) < 0)
		r = -errno;
	if (r == 0 && fsync(state_dirfd) < 0)
		r = -errno;
	if (r < 0)
		hv_log_errno(r, "Failed to save the notification state");
	else if (icon_files_stale) {
		nq_icon_prune(state_dirfd, icon_file_wanted, NULL);
		icon_files_stale = false;
	}
}

static int load_state(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return hv_log_errno(-errno, "Failed to create %s", dir);
	state_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (state_dirfd < 0)
		return hv_log_errno(-errno, "Failed to open %s", dir);
	unlinkat(state_dirfd, STATE_TMP, 0); /* never acknowledged */
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r = hv_read_file_at(state_dirfd, STATE_FILE, O_NOFOLLOW, STATE_MAX_BYTES, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -EINVAL || r == -EFBIG) {
		hv_log_warn("ignoring %s/%s: not a state file", dir, STATE_FILE);
		return 0;
	}
	if (r < 0)
		return hv_log_errno(r, "Failed to read %s/%s", dir, STATE_FILE);
	r = nq_restore(queue, data, len, now_ms());
	if (r < 0) {
		hv_log_warn("ignoring %s/%s: %s (starting empty)", dir, STATE_FILE, strerror(-r));
		return 0;
	}
	size_t icons = 0;
	for (size_t i = 0; i < nq_active_count(queue); i++) {
		uint32_t id = nq_active(queue, i)->id;
		nq_icon *icon = NULL;
		r = nq_icon_load(state_dirfd, id, &icon);
		if (r == 0 && nq_restore_icon(queue, id, icon) == 0)
			icons++;
		else if (r < 0 && r != -ENOENT)
			hv_log_warn("ignoring the icon of notification %u: %s", id, strerror(-r));
	}
	nq_icon_prune(state_dirfd, icon_file_wanted, NULL);
	hv_log_info("restored %zu active (%zu with an icon) and %zu past notifications",
		    nq_active_count(queue), icons, nq_history_count(queue));
	return 0;
}


static struct notif_conn *conn_state(hv_call *call)
{
	return hv_conn_userdata(hv_call_conn(call));
}

static uint64_t caller_token(hv_call *call)
{
	struct notif_conn *st = conn_state(call);
	return st ? st->token : 0;
}

/* --- info for replies and events ------------------------------------------ */

/* Fill `info` with views of n (valid while n is alive: until the reply or
 * event is encoded). `alloc` provides the actions array. */
static int fill_info(const nq_notification *n, uint64_t token, notification_server_info *info,
		     void *(*alloc)(void *ctx, size_t count, size_t size), void *ctx)
{
	memset(info, 0, sizeof(*info));
	info->id = n->id;
	info->title = n->title;
	info->text = n->text;
	info->icon_path = n->icon_path ? n->icon_path : "";
	info->has_icon = n->icon != NULL;
	info->urgency = (notification_server_urgency)n->urgency;
	if (n->nactions) {
		info->actions.items = alloc(ctx, n->nactions, sizeof(*info->actions.items));
		if (!info->actions.items)
			return -ENOMEM;
		for (size_t i = 0; i < n->nactions; i++) {
			info->actions.items[i].id = n->action_ids[i];
			info->actions.items[i].label = n->action_labels[i];
		}
		info->actions.count = n->nactions;
	}
	info->state = n->state;
	info->reason = n->reason;
	info->created_ms = n->created_wall;
	info->closed_ms = n->state == NQ_CLOSED ? n->closed_wall : 0;
	info->mine = token && n->owner == token;
	return 0;
}

static void *call_alloc(void *ctx, size_t count, size_t size)
{
	return hv_call_calloc(ctx, count, size);
}

/* --- events --------------------------------------------------------------- */

struct owner_event {
	const nq_notification *n;
	const char *action; /* NULL: closed */
};

static int to_owner(hv_conn *c, void *userdata)
{
	const struct owner_event *ev = userdata;
	const struct notif_conn *st = hv_conn_userdata(c);
	if (!st || st->token != ev->n->owner)
		return 0;
	int r = ev->action ? notification_client_action_invoked(c, ev->n->id, ev->action)
			   : notification_client_closed(c, ev->n->id, ev->n->reason);
	if (r < 0)
		hv_log_debug("could not queue an event for notification %u: %s", ev->n->id,
			     strerror(-r));
	return 1; /* one owner */
}

static void send_to_owner(const nq_notification *n, const char *action)
{
	struct owner_event ev = {n, action};
	if (n->owner && server)
		hv_server_foreach(server, to_owner, &ev);
}

enum screen_kind { SCREEN_SHOWN, SCREEN_UPDATED, SCREEN_HIDDEN, SCREEN_DND };
struct screen_event {
	enum screen_kind kind;
	const nq_notification *n;
	bool dnd;
};

static void *heap_alloc(void *ctx, size_t count, size_t size) { return calloc(count, size); }

static int to_watcher(hv_conn *c, void *userdata)
{
	const struct screen_event *ev = userdata;
	const struct notif_conn *st = hv_conn_userdata(c);
	if (!st || !st->watching)
		return 0;
	int r = 0;
	switch (ev->kind) {
	case SCREEN_SHOWN:
	case SCREEN_UPDATED: {
		notification_server_info info;
		r = fill_info(ev->n, st->token, &info, heap_alloc, NULL);
		if (r == 0)
			r = ev->kind == SCREEN_SHOWN ? notification_client_shown(c, info)
						     : notification_client_updated(c, info);
		free(info.actions.items);
		break;
	}
	case SCREEN_HIDDEN:
		r = notification_client_hidden(c, ev->n->id, ev->n->reason);
		break;
	case SCREEN_DND:
		r = notification_client_dnd_changed(c, ev->dnd);
		break;
	}
	if (r < 0)
		hv_log_debug("could not queue a screen event: %s", strerror(-r));
	return 0;
}

static void send_to_watchers(struct screen_event ev)
{
	if (server)
		hv_server_foreach(server, to_watcher, &ev);
}

static void on_shown(void *ud, const nq_notification *n)
{
	send_to_watchers((struct screen_event){SCREEN_SHOWN, n, false});
}
static void on_updated(void *ud, const nq_notification *n)
{
	send_to_watchers((struct screen_event){SCREEN_UPDATED, n, false});
}
static void on_closed(void *ud, const nq_notification *n)
{
	if (n->was_shown)
		send_to_watchers((struct screen_event){SCREEN_HIDDEN, n, false});
	send_to_owner(n, NULL);
}
static void on_action(void *ud, const nq_notification *n, const char *action)
{
	send_to_owner(n, action);
}
static void on_dnd(void *ud, bool on)
{
	send_to_watchers((struct screen_event){SCREEN_DND, NULL, on});
}

const nq_sink nq_server_sink = {on_shown, on_updated, on_closed, on_action, on_dnd};

/* After any change: wake up for the next expiry. */
static void rearm(void)
{
	uint64_t d = nq_next_deadline(queue), now = now_ms();
	if (!timer)
		return;
	if (!d)
		hv_timer_disarm(timer);
	else
		hv_timer_arm(timer, d > now ? (d - now) * 1000000u : 1, 0);
}

static void on_timer(hv_loop *loop, hv_timer *t, void *userdata)
{
	nq_tick(queue, now_ms());
	persist();
	rearm();
}

/* Every change ends here: saved before the reply goes out, timer re-aimed. */
static int changed(void)
{
	persist();
	rearm();
	return 0;
}

/* --- icons ------------------------------------------------------------------ */

static void icon_free(void *icon)
{
	if (icon && ((nq_icon *)icon)->saved)
		icon_files_stale = true;
	nq_icon_free(icon);
}

/* Keep the request's bitmap (see icon_store.h). */
static int take_icon(hv_call *call, const hv_bitmap *in, void **out)
{
	nq_icon *icon = NULL;
	int r = nq_icon_take(call, in, &icon);
	if (r == -EINVAL)
		return hv_call_fail(call, r, "icon must be 1x1 to %ux%u pixels, not %ux%u",
				    NQ_ICON_MAX_SIDE, NQ_ICON_MAX_SIDE, in->width, in->height);
	if (r < 0)
		return hv_call_fail(call, r, "could not keep the icon: %s", strerror(-r));
	*out = icon;
	return 0;
}

/* --- handlers ----------------------------------------------------------------- */

static int on_show(hv_call *call, const notification_server_show_req *req,
		   notification_server_show_rep *rep)
{
	size_t na = req->actions.count;
	const char **ids = hv_call_calloc(call, na + 1, sizeof(char *));
	const char **labels = hv_call_calloc(call, na + 1, sizeof(char *));
	if (!ids || !labels)
		return -ENOMEM;
	for (size_t i = 0; i < na; i++) {
		ids[i] = req->actions.items[i].id;
		labels[i] = req->actions.items[i].label;
	}
	uint64_t token = caller_token(call);
	if (nq_owner_count(queue, token) >= MAX_ACTIVE_PER_CLIENT)
		return hv_call_fail(call, -EDQUOT,
				    "this connection has %u active notifications, the most allowed",
				    MAX_ACTIVE_PER_CLIENT);
	const char *why = NULL;
	if (nq_validate(req->title, req->text, (unsigned)req->urgency, req->timeout_ms, na, ids,
			   labels, &why) < 0)
		return hv_call_fail(call, -EINVAL, "%s", why);
	if (strlen(req->icon_path) > NQ_MAX_ICON_PATH)
		return hv_call_fail(call, -EINVAL, "icon path over %u bytes", NQ_MAX_ICON_PATH);
	void *icon = NULL;
	if (req->icon.present) {
		int r = take_icon(call, &req->icon.value, &icon);
		if (r < 0)
			return r;
	}
	int r = nq_show(queue, token, req->title, req->text, req->icon_path, icon,
			   (unsigned)req->urgency, req->timeout_ms, na, ids, labels, now_ms(),
			   &rep->id);
	if (r == -ENOSPC)
		return hv_call_fail(call, r, "too many notifications (%u active)", NQ_MAX_ACTIVE);
	if (r < 0)
		return hv_call_fail(call, r, "could not show the notification: %s", strerror(-r));
	return changed();
}

static int on_update(hv_call *call, const notification_server_update_req *req,
		     notification_server_update_rep *rep)
{
	int r = nq_update(queue, req->id, req->title, req->text, false, NULL, NULL, now_ms());
	if (r == -EINVAL)
		return hv_call_fail(call, r, "title must be 1 to %u bytes, text at most %u",
				    NQ_MAX_TITLE, NQ_MAX_TEXT);
	if (r < 0 && r != -ENOENT)
		return r;
	rep->still_showing = r == 0;
	return changed();
}

static int on_update_icon(hv_call *call, const notification_server_update_icon_req *req,
			  notification_server_update_icon_rep *rep)
{
	void *icon = NULL;
	if (!nq_find(queue, req->id)) {
		rep->still_showing = false;
		return 0;
	}
	if (strlen(req->icon_path) > NQ_MAX_ICON_PATH)
		return hv_call_fail(call, -EINVAL, "icon path over %u bytes", NQ_MAX_ICON_PATH);
	if (req->icon.present) {
		int r = take_icon(call, &req->icon.value, &icon);
		if (r < 0)
			return r;
	}
	int r = nq_update(queue, req->id, NULL, NULL, true, req->icon_path, icon, now_ms());
	if (r < 0 && r != -ENOENT)
		return r;
	rep->still_showing = r == 0;
	return changed();
}

static int on_get_icon(hv_call *call, const notification_server_get_icon_req *req,
		       notification_server_get_icon_rep *rep)
{
	const nq_notification *n = nq_find(queue, req->id);
	if (!n)
		return hv_call_fail(call, -ENOENT, "no active notification %u", req->id);
	const nq_icon *icon = n->icon;
	rep->icon.present = icon != NULL;
	if (icon)
		rep->icon.value = icon->bitmap; /* sealed: the receiver maps it read-only */
	return 0;
}

static int on_is_showing(hv_call *call, const notification_server_is_showing_req *req,
			 notification_server_is_showing_rep *rep)
{
	rep->still_showing = nq_find(queue, req->id) != NULL;
	return 0;
}

static int on_close(hv_call *call, const notification_server_close_req *req,
		    notification_server_close_rep *rep)
{
	const nq_notification *n = nq_find(queue, req->id);
	if (!n)
		return hv_call_fail(call, -ENOENT, "no active notification %u", req->id);
	bool own = n->owner && n->owner == caller_token(call);
	nq_close(queue, req->id, own ? NQ_REASON_CLOSED : NQ_REASON_DISMISSED, now_ms());
	return changed();
}

static int fill_list(hv_call *call, size_t n, const nq_notification *(*at)(const nq_queue *, size_t),
		     hv_vec_notification_server_info *out)
{
	out->count = 0;
	out->items = n ? hv_call_calloc(call, n, sizeof(*out->items)) : NULL;
	if (n && !out->items)
		return -ENOMEM;
	uint64_t token = caller_token(call);
	for (size_t i = 0; i < n; i++) {
		int r = fill_info(at(queue, i), token, &out->items[i], call_alloc, call);
		if (r < 0)
			return r;
	}
	out->count = n;
	return 0;
}

static int on_list(hv_call *call, const notification_server_list_req *req,
		   notification_server_list_rep *rep)
{
	return fill_list(call, nq_active_count(queue), nq_active, &rep->notifications);
}

static int on_history(hv_call *call, const notification_server_history_req *req,
		      notification_server_history_rep *rep)
{
	size_t n = nq_history_count(queue);
	if (req->max && req->max < n)
		n = req->max;
	return fill_list(call, n, nq_history, &rep->notifications);
}

static int on_set_dnd(hv_call *call, const notification_server_set_dnd_req *req,
		      notification_server_set_dnd_rep *rep)
{
	nq_set_dnd(queue, req->on, now_ms());
	return changed();
}

static int on_get_dnd(hv_call *call, const notification_server_get_dnd_req *req,
		      notification_server_get_dnd_rep *rep)
{
	rep->on = nq_dnd(queue);
	return 0;
}

static int on_invoke_action(hv_call *call, const notification_server_invoke_action_req *req,
			    notification_server_invoke_action_rep *rep)
{
	int r = nq_invoke(queue, req->id, req->action, now_ms());
	switch (r) {
	case 0:
		return changed();
	case -ENOENT:
		return hv_call_fail(call, r, "no active notification %u", req->id);
	case -EAGAIN:
		return hv_call_fail(call, r, "notification %u is held (not on screen)", req->id);
	case -EINVAL:
		return hv_call_fail(call, r, "notification %u has no action \"%s\"", req->id,
				    req->action);
	default:
		return r;
	}
}

static int on_watch(hv_call *call, const notification_server_watch_req *req,
		    notification_server_watch_rep *rep)
{
	struct notif_conn *st = conn_state(call);
	if (!st)
		return -ENOMEM;
	st->watching = req->on;
	return 0;
}

const notification_server_handlers nq_handlers = {
	.show = on_show,
	.update = on_update,
	.update_icon = on_update_icon,
	.get_icon = on_get_icon,
	.is_showing = on_is_showing,
	.close = on_close,
	.list = on_list,
	.history = on_history,
	.set_dnd = on_set_dnd,
	.get_dnd = on_get_dnd,
	.invoke_action = on_invoke_action,
	.watch = on_watch,
};

static int on_connect(hv_server *s, hv_conn *c, void *userdata)
{
	struct notif_conn *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->token = next_token++;
	hv_conn_set_userdata(c, st);
	return 0;
}

static void on_disconnect(hv_server *s, hv_conn *c, void *userdata)
{
	struct notif_conn *st = hv_conn_userdata(c);
	if (st)
		nq_forget_owner(queue, st->token);
	free(st);
	hv_conn_set_userdata(c, NULL);
}

int nq_server_attach(hv_server *srv, hv_loop *loop, const nq_config *cfg,
			       const char *state_dir, nq_queue **out)
{
	nq_config c = *cfg;
	c.icon_free = icon_free;
	int r = nq_new(&c, &nq_server_sink, NULL, &queue);
	if (r < 0)
		return r;
	if (state_dir && (r = load_state(state_dir)) < 0)
		return r;
	r = hv_loop_add_timer(loop, UINT64_MAX / 2, 0, on_timer, NULL, &timer);
	if (r < 0)
		return r;
	rearm();
	server = srv;
	hv_server_on_connect(srv, on_connect, NULL);
	hv_server_on_disconnect(srv, on_disconnect, NULL);
	*out = queue;
	return 0;
}

void nq_server_detach(void)
{
	hv_timer_free(timer);
	timer = NULL;
	nq_free(queue);
	queue = NULL;
	server = NULL;
	hv_close(&state_dirfd);
}
