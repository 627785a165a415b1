/* devices-bench — from a uevent to a subscriber: the time from creating a
 * veth pair (one RTM_NEWLINK, the kernel emits "add" inside the call) to
 * the "add" event of its first end reaching
 *   - a raw NETLINK_KOBJECT_UEVENT listener (the kernel's floor), and
 *   - a DeviceMapper subscriber (rules applied, the event sent over IPC),
 * both in the same run, on the same events, and their ratio. The times
 * include the veth's creation (the kernel emits the uevent inside the
 * RTM_NEWLINK call, which takes milliseconds on a loaded machine), so the
 * paired difference — what DeviceMapper adds to each event — is printed
 * too. udev's
 * `udevadm monitor --udev` would be the peer to compare with, but Debian's
 * udev package starts a udevd that would act on this machine's /dev
 * (docs/devicemapper.md, "Benchmark"): the kernel event is the floor.
 *
 * Runs in a network namespace of its own (root): the veth pairs and their
 * events never leave it. Without root it says so and exits 0.
 *   devices-bench [--quick] */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices-client.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- rtnetlink: one veth pair, made or deleted ----------------------------- */

struct req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char attrs[512];
};

static struct rtattr *put(struct req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void close_nest(struct req *r, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)r + r->nh.nlmsg_len - (char *)a);
}

static int rtnl_call(int fd, struct req *r)
{
	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (n < (ssize_t)sizeof(*h) || h->nlmsg_type != NLMSG_ERROR)
		return -EIO;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

static int veth_add(int fd, const char *a, const char *b)
{
	struct req r = {.nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_NEWLINK,
			       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL}};
	put(&r, IFLA_IFNAME, a, strlen(a) + 1);
	struct rtattr *info = put(&r, IFLA_LINKINFO, NULL, 0);
	put(&r, IFLA_INFO_KIND, "veth", 5);
	struct rtattr *data = put(&r, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer = put(&r, VETH_INFO_PEER, NULL, 0);
	r.nh.nlmsg_len += sizeof(struct ifinfomsg); /* the peer's ifinfomsg, zeroed */
	put(&r, IFLA_IFNAME, b, strlen(b) + 1);
	close_nest(&r, peer);
	close_nest(&r, data);
	close_nest(&r, info);
	return rtnl_call(fd, &r);
}

static int link_del(int fd, const char *a)
{
	struct req r = {.nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_DELLINK,
			       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK}};
	put(&r, IFLA_IFNAME, a, strlen(a) + 1);
	return rtnl_call(fd, &r);
}

/* --- the two listeners ----------------------------------------------------- */

static int raw_listener(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	int size = 16 << 20;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	return fd;
}

/* Whether a queued raw datagram is "add@/devices/virtual/net/<want>". */
static bool raw_got(int fd, const char *want)
{
	char buf[8192], hdr[128];
	snprintf(hdr, sizeof(hdr), "add@/devices/virtual/net/%s", want);
	bool got = false;
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		if (strcmp(buf, hdr) == 0)
			got = true;
	}
	return got;
}

