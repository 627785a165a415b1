/* lib/sandbox/unveil.c — hv_unveil() on Landlock (raw syscalls).
 *
 * OpenBSD's unveil() takes effect at once and grows with each call; a
 * Landlock domain can only shrink. So rules are collected (each path opened
 * O_PATH at the call, so relative paths mean what they meant then) and
 * enforced as one ruleset when unveil is locked. The ruleset handles every
 * filesystem right the running ABI knows, so anything not unveiled is denied;
 * what an older ABI cannot control is reported, never assumed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "haven/util.h"
#include "internal.h"

/* Our own copies of the ABI (the installed header may predate the kernel). */
struct hv_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};
struct hv_ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REMOVE_DIR (1ULL << 4)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_CHAR (1ULL << 6)
#define LL_MAKE_DIR (1ULL << 7)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_MAKE_FIFO (1ULL << 10)
#define LL_MAKE_BLOCK (1ULL << 11)
#define LL_MAKE_SYM (1ULL << 12)
#define LL_REFER (1ULL << 13)	  /* ABI 2 */
#define LL_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)	   /* ABI 6 */
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2
#define LL_NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */

struct hv_ll_net_port {
	uint64_t allowed_access;
	uint64_t port;
} __attribute__((packed));
#define LL_CREATE_VERSION (1U << 0)

#define LL_FILE_RIGHTS (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV)
#define LL_CREATE_RIGHTS                                                                          \
	(LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_CHAR | LL_MAKE_DIR | LL_MAKE_REG | LL_MAKE_SOCK | \
	 LL_MAKE_FIFO | LL_MAKE_BLOCK | LL_MAKE_SYM | LL_REFER)

struct rule {
	int fd; /* O_PATH */
	uint64_t access;
	char *path; /* for log lines */
};

struct port_rule {
	uint16_t port;
	uint64_t access;
};

static struct port_rule *ports;
static size_t n_ports;
static struct rule *rules;
static size_t n_rules;
static bool locked;
static bool deny_all; /* lock even with no rules: nothing visible */

void hv_unveil_deny_all(void)
{
	deny_all = true;
}

bool hv_unveil_locked(void)
{
	return locked;
}

int hv_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_VERSION);
	if (abi < 0)
		return 0;
	const char *cap = getenv("HAVEN_LANDLOCK_ABI_MAX");
	if (cap && *cap) {
		int64_t m;
		if (hv_parse_i64(cap, 0, 1000, &m) == 0 && m < abi)
			abi = m;
	}
	return (int)abi;
}

/* Rights each ABI knows. */
static uint64_t abi_fs_rights(int abi)
{
	uint64_t r = (1ULL << 13) - 1; /* ABI 1 */
	if (abi >= 2)
		r |= LL_REFER;
	if (abi >= 3)
		r |= LL_TRUNCATE;
	if (abi >= 5)
		r |= LL_IOCTL_DEV;
	return r;
}

static int perms_to_access(const char *perms, uint64_t *out)
{
	uint64_t a = 0;
	for (const char *p = perms; *p; p++) {
		switch (*p) {
		case 'r':
			a |= LL_READ_FILE | LL_READ_DIR;
			break;
		case 'w':
			a |= LL_WRITE_FILE | LL_TRUNCATE | LL_IOCTL_DEV;
			break;
		case 'x':
			a |= LL_EXECUTE;
			break;
		case 'c':
			a |= LL_CREATE_RIGHTS;
			break;
		default:
			hv_log_error("unveil: bad permission '%c' in \"%s\" (use r, w, x, c)", *p, perms);
			return -EINVAL;
		}
	}
	/* Reading a device needs its ioctls too (isatty on /dev/tty). */
	if (a & LL_READ_FILE)
		a |= LL_IOCTL_DEV;
	*out = a;
	return 0;
}

