/* Clipboard.c — the handlers of ClipboardServer.ipc, one per message, and
 * the change events to subscribed clients.
 *
 * Data never passes through a message body: it arrives as a Buffer (memfd)
 * and leaves as the store's sealed memfd, so a 100 MiB image costs the same
 * as a word to hand out (and, when the sender sealed it, to take in).
 * The one process-wide store is a file-static: a Clipboard process serves
 * exactly one clipboard.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "ClipboardClient.ipc.h"
#include "Clipboard.h"

static clip_store *store;
static hv_server *server;

static hv_buffer rep_buffer(const clip_rep *r)
{
	/* The encoder only needs the fd (it duplicates it) and the size. */
	return (hv_buffer){.fd = r->fd, .data = NULL, .size = r->size, .readonly = true};
}

/* Metadata of an entry as a reply's map: views of the store's strings (alive
 * until the reply is encoded), the array from the call's arena. */
static int fill_meta(hv_call *call, const clip_entry *e, hv_map_string_string *map)
{
	*map = (hv_map_string_string){0};
	if (!e->nmeta)
		return 0;
	map->items = hv_call_calloc(call, e->nmeta, sizeof(*map->items));
	if (!map->items)
		return -ENOMEM;
	for (size_t i = 0; i < e->nmeta; i++)
		map->items[i] = (hv_map_string_string_entry){e->meta_keys[i], e->meta_values[i]};
	map->count = e->nmeta;
	return 0;
}

static int fill_info(hv_call *call, const clip_entry *e, clipboard_server_entry_info *info)
{
	info->serial = e->serial;
	info->time_ms = e->time_ms;
	info->mime_types.items = hv_call_calloc(call, e->nreps, sizeof(*info->mime_types.items));
	info->sizes.items = hv_call_calloc(call, e->nreps, sizeof(*info->sizes.items));
	if (!info->mime_types.items || !info->sizes.items)
		return -ENOMEM;
	for (size_t i = 0; i < e->nreps; i++) {
		info->mime_types.items[i] = e->reps[i].mime;
		info->sizes.items[i] = e->reps[i].size;
	}
	info->mime_types.count = info->sizes.count = e->nreps;
	return fill_meta(call, e, &info->metadata);
}

static int notify_one(hv_conn *c, void *userdata)
{
	const struct clip_client *st = hv_conn_userdata(c); /* the runner's state */
	const clip_entry *e = userdata;
	if (st->subscribed) {
		int r = clipboard_client_clipboard_data_changed(c, e->serial, e->reps[e->nreps - 1].mime);
		if (r < 0)
			hv_log_debug("could not queue a change event: %s", strerror(-r));
	}
	return 0;
}

/* Tell every subscriber (the writer too, if it subscribed) about the
 * current entry; the event names its newest representation. */
static void broadcast_change(void)
{
	const clip_entry *e = clip_store_current(store);
	if (e && server)
		hv_server_foreach(server, notify_one, (void *)e);
}

/* A change the store could not save: the client is told why, in words a
 * person can act on (the state directory full or read-only), with the
 * errno as the error's type. */
static int save_failed(hv_call *call, int r, const char *what)
{
	const char *why = r == -ENOSPC || r == -EDQUOT ? "the state directory is full"
			  : r == -EROFS			 ? "the state directory is read-only"
							 : strerror(-r);
	return hv_call_fail(call, r, "could not %s: %s", what, why);
}

static int check_mime(hv_call *call, const char *mime)
{
	if (clip_mime_valid(mime) < 0)
		return hv_call_fail(call, -EINVAL,
				    "invalid MIME type \"%.64s\" (want type/subtype, printable ASCII, "
				    "at most %u bytes)",
				    mime, CLIP_MAX_MIME_LEN);
	return 0;
}

