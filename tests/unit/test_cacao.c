/*
 * test_cacao.c: CACAO 2.0 import and export (playbook/cacao.h).
 *
 * Tables of STIX conditions (translated, and refused with the reason), of
 * broken playbooks (refused with the field or step named), the layout of
 * CACAO graphs as Riposte lists (conditions with and without a join, while,
 * parallel branches that are chains), and the round trip: a playbook with
 * every step kind, exported and imported again, loads with the same steps,
 * kinds, ids and jumps, and exports to the same bytes twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "expr/expr.h"
#include "playbook/cacao.h"
#include "playbook/playbook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- conditions --------------------------------------------------------------- */

static void test_condition_translated(void **state)
{
    (void)state;
    struct expr_env *env = NULL;
    struct rp_error eerr;
    assert_int_equal(expr_env_new(&env, &eerr), RP_OK);
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"__status__:value = 'open'", "(vars.status == 'open')"},
        {"[__status__:value = 'open']", "((vars.status == 'open'))"},
        {"__n__:value > 5", "((tonumber(vars.n) or (0/0)) > 5)"},
        {"__n__:value != 5", "(tonumber(vars.n) ~= 5)"},
        {"__a__:value = 'x' AND NOT __b__:value = 'y'", "(vars.a == 'x') and not (vars.b == 'y')"},
        {"__a__:value = 'x' OR __b__:value <= 'm'",
         "(vars.a == 'x') or (tostring(vars.b or '') <= 'm')"},
        {"__a__:value IN ('x', 'y')", "(((vars.a == 'x') or (vars.a == 'y')))"},
        {"__a__:value NOT IN ('x')", "(not (((vars.a == 'x'))))"},
        {"__a__:value LIKE 'ev%l_'", "(string.find(tostring(vars.a or ''), '^ev.*l.$') ~= nil)"},
        {"__a__:value MATCHES '^\\d+x$'", "(string.find(tostring(vars.a or ''), '^%d+x$') ~= nil)"},
        {"__it's__:value = true", NULL}, /* not a variable: refused below */
        {"__ok__:value = 'it\\'s'", "(vars.ok == 'it\\'s')"},
        {"__end__:value = 1", "(tonumber(vars['end']) == 1)"},
        {"EXISTS __x__:value", "(vars.x ~= nil)"},
        {"[ipv4-addr:value = '10.0.0.1']",
         "(((function() for _, o in ipairs(alert and alert.observables or {}) do if o.type == "
         "'ipv4' and (o.value == '10.0.0.1') then return true end end return false end)()))"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].out == NULL)
            continue;
        char *lua = NULL;
        struct rp_error err = {{0}};
        rp_status st = cacao_condition_to_lua(rows[i].in, &lua, &err);
        if (st != RP_OK)
            fail_msg("%s: %s", rows[i].in, err.msg);
        if (strcmp(lua, rows[i].out) != 0)
            fail_msg("%s:\n got  %s\n want %s", rows[i].in, lua, rows[i].out);
        if (expr_check(env, lua, &err) != RP_OK) /* and it is Lua */
            fail_msg("%s: %s", lua, err.msg);
        free(lua);
    }
    expr_env_free(env);
}

/* Operands of any length the condition limit allows are translated whole, on
 * either side (a left operand of over 256 bytes of Lua once made "()"). */
static void test_condition_long_operand(void **state)
{
    (void)state;
    struct expr_env *env = NULL;
    struct rp_error err = {{0}};
    assert_int_equal(expr_env_new(&env, &err), RP_OK);
    static const struct {
        const char *before, *after;
    } shapes[] = {{"__a__:value = '", "'"},         {"__a__:value MATCHES '", "'"},
                  {"__a__:value IN ('x', '", "')"}, {"url:value = '", "'"},
                  {"__a__:value >= '", "'"},        {"'", "' = __a__:value"},
                  {"'", "' MATCHES 'v+'"},          {"'", "' LIKE 'v%'"}};
    char value[3001], cond[3100];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        snprintf(cond, sizeof cond, "%s%s%s", shapes[i].before, value, shapes[i].after);
        char *lua = NULL;
        if (cacao_condition_to_lua(cond, &lua, &err) != RP_OK)
            fail_msg("%s: %s", shapes[i].before, err.msg);
        if (strstr(lua, value) == NULL)
            fail_msg("%s: the value is not in the Lua: %.80s", shapes[i].before, lua);
        if (expr_check(env, lua, &err) != RP_OK)
            fail_msg("%s: %s", shapes[i].before, err.msg);
        free(lua);
    }
    expr_env_free(env);
}

