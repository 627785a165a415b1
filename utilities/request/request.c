/* request — fetch a URL through RequestServer, as curl would fetch it
 * itself: the body on stdout (or into -o FILE), errors as one line, an
 * exit code per failure class (rqc_exit_code, docs/requestserver.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/options.h>
#include <haven/util.h>

#include "cli.h"
#include "request-client.h"

#define EXIT_HTTP_ERROR 22 /* --fail and a status >= 400, as curl's */
#define MAX_HEADERS 64

static const char *socket_path, *output, *method, *data, *proxy, *cacert;
static bool head, json, fail_on_http, progress;
static int64_t max_redirs = 10, connect_timeout, max_time, idle_timeout, resume_from;
static request_server_header headers[MAX_HEADERS];
static size_t nheaders;

static int add_header(const char *arg, void *target)
{
	(void)target;
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg || nheaders == MAX_HEADERS)
		return -EINVAL;
	const char *v = colon + 1;
	while (*v == ' ')
		v++;
	headers[nheaders++] = (request_server_header){.name = strndup(arg, (size_t)(colon - arg)), .value = v};
	return 0;
}

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "RequestServer's socket (default: the \"request\" portal)"),
	HV_OPT_STRING("output", "FILE", &output, "-o: write the body into FILE"),
	HV_OPT_STRING("request", "METHOD", &method, "-X: the method (default GET, POST with data)"),
	HV_OPT_CUSTOM("header", "'NAME: VALUE'", add_header, NULL, "-H: send a header (repeatable;\n"
		      "'NAME:' removes one RequestServer would send)"),
	HV_OPT_STRING("data", "DATA", &data, "-d: send DATA as the body (POST); @FILE: FILE's bytes"),
	HV_OPT_STRING("data-binary", "@FILE", &data, "the same"),
	HV_OPT_FLAG("head", &head, "-I: HEAD; print the response's headers"),
	HV_OPT_FLAG("json", &json, "print what happened as JSON on stdout (the body: -o or dropped)"),
	HV_OPT_STRING("proxy", "URL", &proxy, "through this proxy (\"\": none; default: the service's)"),
	HV_OPT_STRING("cacert", "FILE", &cacert, "trust the CA certificates in FILE (PEM) too"),
	HV_OPT_INT("max-redirs", "N", &max_redirs, 0, 1000, "redirects followed (default 10; 0: none)"),
	HV_OPT_INT("connect-timeout", "MS", &connect_timeout, 1, 3600000, "connect timeout"),
	HV_OPT_INT("max-time", "MS", &max_time, 1, INT32_MAX, "the whole request's timeout"),
	HV_OPT_INT("idle-timeout", "MS", &idle_timeout, 1000, 3600000, "end when nothing arrives this long"),
	HV_OPT_INT("continue-at", "OFFSET", &resume_from, 0, INT64_MAX, "-C: ask for the body from OFFSET on"),
	HV_OPT_FLAG("fail", &fail_on_http, "-f: exit 22 when the status is 400 or more"),
	HV_OPT_FLAG("progress", &progress, "a progress bar on stderr (with -o, on a terminal)"),
	{0},
};

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "request",
	.args = "URL | cookies [DOMAIN] | clear-cookies [DOMAIN]",
	.summary = "Fetch URL (http, https, gemini, file) through RequestServer. Exit: 0 a response\n"
		   "came, 1 the service is unreachable or refused the request, 2 usage,\n"
		   "3 DNS, 4 connect, 5 TLS, 6 timeout, 7 too many redirects, 8 protocol,\n"
		   "9 cancelled, 10 not permitted, 11 not found, 12 I/O, 22 --fail and an\n"
		   "HTTP status >= 400 (Gemini: >= 40).\n"
		   "cookies lists the instance's cookies (of DOMAIN and under it; --json:\n"
		   "an array), clear-cookies removes them and prints how many.\n" CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 1,
	.max_args = 2,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

/* curl's short options, as their long names. */
static void map_short_options(int argc, char **argv)
{
	static const char *const map[][2] = {{"-o", "--output"}, {"-X", "--request"}, {"-H", "--header"},
					     {"-d", "--data"},	  {"-I", "--head"},    {"-C", "--continue-at"},
					     {"-f", "--fail"},	  {"-x", "--proxy"}};
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		for (size_t k = 0; k < HV_ARRAY_SIZE(map); k++)
			if (!strcmp(argv[i], map[k][0]))
				argv[i] = (char *)map[k][1];
}

struct run {
	hv_loop *loop;
	const char *url;
	int pipe_rd;
	hv_watch *pipe_watch;
	hv_timer *start_timer;
	rqc_request *q;
	bool finished, eof;
	int rc;
	uint32_t status;
	char *json_headers;
	size_t json_len;
};

static void maybe_quit(struct run *run)
{
	if (run->finished && run->eof)
		hv_loop_quit(run->loop, run->rc);
}

static void on_pipe(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop, (void)events;
	struct run *run = ud;
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (!json && hv_write_full(STDOUT_FILENO, buf, (size_t)n) < 0) {
			fprintf(stderr, "request: writing the body: %s\n", strerror(errno));
			exit(12);
		}
		return;
	}
	hv_watch_free(run->pipe_watch);
	run->pipe_watch = NULL;
	run->eof = true;
	maybe_quit(run);
}

