/* test-def.c — the definition parser on real files: every key, list and
 * quoting rules, expansion (variables, XDG defaults, whose account), the cross-key rules, and errors that invalidate
 * only their own section. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>

#include "check.h"
#include "def.h"


static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void test_words(void)
{
	hv_strv w = {0};
	CHECK(ss_split_words("a 'b c' \"d \\\"e\\\"\" f\\ g", &w) == 0);
	CHECK(w.n == 4);
	if (w.n == 4) {
		CHECK(strcmp(w.v[0], "a") == 0);
		CHECK(strcmp(w.v[1], "b c") == 0);
		CHECK(strcmp(w.v[2], "d \"e\"") == 0);
		CHECK(strcmp(w.v[3], "f g") == 0);
	}
	hv_strv_clear(&w);
	CHECK(ss_split_words("'open", &w) == -EINVAL);
	hv_strv_clear(&w);
}

/* LimitAS= … LimitDATA=: systemd's syntax, values and errors. */
static void test_limit_values(void)
{
	ss_svc_limit l;
	CHECK(ss_parse_limit(SS_LIMIT_NOFILE, "1024", &l) == 0 && l.set && l.soft == 1024 && l.hard == 1024);
	CHECK(ss_parse_limit(SS_LIMIT_AS, "2G", &l) == 0 && l.soft == (2ull << 30) && l.hard == l.soft);
	CHECK(ss_parse_limit(SS_LIMIT_DATA, "512M:1G", &l) == 0 && l.soft == (512ull << 20) &&
	      l.hard == (1ull << 30));
	CHECK(ss_parse_limit(SS_LIMIT_CORE, "0", &l) == 0 && l.soft == 0 && l.hard == 0);
	CHECK(ss_parse_limit(SS_LIMIT_CORE, "16K:infinity", &l) == 0 && l.soft == 16384 &&
	      l.hard == (uint64_t)RLIM_INFINITY);
	CHECK(ss_parse_limit(SS_LIMIT_AS, "infinity", &l) == 0 && l.soft == (uint64_t)RLIM_INFINITY);
	CHECK(ss_parse_limit(SS_LIMIT_CPU, "30:31", &l) == 0 && l.soft == 30 && l.hard == 31);
	CHECK(ss_parse_limit(SS_LIMIT_CPU, "10s", &l) == 0 && l.soft == 10);
	const char *bad[] = {"", "-1", "1X", "1.5G", "K", "infinite", "1G:", ":1G", "2:1:3", " 1", "1 ",
			     "99999999999999999999", "20000000000E"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(ss_parse_limit(SS_LIMIT_AS, bad[i], &l) == -EINVAL);
	CHECK(ss_parse_limit(SS_LIMIT_CPU, "1G", &l) == -EINVAL); /* seconds: no size suffix */
	CHECK(ss_parse_limit(SS_LIMIT_NOFILE, "200:100", &l) == -ERANGE);
	CHECK(ss_parse_limit(SS_LIMIT_NOFILE, "infinity:100", &l) == -ERANGE);
}

/* Ipc*= keys: parsed into bytes, counts and milliseconds, handed over as
 * HAVEN_IPC_QUOTAS; a bad value or a quota without a Socket invalidates
 * the section. */
static void test_ipc_keys(const ss_def_env *env)
{
	char sub[128];
	snprintf(sub, sizeof sub, "%s/ipc", dir);
	CHECK(mkdir(sub, 0700) == 0);
	char path[256];
	snprintf(path, sizeof path, "%s/q.ini", sub);
	FILE *f = fopen(path, "w");
	if (!f)
		exit(1);
	fputs("[Q]\nExecutable=ss-testd\nSocket=q\nIpcUidBytes=1M\nIpcUidFds=16\n"
	      "IpcUidConnections=8\nIpcTotalBytes=infinity\nIpcMaxConnections=64\n"
	      "IpcFrameDeadlineSec=2.5\nIpcIdleTimeoutSec=0\n"
	      "[None]\nExecutable=ss-testd\nSocket=n\n"
	      "[BadBytes]\nExecutable=ss-testd\nSocket=b\nIpcUidBytes=lots\n"
	      "[BadCount]\nExecutable=ss-testd\nSocket=c\nIpcUidFds=2000000\n"
	      "[BadDeadline]\nExecutable=ss-testd\nSocket=d\nIpcFrameDeadlineSec=0.0001\n"
	      "[NoSocket]\nExecutable=ss-testd\nIpcTotalFds=10\n",
	      f);
	fclose(f);
	ss_def_set set;
	CHECK(ss_defs_load(sub, env, &set) == 0);
	ss_svc_def *d = ss_defs_find(&set, "Q");
	CHECK(d && !d->invalid);
	char *e = NULL;
	if (d) {
		CHECK(d->ipc[SS_IPC_UID_BYTES] == 1u << 20 && d->ipc[SS_IPC_FRAME_DEADLINE] == 2500);
		CHECK(ss_ipc_quota_env(d, &e) == 0 && e);
		CHECK(e && strcmp(e, "HAVEN_IPC_QUOTAS=uid-bytes=1048576 uid-fds=16 uid-connections=8 "
				     "total-bytes=0 connections=64 frame-deadline-ms=2500 "
				     "idle-timeout-ms=0") == 0);
		free(e);
	}
	d = ss_defs_find(&set, "None");
	CHECK(d && !d->invalid && ss_ipc_quota_env(d, &e) == 0 && !e);
	const char *bad[] = {"BadBytes", "BadCount", "BadDeadline", "NoSocket"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		d = ss_defs_find(&set, bad[i]);
		CHECK(d && d->invalid);
	}
	CHECK(set.errors == 4);
	ss_defs_free(&set);
}

static void test_limit_keys(const ss_def_env *env)
{
	char sub[128], path[256];
	snprintf(sub, sizeof sub, "%s/limits", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(path, sizeof path, "%s/l.ini", sub);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fputs("[Lim]\n"
	      "Executable=ss-testd\n"
	      "LimitAS=4G\n"
	      "LimitCPU=30:31\n"
	      "LimitNOFILE=64\n"
	      "LimitCORE=0\n"
	      "LimitDATA=1G:infinity\n"
	      "[BadValue]\n"
	      "Executable=ss-testd\n"
	      "LimitNOFILE=lots\n"
	      "[BadOrder]\n"
	      "Executable=ss-testd\n"
	      "LimitCORE=2M:1M\n"
	      "[BadTwice]\n"
	      "Executable=ss-testd\n"
	      "LimitCPU=1\n"
	      "LimitCPU=2\n"
	      "[Unknown]\n"
	      "Executable=ss-testd\n"
	      "LimitNPROC=10\n"
	      "[Budget]\n"
	      "Executable=ss-testd\n"
	      "Socket=budget\nAcceptSocketConnections=true\nLimitAS=1G\nMemoryBudget=3G\n"
	      "[BudgetNoAS]\n"
	      "Executable=ss-testd\n"
	      "Socket=budget2\nAcceptSocketConnections=true\nMemoryBudget=3G\n"
	      "[BudgetTooSmall]\n"
	      "Executable=ss-testd\n"
	      "Socket=budget3\nAcceptSocketConnections=true\nLimitAS=2G\nMemoryBudget=1G\n"
	      "[BudgetNotAccept]\n"
	      "Executable=ss-testd\n"
	      "LimitAS=1G\nMemoryBudget=3G\n"
	      "[Spares]\n"
	      "Executable=ss-testd\n"
	      "Socket=spares\nAcceptSocketConnections=true\nSpareInstances=2\n"
	      "[SparesNotAccept]\n"
	      "Executable=ss-testd\n"
	      "Socket=spares2\nSpareInstances=1\n"
	      "[SparesTooMany]\n"
	      "Executable=ss-testd\n"
	      "Socket=spares3\nAcceptSocketConnections=true\nSpareInstances=17\n",
	      f);
	fclose(f);
	ss_def_set set;
	CHECK(ss_defs_load(sub, env, &set) == 0);
	ss_svc_def *d = ss_defs_find(&set, "Lim");
	CHECK(d && !d->invalid);
	if (d) {
		CHECK(d->limits[SS_LIMIT_AS].set && d->limits[SS_LIMIT_AS].soft == (4ull << 30));
		CHECK(d->limits[SS_LIMIT_CPU].soft == 30 && d->limits[SS_LIMIT_CPU].hard == 31);
		CHECK(d->limits[SS_LIMIT_NOFILE].soft == 64 && d->limits[SS_LIMIT_NOFILE].hard == 64);
		CHECK(d->limits[SS_LIMIT_CORE].set && d->limits[SS_LIMIT_CORE].hard == 0);
		CHECK(d->limits[SS_LIMIT_DATA].hard == (uint64_t)RLIM_INFINITY);
	}
	d = ss_defs_find(&set, "Budget");
	CHECK(d && !d->invalid && d->memory_budget == (3ull << 30));
	d = ss_defs_find(&set, "Spares");
	CHECK(d && !d->invalid && d->spares == 2);
	const char *bad[] = {"BadValue",   "BadOrder",	     "BadTwice",	"Unknown",	  "BudgetNoAS",
			     "BudgetTooSmall", "BudgetNotAccept", "SparesNotAccept", "SparesTooMany"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ss_svc_def *b = ss_defs_find(&set, bad[i]);
		CHECK_MSG(b && b->invalid, "%s should be invalid", bad[i]);
	}
	CHECK(set.errors == 9);
	ss_defs_free(&set);
}

/* Paths: the XDG variables, their defaults, ~, and the account whose
 * paths they are; an unknown variable is an error, never a literal. */
static void test_expand(const ss_def_env *env)
{
	char bad[64] = "", *out = NULL;
	ss_path_owner me = {.uid = 1234, .home = "/home/u", .own_env = false};
	struct {
		const char *in, *want;
	} ok[] = {
		{"$XDG_CONFIG_HOME/haven", "/home/u/.config/haven"},
		{"${XDG_DATA_HOME}/x", "/home/u/.local/share/x"},
		{"$XDG_STATE_HOME", "/home/u/.local/state"},
		{"$XDG_CACHE_HOME/c", "/home/u/.cache/c"},
		{"$HOME/f", "/home/u/f"},
		{"~/f", "/home/u/f"},
		{"~", "/home/u"},
		{"$XDG_RUNTIME_DIR/haven", "/run/user/1234/haven"},
		{"/a/%uid/b", "/a/1234/b"},
		{"%portal/x", "/P/x"},
		{"/a~b", "/a~b"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		out = NULL;
		int r = ss_expand_path(ok[i].in, env, &me, &out, bad, sizeof bad);
		CHECK(r == 0 && out && strcmp(out, ok[i].want) == 0);
		if (r != 0 || !out || strcmp(out, ok[i].want) != 0)
			fprintf(stderr, "  %s -> %s (want %s)\n", ok[i].in, out ? out : "(error)", ok[i].want);
		free(out);
	}
	CHECK(ss_expand_path("$XDG_CONFIG_HOMEX/a", env, &me, &out, bad, sizeof bad) == -EINVAL &&
	      strcmp(bad, "$XDG_CONFIG_HOMEX") == 0);
	CHECK(ss_expand_path("${HOME/a", env, &me, &out, bad, sizeof bad) == -EINVAL);
	CHECK(ss_expand_path("/a/$/b", env, &me, &out, bad, sizeof bad) == -EINVAL);
	CHECK(ss_expand_path("$PATH", env, &me, &out, bad, sizeof bad) == -EINVAL && strcmp(bad, "$PATH") == 0);

	/* The manager's own account: its environment wins, relative values
	 * are ignored (XDG spec). */
	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	setenv("XDG_DATA_HOME", "relative", 1);
	setenv("HOME", "/h", 1);
	CHECK(ss_expand_path("$XDG_CONFIG_HOME/haven", env, NULL, &out, bad, sizeof bad) == 0 &&
	      strcmp(out, "/cfg/haven") == 0);
	free(out);
	CHECK(ss_expand_path("$XDG_DATA_HOME", env, NULL, &out, bad, sizeof bad) == 0 &&
	      strcmp(out, "/h/.local/share") == 0);
	free(out);

	/* In a file: User= (root manager) decides whose dirs, wherever it is;
	 * an unknown variable invalidates only its section. */
	char sub[128], path[256];
	snprintf(sub, sizeof sub, "%s/expand", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(path, sizeof path, "%s/e.ini", sub);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fputs("[Mine]\n"
	      "Executable=ss-testd\n"
	      "Unveil=$XDG_CONFIG_HOME/haven:rwc, ~/.x:r, tcp:443:c\n"
	      "[Nobody]\n"
	      "Executable=ss-testd\n"
	      "Unveil=$XDG_CONFIG_HOME/haven:rwc\n"
	      "User=nobody\n"
	      "[Typo]\n"
	      "Executable=ss-testd\n"
	      "Unveil=$XDG_CONFIG/haven:rwc\n",
	      f);
	fclose(f);
	ss_def_env root_env = *env;
	root_env.root = true;
	ss_def_set set;
	CHECK(ss_defs_load(sub, &root_env, &set) == 0);
	ss_svc_def *d = ss_defs_find(&set, "Mine");
	CHECK(d && !d->invalid && d->unveil.n == 3);
	if (d && d->unveil.n == 3) {
		CHECK(strcmp(d->unveil.v[0], "/cfg/haven:rwc") == 0);
		CHECK(strcmp(d->unveil.v[1], "/h/.x:r") == 0);
		CHECK(strcmp(d->unveil.v[2], "tcp:443:c") == 0);
	}
	d = ss_defs_find(&set, "Nobody");
	CHECK(d && d->unveil.n == 1);
	struct passwd *pw = getpwnam("nobody");
	if (d && d->unveil.n == 1 && pw) {
		char want[512];
		snprintf(want, sizeof want, "%s/.config/haven:rwc", pw->pw_dir);
		CHECK(strcmp(d->unveil.v[0], want) == 0);
	}
	d = ss_defs_find(&set, "Typo");
	CHECK(d && d->invalid);
	CHECK(set.errors == 1);
	ss_defs_free(&set);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_DATA_HOME");
}

int main(void)
{
	hv_log_set_level(HV_LOG_ERROR);
	strcpy(dir, "/tmp/ss-def-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	const char *testd = getenv("TESTD");
	if (!testd) {
		fprintf(stderr, "TESTD not set\n");
		return 1;
	}
	char sp[512];
	snprintf(sp, sizeof sp, "/nonexistent:%.*s", (int)(strrchr(testd, '/') - testd), testd);
	test_words();

	write_file("a.ini",
		   "# comment\n"
		   "[Full]\n"
		   "Executable=ss-testd\n"
		   "Arguments=--print 'two words'\n"
		   "Environment=A=1 \"B=x y\"\n"
		   "Socket=full, /tmp/session/%sid/portal/serenity\n"
		   "SocketPermissions=0660\n"
		   "Lazy=yes\n"
		   "KeepAlive=on-failure\n"
		   "RestartSec=0.5\n"
		   "RestartMaxDelaySec=4\n"
		   "StartLimitBurst=3\n"
		   "User=nobody\n"
		   "Priority=-5\n"
		   "Requires=Other\n"
		   "After=Other\n"
		   "SystemModes=default, text\n"
		   "Pledge=stdio unix\n"
		   "Unveil=/etc:r, %portal:rwc\n"
		   "Readiness=notify\n"
		   "WatchdogSec=2\n"
		   "\n"
		   "[Other]\n"
		   "Executable=ss-testd\n"
		   "AcceptSocketConnections=true\n"
		   "Socket=other\n");
	write_file("b.ini",
		   "[Bad1]\n"
		   "Executable=ss-testd\n"
		   "Lazy=true\n"
		   "[Bad2]\n"
		   "Executable=ss-testd\n"
		   "AcceptSocketConnections=true\n"
		   "[Bad3]\n"
		   "Executable=ss-testd\n"
		   "Executable=ss-testd\n"
		   "[Bad4]\n"
		   "Executable=ss-testd\n"
		   "Priority=40\n"
		   "[Bad5]\n"
		   "Requires=Bad4\n"
		   "Executable=ss-testd\n"
		   "[Cyc1]\n"
		   "Executable=ss-testd\n"
		   "After=Cyc2\n"
		   "[Cyc2]\n"
		   "Executable=ss-testd\n"
		   "After=Cyc1\n"
		   "[Full]\n"
		   "Executable=ss-testd\n"
		   "[Twice]\n"
		   "Executable=ss-testd\n"
		   "Socket=t, t\n"
		   "[Theirs]\n"
		   "Executable=ss-testd\n"
		   "Socket=other\n");
	ss_def_env env = {.user_mode = true, .portal_dir = "/P", .runtime_dir = "/R", .service_path = sp};
	ss_def_set set;
	CHECK(ss_defs_load(dir, &env, &set) == 0);
	ss_svc_def *d = ss_defs_find(&set, "Full");
	CHECK(d && !d->invalid);
	if (d) {
		CHECK(strcmp(d->executable, testd) == 0);
		CHECK(d->args.n == 2 && strcmp(d->args.v[1], "two words") == 0);
		CHECK(d->env.n == 2 && strcmp(d->env.v[1], "B=x y") == 0);
		CHECK(d->sockets.n == 2 && strcmp(d->sockets.v[0], "/P/full") == 0 &&
		      strcmp(d->sockets.v[1], "/P/serenity") == 0);
		CHECK(d->socket_modes[0] == 0660 && d->socket_modes[1] == 0660);
		CHECK(d->lazy && !d->accept && d->keepalive == SS_KEEPALIVE_ON_FAILURE);
		CHECK(d->restart_ns == 500000000ull && d->limit_burst == 3);
		CHECK(d->restart_max_ns == 4000000000ull);
		CHECK(d->has_user && d->uid == 65534);
		CHECK(d->priority == -5);
		CHECK(d->requires.n == 1 && d->after.n == 1 && d->modes.n == 2);
		CHECK(strcmp(d->modes.v[1], "text") == 0);
		CHECK(d->pledge && strcmp(d->pledge, "stdio unix") == 0);
		CHECK(d->unveil.n == 2 && strcmp(d->unveil.v[1], "/P:rwc") == 0);
		CHECK(d->readiness == SS_READY_NOTIFY && d->watchdog_usec == 2000000);
		CHECK(strcmp(d->file + strlen(d->file) - 5, "a.ini") == 0 && d->line == 2);
	}
	ss_svc_def *o = ss_defs_find(&set, "Other");
	CHECK(o && !o->invalid && o->accept && o->lazy && o->multi);
	const char *bad[] = {"Bad1", "Bad2", "Bad3", "Bad4", "Bad5", "Cyc1", "Cyc2", "Twice", "Theirs"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ss_svc_def *b = ss_defs_find(&set, bad[i]);
		CHECK(b && b->invalid);
	}
	CHECK(set.n == 11); /* the second [Full] is refused, not added */
	CHECK(set.errors >= 10);
	ss_defs_free(&set);

	test_limit_values();
	test_limit_keys(&env);
	test_ipc_keys(&env);
	test_expand(&env);

	/* A single file works too, and a missing path is an error. */
	char path[256];
	snprintf(path, sizeof path, "%s/a.ini", dir);
	CHECK(ss_defs_load(path, &env, &set) == 0 && set.n == 2 && set.errors == 0);
	ss_defs_free(&set);
	snprintf(path, sizeof path, "%s/none.ini", dir);
	CHECK(ss_defs_load(path, &env, &set) == -ENOENT);

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	CHECK(system(path) == 0);
	return check_result();
}
