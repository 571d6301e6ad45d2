/*
 * fn.c: the `fn` helper table of expressions (docs/expressions.md lists each
 * with an example) and the bound on Lua string patterns.
 *
 * Helpers take Lua values and views alike and fail with a Lua error naming the
 * helper ("fn.time: ..."). They hold no malloc'd memory across a call that may
 * raise: C results go into a scratch box or an owned view pushed first, which
 * the collector frees whatever happens. Strings they build are Lua strings, so
 * the evaluation's memory limit covers them.
 *
 * Patterns. Lua matches string patterns by backtracking in C, where the
 * instruction hook does not run, so `("a"):rep(5000):find(".-.-.-b")` could
 * hold the thread for minutes. Before find, match, gmatch or gsub runs, the
 * worst case of the pattern over the subject is estimated:
 *     items x (n + 1)^(r + 1) x 2^q
 * with n the subject's length, r the repetition items (`*`, `+`, `-`, `%b`,
 * back references: each may try every position of the subject), q the `?`
 * items, and one power of n fewer for an anchored pattern (not in gmatch,
 * where `^` is literal). Each match step is a few nanoseconds; calls whose
 * estimate passes RP_EXPR_PATTERN_COST_MAX are refused with an error. The
 * bound is sound (it is the worst case of Lua's matcher) and pessimistic: one
 * repetition is fine over some 10 KB, two over a few hundred bytes; plain
 * searches (string.find(s, x, 1, true), fn.contains, fn.split) are linear and
 * never refused.
 */
#include "expr/expr_internal.h"

#include "core/hash.h"
#include "core/limits.h"
#include "core/time.h"
#include "intel/extract.h"
#include "model/observable.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* --- patterns -------------------------------------------------------------------- */

/* Index after the set starting at p[i] == '[' (as Lua's classEnd reads it). */
static size_t skip_set(const char *p, size_t pl, size_t i)
{
    i++;
    if (i < pl && p[i] == '^')
        i++;
    do {
        if (i >= pl)
            return pl;
        if (p[i++] == '%' && i < pl)
            i++;
    } while (i < pl && p[i] != ']');
    return i + 1;
}

static double pattern_cost(const char *p, size_t pl, size_t n, bool anchor_ok)
{
    size_t i = 0;
    double items = 1;
    int reps = 0, opts = 0;
    bool anchored = false;
    if (anchor_ok && pl > 0 && p[0] == '^') {
        anchored = true;
        i = 1;
    }
    while (i < pl) {
        char c = p[i];
        items++;
        if (c == '(' || c == ')') {
            i++;
            continue;
        }
        if (c == '%' && i + 1 < pl) {
            char d = p[i + 1];
            if (d == 'b') {
                i += 4;
                reps++;
                continue;
            }
            if (d == 'f') {
                i = i + 2 < pl && p[i + 2] == '[' ? skip_set(p, pl, i + 2) : i + 2;
                continue;
            }
            if (d >= '0' && d <= '9') {
                i += 2;
                reps++;
                continue;
            }
            i += 2;
        } else if (c == '[') {
            i = skip_set(p, pl, i);
        } else {
            i++;
        }
        if (i < pl) {
            if (p[i] == '*' || p[i] == '+' || p[i] == '-') {
                reps++;
                i++;
            } else if (p[i] == '?') {
                opts++;
                i++;
            }
        }
    }
    double e = (double)reps + (anchored ? 0.0 : 1.0);
    return items * pow((double)n + 1.0, e) * pow(2.0, opts > 1000 ? 1000 : opts);
}

static bool has_specials(const char *p, size_t pl)
{
    for (size_t i = 0; i < pl; i++)
        if (strchr("^$*+?.([%-", p[i]) != NULL && p[i] != '\0')
            return true;
    return false;
}

/* string.find/match/gmatch/gsub: upvalue 1 the original, 2 its name, 3 whether
 * a leading ^ anchors. */
