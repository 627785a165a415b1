/* process.c — ChessEngine's process around its handlers: the --uci mode
 * (a UCI engine on stdin/stdout, sandboxed like the service). */
#include <stdio.h>
#include <string.h>

#include <haven/log.h>
#include <haven/sandbox.h>
#include <haven/service.h>

#include "ChessEngine.h"
#include "uci.h"

bool ce_uci_mode;

/* Starting the engine: fork and exec, with the engine, its interpreter
 * (a script) and the system libraries visible, read-only; the child then
 * narrows itself to those (backend.c). */
static const char *usr = "/usr", *lib = "/lib", *lib64 = "/lib64", *bin = "/bin",
		  *ldcache = "/etc/ld.so.cache";

const hv_service *ce_with_backend(const hv_service *svc)
{
	static hv_service with;
	static const hv_unveil_rule view[] = {
		HV_UNVEIL_IF_EXISTS(ce_uci_engine, "rx"), HV_UNVEIL(usr, "rx"),
		HV_UNVEIL_IF_EXISTS(lib, "rx"), HV_UNVEIL_IF_EXISTS(lib64, "rx"),
		HV_UNVEIL_IF_EXISTS(bin, "rx"), HV_UNVEIL_IF_EXISTS(ldcache, "r"), {0}};
	if (!ce_uci_engine)
		return svc;
	with = *svc;
	with.unveil = view;
	with.pledge = "stdio rpath thread proc exec";
	return &with;
}

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
