/* db.c — the XDG directories read into one lch_db (db.h): desktop entries
 * by ID with directory precedence, the MIME database, the mimeapps.list
 * files, and the spec's algorithms for defaults and associations. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <haven/log.h>

#include "db.h"

/* The home directory (hv_xdg_path: the spec's default when unset or
 * relative), then the system list (relative entries are invalid: skipped). */
static int push_env_dirs(hv_strv *v, enum hv_xdg kind, const char *dirs_var,
			 const char *dirs_default, bool *has_home)
{
	_hv_free_ char *home = NULL;
	int r = hv_xdg_path(kind, NULL, &home);
	*has_home = r >= 0;
	if (r >= 0)
		r = hv_strv_push(v, home);
	else if (r == -ENOENT)
		r = 0; /* no $HOME either: the system directories alone */
	const char *dirs = getenv(dirs_var);
	if (!dirs || !*dirs)
		dirs = dirs_default;
	char buf[4096];
	for (const char *p = dirs; *p && r >= 0;) {
		size_t n = strcspn(p, ":");
		if (n && p[0] == '/' && n < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
			r = hv_strv_push_unique(v, buf);
		}
		p += n;
		if (*p)
			p++;
	}
	return r;
}

int lch_paths_from_env(struct lch_paths *p)
{
	*p = (struct lch_paths){0};
	bool has_home;
	int r = push_env_dirs(&p->data_dirs, HV_XDG_DATA, "XDG_DATA_DIRS",
			      "/usr/local/share:/usr/share", &has_home);
	if (r >= 0)
		r = push_env_dirs(&p->config_dirs, HV_XDG_CONFIG, "XDG_CONFIG_DIRS", "/etc/xdg",
				  &has_home);
	if (r >= 0 && has_home)
		p->config_home = p->config_dirs.v[0];
	const char *d = getenv("XDG_CURRENT_DESKTOP");
	if (r >= 0 && d && *d && !(p->desktops = strdup(d)))
		r = -ENOMEM;
	const char *l = getenv("LC_ALL");
	if (!l || !*l)
		l = getenv("LC_MESSAGES");
	if (!l || !*l)
		l = getenv("LANG");
	if (r >= 0 && l && *l && !(p->locale = strdup(l)))
		r = -ENOMEM;
	if (r < 0)
		lch_paths_clear(p);
	return r;
}

void lch_paths_clear(struct lch_paths *p)
{
	hv_strv_clear(&p->data_dirs);
	hv_strv_clear(&p->config_dirs);
	free(p->desktops);
	free(p->locale);
	*p = (struct lch_paths){0};
}

void lch_db_free(struct lch_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->napps; i++)
		lch_app_free(db->apps[i]);
	free(db->apps);
	lch_mime_free(db->mime);
	for (size_t i = 0; i < db->nlists; i++)
		lch_mimeapps_clear(&db->lists[i]);
	free(db->lists);
	free(db);
}

static struct lch_app *find_any(const struct lch_db *db, const char *id)
{
	for (size_t i = 0; i < db->napps; i++)
		if (!strcmp(db->apps[i]->id, id))
			return db->apps[i];
	return NULL;
}

const struct lch_app *lch_db_app(const struct lch_db *db, const char *id)
{
	const struct lch_app *a = find_any(db, id);
	return a && a->installed ? a : NULL;
}

/* One .desktop file: parsed, and kept unless an entry of a more
 * important directory has its ID already. */
static int load_entry(struct lch_db *db, int dirfd, const char *name, const char *path,
		      const char *id, unsigned dir)
{
	if (find_any(db, id))
		return 0;
	uint8_t *text = NULL;
	size_t len;
	int r = hv_read_file_at(dirfd, name, 0, 1u << 20, &text, &len);
	if (r < 0) {
		hv_log_warn("%s: %s: skipped", path, strerror(-r));
		db->problems++;
		return 0;
	}
	char err[512];
	struct lch_app *a = NULL;
	r = lch_desktop_parse((const char *)text, len, path, db->paths->locale, &a, err,
			      sizeof(err));
	free(text);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		hv_log_warn("%s: skipped", err);
		db->problems++;
		return 0;
	}
	if (!a)
		return 0;
	a->dir = dir;
	a->installed = !a->hidden && (!a->try_exec || lch_find_program(a->try_exec));
	struct lch_app **v = realloc(db->apps, (db->napps + 1) * sizeof(*v));
	if (!v || !(a->id = strdup(id))) {
		if (v)
			db->apps = v;
		lch_app_free(a);
		return -ENOMEM;
	}
	db->apps = v;
	db->apps[db->napps++] = a;
	return 0;
}