int hv_unveil(const char *path, const char *perms)
{
	if (!path && !perms)
		return hv_unveil_lock();
	if (!path || !perms) {
		hv_log_error("unveil: path and permissions must both be given (or both NULL to lock)");
		return -EINVAL;
	}
	if (locked) {
		hv_log_error("unveil: %s: unveil is locked", path);
		return -EPERM;
	}
	uint64_t access;
	int r = perms_to_access(perms, &access);
	if (r < 0)
		return r;
	_hv_close_ int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return hv_log_errno(-errno, "unveil: %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hv_log_errno(-errno, "unveil: %s", path);
	/* Landlock refuses directory rights on a file rule. */
	if (!S_ISDIR(st.st_mode))
		access &= LL_FILE_RIGHTS;

	struct rule *nr = realloc(rules, (n_rules + 1) * sizeof(*rules));
	if (!nr)
		return hv_log_errno(-ENOMEM, "unveil: %s", path);
	rules = nr;
	char *copy = strdup(path);
	if (!copy)
		return hv_log_errno(-ENOMEM, "unveil: %s", path);
	rules[n_rules++] = (struct rule){.fd = HV_TAKE_FD(fd), .access = access, .path = copy};
	return 0;
}

int hv_unveil_tcp(unsigned port, const char *perms)
{
	if (locked) {
		hv_log_error("unveil: tcp port %u: unveil is locked", port);
		return -EPERM;
	}
	if (port > 65535 || !perms) {
		hv_log_error("unveil: tcp port %u: expected a port 0-65535 and perms from \"bc\"", port);
		return -EINVAL;
	}
	uint64_t access = 0;
	for (const char *p = perms; *p; p++) {
		if (*p == 'b')
			access |= LL_NET_BIND_TCP;
		else if (*p == 'c')
			access |= LL_NET_CONNECT_TCP;
		else {
			hv_log_error("unveil: tcp port %u: bad permission '%c' (use b, c)", port, *p);
			return -EINVAL;
		}
	}
	struct port_rule *np = realloc(ports, (n_ports + 1) * sizeof(*ports));
	if (!np)
		return hv_log_errno(-ENOMEM, "unveil: tcp port %u", port);
	ports = np;
	ports[n_ports++] = (struct port_rule){.port = (uint16_t)port, .access = access};
	return 0;
}

int hv_unveil_spec(const char *spec)
{
	/* "tcp:PORT:bc" is a port rule; anything else is PATH:PERMS. */
	if (spec && strncmp(spec, "tcp:", 4) == 0) {
		const char *colon = strchr(spec + 4, ':');
		int64_t port;
		_hv_free_ char *num = colon ? strndup(spec + 4, (size_t)(colon - spec - 4)) : NULL;
		if (!num || hv_parse_i64(num, 0, 65535, &port) < 0) {
			hv_log_error("unveil: \"%s\": expected tcp:PORT:PERMS", spec);
			return -EINVAL;
		}
		return hv_unveil_tcp((unsigned)port, colon + 1);
	}
	const char *colon = spec ? strrchr(spec, ':') : NULL;
	if (!colon || colon == spec) {
		hv_log_error("unveil: \"%s\": expected PATH:PERMS", spec ? spec : "(null)");
		return -EINVAL;
	}
	_hv_free_ char *path = strndup(spec, (size_t)(colon - spec));
	if (!path)
		return -ENOMEM;
	return hv_unveil(path, colon + 1);
}

static void rules_free(void)
{
	for (size_t i = 0; i < n_rules; i++) {
		close(rules[i].fd);
		free(rules[i].path);
	}
	free(rules);
	rules = NULL;
	n_rules = 0;
	free(ports);
	ports = NULL;
	n_ports = 0;
}

/* The pending rules as a Landlock ruleset (*out, or -1 when there is
 * nothing to enforce), then forgotten. Returns 0, HV_SANDBOX_DEGRADED, or a
 * negative errno. threads: say so if other threads already run (for a
 * lock in this process, not for a ruleset built for another one). */
static int build_ruleset(int *out, bool threads)
{
	*out = -1;
	bool fs_asked = n_rules > 0 || deny_all;
	deny_all = false;
	if (!fs_asked && n_ports == 0)
		return 0; /* never unveiled: the filesystem stays as it is (OpenBSD) */

	int abi = hv_landlock_abi(), status = 0;
	if (abi < 1) {
		hv_log_error("unveil: Landlock is not available on this kernel: %zu rule(s) NOT enforced",
			     n_rules + n_ports);
		rules_free();
		return -EOPNOTSUPP;
	}
	uint64_t known = abi_fs_rights(abi);
	bool fs = fs_asked;
	struct hv_ll_ruleset_attr attr = {.handled_access_fs = fs ? known : 0};
	/* Path unveils also close the ways around paths: abstract unix
	 * sockets and signals to processes outside the domain. */
	if (abi >= 6 && fs)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	size_t attr_size = abi >= 6 ? sizeof(attr) : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
	/* TCP is only confined when a port rule was asked: then every other
	 * port is refused for bind and connect. Path-only unveils leave the
	 * network to pledge's promises. */
	bool net = n_ports > 0 && abi >= 4;
	if (net)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (n_ports > 0 && abi < 4) {
		hv_log_warn("unveil: Landlock ABI %d has no network rules: %zu tcp port rule(s) NOT enforced", abi,
			    n_ports);
		status = HV_SANDBOX_DEGRADED;
	}
	/* With only port rules (and no network ABI), nothing is left to do. */
	if (!fs && !net) {
		rules_free();
		return status;
	}

	/* Report what this ABI leaves uncontrolled, for the rules asked. */
	uint64_t asked = 0;
	for (size_t i = 0; i < n_rules; i++)
		asked |= rules[i].access;
	if (fs && abi < 2) {
		hv_log_warn("unveil: Landlock ABI %d: renames and links across directories are refused", abi);
		status = HV_SANDBOX_DEGRADED;
	}
	if (fs && abi < 3) {
		hv_log_warn("unveil: Landlock ABI %d cannot control truncate(): files outside unveiled paths "
			    "can still be truncated", abi);
		status = HV_SANDBOX_DEGRADED;
	}
	if (fs && abi < 5 && (asked & LL_IOCTL_DEV)) {
		hv_log_info("unveil: Landlock ABI %d does not control device ioctls (seccomp's ioctl list still does)",
			    abi);
	}
	if (fs && abi < 6) {
		hv_log_warn("unveil: Landlock ABI %d cannot scope abstract unix sockets and signals", abi);
		status = HV_SANDBOX_DEGRADED;
	}

	/* Landlock (ABI <= 7) confines the calling thread and its future
	 * threads only: say so if others already run. */
	DIR *d = threads ? opendir("/proc/self/task") : NULL;
	if (d) {
		int tasks = 0;
		for (struct dirent *e; (e = readdir(d));)
			tasks += e->d_name[0] != '.';
		closedir(d);
		if (tasks > 1) {
			hv_log_warn("unveil: %d threads already run; Landlock confines only this thread and the "
				    "threads it creates (lock unveil before creating threads)", tasks);
			status = HV_SANDBOX_DEGRADED;
		}
	}

	_hv_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rs < 0) {
		int r = -errno;
		rules_free();
		return hv_log_errno(r, "unveil: failed to create a Landlock ruleset");
	}
	for (size_t i = 0; i < n_rules; i++) {
		struct hv_ll_path_beneath pb = {.allowed_access = rules[i].access & known,
						.parent_fd = rules[i].fd};
		if (pb.allowed_access == 0)
			continue; /* nothing this ABI can grant: stays denied */
		if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			int r = -errno;
			hv_log_errno(r, "unveil: failed to add the rule for %s", rules[i].path);
			rules_free();
			return r;
		}
	}
	for (size_t i = 0; net && i < n_ports; i++) {
		struct hv_ll_net_port np = {.allowed_access = ports[i].access, .port = ports[i].port};
		if (syscall(SYS_landlock_add_rule, rs, LL_RULE_NET_PORT, &np, 0) < 0) {
			int r = -errno;
			hv_log_errno(r, "unveil: failed to add the rule for tcp port %u", ports[i].port);
			rules_free();
			return r;
		}
	}
	rules_free();
	*out = HV_TAKE_FD(rs);
	return status;
}

int hv_unveil_lock(void)
{
	if (locked)
		return 0;
	locked = true;
	_hv_close_ int rs = -1;
	int status = build_ruleset(&rs, true);
	if (status < 0 || rs < 0)
		return status;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hv_log_errno(-errno, "unveil: failed to set no_new_privs");
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return hv_log_errno(-errno, "unveil: failed to enforce the Landlock ruleset");
	return status;
}

int hv_internal_unveil_ruleset(int *out)
{
	if (locked) {
		hv_log_error("unveil: locked in this process: no ruleset to build");
		return -EPERM;
	}
	return build_ruleset(out, false);
}
