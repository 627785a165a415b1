/* LaunchServer.c — the handlers of LaunchServer.ipc, one per message, and
 * each connection's allowlist (SerenityOS's ConnectionFromClient). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <haven/log.h>

#include "LaunchServer.h"
#include "url.h"

#define LCH_MAX_HANDLERS 256
#define LCH_SNIFF_BYTES	 (64u << 10) /* what libmagic sees of a file */

/* --- the allowlist ----------------------------------------------------- */

void lch_client_fini(hv_conn *c, void *state)
{
	(void)c;
	struct lch_client *cl = state;
	for (size_t i = 0; i < cl->nallowed; i++) {
		free(cl->allowed[i].handler);
		hv_strv_clear(&cl->allowed[i].urls);
	}
	free(cl->allowed);
}

/* SerenityOS checks the list once it has an entry; Haven also once it is
 * sealed, so sealing an empty list allows nothing (SerenityOS: anything).
 * url NULL (launch): only handlers allowed with any URL. */
static bool allowed(const struct lch_client *cl, const char *handler, const char *url)
{
	if (!cl->nallowed && !cl->sealed)
		return true;
	_hv_free_ char *bare = url ? lch_url_strip_fragment(url) : NULL;
	for (size_t i = 0; i < cl->nallowed; i++) {
		const struct lch_allowed *a = &cl->allowed[i];
		if (strcmp(a->handler, handler))
			continue;
		if (a->any_url || (bare && hv_strv_contains(&a->urls, bare)))
			return true;
	}
	return false;
}

static int refuse(hv_call *call, const char *handler, const char *url)
{
	const struct ucred *peer = hv_call_peer(call);
	hv_log_warn("refused: pid %d asked for %s with '%s', outside its allowlist", (int)peer->pid,
		    url ? url : "a launch", *handler ? handler : "the default handler");
	return launch_server_error(call, LAUNCH_SERVER_ERR_NOT_ALLOWED,
				   "%s with %s is not in this connection's allowlist",
				   url ? url : "launching",
				   *handler ? handler : "the default handler");
}

