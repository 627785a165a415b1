/* input.c — pointer and keyboard routing: the pointer's events go to the
 * window under it (or the one that took the button press, until release),
 * keys to the active window. A press activates and raises its window; a
 * press on a title bar drags the window; a title button acts when it is
 * released over the same button. Devices (VNC, X11) and --test-input's
 * inject_* messages feed the same two functions. */
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

static void press(struct ws_window *w, enum ws_part part, uint32_t pressed)
{
	if (!w)
		return;
	ws_activate(w);
	switch (part) {
	case WS_PART_TITLE:
		if (pressed & WS_BUTTON_LEFT) {
			in->dragged = w;
			in->drag_dx = in->x - w->rect.x;
			in->drag_dy = in->y - w->rect.y;
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

void ws_input_key(uint32_t code_point, uint32_t key, uint32_t modifiers, bool down)
{
	struct ws_window *w = ws.comp.active;
	if (!w)
		return;
	if (down)
		window_client_key_down(conn_of(w), w->id, code_point, key, modifiers, 0);
	else
		window_client_key_up(conn_of(w), w->id, code_point, key, modifiers, 0);
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
}
