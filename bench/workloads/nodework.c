/*
 * nodework: a workload that looks like a Kubernetes node, not a stress test (issue 17, goal 5),
 * driven by this one process (no shell, no nsenter per check, so the driver's own cost stays small):
 *
 *   - N sandboxes, each made as `unshare --net --ipc --uts --pid --fork` makes one: a holder
 *     process unshares and forks the sandbox's PID 1 (PAUSE, or for sandbox 1 `sleep`: a PID 1
 *     without a SIGTERM handler), and waits for it;
 *   - a health-check style exec once per second per sandbox (spread over the second): a child
 *     setns()es into the sandbox's net, ipc, uts and PID namespaces, forks, and the grandchild
 *     execs /bin/true inside; the child reaps it and exits 0 (what nsenter or `runc exec` do);
 *   - one crash-looping "container" in sandbox 0: every 2 s a child enters the sandbox's net, ipc
 *     and uts namespaces, unshares a PID namespace of its own (a pod without a shared PID
 *     namespace) and its PID 1 runs `sh -c 'exit 3'`;
 *   - every 10 s a SIGTERM to sandbox 1's PID 1 (sleep: dropped by the kernel, it has no handler)
 *     and a SIGHUP to sandbox 2's PID 1 (pause: dropped too, SIG_DFL).
 *
 * USAGE: nodework PAUSE N SECONDS      SECONDS 0 = until SIGTERM/SIGINT
 * stdout: one JSON line {"ready":...} once every sandbox runs, then one at the end with counts and
 * the driver's rusage (self, and its reaped descendants: every sandbox and every check).
 * Every process it makes dies with it (PR_SET_PDEATHSIG, chained), so nothing outlives a SIGKILL.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -o nodework nodework.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXSB 256

static volatile sig_atomic_t g_stop;
static pid_t holder[MAXSB], pid1[MAXSB];
static int nsfd[MAXSB][4]; /* net ipc uts pid */
static const char *nsname[4] = {"net", "ipc", "uts", "pid"};
static long n_checks, n_check_fail, n_crashes, n_signals, n_other_exit;

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

static long long ts_ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int wait_child(pid_t p)
{
	int st = 0;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void make_sandbox(int i, const char *pause)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
	pid_t a = fork();
	if (a < 0) {
		perror("fork");
		exit(1);
	}
	if (a == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID) < 0)
			_exit(120);
		pid_t b = fork();
		if (b < 0)
			_exit(121);
		if (b == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			if (i == 1)
				execl("/bin/sleep", "sleep", "1000000", (char *)NULL);
			else
				execl(pause, "pause", (char *)NULL);
			_exit(127);
		}
		if (write(p[1], &b, sizeof b) != sizeof b)
			_exit(122);
		_exit(wait_child(b));
	}
	close(p[1]);
	pid_t b = -1;
	if (read(p[0], &b, sizeof b) != sizeof b) {
		fprintf(stderr, "nodework: sandbox %d did not start\n", i);
		exit(1);
	}
	close(p[0]);
	holder[i] = a;
	pid1[i] = b;
}

static void open_ns(int i)
{
	char path[64];
	for (int k = 0; k < 4; k++) {
		snprintf(path, sizeof path, "/proc/%d/ns/%s", pid1[i], nsname[k]);
		nsfd[i][k] = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd[i][k] < 0) {
			perror(path);
			exit(1);
		}
	}
}

