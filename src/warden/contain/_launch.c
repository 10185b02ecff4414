/*
 * warden-launch: the stage, init and program of `warden run`, as a small executable.
 *
 * The supervisor (Python, supervisor.py) starts this with posix_spawn, which copies nothing of
 * its ~20 MB heap (docs/containment.md, "Start-up"), and hands it a PLAN built in Python
 * (launch.py): namespace flags, the mounts to make, the Landlock rules, the seccomp program's
 * bytes, the program's argv and environment. This file decides nothing about policy: it does,
 * in the same order and with the same set-up messages, what stage.py's three processes do, so
 * the supervisor is the same for both and stage.py stays the fallback where no C compiler
 * was available at install time. Read it beside stage.py.
 *
 *   stage   unshare(user, net, mnt, ipc, uts), "userns", waits for "mapped" (the supervisor
 *           writes the id maps and, for the program's own uid, sends the idmapped trees),
 *           reads the plan, forks init (in a new pid namespace), "init", loopback up, the
 *           proxy's listening socket sent to the supervisor, exits
 *   init    pid 1: forks the program, makes the private mounts, tells it, reaps, exits with
 *           the program's status (the supervisor's death, seen as the lifeline's EOF, ends
 *           it too: the kernel then kills everything in the pid namespace)
 *   program "program", waits for the mounts, Landlock rules, limits, bounding set emptied,
 *           "ready", waits for "go", unshare(cgroup), capabilities dropped, Landlock,
 *           seccomp (the exec listener sent back), every other descriptor closed, exec
 *
 * Descriptors at start (posix_spawn file actions): 0-2 the terminal's, 3 the set-up socket
 * (SOCK_SEQPACKET; the supervisor has SO_PASSCRED, so the kernel names each sender), 4 the
 * lifeline (read end; EOF when the supervisor is gone), 5 the plan (a memfd), 6 the timeline
 * file when WARDEN_TIMELINE is set. When the plan says so, the session's cgroup v2 directory
 * comes with "mapped" (after the idmapped trees) and init is forked straight into it (clone3
 * CLONE_INTO_CGROUP), and with it the program, so the supervisor has nothing to move (a move
 * waits for an RCU grace period, 6-18 ms here); the launcher starts before the cgroup exists.
 *
 * The supervisor starts the launcher before it has planned the run, and writes the plan into
 * the memfd while the launcher starts and makes its user namespace: the plan is read only
 * once "mapped" has come (by then it is complete), so the two overlap. Nothing before that
 * reads the plan; the timeline is written when descriptor 6 is open.
 *
 * The plan is a sequence of netstrings ("<length>:<bytes>,"), read in the fixed order of
 * plan_read(); launch.py writes them in the same order and both start with PLAN_MAGIC, which
 * changes whenever that order does. Any error sends {"error": "<step>: <what>", "step": ...}
 * and exits 125 (127 when the program cannot be executed), as stage.py does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PLAN_MAGIC "warden-plan/3"

enum { FD_SOCK = 3, FD_ALIVE = 4, FD_PLAN = 5, FD_TIMELINE = 6 };
enum { EXIT_SETUP = 125, EXIT_EXEC = 127 };
#define MAX_MESSAGE 65536
#define MAX_FDS 32  /* stage.py _MAX_FDS: the idmapped trees of a run */
#define MAX_PLAN (64u << 20)

/* unified syscall numbers (the same on every architecture warden supports) */
#define NR_MOVE_MOUNT 429
#define NR_LANDLOCK_CREATE_RULESET 444
#define NR_LANDLOCK_ADD_RULE 445
#define NR_LANDLOCK_RESTRICT_SELF 446
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif
#define CLONE_INTO_CGROUP_ 0x200000000ULL
/* unified numbers (the same on every architecture), for C libraries whose headers predate them */
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define LANDLOCK_RULE_PATH_BENEATH 1
#define LANDLOCK_RULE_NET_PORT 2
#define SECCOMP_SET_MODE_FILTER_ 1
#define SECCOMP_FLAG_NEW_LISTENER (1u << 3)
#define SECCOMP_FLAG_WAIT_KILLABLE_RECV (1u << 5)
#define PR_SET_SECUREBITS_ 28
#define PR_CAPBSET_DROP_ 24
#define PR_CAP_AMBIENT_ 47
#define PR_CAP_AMBIENT_CLEAR_ALL_ 4
#define PR_SET_NO_NEW_PRIVS_ 38
/* ns.py _SECUREBITS: uid 0 inside gains no capabilities at exec, locked */
#define SECUREBITS (0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80)
#define CAP_VERSION_3 0x20080522

