/* dm-fake-uevent — send a well-formed uevent to the kernel's uevent group
 * from a user socket (as root may: NETLINK_KOBJECT_UEVENT lets root send
 * to its multicast group). Its sender port id is this socket's, not 0:
 * DeviceMapper must drop it. Also sends the same text with udevd's
 * "libudev" magic in front.
 *   dm-fake-uevent DEVPATH SUBSYSTEM */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dm-fake-uevent DEVPATH SUBSYSTEM\n");
		return 2;
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	struct sockaddr_nl self = {.nl_family = AF_NETLINK};
	if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof(self)) < 0) {
		perror("dm-fake-uevent: socket");
		return 1;
	}
	char msg[1024];
	int n = snprintf(msg, sizeof(msg), "add@%s%cACTION=add%cDEVPATH=%s%cSUBSYSTEM=%s%cSEQNUM=999999%c",
			 argv[1], 0, 0, argv[1], 0, argv[2], 0, 0);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return 2;
	struct sockaddr_nl group = {.nl_family = AF_NETLINK, .nl_groups = 1};
	if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&group, sizeof(group)) < 0) {
		fprintf(stderr, "dm-fake-uevent: send to group 1: %s\n", strerror(errno));
		return errno == EPERM ? 77 : 1;
	}
	char udev[1100] = "libudev";
	memcpy(udev + 8, msg, (size_t)n);
	if (sendto(fd, udev, (size_t)n + 8, 0, (struct sockaddr *)&group, sizeof(group)) < 0)
		return 1;
	close(fd);
	return 0;
}
