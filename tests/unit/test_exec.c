/*
 * test_exec.c: the exec connector module (connect/exec.c) through its
 * public face: configurations accepted and rejected, the request a program
 * reads on stdin, how its stdout, stderr and exit status become a result,
 * the cleared environment and closed descriptors, the time, CPU, memory and
 * output limits, and cancel. Programs are /usr/bin/python3 with -c scripts,
 * run on a private libuv loop exactly as the engine calls actions.
 */
#include "connect/connector.h"
#include "engine/action.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define PY "/usr/bin/python3"

/* Instances stay alive until the end: the action registry points into them. */
static void *instances[64];
static size_t ninstances;

static const struct connector_type *exec_type(void)
{
    const struct connector_type *t = connector_type_find("exec");
    assert_non_null(t);
    return t;
}

/* Builds an exec instance from YAML-like JSON text; RP_OK or the error. */
static rp_status make(const char *name, const char *json, struct rp_error *err)
{
    json_error_t je;
    json_t *conf = json_loads(json, 0, &je);
    if (conf == NULL)
        fail_msg("bad test JSON %s: %s", json, je.text);
    void *inst = NULL;
    rp_status st = exec_type()->create(name, conf, NULL, &inst, err);
    json_decref(conf);
    if (st == RP_OK) {
        assert_true(ninstances < sizeof instances / sizeof instances[0]);
        instances[ninstances++] = inst;
    } else {
        assert_null(inst);
    }
    return st;
}

/* An instance running python3 -c SCRIPT with extra config keys. */
static void make_py(const char *name, const char *script, const char *extra)
{
    json_t *conf =
        json_pack("{s:s,s:s,s:[s,s]}", "type", "exec", "program", PY, "args", "-c", script);
    if (extra != NULL) {
        json_t *x = json_loads(extra, 0, NULL);
        assert_non_null(x);
        json_object_update(conf, x);
        json_decref(x);
    }
    char *text = json_dumps(conf, 0);
    json_decref(conf);
    struct rp_error err;
    rp_status st = make(name, text, &err);
    if (st != RP_OK)
        fail_msg("%s: %s", name, err.msg);
    free(text);
}

struct call_fx {
    uv_loop_t loop;
    struct action_call call;
    int ndone;
    rp_status st;
    json_t *output;
    char error[512];
};

static void on_done(struct action_call *call, struct action_result *res)
{
    struct call_fx *f = call->engine;
    f->ndone++;
    f->st = res->st;
    f->output = res->output;
    res->output = NULL;
    snprintf(f->error, sizeof f->error, "%s", res->error);
}

/* Calls action name with params (JSON text) and runs the loop until every
 * handle of the call has closed. */
static void call(struct call_fx *f, const char *name, const char *params)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    const struct action_def *def = action_find(name);
    if (def == NULL)
        fail_msg("no action %s", name);
    f->call = (struct action_call){.def = def,
                                   .params = json_loads(params, 0, NULL),
                                   .key = "01RUN/step",
                                   .attempt = 1,
                                   .loop = &f->loop,
                                   .done = on_done,
                                   .engine = f};
    assert_non_null(f->call.params);
    assert_int_equal(def->start(&f->call), RP_OK);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    json_decref(f->call.params);
    assert_int_equal(f->ndone, 1);
}

static void call_free(struct call_fx *f)
{
    json_decref(f->output);
}

/* --- configuration ------------------------------------------------------------------ */

