/* tests/sandbox/test-compile.c — the promise compiler without loading
 * anything (so it also runs under valgrind, which knows neither Landlock nor
 * life under a seccomp filter): every promise alone and all together
 * compile, the rules land on the calls the documentation names, unknown
 * names are refused, and spec checks catch bad definitions. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "haven/sandbox.h"
#include "sandbox-test.h"

static const char *const all[] = {
	"stdio", "rpath", "wpath", "cpath", "dpath", "tmppath", "inet", "unix", "dns", "fattr",
	"chown", "flock", "getpw", "sendfd", "recvfd", "proc", "exec", "id", "tty", "thread",
	"prot_exec", "sigaction", "settime", "bpf", "accept", "uevent", "unveil", "no_error", "error",
};

/* The PFC text of a promise set, malloc'd (arch NULL: native). */
static char *export_arch(const char *promises, const char *arch)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/pfc", test_tmpdir());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	int r = hv_pledge_export_arch(promises, arch, fd);
	off_t len = lseek(fd, 0, SEEK_END);
	char *text = r < 0 || len < 0 ? NULL : calloc(1, (size_t)len + 1);
	if (text && pread(fd, text, (size_t)len, 0) != len) {
		free(text);
		text = NULL;
	}
	close(fd);
	return text;
}

static char *export(const char *promises)
{
	return export_arch(promises, NULL);
}

static bool mentions_arch(const char *promises, const char *arch, const char *call)
{
	char *t = export_arch(promises, arch);
	char want[64];
	snprintf(want, sizeof(want), "# filter for syscall \"%s\"", call);
	bool r = t && strstr(t, want);
	free(t);
	return r;
}

static bool mentions(const char *promises, const char *call)
{
	return mentions_arch(promises, NULL, call);
}

int main(void)
{
	/* Under valgrind the seccomp() probes fail and libseccomp would assume
	 * a kernel without KILL_PROCESS or TSYNC; compile for the kernels we
	 * support (nothing is loaded here). */
	if (seccomp_api_get() < 5 && seccomp_api_set(5) < 0) {
		fprintf(stderr, "libseccomp refuses API level 5\n");
		return 1;
	}
	char joined[512] = "";
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char *t = export(all[i]);
		CHECK_MSG(t != NULL, "promise \"%s\" should compile", all[i]);
		free(t);
		strcat(joined, all[i]);
		strcat(joined, " ");
	}
	char *t = export(joined);
	CHECK_MSG(t != NULL, "all promises together should compile");
	free(t);
	t = export("");
	CHECK_MSG(t != NULL, "empty promises should compile");
	free(t);

	CHECK_MSG(mentions("stdio", "read"), "stdio allows read");
	CHECK_MSG(!mentions("stdio", "socket"), "stdio has no socket rule");
	CHECK_MSG(mentions("stdio inet", "socket"), "inet has a socket rule");
	CHECK_MSG(mentions("stdio rpath", "openat"), "rpath has openat rules");
	CHECK_MSG(!mentions("stdio", "execve"), "stdio has no execve");
	CHECK_MSG(mentions("exec", "execve"), "exec allows execve");
	CHECK_MSG(!mentions("stdio proc", "ptrace"), "nothing allows ptrace");
	CHECK_MSG(mentions("", "exit_group"), "exit_group is always allowed");

	/* One table, two architectures: aarch64 has only the *at calls. */
	const char *every = "stdio rpath wpath cpath dpath inet unix proc thread exec fattr chown flock tty id";
	CHECK_MSG(mentions_arch(every, "aarch64", "openat"), "aarch64: openat");
	CHECK_MSG(mentions_arch(every, "aarch64", "mkdirat"), "aarch64: mkdirat");
	CHECK_MSG(mentions_arch(every, "aarch64", "clone"), "aarch64: clone");
	CHECK_MSG(!mentions_arch(every, "aarch64", "open"), "aarch64 has no open");
	CHECK_MSG(!mentions_arch(every, "aarch64", "fork"), "aarch64 has no fork");
	CHECK_MSG(mentions_arch(every, "x86_64", "open"), "x86_64: open");
	CHECK_MSG(mentions_arch(every, "x86_64", "fork"), "x86_64: fork");
	CHECK_MSG(hv_pledge_export_arch("stdio", "vax", STDOUT_FILENO) == -EINVAL, "unknown architecture");

	CHECK_MSG(hv_pledge_check("stdio rpath") == 0, "valid promises");
	CHECK_MSG(hv_pledge_check("stdio,rpath\tinet") == 0, "commas and tabs separate");
	CHECK_MSG(hv_pledge_check("stdio nope") == -EINVAL, "unknown promise");
	CHECK_MSG(hv_pledge_check("stdiorpath") == -EINVAL, "glued names");
	CHECK_MSG(hv_pledge_export("bogus", STDOUT_FILENO) == -EINVAL, "export refuses unknown names");

	CHECK_MSG(hv_sandbox_spec_check(&(hv_sandbox_spec){.promises = "stdio", .unveils = (const char *const[]){"/a:rwxc", "/b:", NULL}}) == 0,
	      "empty perms are valid (the path is hidden)");
	CHECK_MSG(hv_sandbox_spec_check(&(hv_sandbox_spec){.execpromises = "stdio exec"}) == 0, "execpromises alone");

	test_tmpdir_cleanup();
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