/* Take the request's Buffer into the store's keeping. */
static int adopt(hv_call *call, const hv_buffer *b, int *fd)
{
	if (b->fd < 0)
		return hv_call_fail(call, -EINVAL, "no data: the Buffer is empty (null)");
	int r = clip_adopt_fd(b->fd, b->size, fd);
	if (r == -EFBIG)
		return hv_call_fail(call, r, "data of %zu bytes is over the limit of %llu", b->size,
				    (unsigned long long)CLIP_MAX_DATA);
	if (r < 0)
		return hv_call_fail(call, r, "could not take the data: %s", strerror(-r));
	return 0;
}

static int on_get_clipboard_data(hv_call *call, const clipboard_server_get_clipboard_data_req *req,
				 clipboard_server_get_clipboard_data_rep *rep)
{
	const clip_entry *e = clip_store_current(store);
	if (!e)
		return hv_call_fail(call, -ENODATA, "the clipboard is empty");
	rep->data = rep_buffer(&e->reps[0]);
	rep->mime_type = e->reps[0].mime;
	return fill_meta(call, e, &rep->metadata);
}

static int on_set_clipboard_data(hv_call *call, const clipboard_server_set_clipboard_data_req *req,
				 clipboard_server_set_clipboard_data_rep *rep)
{
	int r = check_mime(call, req->mime_type);
	if (r < 0)
		return r;
	size_t n = req->metadata.count;
	const char **keys = hv_call_calloc(call, n + 1, sizeof(char *));
	const char **values = hv_call_calloc(call, n + 1, sizeof(char *));
	if (!keys || !values)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		keys[i] = req->metadata.items[i].key;
		values[i] = req->metadata.items[i].value;
	}
	if (clip_metadata_valid(keys, values, n) < 0)
		return hv_call_fail(call, -EINVAL,
				    "invalid metadata (at most %u entries, non-empty unique keys of "
				    "at most %u bytes, values of at most %u)",
				    CLIP_MAX_METADATA, CLIP_MAX_METADATA_KEY,
				    CLIP_MAX_METADATA_VALUE);
	int fd = -1;
	if ((r = adopt(call, &req->data, &fd)) < 0)
		return r;
	r = clip_store_set(store, fd, req->data.size, req->mime_type, keys, values, n,
			   &rep->serial);
	if (r < 0)
		return save_failed(call, r, "store the entry");
	broadcast_change();
	return 0;
}

static int on_add_clipboard_data(hv_call *call, const clipboard_server_add_clipboard_data_req *req,
				 clipboard_server_add_clipboard_data_rep *rep)
{
	int r = check_mime(call, req->mime_type);
	if (r < 0)
		return r;
	int fd = -1;
	if ((r = adopt(call, &req->data, &fd)) < 0)
		return r;
	r = clip_store_add(store, req->serial, fd, req->data.size, req->mime_type);
	switch (r) {
	case 0:
		broadcast_change();
		return 0;
	case -ESTALE:
		return hv_call_fail(call, r, "entry %llu is no longer the current one",
				    (unsigned long long)req->serial);
	case -EEXIST:
		return hv_call_fail(call, r, "the entry has a %s representation already",
				    req->mime_type);
	case -E2BIG:
		return hv_call_fail(call, r, "the entry has %u representations, the most allowed",
				    CLIP_MAX_REPRESENTATIONS);
	default:
		return save_failed(call, r, "store the representation");
	}
}

static int on_get_clipboard_data_as(hv_call *call,
				    const clipboard_server_get_clipboard_data_as_req *req,
				    clipboard_server_get_clipboard_data_as_rep *rep)
{
	const clip_entry *e = clip_store_current(store);
	if (!e)
		return hv_call_fail(call, -ENODATA, "the clipboard is empty");
	const clip_rep *r = clip_entry_rep(e, req->mime_type);
	if (!r)
		return hv_call_fail(call, -ENOENT, "the clipboard has no %s representation",
				    req->mime_type);
	rep->serial = e->serial;
	rep->data = rep_buffer(r);
	rep->mime_type_out = r->mime;
	return fill_meta(call, e, &rep->metadata);
}