/* JSON string: the bytes as they are, escaped. */
static void on_headers(rqc_request *q, uint32_t status, const char *reason, const request_server_header *h,
		       size_t n, void *ud)
{
	(void)q;
	struct run *run = ud;
	hv_timer_disarm(run->start_timer);
	run->status = status;
	if (head && !json) {
		printf("%u %s\n", status, reason);
		for (size_t i = 0; i < n; i++)
			printf("%s: %s\n", h[i].name, h[i].value);
		fflush(stdout);
	}
	if (json) {
		FILE *f = open_memstream(&run->json_headers, &run->json_len);
		if (!f)
			return;
		fputc('[', f);
		for (size_t i = 0; i < n; i++) {
			fputs(i ? ",[" : "[", f);
			cli_json_string(f, h[i].name);
			fputc(',', f);
			cli_json_string(f, h[i].value);
			fputc(']', f);
		}
		fputc(']', f);
		fclose(f);
	}
}

static void on_progress(rqc_request *q, uint64_t done, uint64_t total, void *ud)
{
	(void)q, (void)ud;
	if (total)
		fprintf(stderr, "\r%3u%% %llu / %llu bytes", (unsigned)(done * 100 / total),
			(unsigned long long)done, (unsigned long long)total);
	else
		fprintf(stderr, "\r%llu bytes", (unsigned long long)done);
}

static void print_json(struct run *run, const rqc_outcome *o)
{
	printf("{\"url\":");
	cli_json_string(stdout, run->url);
	printf(",\"error\":\"%s\",\"message\":", rqc_kind_id(o->kind));
	cli_json_string(stdout, o->message);
	printf(",\"status\":%u,\"bytes\":%llu,\"effective_url\":", o->status, (unsigned long long)o->bytes);
	cli_json_string(stdout, o->effective_url);
	printf(",\"headers\":%s}\n", run->json_headers ? run->json_headers : "[]");
}

static void on_finished(rqc_request *q, const rqc_outcome *o, void *ud)
{
	(void)q;
	struct run *run = ud;
	run->finished = true;
	run->q = NULL;
	hv_timer_disarm(run->start_timer);
	if (progress)
		fputc('\n', stderr);
	if (o->call_error < 0) {
		fprintf(stderr, "request: %s: %s\n", run->url, o->message);
		run->rc = 1;
		run->eof = true;
	} else {
		if (json)
			print_json(run, o);
		if (o->kind != REQUEST_SERVER_ERROR_KIND_NONE)
			fprintf(stderr, "request: %s: %s error: %s\n", run->url, rqc_kind_name(o->kind), o->message);
		run->rc = rqc_exit_code(o->kind);
		/* Gemini's failures are 4x-6x (its 1x-3x are input, success,
		 * a redirect): the same class as HTTP's 4xx-5xx. */
		bool gemini = !strncasecmp(o->effective_url, "gemini:", 7);
		if (!o->kind && fail_on_http && o->status >= (gemini ? 40u : 400u)) {
			fprintf(stderr, "request: %s: %s status %u\n", run->url, gemini ? "Gemini" : "HTTP", o->status);
			run->rc = EXIT_HTTP_ERROR;
		}
	}
	maybe_quit(run);
}

/* The service has the call timeout to answer the start (a frozen service
 * ends the CLI with a clear line; a slow server later is not a frozen
 * service: the request's own timeouts are for that). */
static void on_start_timeout(hv_loop *loop, hv_timer *t, void *ud)
{
	(void)t;
	struct run *run = ud;
	if (run->q && rqc_request_id(run->q))
		return;
	cli_fail(NULL, -ETIMEDOUT, run->url);
	hv_loop_quit(loop, 1);
}

static int read_arg_file(const char *path, uint8_t **out, size_t *len)
{
	int r = hv_read_file_at(AT_FDCWD, path, 0, 1u << 30, out, len);
	if (r < 0)
		fprintf(stderr, "request: %s: %s\n", path, strerror(-r));
	return r;
}

