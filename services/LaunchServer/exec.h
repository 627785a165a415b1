/* exec.h — the Exec key of a desktop entry (Desktop Entry Specification
 * 1.5, "The Exec key"): its quoting rules and field codes, turned into
 * argument vectors. Never a command line for a shell: the result is an
 * argv for execve, so nothing in a path, a URL or the Exec line itself is
 * ever interpreted by a shell. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <haven/util.h>

/* One parsed argument: quoted ones are literal (their %% already made %),
 * unquoted ones may hold field codes. */
struct lch_exec_arg {
	char *text;
	bool literal;
};

struct lch_exec {
	struct lch_exec_arg *args;
	size_t n;
	bool takes_files; /* %f or %F: local paths only */
	bool takes_urls;  /* %u or %U */
	bool takes_many;  /* %F or %U: one process for every target */
};

/* Parse an Exec value whose string escapes are already resolved
 * (lch_keyfile_unescape). -EINVAL with the reason in err: an unquoted
 * reserved character (space, tab, newline, " ' \ > < ~ | & ; $ * ? # ( ) `),
 * an unterminated quote, a bad escape inside quotes, an unknown field code,
 * a field code inside quotes, %F %U or %i not standing alone, more than one
 * of %f %F %u %U, an empty command. */
int lch_exec_parse(const char *exec, struct lch_exec *out, char *err, size_t err_size);
void lch_exec_clear(struct lch_exec *ex);

/* What a launch opens: a local path (NULL for a remote URL) and its URL. */
struct lch_target {
	const char *path;
	const char *url;
};

/* What %c, %i, %k stand for. */
struct lch_exec_ctx {
	const char *name; /* %c: the localized Name */
	const char *icon; /* %i: "--icon" ICON when not empty */
	const char *file; /* %k: the desktop entry's path */
};

/* The argv of every process to start for targets[0..n): one for %F/%U (or
 * no file code: targets unused), one per target for %f/%u. *argvs is a
 * malloc'd array of *count hv_strv (lch_exec_free_argvs). Deprecated codes
 * (%d %D %n %N %v %m) expand to nothing. -ECANCELED when a target is a
 * remote URL and the Exec takes only files (%f/%F). */
int lch_exec_expand(const struct lch_exec *ex, const struct lch_exec_ctx *ctx,
		    const struct lch_target *targets, size_t n, hv_strv **argvs, size_t *count);
void lch_exec_free_argvs(hv_strv *argvs, size_t count);
