/* main.c — SystemServer: read the command line, then either check the
 * definitions or run the manager until it shuts down (run.c has the
 * options, the defaults and the run; manager.c the supervision). */
#include <haven/util.h>

#include "run.h"

int main(int argc, char **argv)
{
	_hv_cleanup_(ss_run_opts_done) ss_run_opts o = { 0 };
	int r = ss_run_parse_args(argc, argv, &o);
	if (r >= 0)
		return r;
	return o.check ? ss_run_check(&o.manager) : ss_run(&o.manager);
}
