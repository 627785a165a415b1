/* fileop — copy, move and delete files through FileOperation, with
 * progress, Ctrl-C to cancel (docs/fileoperation.md).
 *
 * The operation runs in a FileOperation process: the "fileop" portal's
 * (one per connection under SystemServer), --socket PATH, or, when no
 * portal answers, one started here (sandboxed the same way). This
 * program only opens the directories named on the command line and hands
 * them over; progress is a bar on a terminal, JSON lines with --json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/util.h>

#include "../common/cli.h"
#include "fileop-client.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: fileop [OPTIONS] copy SRC... DST\n"
		"       fileop [OPTIONS] move SRC... DST\n"
		"       fileop [OPTIONS] delete PATH...\n"
		"Copy, move or delete files and trees through FileOperation, keeping what cp -a\n"
		"keeps (modes, owners when permitted, times, xattrs, symlinks, hard links, holes).\n"
		"DST an existing directory: the sources go into it; else one source becomes DST.\n\n"
		"  -j, --json              progress, conflicts, errors and the summary as JSON\n"
		"                          lines on stdout (default: a bar on a terminal)\n"
		"  -c, --conflict POLICY   when a name exists: ask, skip, overwrite, keep-both\n"
		"                          (default: ask on a terminal, else skip)\n"
		"  -e, --on-error POLICY   after a file fails: continue (default) or abort\n"
		"  -S, --socket PATH       a FileOperation socket (default: the \"fileop\" portal,\n"
		"                          else a FileOperation started for this run)\n"
		"      --spawn             start a FileOperation for this run, skip the portal\n"
		"  -h, --help              show this help\n\n"
		"Ctrl-C cancels: the file being written is removed, finished files stay.\n"
		"Exit status: 0 done, 1 a file failed, the operation was cancelled or the service\n"
		"is unreachable, 2 bad usage.\n");
}

struct run {
	hv_loop *loop;
	hv_conn *conn;
	bool json, bar, finished, tty_in;
	int status;
	unsigned interrupts;
	size_t bar_len;
};

static void human(char *buf, size_t size, uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	unsigned u = 0;
	while (v >= 1024 && u < 4)
		v /= 1024, u++;
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void clear_bar(struct run *run)
{
	if (run->bar && run->bar_len) {
		fprintf(stderr, "\r%*s\r", (int)run->bar_len, "");
		run->bar_len = 0;
	}
}

static void draw_bar(struct run *run, const file_operation_client_progress_req *p)
{
	struct winsize ws;
	int cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
	double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total
		    : p->files_total ? (double)p->files_done / (double)p->files_total : 0;
	if (frac > 1)
		frac = 1;
	char done[32], total[32], rate[32], eta[32] = "";
	human(done, sizeof done, p->bytes_done);
	human(total, sizeof total, p->bytes_total);
	human(rate, sizeof rate, p->rate);
	if (p->eta_ms >= 0)
		snprintf(eta, sizeof eta, " ETA %" PRId64 ":%02" PRId64, p->eta_ms / 60000, p->eta_ms / 1000 % 60);
	char line[1024];
	int width = 20, fill = (int)(frac * width);
	int n = snprintf(line, sizeof line, "[%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 " files %s/%s %s/s%s%s %s",
			 fill, "####################", width - fill, "", (int)(frac * 100), p->files_done,
			 p->files_total, done, total, rate, eta, p->paused ? " (paused)" : "", p->current);
	if (n > cols - 1)
		n = cols - 1;
	if (n < 0)
		n = 0;
	fprintf(stderr, "\r%.*s", n, line);
	if ((size_t)n < run->bar_len)
		fprintf(stderr, "%*s\r%.*s", (int)(run->bar_len - (size_t)n), "", n, line);
	run->bar_len = (size_t)n;
	fflush(stderr);
}

static int on_progress(hv_call *call, const file_operation_client_progress_req *p)
{
	struct run *run = hv_conn_userdata(hv_call_conn(call));
	if (run->json) {
		printf("{\"event\":\"progress\",\"files_done\":%" PRIu64 ",\"files_total\":%" PRIu64
		       ",\"bytes_done\":%" PRIu64 ",\"bytes_total\":%" PRIu64 ",\"rate\":%" PRIu64
		       ",\"eta_ms\":%" PRId64 ",\"paused\":%s,\"current\":",
		       p->files_done, p->files_total, p->bytes_done, p->bytes_total, p->rate, p->eta_ms,
		       p->paused ? "true" : "false");
		cli_json_string(stdout, p->current);
		printf("}\n");
		fflush(stdout);
	} else if (run->bar) {
		draw_bar(run, p);
	}
	return 0;
}

/* On a terminal the person answers; elsewhere the policy was not "ask". */
static int on_conflict(hv_call *call, const file_operation_client_conflict_req *req)
{
	struct run *run = hv_conn_userdata(hv_call_conn(call));
	file_operation_server_conflict d = FILE_OPERATION_SERVER_CONFLICT_SKIP;
	bool all = false;
	if (run->json) {
		printf("{\"event\":\"conflict\",\"id\":%" PRIu64 ",\"is_dir\":%s,\"path\":", req->id,
		       req->is_dir ? "true" : "false");
		cli_json_string(stdout, req->path);
		printf("}\n");
		fflush(stdout);
	}
	if (run->tty_in) {
		clear_bar(run);
		fprintf(stderr, "fileop: %s exists: [s]kip, [o]verwrite, [k]eep both, [c]ancel "
				"(capital: for all)? ", req->path);
		char line[64];
		if (!fgets(line, sizeof line, stdin))
			line[0] = 'c';
		all = line[0] >= 'A' && line[0] <= 'Z';
		switch (line[0] | 0x20) {
		case 'o': d = FILE_OPERATION_SERVER_CONFLICT_OVERWRITE; break;
		case 'k': d = FILE_OPERATION_SERVER_CONFLICT_KEEP_BOTH; break;
		case 'c': d = FILE_OPERATION_SERVER_CONFLICT_ASK; break; /* = cancel */
		default: break;
		}
	}
	file_operation_server_resolve_conflict(run->conn, req->id, d, all);
	return 0;
}

