/* desktop.h — desktop entries (Desktop Entry Specification 1.5) of the
 * XDG data directories: parsed, validated, indexed by desktop file ID. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <haven/util.h>

#include "exec.h"

struct lch_app {
	char *id;     /* desktop file ID: applications/-relative path, '/' → '-' */
	char *file;   /* where it was read */
	unsigned dir; /* index of its data directory (0: $XDG_DATA_HOME, most important) */
	char *name;   /* Name, localized */
	char *generic_name;
	char *icon;
	char *exec_line; /* Exec, unescaped */
	char *try_exec;
	char *path; /* Path=: the working directory */
	struct lch_exec exec;
	hv_strv mime_types, only_show_in, not_show_in;
	bool terminal, no_display, hidden;
	bool installed; /* not Hidden, TryExec found: may be used */
};

/* Parse one desktop entry. file names it in errors; locale picks Name[xx]
 * (lang_COUNTRY@MODIFIER matching as the spec says; NULL: none). Returns
 * 0 with *out NULL for a valid entry that is not an application (Link,
 * Directory); -EINVAL with "FILE:LINE: why" in err for a malformed one
 * (syntax, no [Desktop Entry] first, a missing Type/Name/Exec, a bad
 * Exec, a bad boolean). Hidden=true entries parse (they hide others). */
int lch_desktop_parse(const char *text, size_t len, const char *file, const char *locale,
		      struct lch_app **out, char *err, size_t err_size);
void lch_app_free(struct lch_app *a);
HV_DEFINE_CLEANUP(struct lch_app *, lch_app_free)

/* Whether the entry should be shown on desktop (a ':'-separated
 * XDG_CURRENT_DESKTOP list; NULL or "" means none). */
bool lch_app_shown_in(const struct lch_app *a, const char *desktops);

/* TryExec: an absolute path that is executable, or a name found so on
 * $PATH. */
bool lch_find_program(const char *name);
