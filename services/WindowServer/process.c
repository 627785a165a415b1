/* process.c — WindowServer's process around its handlers: the option
 * values, what it reads and opens before the sandbox (themes, font, the
 * output backend, the frame and ping clocks) and its teardown: main.c's
 * service hooks. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "WindowServer.h"

struct ws_options ws_opts = {
	.backend = "virtual",
	.font = WS_DEFAULT_FONT,
	.width = 1024,
	.height = 768,
	.vnc_listen = "127.0.0.1",
	.vnc_port = 5900,
};

/* The output lost part of the frame: compose it again. */
static void on_expose(int x, int y, int w, int h)
{
	ws_damage_rect(&ws.comp, (struct ws_rect){x, y, w, h});
	ws_schedule_frame();
}

/* The person closed the output's window. */
static void on_closed(void)
{
	hv_loop_quit(ws.loop, 0);
}

const hv_option ws_options[] = {
	HV_OPT_STRING("backend", "NAME", &ws_opts.backend, "where frames go: virtual (memory only),\n"
		      "vnc (VNC viewers, libvncserver) or x11 (a window\n"
		      "under an X server, MIT-SHM)"),
	HV_OPT_CUSTOM("size", "WxH", ws_parse_size, NULL, "screen size (default 1024x768)"),
	HV_OPT_STRING("theme", "FILE", &ws_opts.theme, "the theme in effect: an INI file ([Colors],\n"
		      "[Metrics]); its name is the file's, less .ini"),
	HV_OPT_STRING("theme-dir", "DIR", &ws_opts.theme_dir, "themes to switch to at run time (every *.ini)"),
	HV_OPT_STRING("font", "FILE", &ws_opts.font, "title font (default " WS_DEFAULT_FONT ")"),
	HV_OPT_FLAG("test-input", &ws_opts.test_input, "accept inject_mouse / inject_key (tests only)"),
	HV_OPT_STRING("vnc-listen", "ADDR", &ws_opts.vnc_listen, "vnc: the IPv4 address (default 127.0.0.1)"),
	HV_OPT_INT("vnc-port", "N", &ws_opts.vnc_port, 1, 65535, "vnc: the TCP port (default 5900)"),
	HV_OPT_STRING("x11-display", "DISPLAY", &ws_opts.x11_display, "x11: the X display (default $DISPLAY)"),
	{0},
};

int ws_parse_size(const char *arg, void *target)
{
	int w, h, n = 0;
	if (sscanf(arg, "%dx%d%n", &w, &h, &n) != 2 || arg[n] || w < 64 || h < 64 ||
	    w > WS_MAX_WINDOW_SIDE || h > WS_MAX_WINDOW_SIDE)
		return -EINVAL;
	ws_opts.width = w;
	ws_opts.height = h;
	return 0;
}

static int send_ping(hv_conn *c, void *ud)
{
	struct ws_client *cl = hv_conn_userdata(c);
	if (!cl)
		return 0;
	if (cl->ping_pending)
		cl->unresponsive = true;
	cl->ping_pending = true;
	window_client_ping(c);
	return 0;
}

static void on_ping_timer(hv_loop *loop, hv_timer *t, void *ud)
{
	hv_server_foreach(ws.srv, send_ping, NULL);
}

/* Every theme the service may switch to is read now, before the sandbox:
 * the built-in one, each *.ini of --theme-dir (a bad one is skipped, with
 * its reason logged), and --theme, which is the one in effect. */
static int load_themes(void)
{
	ws_theme_default(&ws.theme);
	ws_add_theme(&ws.theme);
	DIR *d = ws_opts.theme_dir ? opendir(ws_opts.theme_dir) : NULL;
	if (ws_opts.theme_dir && !d)
		return hv_log_errno(-errno, "cannot read the theme directory %s", ws_opts.theme_dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		char path[4096];
		struct ws_theme t;
		if (n < 5 || strcmp(e->d_name + n - 4, ".ini") ||
		    snprintf(path, sizeof(path), "%s/%s", ws_opts.theme_dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (ws_theme_load(&t, path) >= 0 && ws_add_theme(&t) < 0)
			hv_log_warn("more than %d themes: %s left out", WS_MAX_THEMES, path);
	}
	if (d)
		closedir(d);
	if (!ws_opts.theme)
		return 0;
	int r = ws_theme_load(&ws.theme, ws_opts.theme);
	if (r >= 0)
		r = ws_add_theme(&ws.theme);
	return r;
}

int ws_setup(hv_server *srv)
{
	const ws_backend_ops *ops = ws_backend_find(ws_opts.backend);
	if (!ops) {
		hv_log_error("no backend '%s' (this build has: virtual, vnc, x11)", ws_opts.backend);
		return -EINVAL;
	}
	int r = load_themes();
	if (r >= 0)
		r = ws_font_open(ws_opts.font, ws.theme.title_height * 2 / 3, &ws.font);
	if (r >= 0)
		r = ws_compositor_init(&ws.comp, ws_opts.width, ws_opts.height, &ws.theme, ws.font);
	if (r < 0)
		return r;
	ws.comp.cursor_visible = false; /* until the pointer first moves */
	ws.backend.ops = ops;
	ws.backend.input = (ws_input_sink){.pointer = ws_input_mouse, .key = ws_input_key,
					   .keycode = ws_input_keycode, .expose = on_expose,
					   .closed = on_closed};
	ws.backend.x11_display = ws_opts.x11_display;
	ws.backend.vnc_listen = ws_opts.vnc_listen;
	ws.backend.vnc_port = (int)ws_opts.vnc_port;
	hv_loop *loop = hv_server_loop(srv);
	ws.loop = loop;
	if ((r = ops->open(&ws.backend, loop, ws_opts.width, ws_opts.height, ws.comp.pixels, ws.comp.pixels_fd)) < 0)
		return hv_log_errno(r, "cannot open the %s backend", ops->name);
	ws.srv = srv;
	ws.test_input = ws_opts.test_input;
	r = ws_start_clock(loop);
	if (r >= 0)
		r = hv_loop_add_timer(loop, WS_PING_INTERVAL_NS, WS_PING_INTERVAL_NS, on_ping_timer, NULL,
				      &ws.ping_timer);
	return r;
}

void ws_teardown(int code)
{
	hv_timer_free(ws.frame_timer);
	hv_timer_free(ws.ping_timer);
	if (ws.backend.ops)
		ws.backend.ops->close(&ws.backend);
	ws_compositor_fini(&ws.comp);
	ws_font_free(ws.font);
	ws_keymap_free();
}


const char *ws_promises(void)
{
	/* VNC viewers arrive on a TCP socket (made before the sandbox). */
	return strcmp(ws_opts.backend, "vnc") == 0 ? "stdio recvfd sendfd inet" : "stdio recvfd sendfd";
}
