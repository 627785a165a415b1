/* input.c — pointer and keyboard routing: the pointer's events go to the
 * window under it (or the one that took the button press, until release),
 * keys to the active window. A press activates and raises its window; a
 * press on a title bar drags the window (two in quick succession maximize
 * or restore it), on its border resizes it; a title button acts when it
 * is released over the same button; Alt+Tab brings the bottom-most window
 * to the front. Devices (VNC, X11) and --test-input's
 * inject_* messages feed the same two functions; a key known by its code
 * (X11, inject_scancode) is first translated with the keymap set by
 * set_keymap (keymap.c). */
#include <string.h>

#include <xkbcommon/xkbcommon.h>

#include "WindowServer.h"

static struct ws_input *in = &ws.input;

static hv_int_point relative(const struct ws_window *w, int x, int y)
{
	return (hv_int_point){x - w->rect.x, y - w->rect.y};
}

static hv_conn *conn_of(const struct ws_window *w)
{
	return ((struct ws_client *)w->owner)->conn;
}

/* The lowest button in mask, SerenityOS's `button` of a mouse event. */
static uint32_t first_button(uint32_t mask)
{
	return mask ? mask & -mask : 0;
}

static void set_hovered(struct ws_window *w)
{
	if (in->hovered == w)
		return;
	if (in->hovered)
		window_client_window_left(conn_of(in->hovered), in->hovered->id);
	in->hovered = w;
	if (w)
		window_client_window_entered(conn_of(w), w->id);
}

static void title_button_released(struct ws_window *hit, enum ws_part part)
{
	struct ws_window *w = in->pressed;
	enum ws_part pressed = in->pressed_part;
	in->pressed = NULL;
	if (w != hit || pressed != part)
		return; /* released elsewhere: a click abandoned */
	switch (part) {
	case WS_PART_CLOSE:
		window_client_window_close_request(conn_of(w), w->id);
		break;
	case WS_PART_MINIMIZE:
		ws_set_minimized(w, true);
		break;
	case WS_PART_MAXIMIZE:
		ws_set_maximized(w, !w->maximized);
		break;
	default:
		break;
	}
}

/* Which edges of w a press at (x, y) on its border grabs. */
static unsigned edges_at(const struct ws_window *w, int x, int y)
{
	struct ws_rect t = ws_window_title_rect(&ws.comp, w);
	unsigned e = 0;
	if (x < w->rect.x)
		e |= WS_EDGE_LEFT;
	if (x >= w->rect.x + w->rect.width)
		e |= WS_EDGE_RIGHT;
	if (y < t.y)
		e |= WS_EDGE_TOP;
	if (y >= w->rect.y + w->rect.height)
		e |= WS_EDGE_BOTTOM;
	return e;
}

/* A left press on a title bar: a drag, or with the press before it a
 * double click, which maximizes (or restores). */
static void title_pressed(struct ws_window *w)
{
	uint64_t now = hv_now_ns();
	if (in->last_title_click == w && now - in->last_title_click_ns < WS_DOUBLE_CLICK_NS) {
		in->last_title_click = NULL;
		ws_set_maximized(w, !w->maximized);
		return;
	}
	in->last_title_click = w;
	in->last_title_click_ns = now;
	in->dragged = w;
	in->drag_dx = in->x - w->rect.x;
	in->drag_dy = in->y - w->rect.y;
}

static void press(struct ws_window *w, enum ws_part part, uint32_t pressed)
{
	if (!w)
		return;
	ws_activate(w);
	switch (part) {
	case WS_PART_TITLE:
		if (pressed & WS_BUTTON_LEFT)
			title_pressed(w);
		break;
	case WS_PART_BORDER:
		if ((pressed & WS_BUTTON_LEFT) && w->resizable) {
			in->resized = w;
			in->resize_edges = edges_at(w, in->x, in->y);
			in->resize_from = w->rect;
			in->resize_x0 = in->x;
			in->resize_y0 = in->y;
		}
		break;
	case WS_PART_CLOSE:
	case WS_PART_MINIMIZE:
	case WS_PART_MAXIMIZE:
		if (pressed & WS_BUTTON_LEFT) {
			in->pressed = w;
			in->pressed_part = part;
		}
		break;
	case WS_PART_CONTENT:
		in->captured = w;
		window_client_mouse_down(conn_of(w), w->id, relative(w, in->x, in->y),
					 first_button(pressed), in->buttons, 0, 0);
		break;
	default:
		break;
	}
}

static void drag_to(int x, int y)
{
	struct ws_window *w = in->dragged;
	struct ws_rect r = w->rect;
	r.x = x - in->drag_dx;
	r.y = y - in->drag_dy;
	if (r.x == w->rect.x && r.y == w->rect.y)
		return;
	if (w->maximized)
		w->maximized = false;
	ws_window_set_rect(&ws.comp, w, r);
	ws_notify_moved(w);
}

