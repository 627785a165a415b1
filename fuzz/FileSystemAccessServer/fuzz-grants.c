/* fuzz-fsa-grants — FileSystemAccessServer's grants file parser
 * (services/FileSystemAccessServer/grants.c), which reads a file on disk
 * that anything running as the user could have written. Whatever the
 * bytes, it must not crash, and what it keeps must be valid grants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "FileSystemAccessServer.h"

const char *fsa_state_dir = "fuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		hv_log_set_level(HV_LOG_ERROR);
		quiet = true;
	}
	fsa_grants g;
	if (fsa_grants_parse((const char *)data, size, "fuzz", &g) == 0) {
		for (size_t i = 0; i < g.n; i++)
			if (g.v[i].exe[0] != '/' || fsa_check_path(g.v[i].path) < 0 || g.v[i].access > 3)
				abort();
		fsa_grants_clear(&g);
	}
	return 0;
}