static void test_condition_refused(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
    } rows[] = {
        {"", "empty"},
        {"__a__:value", "comparison operator"},
        {"__a__:value = ", "missing"},
        {"__a__:value = 'x", "unterminated"},
        {"[__a__:value = 'x'", "']' expected"},
        {"__a__:value = 'x' __b__", "after the expression"},
        {"[file:name = 'a'] FOLLOWEDBY [file:name = 'b']", "after the expression"},
        {"process:pid = 4", "no Riposte equivalent"},
        {"__a__:value ISSUBSET '10.0.0.0/8'", "outside the comparison subset"},
        {"__a__:value MATCHES '(a|b)'", "Lua patterns lack"},
        {"__a__:type = 'string'", "only the :value"},
        {"__a__:value = h'ff'", "not supported"},
        {"__a__:value = true AND __b__:value > true", "cannot be ordered"},
        {"((((((((((((((((((((((((((((((((((__a__:value = 1))))))))))))))))))))))))))))))))))",
         "nested deeper"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *lua = NULL;
        struct rp_error err = {{0}};
        rp_status st = cacao_condition_to_lua(rows[i].in, &lua, &err);
        if (st == RP_OK)
            fail_msg("%s: accepted as %s", rows[i].in, lua);
        if (strstr(err.msg, rows[i].why) == NULL)
            fail_msg("%s: %s (wanted \"%s\")", rows[i].in, err.msg, rows[i].why);
        assert_null(lua);
    }
}

/* --- import --------------------------------------------------------------------- */

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define U3 "33333333-3333-4333-8333-333333333333"
#define U4 "44444444-4444-4444-8444-444444444444"
#define U5 "55555555-5555-4555-8555-555555555555"
#define U6 "66666666-6666-4666-8666-666666666666"

#define HEAD(start)                                                                                \
    "{\"type\":\"playbook\",\"spec_version\":\"cacao-2.0\",\"id\":\"playbook--" U1 "\","           \
    "\"name\":\"Test Flow\",\"created\":\"2024-01-01T00:00:00.000Z\","                             \
    "\"modified\":\"2024-01-01T00:00:00.000Z\",\"workflow_start\":\"" start "\","

#define SIMPLE_WF                                                                                  \
    "\"workflow\":{\"start--" U2 "\":{\"type\":\"start\",\"on_completion\":\"action--" U3 "\"},"   \
    "\"action--" U3 "\":{\"type\":\"action\",\"commands\":[{\"type\":\"ssh\",\"command\":"         \
    "\"ls __dir__:value\"}],\"on_completion\":\"end--" U4 "\"},"                                   \
    "\"end--" U4 "\":{\"type\":\"end\"}}}"

/* Imports text and loads the YAML; returns the YAML (caller frees). */
static char *import_ok(const char *json, struct playbook **pb)
{
    char *yaml = NULL;
    size_t len = 0;
    struct rp_error err = {{0}};
    rp_status st = cacao_import(json, strlen(json), &yaml, &len, &err);
    if (st != RP_OK)
        fail_msg("import refused: %s", err.msg);
    st = playbook_load_string_flags("import", yaml, len, PB_LOAD_ANY_ACTION, pb, &err);
    if (st != RP_OK)
        fail_msg("the import does not load: %s\n%s", err.msg, yaml);
    return yaml;
}

static void test_import_simple(void **state)
{
    (void)state;
    struct playbook *pb = NULL;
    char *yaml = import_ok(HEAD("start--" U2) "\"playbook_variables\":{\"__dir__\":{\"type\":"
                                              "\"string\",\"value\":\"/tmp\"}}," SIMPLE_WF,
                           &pb);
    assert_string_equal(pb->name, "test-flow");
    assert_int_equal(pb->steps.n, 2);
    const struct pb_step *a = &pb->steps.steps[0];
    assert_int_equal(a->kind, PB_ACTION);
    assert_string_equal(a->id, "action--" U3);
    assert_string_equal(a->u.action.name, "cacao.ssh");
    assert_string_equal(json_string_value(json_object_get(a->u.action.with, "command")),
                        "ls {{ vars.dir }}");
    assert_string_equal(json_string_value(json_object_get(pb->vars, "dir")), "/tmp");
    assert_int_equal(pb->steps.steps[1].kind, PB_END);
    playbook_free(pb);
    free(yaml);
}

