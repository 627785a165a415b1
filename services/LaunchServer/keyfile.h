/* keyfile.h — the freedesktop "key file" format that desktop entries and
 * mimeapps.list share (Desktop Entry Specification 1.5, "Basic format of
 * the file"), parsed exactly. Why not libinih, which SystemServer uses:
 * as Debian builds it, inih ends a value at " ;" (inline comments), which
 * cuts Exec lines and the ";"-separated lists these files are made of
 * ("MimeType=text/plain; image/png;"), accepts ':' as a separator and
 * joins indented lines to the previous value — all three wrong here —
 * and cannot report a duplicate key or group. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <haven/util.h>

/* One key=value line: group is the current [group]; key without its
 * [locale], locale NULL when there is none; value is the raw text after
 * '=' with the spaces around '=' removed (escapes still in it). Returning
 * a negative errno stops the parse with that error. */
typedef int (*lch_keyfile_cb)(const char *group, const char *key, const char *locale,
			      const char *value, unsigned line, void *userdata);

/* Parse text[0..len). A malformed line (no '=', a bad key or group name,
 * invalid UTF-8, a duplicate key in a group, a group repeated, a key before
 * the first group, a NUL byte) is -EINVAL with "FILE:LINE: why" in err. */
#define LCH_KEYFILE_MIME_KEYS 1u /* mimeapps.list: keys are MIME types ('/', '.', '+', '_') */
int lch_keyfile_parse(const char *text, size_t len, const char *file, unsigned flags,
		      lch_keyfile_cb cb, void *userdata, char *err, size_t err_size);

/* A string value with its escapes (\s \n \t \r \\) resolved, malloc'd;
 * -EINVAL for another escape or a trailing backslash. */
int lch_keyfile_unescape(const char *value, char **out);

/* A ";"-separated list ("a;b\;c;" → "a", "b;c"), escapes resolved, empty
 * elements dropped, appended to out. -EINVAL as unescape, -ENOMEM. */
int lch_keyfile_split_list(const char *value, hv_strv *out);

/* "true"/"false" (the spec's booleans; "1"/"0" too, as older files say). */
int lch_keyfile_bool(const char *value, bool *out);
