/*
 * validate.c: the checks that need the whole playbook, run by the loader once
 * every step is parsed (playbook_internal.h).
 *
 *   - step ids are unique across the playbook, nested lists included;
 *   - every jump (next, switch cases and default, on_error: ID) names a step
 *     of the same list, and is resolved to its index there; parallel branches
 *     never jump (they run side by side);
 *   - the ways each list can go on form no cycle. The check is conservative:
 *     it counts every way a step may be left (its jump, the step after it when
 *     it is skipped or fails with on_error: continue, its on_error target, every
 *     switch case), so a loop that could only happen for some values is still
 *     refused. Loops are for_each and while, which have bounds;
 *   - every action is in the registry (engine/action.h), unless
 *     PB_LOAD_ANY_ACTION;
 *   - every expression and template compiles (expr/expr.h), through one
 *     expr_env for the whole playbook.
 *
 * The loader's thread. Errors point at the node that is wrong.
 */
#include "core/limits.h"
#include "engine/action.h"
#include "expr/expr.h"
#include "playbook/playbook_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rp_status nomem(struct pb_loader *l)
{
    return rp_error_set(l->err, RP_E_NOMEM, "%s: out of memory", l->name);
}

/* --- ids ---------------------------------------------------------------------- */

static rp_status check_ids(struct pb_loader *l)
{
    /* l->src holds every step in the order written; at most RP_PLAYBOOK_STEPS_MAX,
     * so the quadratic scan stays under half a million comparisons. */
    for (size_t i = 1; i < l->nsrc; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->src[i].step->id, l->src[j].step->id) == 0)
                return pb_at(l, l->src[i].node, "step id \"%s\" is used twice (first at %d:%d)",
                             l->src[i].step->id, l->src[j].node->line, l->src[j].node->col);
    return RP_OK;
}

/* --- jumps -------------------------------------------------------------------- */

/* Resolves one jump of st to an index in list. what is how the message names
 * it: `next `, `on_error `, `case "high": `. */
static rp_status resolve(struct pb_loader *l, const struct pb_list *list, bool branches,
                         const struct pb_step *st, struct pb_ref *ref, const struct ynode *at,
                         const char *what)
{
    if (ref->id == NULL)
        return RP_OK;
    if (branches)
        return pb_step_at(l, st, at, "%s\"%s\": a parallel branch cannot jump", what, ref->id);
    for (size_t i = 0; i < list->n; i++) {
        if (strcmp(list->steps[i].id, ref->id) == 0) {
            ref->index = (int)i;
            return RP_OK;
        }
    }
    return pb_step_at(l, st, at, "%s\"%s\" is not a step of this list%s", what, ref->id,
                      playbook_step(l->pb, ref->id) ? " (jumps stay within one list)" : "");
}

static rp_status resolve_step(struct pb_loader *l, const struct pb_list *list, bool branches,
                              struct pb_step *st)
{
    const struct ynode *n = pb_step_node(l, st);
    rp_status rc;
    if ((rc = resolve(l, list, branches, st, &st->next, ynode_get(n, "next"), "next ")) ||
        (rc = resolve(l, list, branches, st, &st->on_error_target, ynode_get(n, "on_error"),
                      "on_error ")))
        return rc;
    if (st->kind != PB_SWITCH)
        return RP_OK;
    if ((rc = resolve(l, list, branches, st, &st->u.sw.default_target, ynode_get(n, "default"),
                      "default ")))
        return rc;
    const struct ynode *cases = ynode_get(n, "cases");
    for (size_t i = 0; i < st->u.sw.ncases; i++) {
        struct pb_switch_case *c = &st->u.sw.cases[i];
        char what[128];
        snprintf(what, sizeof(what), "case \"%.80s\": ", c->value);
        if ((rc = resolve(l, list, branches, st, &c->target, ynode_get(cases, c->value), what)))
            return rc;
    }
    return RP_OK;
}

/* --- cycles ------------------------------------------------------------------- */

#define SUCC_END (-2) /* no more ways out of this step */

/* The k-th way step i of list may be left: an index in the list, list->n for
 * the end of the list, -1 for none this time, SUCC_END past the last. */
