/* process.c — FileSystemAccessServer's process around its handlers: its
 * options, the state directory and the grants loaded from it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "FileSystemAccessServer.h"

const char *fsa_state_dir;
int64_t fsa_prompt_timeout_s = FSA_PROMPT_TIMEOUT_S;
hv_strv fsa_agent_exes;
static char *state_dir_buf;

int fsa_parse_agent_exe(const char *arg, void *target)
{
	/* As the kernel will name it: /proc/PID/exe is the resolved path. */
	char *real = realpath(arg, NULL);
	if (!real)
		return -EINVAL;
	int r = hv_strv_push(target, real);
	free(real);
	return r;
}

int fsa_setup(hv_server *srv)
{
	/* The shipped agent, `fsa`, beside us (built) or installed. */
	if (!fsa_agent_exes.n) {
		fsa_parse_agent_exe(FSA_CLI_BUILD_PATH, &fsa_agent_exes);
		fsa_parse_agent_exe(FSA_CLI_INSTALL_PATH, &fsa_agent_exes);
	}
	if (fsa_state_dir && !strcmp(fsa_state_dir, "-")) {
		fsa_state_dir = NULL; /* nothing kept: grants last as long as the process */
		return 0;
	}
	int r;
	if (!fsa_state_dir) {
		if ((r = hv_xdg_path(HV_XDG_STATE, "haven/FileSystemAccessServer", &state_dir_buf)) < 0)
			return hv_log_errno(r, "No state directory: give --state-dir DIR");
		fsa_state_dir = state_dir_buf;
	}
	if ((r = hv_mkdir_p(fsa_state_dir, 0700)) < 0)
		return hv_log_errno(r, "Failed to create %s", fsa_state_dir);
	int dir = open(fsa_state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return hv_log_errno(-errno, "Failed to open %s", fsa_state_dir);
	return fsa_grants_load(dir);
}

void fsa_teardown(int code)
{
	fsa_grants_clear((fsa_grants *)fsa_grants_all());
	hv_strv_clear(&fsa_agent_exes);
	free(state_dir_buf);
}
