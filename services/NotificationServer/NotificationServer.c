/* NotificationServer.c — the handlers of NotificationServer.ipc, one per
 * message, and the events the queue's decisions turn into: what became of a
 * notification goes to its owner only, what the screen shows goes to
 * watchers only.
 *
 * Owners are named by a per-connection token, never by the hv_conn pointer,
 * so an event can never reach a later connection that reuses the memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>

#include "NotificationClient.ipc.h"
#include "NotificationServer.h"
#include "icon_store.h"

static nq_queue *queue;
static hv_server *server;
static hv_timer *timer;
static uint64_t next_token = 1;
static int state_dirfd = -1; /* -1: memory only */

static uint64_t now_ms(void) { return hv_now_ns() / 1000000u; }

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define STATE_FILE "state"
/* Far above what NQ_MAX_ACTIVE + a history can take: a bigger file is not ours. */
#define STATE_MAX_BYTES (64u << 20)

/* An icon whose file is on disk was dropped (closed, or replaced): the next
 * save prunes the directory, instead of every save listing it. */
static bool icon_files_stale;

/* For nq_icon_prune: whether the queue ud (the one on disk) has id with
 * an icon. */
static bool icon_file_wanted(uint32_t id, void *ud)
{
	const nq_notification *n = nq_find(ud, id);
	return n && n->icon;
}

/* Write q's state durably (hv_replace_file_at: temp file, fsync, rename,
 * fsync of the directory), its new icons first: the state that names one
 * is never on disk before it. 0 or a negative errno (logged); on failure
 * the state on disk is the previous one. */
static int save(const nq_queue *q)
{
	for (size_t i = 0; i < nq_active_count(q); i++) {
		const nq_notification *n = nq_active_any(q, i);
		nq_icon *icon = n->icon;
		int r = icon && !icon->saved ? nq_icon_save(state_dirfd, n->id, icon) : 0;
		if (r < 0)
			return hv_log_errno(r, "Failed to save the icon of notification %u", n->id);
	}
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r = nq_serialize(q, &data, &len);
	if (r < 0)
		return hv_log_errno(r, "Failed to serialize the notification state");
	r = hv_replace_file_data_at(state_dirfd, STATE_FILE, 0600, 0, data, len, NULL);
	if (r < 0)
		return hv_log_errno(r, "Failed to save the notification state");
	if (icon_files_stale) {
		nq_icon_prune(state_dirfd, icon_file_wanted, (void *)q);
		icon_files_stale = false;
	}
	return 0;
}

/* Temp files of a save that never finished (".state.XXXXXX"; the icons'
 * go with nq_icon_prune): never acknowledged. */
static void remove_stale_temps(void)
{
	DIR *d = hv_opendir_at(state_dirfd);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		if (!strncmp(e->d_name, "." STATE_FILE ".", sizeof(STATE_FILE) + 1))
			unlinkat(state_dirfd, e->d_name, 0);
	closedir(d);
}

/* The icons of the restored notifications: a file that is not an icon
 * (or not a regular file) is refused, its notification kept without it. */
static size_t load_icons(void)
{
	size_t icons = 0;
	for (size_t i = 0; i < nq_active_count(queue); i++) {
		uint32_t id = nq_active_any(queue, i)->id;
		nq_icon *icon = NULL;
		int r = nq_icon_load(state_dirfd, id, &icon);
		if (r == 0 && nq_restore_icon(queue, id, icon) == 0)
			icons++;
		else if (r < 0 && r != -ENOENT)
			hv_log_warn("ignoring the icon of notification %u: %s", id, strerror(-r));
	}
	return icons;
}

static int load_state(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return hv_log_errno(-errno, "Failed to create %s", dir);
	state_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (state_dirfd < 0)
		return hv_log_errno(-errno, "Failed to open %s", dir);
	remove_stale_temps();
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	/* Never blocks: a FIFO (or device, socket, symlink) there is refused. */
	int r = hv_read_file_at(state_dirfd, STATE_FILE, O_NOFOLLOW, STATE_MAX_BYTES, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -EINVAL || r == -ELOOP || r == -EFBIG) {
		hv_log_warn("ignoring %s/%s: %s", dir, STATE_FILE,
			    r == -EFBIG ? "too large for a state file" : "not a regular file");
		return 0;
	}
	if (r < 0)
		return hv_log_errno(r, "Failed to read %s/%s", dir, STATE_FILE);
	r = nq_restore(queue, data, len, now_ms());
	if (r < 0) {
		hv_log_warn("ignoring %s/%s: %s (starting empty)", dir, STATE_FILE, strerror(-r));
		return 0;
	}
	size_t icons = load_icons();
	nq_icon_prune(state_dirfd, icon_file_wanted, queue);
	hv_log_info("restored %zu active (%zu with an icon) and %zu past notifications",
		    nq_active_count(queue), icons, nq_history_count(queue));
	return 0;
}