static int on_file_error(hv_call *call, const file_operation_client_file_error_req *req)
{
	struct run *run = hv_conn_userdata(hv_call_conn(call));
	if (run->json) {
		printf("{\"event\":\"error\",\"code\":%d,\"path\":", req->code);
		cli_json_string(stdout, req->path);
		printf(",\"message\":");
		cli_json_string(stdout, req->message);
		printf("}\n");
		fflush(stdout);
	}
	clear_bar(run);
	fprintf(stderr, "fileop: %s: %s\n", req->path, req->message);
	return 0;
}

static int on_finished(hv_call *call, const file_operation_client_finished_req *req)
{
	struct run *run = hv_conn_userdata(hv_call_conn(call));
	run->finished = true;
	run->status = req->status;
	clear_bar(run);
	if (run->json) {
		printf("{\"event\":\"finished\",\"status\":%d,\"files_done\":%" PRIu64 ",\"bytes_done\":%" PRIu64
		       ",\"skipped\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"elapsed_ms\":%" PRIu64 "}\n",
		       req->status, req->files_done, req->bytes_done, req->skipped, req->errors, req->elapsed_ms);
		fflush(stdout);
	}
	if (req->status == -ECANCELED)
		fprintf(stderr, "fileop: cancelled after %" PRIu64 " files\n", req->files_done);
	else if (run->bar) {
		char b[32];
		human(b, sizeof b, req->bytes_done);
		fprintf(stderr, "fileop: %" PRIu64 " files, %s in %.1f s; %" PRIu64 " skipped, %" PRIu64 " failed\n",
			req->files_done, b, (double)req->elapsed_ms / 1000, req->skipped, req->errors);
	}
	hv_loop_quit(run->loop, 0);
	return 0;
}

