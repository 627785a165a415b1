/* keyboard-prefs.h — a person's keyboard preferences: where they live in
 * ConfigServer, how they are checked (xkbcommon against xkb-data) and
 * compiled. Shared by KeyboardPreferenceLoader, the `keyboard` CLI and
 * the tests. Prefix kbd_.
 *
 * ConfigServer domain "Keyboard" (SerenityOS's Keyboard.ini groups):
 *   [Mapping]       Layout=de  Variant=nodeadkeys  Options=caps:escape,compose:ralt
 *   [Repeat]        Delay=250 (ms)  Rate=30 (per second)
 *   [StartupEnable] NumLock=true */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define KBD_DOMAIN "Keyboard"
#define KBD_GROUP_MAPPING "Mapping"
#define KBD_GROUP_REPEAT "Repeat"
#define KBD_GROUP_STARTUP "StartupEnable"

/* Where xkb-data (Debian's xkeyboard-config) keeps its files. */
#define KBD_XKB_ROOT "/usr/share/X11/xkb"

/* The bounds the console's KDKBDREP and X's autorepeat accept. */
#define KBD_DELAY_MIN 100u
#define KBD_DELAY_MAX 10000u
#define KBD_RATE_MIN 1u
#define KBD_RATE_MAX 100u

struct kbd_prefs {
	char *layout;	/* NULL: no preference (nothing is applied) */
	char *variant;	/* NULL or "" : the layout's default */
	char *options;	/* comma-separated XKB options, NULL or "" : none */
	uint32_t delay; /* 0: not set */
	uint32_t rate;	/* 0: not set */
	int num_lock;	/* -1 not set, 0 off, 1 on */
};

void kbd_prefs_clear(struct kbd_prefs *p);
int kbd_prefs_copy(struct kbd_prefs *dst, const struct kbd_prefs *src);
/* "de(nodeadkeys) [caps:escape]": for logs and set_keymap's name. */
char *kbd_prefs_name(const struct kbd_prefs *p);

/* Check p: the layout, variant and options must compile against the xkb
 * data under xkb_root (NULL: KBD_XKB_ROOT) with rules "evdev", model
 * "pc105"; delay and rate within the bounds. 0 and, when keymap is not
 * NULL, the compiled keymap as text (malloc'd: what WindowServer's
 * set_keymap takes); -EINVAL and *why (malloc'd) saying what is wrong. */
int kbd_prefs_check(const struct kbd_prefs *p, const char *xkb_root, char **keymap, char **why);
