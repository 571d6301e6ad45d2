/*
 * test_playbook.c: the playbook loader and validator (playbook/playbook.h).
 *
 * Every step kind is loaded and read back field by field; a table of broken
 * playbooks checks that each is refused with its exact `file:line:col:`
 * message; directories load all or nothing. The expression tests at the end
 * need the real expr/ (not the stand-ins that accept everything).
 */
#include "core/hash.h"
#include "core/limits.h"
#include "engine/action.h"
#include "playbook/cron.h"
#include "playbook/playbook.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct playbook *load_flags(const char *text, unsigned flags)
{
    struct playbook *pb = NULL;
    struct rp_error err = {{0}};
    rp_status st = playbook_load_string_flags("pb.yml", text, strlen(text), flags, &pb, &err);
    if (st != RP_OK)
        fail_msg("load failed: %s", err.msg);
    assert_non_null(pb);
    return pb;
}

static struct playbook *load(const char *text)
{
    return load_flags(text, 0);
}

static const struct pb_step *step(const struct playbook *pb, const char *id)
{
    const struct pb_step *s = playbook_step(pb, id);
    if (s == NULL)
        fail_msg("no step %s", id);
    return s;
}

static int setup(void **state)
{
    (void)state;
    action_registry_init();
    return 0;
}

/* --- the design example, field by field ------------------------------------------ */

static const char EXAMPLE[] =
    "playbook: failed-logins\n"
    "version: 3\n"
    "description: Confirm a burst of failed logins with the user; reset or escalate.\n"
    "trigger:\n"
    "  kind: auth\n"
    "  when: alert.auth.count >= 10\n"
    "steps:\n"
    "  - id: where\n"
    "    action: geoip.lookup\n"
    "    with: { ip: \"{{ alert.src.ip }}\" }\n"
    "  - id: ask\n"
    "    prompt:\n"
    "      to: \"{{ alert.user.email }}\"\n"
    "      question: \"Did you try to sign in {{ alert.auth.count }} times?\"\n"
    "      options: [yes, no]\n"
    "      timeout: 4h\n"
    "      default: no\n"
    "  - id: reset\n"
    "    when: steps.ask.answer == \"yes\"\n"
    "    action: directory.reset_password\n"
    "    with: { user: \"{{ alert.user.name }}\" }\n"
    "  - id: takeover\n"
    "    when: steps.ask.answer == \"no\"\n"
    "    parallel:\n"
    "      - action: edr.contain_host\n"
    "        with: { host: \"{{ alert.host.name }}\" }\n"
    "      - action: mail.send\n"
    "        with: { to: \"{{ alert.user.email }}\", template: takeover-attempt }\n";

static void test_example(void **state)
{
    (void)state;
    struct playbook *pb = load_flags(EXAMPLE, PB_LOAD_ANY_ACTION);
    assert_string_equal(pb->name, "failed-logins");
    assert_int_equal(pb->version, 3);
    assert_string_equal(pb->description,
                        "Confirm a burst of failed logins with the user; reset or escalate.");
    assert_string_equal(pb->path, "pb.yml");
    assert_int_equal(pb->text_len, strlen(EXAMPLE));
    assert_memory_equal(pb->text, EXAMPLE, strlen(EXAMPLE));
    char hex[HASH_SHA256_HEX_LEN + 1];
    hash_sha256_hex(EXAMPLE, strlen(EXAMPLE), hex);
    assert_string_equal(pb->sha256, hex);
    assert_int_equal(pb->trigger.type, PB_TRIGGER_ALERT);
    assert_string_equal(pb->trigger.kind, "auth");
    assert_string_equal(pb->trigger.when, "alert.auth.count >= 10");
    assert_null(pb->trigger.schedule);
    assert_null(pb->trigger.cron);
    assert_int_equal(json_object_size(pb->inputs), 0);
    assert_int_equal(json_object_size(pb->vars), 0);
    assert_int_equal(pb->max_concurrent, 0);
    assert_int_equal(pb->steps.n, 4);
    assert_int_equal(pb->nsteps_total, 6);

    const struct pb_step *s = &pb->steps.steps[0];
    assert_string_equal(s->id, "where");
    assert_int_equal(s->kind, PB_ACTION);
    assert_int_equal(s->pos.line, 8);
    assert_int_equal(s->pos.col, 5);
    assert_null(s->when);
    assert_null(s->name);
    assert_null(s->next.id);
    assert_int_equal(s->next.index, -1);
    assert_int_equal(s->timeout_ms, 0);
    assert_int_equal(s->retry_count, 0);
    assert_int_equal(s->on_error, PB_ON_ERROR_FAIL);
    assert_null(s->on_error_target.id);
    assert_int_equal(s->on_error_target.index, -1);
    assert_string_equal(s->u.action.name, "geoip.lookup");
    assert_string_equal(json_string_value(json_object_get(s->u.action.with, "ip")),
                        "{{ alert.src.ip }}");

    s = &pb->steps.steps[1];
    assert_string_equal(s->id, "ask");
    assert_int_equal(s->kind, PB_PROMPT);
    assert_string_equal(s->u.prompt.to, "{{ alert.user.email }}");
    assert_null(s->u.prompt.role);
    assert_string_equal(s->u.prompt.question,
                        "Did you try to sign in {{ alert.auth.count }} times?");
    assert_int_equal(json_array_size(s->u.prompt.options), 2);
    assert_string_equal(json_string_value(json_array_get(s->u.prompt.options, 0)), "yes");
    assert_string_equal(json_string_value(json_array_get(s->u.prompt.options, 1)), "no");
    assert_int_equal(s->u.prompt.timeout_ms, 4 * 3600 * 1000);
    assert_string_equal(s->u.prompt.default_option, "no");

    s = &pb->steps.steps[2];
    assert_string_equal(s->when, "steps.ask.answer == \"yes\"");
    assert_string_equal(s->u.action.name, "directory.reset_password");

    s = &pb->steps.steps[3];
    assert_int_equal(s->kind, PB_PARALLEL);
    assert_int_equal(s->u.parallel.branches.n, 2);
    const struct pb_step *b = &s->u.parallel.branches.steps[0];
    assert_string_equal(b->id, "takeover.1");
    assert_int_equal(b->pos.line, 25);
    assert_int_equal(b->pos.col, 9);
    assert_string_equal(b->u.action.name, "edr.contain_host");
    b = &s->u.parallel.branches.steps[1];
    assert_string_equal(b->id, "takeover.2");
    assert_string_equal(json_string_value(json_object_get(b->u.action.with, "template")),
                        "takeover-attempt");
    assert_ptr_equal(playbook_step(pb, "takeover.2"), b);
    assert_null(playbook_step(pb, "takeover.3"));
    assert_null(playbook_step(pb, NULL));
    playbook_free(pb);
    playbook_free(NULL);
}

/* --- every kind ------------------------------------------------------------------- */