static void t_config_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *want; /* in the message */
    } CASES[] = {
        {"{}", "program: required"},
        {"{\"program\": \"python3\"}", "absolute path"},
        {"{\"program\": \"/nonexistent/x\"}", "not an executable"},
        {"{\"program\": \"/etc/passwd\"}", "not an executable"},
        {"{\"program\": \"/usr/bin\"}", "not an executable"},
        {"{\"program\": \"" PY "\", \"args\": \"-c x\"}", "args: a list"},
        {"{\"program\": \"" PY "\", \"args\": [1]}", "args[0]: a string"},
        {"{\"program\": \"" PY "\", \"timeout\": \"soon\"}", "timeout"},
        {"{\"program\": \"" PY "\", \"timeout\": \"2h\"}", "timeout: between"},
        {"{\"program\": \"" PY "\", \"timeout\": \"10ms\"}", "timeout: between"},
        {"{\"program\": \"" PY "\", \"memory_mb\": 1}", "memory_mb"},
        {"{\"program\": \"" PY "\", \"cpu_seconds\": \"1\"}", "cpu_seconds"},
        {"{\"program\": \"" PY "\", \"effect\": \"explode\"}", "effect"},
        {"{\"program\": \"" PY "\", \"workdir\": \"relative\"}", "workdir"},
        {"{\"program\": \"" PY "\", \"workdir\": \"/nonexistent\"}", "workdir"},
        {"{\"program\": \"" PY "\", \"shell\": true}", "shell: unknown key"},
        {"{\"program\": \"" PY "\", \"actions\": {\"run\": null}}", "not run"},
        {"{\"program\": \"" PY "\", \"actions\": {\"Bad Name\": null}}", "names are"},
        {"{\"program\": \"" PY "\", \"actions\": {\"a\": {\"effect\": \"x\"}}}", "a.effect"},
        {"{\"program\": \"" PY "\", \"actions\": {\"a\": {\"env\": 1}}}", "a.env: unknown"},
        {"{\"program\": \"" PY "\", \"actions\": [\"a\", \"a\"]}", "a: twice"},
        {"{\"program\": \"" PY "\", \"actions\": 3}", "actions: a mapping"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct rp_error err = {{0}};
        rp_status st = make("rej", CASES[i].json, &err);
        if (st == RP_OK || strstr(err.msg, CASES[i].want) == NULL)
            fail_msg("case %zu %s: status %d, message '%s', wanted '%s'", i, CASES[i].json, st,
                     err.msg, CASES[i].want);
        assert_null(action_find("rej.run")); /* all or nothing */
    }
}

static void t_config_accepted(void **state)
{
    (void)state;
    struct rp_error err;
    assert_int_equal(
        make("fw",
             "{\"type\": \"exec\", \"program\": \"" PY "\", \"effect\": \"contain\","
             " \"timeout\": \"5s\", \"actions\": {\"block\": {\"release\": \"unblock\","
             " \"help\": \"blocks\"}, \"unblock\": {\"effect\": \"modify\"},"
             " \"look\": {\"effect\": \"read\", \"honours_keys\": true}}}",
             &err),
        RP_OK);
    const struct action_def *run = action_find("fw.run");
    const struct action_def *block = action_find("fw.block");
    const struct action_def *unblock = action_find("fw.unblock");
    const struct action_def *look = action_find("fw.look");
    assert_non_null(run);
    assert_non_null(block);
    assert_non_null(unblock);
    assert_non_null(look);
    assert_int_equal(run->effect, ACTION_EFFECT_CONTAIN);
    assert_int_equal(block->effect, ACTION_EFFECT_CONTAIN);
    assert_string_equal(block->release, "fw.unblock");
    assert_string_equal(block->help, "blocks");
    assert_int_equal(unblock->effect, ACTION_EFFECT_MODIFY);
    assert_int_equal(look->effect, ACTION_EFFECT_READ);
    assert_false(run->honours_keys);
    assert_true(look->honours_keys);
    /* the same instance name twice: the second registers nothing */
    assert_int_equal(make("fw", "{\"program\": \"" PY "\"}", &err), RP_E_EXISTS);
    /* a list of names */
    assert_int_equal(make("lst", "{\"program\": \"" PY "\", \"actions\": [\"a\", \"b\"]}", &err),
                     RP_OK);
    assert_non_null(action_find("lst.a"));
    assert_non_null(action_find("lst.b"));
}

/* --- the request ---------------------------------------------------------------------- */

static const char *ECHO_SCRIPT = "import sys; sys.stdout.write(sys.stdin.read())";

static void t_request(void **state)
{
    (void)state;
    make_py("echo", ECHO_SCRIPT, "{\"actions\": {\"named\": null}}");
    struct call_fx f;
    call(&f, "echo.run", "{\"host\": \"ws-01\", \"n\": [1, 2]}");
    assert_int_equal(f.st, RP_OK);
    json_t *want =
        json_loads("{\"action\": \"run\", \"params\": {\"host\": \"ws-01\", \"n\": [1, 2]},"
                   " \"idempotency_key\": \"01RUN/step\", \"attempt\": 1}",
                   0, NULL);
    if (!json_equal(f.output, want)) {
        char *got = json_dumps(f.output, JSON_SORT_KEYS);
        fail_msg("request: got %s", got);
    }
    json_decref(want);
    call_free(&f);
    call(&f, "echo.named", "{}");
    assert_int_equal(f.st, RP_OK);
    assert_string_equal(json_string_value(json_object_get(f.output, "action")), "named");
    call_free(&f);
}

/* --- results ---------------------------------------------------------------------------- */

