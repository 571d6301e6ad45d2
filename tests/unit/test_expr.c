/*
 * test_expr.c: playbook expressions (expr/expr.h), table-driven: expressions
 * with the JSON value they must give or the error they must fail with, over
 * one fixed scope; every fn helper beside its refusals; each way out of the
 * sandbox (each followed by a check that the env still works and that nothing
 * changed); the instruction, memory and pattern limits; templates typed and
 * joined, unclosed and malformed; rendering of JSON documents; the text of
 * values; the compile cache past its size; scopes that change between calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "expr/expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct expr_env *ENV;
static struct expr_scope SCOPE;

static const char ALERT_JSON[] =
    "{\"auth\":{\"count\":12},\"src\":{\"ip\":\"10.1.2.3\"},"
    "\"user\":{\"name\":\"alice\",\"email\":\"alice@example.org\"},"
    "\"tags\":[\"a\",\"b\",null,\"d\"],\"host\":{\"name\":\"WS-1\"},"
    "\"observables\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\"},"
    "{\"type\":\"domain\",\"value\":\"evil.example.com\"}],"
    "\"score\":7.5,\"flag\":true,\"none\":null,\"title\":\"Failed logins for alice\"}";

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (j == NULL)
        fail_msg("bad JSON in test: %s: %s", text, e.text);
    return j;
}

static int setup(void **state)
{
    (void)state;
    struct rp_error err;
    if (expr_env_new(&ENV, &err) != RP_OK)
        return -1;
    SCOPE.alert = load(ALERT_JSON);
    SCOPE.case_ = load("{\"severity\":\"high\",\"id\":\"C-1\"}");
    SCOPE.steps = load("{\"ask\":{\"answer\":\"yes\"},\"where\":{\"city\":\"Lyon\"}}");
    SCOPE.vars = load("{\"n\":3,\"list\":[10,20,30]}");
    SCOPE.inputs = load("{\"threshold\":10}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    expr_env_free(ENV);
    json_decref(SCOPE.alert);
    json_decref(SCOPE.case_);
    json_decref(SCOPE.steps);
    json_decref(SCOPE.vars);
    json_decref(SCOPE.inputs);
    return 0;
}

/* The env still evaluates, and the libraries are intact. */
static void still_works(const char *after)
{
    struct rp_error err;
    json_t *v = NULL;
    if (expr_eval(ENV, "alert.auth.count + #alert.tags + #string.upper('ab') + #fn.lower('x')",
                  &SCOPE, &v, &err) != RP_OK)
        fail_msg("env broken after %s: %s", after, err.msg);
    if (!json_is_integer(v) || json_integer_value(v) != 19)
        fail_msg("env changed after %s", after);
    json_decref(v);
}

struct eval_case {
    const char *src;
    const char *want; /* JSON of the value, or NULL when err is set */
    const char *err;  /* a part of the error message */
};

static void run_cases(const struct eval_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct rp_error err = {{0}};
        json_t *v = NULL;
        rp_status st = expr_eval(ENV, cases[i].src, &SCOPE, &v, &err);
        if (cases[i].err != NULL) {
            if (st == RP_OK)
                fail_msg("%s: accepted, want error '%s'", cases[i].src, cases[i].err);
            if (strstr(err.msg, cases[i].err) == NULL)
                fail_msg("%s: error '%s', want '%s'", cases[i].src, err.msg, cases[i].err);
            if (strncmp(err.msg, "expression \"", 12) != 0)
                fail_msg("%s: error does not quote the expression: %s", cases[i].src, err.msg);
            assert_null(v);
            still_works(cases[i].src);
            continue;
        }
        if (st != RP_OK)
            fail_msg("%s: %s", cases[i].src, err.msg);
        json_t *want = load(cases[i].want);
        if (!json_equal(v, want) || json_typeof(v) != json_typeof(want)) {
            char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            fail_msg("%s: got %s, want %s", cases[i].src, got, cases[i].want);
        }
        json_decref(want);
        json_decref(v);
    }
}

/* --- the lazy view and the language ---------------------------------------------- */