static void test_action_with_types(void **state)
{
    (void)state;
    struct playbook *pb = load("playbook: t\n"
                               "steps:\n"
                               "  - id: a\n"
                               "    action: echo\n"
                               "    with:\n"
                               "      int: 5\n"
                               "      neg: -3\n"
                               "      hex: 0x1F\n"
                               "      oct: 0o17\n"
                               "      real: 1.5\n"
                               "      exp: 1e3\n"
                               "      t: true\n"
                               "      f: False\n"
                               "      n1: null\n"
                               "      n2: ~\n"
                               "      n3:\n"
                               "      yes_is_text: yes\n"
                               "      quoted_int: \"5\"\n"
                               "      quoted_bool: 'true'\n"
                               "      block: |\n"
                               "        12\n"
                               "      list: [1, two, 3.0]\n"
                               "      nested: {a: {b: [x]}}\n"
                               "  - id: b\n"
                               "    action: noop\n");
    json_t *w = step(pb, "a")->u.action.with;
    assert_int_equal(json_integer_value(json_object_get(w, "int")), 5);
    assert_int_equal(json_integer_value(json_object_get(w, "neg")), -3);
    assert_int_equal(json_integer_value(json_object_get(w, "hex")), 31);
    assert_int_equal(json_integer_value(json_object_get(w, "oct")), 15);
    assert_true(json_real_value(json_object_get(w, "real")) == 1.5);
    assert_true(json_real_value(json_object_get(w, "exp")) == 1000.0);
    assert_true(json_is_true(json_object_get(w, "t")));
    assert_true(json_is_false(json_object_get(w, "f")));
    assert_true(json_is_null(json_object_get(w, "n1")));
    assert_true(json_is_null(json_object_get(w, "n2")));
    assert_true(json_is_null(json_object_get(w, "n3")));
    assert_string_equal(json_string_value(json_object_get(w, "yes_is_text")), "yes");
    assert_string_equal(json_string_value(json_object_get(w, "quoted_int")), "5");
    assert_string_equal(json_string_value(json_object_get(w, "quoted_bool")), "true");
    assert_string_equal(json_string_value(json_object_get(w, "block")), "12\n");
    json_t *list = json_object_get(w, "list");
    assert_int_equal(json_array_size(list), 3);
    assert_int_equal(json_integer_value(json_array_get(list, 0)), 1);
    assert_string_equal(json_string_value(json_array_get(list, 1)), "two");
    assert_true(json_is_real(json_array_get(list, 2)));
    json_t *nested = json_object_get(json_object_get(json_object_get(w, "nested"), "a"), "b");
    assert_string_equal(json_string_value(json_array_get(nested, 0)), "x");
    /* no `with`: an empty object */
    assert_true(json_is_object(step(pb, "b")->u.action.with));
    assert_int_equal(json_object_size(step(pb, "b")->u.action.with), 0);
    playbook_free(pb);
}

static void test_prompt_role(void **state)
{
    (void)state;
    struct playbook *pb = load("playbook: t\n"
                               "steps:\n"
                               "  - id: p\n"
                               "    name: Ask the on-call\n"
                               "    prompt:\n"
                               "      role: tier2\n"
                               "      question: Contain?\n"
                               "      options: [1, true, \"later\"]\n"
                               "      timeout: 1h30m\n");
    const struct pb_step *s = step(pb, "p");
    assert_int_equal(s->kind, PB_PROMPT);
    assert_string_equal(s->name, "Ask the on-call");
    assert_null(s->u.prompt.to);
    assert_string_equal(s->u.prompt.role, "tier2");
    assert_string_equal(s->u.prompt.question, "Contain?");
    assert_string_equal(json_string_value(json_array_get(s->u.prompt.options, 0)), "1");
    assert_string_equal(json_string_value(json_array_get(s->u.prompt.options, 1)), "true");
    assert_string_equal(json_string_value(json_array_get(s->u.prompt.options, 2)), "later");
    assert_int_equal(s->u.prompt.timeout_ms, 90 * 60 * 1000);
    assert_null(s->u.prompt.default_option);
    playbook_free(pb);
}

static void test_set_switch_jumps(void **state)
{
    (void)state;
    struct playbook *pb = load("playbook: t\n"
                               "steps:\n"
                               "  - id: s\n"
                               "    set: {verdict: \"{{ alert.verdict }}\", count: 3}\n"
                               "  - id: sw\n"
                               "    switch: vars.verdict\n"
                               "    cases:\n"
                               "      malicious: contain\n"
                               "      1: done\n"
                               "    default: ask\n"
                               "  - id: ask\n"
                               "    action: noop\n"
                               "    next: done\n"
                               "    on_error: contain\n"
                               "  - id: contain\n"
                               "    action: noop\n"
                               "    on_error: continue\n"
                               "  - id: done\n"
                               "    end:\n");
    const struct pb_step *s = step(pb, "s");
    assert_int_equal(s->kind, PB_SET);
    assert_string_equal(json_string_value(json_object_get(s->u.set.values, "verdict")),
                        "{{ alert.verdict }}");
    assert_int_equal(json_integer_value(json_object_get(s->u.set.values, "count")), 3);
    s = step(pb, "sw");
    assert_int_equal(s->kind, PB_SWITCH);
    assert_string_equal(s->u.sw.expr, "vars.verdict");
    assert_int_equal(s->u.sw.ncases, 2);
    assert_string_equal(s->u.sw.cases[0].value, "malicious");
    assert_string_equal(s->u.sw.cases[0].target.id, "contain");
    assert_int_equal(s->u.sw.cases[0].target.index, 3);
    assert_string_equal(s->u.sw.cases[1].value, "1");
    assert_int_equal(s->u.sw.cases[1].target.index, 4);
    assert_string_equal(s->u.sw.default_target.id, "ask");
    assert_int_equal(s->u.sw.default_target.index, 2);
    s = step(pb, "ask");
    assert_string_equal(s->next.id, "done");
    assert_int_equal(s->next.index, 4);
    assert_int_equal(s->on_error, PB_ON_ERROR_GOTO);
    assert_string_equal(s->on_error_target.id, "contain");
    assert_int_equal(s->on_error_target.index, 3);
    s = step(pb, "contain");
    assert_int_equal(s->on_error, PB_ON_ERROR_CONTINUE);
    assert_int_equal(s->on_error_target.index, -1);
    s = step(pb, "done");
    assert_int_equal(s->kind, PB_END);
    assert_false(s->u.end.failure);
    playbook_free(pb);

    /* a switch without default falls through */
    pb = load("playbook: t\n"
              "steps:\n"
              "  - {id: sw, switch: x, cases: {a: b}}\n"
              "  - {id: b, action: noop}\n");
    assert_null(step(pb, "sw")->u.sw.default_target.id);
    assert_int_equal(step(pb, "sw")->u.sw.default_target.index, -1);
    playbook_free(pb);
}

