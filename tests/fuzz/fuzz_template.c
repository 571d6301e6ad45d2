/*
 * fuzz_template.c: libFuzzer target for templates and expressions (expr/expr.h).
 *
 * The input, up to its first NUL, is checked and rendered as a template, and
 * evaluated as one expression and as a condition, over a small fixed scope, in
 * one env kept across inputs (as the engine keeps one per thread). Broken
 * invariants abort(): a template that renders was accepted by
 * expr_template_check; a failure always leaves a message; a rendered text
 * value is valid JSON text once dumped; and after every input, whatever it did
 * (errors, limits, escape attempts), the env still evaluates a known
 * expression to its known value, so no input can break or change the sandbox.
 * Memory: every value is released before returning; the env lives for the
 * process and is freed at exit.
 */
#include "expr/expr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct expr_env *ENV;
static json_t *ALERT;

static void release(void)
{
    expr_env_free(ENV);
    json_decref(ALERT);
}

static void check_err(rp_status st, const struct rp_error *err)
{
    if (st != RP_OK && err->msg[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rp_error err;
    if (ENV == NULL) {
        if (expr_env_new(&ENV, &err) != RP_OK)
            abort();
        ALERT = json_loads("{\"auth\":{\"count\":12},\"src\":{\"ip\":\"10.1.2.3\"},"
                           "\"tags\":[\"a\",null,\"c\"],\"title\":\"hello world\"}",
                           0, NULL);
        if (ALERT == NULL)
            abort();
        atexit(release);
    }
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    json_t *idx = json_integer(1);
    struct expr_scope scope = {
        .alert = ALERT, .item = json_object_get(ALERT, "tags"), .index = idx};

    err.msg[0] = '\0';
    rp_status checked = expr_template_check(ENV, s, &err);
    check_err(checked, &err);
    json_t *v = NULL;
    err.msg[0] = '\0';
    rp_status st = expr_render(ENV, s, &scope, &v, &err);
    check_err(st, &err);
    if (st == RP_OK) {
        if (v == NULL || checked != RP_OK)
            abort();
        char *text = expr_value_text(v);
        if (text == NULL)
            abort();
        free(text);
        json_decref(v);
    } else if (v != NULL) {
        abort();
    }

    v = NULL;
    err.msg[0] = '\0';
    st = expr_eval(ENV, s, &scope, &v, &err);
    check_err(st, &err);
    if ((st == RP_OK) != (v != NULL))
        abort();
    json_decref(v);
    bool b;
    err.msg[0] = '\0';
    check_err(expr_eval_bool(ENV, s, &scope, &b, &err), &err);

    /* The sandbox is intact. */
    v = NULL;
    if (expr_eval(ENV, "alert.auth.count + #alert.tags + #fn.upper(string.lower('ab'))", &scope, &v,
                  &err) != RP_OK ||
        json_integer_value(v) != 17)
        abort();
    json_decref(v);
    json_decref(idx);
    free(s);
    return 0;
}
