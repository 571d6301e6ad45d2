/*
 * view.c: the lazy JSON view. An expression reads `alert.host.name` through a
 * userdata over the jansson tree: __index walks one key (objects) or one
 * 1-based position (arrays), scalars come back as Lua values, objects and
 * arrays as further views. Nothing is copied but the scalars read.
 *
 * Lifetimes. The scope's JSON is borrowed from the caller for one call, so the
 * views over it borrow too and carry the evaluation's generation: the env bumps
 * it when the call returns, and a view of an older generation is refused (an
 * error, never a read of freed memory) should one ever outlive its call. The
 * sandbox gives expressions nowhere to keep a value across calls, so that check
 * is a second line. Borrowing costs no reference counting and no finalizer per
 * view, which keeps `alert.auth.count >= 10` near a microsecond. JSON made
 * inside the sandbox (fn.parse_json, fn.iocs) is owned by its root view (a
 * reference dropped by __gc); views below it keep the root alive through their
 * user value.
 *
 * Back to JSON (view_to_json) never raises, so callers outside a protected call
 * can use it: a view gives its very json_t (a new reference), a table an array
 * or an object. Runs on the env's thread.
 */
#include "expr/expr_internal.h"

#include "core/limits.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

bool expr_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

struct view *view_test(lua_State *L, int idx)
{
    struct expr_env *env = expr_env_of(L);
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return NULL;
    const void *mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    if (mt != env->view_mt && mt != env->owned_mt)
        return NULL;
    return lua_touserdata(L, idx);
}

/* The view at idx, checked for staleness. Raises. */
static struct view *view_get(lua_State *L, int idx)
{
    struct view *v = view_test(L, idx);
    if (v == NULL)
        luaL_typeerror(L, idx, "json view");
    if (v->gen != 0 && v->gen != expr_env_of(L)->gen)
        luaL_error(L, "a json view was used after its evaluation ended");
    return v;
}

json_t *view_check(lua_State *L, int idx)
{
    return view_get(L, idx)->j;
}