static const file_operation_client_handlers events =
	FILE_OPERATION_CLIENT_HANDLERS(on_progress, on_conflict, on_file_error, on_finished);

static void on_signal(hv_loop *loop, int signo, void *ud)
{
	struct run *run = ud;
	/* The first asks the service to stop cleanly; a second leaves now. */
	if (run->interrupts++ == 0 && run->conn && hv_conn_is_open(run->conn)) {
		file_operation_server_cancel(run->conn);
		return;
	}
	clear_bar(run);
	fprintf(stderr, "fileop: interrupted\n");
	hv_loop_quit(loop, 1);
}

static void on_disconnect(hv_conn *c, void *ud)
{
	struct run *run = ud;
	if (!run->finished) {
		clear_bar(run);
		fprintf(stderr, "fileop: FileOperation ended before the operation finished\n");
		hv_loop_quit(run->loop, 1);
	}
}

struct request {
	file_operation_server_kind kind;
	file_operation_server_source src[FILEOP_MAX_SOURCES];
	size_t n;
	int dest_dir;
	char *dest_name;
};

static void request_free(struct request *rq)
{
	for (size_t i = 0; i < rq->n; i++) {
		close(rq->src[i].dir);
		free((char *)rq->src[i].name);
	}
	if (rq->dest_dir >= 0)
		close(rq->dest_dir);
	free(rq->dest_name);
}

/* The command line's paths as the service takes them. */
static int build_request(struct request *rq, char **paths, int n)
{
	int nsrc = rq->kind == FILE_OPERATION_SERVER_KIND_DELETE ? n : n - 1;
	if (nsrc < 1)
		return cli_usage_error(rq->kind == FILE_OPERATION_SERVER_KIND_DELETE ? "delete: no path given"
										      : "SRC... DST: at least two paths");
	if (nsrc > FILEOP_MAX_SOURCES)
		return cli_usage_error("at most %d sources at once", FILEOP_MAX_SOURCES);
	for (int i = 0; i < nsrc; i++) {
		int fd;
		char *name;
		int r = fileop_split(paths[i], &fd, &name);
		if (r < 0) {
			fprintf(stderr, "fileop: %s: %s\n", paths[i], strerror(-r));
			return 1;
		}
		struct stat st;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			close(fd);
			free(name);
			fprintf(stderr, "fileop: %s: %s\n", paths[i], strerror(-r));
			return 1;
		}
		rq->src[rq->n++] = (file_operation_server_source){.dir = fd, .name = name};
	}
	if (rq->kind == FILE_OPERATION_SERVER_KIND_DELETE) {
		rq->dest_dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return rq->dest_dir < 0 ? (fprintf(stderr, "fileop: .: %s\n", strerror(errno)), 1) : 0;
	}
	const char *dst = paths[n - 1];
	struct stat st;
	if (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
		rq->dest_dir = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return rq->dest_dir < 0 ? (fprintf(stderr, "fileop: %s: %s\n", dst, strerror(errno)), 1) : 0;
	}
	if (nsrc > 1) {
		fprintf(stderr, "fileop: %s: not a directory (needed for several sources)\n", dst);
		return 1;
	}
	int r = fileop_split(dst, &rq->dest_dir, &rq->dest_name);
	if (r < 0) {
		fprintf(stderr, "fileop: %s: %s\n", dst, strerror(-r));
		return 1;
	}
	return 0;
}

