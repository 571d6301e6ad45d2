/*
 * lua_action.c: actions written in Lua (`type: lua`, and the `lua:` steps of
 * packs), in the sandbox of expressions (expr/): the same Lua state, the same
 * safe libraries and `fn` helpers, no io, os, package, debug, load or
 * bytecode.
 *
 * A run is a coroutine of the instance's expression state. Its globals are a
 * fresh table per run (writable: a chunk may define functions) whose reads
 * fall through to the expression sandbox's base table; they add `inputs` (the
 * step's `with`), `vars` (the instance's non-secret settings), `http`,
 * `json`, `sleep` and `log`. `http.get/post/put/patch/delete/request` start an
 * exchange on the loop's curl multi (http.c: auth, retries, masking) and
 * yield; the loop resumes the coroutine with the answer {status, body,
 * headers} as a read-only JSON view, or raises the exchange's error in the
 * chunk (which may pcall it). `sleep(s)` yields on a uv timer. Secrets never
 * enter the state: credentials are applied in C.
 *
 * Limits: RP_LUA_ACTION_INSTRUCTIONS_MAX instructions over the whole run (a
 * count hook on the coroutine), RP_LUA_ACTION_MEMORY_MAX more bytes than the
 * state held when each resume began, RP_LUA_ACTION_CALLS_MAX http calls and
 * sleeps, and a total time (the `timeout:` of the step in the pack,
 * RP_LUA_ACTION_TIME_DEFAULT_MS without one) after which the run is abandoned.
 *
 * Threads: the loop thread of the instance (the state is the instance's).
 * The result is the chunk's return value as JSON, masked.
 */
#include "connect/http_internal.h"

#include "connect/connect_internal.h"
#include "core/log.h"
#include "expr/expr_internal.h"

#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lua_run {
    struct http_service *svc;
    uv_loop_t *loop;
    lua_State *co;
    int ref_co;
    lua_run_cb cb;
    void *ud;
    char name[160];
    uv_timer_t deadline;
    uv_timer_t wake; /* the first resume and sleep() */
    int closing;     /* handles still to close before free */
    struct http_exchange *ex;
    bool sleeping;
    bool done;
    long instructions;
    int calls;
};

#define HOOK_EVERY 1000

rp_status lua_chunk_check(const char *src, char *msg, size_t cap)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        rp_fmt(msg, cap, "out of memory");
        return RP_E_NOMEM;
    }
    rp_status st = RP_OK;
    if (luaL_loadbufferx(L, src, strlen(src), "=[lua]", "t") != LUA_OK) {
        rp_fmt(msg, cap, "%s", lua_tostring(L, -1) != NULL ? lua_tostring(L, -1) : "syntax error");
        st = RP_E_INVALID;
    }
    lua_close(L);
    return st;
}

static void run_closed(uv_handle_t *h)
{
    struct lua_run *r = h->data;
    if (--r->closing == 0)
        free(r);
}

/* Drops the coroutine and the handles; cb is not called. */
static void run_release(struct lua_run *r)
{
    r->done = true;
    http_exchange_cancel(r->ex);
    r->ex = NULL;
    lua_State *L = r->svc->expr->L;
    if (r->co != NULL) {
        lua_pushnil(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, r->co);
        lua_resetthread(r->co);
        luaL_unref(L, LUA_REGISTRYINDEX, r->ref_co);
        r->co = NULL;
    }
    uv_timer_stop(&r->deadline);
    uv_timer_stop(&r->wake);
    r->closing = 2;
    uv_close((uv_handle_t *)&r->deadline, run_closed);
    uv_close((uv_handle_t *)&r->wake, run_closed);
}

static void run_finish(struct lua_run *r, rp_status st, json_t *result, const char *msg)
{
    lua_run_cb cb = r->cb;
    void *ud = r->ud;
    char m[RP_ERROR_MAX];
    if (msg != NULL) {
        char *mm = http_mask(r->svc, msg);
        rp_fmt(m, sizeof m, "%s", mm != NULL ? mm : "failed");
        free(mm);
    }
    if (result != NULL)
        http_mask_json(r->svc, result);
    run_release(r);
    cb(ud, st, result, msg != NULL ? m : NULL);
}

