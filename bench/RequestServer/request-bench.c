/* request-bench — RequestServer against libcurl's multi interface used in
 * process, on the same local nginx (started here), in the same run
 * (issue 15): N small GETs over keep-alive (goal >= 0.8x the requests per
 * second), one at a time and K at once, and a large download into a file
 * fd (goal >= 0.9x the throughput). RequestServer's client does what a
 * real one does: a pipe per request, read to EOF, events by callback; the
 * in-process client reuses its easy handles and writes to memory / the
 * same file. Rounds of each alternate, so drift hits both.
 *
 *   request-bench [--quick] [--requests N] [--parallel K] [--large-mib M | --gib]
 *
 * Needs nginx (scripts/deps.txt); exits 77 without it.
 * REQUEST_BENCH_KEEP=1 keeps its directory for a look. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <haven/loop.h>

#include "request-client.h"

#define SMALL_BODY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
#define MAX_PAR 64

static char dir[64];
static pid_t children[2];
static int nchildren;
static unsigned port;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cleanup(void)
{
	for (int i = 0; i < nchildren; i++) {
		kill(children[i], SIGTERM);
		waitpid(children[i], NULL, 0);
	}
	if (dir[0] && !getenv("REQUEST_BENCH_KEEP")) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "request-bench: could not remove %s\n", dir);
	}
}

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "request-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static unsigned free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(s, (struct sockaddr *)&a, &len) < 0)
		die("no free port: %s", strerror(errno));
	close(s);
	return ntohs(a.sin_port);
}

static void spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0 && !getenv("REQUEST_BENCH_KEEP"))
			dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	children[nchildren++] = pid;
}

static bool connectable(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

static void start_peers(uint64_t large)
{
	char path[160], conf[1024];
	snprintf(path, sizeof(path), "%s/www", dir);
	if (mkdir(path, 0700) < 0)
		die("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/www/small.txt", dir);
	FILE *f = fopen(path, "w");
	if (!f || fputs(SMALL_BODY, f) < 0 || fclose(f))
		die("writing %s", path);
	snprintf(path, sizeof(path), "%s/www/large.bin", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)large) < 0) /* sparse: the page cache serves it */
		die("creating %s: %s", path, strerror(errno));
	close(fd);
	port = free_port();
	snprintf(conf, sizeof(conf),
		 "daemon off; master_process off; worker_processes 1; pid %s/pid; error_log stderr warn;\n"
		 "events { worker_connections 512; }\n"
		 "http { access_log off; keepalive_requests 1000000; sendfile on; default_type text/plain;\n"
		 "  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
		 "  server { listen 127.0.0.1:%u; root %s/www; } }\n",
		 dir, dir, dir, dir, dir, dir, port, dir);
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	f = fopen(path, "w");
	if (!f || fputs(conf, f) < 0 || fclose(f))
		die("writing %s", path);
	char prefix[80];
	snprintf(prefix, sizeof(prefix), "%s", dir);
	spawn((char *[]){"/usr/sbin/nginx", "-p", prefix, "-c", path, "-e", "stderr", NULL});
	char sock[128], nolookup[128];
	snprintf(sock, sizeof(sock), "%s/request.sock", dir);
	snprintf(nolookup, sizeof(nolookup), "%s/no-lookup", dir);
	spawn((char *[]){REQUEST_BENCH_SERVER, "--socket", sock, "--lookup-socket", nolookup, NULL});
	for (int i = 0; i < 200 && !(connectable() && access(sock, F_OK) == 0); i++)
		usleep(20000);
	if (!connectable() || access(sock, F_OK) != 0)
		die("nginx or RequestServer did not start (REQUEST_BENCH_KEEP=1 shows their logs)");
}

/* --- through RequestServer ----------------------------------------------- */

struct rs_slot {
	struct rs_run *run;
	int rd;
	hv_watch *w;
	size_t got;
	bool finished, eof, busy;
};

struct rs_run {
	hv_loop *loop;
	rqc_session *s;
	const char *url;
	int file_fd;	   /* large: the body goes here; -1: pipes */
	uint64_t expect;   /* body bytes per request */
	unsigned todo, started, done;
	struct rs_slot slots[MAX_PAR];
};

static void rs_next(struct rs_run *run, struct rs_slot *sl);