static const char *sub_want;
static bool sub_got;
static void on_event(device_mapper_action a, const device_mapper_device *d, void *ud)
{
	(void)ud;
	if (a == DEVICE_MAPPER_ACTION_ADD && strcmp(d->name, sub_want) == 0)
		sub_got = true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static pid_t start_service(const char *dir)
{
	char sock[256], rules[256], dev[256];
	snprintf(sock, sizeof(sock), "%s/s", dir);
	snprintf(rules, sizeof(rules), "%s/rules", dir);
	snprintf(dev, sizeof(dev), "%s/dev", dir);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(DEVICES_BENCH_SERVER, "DeviceMapper", "--socket", sock, "--rules", rules, "--dev-root", dev,
		      "--no-trigger", (char *)NULL);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 20 : 300;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		printf("devices-bench: skipped: needs root and a network namespace of its own\n");
		return 0;
	}
	char dir[] = "/tmp/devices-bench-XXXXXX", path[300];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/rules", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dev", dir);
	mkdir(path, 0700);
	/* A rule the veths match, so the rules are run, not skipped. */
	snprintf(path, sizeof(path), "%s/rules/50-bench.ini", dir);
	FILE *f = fopen(path, "w");
	fprintf(f ? f : stderr, "[bench]\nSUBSYSTEM=net\nKERNEL=hvb*\nSETENV{HAVEN_BENCH}=1\n");
	if (f)
		fclose(f);
	pid_t pid = start_service(dir);
	snprintf(path, sizeof(path), "%s/s", dir);
	hv_conn *c = NULL;
	for (int i = 0; i < 500 && dmc_connect(NULL, path, &c) < 0; i++)
		usleep(10000);
	static const dmc_watcher w = {on_event, NULL};
	const char *net = "net";
	int rtnl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), raw = raw_listener();
	if (!c || dmc_subscribe(c, &net, 1, &w) < 0 || rtnl < 0 || raw < 0) {
		fprintf(stderr, "devices-bench: cannot start (service, subscription or sockets)\n");
		kill(pid, SIGKILL);
		return 1;
	}
	uint64_t *t_raw = calloc((size_t)rounds, sizeof(uint64_t)), *t_sub = calloc((size_t)rounds, sizeof(uint64_t));
	uint64_t *t_add = calloc((size_t)rounds, sizeof(uint64_t));
	int failures = 0;
	for (int i = 0; i < rounds && t_raw && t_sub && t_add; i++) {
		char a[IFNAMSIZ], b[IFNAMSIZ];
		snprintf(a, sizeof(a), "hvbA%d", i);
		snprintf(b, sizeof(b), "hvbB%d", i);
		sub_want = a;
		sub_got = false;
		bool raw_done = false;
		uint64_t t0 = now_ns(), deadline = t0 + 5000000000ull;
		if (veth_add(rtnl, a, b) < 0) {
			failures++;
			continue;
		}
		while ((!raw_done || !sub_got) && now_ns() < deadline) {
			struct pollfd p[2] = {{raw, POLLIN, 0}, {hv_conn_fd(c), POLLIN, 0}};
			poll(p, 2, 100);
			if (!raw_done && (p[0].revents & POLLIN) && raw_got(raw, a)) {
				raw_done = true;
				t_raw[i] = now_ns() - t0;
			}
			if (!sub_got && (p[1].revents & POLLIN)) {
				hv_conn_dispatch(c, 0);
				if (sub_got)
					t_sub[i] = now_ns() - t0;
			}
		}
		if (!raw_done || !sub_got)
			failures++;
		else
			t_add[i] = t_sub[i] > t_raw[i] ? t_sub[i] - t_raw[i] : 0;
		link_del(rtnl, a);
		uint64_t seq;
		device_mapper_settle(c, &seq); /* the removes, off the clock */
		hv_conn_dispatch(c, 0);
		raw_got(raw, "");
	}
	int n = rounds - failures;
	if (n <= 0) {
		fprintf(stderr, "devices-bench: no event arrived\n");
		kill(pid, SIGKILL);
		return 1;
	}
	qsort(t_raw, (size_t)rounds, sizeof(uint64_t), cmp_u64);
	qsort(t_sub, (size_t)rounds, sizeof(uint64_t), cmp_u64);
	qsort(t_add, (size_t)rounds, sizeof(uint64_t), cmp_u64);
	int off = failures; /* failed rounds sorted first as 0 */
	uint64_t rm = t_raw[off + n / 2], sm = t_sub[off + n / 2];
	uint64_t r9 = t_raw[off + n * 9 / 10], s9 = t_sub[off + n * 9 / 10];
	printf("veth created -> \"add\" event, %d rounds (%d lost)\n", n, failures);
	printf("  kernel, raw netlink listener:  median %7.1f us  p90 %7.1f us\n", rm / 1e3, r9 / 1e3);
	printf("  DeviceMapper subscriber:       median %7.1f us  p90 %7.1f us\n", sm / 1e3, s9 / 1e3);
	printf("  added by DeviceMapper (paired): median %7.1f us  p90 %7.1f us\n", t_add[off + n / 2] / 1e3,
	       t_add[off + n * 9 / 10] / 1e3);
	printf("  ratio DeviceMapper / kernel floor: median %.2fx  p90 %.2fx (udev: not run, see the docs)\n",
	       (double)sm / (double)rm, (double)s9 / (double)r9);
	free(t_raw);
	free(t_sub);
	free(t_add);
	hv_conn_close(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return failures ? 1 : 0;
}