static void test_import_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json, *why;
    } rows[] = {
        {"[1]", "JSON object"},
        {"{", "not JSON"},
        {"{\"type\":\"playbook\"}", "spec_version: required"},
        {HEAD("start--" U2) "\"workflow\":[]}", "workflow: must be an object"},
        {"{\"type\":\"playbook\",\"spec_version\":\"cacao-1.0\",\"id\":\"playbook--" U1
         "\",\"name\":\"x\",\"created\":\"2024-01-01T00:00:00Z\",\"modified\":\"2024-01-01T00:"
         "00:00Z\",\"workflow_start\":\"a\",\"workflow\":{}}",
         "spec_version: must be \"cacao-2.0\""},
        {"{\"type\":\"playbook\",\"spec_version\":\"cacao-2.0\",\"id\":\"pb-1\",\"name\":\"x\","
         "\"created\":\"2024-01-01T00:00:00Z\",\"modified\":\"2024-01-01T00:00:00Z\","
         "\"workflow_start\":\"a\",\"workflow\":{}}",
         "id: must be playbook--UUID"},
        {"{\"type\":\"playbook\",\"spec_version\":\"cacao-2.0\",\"id\":\"playbook--" U1
         "\",\"name\":\"x\",\"created\":\"yesterday\",\"modified\":\"2024-01-01T00:00:00Z\","
         "\"workflow_start\":\"a\",\"workflow\":{}}",
         "created: must be an RFC 3339"},
        {HEAD("start--" U5) SIMPLE_WF, "workflow_start: names step start--" U5},
        {HEAD("action--" U3) SIMPLE_WF, "not the workflow's start step"},
        {HEAD("start--" U2) "\"workflow\":{\"start--" U2 "\":{\"type\":\"begin\"}}}",
         "type \"begin\" is not a CACAO 2.0 step type"},
        {HEAD("start--" U2) "\"workflow\":{\"start--" U2 "\":{\"type\":\"start\","
                            "\"on_completion\":\"end--" U6 "\"}}}",
         "on_completion names step end--" U6},
        {HEAD("start--" U2) "\"workflow\":{\"step-1\":{\"type\":\"start\"}}}",
         "step id \"step-1\" is not TYPE--UUID"},
        {HEAD("start--" U2) "\"workflow\":{\"start--" U2 "\":{\"type\":\"start\","
                            "\"on_completion\":\"action--" U3 "\"},\"action--" U3
                            "\":{\"type\":\"action\",\"commands\":[]}}}",
         "needs commands"},
        {HEAD("start--" U2) "\"workflow\":{\"start--" U2 "\":{\"type\":\"start\","
                            "\"on_completion\":\"action--" U3 "\"},\"action--" U3
                            "\":{\"type\":\"action\",\"agent\":\"individual--" U6
                            "\",\"commands\":[{\"type\":\"manual\"}]}}}",
         "agent individual--" U6 " is not in agent_definitions"},
        {HEAD("start--" U2) "\"workflow\":{\"start--" U2 "\":{\"type\":\"start\","
                            "\"on_completion\":\"action--" U3 "\"},\"action--" U3
                            "\":{\"type\":\"action\",\"commands\":[{\"type\":\"manual\"}],"
                            "\"on_completion\":\"action--" U3 "\"}}}",
         "(a loop)"},
        {HEAD("start--" U2) "\"agent_definitions\":{\"ssh--" U6
                            "\":{\"type\":\"linux\"}}," SIMPLE_WF,
         "type is \"linux\" but the id says ssh"},
        {HEAD("start--" U2) "\"agent_definitions\":{\"individual--" U6
                            "\":{\"type\":\"individual\",\"contact\":{\"email\":{\"w\":"
                            "\"a@b.c;`x`\"}}}}," SIMPLE_WF,
         "invalid email address"},
        {HEAD("start--" U2) "\"playbook_variables\":{\"dir\":{\"type\":\"string\"}}," SIMPLE_WF,
         "not named __name__"},
        {HEAD("start--" U2) "\"workflow\":{\"start--" U2 "\":{\"type\":\"start\","
                            "\"on_completion\":\"if-condition--" U3 "\"},\"if-condition--" U3
                            "\":{\"type\":\"if-condition\",\"condition\":\"[process:pid = 1]\","
                            "\"on_true\":\"end--" U4 "\"},\"end--" U4 "\":{\"type\":\"end\"}}}",
         "no Riposte equivalent"},
        {HEAD("start--" U2) "\"workflow\":{\"start--" U2 "\":{\"type\":\"start\","
                            "\"on_completion\":\"action--" U3 "\"},\"action--" U3
                            "\":{\"type\":\"action\",\"commands\":[{\"type\":\"bash\","
                            "\"command\":\"echo {{x}}\"}]}}}",
         "would read as a template"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *yaml = NULL;
        struct rp_error err = {{0}};
        rp_status st = cacao_import(rows[i].json, strlen(rows[i].json), &yaml, NULL, &err);
        if (st == RP_OK)
            fail_msg("row %zu accepted:\n%s", i, yaml);
        if (strstr(err.msg, rows[i].why) == NULL)
            fail_msg("row %zu: %s (wanted \"%s\")", i, err.msg, rows[i].why);
        assert_null(yaml);
    }
}

