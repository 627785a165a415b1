/* theme.h — a window theme: colours and metrics, read from an INI file in
 * SerenityOS's shape ([Colors] Name=#rrggbb, [Metrics] Name=N). Keys this
 * server does not draw with are ignored, so SerenityOS's theme files load;
 * a malformed value is an error naming the file, section and key. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ws_theme {
	char name[64];
	/* Colours, 0xAARRGGBB (alpha 0xff unless given as #rrggbbaa). */
	uint32_t desktop_background;
	uint32_t active_border, active_title, active_title_text;
	uint32_t inactive_border, inactive_title, inactive_title_text;
	uint32_t window;      /* content not yet painted by its client */
	uint32_t button, button_text;
	/* Metrics, in pixels. */
	int title_height;
	int border_thickness;
	int title_button_width, title_button_height;
};

/* The built-in theme (what WindowServer uses without --theme). */
void ws_theme_default(struct ws_theme *t);
/* Start from the default and apply path's keys. 0, -errno when the file
 * cannot be read, -EINVAL after a bad value (logged with file, section and key). */
int ws_theme_load(struct ws_theme *t, const char *path);
/* The same from text in memory (tests); `name` is used in messages. */
int ws_theme_parse(struct ws_theme *t, const char *name, const char *text);
/* The theme as INI text (every key this server draws with, colours as
 * #rrggbbaa) into buf; the length, or -ENOSPC. Parsing it gives the same
 * theme back. */
int ws_theme_format(const struct ws_theme *t, char *buf, size_t size);
