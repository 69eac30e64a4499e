/*
 * faultline-launch: the first step of every bwrap sandbox party, run as root by
 * the harness. In one process, before anything of the party runs, it
 *
 *   --cgroup FILE   joins a cgroup (writes its own pid into FILE; repeatable),
 *   --cpu S H       sets RLIMIT_CPU (soft S -> SIGXCPU, hard H -> SIGKILL),
 *   --nofile N      sets RLIMIT_NOFILE, soft and hard, to N,
 *   --netns FD      joins the network namespace open at FD (two-party runs),
 *   --user ID       sets RLIMIT_CORE to 0, clears supplementary groups and
 *                   becomes uid ID and gid ID for real, effective and saved,
 *
 * in the order given (--user last), then execs the rest of its arguments (bwrap). Every later
 * process of the party forks from this one, so none escapes the cgroups.
 *
 * It replaces `sh -c 'echo $$ > ...; ulimit ...' && nsenter && setpriv`, which
 * cost two or three extra execs per party (about 2 ms of a 14 ms run).
 * Failures print one line and exit 125, before the command ever runs.
 *
 * `faultline-launch --exec-from FD` is the other half, for pre-started (warm)
 * sandboxes: bound read-only into the sandbox as the party's command, it waits
 * for the harness to write the real run to FD and execs it, so namespaces and
 * mounts are ready before a run is asked for. The request is NUL-terminated
 * fields: cpu soft limit, cpu hard limit, argc, argv..., then environment
 * entries up to EOF. An empty or malformed request (the harness went away)
 * exits 125 without running anything.
 *
 * Built by `python -m sandbox prepare-runtime` into <runtime>/bin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define FAILED 125

static void die(const char *what, const char *arg) {
  fprintf(stderr, "faultline-launch: %s %s: %s\n", what, arg, strerror(errno));
  _exit(FAILED);
}

static unsigned long number(const char *text) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno || *text == '\0' || *end != '\0') {
    errno = EINVAL;
    die("not a number:", text);
  }
  return value;
}

static void join_cgroup(const char *procs) {
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%d", (int)getpid());
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open", procs);
  if (write(fd, pid, len) != len) die("cannot join cgroup", procs);
  close(fd);
}

static void become(uid_t id) {
  struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core)) die("setrlimit", "core");
  if (setgroups(0, NULL)) die("setgroups", "(none)");
  if (setresgid(id, id, id)) die("setresgid", "");
  if (setresuid(id, id, id)) die("setresuid", "");
}

#define MAX_REQUEST (4 << 20)

static int exec_from(int fd) {
  static char buf[MAX_REQUEST + 1];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, MAX_REQUEST - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    if (len == MAX_REQUEST) _exit(FAILED);
  }
  close(fd);
  /* Split into NUL-terminated fields; a request always ends with a NUL. */
  if (len == 0 || buf[len - 1] != '\0') _exit(FAILED);
  size_t count = 0;
  for (size_t k = 0; k < len; k++) count += buf[k] == '\0';
  char **fields = calloc(count + 1, sizeof *fields);
  if (!fields) _exit(FAILED);
  for (size_t k = 0, f = 0, start = 0; k < len; k++) {
    if (buf[k] == '\0') {
      fields[f++] = buf + start;
      start = k + 1;
    }
  }
  if (count < 4) _exit(FAILED);
  struct rlimit cpu = {number(fields[0]), number(fields[1])};
  size_t nargs = number(fields[2]);
  if (nargs == 0 || 3 + nargs > count) _exit(FAILED);
  char **args = fields + 3;
  char **env = fields + 3 + nargs;
  if (setrlimit(RLIMIT_CPU, &cpu)) die("setrlimit", "cpu");
  size_t nenv = count - 3 - nargs;
  char **envp = calloc(nenv + 1, sizeof *envp);
  if (!envp) _exit(FAILED);
  memcpy(envp, env, nenv * sizeof *envp);
  args[nargs] = NULL; /* the slot of env[0], copied above */
  environ = envp; /* execvp searches the PATH of the new environment */
  execvp(args[0], args);
  int err = errno;
  /* The same words and codes as a cold start (bwrap's own execvp failure). */
  fprintf(stderr, "bwrap: execvp %s: %s\n", args[0], strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--exec-from")) return exec_from((int)number(argv[2]));
  int i = 1;
  int became = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *opt = argv[i];
    int has2 = i + 2 < argc, has1 = i + 1 < argc;
    if (became) {
      /* Joining cgroups or namespaces needs the privileges --user gives up. */
      errno = EINVAL;
      die("--user must be the last option, not before", opt);
    }
    if (!strcmp(opt, "--cgroup") && has1) {
      join_cgroup(argv[++i]);
    } else if (!strcmp(opt, "--cpu") && has2) {
      struct rlimit cpu = {number(argv[i + 1]), number(argv[i + 2])};
      i += 2;
      if (setrlimit(RLIMIT_CPU, &cpu)) die("setrlimit", "cpu");
    } else if (!strcmp(opt, "--nofile") && has1) {
      rlim_t files = number(argv[++i]);
      struct rlimit nofile = {files, files};
      if (setrlimit(RLIMIT_NOFILE, &nofile)) die("setrlimit", "nofile");
    } else if (!strcmp(opt, "--netns") && has1) {
      int fd = (int)number(argv[++i]);
      if (setns(fd, CLONE_NEWNET)) die("cannot join network namespace", argv[i]);
      close(fd);
    } else if (!strcmp(opt, "--user") && has1) {
      become((uid_t)number(argv[++i]));
      became = 1;
    } else {
      errno = EINVAL;
      die("bad argument", opt);
    }
  }
  if (i + 1 >= argc) {
    errno = EINVAL;
    die("no command after", "--");
  }
  if (!became || getuid() == 0 || geteuid() == 0) {
    errno = EPERM;
    die("refusing to run the command as root:", "--user is required");
  }
  execvp(argv[i + 1], argv + i + 1);
  die("cannot run", argv[i + 1]);
  return FAILED;
}