static const struct eval_case VIEW_CASES[] = {
    {"alert.auth.count >= 10", "true", NULL},
    {"alert.auth.count >= inputs.threshold + 5", "false", NULL},
    {"alert.auth.count", "12", NULL},
    {"alert['auth']['count']", "12", NULL},
    {"alert.missing", "null", NULL},
    {"alert.missing == nil", "true", NULL},
    {"alert.none == nil", "true", NULL},
    {"alert.missing and alert.missing.deeper", "null", NULL},
    {"alert.tags[1]", "\"a\"", NULL},
    {"alert.tags[4]", "\"d\"", NULL},
    {"alert.tags[0]", "null", NULL},
    {"alert.tags[5]", "null", NULL},
    {"alert.tags[1.0]", "\"a\"", NULL},
    {"alert.tags['1']", "null", NULL},
    {"alert.auth[1]", "null", NULL},
    {"#alert.tags", "4", NULL},
    {"#alert.observables", "2", NULL},
    {"#alert.auth", "1", NULL},
    {"alert.observables[2].value", "\"evil.example.com\"", NULL},
    {"alert.score", "7.5", NULL},
    {"alert.score * 2", "15.0", NULL},
    {"alert.flag", "true", NULL},
    {"alert.auth", "{\"count\":12}", NULL},
    {"alert.tags", "[\"a\",\"b\",null,\"d\"]", NULL},
    {"{alert.auth, alert.src.ip}", "[{\"count\":12},\"10.1.2.3\"]", NULL},
    {"{1, 2, 3}", "[1,2,3]", NULL},
    {"{}", "[]", NULL},
    {"{a = 1, b = {true}}", "{\"a\":1,\"b\":[true]}", NULL},
    {"{[1] = 'x', [3] = 'y'}", "{\"1\":\"x\",\"3\":\"y\"}", NULL},
    {"alert.src.ip .. ':' .. 80", "\"10.1.2.3:80\"", NULL},
    {"steps.ask.answer == 'yes'", "true", NULL},
    {"steps.where.city", "\"Lyon\"", NULL},
    {"case.severity", "\"high\"", NULL},
    {"vars.n + 1", "4", NULL},
    {"vars.list[2] // 3", "6", NULL},
    {"item == nil and index == nil", "true", NULL},
    {"(function() local n = 0 for k, v in pairs(alert.auth) do n = n + v end return n end)()", "12",
     NULL},
    {"(function() local ks = {} for k in pairs(alert.user) do ks[#ks + 1] = k end "
     "return table.concat(ks, ',') end)()",
     "\"name,email\"", NULL},
    {"(function() local s = '' for i, o in ipairs(alert.observables) do s = s .. i .. o.type "
     "end return s end)()",
     "\"1ipv42domain\"", NULL},
    {"(function() local s = '' for i, t in pairs(alert.tags) do s = s .. i .. t end "
     "return s end)()",
     "\"1a2b4d\"", NULL},
    {"(function() local n = 0 for i in ipairs(alert.tags) do n = n + 1 end return n end)()", "2",
     NULL},
    {"tostring(alert.auth)", "\"{\\\"count\\\":12}\"", NULL},
    {"alert.auth == alert.auth", "true", NULL},
    {"alert.user == alert.auth", "false", NULL},
    {"alert.auth == fn.parse_json('{\"count\":12}')", "true", NULL},
    {"type(alert)", "\"userdata\"", NULL},
    {"type(alert.auth.count)", "\"number\"", NULL},
    {"math.type(alert.auth.count)", "\"integer\"", NULL},
    {"string.upper('a') .. ('x'):rep(3)", "\"Axxx\"", NULL},
    {"math.max(1, 5)", "5", NULL},
    {"utf8.char(72, 233)", "\"H\xc3\xa9\"", NULL},
    {"table.concat({'a', 'b'}, ',')", "\"a,b\"", NULL},
    {"select('#', 1, 2)", "2", NULL},
    {"tonumber('12') + 1", "13", NULL},
    {"pcall(error, 'x')", "false", NULL},
    {"alert.score >= 7 and 'hi' or 'lo'", "\"hi\"", NULL},
    {"alert.title:match('for (%a+)')", "\"alice\"", NULL},
    {"(alert.title:gsub('l', 'L'))", "\"FaiLed Logins for aLice\"", NULL},
    {"nil", "null", NULL},
    {"10 / 4", "2.5", NULL},
    {"_ENV.alert.auth.count", "12", NULL},
    {"x", "null", NULL}, /* an unknown global reads as nil */
    {"1 -- a trailing comment", "1", NULL},
    {"[[long]]", "\"long\"", NULL},

    {"alert.auth >= 10", NULL, "attempt to compare number with json view"},
    {"nosuch.x", NULL, "attempt to index a nil value (global 'nosuch')"},
    {"alert.missing.x", NULL, "attempt to index a nil value (field 'missing')"},
    {"alert.tags + 1", NULL, "attempt to perform arithmetic on a json view value"},
    {"1 +", NULL, "[expr]:1: unexpected symbol near <eof>"},
    {"1, 2", NULL, "')' expected near ','"},
    {"1; x = 2", NULL, "[expr]"},
    {"", NULL, "[expr]:"},
    {"0/0", NULL, "NaN and infinity cannot be JSON numbers"},
    {"math.huge", NULL, "NaN and infinity"},
    {"function() end", NULL, "a function value cannot be converted to JSON"},
    {"{f = fn.lower}", NULL, "cannot be converted"},
    {"'\\xff'", NULL, "not valid UTF-8"},
    {"{[true] = 1}", NULL, "a table key of type boolean cannot be a JSON key"},
    {"(function() local t = {} t[1] = t return t end)()", NULL, "nested too deep"},
    {"error('boom')", NULL, "[expr]:1: boom"},
    {"error({})", NULL, "error (a table value)"},
    {"error()", NULL, "error (a nil value)"},
};

static void test_view(void **state)
{
    (void)state;
    run_cases(VIEW_CASES, sizeof(VIEW_CASES) / sizeof(VIEW_CASES[0]));
}

