/*
 * ytree.c: YAML into a tree with line and column (ytree.h). Nodes and scalar
 * texts come from an arena of 64 KiB chunks: the tree is built once, read,
 * and dropped whole.
 */
#include "core/ytree.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define ARENA_CHUNK_BYTES (64u * 1024u)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct ytree {
    struct arena_chunk *head;
};

static void *arena_alloc(struct ytree *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    struct arena_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK_BYTES ? n : ARENA_CHUNK_BYTES;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void ytree_free(struct ytree *t)
{
    if (t == NULL)
        return;
    while (t->head != NULL) {
        struct arena_chunk *c = t->head;
        t->head = c->next;
        free(c);
    }
    free(t);
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
    if (map == NULL || map->type != YNODE_MAP)
        return NULL;
    for (const struct ynode *k = map->first; k != NULL && k->next != NULL; k = k->next->next)
        if (k->type == YNODE_SCALAR && strcmp(k->s, key) == 0)
            return k->next;
    return NULL;
}

struct reader {
    const char *name;
    const struct ytree_limits *lim;
    struct rp_error *err;
    struct ytree *t;
    struct ynode *stack[YTREE_DEPTH_CAP];
    int depth;
    size_t nodes;
    struct ynode *root;
};

static rp_status at(struct reader *r, const struct ynode *n, const char *fmt, ...) RP_PRINTF(3, 4);

static rp_status at(struct reader *r, const struct ynode *n, const char *fmt, ...)
{
    char what[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return rp_error_set(r->err, RP_E_INVALID, "%s:%d:%d: %s", r->name, n->line, n->col, what);
}

static rp_status nomem(struct reader *r)
{
    return rp_error_set(r->err, RP_E_NOMEM, "%s: out of memory", r->name);
}

static rp_status add(struct reader *r, const yaml_event_t *ev, const struct ynode *where)
{
    const yaml_char_t *anchor, *tag;
    enum ynode_type type;
    if (ev->type == YAML_SCALAR_EVENT) {
        type = YNODE_SCALAR;
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        type = YNODE_SEQ;
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
    } else {
        type = YNODE_MAP;
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
    }
    if (anchor != NULL)
        return at(r, where, "anchors (&%.64s) are not supported: write the value out",
                  (const char *)anchor);
    if (tag != NULL)
        return at(r, where, "tags (%.64s) are not supported", (const char *)tag);
    if (++r->nodes > r->lim->nodes_max)
        return at(r, where, "more than %zu YAML nodes", r->lim->nodes_max);
    if (type != YNODE_SCALAR && r->depth >= r->lim->depth_max)
        return at(r, where, "nested more than %d levels deep", r->lim->depth_max);
    struct ynode *n = arena_alloc(r->t, sizeof(*n));
    if (n == NULL)
        return nomem(r);
    *n = *where;
    n->type = type;
    if (type == YNODE_SCALAR) {
        size_t len = ev->data.scalar.length;
        if (memchr(ev->data.scalar.value, '\0', len) != NULL)
            return at(r, where, "a NUL character is not allowed in a string");
        char *s = arena_alloc(r->t, len + 1);
        if (s == NULL)
            return nomem(r);
        memcpy(s, ev->data.scalar.value, len);
        s[len] = '\0';
        n->s = s;
        n->len = len;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    }
    if (r->depth == 0) {
        r->root = n;
    } else {
        struct ynode *parent = r->stack[r->depth - 1];
        if (parent->last != NULL)
            parent->last->next = n;
        else
            parent->first = n;
        parent->last = n;
        parent->n++;
    }
    if (type != YNODE_SCALAR)
        r->stack[r->depth++] = n;
    return RP_OK;
}

rp_status ytree_read(const char *name, const char *text, size_t len, const struct ytree_limits *lim,
                     struct ytree **out, const struct ynode **root, struct rp_error *err)
{
    RP_ASSERT(lim->depth_max > 0 && lim->depth_max <= YTREE_DEPTH_CAP);
    *root = NULL;
    *out = calloc(1, sizeof **out);
    struct reader r = {.name = name, .lim = lim, .err = err, .t = *out};
    if (*out == NULL)
        return nomem(&r);
    yaml_parser_t p;
    int docs = 0;
    bool done = false;
    rp_status st = RP_OK;
    if (!yaml_parser_initialize(&p))
        return nomem(&r);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (st == RP_OK && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                st = nomem(&r);
            else
                st = rp_error_set(err, RP_E_INVALID, "%s:%zu:%zu: YAML: %s%s%s%s", name,
                                  p.problem_mark.line + 1, p.problem_mark.column + 1,
                                  p.problem ? p.problem : "syntax error", p.context ? " (" : "",
                                  p.context ? p.context : "", p.context ? ")" : "");
            break;
        }
        struct ynode where = {.line = (int)ev.start_mark.line + 1,
                              .col = (int)ev.start_mark.column + 1};
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                st = at(&r, &where, "only one YAML document per %s", lim->what);
            break;
        case YAML_ALIAS_EVENT:
            st = at(&r, &where, "aliases (*%.64s) are not supported: write the value out",
                    (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            st = add(&r, &ev, &where);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            RP_ASSERT(r.depth > 0);
            r.depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (st == RP_OK)
        *root = r.root;
    return st;
}

rp_status ynode_verror(struct rp_error *err, const char *name, const struct ynode *n,
                       const char *fmt, va_list ap)
{
    char what[RP_ERROR_MAX];
    vsnprintf(what, sizeof(what), fmt, ap);
    return rp_error_set(err, RP_E_INVALID, "%s:%d:%d: %s", name, n->line, n->col, what);
}

static rp_status field_error(struct rp_error *err, const char *name, const struct ynode *n,
                             const char *fmt, ...) RP_PRINTF(4, 5);

static rp_status field_error(struct rp_error *err, const char *name, const struct ynode *n,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp_status st = ynode_verror(err, name, n, fmt, ap);
    va_end(ap);
    return st;
}

rp_status ynode_fields(const struct ynode *map, const char *const *names, size_t n,
                       const struct ynode **keys, const struct ynode **vals, const char *ctx,
                       const char *name, struct rp_error *err)
{
    for (size_t i = 0; i < n; i++)
        keys[i] = vals[i] = NULL;
    for (const struct ynode *k = map->first; k != NULL; k = k->next->next) {
        if (k->type != YNODE_SCALAR)
            return field_error(err, name, k, "%skeys must be strings", ctx);
        size_t i = 0;
        while (i < n && strcmp(names[i], k->s) != 0)
            i++;
        if (i == n)
            return field_error(err, name, k, "%sunknown key \"%.80s\"", ctx, k->s);
        if (vals[i] != NULL)
            return field_error(err, name, k, "%sduplicate key \"%s\"", ctx, k->s);
        keys[i] = k;
        vals[i] = k->next;
    }
    return RP_OK;
}