static int on_get_clipboard_info(hv_call *call, const clipboard_server_get_clipboard_info_req *req,
				 clipboard_server_get_clipboard_info_rep *rep)
{
	const clip_entry *e = clip_store_current(store);
	rep->entry.present = e != NULL;
	return e ? fill_info(call, e, &rep->entry.value) : 0;
}

static int on_get_history(hv_call *call, const clipboard_server_get_history_req *req,
			  clipboard_server_get_history_rep *rep)
{
	size_t n = clip_store_count(store);
	rep->entries.count = 0;
	rep->entries.items = n ? hv_call_calloc(call, n, sizeof(*rep->entries.items)) : NULL;
	if (n && !rep->entries.items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = fill_info(call, clip_store_at(store, i), &rep->entries.items[i]);
		if (r < 0)
			return r;
	}
	rep->entries.count = n;
	return 0;
}

static int on_get_history_data(hv_call *call, const clipboard_server_get_history_data_req *req,
			       clipboard_server_get_history_data_rep *rep)
{
	const clip_entry *e = clip_store_find(store, req->serial);
	if (!e)
		return hv_call_fail(call, -ENOENT, "no entry %llu in the history",
				    (unsigned long long)req->serial);
	const clip_rep *r = clip_entry_rep(e, req->mime_type);
	if (!r)
		return hv_call_fail(call, -ENOENT, "entry %llu has no %s representation",
				    (unsigned long long)req->serial, req->mime_type);
	rep->data = rep_buffer(r);
	return 0;
}

static int on_restore_history_entry(hv_call *call,
				    const clipboard_server_restore_history_entry_req *req,
				    clipboard_server_restore_history_entry_rep *rep)
{
	const clip_entry *cur = clip_store_current(store);
	if (cur && cur->serial == req->serial) {
		rep->new_serial = req->serial; /* already current: nothing changes */
		return 0;
	}
	int r = clip_store_restore(store, req->serial, &rep->new_serial);
	if (r == -ENOENT)
		return hv_call_fail(call, r, "no entry %llu in the history",
				    (unsigned long long)req->serial);
	if (r < 0)
		return save_failed(call, r, "restore the entry");
	broadcast_change();
	return 0;
}

static int on_clear_history(hv_call *call, const clipboard_server_clear_history_req *req,
			    clipboard_server_clear_history_rep *rep)
{
	int r = clip_store_clear_history(store);
	return r < 0 ? save_failed(call, r, "clear the history") : 0;
}

static int on_subscribe(hv_call *call, const clipboard_server_subscribe_req *req,
			clipboard_server_subscribe_rep *rep)
{
	struct clip_client *st = hv_call_state(call);
	st->subscribed = req->on;
	return 0;
}

const clipboard_server_handlers clip_handlers = {
	.get_clipboard_data = on_get_clipboard_data,
	.set_clipboard_data = on_set_clipboard_data,
	.add_clipboard_data = on_add_clipboard_data,
	.get_clipboard_data_as = on_get_clipboard_data_as,
	.get_clipboard_info = on_get_clipboard_info,
	.get_history = on_get_history,
	.get_history_data = on_get_history_data,
	.restore_history_entry = on_restore_history_entry,
	.clear_history = on_clear_history,
	.subscribe = on_subscribe,
};

int clip_service_open(hv_server *srv, const char *state_dir, size_t history)
{
	int r = clip_store_new(state_dir, history ? history : CLIP_DEFAULT_HISTORY, 0, &store);
	if (r < 0)
		return r;
	server = srv;
	return 0;
}

int clip_service_follow_setting(hv_server *srv)
{
	/* Without a ConfigServer the history keeps its size (config.c logs why):
	 * settings are a convenience, never a reason not to serve. */
	clipboard_follow_config(hv_server_loop(srv), store);
	return 0;
}

void clip_service_close(int exit_code)
{
	clipboard_detach();
	clip_store_free(store);
	store = NULL;
	server = NULL;
}