/* if-condition with a join (on_completion): both branches end in end steps,
 * which continue at the join; while-condition with a body; parallel branches
 * of one step and of a chain. */
static void test_import_structures(void **state)
{
    (void)state;
    static const char json[] = HEAD(
        "start--" U1) "\"workflow\":{"
                      "\"start--" U1 "\":{\"type\":\"start\",\"on_completion\":\"if-condition--" U1
                      "\"},"
                      "\"if-condition--" U1
                      "\":{\"type\":\"if-condition\",\"condition\":\"__x__:value = "
                      "'a'\",\"on_true\":\"action--" U1 "\",\"on_false\":\"action--" U2
                      "\",\"on_completion\":\"while-condition--" U1 "\"},"
                      "\"action--" U1 "\":{\"type\":\"action\",\"commands\":[{\"type\":\"manual\","
                      "\"command\":\"t\"}],\"on_completion\":\"end--" U1 "\"},"
                      "\"action--" U2 "\":{\"type\":\"action\",\"commands\":[{\"type\":\"manual\","
                      "\"command\":\"f\"},{\"type\":\"bash\",\"command\":\"g\"}],\"on_completion\":"
                      "\"end--" U2 "\"},"
                      "\"end--" U1 "\":{\"type\":\"end\"},\"end--" U2 "\":{\"type\":\"end\"},"
                      "\"while-condition--" U1
                      "\":{\"type\":\"while-condition\",\"condition\":\"__n__:value "
                      "< 3\",\"on_true\":\"action--" U3 "\",\"on_completion\":\"parallel--" U1
                      "\"},"
                      "\"action--" U3 "\":{\"type\":\"action\",\"commands\":[{\"type\":\"manual\","
                      "\"command\":\"loop\"}],\"on_completion\":\"end--" U3 "\"},"
                      "\"end--" U3 "\":{\"type\":\"end\"},"
                      "\"parallel--" U1 "\":{\"type\":\"parallel\",\"next_steps\":[\"action--" U4
                      "\",\"action--" U5 "\"],\"on_completion\":\"end--" U4 "\"},"
                      "\"action--" U4
                      "\":{\"type\":\"action\",\"commands\":[{\"type\":\"manual\"}],"
                      "\"on_completion\":\"end--" U5 "\"},"
                      "\"action--" U5
                      "\":{\"type\":\"action\",\"commands\":[{\"type\":\"manual\"}],"
                      "\"on_completion\":\"action--" U6 "\"},"
                      "\"action--" U6
                      "\":{\"type\":\"action\",\"commands\":[{\"type\":\"manual\"}],"
                      "\"on_completion\":\"end--" U5 "\"},"
                      "\"end--" U5 "\":{\"type\":\"end\"},"
                      "\"end--" U4 "\":{\"type\":\"end\"}}}";
    struct playbook *pb = NULL;
    char *yaml = import_ok(json, &pb);
    const struct pb_list *l = &pb->steps;
    /* if, true branch, false branch (two commands), while, parallel, end */
    assert_int_equal(l->n, 7);
    assert_int_equal(l->steps[0].kind, PB_SWITCH);
    assert_string_equal(l->steps[0].u.sw.expr, "tostring((vars.x == 'a'))");
    assert_string_equal(l->steps[1].id, "action--" U1);
    assert_string_equal(l->steps[1].next.id, "while-condition--" U1);
    assert_string_equal(l->steps[2].id, "action--" U2);
    assert_string_equal(l->steps[3].id, "action--" U2 "-2");
    assert_string_equal(l->steps[3].u.action.name, "cacao.bash");
    assert_int_equal(l->steps[4].kind, PB_WHILE);
    assert_int_equal(l->steps[4].u.loop.body.n, 1);
    assert_int_equal(l->steps[5].kind, PB_PARALLEL);
    assert_int_equal(l->steps[5].u.parallel.branches.n, 2);
    assert_int_equal(l->steps[5].u.parallel.branches.steps[0].kind, PB_ACTION);
    assert_int_equal(l->steps[5].u.parallel.branches.steps[1].kind, PB_GROUP);
    assert_int_equal(l->steps[5].u.parallel.branches.steps[1].u.group.body.n, 2);
    assert_int_equal(l->steps[6].kind, PB_END);
    playbook_free(pb);
    free(yaml);
}

