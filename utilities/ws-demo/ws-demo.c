/* ws-demo — one window of one colour, until it is closed or killed: the
 * smallest whole client of the WindowServer client library.
 *
 *   ws-demo [--socket PATH] [--title T] [--color RRGGBB] [--rect X,Y,W,H] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/options.h>

#include "window.h"

static const char *socket_path, *title = "ws-demo";
static uint32_t color = 0xff3366cc;
static hv_int_rect rect = {100, 100, 320, 240};

static int parse_color(const char *arg, void *target)
{
	char *end;
	if (strlen(arg) != 6 || strspn(arg, "0123456789abcdefABCDEF") != 6)
		return -EINVAL;
	color = 0xff000000u | (uint32_t)strtoul(arg, &end, 16);
	return 0;
}

static int parse_rect(const char *arg, void *target)
{
	int n = 0;
	if (sscanf(arg, "%d,%d,%d,%d%n", &rect.x, &rect.y, &rect.width, &rect.height, &n) != 4 ||
	    arg[n] || rect.width <= 0 || rect.height <= 0)
		return -EINVAL;
	return 0;
}

static void on_paint(wsc_window *w, const hv_int_rect *rects, size_t n, void *ud)
{
	hv_bitmap *b = wsc_window_back(w);
	if (!b)
		return;
	for (size_t i = 0; i < n; i++)
		wsc_bitmap_fill(b, rects[i], color);
	int r = wsc_window_flip(w, rects, n);
	if (r < 0)
		hv_log_error("cannot show the window: %s", strerror(-r));
}

static void on_close(wsc_window *w, void *ud)
{
	hv_loop_quit(ud, 0);
}

static void on_disconnect(hv_conn *c, void *ud)
{
	hv_log_error("the WindowServer went away");
	hv_loop_quit(ud, 1);
}

int main(int argc, char **argv)
{
	static const hv_option options[] = {
		HV_OPT_STRING("socket", "PATH", &socket_path, "the WindowServer's socket (default: the\n"
			      "\"window\" portal)"),
		HV_OPT_STRING("title", "T", &title, "the window's title"),
		HV_OPT_CUSTOM("color", "RRGGBB", parse_color, NULL, "its colour (default 3366cc)"),
		HV_OPT_CUSTOM("rect", "X,Y,W,H", parse_rect, NULL, "its content rect (default 100,100,320,240)"),
		{0},
	};
	const hv_cmdline cmd = {
		.name = "ws-demo",
		.summary = "Opens one window of one colour; it stays until closed or killed.",
		.tables = (const hv_option *const[]){options, NULL},
	};
	int r = hv_options_parse(&cmd, argc, argv, NULL);
	if (r <= 0)
		return hv_options_exit_code(r);
	hv_log_set_ident("ws-demo");
	_hv_cleanup_(hv_loop_freep) hv_loop *loop = NULL;
	if ((r = hv_loop_new(&loop)) < 0 || (r = hv_loop_quit_on_signals(loop)) < 0)
		return 1;
	wsc_display *ws = NULL;
	if ((r = wsc_connect(loop, socket_path, &ws)) < 0) {
		fprintf(stderr, "ws-demo: cannot reach the WindowServer: %s\n", hv_conn_strerror(NULL, r));
		return 1;
	}
	hv_conn_on_disconnect(wsc_conn(ws), on_disconnect, loop);
	static const wsc_window_events events = {.paint = on_paint, .close_request = on_close};
	wsc_window *w = NULL;
	if ((r = wsc_window_create(ws, rect, title, 0, &events, loop, &w)) < 0) {
		fprintf(stderr, "ws-demo: cannot open a window: %s\n", hv_conn_strerror(wsc_conn(ws), r));
		wsc_close(ws);
		return 1;
	}
	r = hv_loop_run(loop);
	hv_conn_on_disconnect(wsc_conn(ws), NULL, NULL); /* our own close is no news */
	wsc_close(ws);
	return r;
}