struct landlock_ruleset_attr_ {
    uint64_t handled_access_fs, handled_access_net, scoped;
};
struct __attribute__((packed)) landlock_path_beneath_attr_ {
    uint64_t allowed_access;
    int32_t parent_fd;
};
struct landlock_net_port_attr_ {
    uint64_t allowed_access, port;
};
struct clone_args_ { /* clone3(2), CLONE_ARGS_SIZE_VER2 */
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};
struct sock_fprog_ {
    unsigned short len;
    void *filter;
};
struct cap_header_ {
    uint32_t version;
    int pid;
};
struct cap_data_ {
    uint32_t effective, permitted, inheritable;
};

/* ---- the plan ------------------------------------------------------------------------------- */

struct list {
    size_t n;
    char **v;
};

static struct plan {
    unsigned long ns_flags;
    long last_cap;
    long proxy_port;
    int into_cgroup;
    char *hostname;
    struct list trees, create_protected, granted, devices, hide, pinned, protect;
    uint64_t ll_fs, ll_net, ll_scoped, ll_file_rights;
    long ll_attr_size;
    struct list ll_paths; /* pairs: rights (decimal), path */
    struct list ll_ports; /* pairs: right, port */
    long cpu_seconds;
    long nproc; /* RLIMIT_NPROC for the tree (own uid only), 0: none */
    char *cwd;
    char *seccomp;
    size_t seccomp_len;
    int notify_exec;
    int timeline;
    struct list argv, env;
} plan;

static char *plan_cur, *plan_end;
static int own_uid; /* the "mapped" message said so: init takes uid/gid 0 of the namespace */
static const char *step = "plan";

static void fail(const char *what, int err, int code) __attribute__((noreturn));

static void plan_bad(void) __attribute__((noreturn));
static void plan_bad(void) {
    fail("malformed plan: is warden-launch from another version of warden? (reinstall warden "
         "to rebuild it, or set WARDEN_LAUNCHER=python)", 0, EXIT_SETUP);
}

/* The next netstring; NUL-terminated in place (its ',' becomes the NUL). */
static char *plan_field(size_t *len_out) {
    size_t len = 0;
    int digits = 0;
    while (plan_cur < plan_end && *plan_cur >= '0' && *plan_cur <= '9') {
        if (++digits > 9) plan_bad();
        len = len * 10 + (size_t)(*plan_cur++ - '0');
    }
    if (!digits || plan_cur >= plan_end || *plan_cur != ':') plan_bad();
    plan_cur++;
    if ((size_t)(plan_end - plan_cur) < len + 1 || plan_cur[len] != ',') plan_bad();
    char *field = plan_cur;
    field[len] = '\0';
    plan_cur += len + 1;
    if (len_out) *len_out = len;
    return field;
}

static char *plan_str(void) {
    size_t len;
    char *s = plan_field(&len);
    if (memchr(s, '\0', len)) plan_bad(); /* a C string must be all of the field */
    return s;
}

static uint64_t parse_u64(const char *s);
static uint64_t plan_u64(void) { return parse_u64(plan_str()); }

static uint64_t parse_u64(const char *s) {
    char *end;
    if (*s < '0' || *s > '9') plan_bad();
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) plan_bad();
    return (uint64_t)v;
}

static long plan_long(void) {
    uint64_t v = plan_u64();
    if (v > (uint64_t)0x7fffffff) plan_bad();
    return (long)v;
}

static void plan_list(struct list *l) {
    size_t n = (size_t)plan_long();
    if (n > (size_t)(plan_end - plan_cur)) plan_bad(); /* each entry takes at least 3 bytes */
    l->v = calloc(n + 1, sizeof(char *));
    if (!l->v) fail("plan", ENOMEM, EXIT_SETUP);
    for (size_t i = 0; i < n; i++) l->v[i] = plan_str();
    l->n = n;
}

