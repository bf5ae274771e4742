/*
 * sigwork: a deterministic signal/exit/reap workload for pausetrace's
 * end-to-end test.  Every signal it sends, every child exit and every reap
 * is known exactly; at the end it prints a one-line JSON manifest of the
 * facts (pids, tids, codes) so the test can compare it with the trace.
 *
 * Usage: sigwork [--flood N] [--forks M] [--out FILE]
 *   N: number of kill(self, SIGUSR1) in the flood phase (default 5000)
 *   M: number of exit-code children, 1..250 (default 200)
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -pthread -o sigwork sigwork.c
 * Needs root (CAP_SYS_ADMIN) for unshare(CLONE_NEWPID) in phase 10.
 *
 * Synchronisation is done with pipes only.  The single sleep (50 ms in
 * phase 10) just gives a dropped SIGTERM time to have killed init if it
 * wrongly were delivered; it does not change any count.
 *
 * See README.md next to this file for the list of phases.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define MAX_FORKS 250
#define ESRCH_PID 0x3fffffff /* > PID_MAX_LIMIT (4194304): cannot exist */
#define RT_VALUE 42
#define GRANDCHILD_CODE 7

/* ---- signal handler state ---------------------------------------------- */

static volatile sig_atomic_t g_usr1_count;   /* SIGUSR1: the flood      */
static volatile sig_atomic_t g_usr2_flag;    /* SIGUSR2: tgkill target */
static volatile sig_atomic_t g_usr2_tid;     /* tid that ran the handler */
static volatile sig_atomic_t g_rt_count;     /* SIGRTMIN+3 deliveries */
static volatile sig_atomic_t g_rt_value;     /* si_value.sival_int */
static volatile sig_atomic_t g_rt_code;      /* si_code */

static void on_usr1(int sig)
{
	(void)sig;
	g_usr1_count = g_usr1_count + 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	g_usr2_tid = (sig_atomic_t)syscall(SYS_gettid);
	g_usr2_flag = 1;
}

static void on_rt(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)uctx;
	g_rt_value = si->si_value.sival_int;
	g_rt_code = si->si_code;
	g_rt_count = g_rt_count + 1;
}

/* ---- failure handling ---------------------------------------------------- */

/* A child that would otherwise loop in pause() forever; killed on failure. */
static pid_t g_live_child = -1;

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "sigwork: FAIL: %s\n", buf);
	if (g_live_child > 0) {
		/* Failure path only: do not leave a paused child behind. */
		kill(g_live_child, SIGKILL);
		waitpid(g_live_child, NULL, 0);
	}
	exit(1);
}

#define FAIL_ERRNO(what) fail("%s: %s", (what), strerror(errno))

/* ---- small helpers --------------------------------------------------------- */

static void install(int sig, void (*h)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART needed: pause/sigsuspend loops */
	if (sigaction(sig, &sa, NULL) != 0)
		FAIL_ERRNO("sigaction");
}

static void write_full(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t r = write(fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			_exit(120); /* only used in children */
		}
		c += r;
		n -= (size_t)r;
	}
}

/* Returns 1 on success, 0 on EOF before n bytes. */
static int read_full(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = read(fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			FAIL_ERRNO("read(pipe)");
		}
		if (r == 0)
			return 0;
		c += r;
		n -= (size_t)r;
	}
	return 1;
}

static void make_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		FAIL_ERRNO("pipe");
}

/* In a child that must not outlive the parent (e.g. if the test kills us). */
static void die_with_parent(pid_t expected_ppid)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		_exit(121);
	if (expected_ppid > 0 && getppid() != expected_ppid)
		_exit(122); /* parent already gone */
}

static _Noreturn void pause_forever(void)
{
	for (;;)
		pause();
}

/*
 * Fork a child that reports ready through a pipe and then loops in pause().
 * Returns when the child is running its own code.
 */
static pid_t fork_paused_child(const char *phase)
{
	int p[2];
	pid_t parent = getpid();
	pid_t c;
	char b;

	make_pipe(p);
	c = fork();
	if (c < 0)
		fail("%s: fork: %s", phase, strerror(errno));
	if (c == 0) {
		close(p[0]);
		die_with_parent(parent);
		b = 'r';
		write_full(p[1], &b, 1);
		close(p[1]);
		pause_forever();
	}
	g_live_child = c;
	close(p[1]);
	if (!read_full(p[0], &b, 1))
		fail("%s: child %d died before ready", phase, (int)c);
	close(p[0]);
	return c;
}

static long parse_num(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "sigwork: %s must be an integer in %ld..%ld (got '%s')\n",
			opt, lo, hi, s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: sigwork [--flood N] [--forks M(1..%d)] [--out FILE]\n",
		MAX_FORKS);
	exit(2);
}