/* The border drag's rect for the pointer at (x, y). */
static void resize_to(int x, int y)
{
	struct ws_window *w = in->resized;
	struct ws_rect r = in->resize_from;
	int dx = x - in->resize_x0, dy = y - in->resize_y0;
	if (in->resize_edges & WS_EDGE_RIGHT)
		r.width = HV_MAX(WS_MIN_RESIZE, r.width + dx);
	if (in->resize_edges & WS_EDGE_BOTTOM)
		r.height = HV_MAX(WS_MIN_RESIZE, r.height + dy);
	if (in->resize_edges & WS_EDGE_LEFT) {
		int wdt = HV_MAX(WS_MIN_RESIZE, r.width - dx);
		r.x += r.width - wdt;
		r.width = wdt;
	}
	if (in->resize_edges & WS_EDGE_TOP) {
		int h = HV_MAX(WS_MIN_RESIZE, r.height - dy);
		r.y += r.height - h;
		r.height = h;
	}
	if (!memcmp(&r, &w->rect, sizeof(r)))
		return;
	w->maximized = false;
	ws_window_set_rect(&ws.comp, w, r);
	ws_notify_resized(w);
}

void ws_input_mouse(int x, int y, uint32_t buttons, int32_t wheel)
{
	uint32_t pressed = buttons & ~in->buttons, released = in->buttons & ~buttons;
	bool moved = x != in->x || y != in->y;
	in->x = x;
	in->y = y;
	in->buttons = buttons;
	ws_cursor_move(&ws.comp, x, y);
	ws_schedule_frame();

	if (in->dragged) {
		drag_to(x, y);
		if (released & WS_BUTTON_LEFT)
			in->dragged = NULL;
		return;
	}
	if (in->resized) {
		resize_to(x, y);
		if (released & WS_BUTTON_LEFT)
			in->resized = NULL;
		return;
	}
	enum ws_part part;
	struct ws_window *hit = ws_hit_test(&ws.comp, x, y, &part);
	set_hovered(part == WS_PART_CONTENT ? hit : NULL);
	if (pressed)
		press(hit, part, pressed);
	if (released && in->pressed)
		title_button_released(hit, part);
	struct ws_window *target = in->captured ? in->captured : part == WS_PART_CONTENT ? hit : NULL;
	if (released && in->captured) {
		window_client_mouse_up(conn_of(in->captured), in->captured->id,
				       relative(in->captured, x, y), first_button(released), buttons, 0, 0);
		if (!buttons)
			in->captured = NULL;
	}
	if (moved && target && !pressed && !released)
		window_client_mouse_move(conn_of(target), target->id, relative(target, x, y), 0, buttons,
					 0, 0);
	if (wheel && target)
		window_client_mouse_wheel(conn_of(target), target->id, relative(target, x, y), 0, buttons,
					  0, wheel);
}

/* Alt+Tab: the bottom-most visible window comes to the front, so
 * repeated presses visit every window in turn. */
static bool switch_windows(uint32_t code_point, uint32_t modifiers, bool down)
{
	if (code_point != '\t' || modifiers != 1)
		return false;
	if (down) {
		struct ws_window *w = ws.comp.bottom;
		while (w && w->minimized)
			w = w->above;
		if (w)
			ws_activate(w);
	}
	return true;
}

void ws_input_key(uint32_t code_point, uint32_t key, uint32_t modifiers, bool down)
{
	if (switch_windows(code_point, modifiers, down))
		return;
	struct ws_window *w = ws.comp.active;
	if (!w)
		return;
	if (down)
		window_client_key_down(conn_of(w), w->id, code_point, key, modifiers, 0);
	else
		window_client_key_up(conn_of(w), w->id, code_point, key, modifiers, 0);
}

/* The modifiers ws_input_key takes (1 Alt, 2 Ctrl, 4 Shift, 8 Super),
 * from the keymap's state. */
static uint32_t xkb_modifiers(struct xkb_state *s)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} mods[] = {{XKB_MOD_NAME_ALT, 1}, {XKB_MOD_NAME_CTRL, 2}, {XKB_MOD_NAME_SHIFT, 4}, {XKB_MOD_NAME_LOGO, 8}};
	uint32_t m = 0;
	for (size_t i = 0; i < HV_ARRAY_SIZE(mods); i++)
		if (xkb_state_mod_name_is_active(s, mods[i].name, XKB_STATE_MODS_EFFECTIVE) > 0)
			m |= mods[i].bit;
	return m;
}

bool ws_input_keycode(uint32_t code, bool down)
{
	if (!in->xkb || code > 0xffff)
		return !!in->xkb;
	/* XKB numbers keys as X does: the Linux code plus 8. What the key
	 * types is read before its own press changes the state (a Shift
	 * press types nothing; the next key is shifted). */
	xkb_keycode_t kc = code + 8;
	xkb_keysym_t sym = xkb_state_key_get_one_sym(in->xkb, kc);
	uint32_t cp = down ? xkb_state_key_get_utf32(in->xkb, kc) : 0;
	if (!down)
		cp = xkb_keysym_to_utf32(sym);
	uint32_t mods = xkb_modifiers(in->xkb);
	xkb_state_update_key(in->xkb, kc, down ? XKB_KEY_DOWN : XKB_KEY_UP);
	ws_input_key(cp, sym, mods, down);
	return true;
}

void ws_input_forget(struct ws_window *w)
{
	if (in->hovered == w)
		in->hovered = NULL;
	if (in->captured == w)
		in->captured = NULL;
	if (in->dragged == w)
		in->dragged = NULL;
	if (in->pressed == w)
		in->pressed = NULL;
	if (in->resized == w)
		in->resized = NULL;
	if (in->last_title_click == w)
		in->last_title_click = NULL;
}
