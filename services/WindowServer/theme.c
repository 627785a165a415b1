/* theme.c — SerenityOS-shaped theme files ([Colors], [Metrics]) parsed
 * with inih through a table of the keys WindowServer draws with. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <haven/log.h>
#include <haven/util.h>

#include "theme.h"

enum key_kind { KEY_COLOR, KEY_METRIC };

struct theme_key {
	const char *section, *name;
	enum key_kind kind;
	size_t offset;
	int min, max; /* metrics */
};

#define COLOR(n, field) {"Colors", n, KEY_COLOR, offsetof(struct ws_theme, field), 0, 0}
#define METRIC(n, field, lo, hi) {"Metrics", n, KEY_METRIC, offsetof(struct ws_theme, field), lo, hi}
static const struct theme_key keys[] = {
	COLOR("DesktopBackground", desktop_background),
	COLOR("ActiveWindowBorder1", active_border),
	COLOR("ActiveWindowTitle", active_title_text),
	COLOR("InactiveWindowBorder1", inactive_border),
	COLOR("InactiveWindowTitle", inactive_title_text),
	/* Haven's: the title bar's own colour (SerenityOS draws a gradient
	 * from Border1 to Border2; a flat bar is Border1 without these). */
	COLOR("ActiveWindowTitleBar", active_title),
	COLOR("InactiveWindowTitleBar", inactive_title),
	COLOR("Window", window),
	COLOR("Button", button),
	COLOR("ButtonText", button_text),
	METRIC("TitleHeight", title_height, 8, 64),
	METRIC("BorderThickness", border_thickness, 0, 32),
	METRIC("TitleButtonWidth", title_button_width, 4, 64),
	METRIC("TitleButtonHeight", title_button_height, 4, 64),
};

void ws_theme_default(struct ws_theme *t)
{
	*t = (struct ws_theme){
		.name = "Default",
		.desktop_background = 0xff505050,
		.active_border = 0xff000080,
		.active_title = 0xff000080,
		.active_title_text = 0xffffffff,
		.inactive_border = 0xff808080,
		.inactive_title = 0xff808080,
		.inactive_title_text = 0xffd4d0c8,
		.window = 0xffd4d0c8,
		.button = 0xffd4d0c8,
		.button_text = 0xff000000,
		.title_height = 19,
		.border_thickness = 4,
		.title_button_width = 15,
		.title_button_height = 15,
	};
}

/* #rrggbb or #rrggbbaa. */
static int parse_color(const char *v, uint32_t *out)
{
	size_t n = strlen(v);
	if (v[0] != '#' || (n != 7 && n != 9) || strspn(v + 1, "0123456789abcdefABCDEF") != n - 1)
		return -EINVAL;
	unsigned long x = strtoul(v + 1, NULL, 16);
	*out = n == 7 ? 0xff000000u | (uint32_t)x : (uint32_t)(x >> 8) | (uint32_t)(x & 0xff) << 24;
	return 0;
}

struct parse_ctx {
	struct ws_theme *t;
	const char *file;
	int err;
	bool title_set[2]; /* ActiveWindowTitleBar, InactiveWindowTitleBar given */
};

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	for (size_t i = 0; i < HV_ARRAY_SIZE(keys); i++) {
		const struct theme_key *k = &keys[i];
		if (strcasecmp(section, k->section) || strcasecmp(name, k->name))
			continue;
		void *field = (char *)p->t + k->offset;
		int64_t n = 0;
		int r = k->kind == KEY_COLOR ? parse_color(value, field)
					      : hv_parse_i64(value, k->min, k->max, &n);
		if (r < 0) {
			if (k->kind == KEY_COLOR)
				hv_log_error("%s: [%s] %s: bad value '%s' (want #rrggbb or #rrggbbaa)",
					     p->file, section, name, value);
			else
				hv_log_error("%s: [%s] %s: bad value '%s' (want an integer from %d to %d)",
					     p->file, section, name, value, k->min, k->max);
			p->err = -EINVAL;
		} else if (k->kind == KEY_METRIC) {
			*(int *)field = (int)n;
		}
		if (k->offset == offsetof(struct ws_theme, active_title))
			p->title_set[0] = true;
		if (k->offset == offsetof(struct ws_theme, inactive_title))
			p->title_set[1] = true;
		return 1;
	}
	return 1; /* a key for something WindowServer does not draw */
}

int ws_theme_parse(struct ws_theme *t, const char *name, const char *text)
{
	ws_theme_default(t);
	struct parse_ctx p = {.t = t, .file = name};
	int r = ini_parse_string(text, on_pair, &p);
	if (r > 0) {
		hv_log_error("%s:%d: not INI syntax", name, r);
		return -EINVAL;
	}
	if (r < 0)
		return -ENOMEM;
	if (p.err < 0)
		return p.err;
	if (!p.title_set[0])
		t->active_title = t->active_border;
	if (!p.title_set[1])
		t->inactive_title = t->inactive_border;
	if (t->title_button_height > t->title_height)
		t->title_button_height = t->title_height;
	const char *base = strrchr(name, '/');
	snprintf(t->name, sizeof(t->name), "%s", base ? base + 1 : name);
	char *dot = strrchr(t->name, '.');
	if (dot)
		*dot = '\0';
	return 0;
}

int ws_theme_load(struct ws_theme *t, const char *path)
{
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r = hv_read_file_at(AT_FDCWD, path, 0, 1 << 20, &data, &len);
	if (r < 0)
		return hv_log_errno(r, "cannot read theme %s", path);
	return ws_theme_parse(t, path, (const char *)data);
}

int ws_theme_format(const struct ws_theme *t, char *buf, size_t size)
{
	size_t n = 0;
	int w = 0;
	for (size_t i = 0; i < HV_ARRAY_SIZE(keys); i++) {
		const struct theme_key *k = &keys[i];
		bool new_section = i == 0 || strcmp(keys[i - 1].section, k->section);
		const void *field = (const char *)t + k->offset;
		if (k->kind == KEY_COLOR) {
			uint32_t c = *(const uint32_t *)field;
			w = snprintf(buf + n, size - n, "%s%s=#%06x%02x\n",
				     new_section ? (i ? "\n[Colors]\n" : "[Colors]\n") : "", k->name,
				     c & 0xffffff, c >> 24);
		} else {
			w = snprintf(buf + n, size - n, "%s%s=%d\n",
				     new_section ? (i ? "\n[Metrics]\n" : "[Metrics]\n") : "", k->name,
				     *(const int *)field);
		}
		if (w < 0 || (size_t)w >= size - n)
			return -ENOSPC;
		n += (size_t)w;
	}
	return (int)n;
}
