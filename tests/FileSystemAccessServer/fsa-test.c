/* fsa-test.c CASE FSA_CLI — FileSystemAccessServer started as SystemServer
 * would (tests/lib/service.h), a prompt agent played by this process, and
 * clients forked from it: a sandboxed one (empty Landlock view, promises
 * "stdio recvfd") gets a readable fd for one file when the agent allows;
 * deny is a typed error; "always" is not asked again, survives a restart,
 * and is asked again after revoke; a symbolic link swapped in after the
 * question does not widen the grant; no agent / no answer: denied; a
 * client that dies mid-question; bad paths; the picker; an agent that is
 * not the trusted executable is refused. */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/sandbox.h>

#include "FileSystemAccessAgent.ipc.h"
#include "FileSystemAccessServer.ipc.h"
#include "NotificationServer.ipc.h"
#include "check.h"
#include "service.h"

static svc_fixture fx;
static char file[256], other[256], state[256], self_exe[4096];
static const char *expect_path = file; /* what the agent must be asked about */
static const char *fsa_cli;

/* --- the agent ------------------------------------------------------------ */

enum mode { ALLOW, ALWAYS, DENY, SILENT, SWAP_LINK };
static enum mode mode;
static unsigned asks, picks, cancels;
static char pick_answer[256];
static hv_conn *agent;

static int on_ask(hv_call *call, const file_system_access_agent_ask_req *q)
{
	asks++;
	CHECK_STR(q->path, expect_path);
	CHECK_STR(q->executable, self_exe);
	CHECK(q->access == FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ);
	if (mode == SILENT)
		return 0;
	if (mode == SWAP_LINK) {
		/* After the person read the path: the file becomes a link to another. */
		REQUIRE(unlink(file) == 0 && symlink(other, file) == 0);
	}
	file_system_access_server_decision d = mode == DENY ? FILE_SYSTEM_ACCESS_SERVER_DECISION_DENY
					       : mode == ALWAYS ? FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ALWAYS
								: FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ONCE;
	file_system_access_server_answer(agent, q->id, d);
	return 0;
}

static int on_pick(hv_call *call, const file_system_access_agent_pick_req *q)
{
	picks++;
	hv_opt_bytestring p = {.present = pick_answer[0] != 0, .value = pick_answer};
	file_system_access_server_answer_pick(agent, q->id, p);
	return 0;
}

static int on_cancelled(hv_call *call, const file_system_access_agent_cancelled_req *q)
{
	cancels++;
	return 0;
}

static const file_system_access_agent_handlers agent_events =
	FILE_SYSTEM_ACCESS_AGENT_HANDLERS(on_ask, on_pick, on_cancelled);

static void agent_start(void)
{
	agent = svc_connect(&fx);
	hv_conn_serve(agent, &file_system_access_agent_endpoint, &agent_events);
	REQUIRE_EQ(file_system_access_server_register_agent(agent), 0);
}

/* --- clients ---------------------------------------------------------------- */

/* No filesystem at all: a Landlock domain with no rule. */
static void empty_view(void)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = (1ULL << 13) - 1};
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (rs < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		_exit(90);
	close(rs);
}

/* A forked client asks for `path`; it reports on `out`: "direct=ERRNO
 * r=RESULT data=..." */
static pid_t client(const char *path, bool sandboxed, int out)
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid)
		return pid;
	hv_conn *c = svc_connect(&fx);
	hv_conn_set_timeout(c, 20000);
	int direct = 0;
	if (sandboxed) {
		empty_view();
		int fd = open(path, O_RDONLY);
		direct = fd < 0 ? errno : 0;
		if (hv_pledge("stdio recvfd", NULL) < 0)
			_exit(91);
	}
	int fd = -1;
	int r = file_system_access_server_request_file(c, path, FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ, &fd);
	char data[64] = "";
	if (r == 0) {
		ssize_t n = read(fd, data, sizeof data - 1);
		data[n > 0 ? n : 0] = 0;
	}
	dprintf(out, "direct=%d r=%d data=%s", direct, r, data);
	_exit(0);
}

/* Run a client to its end while the agent answers; its report in buf. */
static void ask_as_client(const char *path, bool sandboxed, char *buf, size_t size)
{
	int p[2];
	REQUIRE(pipe(p) == 0);
	pid_t pid = client(path, sandboxed, p[1]);
	close(p[1]);
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (agent)
			drain(agent);
		usleep(2000);
	}
	if (agent)
		drain(agent);
	ssize_t n = read(p[0], buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
	close(p[0]);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client status %d", status);
}

static void start(const char *timeout)
{
	static const char *args[8];
	args[0] = "--state-dir";
	args[1] = state;
	args[2] = "--agent-exe";
	args[3] = self_exe;
	args[4] = "--prompt-timeout";
	args[5] = timeout;
	args[6] = NULL;
	svc_prepare(&fx, getenv("FSA_EXE"), "fsa", args);
	snprintf(state, sizeof state, "%s/state", fx.dir);
	snprintf(file, sizeof file, "%s/shared.txt", fx.dir);
	snprintf(other, sizeof other, "%s/secret.txt", fx.dir);
	svc_write_file(file, "shared data");
	svc_write_file(other, "SECRET");
	svc_respawn(&fx);
}

