/*
 * cacao_import.c: a CACAO 2.0 playbook (JSON) into a Riposte playbook (YAML).
 *
 * Three passes over one parsed document, any thread, no I/O:
 *   1. check: the playbook's required fields and forms, every workflow step's
 *      type and references, agents, targets and variables;
 *   2. lay out: CACAO's workflow is a graph of steps joined by on_completion,
 *      on_success, on_failure, on_true/on_false, cases and next_steps; Riposte
 *      runs lists whose steps may jump (`next`, switch cases, on_error) to
 *      other steps of the same list, without cycles. The top list and each
 *      nested list (the branches of a parallel step, the body of a while) are
 *      laid out by a depth-first walk in reverse post-order, so that a step's
 *      successor follows it when it can and a jump says where it cannot. An end
 *      step ends the run in the top list, and its branch in a nested list or in
 *      the branch of a condition that has an on_completion (then the run goes
 *      on there). A cycle, or a step reached both inside and outside a nested
 *      list, cannot be written as lists: refused with the steps named;
 *   3. write: each step becomes Riposte step(s) (docs/cacao.md has the table),
 *      the whole a JSON tree in YAML order, written with libyaml's emitter.
 * Steps that Riposte exported carry the original in Riposte's extension and
 * come back as they were (ids, kinds, fields).
 *
 * Also here: the STIX comparison expressions of conditions into Lua.
 *
 * Memory: everything built belongs to the import until it hands the result
 * over; every error path frees it. Failure: RP_E_INVALID with the field or
 * step named, RP_E_LIMIT, RP_E_NOMEM.
 */
#include "playbook/cacao.h"

#include "core/limits.h"
#include "playbook/cacao_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* --- a bounded string builder ------------------------------------------------ */

struct sb {
    char *p;
    size_t n, cap, max;
    bool bad; /* allocation failed or max passed */
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (b->n + n + 1 > b->max) {
        b->bad = true;
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->bad = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...) RP_PRINTF(2, 3);
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char small[256], *tmp = small;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k >= sizeof small) { /* a long operand: printed again in full */
        tmp = b->n + (size_t)k + 1 > b->max ? NULL : malloc((size_t)k + 1);
        if (tmp != NULL) {
            va_start(ap, fmt);
            vsnprintf(tmp, (size_t)k + 1, fmt, ap);
            va_end(ap);
        }
    }
    if (k < 0 || tmp == NULL)
        b->bad = true;
    else
        sb_putn(b, tmp, (size_t)k);
    if (tmp != small)
        free(tmp);
}

/* Takes the text out of b (never NULL on success). */
static char *sb_take(struct sb *b)
{
    if (b->bad) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    if (b->p == NULL)
        return strdup("");
    char *p = b->p;
    b->p = NULL;
    return p;
}

/* --- STIX comparison expressions into Lua ---------------------------------------- */

/* The Lua text of a string literal: single-quoted, escapes for \, ' and
 * control bytes. */
static void lua_quote(struct sb *b, const char *s, size_t n)
{
    sb_putn(b, "'", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\')
            sb_puts(b, "\\\\");
        else if (c == '\'')
            sb_puts(b, "\\'");
        else if (c < 0x20 || c == 0x7f)
            sb_printf(b, "\\%03u", (unsigned)c);
        else
            sb_putn(b, (const char *)&s[i], 1);
    }
    sb_putn(b, "'", 1);
}

static bool is_lua_keyword(const char *s, size_t n)
{
    static const char *const kw[] = {"and",   "break", "do",       "else", "elseif", "end",
                                     "false", "for",   "function", "goto", "if",     "in",
                                     "local", "nil",   "not",      "or",   "repeat", "return",
                                     "then",  "true",  "until",    "while"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strlen(kw[i]) == n && memcmp(kw[i], s, n) == 0)
            return true;
    return false;
}

static bool is_lua_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return !is_lua_keyword(s, n);
}

/* `vars.name` or `vars["na-me"]`. */
static void lua_var(struct sb *b, const char *name, size_t n)
{
    if (is_lua_name(name, n)) {
        sb_puts(b, "vars.");
        sb_putn(b, name, n);
    } else {
        sb_puts(b, "vars[");
        lua_quote(b, name, n);
        sb_puts(b, "]");
    }
}

static bool var_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* A CACAO variable reference `__name__` at s[0..n): its length and the name
 * inside in name and name_len; 0 when s does not start with one. */
static size_t var_ref(const char *s, size_t n, const char **name, size_t *name_len)
{
    if (n < 5 || s[0] != '_' || s[1] != '_')
        return 0;
    size_t j = 2;
    while (j < n && var_char(s[j]) && !(s[j] == '_' && j + 1 < n && s[j + 1] == '_'))
        j++;
    if (j == 2 || j + 1 >= n || s[j] != '_' || s[j + 1] != '_')
        return 0;
    *name = s + 2;
    *name_len = j - 2;
    return j + 2;
}

enum lit_type { LIT_NONE, LIT_STRING, LIT_NUMBER, LIT_BOOL };

struct operand {
    enum lit_type lit; /* a literal, or LIT_NONE for a value read at run time */
    char *lua;         /* Lua text of the value (for an observable: o.value) */
    const char *obs;   /* Riposte observable type when the path names one */
};

struct cp {
    const char *s;
    size_t n, i;
    int depth;
    struct rp_error *err;
    rp_status st;
};

static rp_status cp_fail(struct cp *c, const char *fmt, ...) RP_PRINTF(2, 3);
static rp_status cp_fail(struct cp *c, const char *fmt, ...)
{
    if (c->st != RP_OK)
        return c->st;
    char msg[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->st = rp_error_set(c->err, RP_E_INVALID, "condition \"%.*s\": at offset %zu: %s",
                         (int)(c->n > 120 ? 120 : c->n), c->s, c->i, msg);
    return c->st;
}

static void cp_ws(struct cp *c)
{
    while (c->i < c->n && isspace((unsigned char)c->s[c->i]))
        c->i++;
}

/* True (and consumed) when the next word is kw, case-insensitive. */
static bool cp_kw(struct cp *c, const char *kw)
{
    cp_ws(c);
    size_t k = strlen(kw);
    if (c->n - c->i < k || strncasecmp(c->s + c->i, kw, k) != 0)
        return false;
    if (c->i + k < c->n && (isalnum((unsigned char)c->s[c->i + k]) || c->s[c->i + k] == '_'))
        return false;
    c->i += k;
    return true;
}

static bool cp_char(struct cp *c, char ch)
{
    cp_ws(c);
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return true;
    }
    return false;
}