static void test_loops_groups(void **state)
{
    (void)state;
    struct playbook *pb = load("playbook: t\n"
                               "steps:\n"
                               "  - id: each\n"
                               "    for_each: alert.observables\n"
                               "    steps:\n"
                               "      - {id: look, action: echo, with: {v: \"{{ item.value }}\"}}\n"
                               "  - id: each4\n"
                               "    for_each: alert.hosts\n"
                               "    concurrency: 4\n"
                               "    steps:\n"
                               "      - {id: look4, action: noop}\n"
                               "  - id: poll\n"
                               "    while: steps.check.state ~= \"done\"\n"
                               "    max: 30\n"
                               "    steps:\n"
                               "      - {id: check, action: noop}\n"
                               "      - {id: nap, wait: 30s}\n"
                               "  - id: g\n"
                               "    steps:\n"
                               "      - {id: g1, action: noop, next: g3}\n"
                               "      - {id: g2, action: noop}\n"
                               "      - {id: g3, action: noop}\n"
                               "  - id: par\n"
                               "    parallel:\n"
                               "      - {id: named, action: noop}\n"
                               "      - steps:\n"
                               "          - {id: deep, action: noop}\n");
    assert_int_equal(pb->nsteps_total, 15);
    const struct pb_step *s = step(pb, "each");
    assert_int_equal(s->kind, PB_FOR_EACH);
    assert_string_equal(s->u.for_each.items, "alert.observables");
    assert_int_equal(s->u.for_each.concurrency, 1);
    assert_int_equal(s->u.for_each.body.n, 1);
    assert_ptr_equal(&s->u.for_each.body.steps[0], step(pb, "look"));
    assert_int_equal(step(pb, "each4")->u.for_each.concurrency, 4);
    s = step(pb, "poll");
    assert_int_equal(s->kind, PB_WHILE);
    assert_string_equal(s->u.loop.cond, "steps.check.state ~= \"done\"");
    assert_int_equal(s->u.loop.max_iterations, 30);
    assert_int_equal(s->u.loop.body.n, 2);
    assert_int_equal(step(pb, "nap")->u.wait.duration_ms, 30000);
    s = step(pb, "g");
    assert_int_equal(s->kind, PB_GROUP);
    assert_int_equal(s->u.group.body.n, 3);
    assert_int_equal(step(pb, "g1")->next.index, 2);
    s = step(pb, "par");
    assert_int_equal(s->u.parallel.branches.n, 2);
    assert_string_equal(s->u.parallel.branches.steps[0].id, "named");
    assert_string_equal(s->u.parallel.branches.steps[1].id, "par.2");
    assert_int_equal(s->u.parallel.branches.steps[1].kind, PB_GROUP);
    assert_non_null(step(pb, "deep"));
    playbook_free(pb);
}