/* The exact message of expr.h's example. */
static void test_syntax_message(void **state)
{
    (void)state;
    struct rp_error err;
    assert_int_equal(expr_check(ENV, "steps.x.y >", &err), RP_E_INVALID);
    assert_string_equal(err.msg,
                        "expression \"steps.x.y >\": [expr]:1: unexpected symbol near <eof>");
    assert_int_equal(expr_check(ENV, "steps.x.y > 1", &err), RP_OK);
    assert_int_equal(expr_check(ENV, "a = 1", &err), RP_E_INVALID); /* a statement */
    assert_int_equal(expr_check(ENV, "1) (2", &err), RP_OK);        /* still one expression */

    char *big = malloc(RP_EXPR_SOURCE_MAX + 2);
    assert_non_null(big);
    memset(big, '1', RP_EXPR_SOURCE_MAX + 1);
    big[RP_EXPR_SOURCE_MAX + 1] = '\0';
    assert_int_equal(expr_check(ENV, big, &err), RP_E_LIMIT);
    assert_non_null(strstr(err.msg, "longer than"));
    big[RP_EXPR_SOURCE_MAX] = '\0';
    assert_int_equal(expr_check(ENV, big, &err), RP_OK);
    free(big);
}

static void test_bool(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        bool want;
    } cases[] = {
        {"true", true},
        {"false", false},
        {"nil", false},
        {"0", true},
        {"''", true},
        {"alert", true},
        {"alert.none", false},
        {"alert.flag", true},
        {"case", true},
        {"item", false},
        {"alert.auth.count > 11", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rp_error err;
        bool b = !cases[i].want;
        if (expr_eval_bool(ENV, cases[i].src, &SCOPE, &b, &err) != RP_OK)
            fail_msg("%s: %s", cases[i].src, err.msg);
        if (b != cases[i].want)
            fail_msg("%s: got %d", cases[i].src, b);
    }
    struct rp_error err;
    bool b = true;
    assert_int_equal(expr_eval_bool(ENV, "alert.auth > 1", &SCOPE, &b, &err), RP_E_INVALID);
    assert_false(b);
}

/* --- fn ------------------------------------------------------------------------- */

