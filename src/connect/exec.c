/*
 * exec.c: the `exec` connector module (DESIGN.md §4, issue 5): any program
 * as an action.
 *
 *   connectors:
 *     scanner:
 *       type: exec
 *       program: /opt/soc/bin/scan.py      # absolute; run without a shell
 *       args: [--quiet]                    # fixed arguments, optional
 *       timeout: 30s                       # wall clock; then its process group is killed
 *       cpu_seconds: 30                    # RLIMIT_CPU (default: the timeout)
 *       memory_mb: 512                     # RLIMIT_AS
 *       max_processes: 0                   # RLIMIT_NPROC when > 0 (per user!)
 *       effect: read                       # what the program does to the world
 *       honours_keys: false                # true: it deduplicates by idempotency_key
 *       workdir: /                         # its working directory
 *       actions:                           # optional named actions, same program
 *         block_ip: { effect: modify, help: "blocks an address at the edge" }
 *
 * Actions: INSTANCE.run and INSTANCE.NAME for each named action. The program
 * reads one JSON request on stdin,
 *
 *   {"action": "run"|"NAME", "params": {...}, "idempotency_key": "...", "attempt": 1}
 *
 * and prints one JSON result on stdout (at most RP_EXEC_STDOUT_MAX bytes). The
 * step fails, with the program's message, when it exits non-zero, prints an
 * object with "error", prints something that is not JSON, is killed by a
 * limit, or outlives the timeout. A result that is not an object becomes
 * {"result": VALUE}.
 *
 * The child: fork then execve with an argv (no shell); its own process
 * group; an environment of PATH=/usr/bin:/bin and LANG=C.UTF-8 only (never
 * the daemon's, so never a secret); stdin a sealed-in-memory file holding
 * the request (no pipe to write, so no SIGPIPE in the daemon); stdout and
 * stderr pipes read by libuv; every other descriptor closed; signal
 * dispositions and mask reset; RLIMIT_CPU, RLIMIT_AS, RLIMIT_NOFILE,
 * RLIMIT_CORE=0 (and RLIMIT_NPROC when asked). Its exit is watched through a
 * pidfd on the loop (no SIGCHLD handler, so libuv's own children are not
 * disturbed). When the program exits, whatever is left of its process group
 * is killed before it is reaped (the leader's zombie keeps the group id from
 * being reused), so nothing it started outlives the step and no zombie
 * stays.
 *
 * Threads: create/destroy on the main thread; everything else on the
 * engine's loop thread. fork() happens on the loop thread; between fork and
 * execve the child calls only async-signal-safe functions on data prepared
 * before the fork.
 *
 * Ownership: a job owns its pipes, pidfd, timer and buffers; it frees itself
 * when its last handle has closed, whether the call completed or was
 * cancelled (cancel kills the process group; done is then never called).
 */
#include "connect/connect_internal.h"
#include "core/limits.h"
#include "engine/action.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

/* A name of the form INSTANCE.ACTION (instance and action at most 64). */
#define EXECC_NAME_MAX 132

static char *const CHILD_ENV[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL};

struct execc;

struct execc_action {
    struct execc *inst;
    char name[EXECC_NAME_MAX]; /* INSTANCE.ACTION */
    char *action;              /* ACTION, sent in the request */
    char *help;
    char *release; /* INSTANCE.ACTION that undoes a contain action, or NULL */
    struct action_def def;
};

struct execc {
    char *name;
    char *program;
    char **argv; /* program, args..., NULL */
    char *workdir;
    int64_t timeout_ms;
    int cpu_s;
    int memory_mb;
    int max_processes;
    int running; /* children alive, loop thread only */
    struct execc_action *actions;
    size_t nactions;
};