static int bounded_pattern(lua_State *L)
{
    size_t n, pl;
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    luaL_checklstring(L, 1, &n);
    const char *p = luaL_checklstring(L, 2, &pl);
    bool plain = strcmp(name, "find") == 0 && lua_toboolean(L, 4);
    if (!plain && has_specials(p, pl)) {
        double cost = pattern_cost(p, pl, n, lua_toboolean(L, lua_upvalueindex(3)));
        if (cost > RP_EXPR_PATTERN_COST_MAX) {
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "string.%s: pattern too costly for a subject of %zu bytes (worst case "
                     "%.2g steps, limit %.2g); use fewer repetitions, an anchor, a shorter "
                     "subject or a plain search",
                     name, n, cost, (double)RP_EXPR_PATTERN_COST_MAX);
            return luaL_error(L, "%s", msg);
        }
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

void fn_bound_patterns(lua_State *L, int idx)
{
    static const struct {
        const char *name;
        bool anchor_ok;
    } fns[] = {{"find", true}, {"match", true}, {"gmatch", false}, {"gsub", true}};
    idx = lua_absindex(L, idx);
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        lua_getfield(L, idx, fns[i].name);
        lua_pushstring(L, fns[i].name);
        lua_pushboolean(L, fns[i].anchor_ok);
        lua_pushcclosure(L, bounded_pattern, 3);
        lua_setfield(L, idx, fns[i].name);
    }
    lua_pushnil(L);
    lua_setfield(L, idx, "dump");
}

/* --- strings ---------------------------------------------------------------------- */

static int fn_case(lua_State *L, bool upper)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        p[i] = c;
    }
    luaL_pushresultsize(&b, n);
    return 1;
}

static int fn_lower(lua_State *L)
{
    return fn_case(L, false);
}

static int fn_upper(lua_State *L)
{
    return fn_case(L, true);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int fn_trim(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    size_t a = 0;
    while (a < n && is_space(s[a]))
        a++;
    while (n > a && is_space(s[n - 1]))
        n--;
    lua_pushlstring(L, s + a, n - a);
    return 1;
}

static int fn_split(lua_State *L)
{
    size_t n, sn;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *sep = luaL_checklstring(L, 2, &sn);
    luaL_argcheck(L, sn > 0, 2, "empty separator");
    lua_newtable(L);
    lua_Integer k = 1;
    const char *end = s + n;
    for (;;) {
        const char *hit = memmem(s, (size_t)(end - s), sep, sn);
        lua_pushlstring(L, s, hit != NULL ? (size_t)(hit - s) : (size_t)(end - s));
        lua_rawseti(L, -2, k++);
        if (hit == NULL)
            break;
        s = hit + sn;
    }
    return 1;
}

/* Appends the text of the value on top (popping it) as fn.join shows it. */
static void add_text(lua_State *L, luaL_Buffer *b, lua_Integer i)
{
    switch (lua_type(L, -1)) {
    case LUA_TNIL:
        lua_pop(L, 1);
        return;
    case LUA_TSTRING:
    case LUA_TNUMBER:
    case LUA_TBOOLEAN:
    case LUA_TUSERDATA:
        luaL_tolstring(L, -1, NULL); /* views: compact JSON */
        lua_remove(L, -2);
        luaL_addvalue(b);
        return;
    default:
        luaL_error(L, "fn.join: element %d is a %s", (int)i, luaL_typename(L, -1));
    }
}

/* The length of the list (table or array view) at idx. Raises. */
static lua_Integer list_len(lua_State *L, int idx, const char *who)
{
    if (lua_type(L, idx) == LUA_TTABLE)
        return (lua_Integer)lua_rawlen(L, idx);
    json_t *j = view_test(L, idx) != NULL ? view_check(L, idx) : NULL;
    if (!json_is_array(j))
        luaL_error(L, "%s: a list (array or table) is expected, got %s", who,
                   j != NULL ? "an object" : luaL_typename(L, idx));
    return (lua_Integer)json_array_size(j);
}

/* Pushes element i (1-based) of the list at idx. */
static void list_get(lua_State *L, int idx, lua_Integer i)
{
    if (lua_type(L, idx) == LUA_TTABLE)
        lua_rawgeti(L, idx, i);
    else
        view_push(L, json_array_get(view_check(L, idx), (size_t)(i - 1)), idx);
}

static int fn_join(lua_State *L)
{
    size_t sn = 0;
    const char *sep = luaL_optlstring(L, 2, "", &sn);
    lua_Integer n = list_len(L, 1, "fn.join");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addlstring(&b, sep, sn);
        list_get(L, 1, i);
        add_text(L, &b, i);
    }
    luaL_pushresult(&b);
    return 1;
}