/* --- the round trip --------------------------------------------------------------- */

static const char ALL[] =
    "playbook: cacao-roundtrip\n"
    "version: 3\n"
    "description: Every step kind\n"
    "trigger: { kind: auth, when: alert.auth.count >= 10 }\n"
    "vars: { threshold: 5, owner: soc, flags: { a: true } }\n"
    "steps:\n"
    "  - id: where\n"
    "    name: Look the address up\n"
    "    action: geoip.lookup\n"
    "    with: { ip: \"{{ alert.src.ip }}\" }\n"
    "    timeout: 30s\n"
    "    retry: { count: 2, backoff: 5s }\n"
    "    on_error: notify\n"
    "  - id: ask\n"
    "    prompt: { to: \"{{ alert.user.email }}\", question: Was it you?, options: [yes, no],\n"
    "              timeout: 4h, default: no }\n"
    "  - id: decide\n"
    "    switch: steps.ask.answer\n"
    "    cases: { \"yes\": close, \"no\": contain }\n"
    "    default: notify\n"
    "  - id: contain\n"
    "    parallel:\n"
    "      - action: edr.contain_host\n"
    "        with: { host: \"{{ alert.host.name }}\" }\n"
    "      - id: tell\n"
    "        steps:\n"
    "          - { id: mail, action: mail.send, with: { to: \"{{ vars.owner }}\" } }\n"
    "          - { id: note, case: { note: contained } }\n"
    "    next: poll\n"
    "  - id: close\n"
    "    set: { done: \"yes\" }\n"
    "    next: notify\n"
    "  - id: poll\n"
    "    while: steps.check == nil\n"
    "    max: 5\n"
    "    steps:\n"
    "      - id: check\n"
    "        action: cacao.http-api\n"
    "        with: { command: \"GET /status/{{ vars.owner }}\" }\n"
    "        on_error: continue\n"
    "      - { id: pause, wait: 1m }\n"
    "  - id: each\n"
    "    for_each: alert.observables\n"
    "    concurrency: 2\n"
    "    steps:\n"
    "      - id: look\n"
    "        when: item.type == \"ipv4\"\n"
    "        playbook: enrich-ip\n"
    "        inputs: { ip: \"{{ item.value }}\" }\n"
    "  - { id: notify, case: { severity: \"80\" } }\n"
    "  - { id: stop, end: failure }\n";

/* Where a step of list l goes when it is done: the id of the next step, or
 * "" at the end of the list. */
static const char *successor(const struct pb_list *l, size_t i)
{
    const struct pb_step *s = &l->steps[i];
    if (s->kind == PB_END)
        return "(end)";
    if (s->kind == PB_SWITCH)
        return "(switch)";
    if (s->next.id != NULL)
        return s->next.id;
    return i + 1 < l->n ? l->steps[i + 1].id : "";
}

static const struct pb_step *find_in(const struct pb_list *l, const char *id, size_t *at)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->steps[i].id, id) == 0) {
            *at = i;
            return &l->steps[i];
        }
    return NULL;
}

static void same_list(const struct pb_list *a, const struct pb_list *b);

