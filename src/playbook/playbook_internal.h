/*
 * playbook_internal.h: what load.c (YAML to struct playbook) and validate.c
 * (the cross-checks that need the whole playbook) share.
 *
 * The loader reads the YAML into core/ytree.h's tree (every node's line and
 * column kept; anchors, aliases and tags refused; depth and node count
 * bounded). The tree goes away when loading ends; the playbook keeps none of
 * it.
 *
 * One thread: the one loading.
 */
#ifndef RP_PLAYBOOK_PLAYBOOK_INTERNAL_H
#define RP_PLAYBOOK_PLAYBOOK_INTERNAL_H

#include "core/status.h"
#include "core/ytree.h"
#include "playbook/playbook.h"

#include <stdbool.h>
#include <stddef.h>

/* Which YAML mapping a step was written as, for messages that point inside it. */
struct pb_src {
    const struct pb_step *step;
    const struct ynode *node;
};

struct pb_loader {
    const char *name; /* the file, as messages show it */
    unsigned flags;   /* PB_LOAD_* */
    struct rp_error *err;
    struct playbook *pb;
    const struct ynode *root;
    const struct ynode *trigger; /* the trigger mapping, or NULL */
    struct pb_src *src;          /* RP_PLAYBOOK_STEPS_MAX entries, nsrc used */
    size_t nsrc;
};

/* Sets l->err to "name:line:col: message" at node n and returns RP_E_INVALID. */
rp_status pb_at(struct pb_loader *l, const struct ynode *n, const char *fmt, ...) RP_PRINTF(3, 4);

/* The same, prefixed with `step "ID": `. */
rp_status pb_step_at(struct pb_loader *l, const struct pb_step *st, const struct ynode *n,
                     const char *fmt, ...) RP_PRINTF(4, 5);

/* The mapping step st was written as (never NULL for a step the loader made). */
const struct ynode *pb_step_node(const struct pb_loader *l, const struct pb_step *st);

/* The cross-checks once every step is parsed: ids unique, jumps resolved,
 * no cycles, actions known, expressions and templates well formed. Fills the
 * pb_ref indexes. RP_E_INVALID with the message in l->err. */
rp_status pb_validate(struct pb_loader *l) RP_MUST_CHECK;

#endif