static int fn_contains(lua_State *L)
{
    luaL_checkany(L, 2);
    if (lua_isnil(L, 1)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (lua_type(L, 1) == LUA_TSTRING) {
        size_t n, xn;
        const char *s = lua_tolstring(L, 1, &n);
        const char *x = luaL_checklstring(L, 2, &xn);
        lua_pushboolean(L, xn == 0 || memmem(s, n, x, xn) != NULL);
        return 1;
    }
    struct view *v = view_test(L, 1);
    if (v != NULL && json_is_object(view_check(L, 1))) {
        size_t kn;
        const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &kn) : NULL;
        lua_pushboolean(L, k != NULL && json_object_getn(v->j, k, kn) != NULL);
        return 1;
    }
    lua_Integer n = list_len(L, 1, "fn.contains");
    for (lua_Integer i = 1; i <= n; i++) {
        list_get(L, 1, i);
        int eq = lua_compare(L, -1, 2, LUA_OPEQ);
        lua_pop(L, 1);
        if (eq) {
            lua_pushboolean(L, 1);
            return 1;
        }
    }
    lua_pushboolean(L, 0);
    return 1;
}

static int fn_affix(lua_State *L, bool end)
{
    size_t n, xn;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *x = luaL_checklstring(L, 2, &xn);
    lua_pushboolean(L, xn <= n && memcmp(end ? s + n - xn : s, x, xn) == 0);
    return 1;
}

static int fn_startswith(lua_State *L)
{
    return fn_affix(L, false);
}

static int fn_endswith(lua_State *L)
{
    return fn_affix(L, true);
}

static int fn_replace(lua_State *L)
{
    size_t n, on, nn;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *old = luaL_checklstring(L, 2, &on);
    const char *rep = luaL_checklstring(L, 3, &nn);
    luaL_argcheck(L, on > 0, 2, "empty string to replace");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *end = s + n;
    for (;;) {
        const char *hit = memmem(s, (size_t)(end - s), old, on);
        if (hit == NULL)
            break;
        luaL_addlstring(&b, s, (size_t)(hit - s));
        luaL_addlstring(&b, rep, nn);
        s = hit + on;
    }
    luaL_addlstring(&b, s, (size_t)(end - s));
    luaL_pushresult(&b);
    return 1;
}

/* --- tables and JSON ---------------------------------------------------------------- */

static int fn_len(lua_State *L)
{
    lua_Integer n = 0;
    lua_settop(L, 1);
    switch (lua_type(L, 1)) {
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        n = (lua_Integer)lua_rawlen(L, 1);
        break;
    case LUA_TTABLE:
        lua_pushnil(L);
        while (lua_next(L, 1) != 0) {
            n++;
            lua_pop(L, 1);
        }
        break;
    default: {
        json_t *j = view_test(L, 1) != NULL ? view_check(L, 1) : NULL;
        if (j == NULL)
            return luaL_error(L, "fn.len: no length for a %s", luaL_typename(L, 1));
        n = (lua_Integer)(json_is_array(j) ? json_array_size(j) : json_object_size(j));
    }
    }
    lua_pushinteger(L, n);
    return 1;
}

static int fn_keys(lua_State *L)
{
    lua_Integer k = 1;
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, 1) != 0) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_rawseti(L, 2, k++);
        }
        return 1;
    }
    json_t *j = view_test(L, 1) != NULL ? view_check(L, 1) : NULL;
    if (!json_is_object(j))
        return luaL_error(L, "fn.keys: an object is expected, got %s",
                          j != NULL ? "an array" : luaL_typename(L, 1));
    lua_createtable(L, (int)json_object_size(j), 0);
    for (void *it = json_object_iter(j); it != NULL; it = json_object_iter_next(j, it)) {
        lua_pushlstring(L, json_object_iter_key(it), json_object_iter_key_len(it));
        lua_rawseti(L, -2, k++);
    }
    return 1;
}

