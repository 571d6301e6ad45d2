/*
 * query.c: the small query languages the simulated vendors accept, evaluated
 * over JSON views of the organisation's objects: CrowdStrike's FQL filters,
 * OData $filter (Defender, Graph), field paths and globs. Pure functions of
 * their input, bounded by its length (filters come from bounded query strings);
 * recursion is bounded by RP_JSON_MAX_DEPTH. A syntax error sets *bad and
 * matches nothing, so the vendor answers 400.
 */
#include "lab/lab_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool lab_icontains(const char *hay, const char *needle)
{
    if (hay == NULL || needle == NULL)
        return false;
    size_t n = strlen(needle);
    if (n == 0)
        return true;
    for (const char *p = hay; *p != '\0'; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return false;
}

bool lab_glob(const char *pat, const char *s)
{
    /* Iterative '*' matching with one backtrack point: linear enough for short inputs. */
    const char *star = NULL, *mark = NULL;
    while (*s != '\0') {
        if (*pat == '*') {
            star = pat++;
            mark = s;
        } else if (tolower((unsigned char)*pat) == tolower((unsigned char)*s)) {
            pat++;
            s++;
        } else if (star != NULL) {
            pat = star + 1;
            s = ++mark;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static json_t *get_at(json_t *obj, const char *path, char sep, int depth)
{
    if (!json_is_object(obj) || depth > RP_JSON_MAX_DEPTH)
        return NULL;
    json_t *v = json_object_get(obj, path);
    if (v != NULL)
        return v;
    size_t n = strlen(path);
    for (size_t i = n; i-- > 0;) {
        if (path[i] != sep)
            continue;
        char key[256];
        if (i >= sizeof(key))
            continue;
        memcpy(key, path, i);
        key[i] = '\0';
        json_t *sub = json_object_get(obj, key);
        if (sub != NULL) {
            json_t *got = get_at(sub, path + i + 1, sep, depth + 1);
            if (got != NULL)
                return got;
        }
    }
    return NULL;
}

json_t *lab_json_get(json_t *obj, const char *path, char sep)
{
    return get_at(obj, path, sep, 0);
}

enum op { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_GLOB, OP_PREFIX, OP_CONTAINS };

static bool test_one(json_t *v, enum op op, const char *s)
{
    if (v == NULL || json_is_null(v))
        return op == OP_NE;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        bool any = false;
        json_array_foreach(v, i, e) any = any || test_one(e, op == OP_NE ? OP_EQ : op, s);
        return op == OP_NE ? !any : any;
    }
    int c;
    char num[64];
    const char *txt = NULL;
    if (json_is_string(v)) {
        txt = json_string_value(v);
        c = strcasecmp(txt, s);
    } else if (json_is_number(v)) {
        double a = json_number_value(v);
        char *end = NULL;
        double b = strtod(s, &end);
        if (end == s)
            return op == OP_NE;
        c = a < b ? -1 : a > b ? 1 : 0;
        snprintf(num, sizeof(num), "%.17g", a);
        txt = num;
    } else if (json_is_boolean(v)) {
        txt = json_is_true(v) ? "true" : "false";
        c = strcasecmp(txt, s);
    } else {
        return false;
    }
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_GT:
        return c > 0;
    case OP_GE:
        return c >= 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GLOB:
        return lab_glob(s, txt);
    case OP_PREFIX:
        return strncasecmp(txt, s, strlen(s)) == 0;
    case OP_CONTAINS:
        return lab_icontains(txt, s);
    }
    return false;
}

/* --- FQL ---------------------------------------------------------------------------------------
 */

/* Reads one value (quoted, bare, or a [list]) at *p into out; advances *p. */
static bool fql_value(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    size_t o = 0;
    if (*s == '\'' || *s == '"') {
        char qc = *s++;
        while (*s != '\0' && *s != qc) {
            if (*s == '\\' && s[1] != '\0')
                s++;
            if (o + 1 >= cap)
                return false;
            out[o++] = *s++;
        }
        if (*s != qc)
            return false;
        s++;
    } else {
        while (*s != '\0' && *s != '+' && *s != ',' && *s != ' ' && *s != ']') {
            if (o + 1 >= cap)
                return false;
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    *p = s;
    return true;
}

/* One term `field:[op]value`; *p advances past it. */
static bool fql_term(json_t *obj, const char **p, bool *bad)
{
    const char *s = *p;
    char field[128];
    size_t fl = 0;
    while (*s != '\0' && *s != ':') {
        if (fl + 1 >= sizeof(field)) {
            *bad = true;
            return false;
        }
        field[fl++] = *s++;
    }
    field[fl] = '\0';
    if (*s != ':' || fl == 0) {
        *bad = true;
        return false;
    }
    s++;
    enum op op = OP_EQ;
    if (*s == '!') {
        op = OP_NE;
        s++;
    } else if (*s == '>') {
        op = s[1] == '=' ? OP_GE : OP_GT;
        s += s[1] == '=' ? 2 : 1;
    } else if (*s == '<') {
        op = s[1] == '=' ? OP_LE : OP_LT;
        s += s[1] == '=' ? 2 : 1;
    } else if (*s == '*') {
        op = OP_GLOB;
        s++;
    }
    json_t *v = lab_json_get(obj, field, '.');
    char val[512];
    bool hit = false;
    if (*s == '[') {
        s++;
        bool any = false;
        while (*s != ']') {
            while (*s == ' ')
                s++;
            if (!fql_value(&s, val, sizeof(val))) {
                *bad = true;
                return false;
            }
            any = any || test_one(v, op == OP_NE ? OP_EQ : op, val);
            while (*s == ' ')
                s++;
            if (*s == ',')
                s++;
            else if (*s != ']') {
                *bad = true;
                return false;
            }
        }
        s++;
        hit = op == OP_NE ? !any : any;
    } else {
        if (!fql_value(&s, val, sizeof(val))) {
            *bad = true;
            return false;
        }
        if (op == OP_EQ && strchr(val, '*') != NULL)
            op = OP_GLOB;
        hit = test_one(v, op, val);
    }
    *p = s;
    return hit;
}

bool lab_fql_match(json_t *obj, const char *filter, bool *bad)
{
    *bad = false;
    if (filter == NULL)
        return true;
    const char *s = filter;
    while (*s == ' ')
        s++;
    if (*s == '\0')
        return true;
    bool any = false, all = true;
    while (*s != '\0') {
        bool hit = fql_term(obj, &s, bad);
        if (*bad)
            return false;
        all = all && hit;
        while (*s == ' ')
            s++;
        if (*s == '+') {
            s++;
        } else if (*s == ',') {
            any = any || all;
            all = true;
            s++;
        } else if (*s != '\0' && !isalpha((unsigned char)*s)) {
            *bad = true;
            return false;
        }
        while (*s == ' ')
            s++;
    }
    return any || all;
}

/* --- OData -------------------------------------------------------------------------------------
 */

struct od {
    const char *s;
    bool bad;
    int depth;
};

static void od_ws(struct od *o)
{
    while (*o->s == ' ')
        o->s++;
}

static bool od_word(struct od *o, const char *w)
{
    size_t n = strlen(w);
    od_ws(o);
    if (strncasecmp(o->s, w, n) == 0 && !isalnum((unsigned char)o->s[n]) && o->s[n] != '_') {
        o->s += n;
        return true;
    }
    return false;
}

static bool od_ident(struct od *o, char *out, size_t cap)
{
    od_ws(o);
    size_t n = 0;
    while (isalnum((unsigned char)o->s[n]) || o->s[n] == '/' || o->s[n] == '_' || o->s[n] == '.' ||
           o->s[n] == '@')
        n++;
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, o->s, n);
    out[n] = '\0';
    o->s += n;
    return true;
}

static bool od_literal(struct od *o, char *out, size_t cap)
{
    od_ws(o);
    size_t k = 0;
    if (*o->s == '\'') {
        o->s++;
        for (;;) {
            if (*o->s == '\0')
                return false;
            if (*o->s == '\'') {
                if (o->s[1] == '\'') {
                    o->s++;
                } else {
                    o->s++;
                    break;
                }
            }
            if (k + 1 >= cap)
                return false;
            out[k++] = *o->s++;
        }
    } else {
        while (*o->s != '\0' && *o->s != ' ' && *o->s != ')' && *o->s != ',') {
            if (k + 1 >= cap)
                return false;
            out[k++] = *o->s++;
        }
        if (k == 0)
            return false;
    }
    out[k] = '\0';
    return true;
}

static bool od_or(json_t *obj, struct od *o);

static bool od_term(json_t *obj, struct od *o)
{
    od_ws(o);
    if (++o->depth > RP_JSON_MAX_DEPTH) {
        o->bad = true;
        return false;
    }
    bool hit = false;
    if (od_word(o, "not")) {
        hit = !od_term(obj, o);
    } else if (*o->s == '(') {
        o->s++;
        hit = od_or(obj, o);
        od_ws(o);
        if (*o->s != ')')
            o->bad = true;
        else
            o->s++;
    } else {
        char id[128], val[512];
        if (!od_ident(o, id, sizeof(id))) {
            o->bad = true;
            o->depth--;
            return false;
        }
        od_ws(o);
        if (*o->s == '(') { /* startswith(field,'v') and friends */
            enum op op;
            if (strcasecmp(id, "startswith") == 0)
                op = OP_PREFIX;
            else if (strcasecmp(id, "contains") == 0)
                op = OP_CONTAINS;
            else {
                o->bad = true;
                o->depth--;
                return false;
            }
            o->s++;
            char field[128];
            if (!od_ident(o, field, sizeof(field))) {
                o->bad = true;
            } else {
                od_ws(o);
                if (*o->s != ',' || (o->s++, !od_literal(o, val, sizeof(val)))) {
                    o->bad = true;
                } else {
                    od_ws(o);
                    if (*o->s != ')')
                        o->bad = true;
                    else
                        o->s++;
                    hit = test_one(lab_json_get(obj, field, '/'), op, val);
                }
            }
        } else {
            static const struct {
                const char *w;
                enum op op;
            } ops[] = {{"eq", OP_EQ}, {"ne", OP_NE}, {"gt", OP_GT},
                       {"ge", OP_GE}, {"lt", OP_LT}, {"le", OP_LE}};
            int found = -1;
            for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
                if (od_word(o, ops[i].w)) {
                    found = (int)i;
                    break;
                }
            if (found < 0 || !od_literal(o, val, sizeof(val)))
                o->bad = true;
            else
                hit = test_one(lab_json_get(obj, id, '/'), ops[found].op, val);
        }
    }
    o->depth--;
    return hit;
}

static bool od_and(json_t *obj, struct od *o)
{
    bool all = od_term(obj, o);
    while (!o->bad && od_word(o, "and"))
        all = od_term(obj, o) && all;
    return all;
}

static bool od_or(json_t *obj, struct od *o)
{
    bool any = od_and(obj, o);
    while (!o->bad && od_word(o, "or"))
        any = od_and(obj, o) || any;
    return any;
}

bool lab_odata_match(json_t *obj, const char *filter, bool *bad)
{
    *bad = false;
    if (filter == NULL)
        return true;
    struct od o = {filter, false, 0};
    od_ws(&o);
    if (*o.s == '\0')
        return true;
    bool hit = od_or(obj, &o);
    od_ws(&o);
    if (*o.s != '\0')
        o.bad = true;
    *bad = o.bad;
    return !o.bad && hit;
}