static int run_operation(struct run *run, struct request *rq, const char *socket_path, bool spawn,
			 file_operation_server_conflict conflict, file_operation_server_on_error on_error)
{
	pid_t child = 0;
	int r;
	if (spawn || (r = fileop_connect(run->loop, socket_path, &run->conn)) < 0) {
		if (socket_path)
			return cli_connect(run->loop, FILEOP_PORTAL, socket_path, &run->conn) < 0 ? 1 : 1;
		if ((r = fileop_spawn(run->loop, NULL, &run->conn, &child)) < 0) {
			fprintf(stderr, "fileop: cannot start FileOperation (%s): %s\n", fileop_default_exe(),
				strerror(-r));
			return 1;
		}
	}
	cli_adopt(run->conn);
	hv_conn_set_userdata(run->conn, run);
	hv_conn_serve(run->conn, &file_operation_client_endpoint, &events);
	hv_conn_on_disconnect(run->conn, on_disconnect, run);
	hv_vec_file_operation_server_source v = {.items = rq->src, .count = rq->n};
	hv_opt_bytestring name = {.present = rq->dest_name != NULL, .value = rq->dest_name};
	r = file_operation_server_start(run->conn, rq->kind, v, rq->dest_dir, name, conflict, on_error);
	if (r < 0) {
		r = cli_fail(run->conn, r, "start");
	} else {
		r = hv_loop_run(run->loop);
		if (r == 0 && run->status < 0)
			r = 1;
	}
	hv_conn_close(run->conn);
	run->conn = NULL;
	if (child > 0)
		waitpid(child, NULL, 0);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	cli_init("fileop", "FileOperation", usage);
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},	     {"conflict", required_argument, NULL, 'c'},
		{"on-error", required_argument, NULL, 'e'}, {"socket", required_argument, NULL, 'S'},
		{"spawn", no_argument, NULL, 'P'},	     {"help", no_argument, NULL, 'h'},
		{0},
	};
	struct run run = {0};
	const char *socket_path = NULL, *conflict_arg = NULL;
	file_operation_server_on_error on_error = FILE_OPERATION_SERVER_ON_ERROR_CONTINUE;
	bool spawn = false;
	int c;
	while ((c = getopt_long(argc, argv, "+jc:e:S:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': run.json = true; break;
		case 'c': conflict_arg = optarg; break;
		case 'e':
			if (fileop_parse_on_error(optarg, &on_error) < 0)
				return cli_usage_error("--on-error: continue or abort, not '%s'", optarg);
			break;
		case 'S': socket_path = optarg; break;
		case 'P': spawn = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc)
		return cli_usage_error("no command: copy, move or delete");
	struct request rq = {.dest_dir = -1};
	const char *verb = argv[optind];
	if (!strcmp(verb, "copy"))
		rq.kind = FILE_OPERATION_SERVER_KIND_COPY;
	else if (!strcmp(verb, "move"))
		rq.kind = FILE_OPERATION_SERVER_KIND_MOVE;
	else if (!strcmp(verb, "delete"))
		rq.kind = FILE_OPERATION_SERVER_KIND_DELETE;
	else
		return cli_usage_error("unknown command '%s'", verb);
	if (socket_path && spawn)
		return cli_usage_error("--socket and --spawn exclude each other");
	run.tty_in = isatty(0) && isatty(2);
	run.bar = !run.json && isatty(2);
	file_operation_server_conflict conflict =
		run.tty_in ? FILE_OPERATION_SERVER_CONFLICT_ASK : FILE_OPERATION_SERVER_CONFLICT_SKIP;
	if (conflict_arg && fileop_parse_conflict(conflict_arg, &conflict) < 0)
		return cli_usage_error("--conflict: ask, skip, overwrite or keep-both, not '%s'", conflict_arg);
	if (conflict == FILE_OPERATION_SERVER_CONFLICT_ASK && !run.tty_in)
		return cli_usage_error("--conflict ask needs a terminal");
	int r = build_request(&rq, argv + optind + 1, argc - optind - 1);
	if (r == 0) {
		if ((r = hv_loop_new(&run.loop)) < 0) {
			fprintf(stderr, "fileop: %s\n", strerror(-r));
			r = 1;
		} else {
			hv_loop_add_signal(run.loop, SIGINT, on_signal, &run, NULL);
			hv_loop_add_signal(run.loop, SIGTERM, on_signal, &run, NULL);
			r = run_operation(&run, &rq, socket_path, spawn, conflict, on_error);
			hv_loop_free(run.loop);
		}
	}
	request_free(&rq);
	return r;
}