static int fn_default(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, lua_isnil(L, 1) ? 2 : 1);
    return 1;
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
    return buf_append(data, p, n) == RP_OK ? 0 : -1;
}

static int fn_json(lua_State *L)
{
    lua_settop(L, 1);
    struct view *box = view_new_owned(L, expr_env_of(L)); /* frees the JSON on error */
    struct buf *b = view_scratch(L, RP_EXPR_MEMORY_MAX);
    char msg[200];
    rp_status st = view_to_json(L, 1, &box->j, msg, sizeof(msg));
    if (st != RP_OK)
        return luaL_error(L, "fn.json: %s", msg);
    if (json_dump_callback(box->j, dump_to_buf, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        return luaL_error(L, "fn.json: not enough memory");
    lua_pushlstring(L, b->data != NULL ? b->data : "", b->len);
    return 1;
}

static int fn_parse_json(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    if (n > RP_EXPR_PARSE_JSON_MAX)
        return luaL_error(L, "fn.parse_json: text of %d bytes is over the limit of %d",
                          (int)(n > INT32_MAX ? INT32_MAX : n), (int)RP_EXPR_PARSE_JSON_MAX);
    struct view *v = view_new_owned(L, expr_env_of(L));
    json_error_t e;
    v->j = json_loadb(s, n, JSON_DECODE_ANY, &e);
    if (v->j == NULL)
        return luaL_error(L, "fn.parse_json: %s at line %d, column %d", e.text, e.line, e.column);
    if (json_is_object(v->j) || json_is_array(v->j))
        return 1;
    view_push(L, v->j, 0); /* a scalar */
    return 1;
}

/* --- time -------------------------------------------------------------------------- */

static int fn_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)time_now_ms());
    return 1;
}

static int fn_time(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    struct rp_error err;
    int64_t ms = 0;
    if (time_parse_rfc3339(s, n, &ms, &err) != RP_OK)
        return luaL_error(L, "fn.time: %s", err.msg);
    lua_pushinteger(L, (lua_Integer)ms);
    return 1;
}

/* 9999-12-31T23:59:59.999Z, the last time RFC 3339 text can show. */
#define TIME_MAX_MS 253402300799999LL

static int fn_iso(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    if (ms < 0 || ms > TIME_MAX_MS)
        return luaL_error(L, "fn.iso: %I ms is outside years 1970-9999", ms);
    char out[TIME_RFC3339_LEN];
    time_format_rfc3339((int64_t)ms, out);
    lua_pushstring(L, out);
    return 1;
}

static int64_t check_duration(lua_State *L, int idx, const char *who)
{
    const char *s = luaL_checkstring(L, idx);
    struct rp_error err;
    int64_t ms = 0;
    if (time_parse_duration(s, &ms, &err) != RP_OK)
        luaL_error(L, "%s: %s", who, err.msg);
    return ms;
}

static int fn_duration(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_duration(L, 1, "fn.duration"));
    return 1;
}

static int fn_ago(lua_State *L)
{
    int64_t d;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        int isint = 0;
        d = (int64_t)lua_tointegerx(L, 1, &isint);
        if (!isint)
            return luaL_error(L, "fn.ago: milliseconds must be an integer");
    } else {
        d = check_duration(L, 1, "fn.ago");
    }
    int64_t now = time_now_ms();
    if (d < 0 || d > now)
        return luaL_error(L, "fn.ago: %I ms is before 1970 or negative", (lua_Integer)d);
    lua_pushinteger(L, (lua_Integer)(now - d));
    return 1;
}

/* --- network and indicators ------------------------------------------------------------ */

/* Parses an address; IPv4-mapped IPv6 becomes IPv4. Returns 4, 16 or 0. */
static int parse_ip(const char *s, size_t n, unsigned char addr[16])
{
    char tmp[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET, tmp, addr) == 1)
        return 4;
    if (inet_pton(AF_INET6, tmp, addr) != 1)
        return 0;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
        memmove(addr, addr + 12, 4);
        return 4;
    }
    return 16;
}