static void plan_read(void) {
    struct stat st;
    if (fstat(FD_PLAN, &st) < 0) fail("plan", errno, EXIT_SETUP);
    if (st.st_size <= 0 || (uint64_t)st.st_size > MAX_PLAN) plan_bad();
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) fail("plan", ENOMEM, EXIT_SETUP);
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(FD_PLAN, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) fail("plan", r < 0 ? errno : EIO, EXIT_SETUP);
        got += (size_t)r;
    }
    close(FD_PLAN);
    plan_cur = buf;
    plan_end = buf + size;

    if (strcmp(plan_str(), PLAN_MAGIC) != 0) plan_bad();
    plan.timeline = (int)plan_long();
    plan.ns_flags = (unsigned long)plan_u64();
    plan.last_cap = plan_long();
    plan.hostname = plan_str();
    plan.proxy_port = plan_long();
    plan.into_cgroup = (int)plan_long();
    plan_list(&plan.trees);
    plan_list(&plan.create_protected);
    plan_list(&plan.granted);
    plan_list(&plan.devices);
    plan_list(&plan.hide);
    plan_list(&plan.pinned);
    plan_list(&plan.protect);
    plan.ll_fs = plan_u64();
    plan.ll_net = plan_u64();
    plan.ll_scoped = plan_u64();
    plan.ll_attr_size = plan_long();
    plan.ll_file_rights = plan_u64();
    plan_list(&plan.ll_paths);
    plan_list(&plan.ll_ports);
    plan.cpu_seconds = plan_long();
    plan.nproc = plan_long();
    plan.cwd = plan_str();
    plan.seccomp = plan_field(&plan.seccomp_len);
    plan.notify_exec = (int)plan_long();
    plan_list(&plan.argv);
    plan_list(&plan.env);
    if (plan_cur != plan_end || plan.argv.n == 0 || plan.ll_paths.n % 2 || plan.ll_ports.n % 2
        || plan.proxy_port < 1 || plan.proxy_port > 65535 || plan.trees.n > MAX_FDS
        || plan.last_cap > 63 || plan.nproc < 0 || plan.devices.n > 16 || plan.seccomp_len % 8
        || plan.seccomp_len < 8 || plan.seccomp_len / 8 > 4096
        || (plan.ll_attr_size != 8 && plan.ll_attr_size != 16 && plan.ll_attr_size != 24))
        plan_bad();
    for (size_t i = 0; i < plan.ll_paths.n; i += 2) parse_u64(plan.ll_paths.v[i]);
    for (size_t i = 0; i < plan.ll_ports.n; i++) parse_u64(plan.ll_ports.v[i]);
}

/* ---- the timeline and messages -------------------------------------------------------------- */

static int timeline_on; /* descriptor 6 is open (and the plan, once read, wants it) */
static int cgroup_fd = -1; /* the session's cgroup v2 directory, sent with "mapped" */

