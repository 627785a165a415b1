/* process.c — ChessEngine's process around its handlers: the --uci mode
 * (a UCI engine on stdin/stdout, sandboxed like the service). */
#include <stdio.h>
#include <string.h>

#include <haven/log.h>
#include <haven/sandbox.h>

#include "ChessEngine.h"
#include "uci.h"

bool ce_uci_mode;

int ce_uci_run(void)
{
	/* Computation only: its pipes, its threads, no files, no network. */
	int r = hv_unveil(NULL, NULL);
	if (r >= 0)
		r = hv_pledge("stdio thread", NULL);
	if (r < 0) {
		hv_log_error("cannot enter the sandbox: %s", strerror(-r));
		return 1;
	}
	return ch_uci_main(stdin, stdout);
}