static void t_results(void **state)
{
    (void)state;
    static const struct {
        const char *script;
        rp_status st;
        const char *want; /* output as JSON, or a part of the error */
    } CASES[] = {
        {"print('{\"verdict\": \"clean\"}')", RP_OK, "{\"verdict\": \"clean\"}"},
        {"print('[1, 2]')", RP_OK, "{\"result\": [1, 2]}"},
        {"print('\"text\"')", RP_OK, "{\"result\": \"text\"}"},
        {"print('{\"error\": null, \"x\": 1}')", RP_OK, "{\"error\": null, \"x\": 1}"},
        {"print('{\"error\": \"host unknown\"}')", RP_E_INVALID, "exec1.run: host unknown"},
        {"print('{\"error\": {\"message\": \"quota\"}}')", RP_E_INVALID, ": quota"},
        {"print('{\"error\": {\"code\": 7}}')", RP_E_INVALID, "{\"code\":7}"},
        {"print('this is not json')", RP_E_INVALID, "stdout is not JSON"},
        {"print('{\"a\": 1} trailing')", RP_E_INVALID, "stdout is not JSON"},
        {"pass", RP_E_INVALID, "printed nothing on stdout"},
        {"import sys; sys.stderr.write('bad thing\\nhappened here\\n'); sys.exit(3)", RP_E_IO,
         "exited with status 3: bad thing happened here"},
        {"import sys; print('{\"error\": \"denied by API\"}'); sys.exit(2)", RP_E_IO,
         "exited with status 2: denied by API"},
        {"import sys; sys.exit(1)", RP_E_IO, "exited with status 1: (nothing on stderr)"},
        {"raise ValueError('oops')", RP_E_IO, "ValueError: oops"},
        {"import os, signal; os.kill(os.getpid(), signal.SIGTERM)", RP_E_LIMIT,
         "killed by signal 15"},
        {"import sys; sys.stdout.write('x' * (2 * 1024 * 1024))", RP_E_LIMIT,
         "more than 1048576 bytes"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "exec%zu", i + 1);
        make_py(name, CASES[i].script, NULL);
        char action[48];
        snprintf(action, sizeof action, "%s.run", name);
        struct call_fx f;
        call(&f, action, "{}");
        if (f.st != CASES[i].st)
            fail_msg("case %zu (%s): status %d (%s), want %d", i, CASES[i].script, f.st, f.error,
                     CASES[i].st);
        if (f.st == RP_OK) {
            json_t *want = json_loads(CASES[i].want, 0, NULL);
            assert_non_null(want);
            if (!json_equal(f.output, want))
                fail_msg("case %zu: output %s", i, json_dumps(f.output, 0));
            json_decref(want);
        } else {
            char want[128];
            /* messages name the action; case 5 checks the prefix itself */
            snprintf(want, sizeof want, "%s", CASES[i].want);
            if (i == 4)
                snprintf(want, sizeof want, "%s: host unknown", action);
            if (strstr(f.error, want) == NULL)
                fail_msg("case %zu: error '%s', wanted '%s'", i, f.error, want);
            assert_null(f.output);
        }
        call_free(&f);
    }
}

/* --- the child's world ------------------------------------------------------------------ */

static void t_environment_cleared(void **state)
{
    (void)state;
    setenv("RIPOSTE_SECRET_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
           1);
    setenv("API_TOKEN", "tok-very-secret", 1);
    make_py("envt", "import os, json; print(json.dumps(dict(os.environ)))", NULL);
    struct call_fx f;
    call(&f, "envt.run", "{}");
    assert_int_equal(f.st, RP_OK);
    json_t *want = json_pack("{s:s,s:s}", "PATH", "/usr/bin:/bin", "LANG", "C.UTF-8");
    if (!json_equal(f.output, want))
        fail_msg("environment: %s", json_dumps(f.output, 0));
    json_decref(want);
    call_free(&f);
    unsetenv("RIPOSTE_SECRET_KEY");
    unsetenv("API_TOKEN");
}

static void t_descriptors_and_workdir(void **state)
{
    (void)state;
    make_py("fds",
            "import os, json; print(json.dumps({'fds': sorted(int(x) for x in "
            "os.listdir('/proc/self/fd')), 'cwd': os.getcwd(), 'pgid': os.getpgid(0) == "
            "os.getpid()}))",
            "{\"workdir\": \"/tmp\"}");
    /* a descriptor of the daemon without close-on-exec must not leak */
    FILE *leak = fopen("/dev/null", "r");
    assert_non_null(leak);
    int fd = fileno(leak);
    struct call_fx f;
    call(&f, "fds.run", "{}");
    fclose(leak);
    assert_int_equal(f.st, RP_OK);
    json_t *fds = json_object_get(f.output, "fds");
    /* 0, 1, 2 and the one listdir opened */
    assert_int_equal(json_array_size(fds), 4);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_array_get(fds, i)), (json_int_t)i);
    (void)fd;
    assert_string_equal(json_string_value(json_object_get(f.output, "cwd")), "/tmp");
    assert_true(json_is_true(json_object_get(f.output, "pgid")));
    call_free(&f);
}

