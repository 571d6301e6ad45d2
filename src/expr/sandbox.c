/*
 * sandbox.c: the Lua state of expressions (expr.h): its allocator, instruction
 * hook, globals, compile cache and the evaluation entry points.
 *
 * Globals. Every compiled expression has one _ENV: an empty table E whose
 * metatable sends reads to the scope table S (alert, case, steps, vars,
 * inputs, item, index) and from there to the base table B (the harmless base
 * functions and read-only proxies of string, table, math, utf8 and fn), and
 * whose __newindex refuses every assignment. E stays empty, so an expression
 * can assign no global; S is rewritten at each evaluation from its struct
 * expr_scope (only where a global changed kind: a slot view is re-pointed, not
 * re-made), so nothing of one evaluation is visible to the next. The real
 * library tables are reachable only through proxies that refuse writes;
 * string.dump is removed and the string metatable is locked.
 *
 * Limits. The allocator counts the state's bytes and, during an evaluation,
 * refuses to go past the usage at its start plus RP_EXPR_MEMORY_MAX. A count
 * hook stops the evaluation after RP_EXPR_INSTRUCTIONS_MAX instructions. Both
 * stick: once reached, the hook fires at every instruction, so a pcall inside
 * the expression cannot swallow them. Patterns, which run inside C, are bounded
 * in fn.c.
 *
 * Cache. Compiled functions are kept by source text in the array part of a Lua
 * table (slot i), found through a C hash index; when full the least recently
 * used is replaced.
 *
 * Every Lua call that may raise runs inside one lua_pcall (a trampoline), so an
 * allocation failure is an error result, never a panic. One thread per env.
 */
#include "expr/expr_internal.h"

#include "core/limits.h"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_ABSENT, SLOT_VIEW, SLOT_SCALAR };

static const char *const SLOT_NAMES[EXPR_SLOTS] = {"alert",  "case", "steps", "vars",
                                                   "inputs", "item", "index"};

/* Base functions an expression may call (expr.h). */
static const char *const BASE_FUNCS[] = {"type",   "tostring", "tonumber", "pairs", "ipairs",
                                         "select", "next",     "error",    "pcall", "assert"};

/* Error messages quote at most this much of the source. */
#define QUOTE_MAX 80

/* --- memory and instructions ---------------------------------------------------- */

static void sandbox_hook(lua_State *L, lua_Debug *ar);

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct expr_env *env = ud;
    size_t old = ptr != NULL ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        env->mem_used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > env->mem_limit - env->mem_used) {
        env->mem_refused = true;
        /* Make the refusal stick: the hook raises at the next instruction. */
        if (env->L != NULL)
            lua_sethook(env->L, sandbox_hook, LUA_MASKCOUNT, 1);
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL)
        return NULL;
    env->mem_used = env->mem_used - old + nsize;
    return p;
}

static void sandbox_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct expr_env *env = expr_env_of(L);
    if (!env->mem_refused)
        env->instr_hit = true;
    lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
    lua_pushstring(L, env->mem_refused ? "memory limit reached" : "instruction limit reached");
    lua_error(L);
}

/* Prepares the limits of one evaluation. */
static void limits_begin(struct expr_env *env)
{
    env->mem_refused = false;
    env->instr_hit = false;
    env->mem_limit = env->mem_used > SIZE_MAX - RP_EXPR_MEMORY_MAX
                         ? SIZE_MAX
                         : env->mem_used + RP_EXPR_MEMORY_MAX;
    lua_sethook(env->L, sandbox_hook, LUA_MASKCOUNT, RP_EXPR_INSTRUCTIONS_MAX);
}

static void limits_end(struct expr_env *env)
{
    env->mem_limit = SIZE_MAX;
    env->gen++; /* views of this evaluation are stale from now on */
    for (int i = 0; i < EXPR_SLOTS; i++)
        if (env->slots[i].view != NULL)
            env->slots[i].view->j = NULL;
    lua_settop(env->L, 0);
    if (env->mem_refused || env->instr_hit)
        lua_gc(env->L, LUA_GCCOLLECT); /* give back what the runaway took */
}

/* --- the state ---------------------------------------------------------------- */

static int deny_write(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "assignment to global or library field '%s' is not allowed",
                          lua_tostring(L, 2));
    return luaL_error(L, "assignment to a global or library table is not allowed");
}

