/* clip — the Clipboard from the shell: copy stdin, paste to stdout
 * (byte-exact), watch changes, browse and restore the history.
 * A thin layer on the generated ClipboardServer client.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "cli.h"

#include "ClipboardClient.ipc.h"
#include "ClipboardServer.ipc.h"

#define PORTAL "clipboard"
#define MAX_META 64

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: clip COMMAND [OPTIONS]\n"
		"  copy [--type MIME] [--meta KEY=VALUE]... [--add]\n"
		"                     put stdin on the clipboard (default type text/plain;\n"
		"                     --add: as another representation of the current entry)\n"
		"  paste [--type MIME] [--serial N]\n"
		"                     write the clipboard (or history entry N) to stdout, byte-exact\n"
		"  types              the current entry: serial, then one line per MIME type\n"
		"  watch              one line per change (\"SERIAL MIME\") until interrupted\n"
		"  history            one line per entry kept, newest first:\n"
		"                     SERIAL, time, TYPE:SIZE list, a preview of text\n"
		"  restore SERIAL     make a history entry current again\n"
		"  clear-history      forget every entry but the current one\n"
		"Exit status: 0 ok, 1 failure (empty clipboard, no such type, ...), 2 usage.\n"
		"The Clipboard is reached at the portal \"" PORTAL "\" ($HAVEN_PORTAL_DIR,\n"
		"else $XDG_RUNTIME_DIR/haven/portal).\n" CLI_TIMEOUT_HELP);
}

/* stdin into a sealed memfd: the Clipboard keeps it without a copy. */
static int read_stdin(hv_buffer *out)
{
	_hv_close_ int fd = memfd_create("clip", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	static char buf[1 << 20];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		int r = hv_write_full(fd, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	*out = (hv_buffer){.fd = HV_TAKE_FD(fd), .data = NULL, .size = (size_t)st.st_size,
			   .readonly = true};
	return 0;
}

static int cmd_copy(int argc, char **argv, void *userdata)
{
	const char *type = "text/plain";
	bool add = false;
	hv_map_string_string_entry meta[MAX_META];
	size_t nmeta = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--type") && i + 1 < argc)
			type = argv[++i];
		else if (!strcmp(argv[i], "--add"))
			add = true;
		else if (!strcmp(argv[i], "--meta") && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');
			if (!eq || eq == argv[i] || nmeta == MAX_META)
				return cli_usage_error("bad --meta \"%s\" (want KEY=VALUE)", argv[i]);
			*eq = 0;
			meta[nmeta++] = (hv_map_string_string_entry){argv[i], eq + 1};
		} else
			return cli_usage_error("copy: unexpected argument \"%s\"", argv[i]);
	}
	if (add && nmeta)
		return cli_usage_error("%s", "copy: --meta belongs to the entry, not to --add");
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "clip: reading the data from the terminal; end with Ctrl-D\n");
	hv_buffer data = HV_BUFFER_EMPTY;
	int r = read_stdin(&data);
	if (r < 0) {
		fprintf(stderr, "clip: cannot read stdin: %s\n", strerror(-r));
		return 1;
	}
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0) {
		hv_buffer_release(&data);
		return 1;
	}
	if (add) {
		hv_opt_clipboard_server_entry_info info;
		r = clipboard_server_get_clipboard_info(c, &info);
		if (r == 0 && !info.present) {
			fprintf(stderr, "clip: the clipboard is empty: nothing to add a type to\n");
			r = 1;
		} else if (r < 0)
			r = cli_fail(c, r, "cannot read the clipboard");
		else if ((r = clipboard_server_add_clipboard_data(c, info.value.serial, data, type)) < 0)
			r = cli_fail(c, r, "cannot add to the clipboard");
	} else {
		hv_map_string_string m = {meta, nmeta};
		if ((r = clipboard_server_set_clipboard_data(c, data, type, m, NULL)) < 0)
			r = cli_fail(c, r, "cannot copy");
	}
	hv_buffer_release(&data);
	hv_conn_close(c);
	return r;
}

static int cmd_paste(int argc, char **argv, void *userdata)
{
	const char *type = "";
	uint64_t serial = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--type") && i + 1 < argc)
			type = argv[++i];
		else if (!strcmp(argv[i], "--serial") && i + 1 < argc) {
			if (hv_parse_u64(argv[++i], UINT64_MAX, &serial) < 0 || serial == 0)
				return cli_usage_error("bad --serial \"%s\"", argv[i]);
		} else
			return cli_usage_error("paste: unexpected argument \"%s\"", argv[i]);
	}
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	hv_buffer data = HV_BUFFER_EMPTY;
	int r = serial ? clipboard_server_get_history_data(c, serial, type, &data)
		       : clipboard_server_get_clipboard_data_as(c, type, NULL, &data, NULL, NULL);
	if (r < 0) {
		r = cli_fail(c, r, "cannot paste");
	} else {
		r = data.size ? hv_write_full(STDOUT_FILENO, data.data, data.size) : 0;
		if (r < 0)
			r = (fprintf(stderr, "clip: cannot write stdout: %s\n", strerror(-r)), 1);
	}
	hv_buffer_release(&data);
	hv_conn_close(c);
	return r;
}