static void test_wait_sub_case_end(void **state)
{
    (void)state;
    struct playbook *pb = load("playbook: t\n"
                               "steps:\n"
                               "  - {id: w1, wait: 2d}\n"
                               "  - {id: w2, wait: {until: \"{{ alert.time }}\"}}\n"
                               "  - {id: sub1, playbook: enrich-ip, inputs: {ip: \"{{ x }}\"}}\n"
                               "  - {id: sub2, playbook: enrich.host}\n"
                               "  - {id: c1, case: {status: contained}}\n"
                               "  - {id: c2, case: {status: \"{{ vars.next_status }}\"}}\n"
                               "  - {id: c3, case: {severity: 85}}\n"
                               "  - {id: c4, case: {severity: critical}}\n"
                               "  - {id: c5, case: {assignee: alice}}\n"
                               "  - {id: c6, case: {note: \"seen {{ alert.id }}\"}}\n"
                               "  - {id: c7, case: {task: Call the user}}\n"
                               "  - {id: c8, case: {severity: \"{{ 10 * 2 }}\"}}\n"
                               "  - {id: e1, when: x, end: failure}\n"
                               "  - {id: e2, when: y, end: success}\n"
                               "  - {id: e3, end: null}\n");
    assert_int_equal(step(pb, "w1")->kind, PB_WAIT);
    assert_int_equal(step(pb, "w1")->u.wait.duration_ms, 2LL * 86400 * 1000);
    assert_null(step(pb, "w1")->u.wait.until);
    assert_int_equal(step(pb, "w2")->u.wait.duration_ms, 0);
    assert_string_equal(step(pb, "w2")->u.wait.until, "{{ alert.time }}");
    const struct pb_step *s = step(pb, "sub1");
    assert_int_equal(s->kind, PB_SUB);
    assert_string_equal(s->u.sub.playbook, "enrich-ip");
    assert_string_equal(json_string_value(json_object_get(s->u.sub.inputs, "ip")), "{{ x }}");
    assert_string_equal(step(pb, "sub2")->u.sub.playbook, "enrich.host");
    assert_null(step(pb, "sub2")->u.sub.inputs);
    static const struct {
        const char *id;
        enum pb_case_op op;
        const char *value;
    } cases[] = {
        {"c1", PB_CASE_STATUS, "contained"},   {"c2", PB_CASE_STATUS, "{{ vars.next_status }}"},
        {"c3", PB_CASE_SEVERITY, "85"},        {"c4", PB_CASE_SEVERITY, "critical"},
        {"c5", PB_CASE_ASSIGNEE, "alice"},     {"c6", PB_CASE_NOTE, "seen {{ alert.id }}"},
        {"c7", PB_CASE_TASK, "Call the user"}, {"c8", PB_CASE_SEVERITY, "{{ 10 * 2 }}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = step(pb, cases[i].id);
        assert_int_equal(s->kind, PB_CASE);
        assert_int_equal(s->u.case_op.op, cases[i].op);
        assert_string_equal(s->u.case_op.value, cases[i].value);
    }
    assert_true(step(pb, "e1")->u.end.failure);
    assert_false(step(pb, "e2")->u.end.failure);
    assert_false(step(pb, "e3")->u.end.failure);
    playbook_free(pb);
}

static void test_common_keys(void **state)
{
    (void)state;
    struct playbook *pb = load("playbook: t\n"
                               "steps:\n"
                               "  - id: a\n"
                               "    action: noop\n"
                               "    timeout: 500ms\n"
                               "    retry: 3\n"
                               "    on_error: fail\n"
                               "  - id: b\n"
                               "    action: noop\n"
                               "    retry: {count: 2, backoff: 5s}\n"
                               "  - id: c\n"
                               "    action: noop\n"
                               "    retry: {count: 0}\n"
                               "    timeout: 1w\n");
    const struct pb_step *s = step(pb, "a");
    assert_int_equal(s->timeout_ms, 500);
    assert_int_equal(s->retry_count, 3);
    assert_int_equal(s->retry_backoff_ms, 1000);
    assert_int_equal(s->on_error, PB_ON_ERROR_FAIL);
    s = step(pb, "b");
    assert_int_equal(s->retry_count, 2);
    assert_int_equal(s->retry_backoff_ms, 5000);
    s = step(pb, "c");
    assert_int_equal(s->retry_count, 0);
    assert_int_equal(s->retry_backoff_ms, 1000);
    assert_int_equal(s->timeout_ms, 7LL * 86400 * 1000);
    playbook_free(pb);
}

static void test_top_level(void **state)
{
    (void)state;
    struct playbook *pb = load("playbook: nightly.sweep_2\n"
                               "trigger: {schedule: \"0 3 * * *\"}\n"
                               "inputs: {host: null, days: 7}\n"
                               "vars: {seen: [], note: \"x\"}\n"
                               "max_concurrent: 1\n"
                               "steps: [{id: a, action: noop}]\n");
    assert_string_equal(pb->name, "nightly.sweep_2");
    assert_int_equal(pb->version, 1);
    assert_null(pb->description);
    assert_int_equal(pb->trigger.type, PB_TRIGGER_SCHEDULE);
    assert_string_equal(pb->trigger.schedule, "0 3 * * *");
    assert_non_null(pb->trigger.cron);
    assert_int_equal(cron_next(pb->trigger.cron, 0), 3LL * 3600 * 1000);
    assert_true(json_is_null(json_object_get(pb->inputs, "host")));
    assert_int_equal(json_integer_value(json_object_get(pb->inputs, "days")), 7);
    assert_true(json_is_array(json_object_get(pb->vars, "seen")));
    assert_int_equal(pb->max_concurrent, 1);
    playbook_free(pb);

    static const char *const manual[] = {
        "playbook: m\nsteps: [{id: a, action: noop}]\n",
        "playbook: m\ntrigger: {manual: true}\nsteps: [{id: a, action: noop}]\n",
    };
    for (size_t i = 0; i < 2; i++) {
        pb = load(manual[i]);
        assert_int_equal(pb->trigger.type, PB_TRIGGER_MANUAL);
        assert_null(pb->trigger.kind);
        assert_null(pb->trigger.cron);
        playbook_free(pb);
    }
    pb = load("playbook: m\ntrigger: {when: alert.severity > 50}\nsteps: [{id: a, end: }]\n");
    assert_int_equal(pb->trigger.type, PB_TRIGGER_ALERT);
    assert_null(pb->trigger.kind);
    assert_string_equal(pb->trigger.when, "alert.severity > 50");
    playbook_free(pb);
}

static void test_kind_names(void **state)
{
    (void)state;
    static const char *const names[] = {"action",   "prompt",   "set",      "switch",
                                        "for_each", "while",    "parallel", "group",
                                        "wait",     "playbook", "case",     "end"};
    for (int k = PB_ACTION; k <= PB_END; k++)
        assert_string_equal(pb_kind_name((enum pb_kind)k), names[k]);
    assert_string_equal(pb_kind_name((enum pb_kind)99), "?");
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms; /* 0: refused with msg */
        const char *msg;
    } t[] = {
        {"500ms", 500, NULL},
        {"30s", 30000, NULL},
        {"5m", 300000, NULL},
        {"4h", 4 * 3600000LL, NULL},
        {"2d", 2 * 86400000LL, NULL},
        {"1w", 7 * 86400000LL, NULL},
        {"1h30m", 5400000, NULL},
        {"1m30s500ms", 90500, NULL},
        {"366d", 366 * 86400000LL, NULL},
        {"4x", 0, "bad duration \"4x\""},
        {"30", 0, "bad duration \"30\""},
        {"1h30", 0, "bad duration \"1h30\""},
        {"", 0, "bad duration \"\""},
        {"h", 0, "bad duration \"h\""},
        {"-5s", 0, "bad duration \"-5s\""},
        {"1 h", 0, "bad duration \"1 h\""},
        {"99999999999999999999s", 0, "bad duration \"99999999999999999999s\""},
        {"0s", 0, "duration \"0s\" must be longer than zero"},
        {"367d", 0, "duration \"367d\" is longer than 366 days"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int64_t ms = -1;
        struct rp_error err = {{0}};
        rp_status st = pb_duration_parse(t[i].text, &ms, &err);
        if (t[i].msg == NULL) {
            if (st != RP_OK || ms != t[i].ms)
                fail_msg("%s: %s", t[i].text, err.msg);
        } else if (st != RP_E_INVALID || strcmp(err.msg, t[i].msg) != 0) {
            fail_msg("%s: got \"%s\", want \"%s\"", t[i].text, err.msg, t[i].msg);
        }
    }
}

/* --- refused playbooks ------------------------------------------------------------ */

#define H "playbook: t\nsteps:\n"

static const struct {
    const char *yaml;
    const char *msg;
} BAD[] = {
    /* YAML itself */
    {"", "pb.yml:1:1: empty playbook"},
    {"# nothing\n", "pb.yml:1:1: empty playbook"},
    {"playbook: [\n", "pb.yml:2:1: YAML: did not find expected node content (while parsing a "
                      "flow node)"},
    {"a: 1\n---\nb: 2\n", "pb.yml:2:1: only one YAML document per playbook"},
    {"playbook: &n t\n", "pb.yml:1:11: anchors (&n) are not supported: write the value out"},
    {H "  - id: a\n    action: noop\n    with: *x\n",
     "pb.yml:5:11: aliases (*x) are not supported: write the value out"},
    {"playbook: !!str t\n", "pb.yml:1:11: tags (tag:yaml.org,2002:str) are not supported"},
    {"playbook: \"a\\0b\"\n", "pb.yml:1:11: a NUL character is not allowed in a string"},
    {"- a\n", "pb.yml:1:1: a playbook is a mapping (playbook, steps, ...)"},
    /* the top level */
    {"playbook: t\nstpes: []\n", "pb.yml:2:1: unknown key \"stpes\""},
    {"playbook: t\nplaybook: u\n", "pb.yml:2:1: duplicate key \"playbook\""},
    {"[a]: 1\n", "pb.yml:1:1: keys must be strings"},
    {"steps: [{id: a, end: }]\n", "pb.yml:1:1: missing \"playbook\" (the playbook's name)"},
    {"playbook: t\n", "pb.yml:1:1: missing \"steps\""},
    {"playbook: Failed_Logins\n",
     "pb.yml:1:11: playbook: a name of lower-case letters, digits, '_', '.' and '-' (at most "
     "128), starting with a letter or digit"},
    {"playbook: -x\n",
     "pb.yml:1:11: playbook: a name of lower-case letters, digits, '_', '.' and '-' (at most "
     "128), starting with a letter or digit"},
    {"playbook: t\nversion: 0\n", "pb.yml:2:10: version: expected an integer from 1 to "
                                  "2147483647"},
    {"playbook: t\nversion: \"2\"\n", "pb.yml:2:10: version: expected an integer from 1 to "
                                      "2147483647"},
    {"playbook: t\nmax_concurrent: -1\n",
     "pb.yml:2:17: max_concurrent: expected an integer from 0 to 10000"},
    {"playbook: t\ndescription: [a]\n", "pb.yml:2:14: description: expected a non-empty string"},
    {"playbook: t\ninputs: [a]\n", "pb.yml:2:9: inputs: expected a mapping"},
    {"playbook: t\nvars: x\n", "pb.yml:2:7: vars: expected a mapping"},
    {"playbook: t\nvars: {a: 1, a: 2}\n", "pb.yml:2:14: duplicate key \"a\""},
    {"playbook: t\nsteps: []\n", "pb.yml:2:8: steps: expected a non-empty list of steps"},
    {"playbook: t\nsteps: {a: 1}\n", "pb.yml:2:8: steps: expected a non-empty list of steps"},
    /* triggers */
    {"playbook: t\ntrigger: manual\n",
     "pb.yml:2:10: trigger: give kind and/or when (alerts), manual: true, or schedule: CRON"},
    {"playbook: t\ntrigger: {}\n",
     "pb.yml:2:10: trigger: give kind and/or when (alerts), manual: true, or schedule: CRON"},
    {"playbook: t\ntrigger: {kind: malware}\n",
     "pb.yml:2:17: trigger: kind: one of endpoint, auth, phishing, network, other"},
    {"playbook: t\ntrigger: {knid: auth}\n", "pb.yml:2:11: trigger: unknown key \"knid\""},
    {"playbook: t\ntrigger: {kind: auth, schedule: \"@daily\"}\n",
     "pb.yml:2:23: trigger: alerts (kind, when), manual and schedule exclude each other"},
    {"playbook: t\ntrigger: {manual: true, when: x}\n",
     "pb.yml:2:11: trigger: alerts (kind, when), manual and schedule exclude each other"},
    {"playbook: t\ntrigger: {manual: false}\n",
     "pb.yml:2:19: trigger: manual: only true (leave trigger out for the same effect)"},
    {"playbook: t\ntrigger: {schedule: \"0 24 * * *\"}\n",
     "pb.yml:2:21: trigger: schedule: cron: hour: 24 is out of range 0-23"},
    {"playbook: t\ntrigger: {when: \"\"}\n", "pb.yml:2:17: trigger: when: expected a non-empty "
                                             "string"},
    /* step shape, ids and kinds */
    {H "  - hello\n", "pb.yml:3:5: a step is a mapping (id, and one of action, prompt, set, ...)"},
    {H "  - action: noop\n", "pb.yml:3:5: a step needs an id"},
    {H "  - id: a.b\n    action: noop\n",
     "pb.yml:3:9: step id: letters, digits, '_' and '-' (at most 64), e.g. contain-host"},
    {H "  - id: \"\"\n    action: noop\n",
     "pb.yml:3:9: step id: letters, digits, '_' and '-' (at most 64), e.g. contain-host"},
    {H "  - id: a\n    name: x\n",
     "pb.yml:3:5: step \"a\": no kind: give one of action, prompt, set, switch, for_each, while, "
     "parallel, steps, wait, playbook, case, end"},
    {H "  - id: a\n    action: noop\n    prompt: {}\n",
     "pb.yml:5:5: step \"a\": \"action\" and \"prompt\": a step has exactly one kind (action, "
     "prompt, set, switch, for_each, while, parallel, steps, wait, playbook, case, end)"},
    {H "  - id: a\n    end:\n    action: noop\n",
     "pb.yml:5:5: step \"a\": \"end\" and \"action\": a step has exactly one kind (action, "
     "prompt, set, switch, for_each, while, parallel, steps, wait, playbook, case, end)"},
    {H "  - id: a\n    action: noop\n    acton: noop\n", "pb.yml:5:5: step \"a\": unknown key "
                                                         "\"acton\""},
    {H "  - id: a\n    action: noop\n    action: echo\n",
     "pb.yml:5:5: step \"a\": duplicate key \"action\""},
    {H "  - id: a\n    action: noop\n    cases: {x: a}\n",
     "pb.yml:5:5: step \"a\": \"cases\" does not go with an action step"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [a], timeout: 1h}\n    with: {}\n",
     "pb.yml:5:5: step \"ask\": \"with\" does not go with a prompt step"},
    {H "  - id: a\n    wait: 1s\n    steps: [{id: b, end: }]\n",
     "pb.yml:5:5: step \"a\": \"steps\" does not go with a wait step"},
    {H "  - id: a\n    action: [noop]\n", "pb.yml:4:13: step \"a\": action: expected a non-empty "
                                          "string"},
    {H "  - id: a\n    action: noop\n    with: [1]\n", "pb.yml:5:11: with: expected a mapping"},
    {H "  - id: a\n    action: noop\n    with: {[1]: 2}\n", "pb.yml:5:12: keys must be strings"},
    {H "  - id: a\n    action: noop\n    with: {n: 99999999999999999999}\n",
     "pb.yml:5:15: number 99999999999999999999 is out of range"},
    {H "  - id: a\n    action: noop\n    with: {n: 1e999}\n",
     "pb.yml:5:15: number 1e999 is out of range"},
    /* common keys */
    {H "  - id: a\n    action: noop\n    timeout: 4x\n", "pb.yml:5:14: bad duration \"4x\""},
    {H "  - id: a\n    action: noop\n    timeout: 30\n", "pb.yml:5:14: bad duration \"30\""},
    {H "  - id: a\n    action: noop\n    timeout: 0ms\n",
     "pb.yml:5:14: duration \"0ms\" must be longer than zero"},
    {H "  - id: a\n    action: noop\n    timeout: [1s]\n",
     "pb.yml:5:14: expected a duration such as 500ms, 30s, 5m, 4h, 2d, 1w or 1h30m"},
    {H "  - id: a\n    action: noop\n    retry: 21\n",
     "pb.yml:5:12: step \"a\": retry: expected an integer from 0 to 20"},
    {H "  - id: a\n    action: noop\n    retry: {backoff: 1s}\n",
     "pb.yml:5:12: step \"a\": retry: needs a count"},
    {H "  - id: a\n    action: noop\n    retry: {count: 1, backof: 1s}\n",
     "pb.yml:5:23: step \"a\": unknown key \"backof\""},
    {H "  - id: a\n    action: noop\n    retry: {count: 1, backoff: 1y}\n",
     "pb.yml:5:32: bad duration \"1y\""},
    {H "  - id: a\n    action: noop\n    retry: [1]\n",
     "pb.yml:5:12: step \"a\": retry: expected a count or {count: N, backoff: DURATION}"},
    {H "  - id: a\n    action: noop\n    on_error: [x]\n",
     "pb.yml:5:15: step \"a\": on_error: expected fail, continue or a step id"},
    {H "  - id: a\n    action: noop\n    on_error: go on\n",
     "pb.yml:5:15: step \"a\": on_error: expected fail, continue or a step id"},
    {H "  - id: a\n    action: noop\n    next: \"b c\"\n",
     "pb.yml:5:11: step \"a\": next: expected a step id"},
    {H "  - id: a\n    action: noop\n    name: \"\"\n",
     "pb.yml:5:11: step \"a\": name: expected a non-empty string"},
    /* jumps and cycles */
    {H "  - id: x\n    action: noop\n    next: nope\n",
     "pb.yml:5:11: step \"x\": next \"nope\" is not a step of this list"},
    {H "  - id: x\n    action: noop\n    on_error: nope\n",
     "pb.yml:5:15: step \"x\": on_error \"nope\" is not a step of this list"},
    {H "  - id: g\n    steps:\n      - {id: in, action: noop}\n  - id: x\n    action: noop\n"
       "    next: in\n",
     "pb.yml:8:11: step \"x\": next \"in\" is not a step of this list (jumps stay within one "
     "list)"},
    {H "  - id: sw\n    switch: x\n    cases: {high: nope}\n",
     "pb.yml:5:19: step \"sw\": case \"high\": \"nope\" is not a step of this list"},
    {H "  - id: sw\n    switch: x\n    cases: {high: sw}\n    default: nope\n",
     "pb.yml:6:14: step \"sw\": default \"nope\" is not a step of this list"},
    {H "  - id: p\n    parallel:\n      - {action: noop, next: b}\n      - {id: b, action: noop}\n",
     "pb.yml:5:30: step \"p.1\": next \"b\": a parallel branch cannot jump"},
    {H "- id: a\n  action: noop\n- id: b\n  action: noop\n  next: a\n",
     "pb.yml:3:3: steps \"a\" -> \"b\" -> \"a\" form a cycle"},
    {H "  - id: a\n    action: noop\n    next: a\n", "pb.yml:3:5: steps \"a\" -> \"a\" form a "
                                                     "cycle"},
    {H "  - {id: a, action: noop, next: c}\n  - {id: b, action: noop}\n"
       "  - {id: c, action: noop, when: x, next: a}\n",
     "pb.yml:3:5: steps \"a\" -> \"c\" -> \"a\" form a cycle"},
    {H "  - {id: a, action: noop}\n  - {id: sw, switch: x, cases: {again: a, done: end}}\n"
       "  - {id: end, end: success}\n",
     "pb.yml:3:5: steps \"a\" -> \"sw\" -> \"a\" form a cycle"},
    {H "  - {id: a, action: noop, on_error: b}\n  - {id: b, action: noop, on_error: a, next: c}\n"
       "  - {id: c, end: }\n",
     "pb.yml:3:5: steps \"a\" -> \"b\" -> \"a\" form a cycle"},
    {H "  - id: w\n    while: x\n    max: 3\n    steps:\n      - {id: a, action: noop}\n"
       "      - {id: b, action: noop, on_error: continue, next: a}\n",
     "pb.yml:7:9: steps \"a\" -> \"b\" -> \"a\" form a cycle"},
    {H "  - id: a\n    action: noop\n  - id: g\n    steps:\n      - {id: a, action: noop}\n",
     "pb.yml:7:9: step id \"a\" is used twice (first at 3:5)"},
    {H "  - {id: a, action: noop}\n  - {id: a, action: noop}\n",
     "pb.yml:4:5: step id \"a\" is used twice (first at 3:5)"},
    {H "  - {id: p, parallel: [{id: p-1, action: noop}, {action: noop}]}\n"
       "  - {id: q, parallel: [{id: p-1, end: }]}\n",
     "pb.yml:4:24: step id \"p-1\" is used twice (first at 3:24)"},
    {H "  - id: a\n    action: edr.contian\n", "pb.yml:4:13: unknown action \"edr.contian\""},
    {H "  - id: sw\n    switch: x\n    cases: {a: sw}\n    next: sw\n",
     "pb.yml:6:5: step \"sw\": a switch takes default, not next"},
    {H "  - id: e\n    end: success\n    next: e\n", "pb.yml:5:5: step \"e\": an end step has no "
                                                     "next"},
    /* prompt */
    {H "  - id: ask\n    prompt:\n      to: a@b\n      question: q\n      optoins: [a]\n",
     "pb.yml:7:7: step \"ask\": unknown key \"optoins\""},
    {H "  - id: ask\n    prompt: hello\n",
     "pb.yml:4:13: step \"ask\": prompt: expected a mapping (to or role, question, options, "
     "timeout)"},
    {H "  - id: ask\n    prompt: {to: a, role: b, question: q, options: [a], timeout: 1h}\n",
     "pb.yml:4:21: step \"ask\": prompt: give to or role, not both"},
    {H "  - id: ask\n    prompt: {question: q, options: [a], timeout: 1h}\n",
     "pb.yml:4:13: step \"ask\": prompt: needs to (an address) or role (an analyst role)"},
    {H "  - id: ask\n    prompt: {to: a, options: [a], timeout: 1h}\n",
     "pb.yml:4:13: step \"ask\": prompt: needs a question"},
    {H "  - id: ask\n    prompt: {to: a, question: q, timeout: 1h}\n",
     "pb.yml:4:13: step \"ask\": prompt: needs options (the answers to choose from)"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [a]}\n",
     "pb.yml:4:13: step \"ask\": prompt: needs a timeout (how long to wait for an answer)"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [], timeout: 1h}\n",
     "pb.yml:4:43: step \"ask\": prompt.options: expected a non-empty list"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: yes, timeout: 1h}\n",
     "pb.yml:4:43: step \"ask\": prompt.options: expected a non-empty list"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [a, {b: c}], timeout: 1h}\n",
     "pb.yml:4:47: step \"ask\": prompt.options: each option is a short non-empty text"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [yes, \"yes\"], timeout: 1h}\n",
     "pb.yml:4:49: step \"ask\": prompt.options: \"yes\" is given twice"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,"
       "q], timeout: 1h}\n",
     "pb.yml:4:43: step \"ask\": prompt.options: more than 16 options"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [yes, no], timeout: 1h, default: "
       "maybe}\n",
     "pb.yml:4:76: step \"ask\": prompt.default: \"maybe\" is not one of the options"},
    {H "  - id: ask\n    prompt: {to: a, question: q, options: [a], timeout: forever}\n",
     "pb.yml:4:57: bad duration \"forever\""},
    /* set, switch */
    {H "  - id: s\n    set: x\n", "pb.yml:4:10: step \"s\": set: expected a mapping of names to "
                                  "values"},
    {H "  - id: s\n    set: {}\n", "pb.yml:4:10: step \"s\": set: expected a mapping of names to "
                                   "values"},
    {H "  - id: sw\n    switch: x\n", "pb.yml:4:5: step \"sw\": switch: needs cases (value: step "
                                      "id)"},
    {H "  - id: sw\n    switch: x\n    cases: {}\n",
     "pb.yml:5:12: step \"sw\": cases: expected a mapping of values to step ids"},
    {H "  - id: sw\n    switch: x\n    cases: {a: sw, a: sw}\n",
     "pb.yml:5:20: step \"sw\": cases: \"a\" is given twice"},
    {H "  - id: sw\n    switch: x\n    cases: {a: [sw]}\n",
     "pb.yml:5:16: step \"sw\": cases: expected a step id"},
    {H "  - id: sw\n    switch: \"\"\n    cases: {a: sw}\n",
     "pb.yml:4:13: step \"sw\": switch: expected a non-empty string"},
    /* loops and lists */
    {H "  - id: f\n    for_each: x\n", "pb.yml:3:5: step \"f\": for_each: needs steps"},
    {H "  - id: f\n    for_each: x\n    steps: []\n",
     "pb.yml:5:12: step \"f\": steps: expected a non-empty list of steps"},
    {H "  - id: f\n    for_each: x\n    concurrency: 0\n    steps: [{id: a, end: }]\n",
     "pb.yml:5:18: step \"f\": concurrency: expected an integer from 1 to 32"},
    {H "  - id: f\n    for_each: x\n    concurrency: 33\n    steps: [{id: a, end: }]\n",
     "pb.yml:5:18: step \"f\": concurrency: expected an integer from 1 to 32"},
    {H "  - id: w\n    while: x\n    steps: [{id: a, end: }]\n",
     "pb.yml:4:5: step \"w\": while: needs max (the most rounds)"},
    {H "  - id: w\n    while: x\n    max: 0\n    steps: [{id: a, end: }]\n",
     "pb.yml:5:10: step \"w\": max: expected an integer from 1 to 10000"},
    {H "  - id: w\n    while: x\n    max: 10001\n    steps: [{id: a, end: }]\n",
     "pb.yml:5:10: step \"w\": max: expected an integer from 1 to 10000"},
    {H "  - id: w\n    while: x\n    max: 2\n", "pb.yml:3:5: step \"w\": while: needs steps"},
    {H "  - id: p\n    parallel: []\n",
     "pb.yml:4:15: step \"p\": parallel: expected a non-empty list of steps"},
    {H "  - id: p\n    parallel: {a: b}\n",
     "pb.yml:4:15: step \"p\": parallel: expected a non-empty list of steps"},
    {H "  - id: g\n    steps: [{id: h, steps: [{id: i, steps: [{id: j, steps: [{id: k, steps: "
       "[{id: l, steps: [{id: m, steps: [{id: n, steps: [{id: o, end: }]}]}]}]}]}]}]}]\n",
     "pb.yml:4:124: steps nested more than 8 lists deep"},
    /* wait, sub-playbooks, case, end */
    {H "  - id: w\n    wait: soon\n", "pb.yml:4:11: bad duration \"soon\""},
    {H "  - id: w\n    wait: {til: x}\n", "pb.yml:4:12: step \"w\": unknown key \"til\""},
    {H "  - id: w\n    wait: {}\n", "pb.yml:4:11: step \"w\": wait: expected a duration or "
                                    "{until: TIME}"},
    {H "  - id: w\n    wait: [1s]\n", "pb.yml:4:11: step \"w\": wait: expected a duration or "
                                      "{until: TIME}"},
    {H "  - id: s\n    playbook: Other\n",
     "pb.yml:4:15: step \"s\": playbook: a name of lower-case letters, digits, '_', '.' and '-' "
     "(at most 128), starting with a letter or digit"},
    {H "  - id: s\n    playbook: t\n", "pb.yml:4:15: step \"s\": a playbook cannot run itself"},
    {H "  - id: s\n    playbook: u\n    inputs: [1]\n", "pb.yml:5:13: inputs: expected a "
                                                        "mapping"},
    {H "  - id: c\n    case: {status: done}\n",
     "pb.yml:4:20: step \"c\": case.status: \"done\" is not one of new, triage, contained, "
     "resolved, closed, false_positive"},
    {H "  - id: c\n    case: {severity: 101}\n",
     "pb.yml:4:22: step \"c\": case.severity: \"101\" is neither 0-100 nor one of info, low, "
     "medium, high, critical"},
    {H "  - id: c\n    case: {severity: extreme}\n",
     "pb.yml:4:22: step \"c\": case.severity: \"extreme\" is neither 0-100 nor one of info, low, "
     "medium, high, critical"},
    {H "  - id: c\n    case: {status: new, note: x}\n",
     "pb.yml:4:11: step \"c\": case: expected one of status, severity, assignee, note, task"},
    {H "  - id: c\n    case: {}\n",
     "pb.yml:4:11: step \"c\": case: expected one of status, severity, assignee, note, task"},
    {H "  - id: c\n    case: {stauts: new}\n", "pb.yml:4:12: step \"c\": unknown key \"stauts\""},
    {H "  - id: c\n    case: {note: \"\"}\n",
     "pb.yml:4:18: step \"c\": case.note: expected a non-empty string"},
    {H "  - id: e\n    end: maybe\n", "pb.yml:4:10: step \"e\": end: expected success or "
                                      "failure"},
    {H "  - id: e\n    end: \"\"\n", "pb.yml:4:10: step \"e\": end: expected success or failure"},
};