/* Replaces the table on top with a read-only proxy of it. */
static void make_proxy(lua_State *L)
{
    lua_newtable(L);          /* proxy */
    lua_createtable(L, 0, 3); /* its metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, deny_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
}

static int env_init(lua_State *L)
{
    struct expr_env *env = lua_touserdata(L, 1);
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL},
    };
    for (const luaL_Reg *l = libs; l->name != NULL; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    view_open(L, env);

    /* The real string table: bounded patterns, no dump; its metatable (that of
     * every string) locked. */
    lua_getglobal(L, LUA_STRLIBNAME);
    fn_bound_patterns(L, lua_gettop(L));
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    /* B: base functions and library proxies. */
    lua_newtable(L);
    int b = lua_gettop(L);
    for (size_t i = 0; i < sizeof(BASE_FUNCS) / sizeof(BASE_FUNCS[0]); i++) {
        lua_getglobal(L, BASE_FUNCS[i]);
        lua_setfield(L, b, BASE_FUNCS[i]);
    }
    static const char *const proxied[] = {LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME,
                                          LUA_UTF8LIBNAME};
    for (size_t i = 0; i < sizeof(proxied) / sizeof(proxied[0]); i++) {
        lua_getglobal(L, proxied[i]);
        make_proxy(L);
        lua_setfield(L, b, proxied[i]);
    }
    fn_open(L);
    /* Registered as a loaded module so that argument errors name "fn.lower". */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "fn");
    lua_pop(L, 1);
    make_proxy(L);
    lua_setfield(L, b, "fn");

    /* S, behind it B. */
    lua_createtable(L, 0, EXPR_SLOTS + 1);
    int s = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, b);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, s);

    /* E, empty, reads from S, refuses writes. */
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, s);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, deny_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    env->ref_env = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, s);
    env->ref_scope = luaL_ref(L, LUA_REGISTRYINDEX);

    /* F: the cache's functions, its array part allocated once. */
    lua_createtable(L, RP_EXPR_CACHE_MAX, 0);
    for (int i = 1; i <= RP_EXPR_CACHE_MAX; i++) {
        lua_pushboolean(L, 0);
        lua_rawseti(L, -2, i);
    }
    env->ref_fns = luaL_ref(L, LUA_REGISTRYINDEX);

    /* The slot views. */
    lua_createtable(L, EXPR_SLOTS, 0);
    for (int i = 0; i < EXPR_SLOTS; i++) {
        env->slots[i].view = view_new_slot(L, env);
        env->slots[i].state = SLOT_ABSENT;
        lua_rawseti(L, -2, i + 1);
    }
    env->ref_slots = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, 0);
    return 0;
}

rp_status expr_env_new(struct expr_env **out, struct rp_error *err)
{
    *out = NULL;
    size_t icap = 1;
    while (icap < 2 * (size_t)RP_EXPR_CACHE_MAX)
        icap <<= 1;
    struct expr_env *env = calloc(1, sizeof(*env));
    if (env == NULL)
        return rp_error_set(err, RP_E_NOMEM, "expressions: out of memory");
    env->mem_limit = SIZE_MAX;
    env->gen = 1;
    env->entries = calloc(RP_EXPR_CACHE_MAX, sizeof(*env->entries));
    env->index = calloc(icap, sizeof(*env->index));
    env->index_mask = icap - 1;
    if (env->entries == NULL || env->index == NULL)
        goto nomem;
    env->L = lua_newstate(sandbox_alloc, env);
    if (env->L == NULL)
        goto nomem;
    *(struct expr_env **)lua_getextraspace(env->L) = env;
    lua_pushcfunction(env->L, env_init);
    lua_pushlightuserdata(env->L, env);
    if (lua_pcall(env->L, 1, 0, 0) != LUA_OK)
        goto nomem; /* only an allocation can fail there */
    *out = env;
    return RP_OK;
nomem:
    expr_env_free(env);
    return rp_error_set(err, RP_E_NOMEM, "expressions: out of memory");
}

void expr_env_free(struct expr_env *env)
{
    if (env == NULL)
        return;
    if (env->L != NULL)
        lua_close(env->L);
    for (size_t i = 0; i < env->n_entries; i++)
        free(env->entries[i].src);
    free(env->entries);
    free(env->index);
    free(env);
}

/* --- the compile cache ----------------------------------------------------------- */