static int add_entry(hv_call *call, const char *handler, bool any_url, const char *const *urls,
		     size_t n)
{
	struct lch_client *cl = hv_call_state(call);
	if (cl->sealed)
		return launch_server_error(call, LAUNCH_SERVER_ERR_SEALED,
					   "the allowlist is sealed: nothing may be added");
	for (size_t i = 0; i < n; i++) {
		struct lch_url u;
		const char *why;
		if (lch_url_parse(urls[i], &u, &why) < 0)
			return launch_server_error(call, LAUNCH_SERVER_ERR_INVALID_URL, "'%s': %s",
						   urls[i], why);
		lch_url_clear(&u);
	}
	struct lch_allowed *v = realloc(cl->allowed, (cl->nallowed + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	cl->allowed = v;
	struct lch_allowed a = {.handler = strdup(handler), .any_url = any_url};
	int r = a.handler ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		_hv_free_ char *bare = lch_url_strip_fragment(urls[i]);
		r = bare ? hv_strv_push(&a.urls, bare) : -ENOMEM;
	}
	if (r < 0) {
		free(a.handler);
		hv_strv_clear(&a.urls);
		return r;
	}
	cl->allowed[cl->nallowed++] = a;
	return 0;
}

static int on_add_allowed_url(hv_call *call, const launch_server_add_allowed_url_req *req,
			      launch_server_add_allowed_url_rep *rep)
{
	(void)rep;
	return add_entry(call, "", false, &req->url, 1);
}

static int
on_add_allowed_handler_with_any_url(hv_call *call,
				    const launch_server_add_allowed_handler_with_any_url_req *req,
				    launch_server_add_allowed_handler_with_any_url_rep *rep)
{
	(void)rep;
	if (!*req->handler)
		return hv_call_fail(call, -EINVAL, "an empty handler name");
	return add_entry(call, req->handler, true, NULL, 0);
}

static int on_add_allowed_handler_with_only_specific_urls(
	hv_call *call, const launch_server_add_allowed_handler_with_only_specific_urls_req *req,
	launch_server_add_allowed_handler_with_only_specific_urls_rep *rep)
{
	(void)rep;
	if (!*req->handler)
		return hv_call_fail(call, -EINVAL, "an empty handler name");
	if (!req->urls.count)
		return hv_call_fail(call, -EINVAL, "an empty URL list");
	return add_entry(call, req->handler, false, req->urls.items, req->urls.count);
}

static int on_seal_allowlist(hv_call *call, const launch_server_seal_allowlist_req *req,
			     launch_server_seal_allowlist_rep *rep)
{
	(void)req;
	(void)rep;
	struct lch_client *cl = hv_call_state(call);
	if (cl->sealed)
		return launch_server_error(call, LAUNCH_SERVER_ERR_SEALED,
					   "the allowlist is already sealed");
	cl->sealed = true;
	return 0;
}

/* --- what a target is ------------------------------------------------- */

struct target {
	char mime[256];
	const char *by;
	char *url;  /* canonical */
	char *path; /* local path or NULL */
};

static void target_clear(struct target *t)
{
	free(t->url);
	free(t->path);
}

/* The first bytes of a regular file, from the client's fd, else opened
 * here (the view may not include it: then by name only). */
static ssize_t sniff(const char *path, const hv_opt_file *content, uint8_t *buf, size_t size)
{
	_hv_close_ int own = -1;
	int fd = content && content->present ? content->value : -1;
	if (fd < 0) {
		own = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		fd = own;
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	ssize_t n = pread(fd, buf, size, 0);
	return n;
}

static int classify_path(hv_call *call, const char *path, const hv_opt_file *content,
			 struct target *t)
{
	if (path[0] != '/')
		return launch_server_error(call, LAUNCH_SERVER_ERR_NO_SUCH_FILE,
					   "'%s' is not an absolute path", path);
	struct stat st;
	if (stat(path, &st) < 0)
		return launch_server_error(call, LAUNCH_SERVER_ERR_NO_SUCH_FILE, "%s: %s", path,
					   strerror(errno));
	if (!(t->path = strdup(path)) || !(t->url = lch_url_from_path(path)))
		return -ENOMEM;
	if (S_ISDIR(st.st_mode)) {
		snprintf(t->mime, sizeof(t->mime), "inode/directory");
		t->by = "directory";
		return 0;
	}
	_hv_free_ uint8_t *buf = malloc(LCH_SNIFF_BYTES);
	if (!buf)
		return -ENOMEM;
	ssize_t n = sniff(path, content, buf, LCH_SNIFF_BYTES);
	return lch_mime_classify(lch.db->mime, path, n >= 0 ? buf : NULL, n >= 0 ? (size_t)n : 0,
				 t->mime, sizeof(t->mime), &t->by);
}

static int classify_url(hv_call *call, const char *url, struct target *t)
{
	struct lch_url u;
	const char *why;
	if (lch_url_parse(url, &u, &why) < 0)
		return launch_server_error(call, LAUNCH_SERVER_ERR_INVALID_URL, "%s", why);
	if (u.path) {
		int r = classify_path(call, u.path, NULL, t);
		lch_url_clear(&u);
		return r;
	}
	snprintf(t->mime, sizeof(t->mime), "x-scheme-handler/%s", u.scheme);
	t->by = "scheme";
	return (t->url = strdup(url)) ? 0 : -ENOMEM;
}

/* --- starting ------------------------------------------------------------ */

static int start_app(hv_call *call, const struct lch_app *app, const struct target *t,
		     int32_t *pid_out)
{
	struct lch_target tg = {.path = t ? t->path : NULL, .url = t ? t->url : NULL};
	struct lch_exec_ctx ctx = {.name = app->name, .icon = app->icon, .file = app->file};
	hv_strv *argvs = NULL;
	size_t n = 0;
	int r = lch_exec_expand(&app->exec, &ctx, &tg, t ? 1 : 0, &argvs, &n);
	if (r == -ECANCELED)
		return launch_server_error(call, LAUNCH_SERVER_ERR_CANNOT_OPEN,
					   "%s opens local files only, not %s", app->id, t->url);
	if (r < 0)
		return r;
	*pid_out = 0;
	for (size_t i = 0; i < n && r >= 0; i++) {
		hv_strv full = {0};
		for (size_t k = 0; app->terminal && k < lch.terminal.n && r >= 0; k++)
			r = hv_strv_push(&full, lch.terminal.v[k]);
		for (size_t k = 0; k < argvs[i].n && r >= 0; k++)
			r = hv_strv_push(&full, argvs[i].v[k]);
		pid_t pid = r >= 0 ? lch_spawn(lch.spawner, full.v, app->path) : r;
		if (pid < 0 && pid != -ENOMEM)
			r = launch_server_error(call, LAUNCH_SERVER_ERR_SPAWN_FAILED, "%s: %s: %s",
						app->id, full.v[0], strerror((int)-pid));
		else if (pid < 0)
			r = pid;
		else {
			hv_log_info("started %s (pid %d) for pid %d: %s", app->id, (int)pid,
				    (int)hv_call_peer(call)->pid, t ? t->url : "no file");
			if (!*pid_out)
				*pid_out = pid;
		}
		hv_strv_clear(&full);
	}
	lch_exec_free_argvs(argvs, n);
	return r;
}

static int pick(hv_call *call, const char *handler, const struct target *t,
		const struct lch_app **out)
{
	if (*handler) {
		*out = lch_db_app(lch.db, handler);
		if (!*out)
			return launch_server_error(call, LAUNCH_SERVER_ERR_NO_SUCH_APPLICATION,
						   "no application '%s'", handler);
		return 0;
	}
	*out = lch_db_default(lch.db, t->mime);
	if (!*out)
		return launch_server_error(call, LAUNCH_SERVER_ERR_NO_HANDLER,
					   "no application opens %s", t->mime);
	return 0;
}

static int open_target(hv_call *call, const char *handler, struct target *t, int32_t *pid,
		       const char **used)
{
	const struct lch_app *app;
	int r = pick(call, handler, t, &app);
	if (r >= 0 && (r = start_app(call, app, t, pid)) >= 0)
		*used = hv_call_strdup(call, app->id);
	return r;
}

static int on_launch(hv_call *call, const launch_server_launch_req *req,
		     launch_server_launch_rep *rep)
{
	if (!allowed(hv_call_state(call), req->handler, NULL))
		return refuse(call, req->handler, NULL);
	const struct lch_app *app = lch_db_app(lch.db, req->handler);
	if (!app)
		return launch_server_error(call, LAUNCH_SERVER_ERR_NO_SUCH_APPLICATION,
					   "no application '%s'", req->handler);
	return start_app(call, app, NULL, &rep->pid);
}

static int on_open_url(hv_call *call, const launch_server_open_url_req *req,
		       launch_server_open_url_rep *rep)
{
	_hv_cleanup_(target_clear) struct target t = {0};
	int r = classify_url(call, req->url, &t);
	if (r < 0)
		return r;
	if (!allowed(hv_call_state(call), req->handler, req->url))
		return refuse(call, req->handler, req->url);
	return open_target(call, req->handler, &t, &rep->pid, &rep->handler_used);
}

static int on_open_file(hv_call *call, const launch_server_open_file_req *req,
			launch_server_open_file_rep *rep)
{
	_hv_cleanup_(target_clear) struct target t = {0};
	_hv_free_ char *url = req->path[0] == '/' ? lch_url_from_path(req->path) : NULL;
	if (url && !allowed(hv_call_state(call), req->handler, url))
		return refuse(call, req->handler, url);
	int r = classify_path(call, req->path, &req->content, &t);
	if (r < 0)
		return r;
	return open_target(call, req->handler, &t, &rep->pid, &rep->handler_used);
}

/* --- questions ----------------------------------------------------------- */

static int handlers_of(hv_call *call, const char *mime, hv_vec_launch_server_handler *out)
{
	const struct lch_app *apps[LCH_MAX_HANDLERS];
	bool has_default;
	size_t n = lch_db_handlers(lch.db, mime, apps, LCH_MAX_HANDLERS, &has_default);
	out->items = hv_call_calloc(call, n ? n : 1, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	out->count = n;
	for (size_t i = 0; i < n; i++)
		out->items[i] = (launch_server_handler){
			.id = apps[i]->id,
			.name = apps[i]->name,
			.icon = apps[i]->icon ? apps[i]->icon : "",
			.exec = apps[i]->exec_line,
			.is_default = i == 0,
		};
	return 0;
}

/* The reply is sent after the target is freed: copy into the call. */
static int fill_class(hv_call *call, const struct target *t, launch_server_classification *c)
{
	*c = (launch_server_classification){.mime_type = hv_call_strdup(call, t->mime),
					    .by = t->by,
					    .url = hv_call_strdup(call, t->url)};
	return c->mime_type && c->url ? 0 : -ENOMEM;
}

static int on_get_handlers_for_url(hv_call *call, const launch_server_get_handlers_for_url_req *req,
				   launch_server_get_handlers_for_url_rep *rep)
{
	_hv_cleanup_(target_clear) struct target t = {0};
	hv_vec_launch_server_handler h;
	int r = classify_url(call, req->url, &t);
	if (r < 0 || (r = handlers_of(call, t.mime, &h)) < 0)
		return r;
	rep->handlers.items = hv_call_calloc(call, h.count ? h.count : 1, sizeof(char *));
	if (!rep->handlers.items)
		return -ENOMEM;
	for (size_t i = 0; i < h.count; i++)
		rep->handlers.items[i] = h.items[i].id;
	rep->handlers.count = h.count;
	return 0;
}

static int
on_get_handlers_with_details_for_url(hv_call *call,
				     const launch_server_get_handlers_with_details_for_url_req *req,
				     launch_server_get_handlers_with_details_for_url_rep *rep)
{
	_hv_cleanup_(target_clear) struct target t = {0};
	int r = classify_url(call, req->url, &t);
	return r < 0 ? r : handlers_of(call, t.mime, &rep->handlers);
}

static int on_get_handlers_for_file(hv_call *call,
				    const launch_server_get_handlers_for_file_req *req,
				    launch_server_get_handlers_for_file_rep *rep)
{
	_hv_cleanup_(target_clear) struct target t = {0};
	int r = classify_path(call, req->path, &req->content, &t);
	if (r < 0 || (r = handlers_of(call, t.mime, &rep->handlers)) < 0)
		return r;
	return fill_class(call, &t, &rep->type);
}

static int on_classify_file(hv_call *call, const launch_server_classify_file_req *req,
			    launch_server_classify_file_rep *rep)
{
	_hv_cleanup_(target_clear) struct target t = {0};
	int r = classify_path(call, req->path, &req->content, &t);
	if (r < 0)
		return r;
	return fill_class(call, &t, &rep->type);
}

static int on_classify_url(hv_call *call, const launch_server_classify_url_req *req,
			   launch_server_classify_url_rep *rep)
{
	_hv_cleanup_(target_clear) struct target t = {0};
	int r = classify_url(call, req->url, &t);
	if (r < 0)
		return r;
	return fill_class(call, &t, &rep->type);
}

static int on_list_applications(hv_call *call, const launch_server_list_applications_req *req,
				launch_server_list_applications_rep *rep)
{
	(void)req;
	const struct lch_db *db = lch.db;
	launch_server_application *v = hv_call_calloc(call, db->napps ? db->napps : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < db->napps; i++) {
		const struct lch_app *a = db->apps[i];
		if (!a->installed)
			continue;
		v[k++] = (launch_server_application){
			.id = a->id,
			.name = a->name,
			.generic_name = a->generic_name ? a->generic_name : "",
			.icon = a->icon ? a->icon : "",
			.exec = a->exec_line,
			.file = a->file,
			.mime_types = {(const char **)a->mime_types.v, a->mime_types.n},
			.terminal = a->terminal,
			.no_display = !lch_app_shown_in(a, lch.paths.desktops),
		};
	}
	rep->applications = (hv_vec_launch_server_application){v, k};
	return 0;
}

static int check_type(hv_call *call, const char *type)
{
	if (!lch_mime_valid(type))
		return launch_server_error(call, LAUNCH_SERVER_ERR_INVALID_TYPE,
					   "'%s' is not TYPE/SUBTYPE", type);
	return 0;
}

static int on_get_default(hv_call *call, const launch_server_get_default_req *req,
			  launch_server_get_default_rep *rep)
{
	int r = check_type(call, req->mime_type);
	if (r < 0)
		return r;
	const struct lch_app *a = lch_db_default(lch.db, req->mime_type);
	if (!a)
		return launch_server_error(call, LAUNCH_SERVER_ERR_NO_HANDLER,
					   "no application opens %s", req->mime_type);
	rep->handler = a->id;
	return 0;
}

static int fill_text(int fd, void *text)
{
	return hv_write_full(fd, text, strlen(text));
}

static int on_set_default(hv_call *call, const launch_server_set_default_req *req,
			  launch_server_set_default_rep *rep)
{
	(void)rep;
	int r = check_type(call, req->mime_type);
	if (r < 0)
		return r;
	if (!lch_db_app(lch.db, req->handler))
		return launch_server_error(call, LAUNCH_SERVER_ERR_NO_SUCH_APPLICATION,
					   "no application '%s'", req->handler);
	const char *home = lch.paths.config_home;
	if (!home)
		return hv_call_fail(call, -ENOENT, "no $XDG_CONFIG_HOME (nor $HOME)");
	_hv_close_ int dirfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return hv_call_fail(call, -errno, "%s: %s", home, strerror(errno));
	uint8_t *old = NULL;
	size_t len;
	r = hv_read_file_at(dirfd, "mimeapps.list", 0, 4u << 20, &old, &len);
	if (r < 0 && r != -ENOENT)
		return hv_call_fail(call, r, "%s/mimeapps.list: %s", home, strerror(-r));
	_hv_free_ char *text = NULL;
	r = lch_mimeapps_with_default((const char *)old, req->mime_type, req->handler, &text);
	free(old);
	if (r >= 0)
		r = hv_replace_file_at(dirfd, "mimeapps.list", 0644, 0, fill_text, text, NULL);
	if (r < 0)
		return hv_call_fail(call, r, "%s/mimeapps.list: %s", home, strerror(-r));
	hv_log_info("%s is the default for %s (asked by pid %d)", req->handler, req->mime_type,
		    (int)hv_call_peer(call)->pid);
	/* Answer the next question with it, without waiting for inotify. */
	return lch_reload();
}

const launch_server_handlers lch_handlers = LAUNCH_SERVER_HANDLERS(
	on_launch, on_open_url, on_open_file, on_get_handlers_for_url,
	on_get_handlers_with_details_for_url, on_get_handlers_for_file, on_add_allowed_url,
	on_add_allowed_handler_with_any_url, on_add_allowed_handler_with_only_specific_urls,
	on_seal_allowlist, on_list_applications, on_get_default, on_set_default, on_classify_file,
	on_classify_url);
