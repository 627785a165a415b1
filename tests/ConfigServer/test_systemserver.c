/* test_systemserver.c — ConfigServer under a real SystemServer (user mode,
 * private runtime dir), started from a definition like the shipped one
 * (same Pledge, KeepAlive): a writer loops on the portal while the test
 * SIGKILLs ConfigServer at random moments and SystemServer respawns it.
 * Every acknowledged write is there afterwards, and the domain's file parses
 * at every kill (never torn).
 *
 *   test-config-systemserver SYSTEMSERVER CONFIGSERVER
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "ConfigServer.ipc.h"
#include "check.h"
#include "service.h"
#include "store.h"

enum { KILLS = 8, KEYS = 100 };

static char dir[64], rt[128], etc[128], user_dir[128], portal[192];

/* The ConfigServer serving user_dir: found by its command line, which
 * names our private temp dir (SO_PEERCRED would name SystemServer, which
 * created the listening socket). 0 while none runs. */
static pid_t find_server(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		char path[300], buf[4096];
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* argv[0] must be ConfigServer and some argument our user_dir */
		if (!strstr(buf, "ConfigServer"))
			continue;
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			if (!strcmp(p, user_dir))
				found = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return found;
}

/* Wait (bounded only against hangs) until a ConfigServer answers. */
static pid_t wait_server(void)
{
	hv_conn *c = NULL;
	for (int i = 0; i < 3000 && hv_conn_connect(NULL, portal, &c) < 0; i++)
		poll(NULL, 0, 10);
	CHECK(c != NULL);
	if (!c)
		exit(1);
	hv_conn_set_timeout(c, 60000);
	hv_vec_bytestring g;
	CHECK_EQ(config_server_list_config_groups(c, "Durable", &g), 0);
	hv_conn_close(c);
	pid_t pid = find_server();
	CHECK(pid > 0);
	return pid;
}

/* Parse a copy of the file (a store opened on the live directory would
 * tidy the running server's temp files). */
static void check_not_torn(void)
{
	char src[256], cdir[160], dst[256], cmd[600];
	snprintf(src, sizeof(src), "%s/Durable.ini", user_dir);
	snprintf(cdir, sizeof(cdir), "%s/check", dir);
	snprintf(dst, sizeof(dst), "%s/Durable.ini", cdir);
	mkdir(cdir, 0700);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' 2>/dev/null", src, dst);
	if (system(cmd) != 0)
		return; /* not written yet */
	cfg_store *s;
	CHECK_EQ(cfg_store_open(cdir, NULL, &s), 0);
	const char *why = NULL;
	CHECK_EQ(cfg_store_load(s, "Durable", &why), 0);
	cfg_store_free(s);
}

