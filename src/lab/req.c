/*
 * req.c: reading a lab request (query arguments, headers, a JSON or form body,
 * path patterns) and setting its answer. Runs in the request's thread under the
 * lab's mutex; the answer's text is owned by the request until lab.c hands it
 * to libmicrohttpd. Every parse is bounded by the body's length and
 * RP_JSON_MAX_DEPTH.
 */
#include "lab/lab_internal.h"

#include <ctype.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *lab_arg(struct lab_req *r, const char *key)
{
    if (r->conn == NULL)
        return NULL;
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct args_acc {
    const char *key;
    const char **out;
    size_t n, max;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct args_acc *a = cls;
    if (key != NULL && value != NULL && strcmp(key, a->key) == 0 && a->n < a->max)
        a->out[a->n++] = value;
    return MHD_YES;
}

size_t lab_args(struct lab_req *r, const char *key, const char **out, size_t max)
{
    struct args_acc a = {key, out, 0, max};
    if (r->conn != NULL)
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
    return a.n;
}

const char *lab_header(struct lab_req *r, const char *name)
{
    if (r->conn == NULL)
        return NULL;
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void lab_reply_json(struct lab_req *r, unsigned status, json_t *j)
{
    free(r->out);
    r->out = NULL;
    r->out_len = 0;
    char *txt = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(j);
    if (txt == NULL) {
        status = 500;
        txt = strdup("{\"error\":\"the lab ran out of memory\"}");
    }
    r->status = status;
    r->out = txt;
    r->out_len = txt != NULL ? strlen(txt) : 0;
    snprintf(r->ctype, sizeof(r->ctype), "application/json");
}

void lab_reply_text(struct lab_req *r, unsigned status, const char *ctype, const char *text)
{
    free(r->out);
    r->out = strdup(text);
    r->out_len = r->out != NULL ? strlen(text) : 0;
    r->status = r->out != NULL ? status : 500;
    snprintf(r->ctype, sizeof(r->ctype), "%s", ctype);
}

void lab_reply_empty(struct lab_req *r, unsigned status)
{
    free(r->out);
    r->out = NULL;
    r->out_len = 0;
    r->status = status;
    r->ctype[0] = '\0';
}

void lab_reply_header(struct lab_req *r, const char *name, const char *value)
{
    if (r->nhdr >= LAB_RESP_HEADERS_MAX)
        return;
    snprintf(r->hdr[r->nhdr].name, sizeof(r->hdr[r->nhdr].name), "%s", name);
    snprintf(r->hdr[r->nhdr].value, sizeof(r->hdr[r->nhdr].value), "%s", value);
    r->nhdr++;
}

/* True when the text nests no deeper than RP_JSON_MAX_DEPTH (jansson recurses). */
static bool depth_ok(const char *p, size_t n)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > RP_JSON_MAX_DEPTH)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

json_t *lab_body_json(struct lab_req *r, char *why, size_t cap)
{
    size_t n = r->body_len;
    while (n > 0 && isspace((unsigned char)r->body[n - 1]))
        n--;
    if (n == 0) {
        snprintf(why, cap, "empty body: a JSON document was expected");
        return NULL;
    }
    if (!depth_ok(r->body, r->body_len)) {
        snprintf(why, cap, "the body nests deeper than %d levels", RP_JSON_MAX_DEPTH);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (j == NULL)
        snprintf(why, cap, "invalid JSON: %s at line %d column %d", e.text, e.line, e.column);
    return j;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool lab_form_get(const char *text, size_t n, const char *key, size_t idx, char *out, size_t cap)
{
    size_t klen = strlen(key), i = 0, seen = 0;
    while (i < n) {
        const char *p = text + i;
        const char *amp = memchr(p, '&', n - i);
        size_t len = amp != NULL ? (size_t)(amp - p) : n - i;
        const char *eq = memchr(p, '=', len);
        size_t kl = eq != NULL ? (size_t)(eq - p) : len;
        if (kl == klen && memcmp(p, key, klen) == 0 && seen++ == idx) {
            const char *v = eq != NULL ? eq + 1 : p + len;
            size_t vl = (size_t)(p + len - v), o = 0;
            for (size_t k = 0; k < vl; k++) {
                char c = v[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%' && k + 2 < vl && hexval(v[k + 1]) >= 0 &&
                           hexval(v[k + 2]) >= 0) {
                    c = (char)(hexval(v[k + 1]) * 16 + hexval(v[k + 2]));
                    k += 2;
                }
                if (o + 1 >= cap)
                    return false;
                out[o++] = c;
            }
            out[o] = '\0';
            return true;
        }
        i += len + 1;
    }
    return false;
}

bool lab_path_match(const char *path, const char *pattern, char caps[][RP_LAB_SEG_MAX],
                    size_t ncaps)
{
    size_t ci = 0;
    const char *p = path, *q = pattern;
    while (*q != '\0') {
        if (*q == '*') {
            const char *end = strchr(p, '/');
            size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
            if (len == 0 || len >= RP_LAB_SEG_MAX || ci >= ncaps)
                return false;
            memcpy(caps[ci], p, len);
            caps[ci][len] = '\0';
            ci++;
            p += len;
            q++;
            continue;
        }
        if (*p != *q)
            return false;
        p++;
        q++;
    }
    return *p == '\0';
}

bool lab_prefix(const char *path, const char *prefix)
{
    return strncmp(path, prefix, strlen(prefix)) == 0;
}