static const struct eval_case FN_CASES[] = {
    {"fn.lower('AbC-\xc3\x89')", "\"abc-\xc3\x89\"", NULL},
    {"fn.upper('aBc')", "\"ABC\"", NULL},
    {"fn.trim('  a b \\n\\t')", "\"a b\"", NULL},
    {"fn.trim('')", "\"\"", NULL},
    {"fn.split('a,b,,c', ',')", "[\"a\",\"b\",\"\",\"c\"]", NULL},
    {"fn.split('a.b', '.')", "[\"a\",\"b\"]", NULL},
    {"fn.split('', ',')", "[\"\"]", NULL},
    {"fn.split('a::b', '::')", "[\"a\",\"b\"]", NULL},
    {"fn.join({'a', 'b'}, '-')", "\"a-b\"", NULL},
    {"fn.join(alert.tags, ',')", "\"a,b,,d\"", NULL},
    {"fn.join({1, true, 2.5})", "\"1true2.5\"", NULL},
    {"fn.join({})", "\"\"", NULL},
    {"fn.join(alert.observables, ';')",
     "\"{\\\"type\\\":\\\"ipv4\\\",\\\"value\\\":\\\"1.2.3.4\\\"};{\\\"type\\\":\\\"domain\\\","
     "\\\"value\\\":\\\"evil.example.com\\\"}\"",
     NULL},
    {"fn.contains('hello', 'ell')", "true", NULL},
    {"fn.contains('hello', 'x')", "false", NULL},
    {"fn.contains('a.c', '.')", "true", NULL},
    {"fn.contains('abc', '.')", "false", NULL},
    {"fn.contains(alert.tags, 'b')", "true", NULL},
    {"fn.contains(alert.tags, 'z')", "false", NULL},
    {"fn.contains({1, 2}, 2)", "true", NULL},
    {"fn.contains(vars.list, 20)", "true", NULL},
    {"fn.contains(alert.user, 'name')", "true", NULL},
    {"fn.contains(alert.user, 'nope')", "false", NULL},
    {"fn.contains(nil, 'x')", "false", NULL},
    {"fn.startswith('hello', 'he')", "true", NULL},
    {"fn.startswith('he', 'hello')", "false", NULL},
    {"fn.endswith('hello', 'lo')", "true", NULL},
    {"fn.endswith('hello', 'he')", "false", NULL},
    {"fn.replace('a.b.c', '.', '[.]')", "\"a[.]b[.]c\"", NULL},
    {"fn.replace('100%', '%', '%%')", "\"100%%\"", NULL},
    {"fn.replace('abc', 'x', 'y')", "\"abc\"", NULL},
    {"fn.len('abc')", "3", NULL},
    {"fn.len(alert.tags)", "4", NULL},
    {"fn.len(alert.auth)", "1", NULL},
    {"fn.len({1, 2, x = 3})", "3", NULL},
    {"fn.len(nil)", "0", NULL},
    {"fn.keys(alert.user)", "[\"name\",\"email\"]", NULL},
    {"fn.keys({a = 1})", "[\"a\"]", NULL},
    {"fn.default(alert.missing, 'd')", "\"d\"", NULL},
    {"fn.default(alert.none, 0)", "0", NULL},
    {"fn.default('v', 'd')", "\"v\"", NULL},
    {"fn.default(false, 'd')", "false", NULL},
    {"fn.json({a = 1})", "\"{\\\"a\\\":1}\"", NULL},
    {"fn.json(alert.auth)", "\"{\\\"count\\\":12}\"", NULL},
    {"fn.json('x')", "\"\\\"x\\\"\"", NULL},
    {"fn.json(nil)", "\"null\"", NULL},
    {"fn.parse_json('{\"a\":[1,2]}').a[2]", "2", NULL},
    {"fn.parse_json('3')", "3", NULL},
    {"fn.parse_json('\"s\"')", "\"s\"", NULL},
    {"fn.parse_json('[1,{\"b\":2}]')", "[1,{\"b\":2}]", NULL},
    /* a child of parsed JSON outlives its parent's last reference and a collection */
    {"(function() local a = fn.parse_json('{\"a\":{\"b\":\"c\"}}').a "
     "local junk = {} for i = 1, 20000 do junk[i] = {i} end return a.b end)()",
     "\"c\"", NULL},
    {"fn.now() > 1700000000000", "true", NULL},
    {"math.type(fn.now())", "\"integer\"", NULL},
    {"fn.time('2026-01-01T00:00:00Z')", "1767225600000", NULL},
    {"fn.time('2026-01-01T01:00:00.5+01:00')", "1767225600500", NULL},
    {"fn.iso(0)", "\"1970-01-01T00:00:00.000Z\"", NULL},
    {"fn.iso(fn.time('2026-11-30T09:48:36.123Z'))", "\"2026-11-30T09:48:36.123Z\"", NULL},
    {"fn.duration('4h')", "14400000", NULL},
    {"fn.duration('1h30m')", "5400000", NULL},
    {"(function() local a = fn.ago('1h') local d = fn.now() - a return d >= 3600000 and d < "
     "3660000 end)()",
     "true", NULL},
    {"(function() local a = fn.ago(1000) local d = fn.now() - a return d >= 1000 and d < 60000 "
     "end)()",
     "true", NULL},
    {"fn.is_ip('10.0.0.1')", "true", NULL},
    {"fn.is_ip('::1')", "true", NULL},
    {"fn.is_ip('2001:db8::1')", "true", NULL},
    {"fn.is_ip('10.0.0.256')", "false", NULL},
    {"fn.is_ip('example.com')", "false", NULL},
    {"fn.is_ip(nil)", "false", NULL},
    {"fn.in_cidr('10.1.2.3', '10.0.0.0/8')", "true", NULL},
    {"fn.in_cidr(alert.src.ip, '10.1.2.0/24')", "true", NULL},
    {"fn.in_cidr('11.0.0.1', '10.0.0.0/8')", "false", NULL},
    {"fn.in_cidr('192.168.1.255', '192.168.0.0/23')", "true", NULL},
    {"fn.in_cidr('192.168.2.0', '192.168.0.0/23')", "false", NULL},
    {"fn.in_cidr('2001:db8::1', '2001:db8::/32')", "true", NULL},
    {"fn.in_cidr('2001:db9::1', '2001:db8::/32')", "false", NULL},
    {"fn.in_cidr('::ffff:10.0.0.1', '10.0.0.0/8')", "true", NULL},
    {"fn.in_cidr('10.0.0.1', '10.0.0.1')", "true", NULL},
    {"fn.in_cidr('10.0.0.2', '10.0.0.1')", "false", NULL},
    {"fn.in_cidr('10.0.0.1', '::/0')", "false", NULL},
    {"fn.in_cidr('1.2.3.4', '0.0.0.0/0')", "true", NULL},
    {"fn.in_cidr('junk', '10.0.0.0/8')", "false", NULL},
    {"fn.iocs('C2 at 198.51.100.23 and hxxps://evil[.]example[.]com/a')",
     "[{\"type\":\"ipv4\",\"value\":\"198.51.100.23\"},"
     "{\"type\":\"url\",\"value\":\"https://evil.example.com/a\"},"
     "{\"type\":\"domain\",\"value\":\"evil.example.com\"}]",
     NULL},
    {"fn.iocs('nothing here')", "[]", NULL},
    {"fn.iocs('x 198.51.100.23')[1].value", "\"198.51.100.23\"", NULL},
    {"fn.refang('hxxp://evil[.]com')", "\"http://evil.com\"", NULL},
    {"fn.refang('plain')", "\"plain\"", NULL},
    {"fn.sha256('')", "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"", NULL},
    {"fn.sha256('abc')", "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"",
     NULL},

    {"fn.lower(nil)", NULL, "bad argument #1 to 'lower' (string expected, got nil)"},
    {"fn.split('a', '')", NULL, "empty separator"},
    {"fn.join(alert.auth)", NULL, "fn.join: a list (array or table) is expected, got an object"},
    {"fn.join({{}})", NULL, "fn.join: element 1 is a table"},
    {"fn.replace('a', '', 'b')", NULL, "empty string to replace"},
    {"fn.len(5)", NULL, "fn.len: no length for a number"},
    {"fn.keys(alert.tags)", NULL, "fn.keys: an object is expected, got an array"},
    {"fn.json(0/0)", NULL, "fn.json: NaN"},
    {"(function() local t = {} t.t = t return fn.json(t) end)()", NULL, "nested too deep"},
    {"fn.json(fn.lower)", NULL, "fn.json: a function value cannot be converted"},
    {"fn.parse_json('{')", NULL, "fn.parse_json: "},
    {"fn.parse_json(string.rep(' ', 5 * 1024 * 1024))", NULL, "over the limit"},
    {"fn.time('yesterday')", NULL, "fn.time: "},
    {"fn.iso(-1)", NULL, "fn.iso: -1 ms is outside years 1970-9999"},
    {"fn.duration('4 parsecs')", NULL, "fn.duration: "},
    {"fn.ago('x')", NULL, "fn.ago: "},
    {"fn.ago(-5)", NULL, "fn.ago: "},
    {"fn.in_cidr('1.2.3.4', '10.0.0.0/33')", NULL, "fn.in_cidr: '10.0.0.0/33' is not a network"},
    {"fn.in_cidr('1.2.3.4', '10.0.0.0/')", NULL, "is not a network"},
    {"fn.in_cidr('1.2.3.4', 'nope')", NULL, "is not a network"},
    {"fn.nosuch('x')", NULL, "attempt to call a nil value (field 'nosuch')"},
};

static void test_fn(void **state)
{
    (void)state;
    run_cases(FN_CASES, sizeof(FN_CASES) / sizeof(FN_CASES[0]));
}

/* --- the sandbox ------------------------------------------------------------------- */

static const struct eval_case ESCAPE_CASES[] = {
    {"os.execute('id')", NULL, "attempt to index a nil value (global 'os')"},
    {"io.open('/etc/passwd')", NULL, "attempt to index a nil value (global 'io')"},
    {"require('os')", NULL, "attempt to call a nil value (global 'require')"},
    {"load('return 1')", NULL, "attempt to call a nil value (global 'load')"},
    {"loadstring('return 1')", NULL, "global 'loadstring'"},
    {"dofile('/etc/passwd')", NULL, "global 'dofile'"},
    {"loadfile('/etc/passwd')", NULL, "global 'loadfile'"},
    {"string.dump(fn.lower)", NULL, "attempt to call a nil value (field 'dump')"},
    {"('').dump(fn.lower)", NULL, "attempt to call a nil value (field 'dump')"},
    {"debug.getinfo(1)", NULL, "global 'debug'"},
    {"package.loaded", NULL, "global 'package'"},
    {"coroutine.create(print)", NULL, "global 'coroutine'"},
    {"collectgarbage()", NULL, "global 'collectgarbage'"},
    {"setmetatable(_G, {})", NULL, "global 'setmetatable'"},
    {"getmetatable('').__index", NULL, "global 'getmetatable'"},
    {"rawset(_G, 'x', 1)", NULL, "global 'rawset'"},
    {"rawget(_ENV, 'x')", NULL, "global 'rawget'"},
    {"_G.x", NULL, "global '_G'"},
    {"print('x')", NULL, "global 'print'"},
    {"(function() x = 1 end)()", NULL, "assignment to global or library field 'x' is not allowed"},
    {"(function() alert = 1 end)()", NULL, "field 'alert' is not allowed"},
    {"(function() fn = 1 end)()", NULL, "field 'fn' is not allowed"},
    {"(function() _ENV.alert = {} end)()", NULL, "is not allowed"},
    {"(function() string.upper = nil end)()", NULL, "field 'upper' is not allowed"},
    {"(function() string.dump = print end)()", NULL, "is not allowed"},
    {"(function() fn.lower = string.upper end)()", NULL, "field 'lower' is not allowed"},
    {"(function() math.pi = 3 end)()", NULL, "field 'pi' is not allowed"},
    {"(function() table.insert = nil end)()", NULL, "is not allowed"},
    {"(function() local s = '' s.x = 1 end)()", NULL, "attempt to index a string value"},
    {"(function() alert.auth.count = 1 end)()", NULL, "attempt to index a json view value"},
    {"(function() local e = _ENV e.alert = 1 end)()", NULL, "is not allowed"},
    {"pcall(function() x = 1 end) and x", "false", NULL},
    {"x", "null", NULL},
    {"string.upper('ok')", "\"OK\"", NULL},
    {"(function() while true do end end)()", NULL, "instruction limit reached"},
    {"(function() local n = 0 for i = 1, 1e9 do n = n + i end return n end)()", NULL,
     "instruction limit reached"},
    {"(function() while true do pcall(function() while true do end end) end end)()", NULL,
     "instruction limit reached"},
    {"(function() local function f() return f() end return f() end)()", NULL,
     "instruction limit reached"},
    {"string.rep('x', 1e9)", NULL, "memory limit reached"},
    {"#string.rep('x', 1e9)", NULL, "memory limit reached"},
    {"pcall(string.rep, 'x', 1e9) and 1 or 2", NULL, "memory limit reached"},
    {"(function() local t = {} for i = 1, 30 do t[i] = string.rep('y', 1024 * 1024) .. i end "
     "end)()",
     NULL, "memory limit reached"},
    {"(function() local s = 'x' for i = 1, 40 do s = s .. s end return #s end)()", NULL,
     "memory limit reached"},
    {"#string.rep('x', 8 * 1024 * 1024)", "8388608", NULL},
    {"string.rep('a', 20000):find('.-.-.-b')", NULL, "string.find: pattern too costly"},
    {"string.rep('a', 20000):match('(a*)(a*)b')", NULL, "string.match: pattern too costly"},
    {"string.gsub(string.rep('a', 20000), 'a-a-a-b', '')", NULL, "string.gsub: pattern too costly"},
    {"string.gmatch(string.rep('a', 20000), 'a*a*b')()", NULL, "string.gmatch: pattern too costly"},
    {"string.rep('a', "
     "40):find('a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')",
     NULL, "pattern too costly"},
    {"string.rep('a', 20000):find('%d+%.%d+')", NULL, "pattern too costly"},
    /* allowed: one repetition over some KB, anchored, plain, no specials */
    {"string.rep('a', 5000):find('a+b')", "null", NULL},
    {"string.rep('a', 1000000):match('^a+$') ~= nil", "true", NULL},
    {"string.rep('a', 1000000):find('b', 1, true)", "null", NULL},
    {"string.rep('a', 1000000):find('ab')", "null", NULL},
    {"fn.contains(string.rep('a', 1000000), 'ab')", "false", NULL},
    {"#fn.split(string.rep('a,', 1000), ',')", "1001", NULL},
};

static void test_sandbox(void **state)
{
    (void)state;
    run_cases(ESCAPE_CASES, sizeof(ESCAPE_CASES) / sizeof(ESCAPE_CASES[0]));
    /* The limits say so in their status too. */
    struct rp_error err;
    json_t *v = NULL;
    assert_int_equal(expr_eval(ENV, "(function() while true do end end)()", &SCOPE, &v, &err),
                     RP_E_LIMIT);
    assert_int_equal(expr_eval(ENV, "string.rep('x', 1e9)", &SCOPE, &v, &err), RP_E_LIMIT);
    assert_int_equal(expr_eval(ENV, "error('x')", &SCOPE, &v, &err), RP_E_INVALID);
    still_works("the limits");
}

/* Nothing of one evaluation reaches the next: the scope is the caller's alone. */
static void test_scopes(void **state)
{
    (void)state;
    struct rp_error err;
    json_t *v = NULL;
    json_t *a1 = load("{\"x\":1}"), *a2 = load("{\"x\":2}");
    struct expr_scope s1 = {.alert = a1}, s2 = {.alert = a2}, none = {0};
    assert_int_equal(expr_eval(ENV, "alert.x", &s1, &v, &err), RP_OK);
    assert_int_equal(json_integer_value(v), 1);
    json_decref(v);
    assert_int_equal(expr_eval(ENV, "alert.x", &s2, &v, &err), RP_OK);
    assert_int_equal(json_integer_value(v), 2);
    json_decref(v);
    bool b = false;
    assert_int_equal(expr_eval_bool(ENV, "alert == nil and steps == nil", &none, &b, &err), RP_OK);
    assert_true(b);
    assert_int_equal(expr_eval_bool(ENV, "alert == nil", NULL, &b, &err), RP_OK);
    assert_true(b);

    /* A view returned is the very json_t. */
    assert_int_equal(expr_eval(ENV, "alert", &s1, &v, &err), RP_OK);
    assert_ptr_equal(v, a1);
    json_decref(v);

    /* for_each: scalar and object items, the index. */
    json_t *item = json_string("i1"), *idx = json_integer(3), *obj = load("{\"k\":\"v\"}");
    struct expr_scope fe = {.item = item, .index = idx};
    assert_int_equal(expr_eval(ENV, "item .. index", &fe, &v, &err), RP_OK);
    assert_string_equal(json_string_value(v), "i13");
    json_decref(v);
    fe.item = obj;
    assert_int_equal(expr_eval(ENV, "item.k .. index", &fe, &v, &err), RP_OK);
    assert_string_equal(json_string_value(v), "v3");
    json_decref(v);
    fe.item = NULL;
    assert_int_equal(expr_eval(ENV, "item", &fe, &v, &err), RP_OK);
    assert_true(json_is_null(v));
    json_decref(v);

    /* A scope freed after the call is not read again (valgrind/ASan say so). */
    json_t *tmp = load("{\"deep\":{\"er\":[1,2,3]}}");
    struct expr_scope st = {.vars = tmp};
    assert_int_equal(expr_eval(ENV, "{vars.deep, vars.deep.er}", &st, &v, &err), RP_OK);
    json_decref(tmp);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(v, 1), 2)), 3);
    json_decref(v);
    still_works("freed scope");

    json_decref(item);
    json_decref(idx);
    json_decref(obj);
    json_decref(a1);
    json_decref(a2);
}