static void same_step(const struct pb_list *la, size_t ia, const struct pb_list *lb, size_t ib)
{
    const struct pb_step *x = &la->steps[ia], *y = &lb->steps[ib];
    assert_string_equal(x->id, y->id);
    assert_int_equal(x->kind, y->kind);
    assert_string_equal(successor(la, ia), successor(lb, ib));
    assert_int_equal(x->on_error, y->on_error);
    if (x->on_error == PB_ON_ERROR_GOTO)
        assert_string_equal(x->on_error_target.id, y->on_error_target.id);
    assert_true((x->when == NULL) == (y->when == NULL));
    if (x->when)
        assert_string_equal(x->when, y->when);
    assert_int_equal(x->timeout_ms, y->timeout_ms);
    assert_int_equal(x->retry_count, y->retry_count);
    switch (x->kind) {
    case PB_ACTION:
        assert_string_equal(x->u.action.name, y->u.action.name);
        assert_true(json_equal(x->u.action.with, y->u.action.with));
        break;
    case PB_SWITCH:
        assert_string_equal(x->u.sw.expr, y->u.sw.expr);
        assert_int_equal(x->u.sw.ncases, y->u.sw.ncases);
        for (size_t c = 0; c < x->u.sw.ncases; c++) {
            size_t k;
            for (k = 0; k < y->u.sw.ncases; k++)
                if (strcmp(x->u.sw.cases[c].value, y->u.sw.cases[k].value) == 0)
                    break;
            assert_true(k < y->u.sw.ncases);
            assert_string_equal(x->u.sw.cases[c].target.id, y->u.sw.cases[k].target.id);
        }
        {
            /* the default: a jump, or the step after the switch */
            const char *dx = x->u.sw.default_target.id ? x->u.sw.default_target.id
                             : ia + 1 < la->n          ? la->steps[ia + 1].id
                                                       : "";
            const char *dy = y->u.sw.default_target.id ? y->u.sw.default_target.id
                             : ib + 1 < lb->n          ? lb->steps[ib + 1].id
                                                       : "";
            assert_string_equal(dx, dy);
        }
        break;
    case PB_FOR_EACH:
        assert_string_equal(x->u.for_each.items, y->u.for_each.items);
        same_list(&x->u.for_each.body, &y->u.for_each.body);
        break;
    case PB_WHILE:
        assert_string_equal(x->u.loop.cond, y->u.loop.cond);
        assert_int_equal(x->u.loop.max_iterations, y->u.loop.max_iterations);
        same_list(&x->u.loop.body, &y->u.loop.body);
        break;
    case PB_PARALLEL:
        same_list(&x->u.parallel.branches, &y->u.parallel.branches);
        break;
    case PB_GROUP:
        same_list(&x->u.group.body, &y->u.group.body);
        break;
    case PB_END:
        assert_int_equal(x->u.end.failure, y->u.end.failure);
        break;
    case PB_SUB:
        assert_string_equal(x->u.sub.playbook, y->u.sub.playbook);
        break;
    default:
        break;
    }
}

/* Same steps (order may differ where jumps make it not matter), kinds, ids,
 * successors and nested lists. */
static void same_list(const struct pb_list *a, const struct pb_list *b)
{
    assert_int_equal(a->n, b->n);
    assert_string_equal(a->steps[0].id, b->steps[0].id);
    for (size_t i = 0; i < a->n; i++) {
        size_t j = 0;
        if (find_in(b, a->steps[i].id, &j) == NULL)
            fail_msg("step %s is lost", a->steps[i].id);
        same_step(a, i, b, j);
    }
}

static char *export_text(const struct playbook *pb)
{
    json_t *doc = NULL;
    struct rp_error err = {{0}};
    if (cacao_export(pb, &doc, &err) != RP_OK)
        fail_msg("export: %s", err.msg);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    assert_non_null(text);
    return text;
}

/* The fixture playbook ALL, loaded (the test fails when it does not load). */
static struct playbook *load_all(void)
{
    struct playbook *pb = NULL;
    struct rp_error err = {{0}};
    if (playbook_load_string_flags("all.yml", ALL, strlen(ALL), PB_LOAD_ANY_ACTION, &pb, &err) !=
        RP_OK)
        fail_msg("fixture: %s", err.msg);
    return pb;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct playbook *pb = load_all(), *back = NULL;
    char *json = export_text(pb);
    char *again = export_text(pb);
    assert_string_equal(json, again); /* stable */
    char *yaml = import_ok(json, &back);
    assert_string_equal(back->name, pb->name);
    assert_int_equal(back->version, pb->version);
    assert_int_equal(back->trigger.type, pb->trigger.type);
    assert_true(json_equal(back->vars, pb->vars));
    same_list(&pb->steps, &back->steps);
    playbook_free(back);
    free(yaml);
    free(again);
    free(json);
    playbook_free(pb);
}

