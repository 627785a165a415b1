/* test-devmap-units — DeviceMapper's parsers and its /dev operations,
 * without a kernel: the uevent parser on good and hostile messages, the
 * kernel-sender check on forged addresses and credentials, the rules'
 * file:line errors, AllowWorld, matching, and nodes/symlinks in a temp
 * root where symlinks are planted (nothing outside it may change). */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"
#include "nodes.h"
#include "rules.h"
#include "uevent.h"

static struct dm_uevent ev;

/* "a\0b\0" from "a|b|". */
static size_t msg(char *buf, const char *spec)
{
	size_t n = strlen(spec);
	memcpy(buf, spec, n);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '|')
			buf[i] = '\0';
	return n;
}

static int parse(const char *spec)
{
	char buf[4096];
	return dm_uevent_parse(buf, msg(buf, spec), &ev);
}

static void test_parse(void)
{
	CHECK_EQ(parse("add@/devices/virtual/block/loop0|ACTION=add|DEVPATH=/devices/virtual/block/loop0|"
		       "SUBSYSTEM=block|MAJOR=7|MINOR=0|DEVNAME=loop0|DEVTYPE=disk|SEQNUM=4031|"), 0);
	CHECK_EQ(ev.action, DM_ADD);
	CHECK_STR(ev.name, "loop0");
	CHECK_STR(ev.subsystem, "block");
	CHECK_STR(ev.devname, "loop0");
	CHECK(ev.has_devt && ev.major == 7 && ev.minor == 0);
	CHECK_EQ(ev.seqnum, 4031);
	CHECK_STR(dm_uevent_get(&ev, "DEVTYPE"), "disk");
	CHECK_EQ(parse("remove@/devices/x|ACTION=remove|DEVPATH=/devices/x|SUBSYSTEM=net|SEQNUM=1"), 0);
	CHECK_EQ(ev.action, DM_REMOVE);
	CHECK_EQ(parse("add@/devices/input/event0|ACTION=add|DEVPATH=/devices/input/event0|SUBSYSTEM=input|"
		       "DEVNAME=input/event0|MAJOR=13|MINOR=64|"), 0);

	/* Hostile or broken. */
	static const char *const bad[] = {
		"",
		"add",
		"add@/devices/x",						/* no properties */
		"add@/devices/x|DEVPATH=/devices/x|SUBSYSTEM=net|",		/* no ACTION */
		"add@/devices/x|ACTION=remove|DEVPATH=/devices/x|",		/* header disagrees */
		"add@/devices/x|ACTION=add|DEVPATH=/devices/y|",		/* header disagrees */
		"explode@/devices/x|ACTION=explode|DEVPATH=/devices/x|",	/* unknown action */
		"add@devices/x|ACTION=add|DEVPATH=devices/x|",			/* relative devpath */
		"add@/devices/../../etc|ACTION=add|DEVPATH=/devices/../../etc|",
		"add@/devices//x|ACTION=add|DEVPATH=/devices//x|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|DEVNAME=../etc/passwd|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|DEVNAME=/etc/passwd|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|DEVNAME=a/./b|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|DEVNAME=a/../../b|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|DEVNAME=|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|MAJOR=7|",	/* MINOR missing */
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|MAJOR=x|MINOR=1|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|=value|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|NOEQUALS|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|SUBSYSTEM=a/b|",
		"add@/devices/x|ACTION=add|DEVPATH=/devices/x|SEQNUM=-1|",
		"add@/devices/x\n|ACTION=add|DEVPATH=/devices/x\n|",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(parse(bad[i]) < 0, "accepted: %s", bad[i]);
	CHECK_EQ(parse("libudev|add@/devices/x|ACTION=add|DEVPATH=/devices/x|"), -EPROTO);
	char big[DM_UEVENT_MAX_BYTES + 2];
	memset(big, 'a', sizeof(big));
	CHECK_EQ(dm_uevent_parse(big, sizeof(big), &ev), -EMSGSIZE);
	/* More properties than a uevent can have. */
	char many[8000];
	size_t n = (size_t)sprintf(many, "add@/d|ACTION=add|DEVPATH=/d|");
	for (int i = 0; i < DM_UEVENT_MAX_PROPS; i++)
		n += (size_t)sprintf(many + n, "K%d=v|", i);
	CHECK(parse(many) < 0);
}

/* A msghdr as recvmsg would fill it, with a sender and credentials. */
static bool from(unsigned pid, unsigned groups, int cred_pid, int cred_uid, bool with_cred)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_pid = pid, .nl_groups = groups};
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr m = {.msg_name = &sa, .msg_namelen = sizeof(sa)};
	if (with_cred) {
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		struct ucred cr = {.pid = cred_pid, .uid = (uid_t)cred_uid, .gid = 0};
		memcpy(CMSG_DATA(c), &cr, sizeof(cr));
	}
	return dm_uevent_from_kernel(&m);
}