struct execc_job {
    struct execc *inst;
    const struct execc_action *act;
    struct action_call *call; /* NULL once cancelled */
    pid_t pid;
    int pidfd;            /* -1 without pidfd_open (kernel < 5.3, valgrind) */
    uv_poll_t exit_watch; /* with a pidfd */
    uv_timer_t exit_tick; /* without: waitpid(WNOHANG) every RP_EXEC_REAP_TICK_MS */
    uv_pipe_t out;
    uv_pipe_t err;
    uv_timer_t timer;
    int handles; /* open handles; the job is freed when the last closes */
    bool exited;
    bool out_done;
    bool err_done;
    bool timed_out;
    bool too_big;
    bool finished; /* the result was computed */
    int wstatus;
    char *stdout_buf;
    size_t stdout_len;
    char stderr_tail[RP_EXEC_STDERR_TAIL];
    size_t stderr_len;
    char readbuf[65536];
};

/* --- the child, between fork and execve ------------------------------------------ */

/* Writes s to fd 2; async-signal-safe. */
static void child_say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

struct child_plan {
    int stdin_fd, stdout_fd, stderr_fd;
    const char *program;
    char *const *argv;
    const char *workdir;
    struct rlimit cpu, as, nofile, core, nproc;
    bool set_nproc;
};

_Noreturn static void child_run(const struct child_plan *p)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        (void)sigaction(s, &dfl, NULL);
    (void)setpgid(0, 0);
    if (dup2(p->stdin_fd, 0) < 0 || dup2(p->stdout_fd, 1) < 0 || dup2(p->stderr_fd, 2) < 0)
        _exit(126);
    (void)close_range(3, ~0U, 0);
    if (chdir(p->workdir) != 0) {
        child_say("exec: cannot enter the working directory\n");
        _exit(126);
    }
    if (setrlimit(RLIMIT_CPU, &p->cpu) != 0 || setrlimit(RLIMIT_AS, &p->as) != 0 ||
        setrlimit(RLIMIT_NOFILE, &p->nofile) != 0 || setrlimit(RLIMIT_CORE, &p->core) != 0 ||
        (p->set_nproc && setrlimit(RLIMIT_NPROC, &p->nproc) != 0)) {
        child_say("exec: cannot set the resource limits\n");
        _exit(126);
    }
    execve(p->program, p->argv, CHILD_ENV);
    char msg[64] = "exec: execve failed, errno ";
    size_t n = strlen(msg);
    int e = errno;
    char digits[12];
    int k = 0;
    do {
        digits[k++] = (char)('0' + e % 10);
        e /= 10;
    } while (e > 0 && k < 11);
    while (k > 0 && n + 2 < sizeof msg)
        msg[n++] = digits[--k];
    msg[n++] = '\n';
    msg[n] = '\0';
    child_say(msg);
    _exit(127);
}

/* --- results ----------------------------------------------------------------------- */

/* The last bytes of stderr as one line for a message: control characters
 * become spaces, runs of spaces shrink, at most cap - 1 bytes. */
