/* check.c — the failure count behind CHECK* (see check.h). */
#include "check.h"

int check_failures;

int check_result(void)
{
	if (!check_failures)
		return 0;
	fprintf(stderr, "%d check(s) failed\n", check_failures);
	return 1;
}