static void stamp(const char *what) {
    if (!timeline_on) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[160];
    int n = snprintf(line, sizeof line, "%s %lld\n", what,
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (n > 0 && (size_t)n < sizeof line) (void)!write(FD_TIMELINE, line, (size_t)n);
}

static int send_msg(const char *text, int fd) {
    struct iovec iov = {(void *)text, strlen(text)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t r;
    do r = sendmsg(FD_SOCK, &msg, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

/* JSON string body for s (quotes, backslashes, control and non-ASCII bytes escaped). */
static void json_escape(char *out, size_t cap, const char *s) {
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

static void fail(const char *what, int err, int code) {
    char text[1024], esc_text[6200], esc_step[400], msg[7000];
    if (err)
        snprintf(text, sizeof text, "%s: %s: %s", step, what, strerror(err));
    else
        snprintf(text, sizeof text, "%s: %s", step, what);
    json_escape(esc_text, sizeof esc_text, text);
    json_escape(esc_step, sizeof esc_step, step);
    snprintf(msg, sizeof msg, "{\"error\": \"%s\", \"step\": \"%s\"}", esc_text, esc_step);
    send_msg(msg, -1);
    _exit(code);
}

#define CHECK(call, what)                                                                          \
    do {                                                                                           \
        if ((call) < 0) fail(what, errno, EXIT_SETUP);                                             \
    } while (0)

/* The next message, which must be one of the exact texts the supervisor sends (json.dumps of
 * a fixed dict): returns its index in `want`, or exits (EXIT_SETUP) on anything else, as
 * stage.py does. Descriptors received go to fds[] (at most max). */
static int recv_exact(const char *const *want, int nwant, int *fds, int max, int *nfds) {
    char buf[MAX_MESSAGE + 1];
    union {
        char buf[CMSG_SPACE((MAX_FDS + 1) * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {buf, MAX_MESSAGE};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t r;
    do r = recvmsg(FD_SOCK, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    *nfds = 0;
    for (struct cmsghdr *c = r >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*nfds < max) fds[(*nfds)++] = fd;
            else close(fd);
        }
    }
    if (r <= 0 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) _exit(EXIT_SETUP);
    buf[r] = '\0';
    for (int i = 0; i < nwant; i++)
        if ((size_t)r == strlen(want[i]) && memcmp(buf, want[i], (size_t)r) == 0) return i;
    _exit(EXIT_SETUP);
}

/* ---- the program ---------------------------------------------------------------------------- */

static void add_landlock_rules(int ruleset) {
    for (size_t i = 0; i < plan.ll_paths.n; i += 2) {
        uint64_t rights = strtoull(plan.ll_paths.v[i], NULL, 10);
        const char *path = plan.ll_paths.v[i + 1];
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) continue; /* missing, dangling, unreachable: granting nothing is safe */
        struct stat st;
        if (fstat(fd, &st) < 0) fail("landlock: fstat", errno, EXIT_SETUP);
        if (!S_ISDIR(st.st_mode)) rights &= plan.ll_file_rights;
        struct landlock_path_beneath_attr_ attr = {rights, fd};
        if (syscall(NR_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0) {
            char what[600];
            snprintf(what, sizeof what, "landlock: cannot add rule for '%.500s'", path);
            fail(what, errno, EXIT_SETUP);
        }
        close(fd);
    }
    for (size_t i = 0; i < plan.ll_ports.n; i += 2) {
        struct landlock_net_port_attr_ attr = {strtoull(plan.ll_ports.v[i], NULL, 10),
                                               strtoull(plan.ll_ports.v[i + 1], NULL, 10)};
        if (syscall(NR_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_NET_PORT, &attr, 0) != 0)
            fail("landlock: cannot add a TCP port rule", errno, EXIT_SETUP);
    }
}

static int landlock_prepare(void) {
    struct landlock_ruleset_attr_ attr = {plan.ll_fs, plan.ll_net, plan.ll_scoped};
    long fd = syscall(NR_LANDLOCK_CREATE_RULESET, &attr, (size_t)plan.ll_attr_size, 0);
    if (fd < 0) fail("landlock: cannot create ruleset", errno, EXIT_SETUP);
    add_landlock_rules((int)fd);
    return (int)fd;
}

static void drop_capabilities(void) {
    CHECK(prctl(PR_SET_SECUREBITS_, SECUREBITS, 0, 0, 0), "prctl(PR_SET_SECUREBITS)");
    CHECK(prctl(PR_CAP_AMBIENT_, PR_CAP_AMBIENT_CLEAR_ALL_, 0, 0, 0), "prctl(AMBIENT)");
    struct cap_header_ header = {CAP_VERSION_3, 0};
    struct cap_data_ data[2];
    memset(data, 0, sizeof data);
    CHECK(syscall(SYS_capset, &header, data), "capset");
}

static int seccomp_install(void) {
    struct sock_fprog_ prog = {(unsigned short)(plan.seccomp_len / 8), plan.seccomp};
    CHECK(prctl(PR_SET_NO_NEW_PRIVS_, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
    /* as seccomp.load_program: WAIT_KILLABLE_RECV (5.19+) when the kernel knows it */
    unsigned int tries[2] = {0, 0};
    int ntries = 1;
    if (plan.notify_exec) {
        tries[0] = SECCOMP_FLAG_NEW_LISTENER | SECCOMP_FLAG_WAIT_KILLABLE_RECV;
        tries[1] = SECCOMP_FLAG_NEW_LISTENER;
        ntries = 2;
    }
    for (int i = 0; i < ntries; i++) {
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER_, tries[i], &prog);
        if (r >= 0) return plan.notify_exec ? (int)r : -1;
        if (errno != EINVAL) break;
    }
    fail("seccomp(SECCOMP_SET_MODE_FILTER)", errno, EXIT_SETUP);
}

static const char *env_path(void) {
    for (size_t i = 0; i < plan.env.n; i++)
        if (strncmp(plan.env.v[i], "PATH=", 5) == 0) return plan.env.v[i] + 5;
    return "/bin:/usr/bin"; /* Python's os.defpath, as os.get_exec_path */
}

/* stage._execvpe: each PATH candidate that stat says is missing is skipped (every execve is a
 * round trip to the supervisor under the exec listener); the others are tried in order, and
 * the error reported is the first that was not "missing", else the last. */
static void exec_program(void) {
    char **argv = plan.argv.v, **envp = plan.env.v;
    const char *file = argv[0];
    if (strchr(file, '/')) {
        execve(file, argv, envp);
        fail(file, errno, EXIT_EXEC);
    }
    int saved = 0, last = ENOENT;
    size_t flen = strlen(file);
    const char *p = env_path();
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        char path[8192];
        int sep = dlen && p[dlen - 1] != '/';
        if (dlen + (size_t)sep + flen + 1 > sizeof path) {
            last = ENAMETOOLONG;
            if (!saved) saved = ENAMETOOLONG;
        } else {
            memcpy(path, p, dlen);
            if (sep) path[dlen] = '/';
            memcpy(path + dlen + sep, file, flen + 1);
            struct stat st;
            if (stat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR)) {
                last = errno;
            } else {
                execve(path, argv, envp);
                last = errno;
                if (!saved && errno != ENOENT && errno != ENOTDIR) saved = errno;
            }
        }
        if (!colon) break;
        p = colon + 1;
    }
    fail(file, saved ? saved : last, EXIT_EXEC);
}

static void program_main(int mounted_r) __attribute__((noreturn));
static void program_main(int mounted_r) {
    stamp("program: forked");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    step = "program";
    if (send_msg("{\"program\": true}", -1) < 0) fail("send", errno, EXIT_SETUP);
    stamp("program: sent 'program'");
    char m = 0;
    ssize_t r;
    do r = read(mounted_r, &m, 1);
    while (r < 0 && errno == EINTR);
    if (r != 1 || m != 'm') _exit(EXIT_SETUP); /* init failed (and is ending the namespace) */
    stamp("program: mounts seen");
    close(mounted_r);
    step = "landlock rules";
    int ruleset = landlock_prepare();
    stamp("program: landlock prepared");
    step = "limits";
    struct rlimit zero = {0, 0};
    CHECK(setrlimit(RLIMIT_CORE, &zero), "setrlimit(RLIMIT_CORE)");
    if (plan.cpu_seconds) {
        struct rlimit cpu = {(rlim_t)plan.cpu_seconds, (rlim_t)plan.cpu_seconds};
        CHECK(setrlimit(RLIMIT_CPU, &cpu), "setrlimit(RLIMIT_CPU)");
    }
    CHECK(chdir(plan.cwd), "chdir");
    step = "capabilities";
    for (long cap = 0; cap <= plan.last_cap; cap++)
        CHECK(prctl(PR_CAPBSET_DROP_, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)");
    if (send_msg("{\"ready\": true}", -1) < 0) fail("send", errno, EXIT_SETUP);
    stamp("program: sent 'ready'");
    static const char *const go[] = {"{\"go\": true, \"cgroup\": true}",
                                     "{\"go\": true, \"cgroup\": false}"};
    int nfds, fds[1];
    int which = recv_exact(go, 2, fds, 0, &nfds);
    stamp("program: go received");
    step = "cgroup namespace";
    if (which == 0) CHECK(unshare(CLONE_NEWCGROUP), "unshare");
    stamp("program: unshare(cgroup)");
    step = "capabilities";
    drop_capabilities();
    stamp("program: capabilities dropped");
    step = "landlock";
    CHECK(prctl(PR_SET_NO_NEW_PRIVS_, 1, 0, 0, 0), "landlock: prctl(PR_SET_NO_NEW_PRIVS)");
    if (syscall(NR_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0)
        fail("landlock: landlock_restrict_self", errno, EXIT_SETUP);
    stamp("program: landlock enforced");
    step = "seccomp";
    int listener = seccomp_install();
    stamp("program: seccomp loaded");
    if (listener >= 0) {
        /* the supervisor records (and may stop) every exec from here on, this one included */
        if (send_msg("{\"exec_listener\": true}", listener) < 0) fail("send", errno, EXIT_SETUP);
        close(listener);
        stamp("program: listener sent");
    }
    /* the program gets 0, 1 and 2; the set-up socket stays (close-on-exec) so that an exec
     * failure can still be reported */
    stamp("program: execve");
    if (syscall(SYS_close_range, FD_SOCK + 1, ~0U, 0) != 0)
        for (int fd = FD_SOCK + 1; fd < 65536; fd++) close(fd);
    step = "exec";
    exec_program();
    _exit(EXIT_EXEC); /* not reached */
}

/* ---- init: pid 1 ---------------------------------------------------------------------------- */

static void do_mount(const char *src, const char *target, const char *type, unsigned long flags,
                     const char *data) {
    if (mount(src, target, type, flags, data) < 0) {
        char what[600];
        snprintf(what, sizeof what, "mount %.500s", target);
        fail(what, errno, EXIT_SETUP);
    }
}

static void create_file(const char *path, mode_t mode) {
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        char what[600];
        snprintf(what, sizeof what, "create %.500s", path);
        fail(what, errno, EXIT_SETUP);
    }
    close(fd);
}

static void make_dirs(const char *path) { /* os.makedirs(path, exist_ok=True) */
    char buf[4096];
    size_t len = strlen(path);
    if (len >= sizeof buf) fail("path too long", ENAMETOOLONG, EXIT_SETUP);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
                char what[600];
                snprintf(what, sizeof what, "mkdir %.500s", buf);
                fail(what, errno, EXIT_SETUP);
            }
            *p = c;
            if (!c) break;
        }
    }
}

static void bind_fd(int fd, const char *target, unsigned long flags) {
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
    do_mount(src, target, NULL, flags, NULL);
}

/* ns.bind_readonly: a read-only view of src at path, keeping the flags the kernel locked */
static void bind_readonly(const char *path, const char *src) {
    do_mount(src, path, NULL, MS_BIND | MS_REC, NULL);
    struct statvfs sv;
    if (statvfs(path, &sv) < 0) fail("statvfs", errno, EXIT_SETUP);
    static const unsigned long keep[][2] = {{ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV},
        {ST_NOEXEC, MS_NOEXEC}, {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
        {ST_RELATIME, MS_RELATIME}};
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (sv.f_flag & keep[i][0]) flags |= keep[i][1];
    do_mount(NULL, path, NULL, flags, NULL);
}

static void mount_dev(void) {
    int keep[16];
    const char *names[16];
    size_t n = 0;
    for (size_t i = 0; i < plan.devices.n && n < 16; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof path, "/dev/%s", plan.devices.v[i]);
        if (stat(path, &st) < 0) continue;
        keep[n] = open(path, O_PATH | O_CLOEXEC);
        if (keep[n] < 0) fail(path, errno, EXIT_SETUP);
        names[n++] = plan.devices.v[i];
    }
    do_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m");
    for (size_t i = 0; i < n; i++) {
        char target[256];
        snprintf(target, sizeof target, "/dev/%s", names[i]);
        create_file(target, 0666);
        bind_fd(keep[i], target, MS_BIND);
        close(keep[i]);
    }
    CHECK(mkdir("/dev/pts", 0755), "mkdir /dev/pts");
    /* a pty for programs that make one (script, pexpect) */
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620") == 0)
        (void)symlink("pts/ptmx", "/dev/ptmx");
    CHECK(mkdir("/dev/shm", 01777), "mkdir /dev/shm");
    do_mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
        {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
        {"/proc/self/fd/2", "/dev/stderr"}};
    for (size_t i = 0; i < 4; i++) CHECK(symlink(links[i][0], links[i][1]), "symlink");
}

static int beneath(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* stage._mounts, step for step */
static void do_mounts(int *tree_fds) {
    do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    for (size_t i = 0; i < plan.trees.n; i++) {
        if (syscall(NR_MOVE_MOUNT, tree_fds[i], "", AT_FDCWD, plan.trees.v[i],
                    MOVE_MOUNT_F_EMPTY_PATH) < 0) {
            char what[600];
            snprintf(what, sizeof what, "move_mount %.500s", plan.trees.v[i]);
            fail(what, errno, EXIT_SETUP);
        }
        close(tree_fds[i]);
    }
    for (size_t i = 0; i < plan.create_protected.n; i++)
        if (mkdir(plan.create_protected.v[i], 0755) < 0 && errno != EEXIST)
            fail(plan.create_protected.v[i], errno, EXIT_SETUP);
    static const char *const private_dirs[2] = {"/tmp", "/run"};
    static const char *const private_opts[2] = {"mode=1777", "mode=755"};
    int *keep = calloc(plan.granted.n + 1, sizeof(int));
    if (!keep) fail("mounts", ENOMEM, EXIT_SETUP);
    for (size_t i = 0; i < plan.granted.n; i++) {
        keep[i] = -1;
        for (int d = 0; d < 2; d++)
            if (beneath(plan.granted.v[i], private_dirs[d])) {
                keep[i] = open(plan.granted.v[i], O_PATH | O_CLOEXEC);
                if (keep[i] < 0) fail(plan.granted.v[i], errno, EXIT_SETUP);
            }
    }
    do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_dev();
    for (int d = 0; d < 2; d++) {
        do_mount("tmpfs", private_dirs[d], "tmpfs", MS_NOSUID | MS_NODEV, private_opts[d]);
        /* bind back the granted paths that lived beneath it */
        for (size_t i = 0; i < plan.granted.n; i++) {
            if (keep[i] < 0 || !beneath(plan.granted.v[i], private_dirs[d])) continue;
            const char *path = plan.granted.v[i];
            char magic[64];
            struct stat st;
            snprintf(magic, sizeof magic, "/proc/self/fd/%d", keep[i]);
            if (stat(magic, &st) == 0 && S_ISDIR(st.st_mode)) {
                make_dirs(path);
            } else {
                char parent[4096];
                snprintf(parent, sizeof parent, "%s", path);
                char *slash = strrchr(parent, '/');
                if (slash && slash != parent) {
                    *slash = '\0';
                    make_dirs(parent);
                }
                create_file(path, 0600);
            }
            bind_fd(keep[i], path, MS_BIND | MS_REC);
            close(keep[i]);
            keep[i] = -1;
        }
    }
    static const char empty_file[] = "/run/.warden-hidden";
    create_file(empty_file, 0);
    for (size_t i = 0; i < plan.hide.n; i++) {
        struct stat st;
        const char *path = plan.hide.v[i];
        if (lstat(path, &st) < 0) continue;
        if (S_ISDIR(st.st_mode))
            do_mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                     "mode=000,size=4k");
        else
            bind_readonly(path, empty_file);
    }
    for (size_t i = 0; i < plan.pinned.n; i++) { /* stage.pinned_ancestors: directories only */
        struct stat st;
        if (lstat(plan.pinned.v[i], &st) == 0 && S_ISDIR(st.st_mode))
            do_mount(plan.pinned.v[i], plan.pinned.v[i], NULL, MS_BIND | MS_REC, NULL);
    }
    for (size_t i = 0; i < plan.protect.n; i++) {
        struct stat st;
        if (lstat(plan.protect.v[i], &st) == 0 && !S_ISLNK(st.st_mode))
            bind_readonly(plan.protect.v[i], plan.protect.v[i]);
    }
    free(keep);
}

static void init_main(int *tree_fds) __attribute__((noreturn));
static void init_main(int *tree_fds) {
    stamp("init: forked");
    if (cgroup_fd >= 0) close(cgroup_fd);
    if (own_uid) {
        /* from host root to the program's own uid (0 here); no host group is kept. Here, not
         * in the stage (as stage.py does): the stage forked this process into the cgroup as
         * host root, whom the cgroup's files belong to */
        step = "own uid";
        CHECK(setgroups(0, NULL), "setgroups");
        CHECK(setresgid(0, 0, 0), "setresgid");
        CHECK(setresuid(0, 0, 0), "setresuid");
    }
    step = "fork";
    signal(SIGINT, SIG_IGN); /* the terminal's ^C is the program's */
    signal(SIGQUIT, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &chld, NULL), "sigprocmask");
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    CHECK(sfd, "signalfd");
    int mounted[2];
    CHECK(pipe2(mounted, O_CLOEXEC), "pipe");
    /* forked before the mounts, which it waits for: its start-up overlaps them */
    pid_t child = fork();
    CHECK(child, "fork");
    if (child == 0) {
        close(sfd);
        close(FD_ALIVE);
        close(mounted[1]);
        for (size_t i = 0; i < plan.trees.n; i++) close(tree_fds[i]);
        program_main(mounted[0]);
    }
    stamp("init: fork program returned");
    close(mounted[0]);
    step = "mounts";
    do_mounts(tree_fds); /* a failure exits: init's exit ends the namespace, the program too */
    stamp("init: mounts done");
    (void)!write(mounted[1], "m", 1);
    close(mounted[1]);
    close(FD_SOCK);
    for (;;) {
        struct pollfd p[2] = {{sfd, POLLIN, 0}, {FD_ALIVE, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(EXIT_SETUP);
        }
        if (p[1].revents) _exit(EXIT_SETUP); /* the supervisor is gone: end the namespace */
        struct signalfd_siginfo info;
        while (read(sfd, &info, sizeof info) > 0) {
        }
        for (;;) {
            int ws;
            pid_t pid = waitpid(-1, &ws, WNOHANG);
            if (pid < 0) _exit(errno == ECHILD ? 0 : EXIT_SETUP);
            if (pid == 0) break;
            if (pid == child) {
                stamp("init: program reaped");
                int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
                stamp("init: exit");
                _exit(code);
            }
        }
    }
}

/* ---- the stage ------------------------------------------------------------------------------ */

static void loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(s, "socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    CHECK(ioctl(s, SIOCGIFFLAGS, &ifr), "ioctl(SIOCGIFFLAGS)");
    ifr.ifr_flags |= IFF_UP;
    CHECK(ioctl(s, SIOCSIFFLAGS, &ifr), "ioctl(SIOCSIFFLAGS)");
    close(s);
}

int main(int argc, char **argv) {
    /* what the supervisor ignores (^C, SIGPIPE, SIGXFSZ) is not ignored here: a clean start.
     * glibc's posix_spawn sets its two internal signals (32, 33) to SIG_IGN in the child, which
     * an exec keeps, and its signal() refuses them: reset with the system call itself. */
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } dfl = {SIG_DFL, 0, NULL, 0};
    for (int sig = 32; sig < SIGRTMIN; sig++) syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* posix_spawn's dup2 cleared close-on-exec: the program inherits none of these; and
     * nothing else the supervisor's caller left open reaches init or the program */
    for (int fd = FD_SOCK; fd <= FD_TIMELINE; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (syscall(SYS_close_range, FD_TIMELINE + 1, ~0U, 0) != 0)
        for (int fd = FD_TIMELINE + 1; fd < 65536; fd++) close(fd);
    /* what was not given is closed (launch.spawn): a descriptor received later may take its
     * number, so 6 is closed below only if it was open here */
    timeline_on = fcntl(FD_TIMELINE, F_GETFD) >= 0;
    stamp("stage: forked");
    /* the namespaces made with the user namespace, before the plan is read (argv[1], from
     * launch.spawn; the plan must agree): the kernel's work of making them overlaps the
     * supervisor's planning. The pid namespace comes later, with init. */
    step = "namespaces";
    unsigned long early = 0;
    if (argc > 1) {
        char *end;
        errno = 0;
        early = strtoul(argv[1], &end, 10);
        if (errno || *end || end == argv[1]
            || (early & ~(unsigned long)(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)))
            fail("bad namespace flags", EINVAL, EXIT_SETUP);
    }
    CHECK(unshare(CLONE_NEWUSER | (int)early), "unshare");
    stamp("stage: unshare(user)");
    if (send_msg("{\"userns\": true}", -1) < 0) fail("send", errno, EXIT_SETUP);
    static const char *const mapped[] = {"{\"mapped\": true, \"own\": true}", "{\"mapped\": true}"};
    int tree_fds[MAX_FDS + 1], nfds; /* the trees, then the cgroup's directory */
    int which = recv_exact(mapped, 2, tree_fds, MAX_FDS + 1, &nfds);
    stamp("stage: mapped received");
    step = "plan";
    plan_read();
    if (timeline_on && !plan.timeline) {
        close(FD_TIMELINE);
        timeline_on = 0;
    }
    own_uid = which == 0;
    /* RLIMIT_NPROC binds no process of host root's (the kernel exempts it): a limit under the
     * caller's uid would not hold, so a plan with one and no uid of its own does not run */
    /* the idmapped trees (own uid), then the cgroup's directory (into_cgroup): exactly those */
    size_t want = (own_uid ? plan.trees.n : 0) + (plan.into_cgroup ? 1 : 0);
    if ((size_t)nfds != want || (!own_uid && (plan.trees.n || plan.nproc))) _exit(EXIT_SETUP);
    if (plan.into_cgroup) cgroup_fd = tree_fds[--nfds];
    step = "limits";
    if (plan.nproc) {
        /* the supervisor set it (prlimit, as host root: any value) when the user namespace was
         * made; inherited by init and the program, whose tasks it counts per user namespace
         * and uid, where only the program's own uid is mapped. Checked, not trusted. */
        struct rlimit have;
        CHECK(getrlimit(RLIMIT_NPROC, &have), "getrlimit(RLIMIT_NPROC)");
        if (have.rlim_cur != (rlim_t)plan.nproc || have.rlim_max != (rlim_t)plan.nproc)
            fail("RLIMIT_NPROC is not the plan's", 0, EXIT_SETUP);
    }
    step = "namespaces";
    if ((plan.ns_flags & ~(unsigned long)CLONE_NEWPID) != early) plan_bad();
    /* the new pid namespace comes with init's clone3 below where it can: a clone3 that fails
     * after the kernel allocated pid 1 (a refused cgroup) leaves a namespace made by unshare
     * unable to hold any process (the next fork: ENOMEM), one made by clone3 goes with it */
    unsigned long pidns = plan.into_cgroup ? plan.ns_flags & CLONE_NEWPID : 0;
    unsigned long rest = plan.ns_flags & CLONE_NEWPID & ~pidns;
    if (rest) CHECK(unshare((int)rest), "unshare");
    stamp("stage: unshare(pid)");
    /* init is forked at once and mounts while this process sets up the network */
    step = "fork init";
    pid_t pid = -1;
    int in_cgroup = 0;
    if (plan.into_cgroup) {
        /* straight into the session's cgroup; where the kernel refuses (older than 5.7, or
         * this identity may not write there), a plain fork, and the supervisor moves init */
        struct clone_args_ args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_INTO_CGROUP_ | pidns;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cgroup_fd;
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        in_cgroup = pid >= 0;
    }
    if (pid < 0) {
        if (pidns) CHECK(unshare(CLONE_NEWPID), "unshare");
        pid = fork();
    }
    CHECK(pid, "fork");
    if (pid == 0) init_main(tree_fds);
    stamp("stage: fork init returned");
    if (cgroup_fd >= 0) close(cgroup_fd);
    for (int i = 0; i < nfds; i++) close(tree_fds[i]);
    char msg[64];
    if (in_cgroup)
        snprintf(msg, sizeof msg, "{\"init\": %d, \"in_cgroup\": true}", (int)pid);
    else
        snprintf(msg, sizeof msg, "{\"init\": %d}", (int)pid);
    if (send_msg(msg, -1) < 0) fail("send", errno, EXIT_SETUP);
    step = "network";
    loopback_up();
    (void)sethostname(plan.hostname, strlen(plan.hostname));
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(listener, "socket");
    int one = 1;
    CHECK(setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "setsockopt");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)plan.proxy_port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(listener, (struct sockaddr *)&addr, sizeof addr), "bind");
    CHECK(listen(listener, 1024), "listen");
    snprintf(msg, sizeof msg, "{\"proxy\": %ld}", plan.proxy_port);
    if (send_msg(msg, listener) < 0) fail("send", errno, EXIT_SETUP);
    stamp("stage: proxy socket sent");
    _exit(0);
}