/* STIX object paths that name something Riposte has: observables of the alert. */
static const char *obs_of_path(const char *p, size_t n)
{
    char norm[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof norm; i++) {
        char ch = (char)tolower((unsigned char)p[i]);
        if (ch == '\'' || ch == '-')
            continue;
        norm[k++] = ch;
    }
    norm[k] = '\0';
    static const struct {
        const char *path, *obs;
    } map[] = {
        {"ipv4addr:value", "ipv4"},
        {"ipv6addr:value", "ipv6"},
        {"domainname:value", "domain"},
        {"url:value", "url"},
        {"emailaddr:value", "email"},
        {"file:hashes.md5", "md5"},
        {"file:hashes.sha1", "sha1"},
        {"file:hashes.sha256", "sha256"},
        {"file:name", "filename"},
        {"useraccount:user_id", "user"},
        {"useraccount:account_login", "user"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(norm, map[i].path) == 0)
            return map[i].obs;
    return NULL;
}

static void operand_fini(struct operand *o)
{
    free(o->lua);
    o->lua = NULL;
}

static rp_status cp_operand(struct cp *c, struct operand *o)
{
    memset(o, 0, sizeof *o);
    cp_ws(c);
    if (c->i >= c->n)
        return cp_fail(c, "a value or path is missing");
    struct sb b = {.max = RP_CACAO_COND_MAX * 4};
    const char *s = c->s + c->i;
    size_t rest = c->n - c->i;
    const char *name;
    size_t name_len;
    size_t k;
    if (s[0] == '\'' || ((s[0] == 't' || s[0] == 'T') && rest > 1 && s[1] == '\'')) {
        /* a string (or a t'timestamp', compared as its text) */
        size_t j = s[0] == '\'' ? 1 : 2;
        struct sb raw = {.max = RP_CACAO_COND_MAX};
        for (;; j++) {
            if (j >= rest) {
                free(raw.p);
                return cp_fail(c, "unterminated string");
            }
            if (s[j] == '\\' && j + 1 < rest && (s[j + 1] == '\'' || s[j + 1] == '\\')) {
                sb_putn(&raw, &s[++j], 1); /* STIX escapes only \' and \\ */
                continue;
            }
            if (s[j] == '\'')
                break;
            sb_putn(&raw, &s[j], 1);
        }
        lua_quote(&b, raw.p ? raw.p : "", raw.n);
        free(raw.p);
        c->i += j + 1;
        o->lit = LIT_STRING;
    } else if (((s[0] == 'h' || s[0] == 'b') && rest > 1 && s[1] == '\'')) {
        return cp_fail(c, "binary and hex literals (h'..', b'..') are not supported");
    } else if (isdigit((unsigned char)s[0]) ||
               ((s[0] == '-' || s[0] == '+') && rest > 1 && isdigit((unsigned char)s[1]))) {
        size_t j = 1;
        while (j < rest &&
               (isdigit((unsigned char)s[j]) || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
                ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
            j++;
        char num[64];
        if (j >= sizeof num)
            return cp_fail(c, "number too long");
        memcpy(num, s, j);
        num[j] = '\0';
        char *end;
        (void)strtod(num, &end);
        if (*end != '\0')
            return cp_fail(c, "malformed number \"%s\"", num);
        sb_puts(&b, num[0] == '+' ? num + 1 : num);
        c->i += j;
        o->lit = LIT_NUMBER;
    } else if (cp_kw(c, "true")) {
        sb_puts(&b, "true");
        o->lit = LIT_BOOL;
    } else if (cp_kw(c, "false")) {
        sb_puts(&b, "false");
        o->lit = LIT_BOOL;
    } else if ((k = var_ref(s, rest, &name, &name_len)) > 0) {
        c->i += k;
        if (c->i < c->n && c->s[c->i] == ':') {
            if (c->n - c->i >= 6 && strncmp(c->s + c->i, ":value", 6) == 0 &&
                (c->i + 6 == c->n || !var_char(c->s[c->i + 6])))
                c->i += 6;
            else
                return cp_fail(c, "only the :value of a variable can be compared");
        }
        lua_var(&b, name, name_len);
    } else if (isalpha((unsigned char)s[0])) {
        /* a STIX object path TYPE:PROPERTY */
        size_t j = 0;
        int brackets = 0;
        bool quoted = false;
        while (j < rest) {
            char ch = s[j];
            if (quoted) {
                if (ch == '\'')
                    quoted = false;
            } else if (ch == '\'') {
                quoted = true;
            } else if (isspace((unsigned char)ch) || ch == '=' || ch == '!' || ch == '<' ||
                       ch == '>' || ch == ')' || ch == ',') {
                break;
            } else if (ch == '[') {
                brackets++;
            } else if (ch == ']') {
                if (brackets == 0)
                    break;
                brackets--;
            }
            j++;
        }
        if (memchr(s, ':', j) == NULL)
            return cp_fail(c, "\"%.*s\" is neither a value nor an object path", (int)j, s);
        o->obs = obs_of_path(s, j);
        if (o->obs == NULL)
            return cp_fail(c,
                           "object path \"%.*s\" has no Riposte equivalent (supported: "
                           "__name__:value, ipv4-addr:value, ipv6-addr:value, domain-name:value, "
                           "url:value, email-addr:value, file:name, file:hashes.MD5/SHA-1/SHA-256, "
                           "user-account:user_id)",
                           (int)j, s);
        c->i += j;
        sb_puts(&b, "o.value");
    } else {
        return cp_fail(c, "unexpected \"%c\"", s[0]);
    }
    o->lua = sb_take(&b);
    if (o->lua == NULL)
        return cp_fail(c, "out of memory");
    return RP_OK;
}

/* A SQL LIKE pattern as an anchored Lua pattern. */
static void like_to_lua(struct sb *b, const char *p)
{
    sb_puts(b, "^");
    for (; *p; p++) {
        if (*p == '%')
            sb_puts(b, ".*");
        else if (*p == '_')
            sb_puts(b, ".");
        else if (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)
            sb_putn(b, p, 1);
        else {
            sb_puts(b, "%");
            sb_putn(b, p, 1);
        }
    }
    sb_puts(b, "$");
}

/* The part of PCRE that Lua patterns share: literals, ., [classes], \d \w \s
 * (and their negations), the quantifiers * + ? on one item, ^ and $. */
static bool regex_to_lua(struct sb *b, const char *p)
{
    bool in_class = false;
    for (; *p; p++) {
        char ch = *p;
        if (ch == '\\') {
            p++;
            if (*p == '\0')
                return false;
            if (strchr("dDwWsS", *p) != NULL) {
                char cls[3] = {'%', *p, '\0'}; /* Lua spells these classes alike */
                sb_puts(b, cls);
            } else if (isalnum((unsigned char)*p)) {
                return false; /* \b, \A, \1...: no Lua equivalent */
            } else {
                sb_puts(b, "%");
                sb_putn(b, p, 1);
            }
            continue;
        }
        if (in_class) {
            if (ch == ']')
                in_class = false;
            if (ch == '%')
                sb_puts(b, "%%");
            else
                sb_putn(b, &ch, 1);
            continue;
        }
        switch (ch) {
        case '(':
        case ')':
        case '|':
        case '{':
        case '}':
            return false;
        case '[':
            in_class = true;
            sb_putn(b, &ch, 1);
            if (p[1] == '^') {
                sb_puts(b, "^");
                p++;
            }
            break;
        case '.':
        case '*':
        case '+':
        case '?':
            sb_putn(b, &ch, 1);
            break;
        case '^':
        case '$':
            sb_putn(b, &ch, 1);
            break;
        case '%':
        case '-':
            sb_puts(b, "%");
            sb_putn(b, &ch, 1);
            break;
        default:
            sb_putn(b, &ch, 1);
        }
    }
    return !in_class;
}

/* Writes the Lua of "left OP right" with the value of left as v. */
static rp_status cp_compare_text(struct cp *c, struct sb *b, const char *v, const char *op,
                                 const struct operand *r)
{
    if (strcmp(op, "=") == 0 || strcmp(op, "!=") == 0) {
        const char *lop = op[0] == '=' ? "==" : "~=";
        if (r->lit == LIT_NUMBER)
            sb_printf(b, "tonumber(%s) %s %s", v, lop, r->lua);
        else
            sb_printf(b, "%s %s ", v, lop), sb_puts(b, r->lua);
        return RP_OK;
    }
    /* < <= > >= */
    if (r->lit == LIT_NUMBER) {
        sb_printf(b, "(tonumber(%s) or (0/0)) %s %s", v, op, r->lua);
    } else if (r->lit == LIT_STRING) {
        sb_printf(b, "tostring(%s or '') %s ", v, op);
        sb_puts(b, r->lua);
    } else if (r->lit == LIT_NONE) {
        sb_printf(b, "(tonumber(%s) or (0/0)) %s (tonumber(", v, op);
        sb_puts(b, r->lua);
        sb_puts(b, ") or (0/0))");
    } else {
        return cp_fail(c, "booleans cannot be ordered with %s", op);
    }
    return RP_OK;
}

static rp_status cp_comparison(struct cp *c, struct sb *out)
{
    struct operand l, r = {0};
    struct operand set[64];
    size_t nset = 0;
    struct sb b = {.max = RP_CACAO_COND_MAX * 8};
    rp_status st;
    if (cp_kw(c, "EXISTS")) {
        if ((st = cp_operand(c, &l)) != RP_OK)
            return st;
        if (l.lit != LIT_NONE) {
            operand_fini(&l);
            return cp_fail(c, "EXISTS needs a path");
        }
        sb_printf(&b, "%s ~= nil", l.lua);
        goto wrap;
    }
    if ((st = cp_operand(c, &l)) != RP_OK)
        return st;
    bool neg = cp_kw(c, "NOT");
    cp_ws(c);
    const char *op = NULL;
    const char *s = c->s + c->i;
    size_t rest = c->n - c->i;
    if (rest >= 2 && (memcmp(s, "==", 2) == 0))
        op = "=", c->i += 2;
    else if (rest >= 2 && memcmp(s, "!=", 2) == 0)
        op = "!=", c->i += 2;
    else if (rest >= 2 && memcmp(s, "<>", 2) == 0)
        op = "!=", c->i += 2;
    else if (rest >= 2 && memcmp(s, "<=", 2) == 0)
        op = "<=", c->i += 2;
    else if (rest >= 2 && memcmp(s, ">=", 2) == 0)
        op = ">=", c->i += 2;
    else if (rest >= 1 && s[0] == '=')
        op = "=", c->i += 1;
    else if (rest >= 1 && s[0] == '<')
        op = "<", c->i += 1;
    else if (rest >= 1 && s[0] == '>')
        op = ">", c->i += 1;
    else if (cp_kw(c, "IN"))
        op = "IN";
    else if (cp_kw(c, "LIKE"))
        op = "LIKE";
    else if (cp_kw(c, "MATCHES"))
        op = "MATCHES";
    else {
        static const char *const other[] = {"ISSUBSET", "ISSUPERSET", "FOLLOWEDBY", "WITHIN",
                                            "REPEATS",  "START",      "STOP"};
        for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
            if (cp_kw(c, other[i])) {
                operand_fini(&l);
                return cp_fail(c, "%s is outside the comparison subset Riposte supports", other[i]);
            }
        operand_fini(&l);
        return cp_fail(c, "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES) is "
                          "missing");
    }
    const char *v = l.obs != NULL ? "o.value" : l.lua;
    if (neg)
        sb_puts(&b, "not (");
    if (strcmp(op, "IN") == 0) {
        if (!cp_char(c, '(')) {
            st = cp_fail(c, "IN needs a list in parentheses");
            goto out_set;
        }
        sb_puts(&b, "(");
        for (;;) {
            if (nset == sizeof set / sizeof set[0]) {
                st = cp_fail(c, "more than 64 values after IN");
                goto out_set;
            }
            if ((st = cp_operand(c, &set[nset])) != RP_OK)
                goto out_set;
            if (set[nset].lit == LIT_NONE && set[nset].obs != NULL) {
                nset++;
                st = cp_fail(c, "IN lists values, not object paths");
                goto out_set;
            }
            if (nset > 0)
                sb_puts(&b, " or ");
            nset++;
            sb_puts(&b, "(");
            if ((st = cp_compare_text(c, &b, v, "=", &set[nset - 1])) != RP_OK)
                goto out_set;
            sb_puts(&b, ")");
            if (cp_char(c, ','))
                continue;
            if (cp_char(c, ')'))
                break;
            st = cp_fail(c, "',' or ')' expected in the IN list");
            goto out_set;
        }
        sb_puts(&b, ")");
    } else {
        if ((st = cp_operand(c, &r)) != RP_OK)
            goto out_set;
        if (r.obs != NULL) {
            st = cp_fail(c, "the right side of a comparison must be a value or a variable");
            goto out_set;
        }
        if (strcmp(op, "LIKE") == 0 || strcmp(op, "MATCHES") == 0) {
            if (r.lit != LIT_STRING) {
                st = cp_fail(c, "%s needs a string", op);
                goto out_set;
            }
            /* r.lua is a quoted Lua string; take the raw text back from the source */
            struct sb raw = {.max = RP_CACAO_COND_MAX};
            const char *q = r.lua + 1;
            size_t qn = strlen(r.lua) - 2;
            for (size_t i = 0; i < qn; i++) {
                if (q[i] == '\\' && i + 1 < qn) {
                    i++;
                    if (isdigit((unsigned char)q[i])) { /* \ddd */
                        char ch =
                            (char)((q[i] - '0') * 100 + (q[i + 1] - '0') * 10 + (q[i + 2] - '0'));
                        sb_putn(&raw, &ch, 1);
                        i += 2;
                        continue;
                    }
                }
                sb_putn(&raw, &q[i], 1);
            }
            struct sb pat = {.max = RP_CACAO_COND_MAX * 4};
            bool ok = true;
            if (op[0] == 'L')
                like_to_lua(&pat, raw.p ? raw.p : "");
            else
                ok = regex_to_lua(&pat, raw.p ? raw.p : "");
            free(raw.p);
            if (!ok) {
                free(pat.p);
                st = cp_fail(c, "MATCHES uses a regular expression feature (groups, |, {n}, "
                                "\\b...) that Lua patterns lack");
                goto out_set;
            }
            sb_printf(&b, "string.find(tostring(%s or ''), ", v);
            lua_quote(&b, pat.p ? pat.p : "", pat.n);
            sb_puts(&b, ") ~= nil");
            free(pat.p);
        } else if ((st = cp_compare_text(c, &b, v, op, &r)) != RP_OK) {
            goto out_set;
        }
    }
    if (neg)
        sb_puts(&b, ")");
    st = RP_OK;
out_set:
    for (size_t i = 0; i < nset; i++)
        operand_fini(&set[i]);
    operand_fini(&r);
    if (st != RP_OK) {
        operand_fini(&l);
        free(b.p);
        return st;
    }
wrap:
    if (b.bad) { /* never half a comparison: the text would change its meaning */
        operand_fini(&l);
        free(b.p);
        return cp_fail(c,
                       "a comparison longer than %d bytes once translated to Lua (or out of "
                       "memory)",
                       RP_CACAO_COND_MAX * 8);
    }
    if (l.obs != NULL) {
        sb_printf(out,
                  "((function() for _, o in ipairs(alert and alert.observables or {}) do "
                  "if o.type == '%s' and (",
                  l.obs);
        sb_puts(out, b.p ? b.p : "");
        sb_puts(out, ") then return true end end return false end)())");
    } else {
        sb_puts(out, "(");
        sb_puts(out, b.p ? b.p : "");
        sb_puts(out, ")");
    }
    operand_fini(&l);
    free(b.p);
    return RP_OK;
}

static rp_status cp_or(struct cp *c, struct sb *out);

static rp_status cp_primary(struct cp *c, struct sb *out)
{
    if (++c->depth > RP_CACAO_COND_DEPTH_MAX)
        return cp_fail(c, "nested deeper than %d", RP_CACAO_COND_DEPTH_MAX);
    rp_status st;
    if (cp_kw(c, "NOT")) {
        sb_puts(out, "not ");
        st = cp_primary(c, out);
    } else if (cp_char(c, '(') || cp_char(c, '[')) {
        char close = c->s[c->i - 1] == '(' ? ')' : ']';
        sb_puts(out, "(");
        if ((st = cp_or(c, out)) != RP_OK)
            return st;
        if (!cp_char(c, close))
            return cp_fail(c, "'%c' expected", close);
        sb_puts(out, ")");
    } else {
        st = cp_comparison(c, out);
    }
    c->depth--;
    return st;
}

static rp_status cp_and(struct cp *c, struct sb *out)
{
    rp_status st = cp_primary(c, out);
    while (st == RP_OK && cp_kw(c, "AND")) {
        sb_puts(out, " and ");
        st = cp_primary(c, out);
    }
    return st;
}

static rp_status cp_or(struct cp *c, struct sb *out)
{
    rp_status st = cp_and(c, out);
    while (st == RP_OK && cp_kw(c, "OR")) {
        sb_puts(out, " or ");
        st = cp_and(c, out);
    }
    return st;
}

rp_status cacao_condition_to_lua(const char *cond, char **lua_out, struct rp_error *err)
{
    *lua_out = NULL;
    size_t n = strlen(cond);
    if (n > RP_CACAO_COND_MAX)
        return rp_error_set(err, RP_E_LIMIT, "condition longer than %d bytes", RP_CACAO_COND_MAX);
    struct cp c = {.s = cond, .n = n, .err = err};
    /* The Lua must fit the expression limit, with room for the tostring()
     * an if-condition is wrapped in. */
    struct sb out = {.max = RP_EXPR_SOURCE_MAX - 16};
    cp_ws(&c);
    if (c.i == c.n) {
        free(out.p);
        return rp_error_set(err, RP_E_INVALID, "condition is empty");
    }
    rp_status st = cp_or(&c, &out);
    if (st == RP_OK) {
        cp_ws(&c);
        if (c.i != c.n)
            st = cp_fail(&c, "unexpected text after the expression");
    }
    if (st == RP_OK && out.bad)
        st = rp_error_set(err, RP_E_LIMIT, "condition longer than %u bytes once translated to Lua",
                          RP_EXPR_SOURCE_MAX - 16);
    if (st != RP_OK) {
        free(out.p);
        return st;
    }
    *lua_out = sb_take(&out);
    return *lua_out ? RP_OK : rp_error_set(err, RP_E_NOMEM, "out of memory");
}

/* --- the CACAO document ------------------------------------------------------------ */

enum ctype {
    CT_START,
    CT_END,
    CT_ACTION,
    CT_PLAYBOOK_ACTION,
    CT_PARALLEL,
    CT_IF,
    CT_WHILE,
    CT_SWITCH,
};

static const char *const CT_NAMES[] = {
    "start",    "end",          "action",          "playbook-action",
    "parallel", "if-condition", "while-condition", "switch-condition"};

struct ccase {
    const char *value;
    int target;
};

struct cstep {
    const char *key;
    json_t *obj;
    enum ctype type;
    int on_completion, on_success, on_failure, on_true, on_false;
    int *next;
    size_t nnext;
    struct ccase *cases;
    size_t ncases;
    int case_default;
    json_t *ext; /* Riposte's extension on this step, or NULL */
    const char *rid;
    /* layout */
    int region;
    int mark; /* 1 being walked, 2 done */
    int cont;
    int pos;
};

struct cont {
    int target, parent;
};

struct imp {
    json_t *doc;
    json_t *index; /* step key -> index */
    struct cstep *st;
    size_t n;
    json_t *vars;
    json_t *agents, *targets;
    char ext_id[CACAO_EXT_ID_LEN];
    struct cont *conts;
    size_t nconts, capconts;
    int nregions;
    struct rp_error *err;
};

static rp_status fail(struct imp *im, const char *fmt, ...) RP_PRINTF(2, 3);
static rp_status fail(struct imp *im, const char *fmt, ...)
{
    char msg[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rp_error_set(im->err, RP_E_INVALID, "%s", msg);
}

static rp_status nomem(struct imp *im)
{
    return rp_error_set(im->err, RP_E_NOMEM, "out of memory");
}

static bool is_uuid(const char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return false;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash[d]) {
            if (s[i] != '-')
                return false;
            d++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* "TYPE--UUID" with TYPE of [a-z0-9-]; when want is set, TYPE must be it. */
static bool is_identifier(const char *s, const char *want)
{
    const char *sep = strstr(s, "--");
    if (sep == NULL || sep == s)
        return false;
    for (const char *p = s; p < sep; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
            return false;
    if (want != NULL && ((size_t)(sep - s) != strlen(want) || strncmp(s, want, strlen(want)) != 0))
        return false;
    return is_uuid(sep + 2);
}

/* RFC 3339 in UTC as CACAO writes it: YYYY-MM-DDTHH:MM:SS[.fff]Z */
static bool is_timestamp(const char *s)
{
    const char *f = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;
    for (; f[i]; i++) {
        if (s[i] == '\0')
            return false;
        if (f[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != f[i])
            return false;
    }
    if (s[i] == '.') {
        i++;
        if (!isdigit((unsigned char)s[i]))
            return false;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    return s[i] == 'Z' && s[i + 1] == '\0';
}

static const char *str_of(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A required string field of the playbook. */
static rp_status need_string(struct imp *im, const char *key, const char **out)
{
    json_t *v = json_object_get(im->doc, key);
    if (v == NULL)
        return fail(im, "%s: required, missing", key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(im, "%s: must be a non-empty string", key);
    *out = json_string_value(v);
    return RP_OK;
}

static int step_index(struct imp *im, const char *key)
{
    json_t *v = json_object_get(im->index, key);
    return v ? (int)json_integer_value(v) : -1;
}

/* Reads the step reference field of step s; -1 when absent. */
static rp_status ref_field(struct imp *im, struct cstep *s, const char *field, int *out)
{
    *out = -1;
    json_t *v = json_object_get(s->obj, field);
    if (v == NULL)
        return RP_OK;
    if (!json_is_string(v))
        return fail(im, "workflow step %s: %s must be a step id", s->key, field);
    int i = step_index(im, json_string_value(v));
    if (i < 0)
        return fail(im, "workflow step %s: %s names step %s, which is not in the workflow", s->key,
                    field, json_string_value(v));
    *out = i;
    return RP_OK;
}

/* An e-mail address as a contact may give it: local@domain, no spaces, no
 * characters a shell or a mail header would read specially. */
static bool is_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (p == at)
            continue;
        if (!(isalnum(c) || strchr(".!#$%&*+/=?^_{}~-", c) != NULL || c >= 0x80))
            return false;
        if (p > at && !(isalnum(c) || c == '.' || c == '-' || c >= 0x80))
            return false;
    }
    return true;
}

/* CACAO 2.0's agent and target types: an id that starts with one must hold
 * an object of that type. */
static bool spec_agent_type(const char *t, size_t n)
{
    static const char *const types[] = {
        "group", "individual",  "location",          "organization", "sector",       "http-api",
        "linux", "net-address", "security-category", "ssh",          "openc2-https", "openc2-mqtt"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strlen(types[i]) == n && strncmp(types[i], t, n) == 0)
            return true;
    return false;
}

static rp_status check_defs(struct imp *im, const char *field, json_t **out)
{
    json_t *defs = json_object_get(im->doc, field);
    *out = defs;
    if (defs == NULL)
        return RP_OK;
    if (!json_is_object(defs))
        return fail(im, "%s: must be an object keyed by id", field);
    if (json_object_size(defs) > RP_CACAO_DEFS_MAX)
        return rp_error_set(im->err, RP_E_LIMIT, "%s: more than %d entries", field,
                            RP_CACAO_DEFS_MAX);
    const char *key;
    json_t *def;
    json_object_foreach(defs, key, def)
    {
        if (!json_is_object(def))
            return fail(im, "%s.%s: must be an object", field, key);
        const char *type = str_of(def, "type");
        if (type == NULL || type[0] == '\0')
            return fail(im, "%s.%s: type: required, missing", field, key);
        const char *sep = strstr(key, "--");
        if (sep != NULL && spec_agent_type(key, (size_t)(sep - key)) &&
            ((size_t)(sep - key) != strlen(type) || strncmp(key, type, strlen(type)) != 0))
            return fail(im, "%s.%s: type is \"%s\" but the id says %.*s", field, key, type,
                        (int)(sep - key), key);
        json_t *email = json_object_get(json_object_get(def, "contact"), "email");
        if (email != NULL) {
            const char *k2;
            json_t *e;
            if (!json_is_object(email))
                return fail(im, "%s.%s: contact.email must be an object", field, key);
            json_object_foreach(email, k2, e)
            {
                if (!json_is_string(e) || !is_email(json_string_value(e)))
                    return fail(im, "%s.%s: contact.email.%s: invalid email address", field, key,
                                k2);
            }
        }
    }
    return RP_OK;
}

/* --- variables ---------------------------------------------------------------------- */

/* The Riposte value of a CACAO variable, typed by its CACAO type. */
static json_t *var_value(json_t *var)
{
    const char *type = str_of(var, "type");
    json_t *v = json_object_get(var, "value");
    if (v == NULL)
        return json_string("");
    if (!json_is_string(v))
        return json_deep_copy(v);
    const char *s = json_string_value(v);
    if (type != NULL && (strcmp(type, "integer") == 0 || strcmp(type, "long") == 0)) {
        char *end;
        long long x = strtoll(s, &end, 10);
        if (*s != '\0' && *end == '\0')
            return json_integer(x);
    } else if (type != NULL && strcmp(type, "float") == 0) {
        char *end;
        double x = strtod(s, &end);
        if (*s != '\0' && *end == '\0')
            return json_real(x);
    } else if (type != NULL && strcmp(type, "bool") == 0) {
        if (strcmp(s, "true") == 0)
            return json_true();
        if (strcmp(s, "false") == 0)
            return json_false();
    } else if (type != NULL && strcmp(type, "dictionary") == 0) {
        json_t *d = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(d))
            return d;
        json_decref(d);
    }
    return json_string(s);
}

static rp_status add_vars(struct imp *im, json_t *vars, const char *where)
{
    if (vars == NULL)
        return RP_OK;
    if (!json_is_object(vars))
        return fail(im, "%s: must be an object keyed by variable name", where);
    const char *key;
    json_t *var;
    json_object_foreach(vars, key, var)
    {
        const char *name;
        size_t nlen;
        if (var_ref(key, strlen(key), &name, &nlen) != strlen(key))
            return fail(im, "%s: variable \"%s\" is not named __name__", where, key);
        if (!json_is_object(var))
            return fail(im, "%s.%s: must be an object", where, key);
        if (json_object_size(im->vars) >= RP_CACAO_DEFS_MAX)
            return rp_error_set(im->err, RP_E_LIMIT, "more than %d variables", RP_CACAO_DEFS_MAX);
        char rname[256];
        if (nlen >= sizeof rname)
            return fail(im, "%s: variable name \"%s\" too long", where, key);
        memcpy(rname, name, nlen);
        rname[nlen] = '\0';
        json_t *val = var_value(var);
        if (val == NULL)
            return nomem(im);
        json_t *had = json_object_get(im->vars, rname);
        if (had != NULL) {
            bool same = json_equal(had, val) || json_object_get(var, "value") == NULL;
            json_decref(val);
            if (!same)
                return fail(im,
                            "%s: variable %s is defined again with another value (Riposte "
                            "variables belong to the whole playbook)",
                            where, key);
            continue;
        }
        if (json_object_set_new(im->vars, rname, val) != 0)
            return nomem(im);
    }
    return RP_OK;
}

/* Rewrites the variable references of a CACAO string as Riposte templates:
 * `__name__:value` always, a bare `__name__` when the variable is declared. */
static rp_status template_of(struct imp *im, const char *s, const char *where, json_t **out)
{
    *out = NULL;
    if (strstr(s, "{{") != NULL)
        return fail(im, "%s: contains \"{{\", which Riposte would read as a template", where);
    struct sb b = {.max = RP_CACAO_MAX_BYTES};
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        const char *name;
        size_t nlen;
        size_t k = var_ref(s + i, n - i, &name, &nlen);
        if (k > 0) {
            bool value = n - i - k >= 6 && strncmp(s + i + k, ":value", 6) == 0;
            char rname[256];
            bool declared = false;
            if (nlen < sizeof rname) {
                memcpy(rname, name, nlen);
                rname[nlen] = '\0';
                declared = json_object_get(im->vars, rname) != NULL;
            }
            if (value || declared) {
                sb_puts(&b, "{{ ");
                lua_var(&b, name, nlen);
                sb_puts(&b, " }}");
                i += k + (value ? 6 : 0);
                continue;
            }
        }
        sb_putn(&b, s + i, 1);
        i++;
    }
    char *t = sb_take(&b);
    if (t == NULL)
        return nomem(im);
    *out = json_string(t);
    free(t);
    return *out ? RP_OK : nomem(im);
}

/* A JSON value with its strings rewritten by template_of. */
static rp_status templates_in(struct imp *im, json_t *v, const char *where, int depth, json_t **out)
{
    *out = NULL;
    if (depth > RP_JSON_MAX_DEPTH)
        return fail(im, "%s: nested deeper than %d", where, RP_JSON_MAX_DEPTH);
    if (json_is_string(v))
        return template_of(im, json_string_value(v), where, out);
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        if (o == NULL)
            return nomem(im);
        json_object_foreach(v, k, x)
        {
            json_t *y;
            rp_status st = templates_in(im, x, where, depth + 1, &y);
            if (st != RP_OK || json_object_set_new(o, k, y) != 0) {
                json_decref(o);
                return st != RP_OK ? st : nomem(im);
            }
        }
        *out = o;
        return RP_OK;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        if (a == NULL)
            return nomem(im);
        json_array_foreach(v, i, x)
        {
            json_t *y;
            rp_status st = templates_in(im, x, where, depth + 1, &y);
            if (st != RP_OK || json_array_append_new(a, y) != 0) {
                json_decref(a);
                return st != RP_OK ? st : nomem(im);
            }
        }
        *out = a;
        return RP_OK;
    }
    *out = json_deep_copy(v);
    return *out ? RP_OK : nomem(im);
}

/* --- pass 1: the steps ----------------------------------------------------------------- */

static rp_status read_step(struct imp *im, struct cstep *s)
{
    rp_status st;
    const char *type = str_of(s->obj, "type");
    if (type == NULL)
        return fail(im, "workflow step %s: type: required, missing", s->key);
    size_t t;
    for (t = 0; t < sizeof CT_NAMES / sizeof CT_NAMES[0]; t++)
        if (strcmp(type, CT_NAMES[t]) == 0)
            break;
    if (t == sizeof CT_NAMES / sizeof CT_NAMES[0])
        return fail(im, "workflow step %s: type \"%s\" is not a CACAO 2.0 step type", s->key, type);
    s->type = (enum ctype)t;
    if ((st = ref_field(im, s, "on_completion", &s->on_completion)) != RP_OK ||
        (st = ref_field(im, s, "on_success", &s->on_success)) != RP_OK ||
        (st = ref_field(im, s, "on_failure", &s->on_failure)) != RP_OK ||
        (st = ref_field(im, s, "on_true", &s->on_true)) != RP_OK ||
        (st = ref_field(im, s, "on_false", &s->on_false)) != RP_OK)
        return st;
    if (s->on_completion >= 0 && (s->on_success >= 0 || s->on_failure >= 0))
        return fail(im,
                    "workflow step %s: on_completion cannot be used with on_success or "
                    "on_failure",
                    s->key);
    s->case_default = -1;
    json_t *ns = json_object_get(s->obj, "next_steps");
    if (ns != NULL) {
        if (!json_is_array(ns))
            return fail(im, "workflow step %s: next_steps must be a list of step ids", s->key);
        size_t n = json_array_size(ns);
        if (n > RP_CACAO_STEPS_MAX)
            return rp_error_set(im->err, RP_E_LIMIT, "workflow step %s: too many next_steps",
                                s->key);
        s->next = calloc(n ? n : 1, sizeof *s->next);
        if (s->next == NULL)
            return nomem(im);
        for (size_t i = 0; i < n; i++) {
            const char *id = json_string_value(json_array_get(ns, i));
            int k = id ? step_index(im, id) : -1;
            if (k < 0)
                return fail(im,
                            "workflow step %s: next_steps[%zu] names %s, which is not in the "
                            "workflow",
                            s->key, i, id ? id : "(not a string)");
            s->next[s->nnext++] = k;
        }
    }
    json_t *cases = json_object_get(s->obj, "cases");
    if (cases != NULL) {
        if (!json_is_object(cases))
            return fail(im, "workflow step %s: cases must be an object value -> step id", s->key);
        size_t n = json_object_size(cases);
        if (n > RP_CACAO_STEPS_MAX)
            return rp_error_set(im->err, RP_E_LIMIT, "workflow step %s: too many cases", s->key);
        s->cases = calloc(n ? n : 1, sizeof *s->cases);
        if (s->cases == NULL)
            return nomem(im);
        const char *k;
        json_t *v;
        json_object_foreach(cases, k, v)
        {
            const char *id = json_string_value(v);
            int i = id ? step_index(im, id) : -1;
            if (i < 0)
                return fail(im,
                            "workflow step %s: cases.%s names %s, which is not in the "
                            "workflow",
                            s->key, k, id ? id : "(not a string)");
            if (strcmp(k, "default") == 0)
                s->case_default = i;
            else
                s->cases[s->ncases++] = (struct ccase){k, i};
        }
    }
    json_t *exts = json_object_get(s->obj, "step_extensions");
    s->ext = json_object_get(exts, im->ext_id);
    s->rid = s->key;
    if (s->ext != NULL && !json_is_true(json_object_get(s->ext, "synthetic"))) {
        const char *rid = str_of(s->ext, "id");
        if (!json_is_object(s->ext) || rid == NULL || rid[0] == '\0')
            return fail(im, "workflow step %s: the Riposte extension has no id", s->key);
        /* what cacao_export writes, and nothing else: a step whose extension
         * lost its spec would silently become another kind of step */
        static const char *const EXT_KEYS[] = {"id",       "kind",      "spec", "branches",
                                               "on_error", "synthetic", NULL};
        const char *k;
        json_t *v;
        json_object_foreach(s->ext, k, v)
        {
            size_t i = 0;
            while (EXT_KEYS[i] != NULL && strcmp(EXT_KEYS[i], k) != 0)
                i++;
            if (EXT_KEYS[i] == NULL)
                return fail(im,
                            "workflow step %s: the Riposte extension has an unknown key \"%.80s\"",
                            s->key, k);
        }
        if (!json_is_object(json_object_get(s->ext, "spec")))
            return fail(im, "workflow step %s: the Riposte extension has no spec object", s->key);
        s->rid = rid;
    }
    switch (s->type) {
    case CT_ACTION: {
        json_t *cmds = json_object_get(s->obj, "commands");
        if (!json_is_array(cmds) || json_array_size(cmds) == 0)
            return fail(im, "workflow step %s: an action step needs commands", s->key);
        if (json_array_size(cmds) > RP_CACAO_COMMANDS_MAX)
            return rp_error_set(im->err, RP_E_LIMIT, "workflow step %s: more than %d commands",
                                s->key, RP_CACAO_COMMANDS_MAX);
        size_t i;
        json_t *c;
        json_array_foreach(cmds, i, c)
        {
            const char *ct = str_of(c, "type");
            if (ct == NULL || ct[0] == '\0')
                return fail(im, "workflow step %s: commands[%zu].type: required, missing", s->key,
                            i);
            for (const char *p = ct; *p; p++)
                if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
                    return fail(im,
                                "workflow step %s: commands[%zu].type \"%s\" is not a command "
                                "type",
                                s->key, i, ct);
        }
        break;
    }
    case CT_PLAYBOOK_ACTION:
        if (str_of(s->obj, "playbook_id") == NULL ||
            !is_identifier(str_of(s->obj, "playbook_id"), "playbook"))
            return fail(im, "workflow step %s: playbook_id must be playbook--UUID", s->key);
        break;
    case CT_PARALLEL:
        if (s->nnext == 0)
            return fail(im, "workflow step %s: a parallel step needs next_steps", s->key);
        break;
    case CT_IF:
    case CT_WHILE:
        if (!json_is_string(json_object_get(s->obj, "condition")))
            return fail(im, "workflow step %s: condition: required, missing", s->key);
        if (s->on_true < 0)
            return fail(im, "workflow step %s: on_true: required, missing", s->key);
        break;
    case CT_SWITCH:
        if (!json_is_string(json_object_get(s->obj, "switch")))
            return fail(im, "workflow step %s: switch: required, missing", s->key);
        if (cases == NULL)
            return fail(im, "workflow step %s: cases: required, missing", s->key);
        break;
    default:
        break;
    }
    const char *agent = str_of(s->obj, "agent");
    if (agent != NULL && json_object_get(im->agents, agent) == NULL)
        return fail(im, "workflow step %s: agent %s is not in agent_definitions", s->key, agent);
    json_t *targets = json_object_get(s->obj, "targets");
    if (targets != NULL) {
        size_t i;
        json_t *t2;
        if (!json_is_array(targets))
            return fail(im, "workflow step %s: targets must be a list of ids", s->key);
        json_array_foreach(targets, i, t2)
        {
            const char *id = json_string_value(t2);
            if (id == NULL || json_object_get(im->targets, id) == NULL)
                return fail(im, "workflow step %s: target %s is not in target_definitions", s->key,
                            id ? id : "(not a string)");
        }
    }
    json_t *timeout = json_object_get(s->obj, "timeout");
    if (timeout != NULL && (!json_is_integer(timeout) || json_integer_value(timeout) < 0))
        return fail(im, "workflow step %s: timeout must be a whole number of milliseconds", s->key);
    char where[160];
    snprintf(where, sizeof where, "workflow step %.100s: step_variables", s->key);
    return add_vars(im, json_object_get(s->obj, "step_variables"), where);
}

/* --- pass 2: lay the graph out as lists ------------------------------------------------- */

struct region {
    int id;
    int depth;
    bool end_run; /* end steps end the run (the top list) */
    int stop[2];
    int *order;
    size_t norder, cap;
    bool need_term;
    char term_id[160];
};

static bool is_stop(const struct region *r, int i)
{
    return i >= 0 && (i == r->stop[0] || i == r->stop[1]);
}

/* An end step Riposte exported from one of its own `end` steps: always a step. */
static bool end_is_step(const struct imp *im, int i)
{
    const char *k = str_of(im->st[i].ext, "kind");
    return k != NULL && strcmp(k, "end") == 0;
}

/* The end step Riposte's export puts at the end of each list: the list ends. */
static bool end_is_synthetic(const struct imp *im, int i)
{
    return json_is_true(json_object_get(im->st[i].ext, "synthetic"));
}

/* Where a jump to target lands from a place whose continuation is cont: a
 * step (*out, with its continuation *out_cont) or the end of the list (-1). */
static void resolve(struct imp *im, const struct region *r, int target, int cont, int *out,
                    int *out_cont)
{
    for (;;) {
        if (target < 0 || is_stop(r, target)) {
            *out = -1;
            *out_cont = -1;
            return;
        }
        if (im->st[target].type == CT_END && end_is_step(im, target)) {
            *out = target;
            *out_cont = cont;
            return;
        }
        if (im->st[target].type == CT_END && end_is_synthetic(im, target)) {
            *out = -1;
            *out_cont = -1;
            return;
        }
        if (im->st[target].type == CT_END) {
            if (cont >= 0) {
                target = im->conts[cont].target;
                cont = im->conts[cont].parent;
                continue;
            }
            if (!r->end_run) {
                *out = -1;
                *out_cont = -1;
                return;
            }
        }
        *out = target;
        *out_cont = cont;
        return;
    }
}

static bool same_cont(const struct imp *im, int a, int b)
{
    while (a >= 0 && b >= 0) {
        if (im->conts[a].target != im->conts[b].target)
            return false;
        a = im->conts[a].parent;
        b = im->conts[b].parent;
    }
    return a == b;
}

static rp_status push_cont(struct imp *im, int target, int parent, int *out)
{
    if (im->nconts == im->capconts) {
        size_t cap = im->capconts ? im->capconts * 2 : 16;
        if (cap > 4 * RP_CACAO_STEPS_MAX)
            return rp_error_set(im->err, RP_E_LIMIT, "workflow too large");
        struct cont *c = realloc(im->conts, cap * sizeof *c);
        if (c == NULL)
            return nomem(im);
        im->conts = c;
        im->capconts = cap;
    }
    im->conts[im->nconts] = (struct cont){target, parent};
    *out = (int)im->nconts++;
    return RP_OK;
}

static rp_status walk(struct imp *im, struct region *r, int idx, int cont, int depth);

static rp_status walk_to(struct imp *im, struct region *r, int target, int cont, int depth)
{
    int to, to_cont;
    resolve(im, r, target, cont, &to, &to_cont);
    return to < 0 ? RP_OK : walk(im, r, to, to_cont, depth);
}

static rp_status walk(struct imp *im, struct region *r, int idx, int cont, int depth)
{
    struct cstep *s = &im->st[idx];
    if (depth > RP_CACAO_STEPS_MAX)
        return rp_error_set(im->err, RP_E_LIMIT, "workflow deeper than %d steps",
                            RP_CACAO_STEPS_MAX);
    if (s->region == r->id) {
        if (s->mark == 1)
            return fail(im,
                        "workflow step %s is reached again through its own successors (a loop): "
                        "CACAO loops must be "
                        "while-condition steps",
                        s->key);
        if (!same_cont(im, s->cont, cont))
            return fail(im,
                        "workflow step %s is reached from inside and from outside the branch of "
                        "a condition that has an on_completion",
                        s->key);
        return RP_OK;
    }
    if (s->region != 0)
        return fail(im,
                    "workflow step %s is reached both inside and outside a parallel branch or "
                    "while body, which Riposte keeps in separate lists",
                    s->key);
    if (s->type == CT_START)
        return fail(im, "workflow step %s: a start step can only begin the workflow", s->key);
    s->region = r->id;
    s->mark = 1;
    s->cont = cont;
    rp_status st = RP_OK;
    int seq = s->on_completion >= 0 ? s->on_completion : s->on_success;
    /* The jumps (to failure handlers, branches, cases, the join) are walked in
     * the order of the workflow, the last first, so that the reverse
     * post-order keeps the author's order; the plain successor is walked
     * last, so that it comes right after the step. */
    struct child {
        int target, cont;
    } *kids = calloc(s->ncases + 5, sizeof *kids);
    size_t nk = 0;
    if (kids == NULL)
        return nomem(im);
    if (s->on_failure >= 0)
        kids[nk++] = (struct child){s->on_failure, cont};
    switch (s->type) {
    case CT_IF:
    case CT_SWITCH: {
        int bc = cont;
        if (s->on_completion >= 0 && (st = push_cont(im, s->on_completion, cont, &bc)) != RP_OK)
            break;
        if (s->on_completion >= 0)
            kids[nk++] = (struct child){s->on_completion, cont};
        if (s->type == CT_IF) {
            if (s->on_false >= 0)
                kids[nk++] = (struct child){s->on_false, bc};
            kids[nk++] = (struct child){s->on_true, bc};
        } else {
            if (s->case_default >= 0)
                kids[nk++] = (struct child){s->case_default, bc};
            for (size_t i = 0; i < s->ncases; i++)
                kids[nk++] = (struct child){s->cases[i].target, bc};
        }
        seq = -1;
        break;
    }
    case CT_WHILE:
        if (s->on_false >= 0 && s->on_completion >= 0 && s->on_false != s->on_completion)
            st = fail(im, "workflow step %s: on_false and on_completion name different steps",
                      s->key);
        seq = s->on_false >= 0 ? s->on_false : s->on_completion;
        break;
    case CT_END:
        seq = -1;
        break;
    default:
        break;
    }
    /* insertion sort, workflow order descending (nk is small) */
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && kids[j - 1].target < kids[j].target; j--) {
            struct child t = kids[j];
            kids[j] = kids[j - 1];
            kids[j - 1] = t;
        }
    for (size_t i = 0; i < nk && st == RP_OK; i++)
        st = walk_to(im, r, kids[i].target, kids[i].cont, depth + 1);
    free(kids);
    if (st != RP_OK)
        return st;
    if (seq >= 0 && (st = walk_to(im, r, seq, cont, depth + 1)) != RP_OK)
        return st;
    s->mark = 2;
    if (r->norder == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        int *o = realloc(r->order, cap * sizeof *o);
        if (o == NULL)
            return nomem(im);
        r->order = o;
        r->cap = cap;
    }
    r->order[r->norder++] = idx;
    return RP_OK;
}

/* --- pass 3: Riposte steps ------------------------------------------------------------------ */

static rp_status build_list(struct imp *im, int entry, int stop0, int stop1, bool end_run,
                            int depth, const char *owner, json_t **out);

/* The id to jump to for target, seen from position pos; NULL when the step
 * simply falls through there (allowed only when fall is true). */
static const char *jump_id(struct imp *im, struct region *r, int target, int cont, size_t pos,
                           bool fall)
{
    int to, to_cont;
    resolve(im, r, target, cont, &to, &to_cont);
    if (to < 0) {
        if (fall && pos + 1 == r->norder)
            return NULL;
        r->need_term = true;
        return r->term_id;
    }
    if (fall && im->st[to].pos == (int)pos + 1)
        return NULL;
    return im->st[to].rid;
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return v == NULL ? 0 : json_object_set_new(o, k, json_string(v));
}

/* "1500ms", "90s", "5m", "2h", "3d": the largest unit that keeps it exact. */
static void duration_text(long long ms, char *out, size_t n)
{
    static const struct {
        long long ms;
        const char *unit;
    } u[] = {{86400000LL, "d"}, {3600000LL, "h"}, {60000LL, "m"}, {1000LL, "s"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (ms % u[i].ms == 0) {
            snprintf(out, n, "%lld%s", ms / u[i].ms, u[i].unit);
            return;
        }
    snprintf(out, n, "%lldms", ms);
}

/* The fields every step shares: name and timeout from CACAO, or all from the
 * extension's spec. */
static rp_status common_fields(struct imp *im, struct cstep *s, json_t *o, const char *id)
{
    /* An id with a dot is one the loader made for a parallel branch
     * ("PARENT.N"); it makes the same one again. */
    if (strchr(id, '.') == NULL && json_object_set_new(o, "id", json_string(id)) != 0)
        return nomem(im);
    if (s->ext != NULL) {
        json_t *spec = json_object_get(s->ext, "spec");
        if (spec != NULL && !json_is_object(spec))
            return fail(im, "workflow step %s: the Riposte extension's spec is not an object",
                        s->key);
        if (spec != NULL && json_object_update(o, spec) != 0)
            return nomem(im);
        return RP_OK;
    }
    const char *name = str_of(s->obj, "name");
    if (name != NULL && set_str(o, "name", name) != 0)
        return nomem(im);
    json_t *timeout = json_object_get(s->obj, "timeout");
    if (timeout != NULL && json_integer_value(timeout) > 0) {
        char d[32];
        duration_text((long long)json_integer_value(timeout), d, sizeof d);
        if (set_str(o, "timeout", d) != 0)
            return nomem(im);
    }
    return RP_OK;
}

/* The definition of an agent or target with its id, credentials left out. */
static json_t *def_of(json_t *defs, const char *id)
{
    json_t *d = json_deep_copy(json_object_get(defs, id));
    if (d == NULL)
        return NULL;
    json_t *o = json_object();
    if (o == NULL || json_object_set_new(o, "id", json_string(id)) != 0 ||
        json_object_update(o, d) != 0) {
        json_decref(o);
        json_decref(d);
        return NULL;
    }
    json_decref(d);
    return o;
}

static rp_status action_with(struct imp *im, struct cstep *s, json_t *cmd, json_t **out)
{
    char where[200];
    snprintf(where, sizeof where, "workflow step %.100s: command", s->key);
    json_t *c = json_deep_copy(cmd);
    if (c == NULL)
        return nomem(im);
    json_object_del(c, "type");
    json_t *w;
    rp_status st = templates_in(im, c, where, 0, &w);
    json_decref(c);
    if (st != RP_OK)
        return st;
    const char *agent = str_of(s->obj, "agent");
    if (agent != NULL) {
        json_t *a = def_of(im->agents, agent);
        if (a == NULL || json_object_set_new(w, "agent", a) != 0) {
            json_decref(w);
            return nomem(im);
        }
    }
    json_t *targets = json_object_get(s->obj, "targets");
    if (json_array_size(targets) > 0) {
        json_t *arr = json_array();
        size_t i;
        json_t *t;
        if (arr == NULL || json_object_set_new(w, "targets", arr) != 0) {
            json_decref(w);
            return nomem(im);
        }
        json_array_foreach(targets, i, t)
        {
            json_t *d = def_of(im->targets, json_string_value(t));
            if (d == NULL || json_array_append_new(arr, d) != 0) {
                json_decref(w);
                return nomem(im);
            }
        }
    }
    json_t *out_args = json_object_get(s->obj, "out_args");
    if (out_args != NULL && json_object_set(w, "out_args", out_args) != 0) {
        json_decref(w);
        return nomem(im);
    }
    *out = w;
    return RP_OK;
}

static rp_status cond_lua(struct imp *im, struct cstep *s, const char *field, char **out)
{
    const char *cond = str_of(s->obj, field);
    rp_status st = cacao_condition_to_lua(cond ? cond : "", out, im->err);
    if (st != RP_OK)
        rp_error_prefix(im->err, "workflow step %s: %s", s->key, field);
    return st;
}

/* The Lua of a switch-condition's `switch`: one variable or path. */
static rp_status switch_lua(struct imp *im, struct cstep *s, char **out)
{
    const char *sw = str_of(s->obj, "switch");
    const char *name;
    size_t nlen;
    size_t k = var_ref(sw, strlen(sw), &name, &nlen);
    if (k == 0 || !(sw[k] == '\0' || strcmp(sw + k, ":value") == 0))
        return fail(im, "workflow step %s: switch must name a variable (__name__:value)", s->key);
    struct sb b = {.max = 1024};
    sb_puts(&b, "tostring(");
    lua_var(&b, name, nlen);
    sb_puts(&b, ")");
    *out = sb_take(&b);
    return *out ? RP_OK : nomem(im);
}

static rp_status add_step(struct imp *im, json_t *list, json_t *o)
{
    if (json_array_append_new(list, o) != 0)
        return nomem(im);
    return RP_OK;
}

static rp_status emit_step(struct imp *im, struct region *r, size_t pos, json_t *list)
{
    struct cstep *s = &im->st[r->order[pos]];
    rp_status st = RP_OK;
    int seq = s->on_completion >= 0 ? s->on_completion : s->on_success;
    const char *ext_kind = s->ext ? str_of(s->ext, "kind") : NULL;
    const char *on_err = NULL;
    bool err_continue =
        s->ext && str_of(s->ext, "on_error") && strcmp(str_of(s->ext, "on_error"), "continue") == 0;
    if (s->on_failure >= 0 && !err_continue)
        on_err = jump_id(im, r, s->on_failure, s->cont, pos, false);
    json_t *o = json_object();
    if (o == NULL)
        return nomem(im);

    switch (s->type) {
    case CT_END:
        if ((st = common_fields(im, s, o, s->rid)) != RP_OK)
            break;
        if (json_object_get(o, "end") == NULL && set_str(o, "end", "success") != 0)
            st = nomem(im);
        seq = -2; /* an end has no successor */
        break;
    case CT_ACTION: {
        /* One Riposte step per command, in order; the last takes the jumps. */
        json_t *cmds = json_object_get(s->obj, "commands");
        size_t n = s->ext ? 1 : json_array_size(cmds);
        json_decref(o);
        o = NULL;
        for (size_t i = 0; i < n && st == RP_OK; i++) {
            char id[200];
            if (i == 0)
                snprintf(id, sizeof id, "%s", s->rid);
            else
                snprintf(id, sizeof id, "%s-%zu", s->rid, i + 1);
            json_t *step = json_object();
            if (step == NULL) {
                st = nomem(im);
                break;
            }
            if ((st = common_fields(im, s, step, id)) == RP_OK && s->ext == NULL) {
                json_t *cmd = json_array_get(cmds, i);
                char action[160];
                snprintf(action, sizeof action, "cacao.%s", str_of(cmd, "type"));
                json_t *with = NULL;
                if (set_str(step, "action", action) != 0)
                    st = nomem(im);
                else if ((st = action_with(im, s, cmd, &with)) == RP_OK &&
                         json_object_set_new(step, "with", with) != 0)
                    st = nomem(im);
            }
            if (st == RP_OK && i + 1 < n) {
                if ((on_err != NULL && set_str(step, "on_error", on_err) != 0) ||
                    (err_continue && set_str(step, "on_error", "continue") != 0))
                    st = nomem(im);
                else
                    st = add_step(im, list, step);
                step = NULL;
            }
            if (st != RP_OK)
                json_decref(step);
            else if (step != NULL)
                o = step;
        }
        if (st == RP_OK && o == NULL)
            st = nomem(im);
        break;
    }
    case CT_PLAYBOOK_ACTION:
        if ((st = common_fields(im, s, o, s->rid)) != RP_OK)
            break;
        if (s->ext == NULL) {
            if (set_str(o, "playbook", str_of(s->obj, "playbook_id")) != 0) {
                st = nomem(im);
                break;
            }
            json_t *in = json_object_get(s->obj, "in_args");
            if (json_array_size(in) > 0) {
                json_t *inputs = json_object();
                size_t i;
                json_t *a;
                if (inputs == NULL || json_object_set_new(o, "inputs", inputs) != 0) {
                    st = nomem(im);
                    break;
                }
                json_array_foreach(in, i, a)
                {
                    const char *v = json_string_value(a), *name;
                    size_t nlen;
                    if (v == NULL || var_ref(v, strlen(v), &name, &nlen) != strlen(v)) {
                        st = fail(im, "workflow step %s: in_args[%zu] is not a variable name",
                                  s->key, i);
                        break;
                    }
                    struct sb b = {.max = 1024};
                    char key[256];
                    snprintf(key, sizeof key, "%.*s", (int)nlen, name);
                    sb_puts(&b, "{{ ");
                    lua_var(&b, name, nlen);
                    sb_puts(&b, " }}");
                    char *t = sb_take(&b);
                    if (t == NULL || set_str(inputs, key, t) != 0)
                        st = nomem(im);
                    free(t);
                    if (st != RP_OK)
                        break;
                }
            }
        }
        break;
    case CT_IF:
    case CT_SWITCH: {
        if ((st = common_fields(im, s, o, s->rid)) != RP_OK)
            break;
        int bc = s->cont;
        for (size_t c = 0; c < im->nconts; c++)
            if (s->on_completion >= 0 && im->conts[c].target == s->on_completion &&
                im->conts[c].parent == s->cont) {
                bc = (int)c;
                break;
            }
        json_t *cases = json_object();
        if (cases == NULL || json_object_set_new(o, "cases", cases) != 0) {
            st = nomem(im);
            break;
        }
        int dflt;
        if (s->type == CT_IF) {
            if (s->ext == NULL) {
                char *lua = NULL;
                if ((st = cond_lua(im, s, "condition", &lua)) != RP_OK)
                    break;
                struct sb b = {.max = RP_CACAO_COND_MAX * 32};
                sb_puts(&b, "tostring(");
                sb_puts(&b, lua);
                sb_puts(&b, ")");
                free(lua);
                char *t = sb_take(&b);
                if (t == NULL || set_str(o, "switch", t) != 0)
                    st = nomem(im);
                free(t);
                if (st != RP_OK)
                    break;
            }
            if (set_str(cases, "true", jump_id(im, r, s->on_true, bc, pos, false)) != 0) {
                st = nomem(im);
                break;
            }
            dflt = s->on_false >= 0 ? s->on_false : s->on_completion;
        } else {
            if (s->ext == NULL) {
                char *lua = NULL;
                if ((st = switch_lua(im, s, &lua)) != RP_OK)
                    break;
                if (set_str(o, "switch", lua) != 0)
                    st = nomem(im);
                free(lua);
                if (st != RP_OK)
                    break;
            }
            for (size_t i = 0; i < s->ncases && st == RP_OK; i++)
                if (set_str(cases, s->cases[i].value,
                            jump_id(im, r, s->cases[i].target, bc, pos, false)) != 0)
                    st = nomem(im);
            dflt = s->case_default >= 0 ? s->case_default : s->on_completion;
            if (s->case_default < 0 && s->on_completion < 0)
                dflt = -3; /* fall through */
        }
        if (st != RP_OK)
            break;
        /* cases after switch, as people write it */
        json_incref(cases);
        json_object_del(o, "cases");
        if (json_object_set_new(o, "cases", cases) != 0) {
            st = nomem(im);
            break;
        }
        if (dflt != -3) {
            const char *d =
                jump_id(im, r, dflt, dflt == s->on_completion ? s->cont : bc, pos, true);
            if (d != NULL && set_str(o, "default", d) != 0)
                st = nomem(im);
        }
        seq = -2;
        break;
    }
    case CT_WHILE: {
        if ((st = common_fields(im, s, o, s->rid)) != RP_OK)
            break;
        int exit_to = s->on_false >= 0 ? s->on_false : s->on_completion;
        json_t *body = NULL;
        if ((st = build_list(im, s->on_true, r->order[pos], exit_to, false, r->depth + 1, s->rid,
                             &body)) != RP_OK)
            break;
        bool for_each = ext_kind != NULL && strcmp(ext_kind, "for_each") == 0;
        if (s->ext == NULL) {
            char *lua = NULL;
            if ((st = cond_lua(im, s, "condition", &lua)) != RP_OK) {
                json_decref(body);
                break;
            }
            if (set_str(o, "while", lua) != 0 ||
                json_object_set_new(o, "max", json_integer(RP_CACAO_WHILE_MAX)) != 0)
                st = nomem(im);
            free(lua);
        }
        (void)for_each;
        if (st != RP_OK || json_object_set_new(o, "steps", body) != 0) {
            if (st == RP_OK) {
                st = nomem(im);
            } else {
                json_decref(body);
            }
        }
        seq = exit_to;
        break;
    }
    case CT_PARALLEL: {
        if ((st = common_fields(im, s, o, s->rid)) != RP_OK)
            break;
        json_t *branches = json_array();
        if (branches == NULL || json_object_set_new(o, "parallel", branches) != 0) {
            st = nomem(im);
            break;
        }
        json_t *ext_br = s->ext ? json_object_get(s->ext, "branches") : NULL;
        for (size_t i = 0; i < s->nnext && st == RP_OK; i++) {
            json_t *blist = NULL;
            char owner[200];
            snprintf(owner, sizeof owner, "%s-%zu", s->rid, i + 1);
            if ((st = build_list(im, s->next[i], s->on_completion, -1, false, r->depth + 1, owner,
                                 &blist)) != RP_OK)
                break;
            json_t *eb = json_array_get(ext_br, i);
            const char *gid = str_of(eb, "group");
            size_t n = json_array_size(blist);
            json_t *first = json_array_get(blist, 0);
            if (n == 0) {
                json_decref(blist);
                continue;
            }
            if (gid == NULL && n == 1 && json_object_get(first, "next") == NULL &&
                json_object_get(first, "on_error") == NULL && eb == NULL) {
                if (json_array_append(branches, first) != 0)
                    st = nomem(im);
                json_decref(blist);
                continue;
            }
            if (gid == NULL && eb != NULL && n == 1) {
                if (json_array_append(branches, first) != 0)
                    st = nomem(im);
                json_decref(blist);
                continue;
            }
            json_t *g = json_object();
            if (g == NULL ||
                (gid != NULL && strchr(gid, '.') == NULL && set_str(g, "id", gid) != 0) ||
                json_object_set_new(g, "steps", blist) != 0 ||
                json_array_append_new(branches, g) != 0) {
                st = nomem(im);
                break;
            }
        }
        if (st == RP_OK && json_array_size(branches) == 0)
            st = fail(im, "workflow step %s: every branch of the parallel step is empty", s->key);
        break;
    }
    case CT_START:
        st = fail(im, "workflow step %s: a start step can only begin the workflow", s->key);
        break;
    }
    if (st != RP_OK) {
        json_decref(o);
        return st;
    }
    if (on_err != NULL && set_str(o, "on_error", on_err) != 0) {
        json_decref(o);
        return nomem(im);
    }
    if (err_continue && set_str(o, "on_error", "continue") != 0) {
        json_decref(o);
        return nomem(im);
    }
    if (seq != -2) {
        const char *nx = jump_id(im, r, seq, s->cont, pos, true);
        if (nx != NULL && set_str(o, "next", nx) != 0) {
            json_decref(o);
            return nomem(im);
        }
    }
    return add_step(im, list, o);
}

/* Lays out the steps reachable from entry (the region ends at stop0/stop1 and
 * at end steps unless end_run) and writes them as one Riposte list. */
static rp_status build_list(struct imp *im, int entry, int stop0, int stop1, bool end_run,
                            int depth, const char *owner, json_t **out)
{
    *out = NULL;
    if (depth > RP_CACAO_DEPTH_MAX)
        return rp_error_set(im->err, RP_E_LIMIT,
                            "parallel and while-condition steps nested deeper than %d",
                            RP_CACAO_DEPTH_MAX);
    struct region r = {
        .id = ++im->nregions, .depth = depth, .end_run = end_run, .stop = {stop0, stop1}};
    snprintf(r.term_id, sizeof r.term_id, "%s-end", owner);
    rp_status st = walk_to(im, &r, entry, -1, 0);
    json_t *list = NULL;
    if (st != RP_OK)
        goto out;
    /* reverse post-order */
    for (size_t i = 0; i < r.norder / 2; i++) {
        int t = r.order[i];
        r.order[i] = r.order[r.norder - 1 - i];
        r.order[r.norder - 1 - i] = t;
    }
    for (size_t i = 0; i < r.norder; i++)
        im->st[r.order[i]].pos = (int)i;
    list = json_array();
    if (list == NULL) {
        st = nomem(im);
        goto out;
    }
    for (size_t i = 0; i < r.norder && st == RP_OK; i++)
        st = emit_step(im, &r, i, list);
    if (st == RP_OK && r.need_term) {
        /* The end of the list as a step to jump to: the end of the run at the
         * top, a step that is always skipped in a nested list. */
        json_t *t = json_object();
        if (t == NULL || set_str(t, "id", r.term_id) != 0 ||
            (!end_run && set_str(t, "when", "false") != 0) || set_str(t, "end", "success") != 0 ||
            json_array_append_new(list, t) != 0) {
            json_decref(t);
            st = nomem(im);
        }
    }
out:
    free(r.order);
    if (st != RP_OK) {
        json_decref(list);
        return st;
    }
    *out = list;
    return RP_OK;
}

/* A playbook name Riposte accepts ([a-z0-9_-]) from a CACAO name. */
static void slug(const char *name, const char *uuid, char *out, size_t n)
{
    size_t k = 0;
    bool dash = false;
    for (const char *p = name; *p && k + 1 < n && k < 64; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) && c < 0x80) {
            if (dash && k > 0)
                out[k++] = '-';
            dash = false;
            if (k + 1 < n)
                out[k++] = (char)tolower(c);
        } else {
            dash = true;
        }
    }
    out[k] = '\0';
    if (k == 0)
        snprintf(out, n, "cacao-%.8s", uuid);
}

static void imp_fini(struct imp *im)
{
    for (size_t i = 0; i < im->n; i++) {
        free(im->st[i].next);
        free(im->st[i].cases);
    }
    free(im->st);
    free(im->conts);
    json_decref(im->index);
    json_decref(im->vars);
    json_decref(im->doc);
}

rp_status cacao_import_tree(const char *json, size_t len, json_t **tree_out, struct rp_error *err)
{
    *tree_out = NULL;
    struct imp im = {.err = err};
    rp_status st;
    json_t *tree = NULL;
    if (len > RP_CACAO_MAX_BYTES)
        return rp_error_set(err, RP_E_LIMIT, "playbook larger than %u bytes", RP_CACAO_MAX_BYTES);
    json_error_t jerr;
    im.doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (im.doc == NULL)
        return rp_error_set(err, RP_E_INVALID, "not JSON: line %d, column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    cacao_ext_id(im.ext_id);
    im.vars = json_object();
    im.index = json_object();
    if (im.vars == NULL || im.index == NULL) {
        st = nomem(&im);
        goto out;
    }
    if (!json_is_object(im.doc)) {
        st = fail(&im, "a CACAO playbook is a JSON object");
        goto out;
    }
    const char *type, *spec, *id, *name, *created, *modified, *start;
    if ((st = need_string(&im, "type", &type)) != RP_OK ||
        (st = need_string(&im, "spec_version", &spec)) != RP_OK ||
        (st = need_string(&im, "id", &id)) != RP_OK ||
        (st = need_string(&im, "name", &name)) != RP_OK ||
        (st = need_string(&im, "created", &created)) != RP_OK ||
        (st = need_string(&im, "modified", &modified)) != RP_OK ||
        (st = need_string(&im, "workflow_start", &start)) != RP_OK)
        goto out;
    if (strcmp(type, "playbook") != 0) {
        st = fail(&im, "type: must be \"playbook\", not \"%s\"", type);
        goto out;
    }
    if (strcmp(spec, "cacao-2.0") != 0) {
        st = fail(&im, "spec_version: must be \"cacao-2.0\", not \"%s\"", spec);
        goto out;
    }
    if (!is_identifier(id, "playbook")) {
        st = fail(&im, "id: must be playbook--UUID, not \"%s\"", id);
        goto out;
    }
    if (!is_timestamp(created) || !is_timestamp(modified)) {
        st = fail(&im, "%s: must be an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS.sssZ)",
                  is_timestamp(created) ? "modified" : "created");
        goto out;
    }
    json_t *wf = json_object_get(im.doc, "workflow");
    if (wf == NULL) {
        st = fail(&im, "workflow: required, missing");
        goto out;
    }
    if (!json_is_object(wf)) {
        st = fail(&im, "workflow: must be an object keyed by step id (TYPE--UUID)");
        goto out;
    }
    im.n = json_object_size(wf);
    if (im.n == 0) {
        st = fail(&im, "workflow: has no steps");
        goto out;
    }
    if (im.n > RP_CACAO_STEPS_MAX) {
        st = rp_error_set(err, RP_E_LIMIT, "workflow: more than %d steps", RP_CACAO_STEPS_MAX);
        goto out;
    }
    im.st = calloc(im.n, sizeof *im.st);
    if (im.st == NULL) {
        st = nomem(&im);
        goto out;
    }
    {
        const char *key;
        json_t *obj;
        size_t i = 0;
        json_object_foreach(wf, key, obj)
        {
            if (!is_identifier(key, NULL)) {
                st = fail(&im, "workflow: step id \"%s\" is not TYPE--UUID", key);
                goto out;
            }
            if (!json_is_object(obj)) {
                st = fail(&im, "workflow step %s: must be an object", key);
                goto out;
            }
            im.st[i].key = key;
            im.st[i].obj = obj;
            if (json_object_set_new(im.index, key, json_integer((json_int_t)i)) != 0) {
                st = nomem(&im);
                goto out;
            }
            i++;
        }
    }
    if ((st = check_defs(&im, "agent_definitions", &im.agents)) != RP_OK ||
        (st = check_defs(&im, "target_definitions", &im.targets)) != RP_OK ||
        (st = add_vars(&im, json_object_get(im.doc, "playbook_variables"), "playbook_variables")) !=
            RP_OK)
        goto out;
    int nstart = 0;
    for (size_t i = 0; i < im.n; i++) {
        if ((st = read_step(&im, &im.st[i])) != RP_OK)
            goto out;
        if (im.st[i].type == CT_START)
            nstart++;
    }
    int entry = step_index(&im, start);
    if (entry < 0) {
        st = fail(&im, "workflow_start: names step %s, which is not in the workflow", start);
        goto out;
    }
    if (nstart > 1) {
        st = fail(&im, "workflow: has %d start steps; a playbook has one", nstart);
        goto out;
    }
    if (nstart == 1 && im.st[entry].type != CT_START) {
        st = fail(&im, "workflow_start: names %s, not the workflow's start step", start);
        goto out;
    }
    if (im.st[entry].type == CT_START) {
        im.st[entry].region = -1;
        entry =
            im.st[entry].on_completion >= 0 ? im.st[entry].on_completion : im.st[entry].on_success;
        if (entry < 0) {
            st = fail(&im, "workflow step %s: the start step leads nowhere (on_completion)", start);
            goto out;
        }
    }

    json_t *steps = NULL;
    if ((st = build_list(&im, entry, -1, -1, true, 0, "cacao", &steps)) != RP_OK)
        goto out;
    tree = json_object();
    if (tree == NULL) {
        json_decref(steps);
        st = nomem(&im);
        goto out;
    }
    json_t *pext = json_object_get(json_object_get(im.doc, "playbook_extensions"), im.ext_id);
    char pbname[80];
    slug(name, id + strlen("playbook--"), pbname, sizeof pbname);
    const char *rname = pext ? str_of(pext, "name") : NULL;
    json_t *version = pext ? json_object_get(pext, "version") : NULL;
    const char *desc = str_of(im.doc, "description");
    if (set_str(tree, "playbook", rname ? rname : pbname) != 0 ||
        json_object_set_new(tree, "version",
                            json_is_integer(version) ? json_copy(version) : json_integer(1)) != 0 ||
        (desc != NULL && set_str(tree, "description", desc) != 0)) {
        json_decref(steps);
        st = nomem(&im);
        goto out;
    }
    static const char *const keep[] = {"trigger", "inputs", "max_concurrent"};
    for (size_t i = 0; pext != NULL && i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(pext, keep[i]);
        if (v != NULL && json_object_set(tree, keep[i], v) != 0) {
            json_decref(steps);
            st = nomem(&im);
            goto out;
        }
    }
    json_t *pvars = pext ? json_object_get(pext, "vars") : NULL;
    const char *pk;
    json_t *pv;
    json_object_foreach(pvars, pk, pv)
    {
        /* the export writes each as __NAME__: a name that rule refuses would
         * not import again */
        char ref[RP_NAME_MAX_BYTES + 8];
        int rl = snprintf(ref, sizeof ref, "__%s__", pk);
        const char *nm;
        size_t nl;
        if (rl < 0 || (size_t)rl >= sizeof ref ||
            var_ref(ref, (size_t)rl, &nm, &nl) != (size_t)rl) {
            json_decref(steps);
            st = fail(&im, "playbook_extensions: variable \"%.80s\" is no __name__ variable", pk);
            goto out;
        }
    }
    if (json_is_object(pvars) && json_object_update(im.vars, pvars) != 0) {
        json_decref(steps);
        st = nomem(&im);
        goto out;
    }
    if (json_object_size(im.vars) > 0 && json_object_set(tree, "vars", im.vars) != 0) {
        json_decref(steps);
        st = nomem(&im);
        goto out;
    }
    if (json_object_set_new(tree, "steps", steps) != 0) {
        st = nomem(&im);
        goto out;
    }
    *tree_out = tree;
    tree = NULL;
out:
    json_decref(tree);
    imp_fini(&im);
    return st;
}

/* --- YAML ---------------------------------------------------------------------------------- */

struct ybuf {
    struct sb b;
};

static int y_write(void *data, unsigned char *buffer, size_t size)
{
    struct ybuf *y = data;
    sb_putn(&y->b, (const char *)buffer, size);
    return y->b.bad ? 0 : 1;
}

/* Strings YAML 1.1 would read as something other than that string. */
static bool plain_ok(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off",
                                        "null", "y",     "n",   "~",  ""};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(s, words[i]) == 0)
            return false;
    if (!isalpha((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_-./", *p) != NULL))
            return false;
    return true;
}

static int y_scalar(yaml_emitter_t *e, const char *s, size_t n, bool quoted_if_needed)
{
    yaml_event_t ev;
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
    if (quoted_if_needed && (strlen(s) != n || !plain_ok(s)))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style))
        return 0;
    return yaml_emitter_emit(e, &ev);
}

static int y_node(yaml_emitter_t *e, json_t *v, int depth)
{
    yaml_event_t ev;
    char num[64];
    if (depth > RP_JSON_MAX_DEPTH)
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
            !yaml_emitter_emit(e, &ev))
            return 0;
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (!y_scalar(e, k, strlen(k), true) || !y_node(e, x, depth + 1))
                return 0;
        }
        return yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(e, &ev);
    }
    case JSON_ARRAY: {
        if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
            !yaml_emitter_emit(e, &ev))
            return 0;
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (!y_node(e, x, depth + 1))
                return 0;
        }
        return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(e, &ev);
    }
    case JSON_STRING:
        return y_scalar(e, json_string_value(v), json_string_length(v), true);
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return y_scalar(e, num, strlen(num), false);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        if (strspn(num, "-0123456789") == strlen(num))
            strncat(num, ".0", sizeof num - strlen(num) - 1);
        return y_scalar(e, num, strlen(num), false);
    case JSON_TRUE:
        return y_scalar(e, "true", 4, false);
    case JSON_FALSE:
        return y_scalar(e, "false", 5, false);
    case JSON_NULL:
    default:
        return y_scalar(e, "null", 4, false);
    }
}

