/* confine.c — the process sees only what its operation was handed.
 *
 * The client passes directory fds; Landlock rules are made from those fds
 * themselves (no path is looked up: nothing the client could swap), and
 * the domain is entered before the worker thread exists, so it inherits
 * it. Sources are readable (and, for move and delete, their entries
 * removable: Landlock grants removal on the directory holding them, so a
 * source's siblings are removable too); the destination is readable and
 * writable. Everything else is refused with EACCES, including /proc.
 * lib/sandbox's hv_unveil() takes paths and is locked by the time a
 * client speaks, hence these few raw calls. */
#include <errno.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "FileOperation.h"

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_REMOVE (LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE)
#define LL_MAKE                                                                                    \
	(LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM)
#define LL_REFER (1ULL << 13)	 /* ABI 2 */
#define LL_TRUNCATE (1ULL << 14) /* ABI 3 */

static uint64_t abi_rights(int abi)
{
	uint64_t r = (1ULL << 13) - 1;
	if (abi >= 2)
		r |= LL_REFER;
	if (abi >= 3)
		r |= LL_TRUNCATE;
	if (abi >= 5)
		r |= 1ULL << 15; /* IOCTL_DEV */
	return r;
}

static int add_rule(int ruleset, int fd, uint64_t access, uint64_t handled)
{
	struct landlock_path_beneath_attr rule = {.allowed_access = access & handled, .parent_fd = fd};
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		return -errno;
	return 0;
}

int fo_confine(const fo_op *op)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		/* No Landlock: the promises still hold; say what is missing. */
		hv_log_warn("Landlock is not available: the operation is not confined to its directories");
		return 0;
	}
	uint64_t handled = abi_rights((int)abi);
	struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
	_hv_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (rs < 0)
		return hv_log_errno(-errno, "Failed to create a Landlock ruleset");
	uint64_t dst = LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LL_TRUNCATE | LL_REMOVE | LL_MAKE | LL_REFER;
	/* A rename that would give a file more rights where it lands is
	 * refused by Landlock (EXDEV): a move's sources get the
	 * destination's rights, so that it stays a rename. */
	uint64_t src = op->kind == FO_COPY ? LL_READ : op->kind == FO_MOVE ? dst : LL_READ | LL_REMOVE;
	int r;
	for (size_t i = 0; i < op->n_src; i++)
		if ((r = add_rule(rs, op->src_dir[i], src, handled)) < 0)
			return hv_log_errno(r, "Failed to add a source to the Landlock ruleset");
	if (op->kind != FO_DELETE) {
		if ((r = add_rule(rs, op->dst_dir, dst, handled)) < 0)
			return hv_log_errno(r, "Failed to add the destination to the Landlock ruleset");
	}
	/* Already set by the pledge; harmless, and needed without one. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return hv_log_errno(-errno, "Failed to enter the Landlock domain");
	return 0;
}
