/*
 * splice-floor: the least a program can do to move a file into a pipe,
 * the floor vb-cat into a pipe is measured against (vb-bench, case cat).
 *
 *   splice-floor [PIPE_SIZE] FILE > PIPE
 *
 * splice(2) from FILE to standard output, 1 MiB a call, until the end;
 * with PIPE_SIZE, the pipe is first asked to hold that many bytes
 * (F_SETPIPE_SZ), as vb-cat asks for 1 MiB.  Exit 1 with a message on
 * any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *file = argv[argc - 1];
	int in;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: splice-floor [PIPE_SIZE] FILE > PIPE\n");
		return 2;
	}
	if (argc == 3 && fcntl(1, F_SETPIPE_SZ, atoi(argv[1])) < 0) {
		fprintf(stderr, "splice-floor: F_SETPIPE_SZ: %s\n", strerror(errno));
		return 1;
	}
	if ((in = open(file, O_RDONLY)) < 0) {
		fprintf(stderr, "splice-floor: %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (;;) {
		ssize_t r = splice(in, NULL, 1, NULL, 1 << 20, SPLICE_F_MORE);
		if (r == 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "splice-floor: splice: %s\n", strerror(errno));
			return 1;
		}
	}
}
