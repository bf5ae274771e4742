/*
 * benchwork: the benchmark workloads of pausetrace, each with known counts.
 *
 *   benchwork flood N        kill(self, SIGUSR1) x N, a handler counts the deliveries
 *   benchwork churn N        N x (fork; child _exit(7); parent wait4(pid, &status, 0))
 *   benchwork check N        kill(self, 0) x N (existence checks: one event each, never limited)
 *   benchwork mix C K        churn C with K checks spread evenly between the cycles (the peak-RSS
 *                            run: 4*C + K events at a rate bpftrace 0.17 can print)
 *   benchwork sandbox C F    inside a sandbox (PID 1 of its PID namespace): churn C, flood F
 *   benchwork sandboxes S C F NF NC
 *                            S sandboxes at once, each `unshare --net --ipc --uts --pid --fork
 *                            benchwork sandbox C F`, while the host runs `flood NF` and
 *                            `churn NC` next to them (noise outside any sandbox)
 *
 * Each prints one JSON line (the manifest) on stdout: what it did, its PIDs, and the time
 * (CLOCK_MONOTONIC) and CPU (getrusage) of its measured part. Exit status 0 only when every
 * count came out as planned.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -o benchwork benchwork.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_CODE 7
#define MAX_SANDBOXES 256

static volatile sig_atomic_t g_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	g_usr1 = g_usr1 + 1;
}

static void die(const char *what)
{
	fprintf(stderr, "benchwork: %s: %s\n", what, strerror(errno));
	exit(2);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long tv_us(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

static long parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 100000000L) {
		fprintf(stderr, "benchwork: bad count %s\n", s);
		exit(2);
	}
	return v;
}

/* CPU of this process and of its reaped children, in microseconds. */
struct cpu {
	long long self_us, children_us;
};

static struct cpu cpu_now(void)
{
	struct rusage s, c;
	struct cpu r;

	getrusage(RUSAGE_SELF, &s);
	getrusage(RUSAGE_CHILDREN, &c);
	r.self_us = tv_us(s.ru_utime) + tv_us(s.ru_stime);
	r.children_us = tv_us(c.ru_utime) + tv_us(c.ru_stime);
	return r;
}

static void install_usr1(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		die("sigaction");
}

static long do_flood(long n)
{
	pid_t self = getpid();
	long i;

	install_usr1();
	g_usr1 = 0;
	for (i = 0; i < n; i++)
		if (kill(self, SIGUSR1) != 0)
			die("kill");
	return (long)g_usr1;
}

/* Returns the number of children reaped with the expected status. */
static long do_churn(long n)
{
	long i, ok = 0;

	for (i = 0; i < n; i++) {
		int st;
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(CHILD_CODE);
		while (wait4(c, &st, 0, NULL) < 0)
			if (errno != EINTR)
				die("wait4");
		if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_CODE)
			ok++;
	}
	return ok;
}

static long do_check(long n)
{
	pid_t self = getpid();
	long i;

	for (i = 0; i < n; i++)
		if (kill(self, 0) != 0)
			die("kill(self, 0)");
	return n;
}

/* The PIDs of this process as seen from the host PID namespace down (NSpid: of /proc/self/status). */
static void nspids(long *host, long *inner)
{
	char line[512];
	FILE *f = fopen("/proc/self/status", "r");

	*host = *inner = -1;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "NSpid:", 6) == 0) {
			char *p = line + 6, *end;
			long v;

			for (;;) {
				v = strtol(p, &end, 10);
				if (end == p)
					break;
				if (*host < 0)
					*host = v;
				*inner = v;
				p = end;
			}
		}
	}
	fclose(f);
}

static void print_timing(long long t0, long long t1, struct cpu c0, struct cpu c1)
{
	printf("\"ns\":%lld,\"cpuSelfUs\":%lld,\"cpuChildrenUs\":%lld", t1 - t0, c1.self_us - c0.self_us,
	       c1.children_us - c0.children_us);
}

static int simple(const char *mode, long a, long b)
{
	struct cpu c0 = cpu_now(), c1;
	long long t0 = now_ns(), t1;
	long r1 = 0, r2 = 0;
	int ok;

	if (strcmp(mode, "flood") == 0)
		r1 = do_flood(a);
	else if (strcmp(mode, "churn") == 0)
		r1 = do_churn(a);
	else if (strcmp(mode, "check") == 0)
		r1 = do_check(a);
	else if (strcmp(mode, "mix") == 0) {
		long i;

		for (i = 0; i < a; i++) {
			r1 += do_churn(1);
			/* checks done after cycle i: (i + 1) * b / a */
			r2 += do_check((long)(((long long)(i + 1) * b) / a - ((long long)i * b) / a));
		}
	}
	t1 = now_ns();
	c1 = cpu_now();
	ok = r1 == a && r2 == b;
	printf("{\"mode\":\"%s\",\"pid\":%ld,", mode, (long)getpid());
	if (strcmp(mode, "flood") == 0)
		printf("\"sent\":%ld,\"handled\":%ld,", a, r1);
	else if (strcmp(mode, "churn") == 0)
		printf("\"forks\":%ld,\"reaped\":%ld,\"code\":%d,", a, r1, CHILD_CODE);
	else if (strcmp(mode, "check") == 0)
		printf("\"checks\":%ld,", a);
	else
		printf("\"forks\":%ld,\"reaped\":%ld,\"code\":%d,\"checks\":%ld,", a, r1, CHILD_CODE, r2);
	print_timing(t0, t1, c0, c1);
	printf(",\"ok\":%s}\n", ok ? "true" : "false");
	fflush(stdout);
	return ok ? 0 : 1;
}