/* More distinct expressions than the cache holds: all still right. */
static void test_cache(void **state)
{
    (void)state;
    struct rp_error err;
    char src[64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < RP_EXPR_CACHE_MAX + 50; i++) {
            snprintf(src, sizeof(src), "%d + vars.n", i);
            json_t *v = NULL;
            if (expr_eval(ENV, src, &SCOPE, &v, &err) != RP_OK)
                fail_msg("%s: %s", src, err.msg);
            assert_int_equal(json_integer_value(v), i + 3);
            json_decref(v);
        }
    }
    still_works("cache eviction");
}

/* --- templates ---------------------------------------------------------------------- */

static const struct eval_case TEMPLATE_CASES[] = {
    {"{{ alert.auth.count }}", "12", NULL},
    {"{{alert.auth.count}}", "12", NULL},
    {"  {{ alert.auth }}  ", "{\"count\":12}", NULL},
    {"{{ alert.tags }}", "[\"a\",\"b\",null,\"d\"]", NULL},
    {"{{ alert.score }}", "7.5", NULL},
    {"{{ alert.flag }}", "true", NULL},
    {"{{ alert.none }}", "null", NULL},
    {"{{ 'x' }}", "\"x\"", NULL},
    {"plain text", "\"plain text\"", NULL},
    {"", "\"\"", NULL},
    {"a } b }} c {", "\"a } b }} c {\"", NULL},
    {"count={{ alert.auth.count }} user={{ alert.user.name }}", "\"count=12 user=alice\"", NULL},
    {"Did you try to sign in {{ alert.auth.count }} times from {{ steps.where.city }}?",
     "\"Did you try to sign in 12 times from Lyon?\"", NULL},
    {"{{ alert.none }}x", "\"x\"", NULL},
    {"{{ alert.auth }}!", "\"{\\\"count\\\":12}!\"", NULL},
    {"v={{ 10/4 }}", "\"v=2.5\"", NULL},
    {"v={{ 2^1 }}", "\"v=2.0\"", NULL},
    {"v={{ 0.1 }}", "\"v=0.1\"", NULL},
    {"{{ true }}/{{ false }}", "\"true/false\"", NULL},
    {"{{ 1 }}{{ 2 }}", "\"12\"", NULL},
    {"{{ '}}' }}", "\"}}\"", NULL},
    {"{{ \"a}}b\" }}", "\"a}}b\"", NULL},
    {"{{ 'it\\'s }}' }}", "\"it's }}\"", NULL},
    {"{{ [[}}]] }}", "\"}}\"", NULL},
    {"{{ [==[ ]] }} ]==] }}", "\" ]] }} \"", NULL},
    {"a {{ {x = {y = 1}} }} b", "\"a {\\\"x\\\":{\\\"y\\\":1}} b\"", NULL},
    {"{{ {1, 2} }}", "[1,2]", NULL},
    {"{{ '{{' }}", "\"{{\"", NULL},

    {"{{ alert.auth.count", NULL, "unclosed {{ at byte 0"},
    {"x {{ 1 }} {{ 2", NULL, "unclosed {{ at byte 10"},
    {"{{ 'never closed }}", NULL, "unclosed {{"},
    {"{{ 1 + }}", NULL, "[expr]:1: unexpected symbol near <eof>"},
    {"{{ }}", NULL, "[expr]:"},
    {"x{{ nosuch.y }}", NULL, "global 'nosuch'"},
    {"x{{ print(1) }}", NULL, "global 'print'"},
    {"{{ function() end }}", NULL, "cannot be converted"},
    {"x {{ string.rep('x', 2 * 1024 * 1024) }}", NULL, "longer than"},
};