static struct lua_run *run_of(lua_State *co)
{
    lua_rawgetp(co, LUA_REGISTRYINDEX, co);
    struct lua_run *r = lua_touserdata(co, -1);
    lua_pop(co, 1);
    return r;
}

static void run_hook(lua_State *co, lua_Debug *ar)
{
    (void)ar;
    struct lua_run *r = run_of(co);
    if (r == NULL)
        return;
    r->instructions += HOOK_EVERY;
    if (r->instructions > RP_LUA_ACTION_INSTRUCTIONS_MAX) {
        lua_sethook(co, run_hook, LUA_MASKCOUNT, 1);
        luaL_error(co, "instruction limit reached (%d instructions)",
                   RP_LUA_ACTION_INSTRUCTIONS_MAX);
    }
}

/* Resumes with nargs values on the coroutine's stack; handles the outcome. */
static void run_resume(struct lua_run *r, int nargs)
{
    struct expr_env *env = r->svc->expr;
    lua_State *co = r->co;
    env->mem_refused = false;
    env->mem_limit = env->mem_used > SIZE_MAX - RP_LUA_ACTION_MEMORY_MAX
                         ? SIZE_MAX
                         : env->mem_used + RP_LUA_ACTION_MEMORY_MAX;
    int nres = 0;
    int rc = lua_resume(co, env->L, nargs, &nres);
    bool mem = env->mem_refused;
    env->mem_limit = SIZE_MAX;
    if (rc == LUA_YIELD) {
        lua_pop(co, nres);
        return;
    }
    if (rc == LUA_OK) {
        json_t *out = NULL;
        char msg[200];
        rp_status st = nres > 0 ? view_to_json(co, -1, &out, msg, sizeof msg) : RP_OK;
        if (st == RP_OK && out == NULL)
            out = json_null();
        if (st != RP_OK)
            run_finish(r, st, NULL, msg);
        else
            run_finish(r, RP_OK, out, NULL);
        return;
    }
    char msg[RP_ERROR_MAX];
    if (mem || rc == LUA_ERRMEM)
        rp_fmt(msg, sizeof msg, "%s: memory limit reached (%u MiB)", r->name,
               RP_LUA_ACTION_MEMORY_MAX / (1024u * 1024u));
    else if (lua_type(co, -1) == LUA_TSTRING)
        rp_fmt(msg, sizeof msg, "%s: %s", r->name, lua_tostring(co, -1));
    else
        rp_fmt(msg, sizeof msg, "%s: error (a %s value)", r->name, luaL_typename(co, -1));
    run_finish(r, mem || rc == LUA_ERRMEM ? RP_E_LIMIT : RP_E_INVALID, NULL, msg);
}

static void wake_fired(uv_timer_t *t)
{
    struct lua_run *r = t->data;
    if (r->done)
        return;
    r->sleeping = false;
    run_resume(r, 0);
}

static void deadline_fired(uv_timer_t *t)
{
    struct lua_run *r = t->data;
    if (r->done)
        return;
    char msg[RP_ERROR_MAX];
    rp_fmt(msg, sizeof msg, "%s: time limit of %llu ms reached", r->name,
           (unsigned long long)uv_timer_get_repeat(t));
    run_finish(r, RP_E_IO, NULL, msg);
}

/* --- http ------------------------------------------------------------------------- */

static void http_answered(void *ud, rp_status st, json_t *result, const char *error)
{
    struct lua_run *r = ud;
    r->ex = NULL;
    lua_State *co = r->co;
    if (st != RP_OK) {
        lua_pushnil(co);
        lua_pushstring(co, error != NULL ? error : rp_status_str(st));
        run_resume(r, 2);
        return;
    }
    struct view *v = view_new_owned(co, r->svc->expr);
    v->j = result; /* the view owns it now */
    run_resume(r, 1);
}