/*
 * Before kill(0, ...): make sure nobody else shares our process group
 * (e.g. when started as the leader of a shell pipeline "sigwork | jq").
 */
static void check_group_exclusive(pid_t self, pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (d == NULL)
		FAIL_ERRNO("group: opendir(/proc)");
	while ((de = readdir(d)) != NULL) {
		char path[64], buf[512], *rp;
		long pid, pg;
		FILE *f;
		size_t n;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid == (long)self)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (f == NULL)
			continue; /* raced with exit */
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		rp = strrchr(buf, ')');
		/* ") S ppid pgrp ..." */
		if (rp == NULL || sscanf(rp + 1, " %*c %*d %ld", &pg) != 1)
			continue;
		if (pg == (long)pgid) {
			closedir(d);
			fail("group: process %ld shares our process group %d; "
			     "kill(0, SIGURG) would reach it", pid, (int)pgid);
		}
	}
	closedir(d);
}

/* ---- phase 2: tgkill target thread ------------------------------------------- */

static int g_tid_pipe[2];

static void *usr2_thread(void *arg)
{
	sigset_t wait_mask;
	int tid = (int)syscall(SYS_gettid);

	(void)arg;
	/* SIGUSR2 is still blocked here (inherited); sigsuspend atomically
	 * unblocks it, so a signal sent before we get there is not lost. */
	pthread_sigmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR2);
	write_full(g_tid_pipe[1], &tid, sizeof tid);
	while (!g_usr2_flag)
		sigsuspend(&wait_mask);
	return NULL;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	long flood = 5000, nforks = 200;
	const char *out_path = NULL;
	pid_t self, pgid;
	sigset_t set, oldset;
	struct sigaction sa;
	int st, r, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--flood") == 0 && i + 1 < argc)
			flood = parse_num("--flood", argv[++i], 0, 100000000L);
		else if (strcmp(argv[i], "--forks") == 0 && i + 1 < argc)
			nforks = parse_num("--forks", argv[++i], 1, MAX_FORKS);
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out_path = argv[++i];
		else
			usage();
	}

	/* Open --out first so a bad path fails before any signal is sent. */
	FILE *out = stdout;
	if (out_path != NULL) {
		out = fopen(out_path, "w");
		if (out == NULL)
			fail("--out %s: %s", out_path, strerror(errno));
	}

	/* Sanitise inherited state: empty mask, default SIGCHLD/SIGTERM
	 * (an inherited SIG_IGN would auto-reap children / ignore SIGTERM).
	 * This is not a handler; the SIGCHLDs we receive are ignored by the
	 * default action. */
	sigemptyset(&set);
	if (sigprocmask(SIG_SETMASK, &set, NULL) != 0)
		FAIL_ERRNO("sigprocmask");
	install(SIGCHLD, SIG_DFL);
	install(SIGTERM, SIG_DFL);
	install(SIGURG, SIG_DFL);

	/* ---- phase 0: own process group -------------------------------------- */
	self = getpid();
	if (setpgid(0, 0) != 0 && getpgrp() != self)
		FAIL_ERRNO("setpgid(0,0)");
	pgid = getpgrp();
	if (pgid != self)
		fail("setpgid: pgrp %d != pid %d", (int)pgid, (int)self);

	/* ---- phase 1: flood --------------------------------------------------- */
	install(SIGUSR1, on_usr1);
	for (long k = 0; k < flood; k++) {
		if (kill(self, SIGUSR1) != 0)
			FAIL_ERRNO("flood: kill(self, SIGUSR1)");
	}
	long flood_handled = g_usr1_count;
	if (flood_handled != flood)
		fail("flood: handler ran %ld times, expected %ld", flood_handled, flood);

	/* ---- phase 2: tgkill -------------------------------------------------- */
	install(SIGUSR2, on_usr2);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (pthread_sigmask(SIG_BLOCK, &set, &oldset) != 0)
		fail("tgkill: pthread_sigmask failed");
	make_pipe(g_tid_pipe);
	pthread_t th;
	if ((r = pthread_create(&th, NULL, usr2_thread, NULL)) != 0)
		fail("tgkill: pthread_create: %s", strerror(r));
	int tid;
	if (!read_full(g_tid_pipe[0], &tid, sizeof tid))
		fail("tgkill: no tid from thread");
	if (syscall(SYS_tgkill, self, tid, SIGUSR2) != 0)
		FAIL_ERRNO("tgkill");
	if ((r = pthread_join(th, NULL)) != 0)
		fail("tgkill: pthread_join: %s", strerror(r));
	close(g_tid_pipe[0]);
	close(g_tid_pipe[1]);
	if (!g_usr2_flag || g_usr2_tid != tid)
		fail("tgkill: SIGUSR2 handled by tid %d, expected %d",
		     (int)g_usr2_tid, tid);
	if (pthread_sigmask(SIG_SETMASK, &oldset, NULL) != 0)
		fail("tgkill: pthread_sigmask restore failed");

	/* ---- phase 3: sigqueue ------------------------------------------------ */
	int rtsig = SIGRTMIN + 3;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(rtsig, &sa, NULL) != 0)
		FAIL_ERRNO("sigqueue: sigaction");
	if (sigqueue(self, rtsig, (union sigval){ .sival_int = RT_VALUE }) != 0)
		FAIL_ERRNO("sigqueue");
	if (g_rt_count != 1 || g_rt_value != RT_VALUE || g_rt_code != SI_QUEUE)
		fail("sigqueue: count=%d value=%d code=%d, expected 1/%d/SI_QUEUE",
		     (int)g_rt_count, (int)g_rt_value, (int)g_rt_code, RT_VALUE);

	/* ---- phase 4: checks -------------------------------------------------- */
	if (kill(self, 0) != 0)
		FAIL_ERRNO("checks: kill(self, 0)");
	errno = 0;
	r = kill(ESRCH_PID, SIGTERM);
	int esrch_errno = errno;
	if (r != -1 || esrch_errno != ESRCH)
		fail("checks: kill(%d, SIGTERM) = %d errno %d, expected -1/ESRCH",
		     ESRCH_PID, r, esrch_errno);

	/* ---- phase 5: group --------------------------------------------------- */
	check_group_exclusive(self, pgid);
	/* SIGURG's default action is to ignore it: the kernel reports "ignored" */
	if (kill(0, SIGURG) != 0)
		FAIL_ERRNO("group: kill(0, SIGURG)");

	/* ---- phase 6: forks --------------------------------------------------- */
	pid_t kids[MAX_FORKS];
	int reaped[MAX_FORKS] = { 0 };
	for (i = 0; i < nforks; i++) {
		pid_t c = fork();
		if (c < 0)
			fail("forks: fork #%d: %s", i + 1, strerror(errno));
		if (c == 0)
			_exit(i + 1);
		kids[i] = c;
	}
	for (int n = 0; n < nforks; n++) {
		pid_t w = wait4(-1, &st, 0, NULL);
		if (w < 0)
			FAIL_ERRNO("forks: wait4(-1)");
		for (i = 0; i < nforks && kids[i] != w; i++)
			;
		if (i == nforks)
			fail("forks: wait4 returned unknown pid %d", (int)w);
		if (reaped[i])
			fail("forks: pid %d reaped twice", (int)w);
		reaped[i] = 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != i + 1)
			fail("forks: pid %d status 0x%x, expected exit %d", (int)w, st, i + 1);
	}

	/* ---- phase 7: sigkill ------------------------------------------------- */
	pid_t kchild = fork_paused_child("sigkill");
	if (kill(kchild, SIGKILL) != 0)
		FAIL_ERRNO("sigkill: kill");
	if (wait4(kchild, &st, 0, NULL) != kchild)
		FAIL_ERRNO("sigkill: wait4");
	g_live_child = -1;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail("sigkill: status 0x%x, expected killed by 9", st);

	/* ---- phase 8: pidfd --------------------------------------------------- */
	pid_t pchild = fork_paused_child("pidfd");
	int pidfd = (int)syscall(SYS_pidfd_open, pchild, 0);
	if (pidfd < 0)
		FAIL_ERRNO("pidfd: pidfd_open");
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) != 0)
		FAIL_ERRNO("pidfd: pidfd_send_signal");
	siginfo_t info;
	memset(&info, 0, sizeof info);
	if (waitid(P_PID, (id_t)pchild, &info, WEXITED) != 0)
		FAIL_ERRNO("pidfd: waitid");
	g_live_child = -1;
	close(pidfd);
	if (info.si_pid != pchild || info.si_code != CLD_KILLED || info.si_status != SIGTERM)
		fail("pidfd: waitid pid=%d code=%d status=%d, expected CLD_KILLED/SIGTERM",
		     (int)info.si_pid, info.si_code, info.si_status);

	/* ---- phase 9: stop/continue ------------------------------------------- */
	pid_t schild = fork_paused_child("stopcont");
	if (kill(schild, SIGSTOP) != 0)
		FAIL_ERRNO("stopcont: kill SIGSTOP");
	if (wait4(schild, &st, WUNTRACED, NULL) != schild)
		FAIL_ERRNO("stopcont: wait4 WUNTRACED");
	if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
		fail("stopcont: status 0x%x, expected stopped by SIGSTOP", st);
	if (kill(schild, SIGCONT) != 0)
		FAIL_ERRNO("stopcont: kill SIGCONT");
	if (wait4(schild, &st, WCONTINUED, NULL) != schild)
		FAIL_ERRNO("stopcont: wait4 WCONTINUED");
	if (!WIFCONTINUED(st))
		fail("stopcont: status 0x%x, expected continued", st);
	if (kill(schild, SIGKILL) != 0)
		FAIL_ERRNO("stopcont: kill SIGKILL");
	if (wait4(schild, &st, 0, NULL) != schild)
		FAIL_ERRNO("stopcont: wait4");
	g_live_child = -1;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail("stopcont: status 0x%x, expected killed by 9", st);

	/* ---- phase 10: pid namespace init ------------------------------------- */
	if (unshare(CLONE_NEWPID) != 0)
		FAIL_ERRNO("nsinit: unshare(CLONE_NEWPID) (needs root)");
	int np[2];
	make_pipe(np);
	pid_t init = fork();
	if (init < 0)
		FAIL_ERRNO("nsinit: fork");
	if (init == 0) {
		/* PID 1 of the new namespace.  No SIGTERM handler. */
		int bad = -1;

		close(np[0]);
		die_with_parent(0); /* getppid() is 0 from inside the ns */
		if (getpid() != 1) {
			write_full(np[1], &bad, sizeof bad);
			_exit(1);
		}
		pid_t gc = fork();
		if (gc < 0) {
			write_full(np[1], &bad, sizeof bad);
			_exit(1);
		}
		if (gc == 0) {
			/* /proc is the host's procfs: /proc/self is the host pid. */
			char buf[32];
			ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
			int host = -1;
			if (n > 0) {
				buf[n] = '\0';
				host = atoi(buf);
			}
			write_full(np[1], &host, sizeof host);
			_exit(GRANDCHILD_CODE);
		}
		/* Reap like Kubernetes' pause: NULL status pointer. */
		int inner = (int)wait4(-1, NULL, 0, NULL);
		write_full(np[1], &inner, sizeof inner); /* also "ready" */
		close(np[1]);
		pause_forever();
	}
	g_live_child = init;
	close(np[1]);
	int gc_host = -1, gc_inner = -1;
	if (!read_full(np[0], &gc_host, sizeof gc_host) || gc_host <= 0)
		fail("nsinit: init not pid 1 or grandchild host pid unknown (%d)", gc_host);
	if (!read_full(np[0], &gc_inner, sizeof gc_inner))
		fail("nsinit: no inner pid from init");
	close(np[0]);
	if (gc_inner != 2)
		fail("nsinit: init's wait4 returned %d, expected 2", gc_inner);
	if (gc_host == init || gc_host == self)
		fail("nsinit: implausible grandchild host pid %d", gc_host);
	if (kill(init, SIGTERM) != 0)
		FAIL_ERRNO("nsinit: kill SIGTERM");
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	r = waitpid(init, &st, WNOHANG);
	if (r != 0)
		fail("nsinit: init did not survive SIGTERM (waitpid=%d status 0x%x)", r, st);
	if (kill(init, SIGKILL) != 0)
		FAIL_ERRNO("nsinit: kill SIGKILL");
	if (wait4(init, &st, 0, NULL) != init)
		FAIL_ERRNO("nsinit: wait4");
	g_live_child = -1;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail("nsinit: status 0x%x, expected killed by 9", st);

	/* ---- manifest ---------------------------------------------------------- */
	fprintf(out, "{\"pid\":%d,\"pgid\":%d,\"flood\":%ld,\"floodHandled\":%ld,"
		"\"thread\":{\"tid\":%d},\"rt\":{\"sig\":%d,\"value\":%d},"
		"\"esrch\":{\"pid\":%d,\"errno\":%d},\"forks\":[",
		(int)self, (int)pgid, flood, flood_handled, tid, rtsig, (int)g_rt_value,
		ESRCH_PID, esrch_errno);
	for (i = 0; i < nforks; i++)
		fprintf(out, "%s{\"pid\":%d,\"code\":%d}", i ? "," : "", (int)kids[i], i + 1);
	fprintf(out, "],\"sigkill\":{\"pid\":%d},\"pidfd\":{\"pid\":%d,\"fd\":%d},"
		"\"stopcont\":{\"pid\":%d},\"nsinit\":{\"pid\":%d,\"grandchild\":"
		"{\"hostPid\":%d,\"innerPid\":%d,\"code\":%d}}}\n",
		(int)kchild, (int)pchild, pidfd, (int)schild, (int)init, gc_host,
		gc_inner, GRANDCHILD_CODE);
	if (fflush(out) != 0 || ferror(out))
		fail("writing manifest: %s", strerror(errno));
	if (out != stdout && fclose(out) != 0)
		fail("closing %s: %s", out_path, strerror(errno));
	return 0;
}
