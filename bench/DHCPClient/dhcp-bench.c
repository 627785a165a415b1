/* dhcp-bench — `make bench`'s entry for bench-dhcp.sh (scripts/run-bench
 * runs the *-bench programs): the script with this build's DHCPClient.
 *   dhcp-bench [RUNS]   (default 20) */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	execl("/bin/bash", "bash", DHCP_BENCH_SCRIPT, DHCP_BENCH_CLIENT, argc > 1 ? argv[1] : "20",
	      (char *)NULL);
	perror("dhcp-bench: bash");
	return 1;
}