static void test_rejected(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        struct playbook *pb = (struct playbook *)&pb; /* must come back NULL */
        struct rp_error err = {{0}};
        rp_status st = playbook_load_string("pb.yml", BAD[i].yaml, strlen(BAD[i].yaml), &pb, &err);
        if (st != RP_E_INVALID || pb != NULL || strcmp(err.msg, BAD[i].msg) != 0) {
            print_error("#%zu: status %d\n  got:  %s\n  want: %s\n  yaml:\n%s", i, (int)st, err.msg,
                        BAD[i].msg, BAD[i].yaml);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Limits that need big inputs. */
static void test_limits(void **state)
{
    (void)state;
    struct playbook *pb = NULL;
    struct rp_error err;
    size_t cap = RP_PLAYBOOK_MAX_BYTES + 64;
    char *big = malloc(cap);
    assert_non_null(big);

    /* one step more than the limit: in one list, and over several */
    size_t n;
    n = (size_t)snprintf(big, cap, "playbook: t\nsteps:\n");
    for (int i = 0; i <= RP_PLAYBOOK_STEPS_MAX; i++)
        n += (size_t)snprintf(big + n, cap - n, "- {id: s%d, action: noop}\n", i);
    assert_int_equal(playbook_load_string("pb.yml", big, n, &pb, &err), RP_E_INVALID);
    assert_string_equal(err.msg, "pb.yml:3:1: more than 1000 steps in the playbook");
    assert_null(pb);
    n = (size_t)snprintf(big, cap, "playbook: t\nsteps:\n");
    for (int g = 0; g < 2; g++) {
        n += (size_t)snprintf(big + n, cap - n, "- id: g%d\n  steps:\n", g);
        for (int i = 0; i < 600; i++)
            n += (size_t)snprintf(big + n, cap - n, "  - {id: s%d-%d, action: noop}\n", g, i);
    }
    assert_int_equal(playbook_load_string("pb.yml", big, n, &pb, &err), RP_E_INVALID);
    assert_string_equal(err.msg, "pb.yml:1005:5: step \"s1-398\": more than 1000 steps in the "
                                 "playbook");

    /* YAML nested deeper than the limit, inside a `with` */
    n = (size_t)snprintf(big, cap, "playbook: t\nsteps: [{id: a, action: noop, with: {x: ");
    for (int i = 0; i < RP_PLAYBOOK_YAML_DEPTH_MAX; i++)
        big[n++] = '[';
    big[n] = '\0';
    assert_int_equal(playbook_load_string("pb.yml", big, n, &pb, &err), RP_E_INVALID);
    assert_string_equal(err.msg, "pb.yml:2:101: nested more than 64 levels deep");

    /* too many nodes */
    n = (size_t)snprintf(big, cap, "playbook: t\nvars: {x: [");
    for (int i = 0; i <= RP_PLAYBOOK_NODES_MAX; i++)
        n += (size_t)snprintf(big + n, cap - n, "1,");
    n += (size_t)snprintf(big + n, cap - n, "]}\n");
    assert_int_equal(playbook_load_string("pb.yml", big, n, &pb, &err), RP_E_INVALID);
    assert_string_equal(err.msg, "pb.yml:2:131070: more than 65536 YAML nodes");

    /* too large */
    memset(big, '#', RP_PLAYBOOK_MAX_BYTES + 1);
    assert_int_equal(playbook_load_string("pb.yml", big, RP_PLAYBOOK_MAX_BYTES + 1, &pb, &err),
                     RP_E_INVALID);
    assert_string_equal(err.msg, "pb.yml: larger than 1048576 bytes");
    free(big);
}

/* Actions the registry does not know pass with PB_LOAD_ANY_ACTION only. */
static void test_any_action(void **state)
{
    (void)state;
    const char *text = H "  - {id: a, action: edr.contain_host}\n  - {id: b, action: echo}\n";
    struct playbook *pb = NULL;
    struct rp_error err;
    assert_int_equal(playbook_load_string("pb.yml", text, strlen(text), &pb, &err), RP_E_INVALID);
    assert_string_equal(err.msg, "pb.yml:3:21: unknown action \"edr.contain_host\"");
    pb = load_flags(text, PB_LOAD_ANY_ACTION);
    assert_string_equal(step(pb, "a")->u.action.name, "edr.contain_host");
    playbook_free(pb);
}

/* --- expressions (need expr/ to be real) ----------------------------------------------- */

static const struct {
    const char *yaml;
    const char *prefix; /* the message starts with this, and says more after it */
} BAD_EXPR[] = {
    {H "  - {id: a, action: noop, when: \"alert.x ==\"}\n", "pb.yml:3:33: step \"a\": when: "},
    {H "  - {id: a, action: noop, with: {m: \"{{ alert.x\"}}\n",
     "pb.yml:3:37: step \"a\": with.m: "},
    {H "  - {id: a, action: noop, with: {m: [\"ok\", \"{{ 1 + }}\"]}}\n",
     "pb.yml:3:37: step \"a\": with.m: "},
    {H "  - {id: s, set: {v: \"{{ ) }}\"}}\n", "pb.yml:3:22: step \"s\": set.v: "},
    {H "  - {id: sw, switch: \"a b\", cases: {x: e}}\n  - {id: e, end: }\n",
     "pb.yml:3:22: step \"sw\": switch: "},
    {H "  - {id: f, for_each: \"[\", steps: [{id: a, end: }]}\n",
     "pb.yml:3:23: step \"f\": for_each: "},
    {H "  - {id: w, while: \"not\", max: 2, steps: [{id: a, end: }]}\n",
     "pb.yml:3:20: step \"w\": while: "},
    {H "  - {id: w, wait: {until: \"{{ }}\"}}\n", "pb.yml:3:27: step \"w\": wait.until: "},
    {H "  - {id: c, case: {note: \"{{ a. }}\"}}\n", "pb.yml:3:26: step \"c\": case: "},
    {H "  - {id: p, prompt: {to: \"{{ 1 +\", question: q, options: [a], timeout: 1h}}\n",
     "pb.yml:3:26: step \"p\": prompt.to: "},
    {H "  - {id: p, prompt: {to: a, question: \"{{ == }}\", options: [a], timeout: 1h}}\n",
     "pb.yml:3:39: step \"p\": prompt.question: "},
    {H "  - {id: s, playbook: other, inputs: {x: \"{{ ( }}\"}}\n",
     "pb.yml:3:42: step \"s\": inputs.x: "},
    {"playbook: t\ntrigger: {when: \"alert.kind ==\"}\nsteps: [{id: a, end: }]\n",
     "pb.yml:2:17: trigger: when: "},
};

static void test_expressions(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(BAD_EXPR) / sizeof(BAD_EXPR[0]); i++) {
        struct playbook *pb = NULL;
        struct rp_error err = {{0}};
        const char *y = BAD_EXPR[i].yaml;
        rp_status st = playbook_load_string("pb.yml", y, strlen(y), &pb, &err);
        size_t np = strlen(BAD_EXPR[i].prefix);
        if (st != RP_E_INVALID || pb != NULL || strncmp(err.msg, BAD_EXPR[i].prefix, np) != 0 ||
            strlen(err.msg) <= np) {
            print_error("#%zu: status %d\n  got:  %s\n  want: %s...\n", i, (int)st, err.msg,
                        BAD_EXPR[i].prefix);
            failed++;
        }
        playbook_free(pb);
    }
    assert_int_equal(failed, 0);
    /* literals that look like nothing are fine: no {{ }} means no template */
    struct playbook *pb = load(H "  - {id: a, action: noop, with: {m: \"a } b {\"}}\n");
    playbook_free(pb);
}

/* --- files and directories --------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_playbook.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct playbook_set set = {NULL, 0};
    struct rp_error err;

    /* an empty directory is an empty set */
    assert_int_equal(playbook_set_load_dir(dir, &set, &err), RP_OK);
    assert_int_equal(set.n, 0);
    playbook_set_fini(&set);

    write_file(dir, "b.yml", "playbook: zeta\nsteps: [{id: a, action: noop}]\n");
    write_file(dir, "a.yaml", "playbook: alpha\nsteps: [{id: a, action: noop}]\n");
    write_file(dir, "notes.txt", "not a playbook\n");
    write_file(dir, ".#b.yml", "not a playbook either\n");
    assert_int_equal(playbook_set_load_dir(dir, &set, &err), RP_OK);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.items[0]->name, "alpha"); /* by file name */
    assert_string_equal(set.items[1]->name, "zeta");
    assert_ptr_equal(playbook_set_find(&set, "zeta"), set.items[1]);
    assert_null(playbook_set_find(&set, "beta"));
    char path[512];
    snprintf(path, sizeof(path), "%s/b.yml", dir);
    assert_string_equal(set.items[1]->path, path);

    /* a broken file: nothing is loaded, set is untouched, err names the file */
    write_file(dir, "c.yml", "playbook: gamma\nsteps: [{id: a, action: nope}]\n");
    struct playbook_set other = {NULL, 0};
    assert_int_equal(playbook_set_load_dir(dir, &other, &err), RP_E_INVALID);
    assert_null(other.items);
    assert_int_equal(other.n, 0);
    char want[600];
    snprintf(want, sizeof(want), "%s/c.yml:2:25: unknown action \"nope\"", dir);
    assert_string_equal(err.msg, want);
    remove_file(dir, "c.yml");

    /* two files, one name */
    write_file(dir, "c.yml", "playbook: alpha\nsteps: [{id: a, action: noop}]\n");
    assert_int_equal(playbook_set_load_dir(dir, &other, &err), RP_E_INVALID);
    snprintf(want, sizeof(want), "%s/c.yml: playbook \"alpha\" is also defined in %s/a.yaml", dir,
             dir);
    assert_string_equal(err.msg, want);
    remove_file(dir, "c.yml");

    /* one file */
    struct playbook *pb = NULL;
    snprintf(path, sizeof(path), "%s/a.yaml", dir);
    assert_int_equal(playbook_load_file(path, &pb, &err), RP_OK);
    assert_string_equal(pb->name, "alpha");
    assert_string_equal(pb->path, path);
    playbook_free(pb);
    snprintf(path, sizeof(path), "%s/missing.yml", dir);
    assert_int_equal(playbook_load_file(path, &pb, &err), RP_E_IO);
    assert_null(pb);
    assert_int_equal(playbook_load_file(dir, &pb, &err), RP_E_IO);

    /* a file over the size limit is refused before it is read */
    snprintf(path, sizeof(path), "%s/big.yml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fseek(f, RP_PLAYBOOK_MAX_BYTES, SEEK_SET), 0);
    fputc('\n', f);
    fclose(f);
    assert_int_equal(playbook_load_file(path, &pb, &err), RP_E_INVALID);
    snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
    assert_string_equal(err.msg, want);
    unlink(path);

    playbook_set_fini(&set);
    assert_null(set.items);
    playbook_set_fini(NULL);
    remove_file(dir, "a.yaml");
    remove_file(dir, "b.yml");
    remove_file(dir, "notes.txt");
    remove_file(dir, ".#b.yml");
    assert_int_equal(rmdir(dir), 0);
    snprintf(path, sizeof(path), "%s", dir);
    assert_int_equal(playbook_set_load_dir(path, &set, &err), RP_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),      cmocka_unit_test(test_action_with_types),
        cmocka_unit_test(test_prompt_role),  cmocka_unit_test(test_set_switch_jumps),
        cmocka_unit_test(test_loops_groups), cmocka_unit_test(test_wait_sub_case_end),
        cmocka_unit_test(test_common_keys),  cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_kind_names),   cmocka_unit_test(test_durations),
        cmocka_unit_test(test_rejected),     cmocka_unit_test(test_limits),
        cmocka_unit_test(test_any_action),   cmocka_unit_test(test_files),
        cmocka_unit_test(test_expressions),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