/* Inside `unshare --net --ipc --uts --pid --fork`: PID 1 of its own PID namespace. */
static int sandbox(long churn, long flood)
{
	long host, inner, reaped, handled;
	long long t0 = now_ns(), t1;

	nspids(&host, &inner);
	reaped = do_churn(churn);
	handled = do_flood(flood);
	t1 = now_ns();
	printf("{\"mode\":\"sandbox\",\"hostPid\":%ld,\"innerPid\":%ld,\"forks\":%ld,\"reaped\":%ld,\"code\":%d,\"sent\":%ld,\"handled\":%ld,\"ns\":%lld,\"ok\":%s}\n",
	       host, inner, churn, reaped, CHILD_CODE, flood, handled, t1 - t0,
	       reaped == churn && handled == flood ? "true" : "false");
	fflush(stdout);
	return reaped == churn && handled == flood ? 0 : 1;
}

static int sandboxes(long s, long churn, long flood, long nflood, long nchurn)
{
	char self[4096], cbuf[32], fbuf[32];
	pid_t kids[MAX_SANDBOXES + 2];
	int nkids = 0, fds[2], bad = 0, i, first = 1;
	long long t0, t1;
	struct cpu c0, c1;
	ssize_t len;
	FILE *in;
	char line[1024];

	if (s > MAX_SANDBOXES) {
		fprintf(stderr, "benchwork: at most %d sandboxes\n", MAX_SANDBOXES);
		return 2;
	}
	len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len < 0)
		die("readlink /proc/self/exe");
	self[len] = 0;
	snprintf(cbuf, sizeof cbuf, "%ld", churn);
	snprintf(fbuf, sizeof fbuf, "%ld", flood);
	if (pipe(fds) != 0)
		die("pipe");
	fflush(stdout);
	c0 = cpu_now();
	t0 = now_ns();
	for (i = 0; i < s + 2; i++) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			close(fds[0]);
			if (dup2(fds[1], 1) < 0)
				_exit(120);
			close(fds[1]);
			if (i < s) {
				execl("/usr/bin/unshare", "unshare", "--net", "--ipc", "--uts", "--pid", "--fork", self, "sandbox",
				      cbuf, fbuf, (char *)NULL);
				_exit(121);
			}
			/* noise on the host, outside any sandbox */
			_exit(i == s ? simple("flood", nflood, 0) : simple("churn", nchurn, 0));
		}
		kids[nkids++] = c;
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	if (!in)
		die("fdopen");
	printf("{\"mode\":\"sandboxes\",\"pid\":%ld,\"parts\":[", (long)getpid());
	while (fgets(line, sizeof line, in)) {
		line[strcspn(line, "\n")] = 0;
		printf("%s%s", first ? "" : ",", line);
		first = 0;
	}
	fclose(in);
	for (i = 0; i < nkids; i++) {
		int st;

		while (waitpid(kids[i], &st, 0) < 0)
			if (errno != EINTR)
				die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	t1 = now_ns();
	c1 = cpu_now();
	printf("],\"sandboxes\":%ld,\"noisePids\":[%ld,%ld],", s, (long)kids[s], (long)kids[s + 1]);
	print_timing(t0, t1, c0, c1);
	printf(",\"ok\":%s}\n", bad ? "false" : "true");
	fflush(stdout);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[1], "flood") == 0 || strcmp(argv[1], "churn") == 0 || strcmp(argv[1], "check") == 0))
		return simple(argv[1], parse_count(argv[2]), 0);
	if (argc == 4 && strcmp(argv[1], "mix") == 0)
		return simple("mix", parse_count(argv[2]), parse_count(argv[3]));
	if (argc == 4 && strcmp(argv[1], "sandbox") == 0)
		return sandbox(parse_count(argv[2]), parse_count(argv[3]));
	if (argc == 7 && strcmp(argv[1], "sandboxes") == 0)
		return sandboxes(parse_count(argv[2]), parse_count(argv[3]), parse_count(argv[4]), parse_count(argv[5]),
				 parse_count(argv[6]));
	fprintf(stderr, "usage: benchwork flood N | churn N | check N | mix C K | sandbox C F | sandboxes S C F NF NC\n");
	return 2;
}