static void test_templates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TEMPLATE_CASES) / sizeof(TEMPLATE_CASES[0]); i++) {
        const struct eval_case *c = &TEMPLATE_CASES[i];
        struct rp_error err = {{0}}, cerr = {{0}};
        json_t *v = NULL;
        rp_status st = expr_render(ENV, c->src, &SCOPE, &v, &err);
        rp_status chk = expr_template_check(ENV, c->src, &cerr);
        if (c->err != NULL) {
            if (st == RP_OK)
                fail_msg("%s: accepted, want error '%s'", c->src, c->err);
            if (strstr(err.msg, c->err) == NULL)
                fail_msg("%s: error '%s', want '%s'", c->src, err.msg, c->err);
            assert_null(v);
            continue;
        }
        if (st != RP_OK)
            fail_msg("%s: %s", c->src, err.msg);
        if (chk != RP_OK)
            fail_msg("%s: check refused: %s", c->src, cerr.msg);
        json_t *want = load(c->want);
        if (!json_equal(v, want) || json_typeof(v) != json_typeof(want)) {
            char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            fail_msg("%s: got %s, want %s", c->src, got, c->want);
        }
        json_decref(want);
        json_decref(v);
    }
    /* check: syntax refused, runtime not looked at */
    struct rp_error err;
    assert_int_equal(expr_template_check(ENV, "a {{ 1 + }}", &err), RP_E_INVALID);
    assert_int_equal(expr_template_check(ENV, "a {{ x", &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "unclosed {{ at byte 2"));
    assert_int_equal(expr_template_check(ENV, "a {{ nosuch.y }}", &err), RP_OK);
    assert_true(expr_is_template("a {{ b }}"));
    assert_true(expr_is_template("{{"));
    assert_false(expr_is_template("a { { b"));
    assert_false(expr_is_template(""));
}

