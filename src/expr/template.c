/*
 * template.c: `{{ expr }}` templates (expr.h). A string without `{{` is a
 * literal; a string that is exactly one part (blanks around allowed) gives the
 * expression's value with its JSON type; any other mix renders each part as
 * text (expr_value_text) and joins it with the literal text between, at most
 * RP_TEMPLATE_OUTPUT_MAX bytes.
 *
 * A part ends at the first `}}` that is outside a Lua string ('...', "..." or
 * [[...]]) and outside braces the expression opened itself, so
 * `{{ fn.join({"}}"}, "") }}` and `{{ {a = {b = 1}} }}` read as one part. An
 * unclosed `{{` is an error naming its byte offset. There is no escape: write
 * a literal `{{` as `{{ "{{" }}`.
 *
 * Templates are scanned at each render (a linear pass); their expressions are
 * compiled once, through the env's cache. Runs on the env's thread.
 */
#include "expr/expr_internal.h"

#include "core/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct part {
    size_t open;      /* offset of "{{" */
    size_t end;       /* offset just past "}}" */
    const char *expr; /* the expression, blanks trimmed */
    size_t len;
};

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Offset just past the Lua string starting at s[i] (a quote or a long
 * bracket), or n when it does not end. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    char q = s[i];
    if (q == '"' || q == '\'') {
        for (i++; i < n; i++) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == q)
                return i + 1;
        }
        return n;
    }
    size_t eq = 0, j = i + 1; /* [==[ ... ]==] */
    while (j < n && s[j] == '=')
        eq++, j++;
    for (j++; j < n; j++) {
        if (s[j] != ']')
            continue;
        size_t k = j + 1, e = 0;
        while (k < n && s[k] == '=' && e < eq)
            e++, k++;
        if (e == eq && k < n && s[k] == ']')
            return k + 1;
    }
    return n;
}

static bool long_bracket(const char *s, size_t n, size_t i)
{
    if (s[i] != '[')
        return false;
    size_t j = i + 1;
    while (j < n && s[j] == '=')
        j++;
    return j < n && s[j] == '[';
}

/* The next part at or after from: 1 found, 0 none, RP_E_INVALID-style -1 for
 * an unclosed one (err says where). */
static int next_part(const char *s, size_t n, size_t from, struct part *p, struct rp_error *err)
{
    const char *o = from < n ? memmem(s + from, n - from, "{{", 2) : NULL;
    if (o == NULL)
        return 0;
    p->open = (size_t)(o - s);
    size_t depth = 0;
    for (size_t i = p->open + 2; i < n;) {
        char c = s[i];
        if (c == '"' || c == '\'' || long_bracket(s, n, i)) {
            i = skip_string(s, n, i);
            continue;
        }
        if (c == '{') {
            depth++;
        } else if (c == '}') {
            if (depth > 0) {
                depth--;
            } else if (i + 1 < n && s[i + 1] == '}') {
                size_t a = p->open + 2, b = i;
                while (a < b && blank(s[a]))
                    a++;
                while (b > a && blank(s[b - 1]))
                    b--;
                p->expr = s + a;
                p->len = b - a;
                p->end = i + 2;
                return 1;
            }
        }
        i++;
    }
    rp_error_set(err, RP_E_INVALID, "template: unclosed {{ at byte %zu", p->open);
    return -1;
}

bool expr_is_template(const char *s)
{
    return s != NULL && strstr(s, "{{") != NULL;
}

/* --- text of a value ------------------------------------------------------------- */

struct dump {
    struct buf *b;
    rp_status st;
};

static int dump_to_buf(const char *p, size_t n, void *data)
{
    struct dump *d = data;
    d->st = buf_append(d->b, p, n);
    return d->st == RP_OK ? 0 : -1;
}

