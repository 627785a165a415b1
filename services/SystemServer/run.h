/* run.h — the program around the manager: its command line and defaults,
 * `--check`, and the run itself (loop, manager, control endpoint, signals). */
#pragma once

#include <stdbool.h>

#include "init.h"
#include "manager.h"

typedef struct ss_run_opts {
	ss_manager_opts manager;
	bool check;	   /* --check: only read the definitions */
	char *runtime_dir; /* the --user default, when computed (owned) */
	ss_init_opts init; /* --init (or PID 1), --emergency-shell, --on-sigterm */
} ss_run_opts;

/* Parse argv and fill in the defaults (the build tree's or the installed
 * paths, the mode's runtime dir). -1: go on; otherwise the exit code (0
 * after --help, 2 for a usage error, 1 when out of memory). */
int ss_run_parse_args(int argc, char **argv, ss_run_opts *o);
void ss_run_opts_done(ss_run_opts *o); /* _hv_cleanup_ */
/* --check: print what the manager would load; 1 if anything is wrong. */
int ss_run_check(const ss_manager_opts *o);
/* Run the manager until it shuts down; returns the process's exit code. */
int ss_run(const ss_manager_opts *o);
