/* login-bench — a login through LoginServer, from begin to the session's
 * command finished, against `su - USER -c true` with the same PAM stack,
 * in the same run; and the time a failure takes for a wrong password and
 * for an unknown user (the two should match: docs/loginserver.md).
 *
 *   login-bench [--quick]     (root: sessions drop to other uids)
 *
 * Both sides use pam_wrapper + pam_matrix (auth, account, session: the
 * same module lines in the haven-login and su-l service files) and
 * nss_wrapper's fake users, preloaded into LoginServer and su only. The
 * session command is `/bin/sh -c true`, which is what su runs. Stages of a
 * login: begin -> first prompt (worker forked, PAM started), answer ->
 * authenticated, start_session -> running (setcred, open_session, runtime
 * dir, fork, drop, exec), running -> ended (the command, close_session). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/loop.h>

#include "login-client.h"

#define LIBDIR "/usr/lib/x86_64-linux-gnu"
#define FAIL_DELAY_MS 250

static char dir[] = "/tmp/login-bench-XXXXXX";
static char sock[256];

enum { T_BEGIN, T_PROMPT, T_ANSWER, T_AUTH, T_START, T_RUNNING, T_ENDED, T_N };
struct run {
	hv_loop *loop;
	uint64_t t[T_N];
	const char *password;
	bool failed, ok;
};

static uint64_t now(void) { return hv_now_ns(); }

static void on_prompt(lgn_conv *cv, lgn_prompt_kind kind, const char *text, void *ud)
{
	struct run *r = ud;
	if (kind != LGN_PROMPT_SECRET && kind != LGN_PROMPT_VISIBLE)
		return;
	r->t[T_PROMPT] = r->t[T_ANSWER] = now();
	lgn_answer(cv, r->password);
}

static void on_authenticated(lgn_conv *cv, void *ud)
{
	struct run *r = ud;
	static const char *const argv[] = {"/bin/sh", "-c", "true", NULL};
	r->t[T_AUTH] = r->t[T_START] = now();
	if (lgn_start_session(cv, argv, NULL, NULL, 0) < 0)
		hv_loop_quit(r->loop, 1);
}

static void on_failed(lgn_conv *cv, int code, const char *message, void *ud)
{
	struct run *r = ud;
	r->t[T_ENDED] = now();
	r->failed = true;
	hv_loop_quit(r->loop, 0);
}

static void on_started(lgn_conv *cv, int status, uint64_t session, const char *msg, void *ud)
{
	struct run *r = ud;
	r->t[T_RUNNING] = now();
	if (status < 0) {
		fprintf(stderr, "login-bench: session: %s\n", msg);
		hv_loop_quit(r->loop, 1);
	}
}

static void on_ended(lgn_conv *cv, uint64_t session, int exit_code, int signo, void *ud)
{
	struct run *r = ud;
	r->t[T_ENDED] = now();
	r->ok = exit_code == 0 && signo == 0;
	hv_loop_quit(r->loop, 0);
}

static const lgn_conv_ops ops = {on_prompt, on_authenticated, on_failed, on_started, on_ended};

static int login_once(hv_loop *loop, lgn_client *cl, const char *user, const char *password,
		      struct run *r)
{
	*r = (struct run){.loop = loop, .password = password};
	lgn_conv *cv;
	r->t[T_BEGIN] = now();
	if (lgn_begin(cl, user, &ops, r, &cv) < 0)
		return -1;
	hv_loop_run(loop);
	lgn_conv_free(cv);
	return 0;
}

static void write_file(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
}

static void wrapped_env(void)
{
	char v[512];
	setenv("LD_PRELOAD", LIBDIR "/libpam_wrapper.so:" LIBDIR "/libnss_wrapper.so", 1);
	setenv("PAM_WRAPPER", "1", 1);
	snprintf(v, sizeof(v), "%s/pam.d", dir);
	setenv("PAM_WRAPPER_SERVICE_DIR", v, 1);
	snprintf(v, sizeof(v), "%s/passwd", dir);
	setenv("NSS_WRAPPER_PASSWD", v, 1);
	snprintf(v, sizeof(v), "%s/group", dir);
	setenv("NSS_WRAPPER_GROUP", v, 1);
	int null = open("/dev/null", O_WRONLY); /* pam_wrapper's syslog lines */
	dup2(null, 2);
}

static pid_t start_server(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		char rt[300];
		snprintf(rt, sizeof(rt), "%s/rt", dir);
		wrapped_env();
		/* Its front, confined to no files, cannot remove pam_wrapper's
		 * copy of the PAM dir at exit: kept, removed by main(). */
		setenv("PAM_WRAPPER_KEEP_DIR", "1", 1);
		execl(LOGIN_BENCH_SERVER, "LoginServer", "--socket", sock, "--runtime-root", rt,
		      "--fail-delay-ms", "250", "--backoff-ms", "0", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++)
		usleep(10000);
	return pid;
}

/* One `echo secret | su - alison -c true`: its wall time, or 0. */
static uint64_t su_once(void)
{
	int p[2];
	if (pipe(p) < 0)
		return 0;
	uint64_t t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[1]);
		wrapped_env();
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execlp("su", "su", "-", "alison", "-c", "true", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	(void)!write(p[1], "secret\n", 7);
	close(p[1]);
	int st;
	waitpid(pid, &st, 0);
	uint64_t t = now() - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n ? (double)v[n / 2] / 1e6 : 0;
}