static void rs_slot_done(struct rs_slot *sl)
{
	if (!sl->finished || !sl->eof)
		return;
	struct rs_run *run = sl->run;
	if (run->file_fd < 0 && sl->got != run->expect)
		die("RequestServer: a body of %zu bytes, expected %llu", sl->got, (unsigned long long)run->expect);
	sl->busy = false;
	if (++run->done == run->todo)
		hv_loop_quit(run->loop, 0);
	else
		rs_next(run, sl);
}

static void rs_on_pipe(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop, (void)events;
	struct rs_slot *sl = ud;
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		sl->got += (size_t)n;
		return;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	hv_watch_free(sl->w);
	sl->w = NULL;
	close(sl->rd);
	sl->rd = -1;
	sl->eof = true;
	rs_slot_done(sl);
}

static void rs_on_finished(rqc_request *q, const rqc_outcome *o, void *ud)
{
	(void)q;
	struct rs_slot *sl = ud;
	if (o->call_error < 0 || o->kind != REQUEST_SERVER_ERROR_KIND_NONE || o->status != 200)
		die("RequestServer: %s (status %u)", o->message, o->status);
	if (sl->run->file_fd >= 0 && o->bytes != sl->run->expect)
		die("RequestServer: %llu bytes downloaded", (unsigned long long)o->bytes);
	sl->finished = true;
	rs_slot_done(sl);
}

static void rs_next(struct rs_run *run, struct rs_slot *sl)
{
	if (run->started == run->todo)
		return;
	run->started++;
	*sl = (struct rs_slot){.run = run, .rd = -1, .busy = true, .eof = run->file_fd >= 0};
	int out = run->file_fd, p[2];
	if (out < 0) {
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
			die("pipe: %s", strerror(errno));
		sl->rd = p[0];
		out = p[1];
	}
	rqc_params prm = {.url = run->url};
	static const rqc_callbacks cb = {.finished = rs_on_finished};
	int r = rqc_start(run->s, &prm, out, &cb, sl, NULL);
	if (run->file_fd < 0)
		close(p[1]);
	if (r < 0)
		die("start_request: %s", strerror(-r));
	if (sl->rd >= 0 && hv_loop_add_fd(run->loop, sl->rd, HV_IO_READ, rs_on_pipe, sl, &sl->w) < 0)
		die("watching a pipe");
}

static double rs_round(rqc_session *s, hv_loop *loop, const char *url, unsigned n, unsigned par, int file_fd,
		       uint64_t expect)
{
	struct rs_run *run = calloc(1, sizeof(*run));
	*run = (struct rs_run){.loop = loop, .s = s, .url = url, .file_fd = file_fd, .expect = expect, .todo = n};
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < par && i < n; i++)
		rs_next(run, &run->slots[i]);
	hv_loop_run(loop);
	double secs = (double)(now_ns() - t0) / 1e9;
	free(run);
	return secs;
}

/* --- libcurl in process ---------------------------------------------------- */

struct mem {
	size_t got;
	int fd;
};

static size_t to_mem(char *p, size_t size, size_t n, void *ud)
{
	struct mem *m = ud;
	(void)p;
	m->got += size * n;
	if (m->fd >= 0 && write(m->fd, p, size * n) != (ssize_t)(size * n))
		return 0;
	return size * n;
}

static double curl_round(CURLM *multi, CURL **easy, struct mem *mem, const char *url, unsigned n, unsigned par,
			 int file_fd, uint64_t expect)
{
	unsigned started = 0, done = 0;
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < par && i < n; i++, started++) {
		mem[i] = (struct mem){.fd = file_fd};
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &mem[i]);
		curl_multi_add_handle(multi, easy[i]);
	}
	while (done < n) {
		int running;
		curl_multi_perform(multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			CURL *e = m->easy_handle;
			CURLcode code = m->data.result;
			long status = 0;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			unsigned i = 0;
			while (easy[i] != e)
				i++;
			if (code != CURLE_OK || status != 200 || mem[i].got != expect)
				die("libcurl: %s, status %ld, %zu bytes", curl_easy_strerror(code), status, mem[i].got);
			curl_multi_remove_handle(multi, e);
			done++;
			if (started < n) {
				started++;
				mem[i] = (struct mem){.fd = file_fd};
				curl_multi_add_handle(multi, e);
			}
		}
		if (done < n)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	return (double)(now_ns() - t0) / 1e9;
}