static void test_render_json(void **state)
{
    (void)state;
    struct rp_error err;
    json_t *in = load("{\"with\":{\"ip\":\"{{ alert.src.ip }}\",\"n\":\"{{ alert.auth.count }}\","
                      "\"lit\":\"x\",\"k\":5,\"arr\":[\"{{ 1 + 1 }}\",true,null,1.5],"
                      "\"msg\":\"user {{ alert.user.name }}\"},\"{{ key }}\":\"{{ 'v' }}\"}");
    json_t *copy = json_deep_copy(in);
    json_t *out = NULL;
    assert_int_equal(expr_render_json_check(ENV, in, &err), RP_OK);
    assert_int_equal(expr_render_json(ENV, in, &SCOPE, &out, &err), RP_OK);
    json_t *want = load("{\"with\":{\"ip\":\"10.1.2.3\",\"n\":12,\"lit\":\"x\",\"k\":5,"
                        "\"arr\":[2,true,null,1.5],\"msg\":\"user alice\"},\"{{ key }}\":\"v\"}");
    assert_true(json_equal(out, want));
    assert_true(json_equal(in, copy)); /* in unchanged */
    assert_ptr_not_equal(json_object_get(json_object_get(out, "with"), "lit"),
                         json_object_get(json_object_get(in, "with"), "lit"));
    json_decref(out);
    json_decref(want);
    json_decref(copy);
    json_decref(in);

    in = load("{\"a\":{\"b\":[\"ok\",\"{{ 1 + }}\"]}}");
    assert_int_equal(expr_render_json(ENV, in, &SCOPE, &out, &err), RP_E_INVALID);
    assert_null(out);
    assert_non_null(strstr(err.msg, "a: b: [1]: expression \"1 +\""));
    assert_int_equal(expr_render_json_check(ENV, in, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "a: b: [1]: "));
    json_decref(in);

    in = load("{\"a\":\"{{ nosuch.x }}\"}");
    assert_int_equal(expr_render_json_check(ENV, in, &err), RP_OK);
    assert_int_equal(expr_render_json(ENV, in, &SCOPE, &out, &err), RP_E_INVALID);
    json_decref(in);

    /* nesting past the bound */
    json_t *deep = json_string("{{ 1 }}");
    for (int i = 0; i < RP_JSON_MAX_DEPTH + 2; i++) {
        json_t *a = json_array();
        json_array_append_new(a, deep);
        deep = a;
    }
    assert_int_equal(expr_render_json(ENV, deep, &SCOPE, &out, &err), RP_E_LIMIT);
    assert_int_equal(expr_render_json_check(ENV, deep, &err), RP_E_LIMIT);
    json_decref(deep);
}