static int successor(const struct pb_list *list, size_t i, size_t k)
{
    const struct pb_step *s = &list->steps[i];
    int after = (int)i + 1;
    switch (k) {
    case 0: /* the way it normally goes on */
        if (s->kind == PB_END)
            return -1;
        if (s->kind == PB_SWITCH) /* no case matched */
            return s->u.sw.default_target.id ? s->u.sw.default_target.index : after;
        return s->next.id ? s->next.index : after;
    case 1: /* skipped (when is false), or failed and continued */
        return s->when != NULL || s->on_error == PB_ON_ERROR_CONTINUE ? after : -1;
    case 2:
        return s->on_error == PB_ON_ERROR_GOTO ? s->on_error_target.index : -1;
    default:
        if (s->kind == PB_SWITCH && k - 3 < s->u.sw.ncases)
            return s->u.sw.cases[k - 3].target.index;
        return SUCC_END;
    }
}

/* `steps "a" -> "b" -> "a" form a cycle`, for the steps on the DFS stack from
 * position from, back to the first. */
static rp_status cycle_error(struct pb_loader *l, const struct pb_list *list, const size_t *stack,
                             size_t from, size_t top)
{
    char path[RP_ERROR_MAX / 2];
    size_t len = 0;
    for (size_t i = from; i <= top; i++) {
        const char *id = list->steps[i < top ? stack[i] : stack[from]].id;
        int w = snprintf(path + len, sizeof(path) - len, "%s\"%s\"", i > from ? " -> " : "", id);
        if (w < 0 || (size_t)w >= sizeof(path) - len) {
            snprintf(path + (len < sizeof(path) - 8 ? len : sizeof(path) - 8), 8, " -> ...");
            break;
        }
        len += (size_t)w;
    }
    return pb_at(l, pb_step_node(l, &list->steps[stack[from]]), "steps %s form a cycle", path);
}

/* Depth-first search over the list's ways out, without recursion: stack holds
 * the steps being visited, ks the next way to try for each. */
static rp_status check_cycles(struct pb_loader *l, const struct pb_list *list)
{
    enum { WHITE, GREY, BLACK };
    size_t n = list->n;
    unsigned char *color = calloc(n, 1);
    size_t *stack = calloc(n, sizeof(*stack));
    size_t *ks = calloc(n, sizeof(*ks));
    rp_status rc = RP_OK;
    if (color == NULL || stack == NULL || ks == NULL) {
        rc = nomem(l);
        goto done;
    }
    for (size_t root = 0; root < n; root++) {
        if (color[root] != WHITE)
            continue;
        size_t sp = 0;
        stack[sp] = root;
        ks[sp++] = 0;
        color[root] = GREY;
        while (sp > 0) {
            size_t u = stack[sp - 1];
            int v = successor(list, u, ks[sp - 1]++);
            if (v == SUCC_END) {
                color[u] = BLACK;
                sp--;
                continue;
            }
            if (v < 0 || (size_t)v >= n || color[v] == BLACK)
                continue;
            if (color[v] == GREY) {
                size_t from = 0;
                while (stack[from] != (size_t)v)
                    from++;
                rc = cycle_error(l, list, stack, from, sp);
                goto done;
            }
            color[v] = GREY;
            stack[sp] = (size_t)v;
            ks[sp++] = 0;
        }
    }
done:
    free(color);
    free(stack);
    free(ks);
    return rc;
}

/* Resolves and checks one list, then the lists inside it. Recursion bounded by
 * RP_PLAYBOOK_NESTING_MAX. */
