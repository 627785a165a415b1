/* keyboard-prefs.c — check and compile keyboard preferences with
 * xkbcommon (keyboard-prefs.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xkbcommon/xkbcommon.h>

#include <haven/util.h>

#include "keyboard-prefs.h"

void kbd_prefs_clear(struct kbd_prefs *p)
{
	free(p->layout);
	free(p->variant);
	free(p->options);
	*p = (struct kbd_prefs){.num_lock = -1};
}

static int dup_or_null(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return s && !*dst ? -ENOMEM : 0;
}

int kbd_prefs_copy(struct kbd_prefs *dst, const struct kbd_prefs *src)
{
	struct kbd_prefs n = *src;
	if (dup_or_null(&n.layout, src->layout) < 0 || dup_or_null(&n.variant, src->variant) < 0 ||
	    dup_or_null(&n.options, src->options) < 0) {
		free(n.layout);
		free(n.variant);
		return -ENOMEM;
	}
	kbd_prefs_clear(dst);
	*dst = n;
	return 0;
}

static bool set(const char *s)
{
	return s && *s;
}

char *kbd_prefs_name(const struct kbd_prefs *p)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s%s%s%s%s", p->layout ? p->layout : "(none)", set(p->variant) ? "(" : "",
		     set(p->variant) ? p->variant : "", set(p->variant) ? ")" : "", set(p->options) ? " [" : "",
		     set(p->options) ? p->options : "", set(p->options) ? "]" : "") < 0)
		return NULL;
	return s;
}

/* xkbcommon's errors, kept to say why a preference does not compile. */
struct why_buf {
	char text[512];
};

static void on_xkb_log(struct xkb_context *ctx, enum xkb_log_level level, const char *fmt, va_list ap)
{
	struct why_buf *w = xkb_context_get_user_data(ctx);
	size_t n = strlen(w->text);
	if (level > XKB_LOG_LEVEL_ERROR || n + 4 >= sizeof(w->text))
		return;
	if (n)
		strcpy(w->text + n, "; "), n += 2;
	vsnprintf(w->text + n, sizeof(w->text) - n, fmt, ap);
	w->text[strcspn(w->text, "\n")] = '\0';
}

/* A name xkbcommon looks up as a file: no path tricks, no spaces. */
static bool xkb_name_ok(const char *s, bool list)
{
	for (; s && *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("_-+:", *s) || (list && *s == ',')))
			return false;
	return true;
}

static int fail(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(why, fmt, ap) < 0)
		*why = NULL;
	va_end(ap);
	return -EINVAL;
}

int kbd_prefs_check(const struct kbd_prefs *p, const char *xkb_root, char **keymap, char **why)
{
	*why = NULL;
	if (keymap)
		*keymap = NULL;
	if (!set(p->layout))
		return fail(why, "no layout");
	if (!xkb_name_ok(p->layout, true) || !xkb_name_ok(p->variant, true) || !xkb_name_ok(p->options, true))
		return fail(why, "layout, variant and options are XKB names (letters, digits, _ - + : ,)");
	if (p->delay && (p->delay < KBD_DELAY_MIN || p->delay > KBD_DELAY_MAX))
		return fail(why, "repeat delay %u ms: between %u and %u", p->delay, KBD_DELAY_MIN, KBD_DELAY_MAX);
	if (p->rate && (p->rate < KBD_RATE_MIN || p->rate > KBD_RATE_MAX))
		return fail(why, "repeat rate %u/s: between %u and %u", p->rate, KBD_RATE_MIN, KBD_RATE_MAX);
	struct why_buf w = {""};
	struct xkb_context *ctx = xkb_context_new(XKB_CONTEXT_NO_DEFAULT_INCLUDES | XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
	if (!ctx)
		return -ENOMEM;
	xkb_context_set_user_data(ctx, &w);
	xkb_context_set_log_fn(ctx, on_xkb_log);
	if (!xkb_context_include_path_append(ctx, xkb_root ? xkb_root : KBD_XKB_ROOT)) {
		xkb_context_unref(ctx);
		return fail(why, "no XKB data in %s (Debian's xkb-data)", xkb_root ? xkb_root : KBD_XKB_ROOT);
	}
	struct xkb_rule_names names = {.rules = "evdev", .model = "pc105", .layout = p->layout,
				       .variant = set(p->variant) ? p->variant : NULL,
				       .options = set(p->options) ? p->options : NULL};
	struct xkb_keymap *km = xkb_keymap_new_from_names(ctx, &names, XKB_KEYMAP_COMPILE_NO_FLAGS);
	xkb_context_unref(ctx);
	if (!km) {
		_hv_free_ char *name = kbd_prefs_name(p);
		return fail(why, "%s does not compile: %s", name ? name : p->layout,
			    w.text[0] ? w.text : "unknown to xkb-data");
	}
	/* An unknown option is logged as an error and ignored by xkbcommon,
	 * and the keymap compiles: refuse it all the same (the person asked
	 * for something that will not happen). */
	int r = 0;
	if (w.text[0]) {
		_hv_free_ char *name = kbd_prefs_name(p);
		r = fail(why, "%s: %s", name ? name : p->layout, w.text);
	} else if (keymap && !(*keymap = xkb_keymap_get_as_string(km, XKB_KEYMAP_FORMAT_TEXT_V1)))
		r = -ENOMEM;
	xkb_keymap_unref(km);
	return r;
}