rp_status cacao_yaml_emit(json_t *tree, char **out, size_t *out_len, struct rp_error *err)
{
    *out = NULL;
    yaml_emitter_t e;
    yaml_event_t ev;
    struct ybuf y = {.b = {.max = 8u * RP_CACAO_MAX_BYTES}};
    if (!yaml_emitter_initialize(&e))
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    yaml_emitter_set_output(&e, y_write, &y);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, 100);
    yaml_emitter_set_indent(&e, 2);
    int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
             yaml_emitter_emit(&e, &ev) &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
             yaml_emitter_emit(&e, &ev) && y_node(&e, tree, 0) &&
             yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&e, &ev) &&
             yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&e, &ev) &&
             yaml_emitter_flush(&e);
    rp_status st = RP_OK;
    if (!ok)
        st = rp_error_set(err, y.b.bad ? RP_E_LIMIT : RP_E_INVALID, "YAML: %s",
                          e.problem ? e.problem : "cannot write the document");
    yaml_emitter_delete(&e);
    if (st != RP_OK) {
        free(y.b.p);
        return st;
    }
    size_t n = y.b.n;
    *out = sb_take(&y.b);
    if (*out == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    if (out_len != NULL)
        *out_len = n;
    return RP_OK;
}

rp_status cacao_import(const char *json, size_t len, char **yaml_out, size_t *yaml_len,
                       struct rp_error *err)
{
    *yaml_out = NULL;
    json_t *tree = NULL;
    rp_status st = cacao_import_tree(json, len, &tree, err);
    if (st != RP_OK)
        return st;
    st = cacao_yaml_emit(tree, yaml_out, yaml_len, err);
    json_decref(tree);
    return st;
}
