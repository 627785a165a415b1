/* bootargs.c — what init reads from words: the shutdown actions' names
 * and haven.mode= on the kernel command line (init.h). In the library so
 * tests/SystemServer/test-init can check them directly. */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const power_names[] = {
	[SS_POWER_OFF] = "poweroff", [SS_POWER_REBOOT] = "reboot", [SS_POWER_HALT] = "halt"
};

int ss_power_parse(const char *s, enum ss_power *out)
{
	for (int a = SS_POWER_OFF; a <= SS_POWER_HALT; a++)
		if (s && strcmp(s, power_names[a]) == 0)
			return *out = (enum ss_power)a, 0;
	return -EINVAL;
}

const char *ss_power_name(enum ss_power a)
{
	return a >= SS_POWER_OFF && a <= SS_POWER_HALT ? power_names[a] : "none";
}

int ss_init_mode_from_cmdline(const char *cmdline, char *out, size_t size)
{
	int r = -ENOENT;
	for (const char *p = cmdline; p && *p;) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		if (len >= 11 && strncmp(p, "haven.mode=", 11) == 0)
			r = len == 11 || len - 11 >= size ? -EINVAL : (snprintf(out, size, "%.*s", (int)(len - 11), p + 11), 0);
		p += len;
	}
	return r;
}