static int open_output(int *fd, int *pipe_rd)
{
	if (output) {
		*fd = open(output, O_WRONLY | O_CREAT | O_CLOEXEC | (resume_from ? O_APPEND : O_TRUNC), 0644);
		if (*fd < 0)
			return fprintf(stderr, "request: %s: %s\n", output, strerror(errno)), -errno;
		*pipe_rd = -1;
		return 0;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	*pipe_rd = p[0];
	*fd = p[1];
	return 0;
}

static int run_request(hv_conn *conn, const char *url, rqc_params *prm)
{
	_hv_cleanup_(hv_loop_freep) hv_loop *loop = hv_conn_loop(conn);
	rqc_session *s;
	if (rqc_session_new(conn, &s) < 0)
		return 1;
	struct run run = {.loop = loop, .url = url, .pipe_rd = -1};
	_hv_close_ int out_fd = -1;
	if (open_output(&out_fd, &run.pipe_rd) < 0)
		return rqc_close(s), 12;
	run.eof = run.pipe_rd < 0;
	rqc_callbacks cb = {.headers = on_headers, .progress = progress ? on_progress : NULL, .finished = on_finished};
	int r = rqc_start(s, prm, out_fd, &cb, &run, &run.q);
	hv_close(&out_fd); /* the service has its copy: EOF comes when it closes it */
	if (r < 0) {
		rqc_close(s);
		hv_close(&run.pipe_rd);
		return cli_fail(NULL, r, url);
	}
	if (run.pipe_rd >= 0)
		hv_loop_add_fd(loop, run.pipe_rd, HV_IO_READ, on_pipe, &run, &run.pipe_watch);
	int t = cli_timeout_ms();
	if (t > 0)
		hv_loop_add_timer(loop, (uint64_t)t * 1000000u, 0, on_start_timeout, &run, &run.start_timer);
	r = hv_loop_run(loop);
	rqc_close(s);
	hv_watch_free(run.pipe_watch);
	hv_timer_free(run.start_timer);
	hv_close(&run.pipe_rd);
	free(run.json_headers);
	return r;
}

static void print_cookie(const request_server_cookie *k, bool first)
{
	if (!json) {
		char when[32] = "session";
		if (k->expires) {
			time_t t = (time_t)k->expires;
			strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&t));
		}
		printf("%s%s\t%s\t%s=%s\t%s%s%s\n", k->include_subdomains ? "." : "", k->domain, k->path, k->name,
		       k->value, when, k->secure ? " secure" : "", k->http_only ? " httponly" : "");
		return;
	}
	fputs(first ? "{\"domain\":" : ",{\"domain\":", stdout);
	cli_json_string(stdout, k->domain);
	printf(",\"include_subdomains\":%s,\"path\":", k->include_subdomains ? "true" : "false");
	cli_json_string(stdout, k->path);
	fputs(",\"name\":", stdout);
	cli_json_string(stdout, k->name);
	fputs(",\"value\":", stdout);
	cli_json_string(stdout, k->value);
	printf(",\"secure\":%s,\"http_only\":%s,\"expires\":%lld}", k->secure ? "true" : "false",
	       k->http_only ? "true" : "false", (long long)k->expires);
}

/* request cookies|clear-cookies [DOMAIN] */
static int cookies_verb(const char *verb, const char *domain)
{
	hv_conn *conn;
	if (cli_connect(NULL, RQC_PORTAL, socket_path, &conn) < 0)
		return 1;
	int r;
	if (!strcmp(verb, "clear-cookies")) {
		uint32_t n;
		if ((r = request_server_clear_cookies(conn, domain, &n)) < 0)
			r = cli_fail(conn, r, "clear the cookies");
		else
			printf("%u cookie%s removed\n", n, n == 1 ? "" : "s");
	} else {
		hv_vec_request_server_cookie v;
		if ((r = request_server_list_cookies(conn, domain, &v)) < 0) {
			r = cli_fail(conn, r, "list the cookies");
		} else {
			if (json)
				putchar('[');
			for (size_t i = 0; i < v.count; i++)
				print_cookie(&v.items[i], i == 0);
			if (json)
				puts("]");
		}
	}
	hv_conn_close(conn);
	return r < 0 ? 1 : r;
}

int main(int argc, char **argv)
{
	cli_init("request", "RequestServer", usage);
	map_short_options(argc, argv);
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	const char *url = argv[first];
	if (!strcmp(url, "cookies") || !strcmp(url, "clear-cookies"))
		return cookies_verb(url, argc - first > 1 ? argv[first + 1] : "");
	if (argc - first > 1)
		return cli_usage_error("one URL, not %s and %s", url, argv[first + 1]);
	_hv_free_ uint8_t *body = NULL, *ca = NULL;
	size_t body_len = 0, ca_len = 0;
	if (data && data[0] == '@' && read_arg_file(data + 1, &body, &body_len) < 0)
		return 2;
	if (cacert && read_arg_file(cacert, &ca, &ca_len) < 0)
		return 2;
	rqc_params prm = {
		.method = method ? method : head ? "HEAD" : data ? "POST" : "GET",
		.url = url,
		.headers = headers,
		.nheaders = nheaders,
		.body = body ? (const void *)body : data,
		.body_len = body ? body_len : data ? strlen(data) : 0,
		.proxy = proxy,
		.ca_pem = ca,
		.ca_len = ca_len,
		.options = {.max_redirects = (uint32_t)max_redirs, .connect_timeout_ms = (uint32_t)connect_timeout,
			    .timeout_ms = (uint32_t)max_time, .idle_timeout_ms = (uint32_t)idle_timeout,
			    .resume_from = (uint64_t)resume_from, .progress = progress && output && isatty(2)},
	};
	progress = prm.options.progress;
	hv_loop *loop;
	if ((r = hv_loop_new(&loop)) < 0)
		return hv_log_errno(r, "creating the loop"), 1;
	hv_conn *conn;
	if (cli_connect(loop, RQC_PORTAL, socket_path, &conn) < 0) {
		hv_loop_free(loop);
		return 1;
	}
	return run_request(conn, url, &prm);
}
