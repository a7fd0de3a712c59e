/* runrss.c - run a command and report its exit status, peak RSS and time (for tests/hostile.sh).
 *
 * Usage: runrss OUT ERR TIMEOUT CMD [ARG...]
 * Runs CMD with stdout to OUT, stderr to ERR and stdin from /dev/null, kills it after TIMEOUT
 * seconds, and prints "rc=N rss_kib=N seconds=N.NN" (rc=timeout when it was killed, rc=sigN
 * when a signal ended it). The peak RSS is wait4()'s ru_maxrss of the child, in KiB. It is a
 * small C program rather than a script because a child forked from a big interpreter starts
 * with the interpreter's RSS, and ru_maxrss would count that.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    kill(child, SIGKILL);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: runrss OUT ERR TIMEOUT CMD [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0) {
            perror("runrss: open");
            _exit(127);
        }
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execvp(argv[4], argv + 4);
        perror(argv[4]);
        _exit(127);
    }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)atoi(argv[3]));
    int st;
    struct rusage ru;
    while (wait4(child, &st, 0, &ru) < 0)
        ;
    alarm(0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (timed_out)
        printf("rc=timeout");
    else if (WIFSIGNALED(st))
        printf("rc=sig%d", WTERMSIG(st));
    else
        printf("rc=%d", WEXITSTATUS(st));
    printf(" rss_kib=%ld seconds=%.2f\n", ru.ru_maxrss, secs);
    return 0;
}
