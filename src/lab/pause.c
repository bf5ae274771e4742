/*
 * pause: the PID 1 of pausetrace's lab sandboxes, built to behave like Kubernetes' pause
 * (kubernetes build/pause/linux/pause.c), so the lab shows what a real pod sandbox does:
 *   - SIGINT and SIGTERM have handlers that exit(0): a kill from the host is delivered;
 *   - SIGCHLD has a handler that reaps with waitpid(-1, NULL, WNOHANG) in a loop (no status
 *     pointer, exactly like k8s pause), so orphans re-parented to it never stay zombies;
 *   - every other signal keeps SIG_DFL, and the kernel drops a default-action signal sent to a
 *     namespace's PID 1: from inside the namespace all of them (SIGKILL and SIGSTOP too), from
 *     an ancestor namespace (the host) all but SIGKILL and SIGSTOP, which are forced.
 * Unlike k8s pause it refuses to run outside PID 1 (a stray pause on the host would sit
 * forever) unless given --any-pid, and it names itself "pause" whatever the file is called.
 *
 * USAGE: pause [-v] [--any-pid]
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSETRACE_PAUSE_VERSION "pausetrace pause 1 (kubernetes pause.c semantics)"

static void sigdown(int signo) {
  (void)signo;
  exit(0);
}

static void sigreap(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

int main(int argc, char **argv) {
  int any_pid = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcasecmp(argv[i], "-v")) {
      printf("%s\n", PAUSETRACE_PAUSE_VERSION);
      return 0;
    }
    if (!strcmp(argv[i], "--any-pid")) {
      any_pid = 1;
      continue;
    }
    fprintf(stderr, "pause: unknown argument %s (usage: pause [-v] [--any-pid])\n", argv[i]);
    return 64;
  }

  if (getpid() != 1 && !any_pid) {
    fprintf(stderr, "pause: not PID 1 (pid %d); start it as the first process of a new PID namespace, or pass --any-pid\n", (int)getpid());
    return 65;
  }

  /* Tracing keys on comm; the cached binary may have another name. */
  if (prctl(PR_SET_NAME, "pause", 0, 0, 0) < 0)
    return 4;

  if (sigaction(SIGINT, &(struct sigaction){.sa_handler = sigdown}, NULL) < 0)
    return 1;
  if (sigaction(SIGTERM, &(struct sigaction){.sa_handler = sigdown}, NULL) < 0)
    return 2;
  if (sigaction(SIGCHLD, &(struct sigaction){.sa_handler = sigreap, .sa_flags = SA_NOCLDSTOP}, NULL) < 0)
    return 3;

  for (;;)
    pause();
  fprintf(stderr, "pause: infinite loop terminated\n");
  return 42;
}