/* --- limits ------------------------------------------------------------------------------ */

static bool pid_alive(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp != NULL && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static void t_timeout_kills_group(void **state)
{
    (void)state;
    char script[512];
    char pidfile[] = "/tmp/riposte-test-exec-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    snprintf(script, sizeof script,
             "import subprocess, time, os\n"
             "p = subprocess.Popen(['/bin/sleep', '30'])\n"
             "open('%s', 'w').write('%%d %%d' %% (os.getpid(), p.pid))\n"
             "time.sleep(30)\n",
             pidfile);
    make_py("slow", script, "{\"timeout\": \"500ms\"}");
    uint64_t t0 = uv_hrtime();
    struct call_fx f;
    call(&f, "slow.run", "{}");
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_int_equal(f.st, RP_E_IO);
    assert_non_null(strstr(f.error, "timed out after 500 ms"));
    assert_true(ms < 5000);
    long leader = 0, child = 0;
    FILE *fp = fopen(pidfile, "r");
    assert_non_null(fp);
    assert_int_equal(fscanf(fp, "%ld %ld", &leader, &child), 2);
    fclose(fp);
    unlink(pidfile);
    assert_false(pid_alive(leader));
    /* the grandchild died with the group (a zombie of init at most) */
    for (int i = 0; i < 50 && pid_alive(child); i++)
        usleep(20000);
    assert_false(pid_alive(child));
    /* the leader was reaped by us: no zombie of ours is left */
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld", leader);
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);
    call_free(&f);
}

static void t_memory_limit(void **state)
{
    (void)state;
    make_py("mem", "x = bytearray(512 * 1024 * 1024); print('{}')", "{\"memory_mb\": 128}");
    struct call_fx f;
    call(&f, "mem.run", "{}");
    assert_int_equal(f.st, RP_E_IO);
    if (strstr(f.error, "MemoryError") == NULL)
        fail_msg("memory: %s", f.error);
    call_free(&f);
}

static void t_cpu_limit(void **state)
{
    (void)state;
    make_py("cpu", "while True: pass", "{\"cpu_seconds\": 1, \"timeout\": \"20s\"}");
    struct call_fx f;
    call(&f, "cpu.run", "{}");
    assert_int_equal(f.st, RP_E_LIMIT);
    if (strstr(f.error, "CPU limit of 1 s") == NULL)
        fail_msg("cpu: %s", f.error);
    call_free(&f);
}

/* --- cancel -------------------------------------------------------------------------------- */

static void cancel_later(uv_timer_t *t)
{
    struct call_fx *f = t->data;
    f->call.def->cancel(&f->call);
    uv_close((uv_handle_t *)t, NULL);
}

static void t_cancel(void **state)
{
    (void)state;
    make_py("canc", "import time; time.sleep(30)", "{\"timeout\": \"60s\"}");
    struct call_fx f;
    memset(&f, 0, sizeof f);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    f.call = (struct action_call){.def = action_find("canc.run"),
                                  .params = json_object(),
                                  .key = "k",
                                  .attempt = 1,
                                  .loop = &f.loop,
                                  .done = on_done,
                                  .engine = &f};
    assert_int_equal(f.call.def->start(&f.call), RP_OK);
    uv_timer_t t;
    uv_timer_init(&f.loop, &t);
    t.data = &f;
    uv_timer_start(&t, cancel_later, 200, 0);
    uint64_t t0 = uv_hrtime();
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_true((uv_hrtime() - t0) / 1000000 < 5000);
    assert_int_equal(f.ndone, 0); /* done is never called after cancel */
    assert_int_equal(uv_loop_close(&f.loop), 0);
    json_decref(f.call.params);
}

static int teardown_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < ninstances; i++)
        exec_type()->destroy(instances[i]);
    return 0;
}

int main(void)
{
    if (access(PY, X_OK) != 0) {
        printf("1..0 # SKIP %s is not installed\n", PY);
        return 0;
    }
    action_registry_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_config_rejected),
        cmocka_unit_test(t_config_accepted),
        cmocka_unit_test(t_request),
        cmocka_unit_test(t_results),
        cmocka_unit_test(t_environment_cleared),
        cmocka_unit_test(t_descriptors_and_workdir),
        cmocka_unit_test(t_timeout_kills_group),
        cmocka_unit_test(t_memory_limit),
        cmocka_unit_test(t_cpu_limit),
        cmocka_unit_test(t_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