void view_push(lua_State *L, json_t *j, int parent)
{
    switch (json_typeof(j != NULL ? j : json_null())) {
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        return;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        return;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        return;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        return;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        return;
    case JSON_NULL:
        lua_pushnil(L);
        return;
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    struct expr_env *env = expr_env_of(L);
    if (parent != 0)
        parent = lua_absindex(L, parent);
    struct view *p = parent != 0 ? view_get(L, parent) : NULL;
    struct view *v = lua_newuserdatauv(L, sizeof(*v), 1);
    v->j = j;
    v->owned = false;
    v->gen = env->gen;
    if (p != NULL && p->owned) {
        v->gen = 0;
        lua_pushvalue(L, parent);
        lua_setiuservalue(L, -2, 1);
    } else if (p != NULL && p->gen == 0) {
        v->gen = 0;
        lua_getiuservalue(L, parent, 1);
        lua_setiuservalue(L, -2, 1);
    } else if (p != NULL) {
        v->gen = p->gen;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, env->ref_view_mt);
    lua_setmetatable(L, -2);
}

struct view *view_new_slot(lua_State *L, struct expr_env *env)
{
    struct view *v = lua_newuserdatauv(L, sizeof(*v), 0);
    v->j = NULL;
    v->gen = UINT64_MAX; /* stale until an evaluation points it somewhere */
    v->owned = false;
    lua_rawgeti(L, LUA_REGISTRYINDEX, env->ref_view_mt);
    lua_setmetatable(L, -2);
    return v;
}

struct view *view_new_owned(lua_State *L, struct expr_env *env)
{
    struct view *v = lua_newuserdatauv(L, sizeof(*v), 0);
    v->j = NULL;
    v->gen = 0;
    v->owned = true;
    lua_rawgeti(L, LUA_REGISTRYINDEX, env->ref_owned_mt);
    lua_setmetatable(L, -2);
    return v;
}

/* --- metamethods ------------------------------------------------------------- */

static int view_index(lua_State *L)
{
    json_t *j = view_check(L, 1);
    json_t *c = NULL;
    if (json_is_object(j) && lua_type(L, 2) == LUA_TSTRING) {
        size_t n;
        const char *k = lua_tolstring(L, 2, &n);
        c = json_object_getn(j, k, n);
    } else if (json_is_array(j) && lua_type(L, 2) == LUA_TNUMBER) {
        int isint = 0;
        lua_Integer i = lua_tointegerx(L, 2, &isint);
        if (isint && i >= 1 && (lua_Unsigned)i <= json_array_size(j))
            c = json_array_get(j, (size_t)(i - 1));
    }
    view_push(L, c, 1);
    return 1;
}

static int view_len(lua_State *L)
{
    json_t *j = view_check(L, 1);
    size_t n = json_is_array(j) ? json_array_size(j) : json_is_object(j) ? json_object_size(j) : 0;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* pairs() over an object: upvalue 1 the view, 2 the jansson iterator. */
static int view_next_object(lua_State *L)
{
    json_t *j = view_check(L, lua_upvalueindex(1));
    void *it = lua_touserdata(L, lua_upvalueindex(2));
    if (it == NULL)
        return 0;
    void *next = json_object_iter_next(j, it);
    lua_pushlightuserdata(L, next);
    lua_replace(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(1));
    int parent = lua_gettop(L);
    lua_pushlstring(L, json_object_iter_key(it), json_object_iter_key_len(it));
    view_push(L, json_object_iter_value(it), parent);
    return 2;
}

/* pairs() over an array: upvalue 2 the next 0-based position; nulls skipped
 * (as nil entries of a Lua table are). */
static int view_next_array(lua_State *L)
{
    json_t *j = view_check(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    size_t n = json_array_size(j);
    while ((size_t)i < n && json_is_null(json_array_get(j, (size_t)i)))
        i++;
    if ((size_t)i >= n)
        return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(1));
    int parent = lua_gettop(L);
    lua_pushinteger(L, i + 1);
    view_push(L, json_array_get(j, (size_t)i), parent);
    return 2;
}

static int view_pairs(lua_State *L)
{
    json_t *j = view_check(L, 1);
    lua_pushvalue(L, 1);
    if (json_is_object(j)) {
        lua_pushlightuserdata(L, json_object_iter(j));
        lua_pushcclosure(L, view_next_object, 2);
    } else {
        lua_pushinteger(L, 0);
        lua_pushcclosure(L, view_next_array, 2);
    }
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
    return buf_append(data, p, n) == RP_OK ? 0 : -1;
}

static int view_tostring(lua_State *L)
{
    json_t *j = view_check(L, 1);
    struct buf *b = view_scratch(L, RP_EXPR_MEMORY_MAX);
    if (json_dump_callback(j, dump_to_buf, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        return luaL_error(L, "not enough memory");
    lua_pushlstring(L, b->data != NULL ? b->data : "", b->len);
    return 1;
}

static int view_eq(lua_State *L)
{
    struct view *a = view_test(L, 1), *b = view_test(L, 2);
    bool eq = a != NULL && b != NULL && json_equal(view_check(L, 1), view_check(L, 2));
    lua_pushboolean(L, eq);
    return 1;
}

static int view_gc(lua_State *L)
{
    struct view *v = lua_touserdata(L, 1);
    if (v != NULL && v->owned) {
        json_decref(v->j);
        v->j = NULL;
    }
    return 0;
}

static int box_gc(lua_State *L)
{
    buf_fini(lua_touserdata(L, 1));
    return 0;
}

struct buf *view_scratch(lua_State *L, size_t max)
{
    struct buf *b = lua_newuserdatauv(L, sizeof(*b), 0);
    buf_init(b, max);
    lua_rawgeti(L, LUA_REGISTRYINDEX, expr_env_of(L)->ref_box_mt);
    lua_setmetatable(L, -2);
    return b;
}

/* Fills the metatable on top of the stack. */
static void view_methods(lua_State *L, bool owned)
{
    static const luaL_Reg methods[] = {
        {"__index", view_index},       {"__len", view_len}, {"__pairs", view_pairs},
        {"__tostring", view_tostring}, {"__eq", view_eq},   {NULL, NULL},
    };
    luaL_setfuncs(L, methods, 0);
    if (owned) {
        lua_pushcfunction(L, view_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pushliteral(L, "json view"); /* "attempt to compare json view with number" */
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
}

void view_open(lua_State *L, struct expr_env *env)
{
    lua_newtable(L);
    view_methods(L, false);
    env->view_mt = lua_topointer(L, -1);
    env->ref_view_mt = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_newtable(L);
    view_methods(L, true);
    env->owned_mt = lua_topointer(L, -1);
    env->ref_owned_mt = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_newtable(L);
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    env->ref_box_mt = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* --- Lua to JSON --------------------------------------------------------------- */

static rp_status to_json(lua_State *L, int idx, int depth, json_t **out, char *msg, size_t cap);

static rp_status fail(char *msg, size_t cap, rp_status st, const char *what)
{
    snprintf(msg, cap, "%s", what);
    return st;
}

/* A table key as an object key: strings as they are, numbers in decimal. */
static bool key_text(lua_State *L, int idx, char *tmp, size_t cap, const char **k, size_t *n)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        *k = lua_tolstring(L, idx, n);
        return true;
    }
    if (lua_type(L, idx) != LUA_TNUMBER)
        return false;
    if (lua_isinteger(L, idx))
        snprintf(tmp, cap, "%" PRId64, (int64_t)lua_tointeger(L, idx));
    else
        snprintf(tmp, cap, "%.14g", (double)lua_tonumber(L, idx));
    *k = tmp;
    *n = strlen(tmp);
    return true;
}

static rp_status table_to_json(lua_State *L, int idx, int depth, json_t **out, char *msg,
                               size_t cap)
{
    if (depth >= RP_JSON_MAX_DEPTH)
        return fail(msg, cap, RP_E_INVALID, "a table nested too deep to be JSON (a cycle?)");
    if (!lua_checkstack(L, 4))
        return fail(msg, cap, RP_E_NOMEM, "not enough memory");
    /* A sequence: exactly the keys 1..n. */
    lua_Unsigned n = lua_rawlen(L, idx), total = 0, seq = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        total++;
        if (lua_isinteger(L, -2)) {
            lua_Integer k = lua_tointeger(L, -2);
            if (k >= 1 && (lua_Unsigned)k <= n)
                seq++;
        }
        lua_pop(L, 1);
    }
    rp_status st = RP_OK;
    json_t *res = NULL;
    if (total == n && seq == n) {
        res = json_array();
        if (res == NULL)
            return fail(msg, cap, RP_E_NOMEM, "not enough memory");
        for (lua_Unsigned i = 1; st == RP_OK && i <= n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i);
            json_t *v = NULL;
            st = to_json(L, lua_gettop(L), depth + 1, &v, msg, cap);
            lua_pop(L, 1);
            if (st == RP_OK && json_array_append_new(res, v) != 0)
                st = fail(msg, cap, RP_E_NOMEM, "not enough memory");
        }
    } else {
        res = json_object();
        if (res == NULL)
            return fail(msg, cap, RP_E_NOMEM, "not enough memory");
        lua_pushnil(L);
        while (st == RP_OK && lua_next(L, idx) != 0) {
            char tmp[64];
            const char *k;
            size_t kn;
            json_t *v = NULL;
            if (!key_text(L, -2, tmp, sizeof(tmp), &k, &kn)) {
                snprintf(msg, cap, "a table key of type %s cannot be a JSON key",
                         luaL_typename(L, -2));
                st = RP_E_INVALID;
            } else if (!expr_utf8_valid(k, kn)) {
                st = fail(msg, cap, RP_E_INVALID, "a table key is not valid UTF-8");
            } else {
                st = to_json(L, lua_gettop(L), depth + 1, &v, msg, cap);
                if (st == RP_OK && json_object_setn_new(res, k, kn, v) != 0)
                    st = fail(msg, cap, RP_E_NOMEM, "not enough memory");
            }
            lua_pop(L, 1);
        }
    }
    if (st != RP_OK) {
        json_decref(res);
        return st;
    }
    *out = res;
    return RP_OK;
}

static rp_status to_json(lua_State *L, int idx, int depth, json_t **out, char *msg, size_t cap)
{
    json_t *v = NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
        v = json_null();
        break;
    case LUA_TBOOLEAN:
        v = json_boolean(lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            v = json_integer((json_int_t)lua_tointeger(L, idx));
        } else {
            double d = (double)lua_tonumber(L, idx);
            if (!isfinite(d))
                return fail(msg, cap, RP_E_INVALID, "NaN and infinity cannot be JSON numbers");
            v = json_real(d);
        }
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (!expr_utf8_valid(s, n))
            return fail(msg, cap, RP_E_INVALID, "a string is not valid UTF-8");
        v = json_stringn_nocheck(s, n);
        break;
    }
    case LUA_TTABLE: {
        int top = lua_gettop(L);
        rp_status st = table_to_json(L, lua_absindex(L, idx), depth, out, msg, cap);
        lua_settop(L, top);
        return st;
    }
    case LUA_TUSERDATA: {
        struct view *view = view_test(L, idx);
        if (view == NULL)
            return fail(msg, cap, RP_E_INVALID, "a userdata value cannot be converted to JSON");
        if (view->gen != 0 && view->gen != expr_env_of(L)->gen)
            return fail(msg, cap, RP_E_INVALID, "a json view was used after its evaluation ended");
        v = view->j != NULL ? json_incref(view->j) : json_null();
        break;
    }
    default:
        snprintf(msg, cap, "a %s value cannot be converted to JSON", luaL_typename(L, idx));
        return RP_E_INVALID;
    }
    if (v == NULL)
        return fail(msg, cap, RP_E_NOMEM, "not enough memory");
    *out = v;
    return RP_OK;
}

rp_status view_to_json(lua_State *L, int idx, json_t **out, char *msg, size_t cap)
{
    *out = NULL;
    return to_json(L, lua_absindex(L, idx), 0, out, msg, cap);
}