static int cmd_types(int argc, char **argv, void *userdata)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	hv_opt_clipboard_server_entry_info info;
	int r = clipboard_server_get_clipboard_info(c, &info);
	if (r < 0)
		r = cli_fail(c, r, "cannot read the clipboard");
	else if (!info.present)
		r = (fprintf(stderr, "clip: the clipboard is empty\n"), 1);
	else {
		printf("%" PRIu64 "\n", info.value.serial);
		for (size_t i = 0; i < info.value.mime_types.count; i++)
			printf("%s\t%" PRIu64 "\n", info.value.mime_types.items[i],
			       info.value.sizes.items[i]);
	}
	hv_conn_close(c);
	return r;
}

static int on_changed(hv_call *call, const clipboard_client_clipboard_data_changed_req *req)
{
	printf("%" PRIu64 " %s\n", req->serial, req->mime_type);
	fflush(stdout);
	return 0;
}

static const clipboard_client_handlers watch_handlers = {
	.clipboard_data_changed = on_changed,
};

static int cmd_watch(int argc, char **argv, void *userdata)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	int r = hv_conn_serve(c, &clipboard_client_endpoint, &watch_handlers);
	if (r < 0 || (r = clipboard_server_subscribe(c, true)) < 0) {
		r = cli_fail(c, r, "cannot watch the clipboard");
		hv_conn_close(c);
		return r;
	}
	/* A line a watcher can wait for before it changes the clipboard. */
	fprintf(stderr, "clip: watching\n");
	for (;;) {
		r = hv_conn_dispatch(c, -1);
		if (r < 0)
			break;
	}
	fprintf(stderr, "clip: the Clipboard went away: %s\n", strerror(-r));
	hv_conn_close(c);
	return 1;
}

/* Text made printable on one line, at most max bytes of it. */
static void print_preview(const uint8_t *p, size_t len, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char ch = p[i];
		if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('"');
	if (len > max)
		fputs("...", stdout);
}

/* One history row, copied out of the reply (whose strings live only until
 * the next call, and previews need calls). */
struct row {
	uint64_t serial;
	int64_t time_ms;
	char *types;	 /* "type:size,type:size" */
	char *text_type; /* first text/... type, or NULL */
};

static int cmd_history(int argc, char **argv, void *userdata)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	hv_vec_clipboard_server_entry_info v;
	int r = clipboard_server_get_history(c, &v);
	if (r < 0) {
		r = cli_fail(c, r, "cannot read the history");
		hv_conn_close(c);
		return r;
	}
	size_t n = v.count;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	for (size_t i = 0; rows && i < n; i++) {
		const clipboard_server_entry_info *e = &v.items[i];
		rows[i].serial = e->serial;
		rows[i].time_ms = e->time_ms;
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		for (size_t k = 0; f && k < e->mime_types.count; k++) {
			fprintf(f, "%s%s:%" PRIu64, k ? "," : "", e->mime_types.items[k],
				e->sizes.items[k]);
			if (!rows[i].text_type && !strncmp(e->mime_types.items[k], "text/", 5))
				rows[i].text_type = strdup(e->mime_types.items[k]);
		}
		if (f)
			fclose(f);
		rows[i].types = buf;
	}
	for (size_t i = 0; rows && i < n; i++) {
		char when[64];
		time_t t = (time_t)(rows[i].time_ms / 1000);
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("%" PRIu64 "\t%s\t%s\t", rows[i].serial, when,
		       rows[i].types ? rows[i].types : "");
		hv_buffer data = HV_BUFFER_EMPTY;
		if (rows[i].text_type &&
		    clipboard_server_get_history_data(c, rows[i].serial, rows[i].text_type, &data) == 0)
			print_preview(data.data, data.size, 60);
		hv_buffer_release(&data);
		putchar('\n');
		free(rows[i].types);
		free(rows[i].text_type);
	}
	if (!rows)
		r = cli_fail(c, -ENOMEM, "cannot list the history");
	free(rows);
	hv_conn_close(c);
	return r;
}

static int cmd_restore(int argc, char **argv, void *userdata)
{
	const char *arg = argv[1];
	uint64_t serial;
	if (hv_parse_u64(arg, UINT64_MAX, &serial) < 0 || serial == 0)
		return cli_usage_error("bad SERIAL \"%s\"", arg);
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	uint64_t now = 0;
	int r = clipboard_server_restore_history_entry(c, serial, &now);
	if (r < 0)
		r = cli_fail(c, r, "cannot restore");
	else
		printf("%" PRIu64 "\n", now);
	hv_conn_close(c);
	return r;
}

static int cmd_clear(int argc, char **argv, void *userdata)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	int r = clipboard_server_clear_history(c);
	if (r < 0)
		r = cli_fail(c, r, "cannot clear the history");
	hv_conn_close(c);
	return r;
}

static const hv_verb verbs[] = {
	{"copy", 0, HV_VERB_ANY, cmd_copy}, /* options: parsed by the verb */
	{"paste", 0, HV_VERB_ANY, cmd_paste},
	{"types", 0, 0, cmd_types},
	{"watch", 0, 0, cmd_watch},
	{"history", 0, 0, cmd_history},
	{"restore", 1, 1, cmd_restore},
	{"clear-history", 0, 0, cmd_clear},
	{0},
};

int main(int argc, char **argv)
{
	cli_init("clip", "the Clipboard", usage);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || (i == 1 && (!strcmp(argv[i], "-h") ||
							      !strcmp(argv[i], "help")))) {
			usage(stdout);
			return 0;
		}
	return cli_dispatch(argc - 1, argv + 1, verbs, NULL);
}