/* --- cases ---------------------------------------------------------------- */

static void case_allow(void)
{
	char rep[256];
	agent_start();
	mode = ALLOW;
	ask_as_client(file, true, rep, sizeof rep);
	/* The sandboxed client could not open it itself, and got it from the service. */
	CHECK_MSG(strstr(rep, "direct=13 r=0 data=shared data") != NULL, "%s", rep);
	CHECK_EQ(asks, 1u);
	/* Once is once. */
	ask_as_client(file, true, rep, sizeof rep);
	CHECK_EQ(asks, 2u);
}

static void case_deny(void)
{
	char rep[256];
	agent_start();
	mode = DENY;
	ask_as_client(file, true, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=-13 data=") != NULL, "%s", rep);
	CHECK_STR(hv_conn_strerror(NULL, -EACCES), "Permission denied");
}

static void case_always(void)
{
	char rep[256];
	agent_start();
	mode = ALWAYS;
	ask_as_client(file, true, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=0 data=shared data"), "%s", rep);
	mode = DENY; /* would deny if asked */
	ask_as_client(file, true, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=0 data=shared data"), "the grant: %s", rep);
	CHECK_EQ(asks, 1u);
	hv_vec_file_system_access_server_grant g;
	REQUIRE_EQ(file_system_access_server_list_grants(agent, &g), 0);
	REQUIRE_EQ(g.count, (size_t)1);
	CHECK_STR(g.items[0].path, file);
	CHECK_STR(g.items[0].executable, self_exe);
	/* Kept across a crash of the service. */
	hv_conn_close(agent);
	svc_kill(&fx, SIGKILL);
	svc_respawn(&fx);
	agent_start();
	ask_as_client(file, true, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=0 data=shared data"), "after a restart: %s", rep);
	CHECK_EQ(asks, 1u);
	/* Revoked: asked again (and denied). */
	uint32_t removed = 0;
	REQUIRE_EQ(file_system_access_server_revoke(agent, self_exe, file, &removed), 0);
	CHECK_EQ(removed, 1u);
	ask_as_client(file, true, rep, sizeof rep);
	CHECK_EQ(asks, 2u);
	CHECK_MSG(strstr(rep, "r=-13"), "after revoke: %s", rep);
}

static void case_symlink(void)
{
	char rep[256];
	agent_start();
	mode = SWAP_LINK;
	ask_as_client(file, true, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=-40 data=") != NULL, "a link swapped in after the question: %s", rep);
	CHECK_MSG(!strstr(rep, "SECRET"), "the link was followed: %s", rep);
	/* A link on the way, too. */
	char dirlink[300], via[400];
	snprintf(dirlink, sizeof dirlink, "%s/link-dir", fx.dir);
	REQUIRE(symlink(fx.dir, dirlink) == 0);
	snprintf(via, sizeof via, "%s/secret.txt", dirlink);
	mode = ALLOW;
	expect_path = via;
	ask_as_client(via, false, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=-40"), "a directory link: %s", rep);
}

static void case_noanswer(void)
{
	char rep[256];
	/* An agent that never answers: denied at the deadline (1 s), and told. */
	agent_start();
	mode = SILENT;
	ask_as_client(file, false, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=-13"), "no answer: %s", rep);
	usleep(100000);
	drain(agent);
	CHECK_EQ(cancels, 1u);
}

static void case_client_dies(void)
{
	agent_start();
	mode = SILENT;
	int p[2];
	REQUIRE(pipe(p) == 0);
	pid_t pid = client(file, false, p[1]);
	while (asks == 0) {
		drain(agent);
		usleep(2000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 500 && cancels == 0; i++) {
		drain(agent);
		usleep(2000);
	}
	CHECK_EQ(cancels, 1u);
	CHECK(svc_alive(&fx));
	/* Still serving. */
	mode = ALLOW;
	char rep[256];
	ask_as_client(file, false, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=0 data=shared data"), "%s", rep);
	close(p[0]);
	close(p[1]);
}

static void case_bad_input(void)
{
	hv_conn *c = svc_connect(&fx);
	int fd;
	const char *bad[] = {"relative.txt", "/tmp/../etc/passwd", "/tmp/./x", "/tmp//x", "/tmp/x/", ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_EQ(file_system_access_server_request_file(c, bad[i], FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ, &fd),
			 -EINVAL);
	CHECK_EQ(file_system_access_server_request_file(c, file, (file_system_access_server_access)9, &fd), -EINVAL);
	hv_conn_close(c);
	/* A malformed message ends that peer only. */
	int raw = svc_raw_socket(&fx);
	static const char junk[64] = "not a message at all, just bytes";
	CHECK(write(raw, junk, sizeof junk) == (ssize_t)sizeof junk);
	close(raw);
	CHECK(svc_alive(&fx));
	/* An agent that is not the trusted executable is refused. */
	char out[512], err[512];
	char *argv[] = {(char *)fsa_cli, "--socket", fx.sock, "agent", NULL};
	int st = run_cmd(argv, -1, out, sizeof out, err, sizeof err);
	CHECK_MSG(st == 1 && strstr(err, "only the person's own agent"), "fsa agent: %d %s", st, err);
}

static void case_pick(void)
{
	agent_start();
	snprintf(pick_answer, sizeof pick_answer, "%s", file);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		hv_conn *c = svc_connect(&fx);
		empty_view();
		hv_pledge("stdio recvfd", NULL);
		int fd = -1;
		const char *path = NULL;
		hv_vec_string mime = {0};
		int r = file_system_access_server_prompt_open_file(c, "/", mime, &fd, &path);
		char data[64] = "";
		if (r == 0 && read(fd, data, sizeof data - 1) < 0)
			_exit(3);
		_exit(r == 0 && !strcmp(data, "shared data") && !strcmp(path, file) ? 0 : 4);
	}
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		drain(agent);
		usleep(2000);
	}
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pick: status %d", status);
	CHECK_EQ(picks, 1u);
}

/* No agent, a NotificationServer: the question is a notification whose
 * "Allow once" action answers it; one dismissed is denied. */
static pid_t notify_pid;
static void start_notification_server(void)
{
	char sock[300], st[300];
	snprintf(sock, sizeof sock, "%s/notify", fx.portal);
	snprintf(st, sizeof st, "%s/notify-state", fx.dir);
	notify_pid = fork();
	REQUIRE(notify_pid >= 0);
	if (notify_pid == 0) {
		svc_child_setup(-1, NULL);
		execl(getenv("NOTIFY_EXE"), "NotificationServer", "--socket", sock, "--state-dir", st, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) < 0; i++)
		usleep(10000);
}

/* The notification asking about `file`, as the person sees it: its id. */
static uint32_t find_question(hv_conn *n)
{
	for (int i = 0; i < 1000; i++) {
		hv_vec_notification_server_info v;
		REQUIRE_EQ(notification_server_list(n, &v), 0);
		for (size_t k = 0; k < v.count; k++)
			if (strstr(v.items[k].text, file) && strstr(v.items[k].text, self_exe) &&
			    v.items[k].actions.count == 3)
				return v.items[k].id;
		usleep(5000);
	}
	return 0;
}

static void notified_client(const char *action, char *rep, size_t size)
{
	int p[2];
	REQUIRE(pipe(p) == 0);
	pid_t pid = client(file, true, p[1]);
	close(p[1]);
	char sock[300];
	snprintf(sock, sizeof sock, "%s/notify", fx.portal);
	hv_conn *n = NULL;
	REQUIRE_EQ(hv_conn_connect(NULL, sock, &n), 0);
	uint32_t id = find_question(n);
	CHECK_MSG(id != 0, "no notification asks about %s", file);
	if (id && action)
		CHECK_EQ(notification_server_invoke_action(n, id, action), 0);
	else if (id)
		CHECK_EQ(notification_server_close(n, id), 0); /* dismissed */
	int status;
	waitpid(pid, &status, 0);
	ssize_t len = read(p[0], rep, size - 1);
	rep[len > 0 ? len : 0] = 0;
	close(p[0]);
	hv_conn_close(n);
}

static void case_notification(void)
{
	start_notification_server();
	char rep[256];
	notified_client("once", rep, sizeof rep);
	CHECK_MSG(strstr(rep, "direct=13 r=0 data=shared data"), "allowed by the notification: %s", rep);
	notified_client(NULL, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=-13"), "dismissed: %s", rep);
	kill(notify_pid, SIGTERM);
	waitpid(notify_pid, NULL, 0);
	/* And with no NotificationServer either: denied at once. */
	ask_as_client(file, false, rep, sizeof rep);
	CHECK_MSG(strstr(rep, "r=-13"), "no agent, no NotificationServer: %s", rep);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	fsa_cli = argv[2];
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	REQUIRE(n > 0);
	self_exe[n] = 0;
	static const struct {
		const char *name;
		void (*fn)(void);
		const char *timeout;
	} cases[] = {{"allow", case_allow, "20"},	   {"deny", case_deny, "20"},
		     {"always", case_always, "20"},	   {"symlink", case_symlink, "20"},
		     {"noanswer", case_noanswer, "1"},	   {"client-dies", case_client_dies, "20"},
		     {"bad-input", case_bad_input, "20"}, {"pick", case_pick, "20"},
		     {"notification", case_notification, "20"}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		if (!strcmp(argv[1], cases[i].name)) {
			start(cases[i].timeout);
			cases[i].fn();
			if (agent)
				hv_conn_close(agent);
			svc_stop(&fx);
			return check_result();
		}
	fprintf(stderr, "unknown case %s\n", argv[1]);
	return 2;
}