static uint64_t caller_token(hv_call *call)
{
	const struct nq_conn *st = hv_call_state(call);
	return st->token;
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
	const struct nq_conn *st = hv_conn_userdata(c);
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
	const struct nq_conn *st = hv_conn_userdata(c);
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

static const nq_sink nq_server_sink = {on_shown, on_updated, on_closed, on_action, on_dnd};

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

/* Expiry is nobody's request: it happens, and a failed save is logged
 * (a respawn shows the expired ones again, for their timeout). */
static void on_timer(hv_loop *loop, hv_timer *t, void *userdata)
{
	nq_tick(queue, now_ms());
	if (state_dirfd >= 0)
		save(queue);
	rearm();
}

/* A change's arguments, and what it hands back. The icon is borrowed by
 * the dry run and taken by the queue itself (then NULL here). */
struct change {
	hv_call *call;
	uint64_t now;
	uint32_t id;
	const char *title, *text, *icon_path;
	void *icon;
	unsigned urgency;
	int32_t timeout_ms;
	size_t nactions;
	const char *const *ids, *const *labels;
	const char *action;
	enum nq_reason reason;
	bool on;
	bool not_saved; /* commit() failed to save it, and told the client why */
};

/* What a request changes: made twice by commit(), on a dry run and then
 * on the queue, with the same clocks. 0 or a negative errno. */
typedef int (*change_fn)(nq_queue *q, struct change *ch);

/* Why a change could not be saved, for the client. */
static int save_failed(hv_call *call, int r)
{
	const char *why = r == -ENOSPC || r == -EDQUOT ? "the state directory is full"
			  : r == -EROFS			? "the state directory is read-only"
							: "the state directory refused it";
	return hv_call_fail(call, r, "not saved, so not done: %s (%s)", why, strerror(-r));
}

/* Acknowledged means on disk. The change is made on a copy of the queue
 * first (nq_clone: no events, icons borrowed), which is saved; only then
 * is it made on the queue itself, where it sends its events, and the
 * reply goes out. When the save fails the queue is as before the request
 * (but for the ids the copy handed out, which are never handed out again)
 * and the client gets the typed error. */
static int commit(struct change *ch, change_fn change)
{
	int64_t wall = wall_ms();
	int r;
	if (state_dirfd >= 0) {
		_hv_cleanup_(nq_freep) nq_queue *dry = NULL;
		if ((r = nq_clone(queue, &dry)) < 0)
			return r;
		nq_set_wall(dry, wall);
		if ((r = change(dry, ch)) < 0)
			return r; /* refused: nothing to save */
		if ((r = save(dry)) < 0) {
			nq_skip_ids(queue, nq_next_id(dry));
			ch->not_saved = true;
			return save_failed(ch->call, r);
		}
	}
	nq_set_wall(queue, wall);
	r = change(queue, ch);
	nq_set_wall(queue, 0);
	if (r < 0 && state_dirfd >= 0) /* out of memory since the dry run: on disk, not here */
		hv_log_errno(r, "Failed to make a saved change");
	/* Icons the change dropped (the dry run only borrowed them): their
	 * files go now that the state naming them is gone from disk. */
	if (state_dirfd >= 0 && icon_files_stale) {
		nq_icon_prune(state_dirfd, icon_file_wanted, queue);
		icon_files_stale = false;
	}
	rearm();
	return r;
}

/* --- icons ------------------------------------------------------------------ */

static void icon_free(void *icon)
{
	if (icon && ((nq_icon *)icon)->saved)
		icon_files_stale = true;
	nq_icon_free(icon);
}
static void icon_freep(void **icon) { icon_free(*icon); }

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

/* The client a notification is charged to (fair share): a process, by
 * uid and pid, whichever connection it uses. */
static uint64_t caller_client(hv_call *call)
{
	const struct ucred *cr = hv_call_peer(call);
	return cr ? (uint64_t)cr->uid << 32 | (uint32_t)cr->pid : 0;
}

static void *give_icon(nq_queue *q, struct change *ch)
{
	void *icon = ch->icon;
	if (q == queue)
		ch->icon = NULL;
	return icon;
}

static int change_show(nq_queue *q, struct change *ch)
{
	return nq_show(q, caller_token(ch->call), caller_client(ch->call), ch->title, ch->text,
		       ch->icon_path, give_icon(q, ch), ch->urgency, ch->timeout_ms, ch->nactions,
		       ch->ids, ch->labels, ch->now, &ch->id);
}

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
	const char *why = NULL;
	if (nq_validate(req->title, req->text, (unsigned)req->urgency, req->timeout_ms, na, ids,
			labels, &why) < 0)
		return hv_call_fail(call, -EINVAL, "%s", why);
	if (strlen(req->icon_path) > NQ_MAX_ICON_PATH)
		return hv_call_fail(call, -EINVAL, "icon path over %u bytes", NQ_MAX_ICON_PATH);
	_hv_cleanup_(icon_freep) void *icon = NULL;
	if (req->icon.present) {
		int r = take_icon(call, &req->icon.value, &icon);
		if (r < 0)
			return r;
	}
	struct change ch = {.call = call, .now = now_ms(), .title = req->title, .text = req->text,
			    .icon_path = req->icon_path, .icon = HV_TAKE_PTR(icon),
			    .urgency = (unsigned)req->urgency, .timeout_ms = req->timeout_ms,
			    .nactions = na, .ids = ids, .labels = labels};
	int r = commit(&ch, change_show);
	icon = ch.icon; /* not taken: ours to free */
	if (ch.not_saved)
		return r;
	if (r == -EDQUOT)
		return hv_call_fail(call, r,
				    "this client (pid %d) has %u active notifications, the most allowed",
				    (int)(caller_client(call) & 0xffffffffu), NQ_MAX_PER_CLIENT);
	if (r == -ENOSPC)
		return hv_call_fail(call, r, "too many notifications (%u active)", NQ_MAX_ACTIVE);
	if (r < 0)
		return hv_call_fail(call, r, "could not show the notification: %s", strerror(-r));
	rep->id = ch.id;
	return 0;
}

