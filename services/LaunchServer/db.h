/* db.h — everything LaunchServer knows, read from the XDG directories in
 * one go and replaced as a whole when they change: the applications, the
 * MIME database, the mimeapps.list files in the spec's order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <haven/util.h>

#include "desktop.h"
#include "mime.h"
#include "mimeapps.h"

/* Where to look, from the environment (lch_paths_from_env). */
struct lch_paths {
	hv_strv data_dirs; /* $XDG_DATA_HOME, then $XDG_DATA_DIRS (default /usr/local/share:/usr/share) */
	hv_strv config_dirs; /* $XDG_CONFIG_HOME, then $XDG_CONFIG_DIRS (default /etc/xdg) */
	/* config_dirs.v[0] when there is a home (set_default writes there), or NULL */
	const char *config_home;
	char *desktops; /* $XDG_CURRENT_DESKTOP, or NULL */
	char *locale;	/* LC_ALL, LC_MESSAGES or LANG, or NULL */
	void *magic;	/* lch_magic_open's, borrowed; NULL: no content sniffing */
};
int lch_paths_from_env(struct lch_paths *p);
void lch_paths_clear(struct lch_paths *p);

struct lch_db {
	struct lch_app **apps; /* by ID, the winning entry of each (Hidden ones too) */
	size_t napps;
	struct lch_mime *mime;
	struct lch_mimeapps *lists; /* precedence order */
	size_t nlists;
	const struct lch_paths *paths;
	unsigned problems; /* malformed entries and lists, each logged with file:line */
};

/* Read everything. Malformed desktop entries and lists are logged
 * ("FILE:LINE: why") and skipped. */
int lch_db_load(const struct lch_paths *paths, struct lch_db **out);
void lch_db_free(struct lch_db *db);
HV_DEFINE_CLEANUP(struct lch_db *, lch_db_free)

/* An installed application (not Hidden, TryExec found), or NULL. */
const struct lch_app *lch_db_app(const struct lch_db *db, const char *id);

/* The applications for type, most preferred first: the spec's default
 * (when installed) then the associations (Added, minus Removed, then
 * MimeType=, directory by directory), then those of its parent types.
 * *is_default says whether apps[0] is a default from a mimeapps.list.
 * Returns how many (at most max). */
size_t lch_db_handlers(const struct lch_db *db, const char *type, const struct lch_app **apps,
		       size_t max, bool *has_default);
/* The default: the first of lch_db_handlers, or NULL. */
const struct lch_app *lch_db_default(const struct lch_db *db, const char *type);
