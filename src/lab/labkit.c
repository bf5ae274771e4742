/*
 * labkit: workloads for pausetrace's lab exercises that no shell can play. Built static
 * (src/lab/build-labkit.ts), so it also runs in a container made from a bare busybox directory.
 *
 *   labkit supervise
 *     Names itself "supervisor", forks "worker" (which sleeps in pause()), and waits for it with
 *     wait4(worker, &status, WUNTRACED | WCONTINUED, NULL): like a job-control shell, it is told
 *     of every stop and continue, which pause (SA_NOCLDSTOP, no WUNTRACED) and the runtimes'
 *     reapers never are. Prints one line per status ("stopped 19", "continued", "exited 0",
 *     "killed 15"), and exits 0 once the worker is gone. SIGCHLD keeps its default action.
 *
 * USAGE: labkit supervise | labkit -v
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LABKIT_VERSION "pausetrace labkit 1"

static int supervise(void) {
  if (prctl(PR_SET_NAME, "supervisor", 0, 0, 0) < 0)
    return 70;
  /* The worker must not outlive the supervisor (the lab kills the supervisor last). */
  pid_t worker = fork();
  if (worker < 0) {
    perror("labkit: fork");
    return 71;
  }
  if (worker == 0) {
    prctl(PR_SET_NAME, "worker", 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    for (;;)
      pause();
  }
  printf("worker %d\n", (int)worker);
  fflush(stdout);
  for (;;) {
    int status = 0;
    pid_t r = wait4(worker, &status, WUNTRACED | WCONTINUED, NULL);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      perror("labkit: wait4");
      return 72;
    }
    if (WIFSTOPPED(status))
      printf("stopped %d\n", WSTOPSIG(status));
    else if (WIFCONTINUED(status))
      printf("continued\n");
    else if (WIFEXITED(status)) {
      printf("exited %d\n", WEXITSTATUS(status));
      fflush(stdout);
      return 0;
    } else if (WIFSIGNALED(status)) {
      printf("killed %d\n", WTERMSIG(status));
      fflush(stdout);
      return 0;
    }
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "-v")) {
    printf("%s\n", LABKIT_VERSION);
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "supervise"))
    return supervise();
  fprintf(stderr, "usage: labkit supervise | labkit -v\n");
  return 64;
}