/* Every .desktop under dirfd (prefix: the ID so far, "kde-" for kde/). */
static int scan_dir(struct lch_db *db, int dirfd, const char *path, const char *prefix,
		    unsigned dir, int depth)
{
	DIR *d = hv_opendir_at(dirfd);
	if (!d)
		return 0;
	int r = 0;
	for (struct dirent *e; r >= 0 && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096], id[1024];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		size_t n = strlen(e->d_name);
		if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
			int fd = openat(dirfd, e->d_name,
					O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (fd >= 0) {
				if (depth < 8 && snprintf(id, sizeof(id), "%s%s-", prefix,
							  e->d_name) < (int)sizeof(id))
					r = scan_dir(db, fd, sub, id, dir, depth + 1);
				close(fd);
				continue;
			}
		}
		if (n > 8 && !strcmp(e->d_name + n - 8, ".desktop") &&
		    snprintf(id, sizeof(id), "%s%s", prefix, e->d_name) < (int)sizeof(id))
			r = load_entry(db, dirfd, e->d_name, sub, id, dir);
	}
	closedir(d);
	return r;
}

static int load_list(struct lch_db *db, const char *path, int data_dir)
{
	uint8_t *text = NULL;
	size_t len;
	int r = hv_read_file_at(AT_FDCWD, path, 0, 4u << 20, &text, &len);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0) {
		hv_log_warn("%s: %s: skipped", path, strerror(-r));
		db->problems++;
		return 0;
	}
	struct lch_mimeapps *v = realloc(db->lists, (db->nlists + 1) * sizeof(*v));
	if (!v) {
		free(text);
		return -ENOMEM;
	}
	db->lists = v;
	char err[512];
	r = lch_mimeapps_parse((const char *)text, len, path, &db->lists[db->nlists], err,
			       sizeof(err));
	free(text);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		hv_log_warn("%s: skipped", err);
		db->problems++;
		return 0;
	}
	db->lists[db->nlists++].data_dir = data_dir;
	return 0;
}

/* DIR/$desktop-mimeapps.list for each desktop (lowercased), then
 * DIR/mimeapps.list. */
static int load_lists_of(struct lch_db *db, const char *dir, int data_dir)
{
	char path[4096];
	const char *d = db->paths->desktops;
	int r = 0;
	while (d && *d && r >= 0) {
		size_t n = strcspn(d, ":");
		if (n && n < 256) {
			char lower[256];
			for (size_t i = 0; i < n; i++)
				lower[i] = (char)((d[i] >= 'A' && d[i] <= 'Z') ? d[i] + 32 : d[i]);
			lower[n] = '\0';
			snprintf(path, sizeof(path), "%s/%s-mimeapps.list", dir, lower);
			r = load_list(db, path, data_dir);
		}
		d += n;
		if (*d)
			d++;
	}
	snprintf(path, sizeof(path), "%s/mimeapps.list", dir);
	return r < 0 ? r : load_list(db, path, data_dir);
}

int lch_db_load(const struct lch_paths *paths, struct lch_db **out)
{
	_hv_cleanup_(lch_db_freep) struct lch_db *db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->paths = paths;
	const hv_strv *data = &paths->data_dirs;
	char path[4096];
	int r = 0;
	for (size_t i = 0; i < data->n && r >= 0; i++) {
		snprintf(path, sizeof(path), "%s/applications", data->v[i]);
		_hv_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			r = scan_dir(db, fd, path, "", (unsigned)i, 0);
	}
	for (size_t i = 0; i < paths->config_dirs.n && r >= 0; i++)
		r = load_lists_of(db, paths->config_dirs.v[i], -1);
	for (size_t i = 0; i < data->n && r >= 0; i++) {
		snprintf(path, sizeof(path), "%s/applications", data->v[i]);
		r = load_lists_of(db, path, (int)i);
	}
	hv_strv mime_dirs = {0};
	for (size_t i = 0; i < data->n && r >= 0; i++) {
		snprintf(path, sizeof(path), "%s/mime", data->v[i]);
		r = hv_strv_push(&mime_dirs, path);
	}
	if (r >= 0)
		r = lch_mime_load((const char *const *)mime_dirs.v, mime_dirs.n, paths->magic,
				  &db->mime);
	hv_strv_clear(&mime_dirs);
	if (r < 0)
		return r;
	*out = HV_TAKE_PTR(db);
	return 0;
}