/* --- the comparisons -------------------------------------------------------- */

static void compare_small(rqc_session *s, hv_loop *loop, CURLM *multi, CURL **easy, struct mem *mem,
			  unsigned n, unsigned par, unsigned rounds)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/small.txt", port);
	double rs = 0, cu = 0;
	for (unsigned k = 0; k < rounds; k++) {
		rs += rs_round(s, loop, url, n / rounds, par, -1, strlen(SMALL_BODY));
		cu += curl_round(multi, easy, mem, url, n / rounds, par, -1, strlen(SMALL_BODY));
	}
	double rs_rps = n / rs, cu_rps = n / cu;
	printf("%u small GETs, %2u at a time: RequestServer %8.0f req/s   in-process libcurl %8.0f req/s   "
	       "ratio %.2fx (goal >= 0.8x)\n",
	       n, par, rs_rps, cu_rps, rs_rps / cu_rps);
}

static void compare_large(rqc_session *s, hv_loop *loop, CURLM *multi, CURL **easy, struct mem *mem,
			  uint64_t large, unsigned rounds)
{
	char url[128], path[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/large.bin", port);
	snprintf(path, sizeof(path), "%s/download", dir);
	double rs = 0, cu = 0;
	for (unsigned k = 0; k < rounds; k++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			die("%s: %s", path, strerror(errno));
		rs += rs_round(s, loop, url, 1, 1, fd, large);
		struct stat st;
		if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != large)
			die("RequestServer wrote %lld bytes of %llu", (long long)st.st_size, (unsigned long long)large);
		if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			die("truncating %s", path);
		cu += curl_round(multi, easy, mem, url, 1, 1, fd, large);
		close(fd);
	}
	double mib = (double)large * rounds / (1 << 20);
	printf("%llu MiB into a file fd (x%u): RequestServer %7.0f MiB/s   in-process libcurl %7.0f MiB/s   "
	       "ratio %.2fx (goal >= 0.9x)\n",
	       (unsigned long long)(large >> 20), rounds, mib / rs, mib / cu, cu / rs);
	unlink(path);
}

int main(int argc, char **argv)
{
	bool quick = false;
	unsigned n = 10000, par = 16;
	uint64_t large = 256ull << 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
			n = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--parallel") && i + 1 < argc)
			par = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--large-mib") && i + 1 < argc)
			large = strtoull(argv[++i], NULL, 10) << 20;
		else if (!strcmp(argv[i], "--gib"))
			large = 1ull << 30;
		else {
			fprintf(stderr, "usage: request-bench [--quick] [--requests N] [--parallel K] [--large-mib M | --gib]\n");
			return 2;
		}
	}
	if (quick)
		n = 200, large = 8ull << 20;
	if (par < 1 || par > MAX_PAR || n < 10)
		die("--parallel 1..%d, --requests >= 10", MAX_PAR);
	if (access("/usr/sbin/nginx", X_OK) != 0) {
		printf("request-bench: no nginx (apt-get install nginx-light): skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/request-bench-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	start_peers(large);

	hv_loop *loop;
	rqc_session *s;
	char sock[128];
	snprintf(sock, sizeof(sock), "%s/request.sock", dir);
	if (hv_loop_new(&loop) < 0 || rqc_connect(loop, sock, &s) < 0)
		die("cannot reach RequestServer at %s", sock);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *multi = curl_multi_init();
	/* The service's default per-host limit, so both open as many connections. */
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 6L);
	CURL *easy[MAX_PAR];
	struct mem mem[MAX_PAR];
	for (unsigned i = 0; i < MAX_PAR; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, to_mem);
		curl_easy_setopt(easy[i], CURLOPT_ACCEPT_ENCODING, "");
	}
	unsigned rounds = quick ? 2 : 4;
	/* Warm both: connections open, caches hot. */
	compare_small(s, loop, multi, easy, mem, 20, par, 1);
	compare_small(s, loop, multi, easy, mem, n, 1, rounds);
	compare_small(s, loop, multi, easy, mem, n, par, rounds);
	compare_large(s, loop, multi, easy, mem, large, quick ? 1 : 2);
	for (unsigned i = 0; i < MAX_PAR; i++)
		curl_easy_cleanup(easy[i]);
	curl_multi_cleanup(multi);
	rqc_close(s);
	hv_loop_free(loop);
	return 0;
}
