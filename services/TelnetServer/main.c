/* TelnetServer — remote terminals over telnet: one process per
 * connection, a pty each, logins through LoginServer.
 *
 *   TelnetServer --port N [--listen ADDR] [--login-socket PATH | --no-auth]
 *
 * Under SystemServer (AcceptSocketConnections=true) it serves the one
 * connection it is handed (LISTEN_FDS); started by hand it listens on
 * ADDR:N and forks a process per connection. libtelnet negotiates ECHO,
 * SGA, NAWS, TTYPE and NEW-ENVIRON; the login prompts are LoginServer's;
 * once the session runs, the relay keeps "stdio tty" (and "proc" to
 * signal a shell of its own). */
#include "server.h"

static const hv_option options[] = {
	HV_OPT_INT("port", "N", &ts_opts.port, 1, 65535, "port when started by hand (2323)"),
	HV_OPT_STRING("listen", "ADDR", &ts_opts.listen,
		      "address when started by hand (127.0.0.1)"),
	HV_OPT_STRING("login-socket", "PATH", &ts_opts.login_socket,
		      "LoginServer's socket (default: its \"login\" portal)"),
	HV_OPT_FLAG("no-auth", &ts_opts.no_auth,
		    "start a shell as this process's user without a login: for tests only"),
	{0},
};

static const ts_service telnet_server = {
	.name = "TelnetServer",
	.summary = "Serves remote terminals over telnet: a pty per connection, relayed with\n"
		   "backpressure; the login goes through LoginServer.",
	.options = options,
};

int main(int argc, char **argv)
{
	return ts_main(&telnet_server, argc, argv);
}