static rp_status check_list(struct pb_loader *l, struct pb_list *list, bool branches)
{
    rp_status rc;
    for (size_t i = 0; i < list->n; i++)
        if ((rc = resolve_step(l, list, branches, &list->steps[i])) != RP_OK)
            return rc;
    if ((rc = check_cycles(l, list)) != RP_OK)
        return rc;
    for (size_t i = 0; i < list->n; i++) {
        struct pb_step *s = &list->steps[i];
        rc = RP_OK;
        if (s->kind == PB_FOR_EACH)
            rc = check_list(l, &s->u.for_each.body, false);
        else if (s->kind == PB_WHILE)
            rc = check_list(l, &s->u.loop.body, false);
        else if (s->kind == PB_GROUP)
            rc = check_list(l, &s->u.group.body, false);
        else if (s->kind == PB_PARALLEL)
            rc = check_list(l, &s->u.parallel.branches, true);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* --- expressions -------------------------------------------------------------- */

struct checker {
    struct pb_loader *l;
    struct expr_env *env;
};

/* Reports a failed check at node n as `step "ID": key: message` (or
 * `trigger: key: message` without a step). */
static rp_status expr_failed(struct checker *c, rp_status rc, const struct pb_step *st,
                             const struct ynode *n, const char *key, const struct rp_error *e)
{
    if (rc == RP_E_NOMEM)
        return nomem(c->l);
    if (st == NULL)
        return pb_at(c->l, n, "trigger: %s: %s", key, e->msg);
    return pb_step_at(c->l, st, n, "%s: %s", key, e->msg);
}

static rp_status check_expr(struct checker *c, const struct pb_step *st, const struct ynode *n,
                            const char *key, const char *src)
{
    struct rp_error e = {{0}};
    rp_status rc = src != NULL ? expr_check(c->env, src, &e) : RP_OK;
    return rc == RP_OK ? RP_OK : expr_failed(c, rc, st, n, key, &e);
}

static rp_status check_template(struct checker *c, const struct pb_step *st, const struct ynode *n,
                                const char *key, const char *tmpl)
{
    struct rp_error e = {{0}};
    rp_status rc = tmpl != NULL ? expr_template_check(c->env, tmpl, &e) : RP_OK;
    return rc == RP_OK ? RP_OK : expr_failed(c, rc, st, n, key, &e);
}

/* Checks the templates of a JSON object member by member, so that an error
 * points at the member's line. map is the mapping it was built from. */
static rp_status check_object(struct checker *c, const struct pb_step *st, const struct ynode *map,
                              const char *key, json_t *obj)
{
    for (const struct ynode *k = map ? map->first : NULL; k != NULL; k = k->next->next) {
        struct rp_error e = {{0}};
        rp_status rc = expr_render_json_check(c->env, json_object_get(obj, k->s), &e);
        if (rc != RP_OK) {
            char what[128];
            snprintf(what, sizeof(what), "%s.%.80s", key, k->s);
            return expr_failed(c, rc, st, k->next, what, &e);
        }
    }
    return RP_OK;
}

/* The node of the one value of a mapping (case: {note: ...}). */
static const struct ynode *only_value(const struct ynode *map)
{
    return map != NULL && map->type == YNODE_MAP && map->first ? map->first->next : map;
}

static rp_status check_step(struct checker *c, const struct pb_step *st, const struct ynode *n)
{
    struct pb_loader *l = c->l;
    rp_status rc;
    const struct ynode *p;
    if ((rc = check_expr(c, st, ynode_get(n, "when"), "when", st->when)) != RP_OK)
        return rc;
    switch (st->kind) {
    case PB_ACTION:
        if (!(l->flags & PB_LOAD_ANY_ACTION) && action_find(st->u.action.name) == NULL)
            return pb_at(l, ynode_get(n, "action"), "unknown action \"%s\"", st->u.action.name);
        return check_object(c, st, ynode_get(n, "with"), "with", st->u.action.with);
    case PB_PROMPT:
        p = ynode_get(n, "prompt");
        if ((rc = check_template(c, st, ynode_get(p, "to"), "prompt.to", st->u.prompt.to)))
            return rc;
        return check_template(c, st, ynode_get(p, "question"), "prompt.question",
                              st->u.prompt.question);
    case PB_SET:
        return check_object(c, st, ynode_get(n, "set"), "set", st->u.set.values);
    case PB_SWITCH:
        return check_expr(c, st, ynode_get(n, "switch"), "switch", st->u.sw.expr);
    case PB_FOR_EACH:
        return check_expr(c, st, ynode_get(n, "for_each"), "for_each", st->u.for_each.items);
    case PB_WHILE:
        return check_expr(c, st, ynode_get(n, "while"), "while", st->u.loop.cond);
    case PB_WAIT:
        return check_template(c, st, ynode_get(ynode_get(n, "wait"), "until"), "wait.until",
                              st->u.wait.until);
    case PB_SUB:
        return check_object(c, st, ynode_get(n, "inputs"), "inputs", st->u.sub.inputs);
    case PB_CASE:
        return check_template(c, st, only_value(ynode_get(n, "case")), "case", st->u.case_op.value);
    default:
        return RP_OK;
    }
}

static rp_status check_expressions(struct pb_loader *l)
{
    struct checker c = {l, NULL};
    struct rp_error e = {{0}};
    rp_status rc = expr_env_new(&c.env, &e);
    if (rc != RP_OK)
        return rp_error_set(l->err, rc, "%s: expressions: %s", l->name, e.msg);
    rc = check_expr(&c, NULL, ynode_get(l->trigger, "when"), "when", l->pb->trigger.when);
    for (size_t i = 0; rc == RP_OK && i < l->nsrc; i++)
        rc = check_step(&c, l->src[i].step, l->src[i].node);
    expr_env_free(c.env);
    return rc;
}

rp_status pb_validate(struct pb_loader *l)
{
    rp_status rc;
    if ((rc = check_ids(l)) != RP_OK || (rc = check_list(l, &l->pb->steps, false)) != RP_OK)
        return rc;
    return check_expressions(l);
}