static void setup_files(void)
{
	char m[1024], p[300];
	snprintf(p, sizeof(p), "%s/pam.d", dir);
	mkdir(p, 0755);
	snprintf(m, sizeof(m),
		 "auth required " LIBDIR "/pam_wrapper/pam_matrix.so passdb=%s/passdb\n"
		 "account required " LIBDIR "/pam_wrapper/pam_matrix.so passdb=%s/passdb\n"
		 "session required " LIBDIR "/pam_wrapper/pam_matrix.so passdb=%s/passdb\n",
		 dir, dir, dir);
	write_file("pam.d/haven-login", m);
	write_file("pam.d/su-l", m);
	write_file("passdb", "alice:secret:haven-login\nalison:secret:su-l\n");
	snprintf(m, sizeof(m), "alice:x:4242:4242::%s:/bin/sh\nalison:x:4244:4244::%s:/bin/sh\n", dir, dir);
	write_file("passwd", m);
	write_file("group", "alice:x:4242:\nalison:x:4244:\n");
	chmod(dir, 0755);
}

static void report_logins(hv_loop *loop, lgn_client *cl, int n, double su_ms)
{
	static const char *const names[] = {"begin -> first prompt", "answer -> authenticated",
					    "start -> running", "running -> ended"};
	static const int from[] = {T_BEGIN, T_ANSWER, T_START, T_RUNNING};
	static const int to[] = {T_PROMPT, T_AUTH, T_RUNNING, T_ENDED};
	uint64_t stage[4][256], total[256];
	int ok = 0;
	for (int i = 0; i < n; i++) {
		struct run r;
		if (login_once(loop, cl, "alice", "secret", &r) < 0 || !r.ok) {
			fprintf(stderr, "login-bench: login %d failed\n", i);
			continue;
		}
		for (int s = 0; s < 4; s++)
			stage[s][ok] = r.t[to[s]] - r.t[from[s]];
		total[ok++] = r.t[T_ENDED] - r.t[T_BEGIN];
	}
	for (int s = 0; s < 4; s++)
		printf("  %-26s %8.2f ms\n", names[s], median_ms(stage[s], ok));
	double login_ms = median_ms(total, ok);
	printf("  %-26s %8.2f ms  (median of %d)\n", "LoginServer, begin->ended", login_ms, ok);
	printf("  %-26s %8.2f ms\n", "su - USER -c true", su_ms);
	printf("  ratio LoginServer / su: %.2fx (goal <= 1.5x: %s)\n", login_ms / su_ms,
	       login_ms / su_ms <= 1.5 ? "met" : "not met");
}

static void report_failures(hv_loop *loop, lgn_client *cl, int n)
{
	uint64_t wrong[64], unknown[64];
	int k = 0;
	for (int i = 0; i < n; i++) {
		struct run a, b;
		login_once(loop, cl, "alice", "wrong", &a);
		login_once(loop, cl, "nosuchuser", "wrong", &b);
		if (!a.failed || !b.failed)
			continue;
		wrong[k] = a.t[T_ENDED] - a.t[T_ANSWER];
		unknown[k++] = b.t[T_ENDED] - b.t[T_ANSWER];
	}
	printf("failed attempt, answer -> failed (--fail-delay-ms %d):\n", FAIL_DELAY_MS);
	double w = median_ms(wrong, k), u = median_ms(unknown, k);
	printf("  wrong password %8.2f ms, unknown user %8.2f ms (median of %d; difference %.2f ms)\n", w,
	       u, k, w - u);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int n = quick ? 3 : 30;
	if (geteuid() != 0 || access(LIBDIR "/libpam_wrapper.so", R_OK) != 0) {
		printf("login-bench: skipped (needs root and libpam-wrapper/libnss-wrapper)\n");
		return 0;
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/login.sock", dir);
	setup_files();
	pid_t server = start_server();
	hv_loop *loop;
	lgn_client *cl;
	loop = NULL;
	if (hv_loop_new(&loop) < 0 || lgn_client_connect(loop, sock, &cl) < 0) {
		fprintf(stderr, "login-bench: LoginServer did not start\n");
		kill(server, SIGTERM);
		hv_loop_free(loop);
		return 1;
	}
	uint64_t su[256];
	int ok = 0;
	for (int i = 0; i < n; i++)
		if ((su[ok] = su_once()))
			ok++;
	double su_ms = median_ms(su, ok);
	printf("login to a finished session command (%d runs each, same PAM stack):\n", n);
	report_logins(loop, cl, n, su_ms);
	report_failures(loop, cl, quick ? 1 : 5);
	lgn_client_free(cl);
	hv_loop_free(loop);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	char cmd[600];
	snprintf(cmd, sizeof(cmd),
		 "for d in /tmp/pam.*; do cmp -s \"$d/haven-login\" '%s/pam.d/haven-login' && rm -rf \"$d\"; "
		 "done; rm -rf '%s'", dir, dir);
	int rc = system(cmd);
	return ok == n && rc == 0 ? 0 : 1;
}
