/* names.c — what LoginServer accepts as a user name before PAM sees it.
 * Looser than useradd (which wants [a-z_][a-z0-9_-]*$?) so names from
 * LDAP or sssd still work; strict where a name could do harm: in a path
 * (runtime directory), a log line or a terminal. */
#include <string.h>

#include "LoginServer.h"

const char *lgs_user_invalid(const char *user)
{
	size_t n = strlen(user);
	if (n == 0)
		return "the user name is empty";
	if (n > LGS_USER_MAX)
		return "the user name is longer than 256 bytes";
	if (user[0] == '-')
		return "the user name starts with '-'";
	if (strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
		return "the user name is '.' or '..'";
	for (const unsigned char *p = (const unsigned char *)user; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "the user name holds a control character";
		if (*p == '/' || *p == ':' || *p == ' ')
			return "the user name holds '/', ':' or a space";
	}
	return NULL;
}