static void stderr_line(const struct execc_job *j, char *out, size_t cap)
{
    size_t start = j->stderr_len > 300 ? j->stderr_len - 300 : 0;
    size_t n = 0;
    bool space = true;
    for (size_t i = start; i < j->stderr_len && n + 1 < cap; i++) {
        char c = j->stderr_tail[i];
        bool blank = (unsigned char)c < 0x20 || c == 0x7f || c == ' ';
        if (blank) {
            if (!space)
                out[n++] = ' ';
            space = true;
        } else {
            out[n++] = c;
            space = false;
        }
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* The message of a JSON error value: a string, an object's "message", or the
 * value as compact JSON. */
static void error_text(json_t *e, char *out, size_t cap)
{
    const char *s = json_string_value(e);
    if (s == NULL)
        s = json_string_value(json_object_get(e, "message"));
    if (s != NULL) {
        snprintf(out, cap, "%s", s);
        return;
    }
    char *d = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, cap, "%s", d != NULL ? d : "(an error without a message)");
    free(d);
}

/* A failure message (truncated when long: a message for people). */
static void res_fail(struct action_result *res, rp_status st, const char *fmt, ...) RP_PRINTF(3, 4);

static void res_fail(struct action_result *res, rp_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    res->st = st;
}

static void job_result(struct execc_job *j, struct action_result *res)
{
    const char *name = j->act->name;
    char tail[320];
    char why[RP_ERROR_MAX];
    stderr_line(j, tail, sizeof tail);
    res->st = RP_OK;
    res->output = NULL;
    res->error[0] = '\0';
    json_t *parsed = NULL;
    json_error_t je;
    if (j->stdout_len > 0 && !j->too_big)
        parsed = json_loadb(j->stdout_buf, j->stdout_len, JSON_DECODE_ANY, &je);
    json_t *err = json_object_get(parsed, "error");
    if (j->timed_out) {
        res_fail(res, RP_E_IO, "%s: timed out after %lld ms, killed%s%s", name,
                 (long long)j->inst->timeout_ms, tail[0] ? ": " : "", tail);
    } else if (j->too_big) {
        res_fail(res, RP_E_LIMIT, "%s: printed more than %u bytes on stdout, killed", name,
                 RP_EXEC_STDOUT_MAX);
    } else if (WIFSIGNALED(j->wstatus)) {
        int sig = WTERMSIG(j->wstatus);
        if (sig == SIGXCPU)
            snprintf(why, sizeof why, "CPU limit of %d s reached", j->inst->cpu_s);
        else
            snprintf(why, sizeof why, "killed by signal %d (%s)", sig, strsignal(sig));
        res_fail(res, RP_E_LIMIT, "%s: %s%s%s", name, why, tail[0] ? ": " : "", tail);
    } else if (WEXITSTATUS(j->wstatus) != 0) {
        if (err != NULL)
            error_text(err, why, sizeof why);
        else
            snprintf(why, sizeof why, "%s", tail[0] ? tail : "(nothing on stderr)");
        res_fail(res, RP_E_IO, "%s: exited with status %d: %s", name, WEXITSTATUS(j->wstatus), why);
    } else if (j->stdout_len == 0) {
        res_fail(res, RP_E_INVALID,
                 "%s: printed nothing on stdout (an exec program prints a JSON result)%s%s", name,
                 tail[0] ? ": " : "", tail);
    } else if (parsed == NULL) {
        res_fail(res, RP_E_INVALID, "%s: stdout is not JSON (line %d column %d: %s): %.80s", name,
                 je.line, je.column, je.text, j->stdout_buf);
    } else if (err != NULL && !json_is_null(err) && !json_is_false(err)) {
        error_text(err, why, sizeof why);
        res_fail(res, RP_E_INVALID, "%s: %s", name, why);
    } else if (json_is_object(parsed)) {
        res->output = json_incref(parsed);
    } else {
        res->output = json_pack("{s:O}", "result", parsed);
    }
    json_decref(parsed);
    if (res->st != RP_OK) {
        /* control characters from stdout must not reach a one-line message */
        for (char *p = res->error; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    } else if (res->output == NULL) {
        res_fail(res, RP_E_NOMEM, "%s: out of memory", name);
    }
}

/* --- the job on the loop ------------------------------------------------------------- */

static void job_closed(uv_handle_t *h)
{
    struct execc_job *j = h->data;
    if (h == (uv_handle_t *)&j->exit_watch && j->pidfd >= 0)
        close(j->pidfd);
    if (--j->handles > 0)
        return;
    j->inst->running--;
    free(j->stdout_buf);
    free(j);
}

static void job_close(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, job_closed);
}

/* Kills the child's whole process group. Safe while the leader is not yet
 * reaped: its pid (= the group id) cannot be reused before. */
static void job_kill(struct execc_job *j)
{
    if (!j->exited)
        (void)kill(-j->pid, SIGKILL);
}

static void job_maybe_finish(struct execc_job *j)
{
    if (j->finished || !j->exited || !j->out_done || !j->err_done)
        return;
    j->finished = true;
    uv_timer_stop(&j->timer);
    job_close((uv_handle_t *)&j->timer);
    struct action_call *call = j->call;
    if (call != NULL) {
        call->impl = NULL;
        j->call = NULL;
        struct action_result res;
        job_result(j, &res);
        call->done(call, &res);
    }
}

static void pipe_done(struct execc_job *j, uv_pipe_t *p)
{
    uv_read_stop((uv_stream_t *)p);
    job_close((uv_handle_t *)p);
    if (p == &j->out)
        j->out_done = true;
    else
        j->err_done = true;
    job_maybe_finish(j);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct execc_job *j = h->data;
    *buf = uv_buf_init(j->readbuf, sizeof j->readbuf);
}

static void on_stdout(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct execc_job *j = s->data;
    if (n < 0) {
        pipe_done(j, &j->out);
        return;
    }
    if (j->too_big || n == 0)
        return;
    char *nb = NULL;
    if (j->stdout_len + (size_t)n > RP_EXEC_STDOUT_MAX ||
        (nb = realloc(j->stdout_buf, j->stdout_len + (size_t)n + 1)) == NULL) {
        j->too_big = true; /* without memory for it, it is too big as well */
        job_kill(j);
        pipe_done(j, &j->out);
        return;
    }
    j->stdout_buf = nb;
    memcpy(j->stdout_buf + j->stdout_len, buf->base, (size_t)n);
    j->stdout_len += (size_t)n;
    j->stdout_buf[j->stdout_len] = '\0';
}

static void on_stderr(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct execc_job *j = s->data;
    if (n < 0) {
        pipe_done(j, &j->err);
        return;
    }
    /* keep the last RP_EXEC_STDERR_TAIL bytes */
    const char *p = buf->base;
    size_t len = (size_t)n;
    if (len >= sizeof j->stderr_tail) {
        p += len - sizeof j->stderr_tail;
        len = sizeof j->stderr_tail;
        j->stderr_len = 0;
    } else if (j->stderr_len + len > sizeof j->stderr_tail) {
        size_t drop = j->stderr_len + len - sizeof j->stderr_tail;
        memmove(j->stderr_tail, j->stderr_tail + drop, j->stderr_len - drop);
        j->stderr_len -= drop;
    }
    memcpy(j->stderr_tail + j->stderr_len, p, len);
    j->stderr_len += len;
}

static void on_timer(uv_timer_t *t)
{
    struct execc_job *j = t->data;
    if (!j->exited) {
        j->timed_out = true;
        job_kill(j); /* the exit watch fires next */
        return;
    }
    /* drain deadline: something outside the group holds the pipes */
    if (!j->out_done)
        pipe_done(j, &j->out);
    if (!j->err_done)
        pipe_done(j, &j->err);
}

/* Reaps the leader if it has exited (its group killed first). True then. */
static bool job_reap(struct execc_job *j)
{
    pid_t r;
    do
        r = waitpid(j->pid, &j->wstatus, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return false; /* still running */
    /* the leader is gone: kill what is left of its group */
    (void)kill(-j->pid, SIGKILL);
    j->exited = true;
    uv_timer_stop(&j->timer);
    uv_timer_start(&j->timer, on_timer, RP_EXEC_DRAIN_MS, 0);
    return true;
}

static void on_exit_ready(uv_poll_t *w, int status, int events)
{
    (void)status;
    (void)events;
    struct execc_job *j = w->data;
    if (!job_reap(j))
        return; /* not yet (spurious wake-up) */
    uv_poll_stop(w);
    job_close((uv_handle_t *)w);
    job_maybe_finish(j);
}

static void on_exit_tick(uv_timer_t *t)
{
    struct execc_job *j = t->data;
    if (!job_reap(j))
        return;
    uv_timer_stop(t);
    job_close((uv_handle_t *)t);
    job_maybe_finish(j);
}

/* The request on stdin: a memfd holding its JSON, at offset 0. -1 on error. */
static int request_fd(const struct execc_action *a, struct action_call *call)
{
    json_t *req = json_pack("{s:s,s:O,s:s,s:i}", "action", a->action, "params",
                            call->params != NULL ? call->params : json_null(), "idempotency_key",
                            call->key != NULL ? call->key : "", "attempt", call->attempt);
    char *text = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL)
        return -1;
    int fd = memfd_create("riposte-exec-request", MFD_CLOEXEC);
    size_t len = strlen(text), off = 0;
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            fd = -1;
            break;
        }
        off += (size_t)w;
    }
    if (fd >= 0) {
        (void)write(fd, "\n", 1);
        if (lseek(fd, 0, SEEK_SET) != 0) {
            close(fd);
            fd = -1;
        }
    }
    free(text);
    return fd;
}

