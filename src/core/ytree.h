/*
 * ytree.h: a YAML document read into a small tree that keeps every node's
 * line and column, for the loaders that report `file:line:col` errors
 * (playbooks, the guard-rail policy).
 *
 * libyaml's events are read into nodes of our own rather than libyaml's
 * document, so that anchors, aliases and tags can be refused (alias expansion
 * is a denial of service, and none of our formats needs them), and so that
 * the depth and node count are bounded while reading. A scalar's text is
 * NUL-terminated (a NUL inside one is refused). The tree lives in an arena
 * that ytree_free drops whole. One thread: the one loading.
 */
#ifndef RP_CORE_YTREE_H
#define RP_CORE_YTREE_H

#include "core/status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum ynode_type { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

/* One YAML node. A mapping's children alternate key, value. */
struct ynode {
    enum ynode_type type;
    bool plain; /* a scalar written without quotes or block style */
    int line;   /* 1-based */
    int col;
    const char *s; /* scalar text, NUL-terminated (no NUL inside) */
    size_t len;
    size_t n; /* children */
    struct ynode *first;
    struct ynode *last;
    struct ynode *next; /* sibling */
};

struct ytree;

/* What a reader accepts. what names the document in messages ("only one YAML
 * document per playbook"). */
struct ytree_limits {
    const char *what;
    size_t nodes_max;
    int depth_max; /* at most YTREE_DEPTH_CAP */
};

#define YTREE_DEPTH_CAP 64

/* Reads text (len bytes) into a tree; *root is NULL for an empty document.
 * Errors read "name:line:col: problem" (RP_E_INVALID) or "name: out of
 * memory". The caller frees *out with ytree_free, also on error. */
rp_status ytree_read(const char *name, const char *text, size_t len, const struct ytree_limits *lim,
                     struct ytree **out, const struct ynode **root,
                     struct rp_error *err) RP_MUST_CHECK;

/* Accepts NULL. */
void ytree_free(struct ytree *t);

/* The value of key in map; NULL when absent or when map is not a mapping. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);

/* Sets err to "name:line:col: WHAT" at node n, WHAT formatted from fmt and
 * ap, and returns RP_E_INVALID: the one shape of every loader's errors. */
rp_status ynode_verror(struct rp_error *err, const char *name, const struct ynode *n,
                       const char *fmt, va_list ap);

/* Collects the values of the mapping map by key name: keys[i] and vals[i] for
 * names[i] (n of them), NULL when absent. A key that is not a string, not in
 * names, or repeated is an error at that key (ynode_verror, with ctx, e.g.
 * "trigger: ", before the problem). */
rp_status ynode_fields(const struct ynode *map, const char *const *names, size_t n,
                       const struct ynode **keys, const struct ynode **vals, const char *ctx,
                       const char *name, struct rp_error *err) RP_MUST_CHECK;

#endif