/* A Riposte extension damaged in transit is refused, not read as another
 * kind of step (a while whose spec key was mangled became a plain group). */
static void test_extension_damaged(void **state)
{
    (void)state;
    struct playbook *pb = load_all();
    struct rp_error err = {{0}};
    for (int damage = 0; damage < 2; damage++) {
        json_t *doc = NULL;
        assert_int_equal(cacao_export(pb, &doc, &err), RP_OK);
        json_t *wf = json_object_get(doc, "workflow");
        const char *key;
        json_t *step;
        bool done = false;
        json_object_foreach(wf, key, step)
        {
            json_t *exts = json_object_get(step, "step_extensions");
            const char *ek;
            json_t *ext;
            json_object_foreach(exts, ek, ext)
            {
                json_t *spec = json_object_get(ext, "spec");
                if (done || spec == NULL)
                    continue;
                if (damage == 0) /* the key renamed */
                    assert_int_equal(json_object_set(ext, "s  pec", spec), 0);
                assert_int_equal(json_object_del(ext, "spec"), 0); /* or dropped */
                done = true;
            }
        }
        assert_true(done);
        char *text = json_dumps(doc, JSON_COMPACT);
        char *yaml = NULL;
        size_t len = 0;
        err.msg[0] = '\0';
        assert_int_equal(cacao_import(text, strlen(text), &yaml, &len, &err), RP_E_INVALID);
        assert_null(yaml);
        assert_non_null(strstr(err.msg, damage == 0 ? "unknown key \"s  pec\"" : "no spec object"));
        free(text);
        json_decref(doc);
    }
    playbook_free(pb);
}

/* What the OASIS schema requires of the exported document. */
static void test_export_shape(void **state)
{
    (void)state;
    struct playbook *pb = load_all();
    struct rp_error err = {{0}};
    json_t *doc = NULL;
    assert_int_equal(cacao_export(pb, &doc, &err), RP_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "spec_version")), "cacao-2.0");
    assert_string_equal(json_string_value(json_object_get(doc, "id")),
                        "playbook--996f20fd-f513-55f8-b3bc-2ccd0ddf9474");
    assert_string_equal(json_string_value(json_object_get(doc, "modified")),
                        "2000-01-01T00:00:02.000Z");
    json_t *wf = json_object_get(doc, "workflow");
    const char *start = json_string_value(json_object_get(doc, "workflow_start"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(wf, start), "type")),
                        "start");
    const char *key;
    json_t *step;
    int ends = 0;
    json_object_foreach(wf, key, step)
    {
        const char *type = json_string_value(json_object_get(step, "type"));
        assert_non_null(type);
        assert_int_equal(strncmp(key, type, strlen(type)), 0);
        assert_false(json_object_get(step, "on_completion") &&
                     (json_object_get(step, "on_success") || json_object_get(step, "on_failure")));
        if (strcmp(type, "action") == 0)
            assert_true(json_array_size(json_object_get(step, "commands")) >= 1);
        if (strcmp(type, "end") == 0)
            ends++;
    }
    assert_true(ends >= 1);
    json_decref(doc);
    playbook_free(pb);
}

static void test_uuid5(void **state)
{
    (void)state;
    char u[37];
    cacao_uuid5("riposte", u);
    /* Python: uuid.uuid5(UUID('2b7e1516-28ae-4d2a-a6d2-0f819c4f3c62'), 'riposte') */
    assert_string_equal(u, "55af83bd-3218-5ac6-a300-7dc8ef238c7e");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_condition_translated), cmocka_unit_test(test_condition_long_operand),
        cmocka_unit_test(test_condition_refused),    cmocka_unit_test(test_import_simple),
        cmocka_unit_test(test_import_refused),       cmocka_unit_test(test_import_structures),
        cmocka_unit_test(test_round_trip),           cmocka_unit_test(test_export_shape),
        cmocka_unit_test(test_extension_damaged),    cmocka_unit_test(test_uuid5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
