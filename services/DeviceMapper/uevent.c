/* uevent.c — parse the kernel's uevent datagrams and tell the kernel's
 * from anyone else's. A uevent is "ACTION@DEVPATH" then NUL-separated
 * KEY=VALUE properties (lib/kobject_uevent.c). */
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include <haven/util.h>

#include "uevent.h"

static const char *const action_names[] = {
	[DM_ADD] = "add",	  [DM_REMOVE] = "remove", [DM_CHANGE] = "change",
	[DM_MOVE] = "move",	  [DM_ONLINE] = "online", [DM_OFFLINE] = "offline",
	[DM_BIND] = "bind",	  [DM_UNBIND] = "unbind",
};

const char *dm_action_name(enum dm_action a)
{
	return a >= DM_ADD && a <= DM_UNBIND ? action_names[a] : "?";
}

int dm_action_parse(const char *s)
{
	for (int a = DM_ADD; a <= DM_UNBIND; a++)
		if (strcmp(s, action_names[a]) == 0)
			return a;
	return -EINVAL;
}

/* No "", "." or ".." component between the slashes of p[0..len). */
static bool components_ok(const char *p)
{
	for (const char *c = p;;) {
		const char *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*e)
			return true;
		c = e + 1;
	}
}

static bool printable(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

bool dm_dev_path_ok(const char *p)
{
	return p && *p && *p != '/' && strlen(p) < PATH_MAX && printable(p) && components_ok(p);
}

static bool devpath_ok(const char *p)
{
	return p[0] == '/' && strlen(p) < PATH_MAX && printable(p) && components_ok(p + 1);
}

const char *dm_uevent_get(const struct dm_uevent *ev, const char *key)
{
	for (size_t i = 0; i < ev->nprops; i++)
		if (strcmp(ev->props[i].key, key) == 0)
			return ev->props[i].value;
	return NULL;
}

static int parse_num(const char *s, unsigned *out)
{
	uint64_t v;
	if (!s || hv_parse_u64(s, UINT_MAX, &v) < 0)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Split buf (the header's NUL already found at `off`) into properties. */
static int split_props(struct dm_uevent *ev, size_t off, size_t len)
{
	while (off < len) {
		char *kv = ev->buf + off;
		size_t n = strlen(kv);
		off += n + 1;
		if (n == 0)
			continue; /* a trailing NUL, or padding */
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv || ev->nprops == DM_UEVENT_MAX_PROPS)
			return -EINVAL;
		*eq = '\0';
		ev->props[ev->nprops++] = (struct dm_prop){kv, eq + 1};
	}
	return 0;
}

/* The fields every uevent has, checked against each other. */
static int check_fields(struct dm_uevent *ev, const char *hdr_action, const char *hdr_path)
{
	const char *action = dm_uevent_get(ev, "ACTION");
	ev->devpath = dm_uevent_get(ev, "DEVPATH");
	if (!action || !ev->devpath || strcmp(action, hdr_action) || strcmp(ev->devpath, hdr_path))
		return -EINVAL;
	int a = dm_action_parse(action);
	if (a < 0 || !devpath_ok(ev->devpath))
		return -EINVAL;
	ev->action = (enum dm_action)a;
	ev->name = strrchr(ev->devpath, '/') + 1;
	const char *s = dm_uevent_get(ev, "SUBSYSTEM");
	ev->subsystem = s ? s : "";
	if (strchr(ev->subsystem, '/'))
		return -EINVAL;
	const char *seq = dm_uevent_get(ev, "SEQNUM");
	if (seq && hv_parse_u64(seq, UINT64_MAX, &ev->seqnum) < 0)
		return -EINVAL;
	ev->devname = dm_uevent_get(ev, "DEVNAME");
	if (ev->devname && !dm_dev_path_ok(ev->devname))
		return -EINVAL;
	const char *maj = dm_uevent_get(ev, "MAJOR"), *min = dm_uevent_get(ev, "MINOR");
	if (maj || min) {
		if (parse_num(maj, &ev->major) < 0 || parse_num(min, &ev->minor) < 0)
			return -EINVAL;
		ev->has_devt = true;
	}
	return 0;
}

int dm_uevent_parse(const void *data, size_t len, struct dm_uevent *ev)
{
	memset(ev, 0, offsetof(struct dm_uevent, props));
	if (len > DM_UEVENT_MAX_BYTES)
		return -EMSGSIZE;
	if (len >= 8 && memcmp(data, "libudev", 8) == 0)
		return -EPROTO; /* udevd's monitor format, not the kernel's */
	memcpy(ev->buf, data, len);
	ev->buf[len] = '\0';
	size_t hlen = strlen(ev->buf);
	char *at = memchr(ev->buf, '@', hlen);
	if (!at || at == ev->buf || hlen >= len)
		return -EINVAL;
	*at = '\0';
	int r = split_props(ev, hlen + 1, len);
	return r < 0 ? r : check_fields(ev, ev->buf, at + 1);
}

bool dm_uevent_from_kernel(const struct msghdr *msg)
{
	const struct sockaddr_nl *sa = msg->msg_name;
	if (!sa || msg->msg_namelen < sizeof(*sa) || sa->nl_family != AF_NETLINK || sa->nl_pid != 0 ||
	    sa->nl_groups != 1)
		return false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS)
			continue;
		struct ucred cred;
		memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		return cred.pid == 0 && cred.uid == 0;
	}
	return false; /* SO_PASSCRED is set: the kernel always attaches them */
}
