/* test-init.c — what init reads from words (bootargs.c): haven.mode= on a
 * kernel command line, and the names of the shutdown actions. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "init.h"

static int mode(const char *cmdline, char *out, size_t size)
{
	memset(out, 0, size);
	return ss_init_mode_from_cmdline(cmdline, out, size);
}

int main(void)
{
	char m[16];
	CHECK(mode("ro quiet haven.mode=text\n", m, sizeof m) == 0 && strcmp(m, "text") == 0);
	CHECK(mode("haven.mode=a console=ttyS0 haven.mode=graphical", m, sizeof m) == 0 &&
	      strcmp(m, "graphical") == 0); /* the last one wins */
	CHECK(mode("haven.mode=self-test", m, sizeof m) == 0 && strcmp(m, "self-test") == 0);
	CHECK(mode("ro quiet", m, sizeof m) == -ENOENT);
	CHECK(mode("", m, sizeof m) == -ENOENT);
	CHECK(mode("xhaven.mode=text haven.modes=x", m, sizeof m) == -ENOENT); /* whole words only */
	CHECK(mode("haven.mode= ro", m, sizeof m) == -EINVAL);
	CHECK(mode("haven.mode=0123456789abcdef", m, sizeof m) == -EINVAL); /* 16 > 15 */
	CHECK(mode("haven.mode=0123456789abcde", m, sizeof m) == 0 && strlen(m) == 15);
	CHECK(mode("\thaven.mode=tab\t", m, sizeof m) == 0 && strcmp(m, "tab") == 0);

	enum ss_power a = SS_POWER_NONE;
	CHECK(ss_power_parse("poweroff", &a) == 0 && a == SS_POWER_OFF);
	CHECK(ss_power_parse("reboot", &a) == 0 && a == SS_POWER_REBOOT);
	CHECK(ss_power_parse("halt", &a) == 0 && a == SS_POWER_HALT);
	CHECK(ss_power_parse("Reboot", &a) == -EINVAL && ss_power_parse("", &a) == -EINVAL &&
	      ss_power_parse(NULL, &a) == -EINVAL);
	CHECK(strcmp(ss_power_name(SS_POWER_REBOOT), "reboot") == 0 &&
	      strcmp(ss_power_name(SS_POWER_NONE), "none") == 0);
	return check_result();
}
