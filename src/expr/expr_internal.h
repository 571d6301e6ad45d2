/*
 * expr_internal.h: what the files of expr/ share. sandbox.c owns the Lua state
 * (struct expr_env, its allocator, hook, compile cache and the evaluation
 * entry points); view.c the lazy JSON view and the conversion of Lua values
 * back to JSON; fn.c the `fn` helper table and the bounded string patterns;
 * template.c the `{{ }}` templates.
 *
 * Lua errors: functions documented as "raises" may longjmp (lua_error) and are
 * only called inside a protected call, with no malloc'd memory held across
 * them; the others never raise.
 */
#ifndef RP_EXPR_EXPR_INTERNAL_H
#define RP_EXPR_EXPR_INTERNAL_H

#include "core/buf.h"
#include "expr/expr.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>
#include <stdint.h>

/* The globals set from a struct expr_scope, in this order. */
#define EXPR_SLOTS 7

/* One global of the scope: a view kept for the env's life, re-pointed at the
 * caller's JSON at each evaluation (no allocation when the JSON is an object or
 * an array), or a scalar pushed afresh. */
struct expr_slot {
    struct view *view;
    int state; /* SLOT_ABSENT, SLOT_VIEW, SLOT_SCALAR (sandbox.c) */
};

struct expr_cache_entry {
    char *src; /* owned copy of the source text */
    size_t len;
    uint64_t hash;
    uint64_t used; /* tick of the last use: the least recent is evicted */
};

struct expr_env {
    lua_State *L;
    /* Memory: bytes the state holds, and the ceiling of the evaluation running
     * (SIZE_MAX between evaluations). refused: an allocation was refused at the
     * ceiling; instr_hit: the instruction limit fired. Both stick until the
     * next evaluation begins. */
    size_t mem_used;
    size_t mem_limit;
    bool mem_refused;
    bool instr_hit;
    /* Generation of the evaluation running: views that borrow the caller's
     * JSON carry it and are refused once it changes (view.c). */
    uint64_t gen;
    /* Registry references. */
    int ref_env;     /* the _ENV of every expression: empty, read-only */
    int ref_scope;   /* the table of scope globals behind it */
    int ref_fns;     /* cache slot -> compiled function (array part) */
    int ref_slots;   /* slot index -> slot view (kept alive) */
    int ref_view_mt; /* metatable of borrowed views */
    int ref_owned_mt;
    int ref_box_mt; /* metatable of scratch boxes (view_scratch) */
    const void *view_mt;
    const void *owned_mt;
    struct expr_slot slots[EXPR_SLOTS];
    /* Compile cache: entries[i] is F[i + 1]; index is open addressing over
     * entries (0 empty, else entry + 1). */
    struct expr_cache_entry *entries;
    size_t n_entries;
    uint32_t *index;
    size_t index_mask;
    uint64_t tick;
};

static inline struct expr_env *expr_env_of(lua_State *L)
{
    return *(struct expr_env **)lua_getextraspace(L);
}

/* --- sandbox.c: evaluation of one source given by pointer and length (a
 * template part), for template.c. Same contracts as expr_check / expr_eval. */
rp_status expr_check_n(struct expr_env *env, const char *src, size_t len,
                       struct rp_error *err) RP_MUST_CHECK;
rp_status expr_eval_n(struct expr_env *env, const char *src, size_t len,
                      const struct expr_scope *scope, json_t **out,
                      struct rp_error *err) RP_MUST_CHECK;

/* --- view.c ------------------------------------------------------------------ */

/* A view: j is borrowed when gen is non-zero (valid only while env->gen equals
 * it: during the evaluation that made it) or when the view's user value anchors
 * an owned view it descends from; owned views hold a reference to j, dropped
 * by __gc. */
struct view {
    json_t *j;
    uint64_t gen;
    bool owned;
};

/* Creates the view metatables and the scratch box metatable; stores their
 * references in env. Raises. */
void view_open(lua_State *L, struct expr_env *env);

/* Pushes a new view for the scope slots (borrowed, j NULL). Raises. */
struct view *view_new_slot(lua_State *L, struct expr_env *env);

/* Pushes an owned view with j NULL; the caller sets j to a reference it hands
 * over. Push it before making the JSON, so that a later error frees it. Raises. */
struct view *view_new_owned(lua_State *L, struct expr_env *env);

/* Pushes the Lua value of j (NULL and null: nil; scalars as Lua values;
 * objects and arrays as views). parent is the stack index of the view j was
 * read from (its lifetime then covers the new view), or 0 for JSON borrowed
 * for the running evaluation. Raises. */
void view_push(lua_State *L, json_t *j, int parent);

/* The view at idx, or NULL if the value there is not a view. Never raises. */
struct view *view_test(lua_State *L, int idx);

/* The JSON of the view at idx; raises if it is not a view or is stale. */
json_t *view_check(lua_State *L, int idx);

/* Converts the Lua value at idx to JSON (*out: a new reference). Tables with
 * keys exactly 1..n (and the empty table) become arrays, other tables objects;
 * views give their JSON. Never raises: on failure RP_E_INVALID (or
 * RP_E_NOMEM) with the reason in msg. */
rp_status view_to_json(lua_State *L, int idx, json_t **out, char *msg, size_t cap);

/* Pushes a scratch box holding an empty buffer of at most max bytes, freed
 * when the box is collected: C helpers fill it and push its text without
 * holding malloc'd memory across a raising call. Raises. */
struct buf *view_scratch(lua_State *L, size_t max);

/* True when s (n bytes) is valid UTF-8 (as jansson requires). */
bool expr_utf8_valid(const char *s, size_t n);

/* --- fn.c -------------------------------------------------------------------- */

/* Pushes the `fn` helper table. Raises. */
void fn_open(lua_State *L);

/* Replaces find, match, gmatch and gsub of the string table at idx with
 * versions that refuse matches whose worst case passes
 * RP_EXPR_PATTERN_COST_MAX, and removes string.dump. Raises. */
void fn_bound_patterns(lua_State *L, int idx);

#endif