static void test_sender(void)
{
	CHECK(from(0, 1, 0, 0, true));
	CHECK(!from(1234, 1, 0, 0, true));   /* a user socket's port id */
	CHECK(!from(0, 2, 0, 0, true));      /* udevd's group */
	CHECK(!from(0, 1, 4321, 0, true));   /* credentials of a process */
	CHECK(!from(0, 1, 0, 1000, true));   /* of a user */
	CHECK(!from(0, 1, 0, 0, false));     /* none: not the kernel (SO_PASSCRED is on) */
	struct msghdr m = {0};
	CHECK(!dm_uevent_from_kernel(&m));
}

static int load(const char *text, struct dm_rules *r)
{
	memset(r, 0, sizeof(*r));
	return dm_rules_load_string("test.ini", text, r);
}

static void test_rules(void)
{
	struct dm_rules r;
	REQUIRE_EQ(load("# loop devices\n[loop]\nSUBSYSTEM=block\nKERNEL=loop*\nGROUP=disk\nMODE=0660\n"
			"SYMLINK=haven/a haven/b\nSETENV{X}=1\n\n[net]\nSUBSYSTEM=net\nENV{INTERFACE}=hv*\n"
			"SETENV{Y}=2\n", &r), 0);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(r.errors, 0);
	CHECK_EQ(r.v[0].mode, 0660);
	CHECK_EQ(r.v[0].symlinks.n, 2);
	CHECK_STR(r.v[1].name, "net");

	REQUIRE_EQ(parse("add@/devices/virtual/block/loop3|ACTION=add|DEVPATH=/devices/virtual/block/loop3|"
			 "SUBSYSTEM=block|MAJOR=7|MINOR=3|DEVNAME=loop3|"), 0);
	struct dm_outcome o;
	REQUIRE_EQ(dm_rules_apply(&r, &ev, NULL, NULL, &o), 0);
	CHECK_EQ(o.matched, 1);
	CHECK(o.set_group && o.set_mode && o.mode == 0660 && !o.set_owner);
	CHECK(o.symlinks.n == 2 && o.setenv.n == 1 && strcmp(o.setenv.v[0], "X=1") == 0);
	dm_outcome_clear(&o);
	REQUIRE_EQ(parse("add@/devices/virtual/net/hv0|ACTION=add|DEVPATH=/devices/virtual/net/hv0|"
			 "SUBSYSTEM=net|INTERFACE=hv0|"), 0);
	REQUIRE_EQ(dm_rules_apply(&r, &ev, NULL, NULL, &o), 0);
	CHECK(o.matched == 1 && o.setenv.n == 1 && !o.set_mode);
	dm_outcome_clear(&o);
	REQUIRE_EQ(parse("add@/devices/virtual/net/eth0|ACTION=add|DEVPATH=/devices/virtual/net/eth0|"
			 "SUBSYSTEM=net|INTERFACE=eth0|"), 0);
	REQUIRE_EQ(dm_rules_apply(&r, &ev, NULL, NULL, &o), 0);
	CHECK_EQ(o.matched, 0);
	dm_outcome_clear(&o);
	dm_rules_free(&r);

	/* To everyone: refused without AllowWorld=true, kept with it. */
	REQUIRE_EQ(load("[world]\nKERNEL=null\nMODE=0666\n[ok]\nKERNEL=zero\nMODE=0666\nAllowWorld=true\n", &r), 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.errors, 1);
	CHECK_STR(r.v[0].name, "ok");
	dm_rules_free(&r);

	/* Each error drops its own rule only. */
	static const char *const bad[] = {
		"[a]\nSYMLINK=../etc/x\n", "[a]\nSYMLINK=/etc/x\n", "[a]\nSYMLINK=haven/../../x\n",
		"[a]\nSYMLINK=a//b\n", "[a]\nMODE=4755\n", "[a]\nMODE=rw\n", "[a]\nOWNER=no-such-user-here\n",
		"[a]\nGROUP=no-such-group-here\n", "[a]\nFROB=1\n", "[a]\nATTR{../../etc/shadow}=x\n",
		"[a]\nAllowWorld=perhaps\n", "KERNEL=x\n",
		"[a]\nMODE=0604\n", "[a]\nMODE=0602\n", /* read or write for others: AllowWorld only */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		REQUIRE_EQ(load(bad[i], &r), 0);
		CHECK_MSG(r.n == 0 && r.errors >= 1, "accepted: %s", bad[i]);
		dm_rules_free(&r);
	}
	REQUIRE_EQ(load("[good]\nKERNEL=a\n[bad]\nMODE=9\n[good2]\nKERNEL=b\n", &r), 0);
	CHECK(r.n == 2 && r.errors == 1);
	CHECK_EQ(r.v[1].line, 6); /* file:line of the rule */
	dm_rules_free(&r);
}