struct pick {
	const struct lch_app **apps;
	size_t n, max;
	hv_strv removed;
};

static void pick_add(const struct lch_db *db, struct pick *p, const char *id)
{
	const struct lch_app *a = lch_db_app(db, id);
	if (!a || p->n >= p->max || hv_strv_contains(&p->removed, id))
		return;
	for (size_t i = 0; i < p->n; i++)
		if (p->apps[i] == a)
			return;
	p->apps[p->n++] = a;
}

static bool lists_type(const struct lch_app *a, const struct lch_db *db, const char *type)
{
	for (size_t i = 0; i < a->mime_types.n; i++)
		if (!strcmp(a->mime_types.v[i], type) ||
		    !strcmp(lch_mime_unalias(db->mime, a->mime_types.v[i]), type))
			return true;
	return false;
}

/* The spec's associations of one type: directory by directory, a list's
 * Added, then its Removed (which hide what less important places add),
 * then the data directory's own desktop entries that list the type. */
static void associations(const struct lch_db *db, const char *type, struct pick *p)
{
	size_t li = 0;
	for (int dir = -1; dir < (int)db->paths->data_dirs.n; dir++) {
		for (; li < db->nlists && db->lists[li].data_dir == dir; li++) {
			const struct lch_mimeapps *l = &db->lists[li];
			const hv_strv *v = lch_mimeapps_find(l->added, l->nadded, type);
			for (size_t k = 0; v && k < v->n; k++)
				pick_add(db, p, v->v[k]);
			v = lch_mimeapps_find(l->removed, l->nremoved, type);
			for (size_t k = 0; v && k < v->n; k++)
				hv_strv_push_unique(&p->removed, v->v[k]);
		}
		for (size_t i = 0; dir >= 0 && i < db->napps; i++)
			if (db->apps[i]->dir == (unsigned)dir && db->apps[i]->installed &&
			    lists_type(db->apps[i], db, type))
				pick_add(db, p, db->apps[i]->id);
	}
}

static const struct lch_app *list_default(const struct lch_db *db, const char *type)
{
	for (size_t li = 0; li < db->nlists; li++) {
		const struct lch_mimeapps *l = &db->lists[li];
		const hv_strv *v = lch_mimeapps_find(l->defaults, l->ndefaults, type);
		for (size_t k = 0; v && k < v->n; k++) {
			const struct lch_app *a = lch_db_app(db, v->v[k]);
			if (a)
				return a;
		}
	}
	return NULL;
}

size_t lch_db_handlers(const struct lch_db *db, const char *type, const struct lch_app **apps,
		       size_t max, bool *has_default)
{
	type = lch_mime_unalias(db->mime, type);
	struct pick p = {.apps = apps, .max = max};
	const struct lch_app *def = list_default(db, type);
	*has_default = def != NULL;
	if (def && max)
		apps[p.n++] = def;
	associations(db, type, &p);
	/* Then the parents' (text/x-csrc → text/plain), as gio does. */
	const char *up[16];
	size_t nup = lch_mime_parents(db->mime, type, up, 16);
	for (size_t i = 0; i < nup; i++) {
		const struct lch_app *pd = list_default(db, up[i]);
		if (pd && !p.n)
			apps[p.n++] = pd;
		hv_strv_clear(&p.removed);
		associations(db, up[i], &p);
	}
	hv_strv_clear(&p.removed);
	return p.n;
}

const struct lch_app *lch_db_default(const struct lch_db *db, const char *type)
{
	const struct lch_app *a[1];
	bool d;
	return lch_db_handlers(db, type, a, 1, &d) ? a[0] : NULL;
}