static int change_update(nq_queue *q, struct change *ch)
{
	return nq_update(q, ch->id, ch->title, ch->text, false, NULL, NULL, ch->now);
}

static int on_update(hv_call *call, const notification_server_update_req *req,
		     notification_server_update_rep *rep)
{
	struct change ch = {.call = call, .now = now_ms(), .id = req->id, .title = req->title,
			    .text = req->text};
	int r = commit(&ch, change_update);
	if (r == -EINVAL && !ch.not_saved)
		return hv_call_fail(call, r, "title must be 1 to %u bytes, text at most %u",
				    NQ_MAX_TITLE, NQ_MAX_TEXT);
	if (r < 0 && r != -ENOENT)
		return r;
	rep->still_showing = r == 0;
	return 0;
}

static int change_icon(nq_queue *q, struct change *ch)
{
	return nq_update(q, ch->id, NULL, NULL, true, ch->icon_path, give_icon(q, ch), ch->now);
}

static int on_update_icon(hv_call *call, const notification_server_update_icon_req *req,
			  notification_server_update_icon_rep *rep)
{
	if (!nq_find(queue, req->id)) {
		rep->still_showing = false;
		return 0;
	}
	if (strlen(req->icon_path) > NQ_MAX_ICON_PATH)
		return hv_call_fail(call, -EINVAL, "icon path over %u bytes", NQ_MAX_ICON_PATH);
	_hv_cleanup_(icon_freep) void *icon = NULL;
	if (req->icon.present) {
		int r = take_icon(call, &req->icon.value, &icon);
		if (r < 0)
			return r;
	}
	struct change ch = {.call = call, .now = now_ms(), .id = req->id,
			    .icon_path = req->icon_path, .icon = HV_TAKE_PTR(icon)};
	int r = commit(&ch, change_icon);
	icon = ch.icon;
	if (r < 0 && r != -ENOENT)
		return r;
	rep->still_showing = r == 0;
	return 0;
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

static int change_close(nq_queue *q, struct change *ch)
{
	return nq_close(q, ch->id, ch->reason, ch->now);
}

static int on_close(hv_call *call, const notification_server_close_req *req,
		    notification_server_close_rep *rep)
{
	const nq_notification *n = nq_find(queue, req->id);
	if (!n)
		return hv_call_fail(call, -ENOENT, "no active notification %u", req->id);
	bool own = n->owner && n->owner == caller_token(call);
	struct change ch = {.call = call, .now = now_ms(), .id = req->id,
			    .reason = own ? NQ_REASON_CLOSED : NQ_REASON_DISMISSED};
	return commit(&ch, change_close);
}

static int fill_list(hv_call *call, size_t n, const nq_notification *const *list,
		     hv_vec_notification_server_info *out)
{
	out->count = 0;
	out->items = n ? hv_call_calloc(call, n, sizeof(*out->items)) : NULL;
	if (n && !out->items)
		return -ENOMEM;
	uint64_t token = caller_token(call);
	for (size_t i = 0; i < n; i++) {
		int r = fill_info(list[i], token, &out->items[i], call_alloc, call);
		if (r < 0)
			return r;
	}
	out->count = n;
	return 0;
}

static int on_list(hv_call *call, const notification_server_list_req *req,
		   notification_server_list_rep *rep)
{
	const nq_notification **list = hv_call_calloc(call, nq_active_count(queue) + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	return fill_list(call, nq_active_list(queue, list), list, &rep->notifications);
}

static int on_history(hv_call *call, const notification_server_history_req *req,
		      notification_server_history_rep *rep)
{
	size_t n = nq_history_count(queue);
	if (req->max && req->max < n)
		n = req->max;
	const nq_notification **list = hv_call_calloc(call, n + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		list[i] = nq_history(queue, i);
	return fill_list(call, n, list, &rep->notifications);
}

static int change_dnd(nq_queue *q, struct change *ch)
{
	nq_set_dnd(q, ch->on, ch->now);
	return 0;
}

static int on_set_dnd(hv_call *call, const notification_server_set_dnd_req *req,
		      notification_server_set_dnd_rep *rep)
{
	struct change ch = {.call = call, .now = now_ms(), .on = req->on};
	return commit(&ch, change_dnd);
}

static int on_get_dnd(hv_call *call, const notification_server_get_dnd_req *req,
		      notification_server_get_dnd_rep *rep)
{
	rep->on = nq_dnd(queue);
	return 0;
}

static int change_invoke(nq_queue *q, struct change *ch)
{
	return nq_invoke(q, ch->id, ch->action, ch->now);
}

static int on_invoke_action(hv_call *call, const notification_server_invoke_action_req *req,
			    notification_server_invoke_action_rep *rep)
{
	struct change ch = {.call = call, .now = now_ms(), .id = req->id, .action = req->action};
	int r = commit(&ch, change_invoke);
	if (ch.not_saved)
		return r;
	switch (r) {
	case 0:
		return 0;
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
	struct nq_conn *st = hv_call_state(call);
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

int nq_conn_init(hv_conn *c, void *state)
{
	struct nq_conn *st = state;
	st->token = next_token++;
	return 0;
}

void nq_conn_fini(hv_conn *c, void *state)
{
	const struct nq_conn *st = state;
	if (queue)
		nq_forget_owner(queue, st->token);
}

int nq_server_setup(hv_server *srv, const char **state_dir, unsigned max_visible, unsigned history)
{
	static char dir[4096];
	int r = hv_state_dir_arg(*state_dir, "NotificationServer", dir, sizeof(dir), state_dir);
	if (r < 0)
		return r;
	nq_config cfg = {.default_timeout_ms = {-1, -1, -1},
			 .max_visible = max_visible,
			 .history_max = history,
			 .max_per_client = NQ_MAX_PER_CLIENT,
			 .icon_free = icon_free};
	if ((r = nq_new(&cfg, &nq_server_sink, NULL, &queue)) < 0)
		return hv_log_errno(r, "Failed to set up the queue");
	if (*state_dir && (r = load_state(*state_dir)) < 0)
		return r;
	r = hv_loop_add_timer(hv_server_loop(srv), UINT64_MAX / 2, 0, on_timer, NULL, &timer);
	if (r < 0)
		return hv_log_errno(r, "Failed to set up the expiry timer");
	rearm();
	server = srv;
	return 0;
}

void nq_server_teardown(int exit_code)
{
	hv_timer_free(timer);
	timer = NULL;
	nq_free(queue);
	queue = NULL;
	server = NULL;
	hv_close(&state_dirfd);
}