static void writer_loop(int ack)
{
	hv_conn *c = NULL;
	for (unsigned i = 0;;) {
		if (!c) {
			if (hv_conn_connect(NULL, portal, &c) < 0) {
				c = NULL;
				poll(NULL, 0, 5);
				continue;
			}
			hv_conn_set_timeout(c, 60000);
		}
		char k[16], v[48];
		snprintf(k, sizeof(k), "k%u", i % KEYS);
		snprintf(v, sizeof(v), "%u acknowledged", i);
		if (config_server_write_string_value(c, "Durable", "Kill", k, v) < 0) {
			hv_conn_close(c);
			c = NULL;
			continue;
		}
		if (write(ack, &i, sizeof(i)) != sizeof(i))
			_exit(0);
		i++;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SYSTEMSERVER CONFIGSERVER\n", argv[0]);
		return 2;
	}
	hv_log_set_level(HV_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	/* meson passes paths relative to the build dir; SystemServer needs them whole */
	char ss_path[4096], server[4096];
	if (!realpath(argv[1], ss_path) || !realpath(argv[2], server)) {
		perror("realpath");
		return 1;
	}
	strcpy(dir, "/tmp/hv-config-ss-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(rt, sizeof(rt), "%s/rt", dir);
	snprintf(etc, sizeof(etc), "%s/etc", dir);
	snprintf(user_dir, sizeof(user_dir), "%s/user", dir);
	snprintf(portal, sizeof(portal), "%s/portal/config", rt);
	CHECK_EQ(mkdir(rt, 0700), 0);
	CHECK_EQ(mkdir(etc, 0700), 0);
	char def[10240], path[256];
#ifdef __SANITIZE_ADDRESS__
	/* ASan's runtime starts up with system calls outside the promises; the
	 * service still pledges itself once started. */
	const char *pledge_line = "";
#else
	const char *pledge_line = "Pledge=stdio rpath wpath cpath accept unveil sigaction\n";
#endif
	snprintf(def, sizeof(def),
		 "[ConfigServer]\n"
		 "Executable=%s\n"
		 "Arguments=--config-dir %s --defaults %s/none\n"
		 "Socket=%%portal/config\n"
		 "KeepAlive=true\n"
		 "RestartSec=0.02\n"
		 "StartLimitBurst=1000\n"
		 "StartLimitIntervalSec=60\n"
		 "%s",
		 server, user_dir, dir, pledge_line);
	snprintf(path, sizeof(path), "%s/ConfigServer.ini", etc);
	svc_write_file(path, def);

	char log[200];
	snprintf(log, sizeof(log), "%s/SystemServer.log", dir);
	pid_t ss = fork();
	if (ss == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* LeakSanitizer cannot scan a pledged service (see tests/lib/service.c). */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(ss_path, ss_path, "--user", "--runtime-dir", rt, "--config", etc, (char *)NULL);
		_exit(127);
	}

	int p[2];
	CHECK_EQ(pipe(p), 0);
	pid_t writer = fork();
	if (writer == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		writer_loop(p[1]);
		_exit(0);
	}
	close(p[1]);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	unsigned last = 0, acked = 0, v;
	for (int round = 0; round < KILLS; round++) {
		pid_t pid = wait_server();
		unsigned want = 1 + (unsigned)rand() % 25;
		for (unsigned got = 0; got < want && read(p[0], &v, sizeof(v)) == sizeof(v); got++) {
			last = v;
			acked++;
		}
		usleep((useconds_t)(rand() % 2000));
		if (pid > 0)
			CHECK_EQ(kill(pid, SIGKILL), 0);
		/* gone before we look again (it is SystemServer's child, not ours) */
		for (int i = 0; i < 6000 && pid > 0 && kill(pid, 0) == 0; i++)
			poll(NULL, 0, 5);
		check_not_torn();
	}
	wait_server();
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	while (read(p[0], &v, sizeof(v)) == sizeof(v)) {
		last = v;
		acked++;
	}
	close(p[0]);
	CHECK(acked > 0);

	hv_conn *c = NULL;
	CHECK_EQ(hv_conn_connect(NULL, portal, &c), 0);
	if (c) {
		hv_conn_set_timeout(c, 60000);
		for (unsigned i = last >= KEYS - 1 ? last - (KEYS - 1) : 0; i <= last; i++) {
			char k[16];
			snprintf(k, sizeof(k), "k%u", i % KEYS);
			hv_opt_bytestring s;
			CHECK_EQ(config_server_read_string_value(c, "Durable", "Kill", k, &s), 0);
			unsigned seen = 0;
			CHECK(s.present && sscanf(s.value, "%u", &seen) == 1 && seen >= i);
		}
		hv_conn_close(c);
	}
	int st;
	kill(ss, SIGTERM);
	CHECK_EQ(waitpid(ss, &st, 0), ss);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fprintf(stderr, "under SystemServer: %u acknowledged writes over %d SIGKILLs, none lost\n",
		acked, KILLS);
	if (check_failures) {
		snprintf(path, sizeof(path), "cat '%s' >&2", log);
		if (system(path) != 0)
			fprintf(stderr, "(no SystemServer log)\n");
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		check_failures++;
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
