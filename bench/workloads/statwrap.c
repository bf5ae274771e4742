/*
 * statwrap: runs a command as its child and, when the child is gone, appends one JSON line with
 * the child's resource usage from wait4() (user and system CPU in microseconds, peak RSS in KiB;
 * this includes the child's own reaped children) to a file. Signals INT, TERM, HUP, QUIT, USR1
 * and USR2 are passed on to the child; the wrapper exits as the child did.
 *
 *   statwrap OUT CMD [ARGS...]        OUT "-" means: do not write
 *
 * Installed as (or linked to) a file named `bpftrace`, it wraps the real bpftrace: OUT comes from
 * $BENCH_STAT_OUT and the command from $BENCH_REAL_BPFTRACE (default /usr/bin/bpftrace), so
 * `pausetrace record --bpftrace .../bpftrace` reports what its bpftrace cost.
 *
 * Experiments: when the command run is a bpftrace and $BENCH_BPFTRACE_NICE is set, the child gets
 * that nice value (e.g. -10) before it starts.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -o statwrap statwrap.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t g_child = -1;

static void forward(int sig)
{
	if (g_child > 0)
		kill(g_child, sig);
}

static long long tv_us(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

int main(int argc, char **argv)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	const char *out, *cmd;
	char **args;
	char name[4096];
	struct sigaction sa;
	struct rusage ru;
	int st;
	unsigned k;
	pid_t c;

	snprintf(name, sizeof name, "%s", argv[0]);
	if (strcmp(basename(name), "bpftrace") == 0) {
		out = getenv("BENCH_STAT_OUT");
		if (!out || !*out)
			out = "-";
		cmd = getenv("BENCH_REAL_BPFTRACE");
		if (!cmd || !*cmd)
			cmd = "/usr/bin/bpftrace";
		args = argv; /* argv[0] is replaced below */
		args[0] = (char *)cmd;
	} else {
		if (argc < 3) {
			fprintf(stderr, "usage: statwrap OUT CMD [ARGS...]\n");
			return 2;
		}
		out = argv[1];
		cmd = argv[2];
		args = argv + 2;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
		sigaction(sigs[k], &sa, NULL);

	c = fork();
	if (c < 0) {
		perror("statwrap: fork");
		return 127;
	}
	if (c == 0) {
		sa.sa_handler = SIG_DFL;
		for (k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
			sigaction(sigs[k], &sa, NULL);
		{
			char base[4096];
			const char *nice_v = getenv("BENCH_BPFTRACE_NICE");

			snprintf(base, sizeof base, "%s", cmd);
			if (nice_v && *nice_v && strcmp(basename(base), "bpftrace") == 0 &&
			    setpriority(PRIO_PROCESS, 0, atoi(nice_v)) != 0)
				perror("statwrap: setpriority");
		}
		execvp(cmd, args);
		fprintf(stderr, "statwrap: cannot run %s: %s\n", cmd, strerror(errno));
		_exit(127);
	}
	g_child = c;
	while (wait4(c, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("statwrap: wait4");
			return 127;
		}
	}
	if (strcmp(out, "-") != 0) {
		char line[512];
		int n, fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		n = snprintf(line, sizeof line,
			     "{\"wrapper\":%ld,\"pid\":%ld,\"argc\":%d,\"userUs\":%lld,\"sysUs\":%lld,\"maxRssKb\":%ld,\"code\":%d,\"signal\":%d}\n",
			     (long)getpid(), (long)c, argc, tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss,
			     WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		if (fd >= 0) {
			if (write(fd, line, (size_t)n) != n)
				perror("statwrap: write");
			close(fd);
		}
	}
	if (WIFSIGNALED(st)) {
		sa.sa_handler = SIG_DFL;
		sigaction(WTERMSIG(st), &sa, NULL);
		raise(WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st);
}