static void test_value_text(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *text;
    } cases[] = {
        {"null", ""},
        {"\"s\"", "s"},
        {"12", "12"},
        {"-7", "-7"},
        {"2.5", "2.5"},
        {"3.0", "3.0"},
        {"0.1", "0.1"},
        {"1e300", "1e+300"},
        {"true", "true"},
        {"false", "false"},
        {"[1,\"a\"]", "[1,\"a\"]"},
        {"{\"a\":null}", "{\"a\":null}"},
        {"{}", "{}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = load(cases[i].json);
        char *t = expr_value_text(v);
        assert_non_null(t);
        if (strcmp(t, cases[i].text) != 0)
            fail_msg("%s: got '%s', want '%s'", cases[i].json, t, cases[i].text);
        free(t);
        json_decref(v);
    }
    char *t = expr_value_text(NULL);
    assert_string_equal(t, "");
    free(t);
}

static void test_free_null(void **state)
{
    (void)state;
    expr_env_free(NULL);
    /* A second env is independent of the first. */
    struct expr_env *e2 = NULL;
    struct rp_error err;
    assert_int_equal(expr_env_new(&e2, &err), RP_OK);
    json_t *v = NULL;
    assert_int_equal(expr_eval(e2, "alert", &SCOPE, &v, &err), RP_OK);
    assert_ptr_equal(v, SCOPE.alert);
    json_decref(v);
    expr_env_free(e2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view),        cmocka_unit_test(test_syntax_message),
        cmocka_unit_test(test_bool),        cmocka_unit_test(test_fn),
        cmocka_unit_test(test_sandbox),     cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_cache),       cmocka_unit_test(test_templates),
        cmocka_unit_test(test_render_json), cmocka_unit_test(test_value_text),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