static uint64_t hash_src(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The cache slot (0-based) of src, or -1. */
static int cache_find(struct expr_env *env, const char *src, size_t len, uint64_t h)
{
    for (size_t i = h & env->index_mask; env->index[i] != 0; i = (i + 1) & env->index_mask) {
        struct expr_cache_entry *e = &env->entries[env->index[i] - 1];
        if (e->hash == h && e->len == len && memcmp(e->src, src, len) == 0) {
            e->used = ++env->tick;
            return (int)(env->index[i] - 1);
        }
    }
    return -1;
}

static void index_put(struct expr_env *env, size_t slot)
{
    size_t i = env->entries[slot].hash & env->index_mask;
    while (env->index[i] != 0)
        i = (i + 1) & env->index_mask;
    env->index[i] = (uint32_t)(slot + 1);
}

/* Takes a slot for src (evicting the least recently used when full); -1 when
 * the copy of src cannot be allocated. */
static int cache_take(struct expr_env *env, const char *src, size_t len, uint64_t h)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, src, len);
    copy[len] = '\0';
    size_t slot;
    if (env->n_entries < RP_EXPR_CACHE_MAX) {
        slot = env->n_entries++;
        env->entries[slot] = (struct expr_cache_entry){copy, len, h, ++env->tick};
        index_put(env, slot);
        return (int)slot;
    }
    slot = 0;
    for (size_t i = 1; i < env->n_entries; i++)
        if (env->entries[i].used < env->entries[slot].used)
            slot = i;
    free(env->entries[slot].src);
    env->entries[slot] = (struct expr_cache_entry){copy, len, h, ++env->tick};
    /* Linear probing has no simple delete: rebuild the index (rare). */
    memset(env->index, 0, (env->index_mask + 1) * sizeof(*env->index));
    for (size_t i = 0; i < env->n_entries; i++)
        index_put(env, i);
    return (int)slot;
}

/* --- compile and run ------------------------------------------------------------ */

struct reader {
    const char *parts[3];
    size_t lens[3];
    int i;
};

static const char *read_parts(lua_State *L, void *ud, size_t *size)
{
    (void)L;
    struct reader *r = ud;
    while (r->i < 3) {
        int i = r->i++;
        if (r->lens[i] > 0) {
            *size = r->lens[i];
            return r->parts[i];
        }
    }
    *size = 0;
    return NULL;
}

enum call_mode { CALL_CHECK, CALL_EVAL };

struct call {
    struct expr_env *env;
    const char *src;
    size_t len;
    const struct expr_scope *scope;
    enum call_mode mode;
    int slot;          /* cache slot, -1 until compiled */
    bool syntax_error; /* the value returned is Lua's message */
    bool nomem;
};

/* Compiles src as `return (src)` and leaves the function on the stack, or
 * leaves the error message and returns lua_load's status. When the wrapped form
 * fails, the bare `return src` form is tried for its message, which points at
 * the source as written (`near <eof>` rather than `near ')'`); the newline
 * before `)` ends a trailing `--` comment. */
static int compile(lua_State *L, const char *src, size_t len)
{
    struct reader r = {{"return (", src, "\n)"}, {8, len, 2}, 0};
    int rc = lua_load(L, read_parts, &r, "=[expr]", "t");
    if (rc != LUA_ERRSYNTAX)
        return rc;
    struct reader bare = {{"return ", src, ""}, {7, len, 0}, 0};
    if (lua_load(L, read_parts, &bare, "=[expr]", "t") == LUA_ERRSYNTAX)
        lua_remove(L, -2); /* keep the bare form's message */
    else
        lua_pop(L, 1);
    return rc;
}

/* Points the scope globals at scope (may be NULL). Raises. */
static void scope_set(lua_State *L, struct expr_env *env, const struct expr_scope *scope)
{
    json_t *vals[EXPR_SLOTS] = {0};
    if (scope != NULL) {
        json_t *v[EXPR_SLOTS] = {scope->alert,  scope->case_, scope->steps, scope->vars,
                                 scope->inputs, scope->item,  scope->index};
        memcpy(vals, v, sizeof(vals));
    }
    int s = 0;
    for (int i = 0; i < EXPR_SLOTS; i++) {
        struct expr_slot *slot = &env->slots[i];
        json_t *j = vals[i];
        int want = j == NULL || json_is_null(j)            ? SLOT_ABSENT
                   : json_is_object(j) || json_is_array(j) ? SLOT_VIEW
                                                           : SLOT_SCALAR;
        slot->view->j = want == SLOT_VIEW ? j : NULL;
        slot->view->gen = env->gen;
        if (want == slot->state && want != SLOT_SCALAR)
            continue;
        if (s == 0) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, env->ref_scope);
            s = lua_gettop(L);
        }
        if (want == SLOT_VIEW) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, env->ref_slots);
            lua_rawgeti(L, -1, i + 1);
            lua_remove(L, -2);
        } else if (want == SLOT_SCALAR) {
            view_push(L, j, 0);
        } else {
            lua_pushnil(L);
        }
        lua_setfield(L, s, SLOT_NAMES[i]); /* S has no metamethod for writes */
        slot->state = want;
    }
    if (s != 0)
        lua_pop(L, 1);
}

