/* spawn.h — starting applications. LaunchServer's own process is
 * sandboxed (Landlock and seccomp both survive exec, so whatever it
 * exec'd would run inside its view), so a helper forked before the
 * sandbox — a spawner, as OpenBSD's privilege-separated daemons keep a
 * parent — starts them: LaunchServer sends it an argv over a private
 * socketpair, it forks, the child leaves for its own session (setsid),
 * stdin on /dev/null and stdout/stderr on /dev/null or the service's log,
 * and execs the program found on $PATH, never a shell. The helper holds
 * nothing but that socket; it ends when LaunchServer does. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct lch_spawner;

/* Fork the helper (before the sandbox). keep_output: the apps' stdout and
 * stderr go to this process's stderr (the service log) instead of
 * /dev/null. */
int lch_spawner_start(bool keep_output, struct lch_spawner **out);
void lch_spawner_stop(struct lch_spawner *s);

/* Start argv (argv[0] on $PATH unless it has a '/') in dir (NULL: $HOME),
 * detached. The pid, or a negative errno: -ENOENT / -EACCES when it cannot
 * be exec'd (reported by the child before it would have run), -EPIPE when
 * the helper is gone, -E2BIG when argv is too large for one request. */
pid_t lch_spawn(struct lch_spawner *s, char *const argv[], const char *dir);