/* A descriptor at 3 or above (close-on-exec), so that the child's dup2 onto
 * 0-2 can never be a no-op that keeps the flag. */
static int fd_high(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return n;
}

static rp_status execc_start(struct action_call *call)
{
    const struct execc_action *a = call->def->data;
    struct execc *in = a->inst;
    if (call->loop == NULL) {
        action_fail(call, RP_E_INVALID, "%s: no event loop", a->name);
        return RP_OK;
    }
    if (in->running >= RP_EXEC_RUNNING_MAX) {
        action_fail(call, RP_E_BUSY, "%s: %d programs of this instance are running; try again",
                    a->name, RP_EXEC_RUNNING_MAX);
        return RP_OK;
    }
    int in_fd = -1, out[2] = {-1, -1}, err[2] = {-1, -1};
    struct execc_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return RP_E_NOMEM;
    in_fd = fd_high(request_fd(a, call));
    if (in_fd < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
        (out[0] = fd_high(out[0])) < 0 || (out[1] = fd_high(out[1])) < 0 ||
        (err[0] = fd_high(err[0])) < 0 || (err[1] = fd_high(err[1])) < 0) {
        int e = errno;
        for (int *fd = (int[]){in_fd, out[0], out[1], err[0], err[1]}, k = 0; k < 5; k++)
            if (fd[k] >= 0)
                close(fd[k]);
        free(j);
        action_fail(call, RP_E_IO, "%s: cannot prepare the child's input and output: %s", a->name,
                    strerror(e));
        return RP_OK;
    }
    rlim_t mem = (rlim_t)in->memory_mb * 1024 * 1024;
    struct child_plan plan = {
        .stdin_fd = in_fd,
        .stdout_fd = out[1],
        .stderr_fd = err[1],
        .program = in->program,
        .argv = in->argv,
        .workdir = in->workdir,
        .cpu = {(rlim_t)in->cpu_s, (rlim_t)in->cpu_s + 1},
        .as = {mem, mem},
        .nofile = {RP_EXEC_NOFILE, RP_EXEC_NOFILE},
        .core = {0, 0},
        .nproc = {(rlim_t)in->max_processes, (rlim_t)in->max_processes},
        .set_nproc = in->max_processes > 0,
    };
    pid_t pid = fork();
    if (pid == 0)
        child_run(&plan);
    int fork_errno = errno;
    close(in_fd);
    close(out[1]);
    close(err[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        free(j);
        action_fail(call, RP_E_IO, "%s: cannot start %s: %s", a->name, in->program,
                    strerror(fork_errno));
        return RP_OK;
    }
    (void)setpgid(pid, pid); /* also done by the child: whoever runs first */
    int pidfd = pidfd_open(pid, 0);
    if (pidfd < 0 && errno != ENOSYS) {
        int e = errno;
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        close(out[0]);
        close(err[0]);
        free(j);
        action_fail(call, RP_E_IO, "%s: pidfd_open: %s (Linux 5.3 or later is needed)", a->name,
                    strerror(e));
        return RP_OK;
    }
    j->inst = in;
    j->act = a;
    j->call = call;
    j->pid = pid;
    j->pidfd = pidfd;
    uv_loop_t *loop = call->loop;
    /* without pidfd_open (ENOSYS), the exit is found by a short waitpid tick */
    if (pidfd >= 0)
        uv_poll_init(loop, &j->exit_watch, pidfd);
    else
        uv_timer_init(loop, &j->exit_tick);
    uv_pipe_init(loop, &j->out, 0);
    uv_pipe_init(loop, &j->err, 0);
    uv_timer_init(loop, &j->timer);
    j->exit_watch.data = j->exit_tick.data = j->out.data = j->err.data = j->timer.data = j;
    j->handles = 4;
    in->running++;
    call->impl = j;
    bool out_ok = uv_pipe_open(&j->out, out[0]) == 0;
    bool err_ok = uv_pipe_open(&j->err, err[0]) == 0;
    if (!out_ok)
        close(out[0]);
    if (!err_ok)
        close(err[0]);
    if (!out_ok || !err_ok || uv_read_start((uv_stream_t *)&j->out, on_alloc, on_stdout) != 0 ||
        uv_read_start((uv_stream_t *)&j->err, on_alloc, on_stderr) != 0) {
        /* its output cannot be read: kill it; the exit watch reaps it */
        snprintf(j->stderr_tail, sizeof j->stderr_tail, "riposte could not read its output");
        j->stderr_len = strlen(j->stderr_tail);
        j->too_big = true;
        (void)kill(-pid, SIGKILL);
        pipe_done(j, &j->out);
        pipe_done(j, &j->err);
    }
    if (pidfd >= 0)
        uv_poll_start(&j->exit_watch, UV_READABLE, on_exit_ready);
    else
        uv_timer_start(&j->exit_tick, on_exit_tick, RP_EXEC_REAP_TICK_MS, RP_EXEC_REAP_TICK_MS);
    uv_timer_start(&j->timer, on_timer, (uint64_t)in->timeout_ms, 0);
    return RP_OK;
}

static void execc_cancel(struct action_call *call)
{
    struct execc_job *j = call->impl;
    if (j == NULL)
        return;
    j->call = NULL;
    call->impl = NULL;
    if (!j->exited)
        (void)kill(-j->pid, SIGKILL); /* the handles close and free the job */
}

/* --- configuration (main thread) ------------------------------------------------------- */

static void execc_destroy(void *p)
{
    struct execc *in = p;
    if (in == NULL)
        return;
    free(in->name);
    free(in->program);
    for (size_t i = 0; in->argv != NULL && in->argv[i] != NULL; i++)
        free(in->argv[i]);
    free(in->argv);
    free(in->workdir);
    for (size_t i = 0; i < in->nactions; i++) {
        free(in->actions[i].action);
        free(in->actions[i].help);
        free(in->actions[i].release);
    }
    free(in->actions);
    free(in);
}

static rp_status conf_int(const char *instance, json_t *conf, const char *key, long long lo,
                          long long hi, long long dflt, long long *out, struct rp_error *err)
{
    json_t *v = json_object_get(conf, key);
    if (v == NULL || json_is_null(v)) {
        *out = dflt;
        return RP_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: an integer %lld..%lld", instance,
                            key, lo, hi);
    *out = json_integer_value(v);
    return RP_OK;
}

static rp_status add_action(struct execc *in, const char *action, json_t *spec,
                            enum action_effect dflt_effect, bool dflt_keys, struct rp_error *err)
{
    struct execc_action *a = &in->actions[in->nactions];
    enum action_effect effect = dflt_effect;
    bool keys = dflt_keys;
    const char *help = NULL;
    const char *release = NULL;
    if (spec != NULL && !json_is_null(spec)) {
        if (!json_is_object(spec))
            return rp_error_set(err, RP_E_INVALID,
                                "connectors.%s.actions.%s: a mapping (effect, help, honours_keys)",
                                in->name, action);
        const char *k;
        json_t *v;
        json_object_foreach(spec, k, v)
        {
            if (strcmp(k, "effect") == 0) {
                if (action_effect_parse(json_string_value(v), &effect) != RP_OK)
                    return rp_error_set(err, RP_E_INVALID,
                                        "connectors.%s.actions.%s.effect: read, notify, contain, "
                                        "modify or destroy",
                                        in->name, action);
            } else if (strcmp(k, "help") == 0 && json_is_string(v)) {
                help = json_string_value(v);
            } else if (strcmp(k, "honours_keys") == 0 && json_is_boolean(v)) {
                keys = json_is_true(v);
            } else if (strcmp(k, "release") == 0 && json_is_string(v) &&
                       connector_name_ok(json_string_value(v))) {
                release = json_string_value(v);
            } else {
                return rp_error_set(err, RP_E_INVALID,
                                    "connectors.%s.actions.%s.%s: unknown or mistyped (known: "
                                    "effect, help, honours_keys, release)",
                                    in->name, action, k);
            }
        }
    }
    a->inst = in;
    snprintf(a->name, sizeof a->name, "%s.%s", in->name, action);
    a->action = strdup(action);
    if (release != NULL) {
        char r[EXECC_NAME_MAX];
        snprintf(r, sizeof r, "%s.%s", in->name, release);
        a->release = strdup(r);
        if (a->release == NULL)
            return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    if (help == NULL) {
        char h[256];
        snprintf(h, sizeof h, "runs %s (action %s)", in->program, action);
        a->help = strdup(h);
    } else {
        a->help = strdup(help);
    }
    in->nactions++;
    if (a->action == NULL || a->help == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    if (action_find(a->name) != NULL)
        return rp_error_set(err, RP_E_EXISTS, "connectors.%s: action %s exists already", in->name,
                            a->name);
    a->def = (struct action_def){.name = a->name,
                                 .effect = effect,
                                 .honours_keys = keys,
                                 .help = a->help,
                                 .start = execc_start,
                                 .cancel = execc_cancel,
                                 .release = a->release,
                                 .data = a};
    return RP_OK;
}

/* timeout: the child's wall-clock limit, at most RP_EXEC_TIMEOUT_MAX_S. */
static const struct connector_duration_spec TIMEOUT = {
    .min_ms = 100,
    .max_ms = RP_EXEC_TIMEOUT_MAX_S * 1000LL,
    .range = "between 100ms and " CONNECTOR_STR(RP_EXEC_TIMEOUT_MAX_S) "s",
    .expected = "a duration such as 30s",
};

static const char *const KNOWN_KEYS[] = {
    "type",   "program",      "args",    "timeout", "cpu_seconds", "memory_mb", "max_processes",
    "effect", "honours_keys", "workdir", "actions", "help",        NULL};

static rp_status execc_create(const char *instance, json_t *conf, const struct connector_env *env,
                              void **out, struct rp_error *err)
{
    (void)env; /* exec takes no secrets: a child never sees one */
    *out = NULL;
    rp_status st = RP_OK;
    struct execc *in = calloc(1, sizeof *in);
    if (in == NULL || (in->name = strdup(instance)) == NULL) {
        execc_destroy(in);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    if ((st = connector_keys_check(instance, conf, KNOWN_KEYS, err)) != RP_OK)
        goto fail;
    /* program */
    const char *program = json_string_value(json_object_get(conf, "program"));
    struct stat sb;
    if (program == NULL || program[0] != '/') {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.program: required, an absolute path (no shell, no PATH "
                          "search)",
                          instance);
        goto fail;
    }
    if (stat(program, &sb) != 0 || !S_ISREG(sb.st_mode) || access(program, X_OK) != 0) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.program: %s is not an executable file",
                          instance, program);
        goto fail;
    }
    in->program = strdup(program);
    /* args */
    json_t *args = json_object_get(conf, "args");
    if (args != NULL && (!json_is_array(args) || json_array_size(args) > RP_EXEC_ARGS_MAX)) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.args: a list of at most %d strings",
                          instance, RP_EXEC_ARGS_MAX);
        goto fail;
    }
    size_t nargs = json_array_size(args);
    in->argv = calloc(nargs + 2, sizeof *in->argv);
    if (in->program == NULL || in->argv == NULL || (in->argv[0] = strdup(program)) == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nargs; i++) {
        const char *s = json_string_value(json_array_get(args, i));
        if (s == NULL) {
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s.args[%zu]: a string", instance, i);
            goto fail;
        }
        if ((in->argv[i + 1] = strdup(s)) == NULL) {
            st = rp_error_set(err, RP_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    /* limits */
    if ((st = connector_duration(instance, conf, "timeout", 30000, &TIMEOUT, &in->timeout_ms,
                                 err)) != RP_OK)
        goto fail;
    long long cpu, mem, nproc;
    if ((st = conf_int(instance, conf, "cpu_seconds", 1, RP_EXEC_TIMEOUT_MAX_S,
                       (in->timeout_ms + 999) / 1000, &cpu, err)) != RP_OK ||
        (st = conf_int(instance, conf, "memory_mb", 16, 1024 * 1024, 512, &mem, err)) != RP_OK ||
        (st = conf_int(instance, conf, "max_processes", 0, 65536, 0, &nproc, err)) != RP_OK)
        goto fail;
    in->cpu_s = (int)cpu;
    in->memory_mb = (int)mem;
    in->max_processes = (int)nproc;
    /* workdir */
    const char *wd = json_string_value(json_object_get(conf, "workdir"));
    if (json_object_get(conf, "workdir") != NULL &&
        (wd == NULL || wd[0] != '/' || stat(wd, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.workdir: an absolute path of an existing directory",
                          instance);
        goto fail;
    }
    if ((in->workdir = strdup(wd != NULL ? wd : "/")) == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    /* effect and keys of `run` (and the default of named actions) */
    enum action_effect effect = ACTION_EFFECT_READ;
    json_t *e = json_object_get(conf, "effect");
    if (e != NULL && action_effect_parse(json_string_value(e), &effect) != RP_OK) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.effect: read, notify, contain, modify or destroy",
                          instance);
        goto fail;
    }
    bool keys = false;
    if ((st = connector_bool(instance, conf, "honours_keys", false, CONNECTOR_NULL_REJECT, &keys,
                             err)) != RP_OK)
        goto fail;
    /* actions */
    json_t *acts = json_object_get(conf, "actions");
    if (acts != NULL && !json_is_object(acts) && !json_is_array(acts)) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.actions: a mapping of action names (or a list)", instance);
        goto fail;
    }
    size_t nacts = json_is_object(acts) ? json_object_size(acts) : json_array_size(acts);
    if (nacts > RP_EXEC_ACTIONS_MAX) {
        st = rp_error_set(err, RP_E_LIMIT, "connectors.%s.actions: at most %d", instance,
                          RP_EXEC_ACTIONS_MAX);
        goto fail;
    }
    in->actions = calloc(nacts + 1, sizeof *in->actions);
    if (in->actions == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = add_action(in, "run", NULL, effect, keys, err)) != RP_OK)
        goto fail;
    const char *help = json_string_value(json_object_get(conf, "help"));
    if (help != NULL) {
        char *h = strdup(help);
        if (h == NULL) {
            st = rp_error_set(err, RP_E_NOMEM, "out of memory");
            goto fail;
        }
        free(in->actions[0].help);
        in->actions[0].help = h;
        in->actions[0].def.help = h;
    }
    for (size_t i = 0; i < nacts; i++) {
        const char *name;
        json_t *spec = NULL;
        if (json_is_object(acts)) {
            void *it = json_object_iter(acts);
            for (size_t k = 0; k < i; k++)
                it = json_object_iter_next(acts, it);
            name = json_object_iter_key(it);
            spec = json_object_iter_value(it);
        } else {
            name = json_string_value(json_array_get(acts, i));
        }
        if (name == NULL || !connector_name_ok(name) || strcmp(name, "run") == 0) {
            st = rp_error_set(err, RP_E_INVALID,
                              "connectors.%s.actions: names are 1-64 of a-z 0-9 _ - and not run",
                              instance);
            goto fail;
        }
        for (size_t k = 0; k < in->nactions; k++)
            if (strcmp(in->actions[k].action, name) == 0) {
                st = rp_error_set(err, RP_E_INVALID, "connectors.%s.actions.%s: twice", instance,
                                  name);
                goto fail;
            }
        if ((st = add_action(in, name, spec, effect, keys, err)) != RP_OK)
            goto fail;
    }
    for (size_t i = 0; i < in->nactions; i++) {
        st = action_register(&in->actions[i].def);
        if (st != RP_OK) {
            st = rp_error_set(err, st, "connectors.%s: cannot register %s: %s", instance,
                              in->actions[i].name, rp_status_str(st));
            if (i == 0)
                goto fail;
            return st; /* registered defs point into in: it must stay */
        }
    }
    *out = in;
    return RP_OK;
fail:
    execc_destroy(in);
    return st;
}

const struct connector_type connector_exec = {
    .name = "exec", .create = execc_create, .destroy = execc_destroy};