static int trampoline(lua_State *L)
{
    struct call *c = lua_touserdata(L, 1);
    struct expr_env *env = c->env;
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, env->ref_fns);
    if (c->slot < 0) {
        int rc = compile(L, c->src, c->len);
        if (rc == LUA_ERRSYNTAX) {
            c->syntax_error = true;
            return 1;
        }
        if (rc != LUA_OK)
            return lua_error(L); /* out of memory */
        lua_rawgeti(L, LUA_REGISTRYINDEX, env->ref_env);
        lua_setupvalue(L, -2, 1); /* _ENV */
        uint64_t h = hash_src(c->src, c->len);
        c->slot = cache_take(env, c->src, c->len, h);
        if (c->slot < 0) {
            c->nomem = true;
            return 0;
        }
        lua_rawseti(L, 1, c->slot + 1);
    }
    if (c->mode == CALL_CHECK)
        return 0;
    scope_set(L, env, c->scope);
    lua_rawgeti(L, 1, c->slot + 1);
    lua_call(L, 0, 1);
    return 1;
}

static void quote(const char *src, size_t len, char *out, size_t cap)
{
    size_t n = len > QUOTE_MAX ? QUOTE_MAX : len;
    rp_fmt(out, cap, "%.*s%s", (int)n, src, n < len ? "..." : "");
}

/* Runs c; on success the value (CALL_EVAL) is on top of the stack. The caller
 * calls limits_end afterwards in every case. */
static rp_status run(struct call *c, struct rp_error *err)
{
    struct expr_env *env = c->env;
    lua_State *L = env->L;
    char q[QUOTE_MAX + 4];
    if (c->len > RP_EXPR_SOURCE_MAX) {
        quote(c->src, c->len, q, sizeof(q));
        return rp_error_set(err, RP_E_LIMIT, "expression \"%s\": longer than %u bytes", q,
                            RP_EXPR_SOURCE_MAX);
    }
    c->slot = cache_find(env, c->src, c->len, hash_src(c->src, c->len));
    limits_begin(env);
    lua_pushcfunction(L, trampoline);
    lua_pushlightuserdata(L, c);
    int rc = lua_pcall(L, 1, c->mode == CALL_EVAL ? 1 : LUA_MULTRET, 0);
    if (rc == LUA_OK && !c->syntax_error && !c->nomem)
        return RP_OK;
    quote(c->src, c->len, q, sizeof(q));
    if (c->nomem)
        return rp_error_set(err, RP_E_NOMEM, "expression \"%s\": out of memory", q);
    if (env->instr_hit)
        return rp_error_set(err, RP_E_LIMIT,
                            "expression \"%s\": instruction limit reached (%d instructions)", q,
                            RP_EXPR_INSTRUCTIONS_MAX);
    if (env->mem_refused)
        return rp_error_set(err, RP_E_LIMIT, "expression \"%s\": memory limit reached (%u MiB)", q,
                            RP_EXPR_MEMORY_MAX / (1024u * 1024u));
    if (rc == LUA_ERRMEM)
        return rp_error_set(err, RP_E_NOMEM, "expression \"%s\": out of memory", q);
    if (lua_type(L, -1) != LUA_TSTRING) /* error() with a table, a view, nil */
        return rp_error_set(err, RP_E_INVALID, "expression \"%s\": error (a %s value)", q,
                            luaL_typename(L, -1));
    return rp_error_set(err, RP_E_INVALID, "expression \"%s\": %s", q, lua_tostring(L, -1));
}

rp_status expr_check_n(struct expr_env *env, const char *src, size_t len, struct rp_error *err)
{
    struct call c = {env, src, len, NULL, CALL_CHECK, -1, false, false};
    rp_status st = run(&c, err);
    limits_end(env);
    return st;
}

rp_status expr_check(struct expr_env *env, const char *src, struct rp_error *err)
{
    return expr_check_n(env, src, strlen(src), err);
}

rp_status expr_eval_n(struct expr_env *env, const char *src, size_t len,
                      const struct expr_scope *scope, json_t **out, struct rp_error *err)
{
    *out = NULL;
    struct call c = {env, src, len, scope, CALL_EVAL, -1, false, false};
    rp_status st = run(&c, err);
    if (st == RP_OK) {
        char msg[200];
        st = view_to_json(env->L, -1, out, msg, sizeof(msg));
        if (st != RP_OK) {
            char q[QUOTE_MAX + 4];
            quote(src, len, q, sizeof(q));
            rp_error_set(err, st, "expression \"%s\": its value: %s", q, msg);
        }
    }
    limits_end(env);
    return st;
}

rp_status expr_eval(struct expr_env *env, const char *src, const struct expr_scope *scope,
                    json_t **out, struct rp_error *err)
{
    return expr_eval_n(env, src, strlen(src), scope, out, err);
}

rp_status expr_eval_bool(struct expr_env *env, const char *src, const struct expr_scope *scope,
                         bool *out, struct rp_error *err)
{
    *out = false;
    struct call c = {env, src, strlen(src), scope, CALL_EVAL, -1, false, false};
    rp_status st = run(&c, err);
    if (st == RP_OK)
        *out = lua_toboolean(env->L, -1);
    limits_end(env);
    return st;
}