/* After the yield: the answer, or the error raised in the chunk. */
static int http_continue(lua_State *co, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    if (lua_isnil(co, -2) && lua_type(co, -1) == LUA_TSTRING)
        return lua_error(co);
    return 1;
}

static const char *const SPEC_KEYS[] = {"query", "headers", "json",  "form",
                                        "body",  "accept",  "paging"};

/* http.request(method, path_or_url [, opts]) */
static int l_request_common(lua_State *co, const char *method, int first)
{
    struct lua_run *r = lua_touserdata(co, lua_upvalueindex(1));
    const char *where = luaL_checkstring(co, first);
    if (!lua_isnoneornil(co, first + 1))
        luaL_checktype(co, first + 1, LUA_TTABLE);
    if (++r->calls > RP_LUA_ACTION_CALLS_MAX)
        return luaL_error(co, "more than %d http calls and sleeps", RP_LUA_ACTION_CALLS_MAX);
    json_t *spec = json_object();
    if (spec == NULL)
        return luaL_error(co, "out of memory");
    json_object_set_new(spec, "method", json_string(method));
    bool abs = strncmp(where, "http://", 7) == 0 || strncmp(where, "https://", 8) == 0;
    json_object_set_new(spec, abs ? "url" : "path", json_string(where));
    char msg[256] = "";
    rp_status st = RP_OK;
    for (size_t i = 0; st == RP_OK && i < sizeof SPEC_KEYS / sizeof SPEC_KEYS[0] &&
                       !lua_isnoneornil(co, first + 1);
         i++) {
        lua_getfield(co, first + 1, SPEC_KEYS[i]);
        if (!lua_isnil(co, -1)) {
            json_t *j = NULL;
            st = view_to_json(co, -1, &j, msg, sizeof msg);
            if (st == RP_OK)
                json_object_set_new(spec, SPEC_KEYS[i], j);
        }
        lua_pop(co, 1);
    }
    struct rp_error err;
    if (st == RP_OK)
        st = http_exchange_start(r->svc, r->loop, spec, http_answered, r, &r->ex, &err);
    else
        rp_fmt(err.msg, sizeof err.msg, "http: %s", msg);
    json_decref(spec);
    if (st != RP_OK) {
        lua_pushstring(co, err.msg);
        return lua_error(co);
    }
    return lua_yieldk(co, 0, 0, http_continue);
}

static int l_request(lua_State *co)
{
    const char *m = luaL_checkstring(co, 1);
    char up[8];
    size_t n = strlen(m);
    if (n >= sizeof up)
        return luaL_error(co, "http.request: unknown method");
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)(m[i] >= 'a' && m[i] <= 'z' ? m[i] - 32 : m[i]);
    return l_request_common(co, up, 2);
}

#define METHOD_FN(fname, M)                                                                        \
    static int fname(lua_State *co)                                                                \
    {                                                                                              \
        return l_request_common(co, M, 1);                                                         \
    }
METHOD_FN(l_get, "GET")
METHOD_FN(l_post, "POST")
METHOD_FN(l_put, "PUT")
METHOD_FN(l_patch, "PATCH")
METHOD_FN(l_delete, "DELETE")

static int l_sleep(lua_State *co)
{
    struct lua_run *r = lua_touserdata(co, lua_upvalueindex(1));
    lua_Number s = luaL_checknumber(co, 1);
    if (s < 0 || s > (lua_Number)RP_LUA_ACTION_TIME_MAX_MS / 1000)
        return luaL_error(co, "sleep: 0 to %d seconds", RP_LUA_ACTION_TIME_MAX_MS / 1000);
    if (++r->calls > RP_LUA_ACTION_CALLS_MAX)
        return luaL_error(co, "more than %d http calls and sleeps", RP_LUA_ACTION_CALLS_MAX);
    r->sleeping = true;
    uv_timer_start(&r->wake, wake_fired, (uint64_t)(s * 1000), 0);
    return lua_yield(co, 0);
}

