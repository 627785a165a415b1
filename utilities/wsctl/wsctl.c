/* wsctl — look at a running WindowServer.
 *
 *   wsctl [--socket PATH] screenshot OUT.png
 *   wsctl [--socket PATH] windows [--json]
 *   wsctl [--socket PATH] theme [NAME]
 *
 * Exit status: 0 done, 1 the server failed or could not be reached, 2 a
 * usage error. */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/options.h>

#include "cli.h"
#include "window.h"

static const char *socket_path;
static bool json;

static int fail(hv_conn *c, const char *what, int r) { return cli_fail(c, r, what); }

static void close_file(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* BGRX rows to an 8-bit RGB PNG on f, with row as scratch (no cleanup
 * attributes here: libpng's errors longjmp). */
static int png_rows(FILE *f, const hv_bitmap *b, uint8_t *row)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!png || !info) {
		png_destroy_write_struct(&png, &info);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -EIO;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, b->width, b->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (uint32_t y = 0; y < b->height; y++) {
		const uint8_t *src = (const uint8_t *)b->buffer.data + (size_t)y * b->stride;
		for (uint32_t x = 0; x < b->width; x++) {
			row[x * 3] = src[x * 4 + 2];
			row[x * 3 + 1] = src[x * 4 + 1];
			row[x * 3 + 2] = src[x * 4];
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

static int write_png(const char *path, const hv_bitmap *b)
{
	_hv_cleanup_(close_file) FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	_hv_free_ uint8_t *row = malloc((size_t)b->width * 3);
	if (!row)
		return -ENOMEM;
	int r = png_rows(f, b, row);
	if (r < 0)
		return r;
	if (fflush(f) != 0)
		return -errno;
	return 0;
}

static int connect_ws(hv_conn **c) { return cli_connect(NULL, WSC_PORTAL, socket_path, c); }

static int cmd_screenshot(int argc, char **argv, void *userdata)
{
	const char *out = argv[1];
	_hv_cleanup_(hv_conn_closep) hv_conn *c = NULL;
	if (connect_ws(&c) < 0)
		return 1;
	_hv_cleanup_(hv_bitmap_release) hv_bitmap b = {.buffer = HV_BUFFER_EMPTY};
	int r = window_server_get_screen_bitmap(c, &b);
	if (r < 0)
		return fail(c, "get_screen_bitmap", r);
	if (b.format != HV_PIXEL_BGRX8888 && b.format != HV_PIXEL_BGRA8888) {
		fprintf(stderr, "wsctl: unexpected screen format %u\n", b.format);
		return 1;
	}
	if ((r = write_png(out, &b)) < 0) {
		fprintf(stderr, "wsctl: cannot write %s: %s\n", out, strerror(-r));
		return 1;
	}
	return 0;
}

static void print_json(const hv_vec_window_server_window_info *v)
{
	printf("[");
	for (size_t i = 0; i < v->count; i++) {
		const window_server_window_info *w = &v->items[i];
		printf("%s\n  {\"client_id\": %d, \"window_id\": %d, \"title\": ", i ? "," : "",
		       w->client_id, w->window_id);
		cli_json_string(stdout, w->title);
		printf(", \"rect\": [%d, %d, %d, %d], \"frame_rect\": [%d, %d, %d, %d], \"z\": %u, "
		       "\"active\": %s, \"minimized\": %s, \"maximized\": %s, \"alpha\": %s, "
		       "\"frameless\": %s, \"backing_serial\": %d}",
		       w->rect.x, w->rect.y, w->rect.width, w->rect.height, w->frame_rect.x,
		       w->frame_rect.y, w->frame_rect.width, w->frame_rect.height, w->z,
		       w->active ? "true" : "false", w->minimized ? "true" : "false",
		       w->maximized ? "true" : "false", w->has_alpha_channel ? "true" : "false",
		       w->frameless ? "true" : "false", w->backing_serial);
	}
	printf("%s]\n", v->count ? "\n" : "");
}

static const hv_option windows_options[] = {
	HV_OPT_FLAG("json", &json, "one JSON array of windows, topmost first"),
	{0},
};

static int cmd_windows(int argc, char **argv, void *userdata)
{
	const hv_cmdline sub = {.name = "wsctl windows",
				.tables = (const hv_option *const[]){windows_options, NULL},
				.summary = "Lists the windows, topmost first."};
	int r = hv_options_parse(&sub, argc, argv, NULL);
	if (r <= 0)
		return hv_options_exit_code(r);
	_hv_cleanup_(hv_conn_closep) hv_conn *c = NULL;
	if (connect_ws(&c) < 0)
		return 1;
	hv_vec_window_server_window_info v;
	r = window_server_get_windows(c, &v);
	if (r < 0)
		return fail(c, "get_windows", r);
	if (json) {
		print_json(&v);
		return 0;
	}
	printf("%-6s %-6s %-22s %-10s %s\n", "CLIENT", "WINDOW", "RECT", "STATE", "TITLE");
	for (size_t i = 0; i < v.count; i++) {
		const window_server_window_info *w = &v.items[i];
		char rect[64];
		snprintf(rect, sizeof(rect), "%d,%d %dx%d", w->rect.x, w->rect.y, w->rect.width,
			 w->rect.height);
		const char *state = w->minimized ? "minimized" : w->active ? "active"
				    : w->maximized ? "maximized" : "-";
		printf("%-6d %-6d %-22s %-10s %s\n", w->client_id, w->window_id, rect, state, w->title);
	}
	return 0;
}

/* No name: the theme in effect and the others; a name: switch to it. */
static int cmd_theme(int argc, char **argv, void *userdata)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	_hv_cleanup_(hv_conn_closep) hv_conn *c = NULL;
	if (connect_ws(&c) < 0)
		return 1;
	if (name) {
		int r = window_server_set_system_theme(c, name);
		return r < 0 ? fail(c, "theme", r) : 0;
	}
	const char *current = NULL;
	hv_vec_string names;
	int r = window_server_get_system_theme(c, &current, &names);
	if (r < 0)
		return fail(c, "get_system_theme", r);
	for (size_t i = 0; i < names.count; i++)
		printf("%s %s\n", strcmp(names.items[i], current) ? " " : "*", names.items[i]);
	return 0;
}

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "the WindowServer's socket (default: the\n"
		      "\"window\" portal)"),
	{0},
};

static const hv_cmdline cmd = {
	.name = "wsctl",
	.args = "screenshot OUT.png | windows [--json] | theme [NAME]",
	.summary = "Looks at a running WindowServer: a PNG of its screen, its windows;\n"
		   "lists its themes (* the one in effect) or switches to one.\n" CLI_TIMEOUT_HELP,
	.tables = (const hv_option *const[]){options, windows_options, NULL},
	.min_args = 1,
	.max_args = -1,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

int main(int argc, char **argv)
{
	static const hv_verb verbs[] = {
		{"screenshot", 1, 1, cmd_screenshot},
		{"windows", 0, HV_VERB_ANY, cmd_windows}, /* parses --json itself */
		{"theme", 0, 1, cmd_theme},
		{0},
	};
	cli_init("wsctl", "the WindowServer", usage);
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	return cli_dispatch(argc - first, argv + first, verbs, NULL);
}
