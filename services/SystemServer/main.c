/* main.c — SystemServer: read the command line, then either check the
 * definitions, run the manager until it shuts down, or be the init around
 * it (run.c has the options, the defaults and the run; manager.c the
 * supervision; init.c and shutdown.c PID 1's duties). */
#include <haven/util.h>

#include "run.h"

int main(int argc, char **argv)
{
	_hv_cleanup_(ss_run_opts_done) ss_run_opts o = { 0 };
	int r = ss_run_parse_args(argc, argv, &o);
	if (r >= 0)
		return r;
	if (o.check)
		return ss_run_check(&o.manager);
	return o.init.init ? ss_init_main(&o) : ss_run(&o.manager);
}