static int l_log(lua_State *co)
{
    struct lua_run *r = lua_touserdata(co, lua_upvalueindex(1));
    const char *m = luaL_checkstring(co, 1);
    char *mm = http_mask(r->svc, m);
    char q[1024];
    log_info("lua.log", "run=%s message=%s", r->name, log_quote(q, sizeof q, mm ? mm : ""));
    free(mm);
    return 0;
}

/* codec.base64(s), codec.base64url(s) (no padding: VirusTotal's URL ids),
 * codec.urlencode(s), codec.random_password(n): n characters from the
 * system's CSPRNG with upper, lower, digit and symbol. */
static int l_b64(lua_State *co, int variant)
{
    size_t n;
    const char *s = luaL_checklstring(co, 1, &n);
    if (n > 1024 * 1024)
        return luaL_error(co, "codec: more than 1 MiB");
    size_t cap = sodium_base64_encoded_len(n, variant);
    struct buf *b = view_scratch(co, cap + 1);
    if (buf_reserve(b, cap) != RP_OK)
        return luaL_error(co, "codec: out of memory");
    sodium_bin2base64(b->data, cap, (const unsigned char *)s, n, variant);
    lua_pushstring(co, b->data);
    return 1;
}

static int l_base64(lua_State *co)
{
    return l_b64(co, sodium_base64_VARIANT_ORIGINAL);
}

