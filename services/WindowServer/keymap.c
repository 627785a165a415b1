/* keymap.c — the keymap key codes are translated with (set_keymap). The
 * keymap arrives as text (KeyboardPreferenceLoader compiles the person's
 * layout against xkb-data and sends xkb_keymap_get_as_string's output),
 * so compiling it here reads no file: the sandbox stays as it is. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xkbcommon/xkbcommon.h>

#include <haven/log.h>

#include "WindowServer.h"

/* xkbcommon's first error, kept as the reason a keymap was refused. */
static char first_error[256];

static void on_xkb_log(struct xkb_context *ctx, enum xkb_log_level level, const char *fmt, va_list ap)
{
	if (level > XKB_LOG_LEVEL_ERROR || first_error[0])
		return;
	vsnprintf(first_error, sizeof(first_error), fmt, ap);
	first_error[strcspn(first_error, "\n")] = '\0';
}

int ws_keymap_set(const char *name, const char *text, bool num_lock, char **why)
{
	struct xkb_context *ctx = xkb_context_new(XKB_CONTEXT_NO_DEFAULT_INCLUDES |
						  XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
	if (!ctx)
		return -ENOMEM;
	first_error[0] = '\0';
	xkb_context_set_log_fn(ctx, on_xkb_log);
	struct xkb_keymap *km = xkb_keymap_new_from_string(ctx, text, XKB_KEYMAP_FORMAT_TEXT_V1,
							  XKB_KEYMAP_COMPILE_NO_FLAGS);
	xkb_context_unref(ctx);
	if (!km) {
		*why = strdup(first_error[0] ? first_error : "not an XKB keymap");
		return -EINVAL;
	}
	struct xkb_state *st = xkb_state_new(km);
	char *copy = strdup(name);
	if (!st || !copy) {
		xkb_state_unref(st);
		xkb_keymap_unref(km);
		free(copy);
		return -ENOMEM;
	}
	xkb_mod_index_t num = xkb_keymap_mod_get_index(km, XKB_MOD_NAME_NUM);
	if (num_lock && num != XKB_MOD_INVALID)
		xkb_state_update_mask(st, 0, 0, 1u << num, 0, 0, 0);
	ws_keymap_free();
	ws.input.keymap = km;
	ws.input.xkb = st;
	ws.input.keymap_name = copy;
	hv_log_info("keymap %s in effect%s", name, num_lock ? ", Num Lock on" : "");
	return 0;
}

void ws_keymap_free(void)
{
	xkb_state_unref(ws.input.xkb);
	xkb_keymap_unref(ws.input.keymap);
	free(ws.input.keymap_name);
	ws.input.xkb = NULL;
	ws.input.keymap = NULL;
	ws.input.keymap_name = NULL;
}