static char root[64], outside[80];

static bool file_mode_is(const char *path, mode_t mode)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mode & 07777) == mode;
}

static void test_nodes(void)
{
	strcpy(root, "/tmp/devmap-units-XXXXXX");
	REQUIRE(mkdtemp(root));
	snprintf(outside, sizeof(outside), "%s/outside", root);
	char dev[96];
	snprintf(dev, sizeof(dev), "%s/dev", root);
	REQUIRE(mkdir(dev, 0755) == 0 && mkdir(outside, 0755) == 0);
	int rootfd = open(dev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(rootfd >= 0);
	char path[256];

	/* A symlink of DeviceMapper's own, replaced and removed. */
	CHECK_EQ(dm_link_make(rootfd, "haven/test-loop", "loop0"), 0);
	snprintf(path, sizeof(path), "%s/haven/test-loop", dev);
	char target[64] = "";
	CHECK(readlink(path, target, sizeof(target) - 1) > 0 && strcmp(target, "../loop0") == 0);
	CHECK_EQ(dm_link_make(rootfd, "haven/test-loop", "loop1"), 0);
	CHECK_EQ(dm_link_remove(rootfd, "haven/test-loop", "loop0"), -ESTALE); /* loop1's now */
	CHECK_EQ(dm_link_remove(rootfd, "haven/test-loop", "loop1"), 0);
	CHECK(access(path, F_OK) < 0);

	/* A planted directory symlink is never followed. */
	snprintf(path, sizeof(path), "%s/planted", dev);
	REQUIRE(symlink(outside, path) == 0);
	CHECK(dm_link_make(rootfd, "planted/x", "loop0") < 0);
	snprintf(path, sizeof(path), "%s/x", outside);
	CHECK(access(path, F_OK) < 0);
	/* A file there is not replaced by a symlink. */
	snprintf(path, sizeof(path), "%s/file", dev);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	CHECK_EQ(dm_link_make(rootfd, "file", "loop0"), -EEXIST);
	CHECK_EQ(dm_link_remove(rootfd, "file", "loop0"), -EINVAL);
	/* Names that leave the root. */
	CHECK_EQ(dm_link_make(rootfd, "../outside/y", "loop0"), -EINVAL);
	CHECK_EQ(dm_link_make(rootfd, "/tmp/y", "loop0"), -EINVAL);

	/* A node planted as a symlink to a file outside: its mode never changes. */
	char secret[128];
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	close(open(secret, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	snprintf(path, sizeof(path), "%s/null", dev);
	REQUIRE(symlink(secret, path) == 0);
	REQUIRE_EQ(parse("add@/devices/virtual/mem/null|ACTION=add|DEVPATH=/devices/virtual/mem/null|"
			 "SUBSYSTEM=mem|MAJOR=1|MINOR=3|DEVNAME=null|"), 0);
	struct dm_outcome o = {.set_mode = true, .mode = 0666};
	bool made = false;
	CHECK_EQ(dm_node_apply(rootfd, &ev, &o, true, &made), -ENOTBLK);
	CHECK(!made);
	CHECK(file_mode_is(secret, 0600));

	/* Where devtmpfs made nothing: made (as root), set, and removed. */
	if (geteuid() == 0) {
		REQUIRE_EQ(parse("add@/devices/virtual/mem/zero|ACTION=add|DEVPATH=/devices/virtual/mem/zero|"
				 "SUBSYSTEM=mem|MAJOR=1|MINOR=5|DEVNAME=sub/zero|"), 0);
		o = (struct dm_outcome){.set_mode = true, .mode = 0640, .set_group = true, .group = 0};
		CHECK_EQ(dm_node_apply(rootfd, &ev, &o, false, &made), 0); /* not asked to make it */
		snprintf(path, sizeof(path), "%s/sub/zero", dev);
		CHECK(access(path, F_OK) < 0);
		CHECK_EQ(dm_node_apply(rootfd, &ev, &o, true, &made), 0);
		struct stat st;
		CHECK(made && stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5) &&
		      (st.st_mode & 0777) == 0640);
		CHECK_EQ(dm_node_remove(rootfd, "sub/zero", true, 1, 5), -EEXIST); /* char, not block */
		CHECK_EQ(dm_node_remove(rootfd, "sub/zero", false, 1, 5), 0);
		CHECK(access(path, F_OK) < 0);
	} else
		fprintf(stderr, "skipped: mknod needs root\n");
	close(rootfd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK_EQ(system(cmd), 0);
}

int main(void)
{
	test_parse();
	test_sender();
	test_rules();
	test_nodes();
	return check_result();
}
