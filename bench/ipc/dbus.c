/* dbus.c — the D-Bus peer: the same 64-byte Echo through a private
 * dbus-daemon, with sd-bus on both sides, so Haven is compared with what a
 * Linux programmer would otherwise use. A call goes client → daemon →
 * service → daemon → client, which is D-Bus's real cost.
 *
 * The daemon is started by us (own config in the bench's temp dir, never
 * the user's session bus); the service is a forked child.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bench.h"

#define BUS_NAME "org.haven.BenchEcho"
#define BUS_PATH "/org/haven/BenchEcho"
#define BUS_IFACE "org.haven.BenchEcho"

struct dbus_peer {
	pid_t daemon_pid, service_pid;
	sd_bus *bus;
	char address[512];
};

static const char config_fmt[] =
	"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	"<busconfig>\n"
	"  <type>session</type>\n"
	"  <listen>unix:path=%s/dbus-socket</listen>\n"
	"  <auth>EXTERNAL</auth>\n"
	"  <policy context=\"default\">\n"
	"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	"    <allow eavesdrop=\"true\"/>\n"
	"    <allow own=\"*\"/>\n"
	"  </policy>\n"
	"</busconfig>\n";

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

static int method_echo(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *text;
	int r = sd_bus_message_read(m, "s", &text);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, "s", text);
}

static const sd_bus_vtable echo_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Echo", "s", "s", method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

static int open_bus(const char *address, sd_bus **out)
{
	sd_bus *bus = NULL;
	int r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*out = bus;
	return 0;
}

/* The service: own the name, tell the parent, then serve until the bus ends. */
static void service_child(const char *address, int ready_fd, enum bench_pin pin)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	bench_pin_self(pin, 1);
	sd_bus *bus = NULL;
	if (open_bus(address, &bus) < 0)
		_exit(1);
	if (sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_IFACE, echo_vtable, NULL) < 0)
		_exit(1);
	if (sd_bus_request_name(bus, BUS_NAME, 0) < 0)
		_exit(1);
	if (write(ready_fd, "R", 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;) {
		int r = sd_bus_process(bus, NULL);
		if (r < 0)
			_exit(0);
		if (r > 0)
			continue;
		if (sd_bus_wait(bus, UINT64_MAX) < 0)
			_exit(0);
	}
}

static int start_daemon(const bench_opts *o, dbus_peer *p)
{
	char conf[4096], path[512];
	snprintf(path, sizeof path, "%s/dbus.conf", o->tmpdir);
	int n = snprintf(conf, sizeof conf, config_fmt, o->tmpdir);
	if (n < 0 || (size_t)n >= sizeof conf)
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(conf, f);
	if (fclose(f) != 0)
		return -EIO;

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char conf_arg[600], fd_arg[32];
		snprintf(conf_arg, sizeof conf_arg, "--config-file=%s", path);
		/* dup2 clears CLOEXEC so the daemon can write its address to fd 3. */
		if (dup2(pfd[1], 3) < 0)
			_exit(127);
		snprintf(fd_arg, sizeof fd_arg, "--print-address=3");
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		execlp("dbus-daemon", "dbus-daemon", conf_arg, "--nofork", fd_arg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	p->daemon_pid = pid;
	/* The address line arrives once the daemon listens; EOF means it died. */
	size_t len = 0;
	while (len < sizeof p->address - 1) {
		ssize_t k = read(pfd[0], p->address + len, sizeof p->address - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		if (memchr(p->address, '\n', len))
			break;
	}
	close(pfd[0]);
	p->address[len] = '\0';
	char *nl = strchr(p->address, '\n');
	if (!nl)
		return -ENOENT;
	*nl = '\0';
	return 0;
}

int dbus_peer_start(const bench_opts *o, dbus_peer **out)
{
	dbus_peer *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int r = start_daemon(o, p);
	if (r < 0)
		goto fail;

	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(ready[0]);
		close(ready[1]);
		goto fail;
	}
	if (pid == 0) {
		close(ready[0]);
		service_child(p->address, ready[1], o->lat_pin);
	}
	close(ready[1]);
	p->service_pid = pid;
	char c;
	ssize_t k;
	do
		k = read(ready[0], &c, 1);
	while (k < 0 && errno == EINTR);
	close(ready[0]);
	if (k != 1) {
		r = -ECONNREFUSED;
		goto fail;
	}
	r = open_bus(p->address, &p->bus);
	if (r < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	dbus_peer_stop(p);
	return r;
}

int dbus_peer_rtt_block(dbus_peer *p, unsigned n, bench_samples *s)
{
	char text[BENCH_MSG_SIZE + 1];
	memset(text, 'x', BENCH_MSG_SIZE);
	text[BENCH_MSG_SIZE] = '\0';
	for (unsigned i = 0; i < n; i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		const char *back = NULL;
		uint64_t t0 = bench_now_ns();
		int r = sd_bus_call_method(p->bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Echo", &error,
					   &reply, "s", text);
		if (r >= 0)
			r = sd_bus_message_read(reply, "s", &back);
		uint64_t t1 = bench_now_ns();
		if (r >= 0 && strcmp(back, text) != 0)
			r = -EBADMSG;
		sd_bus_message_unref(reply);
		sd_bus_error_free(&error);
		if (r < 0)
			return r;
		if (s && (r = bench_samples_add(s, t1 - t0)) < 0)
			return r;
	}
	return 0;
}

void dbus_peer_stop(dbus_peer *p)
{
	if (!p)
		return;
	if (p->bus)
		sd_bus_flush_close_unref(p->bus);
	reap(p->service_pid);
	reap(p->daemon_pid);
	free(p);
}