/* Appends v as a template part shows it. RP_E_LIMIT when out is full. */
static rp_status append_text(struct buf *out, json_t *v)
{
    char num[64];
    switch (json_typeof(v != NULL ? v : json_null())) {
    case JSON_NULL:
        return buf_append(out, "", 0);
    case JSON_STRING:
        return buf_append(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf_puts(out, num);
    case JSON_REAL: {
        /* The shortest text that reads back as the same double, as a real. */
        double d = json_real_value(v);
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(num, sizeof(num), "%.*g", prec, d);
            if (strtod(num, NULL) == d)
                break;
        }
        rp_status st = buf_puts(out, num);
        if (st == RP_OK && strspn(num, "-0123456789") == strlen(num))
            st = buf_puts(out, ".0");
        return st;
    }
    case JSON_TRUE:
        return buf_puts(out, "true");
    case JSON_FALSE:
        return buf_puts(out, "false");
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    struct dump d = {out, RP_OK};
    if (json_dump_callback(v, dump_to_buf, &d, JSON_COMPACT) != 0)
        return d.st != RP_OK ? d.st : RP_E_NOMEM;
    return RP_OK;
}

char *expr_value_text(json_t *v)
{
    struct buf b;
    buf_init(&b, SIZE_MAX / 2); /* buf adds one for the NUL */
    if (append_text(&b, v) != RP_OK || buf_append(&b, "", 0) != RP_OK) {
        buf_fini(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* --- rendering ----------------------------------------------------------------- */

static void trimmed(const char *s, size_t n, size_t *a, size_t *b)
{
    *a = 0;
    *b = n;
    while (*a < *b && blank(s[*a]))
        (*a)++;
    while (*b > *a && blank(s[*b - 1]))
        (*b)--;
}

rp_status expr_render(struct expr_env *env, const char *tmpl, const struct expr_scope *scope,
                      json_t **out, struct rp_error *err)
{
    *out = NULL;
    size_t n = strlen(tmpl);
    struct part p;
    int r = next_part(tmpl, n, 0, &p, err);
    if (r < 0)
        return RP_E_INVALID;
    if (r == 0) {
        *out = json_stringn(tmpl, n);
        return *out != NULL ? RP_OK
                            : rp_error_set(err, RP_E_INVALID,
                                           "template: not valid UTF-8 (or out of memory)");
    }
    size_t a, b;
    trimmed(tmpl, n, &a, &b);
    if (p.open == a && p.end == b) /* exactly one part: its value, typed */
        return expr_eval_n(env, p.expr, p.len, scope, out, err);

    rp_status st = RP_OK;
    struct buf text;
    buf_init(&text, RP_TEMPLATE_OUTPUT_MAX);
    size_t pos = 0;
    while (r == 1) {
        json_t *v = NULL;
        st = buf_append(&text, tmpl + pos, p.open - pos);
        if (st != RP_OK)
            break;
        st = expr_eval_n(env, p.expr, p.len, scope, &v, err);
        if (st != RP_OK)
            goto done; /* err is set */
        st = append_text(&text, v);
        json_decref(v);
        if (st != RP_OK)
            break;
        pos = p.end;
        r = next_part(tmpl, n, pos, &p, err);
        if (r < 0) {
            st = RP_E_INVALID;
            goto done;
        }
    }
    if (st == RP_OK)
        st = buf_append(&text, tmpl + pos, n - pos);
    if (st == RP_E_LIMIT) {
        rp_error_set(err, st, "template: rendered text longer than %u bytes",
                     RP_TEMPLATE_OUTPUT_MAX);
        goto done;
    }
    if (st != RP_OK) {
        rp_error_set(err, st, "template: out of memory");
        goto done;
    }
    *out = json_stringn(text.data != NULL ? text.data : "", text.len);
    if (*out == NULL)
        st = rp_error_set(err, RP_E_INVALID, "template: text not valid UTF-8 (or out of memory)");
done:
    buf_fini(&text);
    return st;
}

rp_status expr_template_check(struct expr_env *env, const char *tmpl, struct rp_error *err)
{
    size_t n = strlen(tmpl), pos = 0;
    struct part p;
    int r;
    while ((r = next_part(tmpl, n, pos, &p, err)) == 1) {
        rp_status st = expr_check_n(env, p.expr, p.len, err);
        if (st != RP_OK)
            return st;
        pos = p.end;
    }
    return r < 0 ? RP_E_INVALID : RP_OK;
}

/* --- JSON documents -------------------------------------------------------------- */

/* Renders (check: only checks, *out untouched) the strings of in. */
static rp_status walk(struct expr_env *env, json_t *in, const struct expr_scope *scope, bool check,
                      int depth, json_t **out, struct rp_error *err)
{
    if (depth > RP_JSON_MAX_DEPTH)
        return rp_error_set(err, RP_E_LIMIT, "nested deeper than %d", RP_JSON_MAX_DEPTH);
    rp_status st = RP_OK;
    json_t *res = NULL;
    if (json_is_string(in)) {
        if (check)
            return expr_template_check(env, json_string_value(in), err);
        if (strstr(json_string_value(in), "{{") != NULL)
            return expr_render(env, json_string_value(in), scope, out, err);
        res = json_copy(in);
    } else if (json_is_object(in)) {
        res = check ? NULL : json_object();
        if (!check && res == NULL)
            goto nomem;
        for (void *it = json_object_iter(in); it != NULL; it = json_object_iter_next(in, it)) {
            json_t *v = NULL;
            const char *k = json_object_iter_key(it);
            size_t kn = json_object_iter_key_len(it);
            st = walk(env, json_object_iter_value(it), scope, check, depth + 1, &v, err);
            if (st != RP_OK) {
                rp_error_prefix(err, "%.*s", (int)kn, k);
                goto fail;
            }
            if (!check && json_object_setn_new(res, k, kn, v) != 0)
                goto nomem;
        }
    } else if (json_is_array(in)) {
        res = check ? NULL : json_array();
        if (!check && res == NULL)
            goto nomem;
        for (size_t i = 0; i < json_array_size(in); i++) {
            json_t *v = NULL;
            st = walk(env, json_array_get(in, i), scope, check, depth + 1, &v, err);
            if (st != RP_OK) {
                rp_error_prefix(err, "[%zu]", i);
                goto fail;
            }
            if (!check && json_array_append_new(res, v) != 0)
                goto nomem;
        }
    } else {
        res = check ? NULL : json_copy(in);
    }
    if (!check && res == NULL)
        goto nomem;
    if (!check)
        *out = res;
    return RP_OK;
nomem:
    st = rp_error_set(err, RP_E_NOMEM, "template: out of memory");
fail:
    json_decref(res);
    return st;
}

rp_status expr_render_json(struct expr_env *env, json_t *in, const struct expr_scope *scope,
                           json_t **out, struct rp_error *err)
{
    *out = NULL;
    return walk(env, in, scope, false, 0, out, err);
}

rp_status expr_render_json_check(struct expr_env *env, json_t *in, struct rp_error *err)
{
    json_t *unused = NULL;
    return walk(env, in, NULL, true, 0, &unused, err);
}