static int l_base64url(lua_State *co)
{
    return l_b64(co, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int l_urlencode(lua_State *co)
{
    size_t n;
    const char *s = luaL_checklstring(co, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(co, &b);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            luaL_addchar(&b, (char)c);
        } else {
            char e[4];
            snprintf(e, sizeof e, "%%%02X", c);
            luaL_addstring(&b, e);
        }
    }
    luaL_pushresult(&b);
    return 1;
}

static int l_random_password(lua_State *co)
{
    static const char *const sets[] = {"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz",
                                       "23456789", "!#%+-=?@_"};
    lua_Integer n = luaL_optinteger(co, 1, 20);
    if (n < 12 || n > 128)
        return luaL_error(co, "codec.random_password: 12 to 128 characters");
    char pw[129];
    for (lua_Integer i = 0; i < n; i++) {
        const char *set = sets[i < 4 ? i : randombytes_uniform(4)];
        pw[i] = set[randombytes_uniform((uint32_t)strlen(set))];
    }
    /* shuffle so the first four are not always one of each class in order */
    for (lua_Integer i = n - 1; i > 0; i--) {
        uint32_t j = randombytes_uniform((uint32_t)i + 1);
        char t = pw[i];
        pw[i] = pw[j];
        pw[j] = t;
    }
    lua_pushlstring(co, pw, (size_t)n);
    sodium_memzero(pw, sizeof pw);
    return 1;
}

/* Builds the run's globals on co's stack (raises only on memory). */
static int build_globals(lua_State *co)
{
    struct lua_run *r = lua_touserdata(co, 1);
    json_t *inputs = lua_touserdata(co, 2);
    struct expr_env *env = r->svc->expr;
    lua_settop(co, 0);
    lua_newtable(co); /* G */
    int g = lua_gettop(co);
    /* reads fall through to the sandbox's base table B */
    lua_createtable(co, 0, 2);
    lua_rawgeti(co, LUA_REGISTRYINDEX, env->ref_scope);
    lua_getmetatable(co, -1);
    lua_getfield(co, -1, "__index"); /* B */
    lua_setfield(co, -4, "__index");
    lua_pop(co, 2);
    lua_pushboolean(co, 0);
    lua_setfield(co, -2, "__metatable");
    lua_setmetatable(co, g);

    struct view *v = view_new_owned(co, env);
    v->j = json_incref(inputs != NULL ? inputs : json_null());
    lua_setfield(co, g, "inputs");
    v = view_new_owned(co, env);
    v->j = json_incref(r->svc->vars);
    lua_setfield(co, g, "vars");

    static const luaL_Reg http_fns[] = {
        {"request", l_request}, {"get", l_get},       {"post", l_post}, {"put", l_put},
        {"patch", l_patch},     {"delete", l_delete}, {NULL, NULL}};
    lua_newtable(co);
    for (const luaL_Reg *f = http_fns; f->name != NULL; f++) {
        lua_pushlightuserdata(co, r);
        lua_pushcclosure(co, f->func, 1);
        lua_setfield(co, -2, f->name);
    }
    lua_setfield(co, g, "http");
    lua_pushlightuserdata(co, r);
    lua_pushcclosure(co, l_sleep, 1);
    lua_setfield(co, g, "sleep");
    lua_pushlightuserdata(co, r);
    lua_pushcclosure(co, l_log, 1);
    lua_setfield(co, g, "log");
    /* json = {encode = fn.json, decode = fn.parse_json} */
    lua_newtable(co);
    lua_getfield(co, g, "fn");
    lua_getfield(co, -1, "json");
    lua_setfield(co, -3, "encode");
    lua_getfield(co, -1, "parse_json");
    lua_setfield(co, -3, "decode");
    lua_pop(co, 1);
    lua_setfield(co, g, "json");
    static const luaL_Reg codec_fns[] = {{"base64", l_base64},
                                         {"base64url", l_base64url},
                                         {"urlencode", l_urlencode},
                                         {"random_password", l_random_password},
                                         {NULL, NULL}};
    luaL_newlib(co, codec_fns);
    lua_setfield(co, g, "codec");
    return 1;
}

rp_status lua_run_start(struct http_service *svc, uv_loop_t *loop, const char *name,
                        const char *src, json_t *inputs, int64_t time_ms, lua_run_cb cb, void *ud,
                        struct lua_run **out, struct rp_error *err)
{
    *out = NULL;
    struct expr_env *env = svc->expr;
    lua_State *L = env->L;
    struct lua_run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    r->svc = svc;
    r->loop = loop;
    r->cb = cb;
    r->ud = ud;
    rp_fmt(r->name, sizeof r->name, "%s", name);
    if (time_ms <= 0 || time_ms > RP_LUA_ACTION_TIME_MAX_MS)
        time_ms = RP_LUA_ACTION_TIME_DEFAULT_MS;
    int top = lua_gettop(L);
    lua_State *co = lua_newthread(L);
    if (co == NULL) {
        free(r);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    r->ref_co = luaL_ref(L, LUA_REGISTRYINDEX);
    r->co = co;
    lua_pushlightuserdata(L, r);
    lua_rawsetp(L, LUA_REGISTRYINDEX, co);
    lua_settop(L, top);
    /* globals, then the chunk with them as _ENV */
    lua_pushcfunction(co, build_globals);
    lua_pushlightuserdata(co, r);
    lua_pushlightuserdata(co, inputs);
    rp_status st = RP_OK;
    if (lua_pcall(co, 2, 1, 0) != LUA_OK) {
        st = rp_error_set(err, RP_E_NOMEM, "%s: cannot set up Lua (out of memory)", name);
    } else if (luaL_loadbufferx(co, src, strlen(src), "=[lua]", "t") != LUA_OK) {
        st = rp_error_set(err, RP_E_INVALID, "%s: %s", name, lua_tostring(co, -1));
    } else {
        lua_pushvalue(co, 1);
        lua_setupvalue(co, -2, 1); /* _ENV */
        lua_remove(co, 1);         /* the function alone on the stack */
    }
    uv_timer_init(loop, &r->deadline);
    uv_timer_init(loop, &r->wake);
    r->deadline.data = r;
    r->wake.data = r;
    if (st != RP_OK) {
        run_release(r);
        return st;
    }
    lua_sethook(co, run_hook, LUA_MASKCOUNT, HOOK_EVERY);
    uv_timer_start(&r->deadline, deadline_fired, (uint64_t)time_ms, (uint64_t)time_ms);
    uv_timer_start(&r->wake, wake_fired, 0, 0); /* the first resume, from the loop */
    *out = r;
    return RP_OK;
}

void lua_run_cancel(struct lua_run *r)
{
    if (r == NULL || r->done)
        return;
    run_release(r);
}

/* --- the `type: lua` module ------------------------------------------------------------ */

/* A Lua instance is a pack given inline:
 *   scripts: { type: lua, url: https://..., auth: {...} (as type: http),
 *              actions: { NAME: { effect, help, lua: "...", timeout, inputs } } }
 * Its actions are validated as a pack's. */
static rp_status lua_create(const char *instance, json_t *conf, const struct connector_env *env,
                            void **out, struct rp_error *err)
{
    *out = NULL;
    json_t *acts = json_object_get(conf, "actions");
    if (!json_is_object(acts) || json_object_size(acts) == 0)
        return rp_error_set(err, RP_E_INVALID,
                            "connectors.%s.actions: a mapping of action name to {effect, help, "
                            "lua}",
                            instance);
    const char *k;
    json_t *a;
    json_object_foreach(acts, k, a)
    {
        if (json_object_get(a, "request") != NULL || json_object_get(a, "requests") != NULL)
            return rp_error_set(err, RP_E_INVALID,
                                "connectors.%s.actions.%s: a lua instance's actions are lua: "
                                "(use a pack for request templates)",
                                instance, k);
    }
    /* the url and auth work as for type: http; reuse its settings lifting by
     * building the same inline pack */
    json_t *pack = json_pack("{s:s,s:O}", "name", "lua", "actions", acts);
    json_t *settings = json_object();
    json_t *c2 = json_deep_copy(conf);
    rp_status st = RP_OK;
    if (pack == NULL || settings == NULL || c2 == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto done;
    }
    json_object_del(c2, "actions");
    json_object_del(c2, "type");
    if (json_object_get(conf, "url") != NULL)
        json_object_set_new(settings, "url", json_pack("{s:b}", "required", 1));
    json_t *auth = json_object_get(conf, "auth");
    if (auth != NULL) {
        static const char *const creds[] = {"username", "password",  "token",
                                            "value",    "client_id", "client_secret"};
        json_t *pa = json_deep_copy(auth);
        for (size_t i = 0; pa != NULL && i < sizeof creds / sizeof creds[0]; i++) {
            json_t *v = json_object_get(auth, creds[i]);
            if (v == NULL)
                continue;
            char sname[64], ref[80];
            rp_fmt(sname, sizeof sname, "auth_%s", creds[i]);
            rp_fmt(ref, sizeof ref, "${%s}", sname);
            bool secret = strcmp(creds[i], "username") != 0 && strcmp(creds[i], "client_id") != 0;
            json_object_set_new(settings, sname,
                                json_pack("{s:b,s:b}", "required", 1, "secret", secret));
            json_object_set(c2, sname, v);
            json_object_set_new(pa, creds[i], json_string(ref));
        }
        json_object_set_new(pack, "auth", pa);
        json_object_del(c2, "auth");
    }
    json_t *vars = json_object_get(conf, "vars");
    if (vars != NULL) {
        /* plain settings the chunks read as vars.NAME */
        json_object_foreach(vars, k, a)
        {
            json_object_set_new(settings, k, json_pack("{s:b}", "required", 1));
            json_object_set(c2, k, a);
        }
        json_object_del(c2, "vars");
    }
    json_object_set(pack, "settings", settings);
    char path[256], msg[RP_ERROR_MAX];
    if (pack_validate(pack, path, sizeof path, msg, sizeof msg) != RP_OK) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s: %s", instance, msg);
        goto done;
    }
    struct pack_inst *p = NULL;
    st = pack_instance_new(instance, "type: lua", pack, c2, env, &p, err);
    if (st == RP_OK)
        *out = p;
done:
    json_decref(pack);
    json_decref(settings);
    json_decref(c2);
    return st;
}

static void lua_stop(void *inst)
{
    pack_instance_stop(inst);
}

static void lua_destroy(void *inst)
{
    pack_instance_free(inst);
}

const struct connector_type connector_lua = {
    .name = "lua", .create = lua_create, .stop = lua_stop, .destroy = lua_destroy};