/* fork a child that enters sandbox i (its PID namespace, or a new one: own_pidns) and runs argv there */
static pid_t exec_in(int i, char *const argv[], int own_pidns)
{
	pid_t a = fork();
	if (a != 0)
		return a;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	for (int k = 0; k < 3; k++)
		if (setns(nsfd[i][k], 0) < 0)
			_exit(123);
	if (own_pidns ? unshare(CLONE_NEWPID) : setns(nsfd[i][3], CLONE_NEWPID))
		_exit(124);
	pid_t b = fork();
	if (b < 0)
		_exit(125);
	if (b == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int code = wait_child(b);
	_exit(own_pidns ? code : (code == 0 ? 0 : 126));
}

static pid_t crash_pid = -1;

static void reap(int block)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, block ? 0 : WNOHANG)) > 0) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (p == crash_pid) {
			crash_pid = -1;
			continue;
		}
		int is_holder = 0;
		for (int i = 0; i < MAXSB; i++)
			if (holder[i] == p) {
				is_holder = 1;
				holder[i] = 0;
			}
		if (is_holder) {
			if (!g_stop)
				n_other_exit++;
			continue;
		}
		if (code != 0)
			n_check_fail++;
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: nodework PAUSE N SECONDS\n");
		return 2;
	}
	const char *pause = argv[1];
	int n = atoi(argv[2]);
	double seconds = atof(argv[3]);
	if (n < 3 || n > MAXSB) {
		fprintf(stderr, "nodework: N must be 3..%d\n", MAXSB);
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	for (int i = 0; i < n; i++)
		make_sandbox(i, pause);
	/* the PID 1s have exec'd once /proc/PID/comm says so */
	for (int i = 0; i < n; i++) {
		char path[64], comm[32];
		snprintf(path, sizeof path, "/proc/%d/comm", pid1[i]);
		for (int tries = 0; tries < 2000; tries++) {
			FILE *f = fopen(path, "r");
			comm[0] = 0;
			if (f) {
				if (!fgets(comm, sizeof comm, f))
					comm[0] = 0;
				fclose(f);
			}
			if (!strncmp(comm, i == 1 ? "sleep" : "pause", 5))
				break;
			usleep(1000);
		}
		open_ns(i);
	}
	printf("{\"ready\":true,\"driver\":%d,\"pid1\":[", getpid());
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", pid1[i]);
	printf("],\"holders\":[");
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", holder[i]);
	printf("]}\n");
	fflush(stdout);

	char *check[] = {"/bin/true", NULL};
	char *crash[] = {"/bin/sh", "-c", "exit 3", NULL};
	struct timespec t0, next;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	next = t0;
	long long slot_ns = 1000000000LL / n;
	long long end_ns = seconds > 0 ? ts_ns(&t0) + (long long)(seconds * 1e9) : -1;
	for (long slot = 0; !g_stop; slot++) {
		long long at = ts_ns(&t0) + slot * slot_ns;
		if (end_ns > 0 && at >= end_ns)
			break;
		next.tv_sec = at / 1000000000LL;
		next.tv_nsec = at % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR && !g_stop)
			;
		if (g_stop)
			break;
		int i = slot % n;
		long sec = slot / n;
		reap(0);
		if (exec_in(i, check, 0) > 0)
			n_checks++;
		if (i == 0 && sec % 2 == 0 && crash_pid < 0) {
			crash_pid = exec_in(0, crash, 1);
			if (crash_pid > 0)
				n_crashes++;
		}
		if (i == 0 && sec % 10 == 5) {
			if (kill(pid1[1], SIGTERM) == 0)
				n_signals++;
			if (kill(pid1[2], SIGHUP) == 0)
				n_signals++;
		}
	}
	g_stop = 1;
	for (int i = 0; i < n; i++)
		kill(pid1[i], SIGKILL);
	reap(1);
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("{\"done\":true,\"ms\":%.0f,\"checks\":%ld,\"checkFailed\":%ld,\"crashes\":%ld,\"signals\":%ld,\"sandboxDied\":%ld,"
	       "\"selfUs\":%lld,\"childrenUs\":%lld,\"childrenMaxRssKb\":%ld}\n",
	       (ts_ns(&t1) - ts_ns(&t0)) / 1e6, n_checks, n_check_fail, n_crashes, n_signals, n_other_exit,
	       (long long)self.ru_utime.tv_sec * 1000000LL + self.ru_utime.tv_usec + (long long)self.ru_stime.tv_sec * 1000000LL + self.ru_stime.tv_usec,
	       (long long)kids.ru_utime.tv_sec * 1000000LL + kids.ru_utime.tv_usec + (long long)kids.ru_stime.tv_sec * 1000000LL + kids.ru_stime.tv_usec,
	       kids.ru_maxrss);
	fflush(stdout);
	return 0;
}