static int fn_is_ip(lua_State *L)
{
    size_t n = 0;
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    unsigned char addr[16];
    lua_pushboolean(L, s != NULL && parse_ip(s, n, addr) != 0);
    return 1;
}

static int fn_in_cidr(lua_State *L)
{
    size_t cn, n = 0;
    const char *cidr = luaL_checklstring(L, 2, &cn);
    const char *slash = memchr(cidr, '/', cn);
    unsigned char net[16], addr[16];
    int fam = parse_ip(cidr, slash != NULL ? (size_t)(slash - cidr) : cn, net);
    long bits = fam * 8;
    if (fam != 0 && slash != NULL) {
        const char *b = slash + 1;
        size_t bn = cn - (size_t)(b - cidr);
        bits = bn >= 1 && bn <= 3 ? 0 : -1;
        for (size_t i = 0; bits >= 0 && i < bn; i++)
            bits = b[i] >= '0' && b[i] <= '9' ? bits * 10 + (b[i] - '0') : -1;
    }
    if (fam == 0 || bits < 0 || bits > fam * 8)
        return luaL_error(L, "fn.in_cidr: '%s' is not a network (like 10.0.0.0/8 or 2001:db8::/32)",
                          cidr);
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    if (s == NULL || parse_ip(s, n, addr) != fam) {
        lua_pushboolean(L, 0); /* not an address, or the other family */
        return 1;
    }
    bool in = true;
    for (long i = 0; in && i < bits; i++) {
        unsigned char m = (unsigned char)(0x80u >> (i % 8));
        in = (addr[i / 8] & m) == (net[i / 8] & m);
    }
    lua_pushboolean(L, in);
    return 1;
}

struct ioc_list {
    json_t *arr;
    bool nomem;
};

static int ioc_add(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    (void)offset;
    struct ioc_list *l = arg;
    json_t *o = json_pack("{s:s, s:s%}", "type", ioc_type_name(type), "value", value, len);
    if (o == NULL || json_array_append_new(l->arr, o) != 0)
        l->nomem = true;
    return l->nomem;
}

static int fn_iocs(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    struct view *v = view_new_owned(L, expr_env_of(L));
    v->j = json_array();
    if (v->j == NULL)
        return luaL_error(L, "fn.iocs: not enough memory");
    struct ioc_list l = {v->j, false};
    rp_status st = extract_iocs(s, n, ioc_add, &l);
    if (l.nomem)
        st = RP_E_NOMEM;
    if (st != RP_OK && st != RP_E_LIMIT) /* at the limit, the first RP_IOC_MAX */
        return luaL_error(L, "fn.iocs: %s", rp_status_str(st));
    return 1;
}

static int fn_refang(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    struct buf *b = view_scratch(L, n + 1);
    if (observable_refang(s, n, b) != RP_OK)
        return luaL_error(L, "fn.refang: not enough memory");
    lua_pushlstring(L, b->data != NULL ? b->data : "", b->len);
    return 1;
}

static int fn_sha256(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char hex[HASH_SHA256_HEX_LEN + 1];
    hash_sha256_hex(s, n, hex);
    lua_pushstring(L, hex);
    return 1;
}

void fn_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"lower", fn_lower},
        {"upper", fn_upper},
        {"trim", fn_trim},
        {"split", fn_split},
        {"join", fn_join},
        {"contains", fn_contains},
        {"startswith", fn_startswith},
        {"endswith", fn_endswith},
        {"replace", fn_replace},
        {"len", fn_len},
        {"keys", fn_keys},
        {"default", fn_default},
        {"json", fn_json},
        {"parse_json", fn_parse_json},
        {"now", fn_now},
        {"time", fn_time},
        {"iso", fn_iso},
        {"duration", fn_duration},
        {"ago", fn_ago},
        {"is_ip", fn_is_ip},
        {"in_cidr", fn_in_cidr},
        {"iocs", fn_iocs},
        {"refang", fn_refang},
        {"sha256", fn_sha256},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
}
