/*
 * test_guard.c: the guard rails' pure logic (guard/guard.h): policies that
 * load and those refused with their file:line:col messages; the targets read
 * from many shapes of parameters; each kind of rule deciding against fake
 * counters (protected assets, blast radius, budgets per scope, approvals,
 * simulate mode, the kill switch, containment durations) and their order; the
 * issue's scenarios (a runaway for_each over 500 hosts, a protected domain
 * controller); bounds for `riposte check`; the audit hash's fixed vectors.
 */
#include "core/limits.h"
#include "core/time.h"
#include "guard/guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define NOW     1796032800000LL /* 2026-11-30T10:00:00Z */
#define MIN     (60LL * 1000)
#define HOUR    (60 * MIN)
#define CONTAIN ACTION_EFFECT_CONTAIN
#define MODIFY  ACTION_EFFECT_MODIFY
#define DESTROY ACTION_EFFECT_DESTROY
#define NOTIFY  ACTION_EFFECT_NOTIFY
#define READ    ACTION_EFFECT_READ

/* Line numbers matter: reasons point into this text. */
static const char MAIN_POLICY[] =
    "mode: enforce\n" /* 1 */
    "protected:\n"    /* 2 */
    "  - { hosts: [\"dc-*\", mail-gw-01], effects: [contain, modify, destroy], action: "
    "deny }\n" /* 3 */
    "  - { addresses: [10.0.0.0/24, \"2001:db8::/32\"], action: hold, approver: "
    "soc-lead,\n"                                                                /* 4 */
    "      timeout: 2h, on_timeout: allow }\n"                                   /* 5 */
    "  - { users: [ceo, cfo], action: hold, approver: soc-lead }\n"              /* 6 */
    "  - { mailboxes: [CEO@example.org], action: deny }\n"                       /* 7 */
    "  - { domains: [example.org], effects: [modify, destroy], action: deny }\n" /* 8 */
    "budgets:\n"                                                                 /* 9 */
    "  - { name: containments, effect: contain, max: 5, per: 1h }\n"             /* 10 */
    "  - { name: resets, action: directory.reset_password, max: 2, per: 1d, scope: "
    "playbook }\n"
    "  - name: blocks\n" /* 12 */
    "    effect: modify\n"
    "    max: 3\n"
    "    per: 1h\n"
    "    scope: action\n"
    "    over: hold\n"
    "    approver: analyst\n"
    "    timeout: 10m\n"
    "blast_radius: { contain: 10, destroy: 2 }\n" /* 20 */
    "approvals:\n"
    "  - { effects: [destroy], approver: soc-lead, timeout: 30m, on_timeout: deny }\n"
    "  - { actions: [edr.quarantine_file], approver: analyst, timeout: 15m, on_timeout: "
    "allow }\n"
    "containment:\n"
    "  default_duration: 4h\n"
    "  max_duration: 24h\n";

static const char SIMULATE_POLICY[] = "mode: simulate\n"
                                      "protected:\n"
                                      "  - { hosts: [dc-*], action: deny }\n"
                                      "containment: { max_duration: 2h }\n";

static const char KILL_POLICY[] = "kill_switch: { approver: oncall, timeout: 1h }\n"
                                  "protected:\n"
                                  "  - { hosts: [dc-*], effects: [contain], action: deny }\n";

static const char *const POLICIES[] = {MAIN_POLICY, SIMULATE_POLICY, KILL_POLICY};

static struct policy *load(const char *text)
{
    struct policy *p = NULL;
    struct rp_error err = {{0}};
    rp_status st = policy_load_string("policy.yml", text, strlen(text), &p, &err);
    if (st != RP_OK)
        fail_msg("policy refused: %s", err.msg);
    return p;
}

/* --- loading ------------------------------------------------------------------------ */

static const char *const ACCEPTED[] = {
    MAIN_POLICY,
    SIMULATE_POLICY,
    KILL_POLICY,
    "mode: enforce\n",
    "protected:\n  - hosts: dc-01\n", /* a lone value is a list of one */
    "protected:\n  - { addresses: [\"::1\", \"fe80::/10\", 192.168.0.0/16, 10.1.2.3] }\n",
    "protected:\n  - { hosts: [\"web-[0-9][0-9]\", \"db-?\", \"[!x]*.corp\"] }\n",
    "protected:\n  - { domains: [example.org.], users: [\"CORP\\\\Admin\"] }\n",
    "budgets:\n  - { max: 0, per: 1w }\n",
    "budgets:\n  - { action: edr.contain_host, max: 10, per: 1h30m, scope: action }\n",
    "approvals:\n  - { actions: edr.contain_host, approver: soc.lead_2 }\n",
    "containment: { default_duration: 1h }\n",
    "containment: { max_duration: 1h }\n",
    "blast_radius: { contain: 0, modify: 1000000000 }\n",
    "# only comments and a mode\n---\nmode: simulate\n...\n",
};

static void test_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ACCEPTED) / sizeof(ACCEPTED[0]); i++) {
        struct policy *p = load(ACCEPTED[i]);
        assert_non_null(p);
        policy_free(p);
    }
    policy_free(NULL);
}

static const struct {
    const char *text;
    const char *msg;
} REJECTED[] = {
    {"", "policy.yml:1:1: empty policy (write \"mode: enforce\" for one without rules)"},
    {"mode: yolo\n", "policy.yml:1:7: mode: enforce or simulate"},
    {"mode: enforce\nbogus: 1\n", "policy.yml:2:1: unknown key \"bogus\""},
    {"mode: enforce\nmode: simulate\n", "policy.yml:2:1: duplicate key \"mode\""},
    {"- mode: enforce\n", "policy.yml:1:1: a policy is a mapping (mode, protected, budgets, "
                          "blast_radius, approvals, containment, kill_switch)"},
    {"protected: {}\n", "policy.yml:1:12: protected: expected a non-empty list of rules"},
    {"protected:\n  - { hots: [dc-01] }\n", "policy.yml:2:7: protected[0]: unknown key \"hots\""},
    {"protected:\n  - { hosts: [a], hosts: [b] }\n",
     "policy.yml:2:19: protected[0]: duplicate key \"hosts\""},
    {"protected:\n  - { effects: [contain] }\n",
     "policy.yml:2:5: protected[0]: give at least one of hosts, addresses, users, mailboxes, "
     "domains"},
    {"protected:\n  - { hosts: [\"dc-[\"] }\n",
     "policy.yml:2:15: protected[0]: hosts: \"dc-[\": a [ without its ]"},
    {"protected:\n  - { hosts: [\"dc]\"] }\n",
     "policy.yml:2:15: protected[0]: hosts: \"dc]\": a ] without its ["},
    {"protected:\n  - { hosts: [\"dc 01\"] }\n",
     "policy.yml:2:15: protected[0]: hosts: \"dc 01\": a character that cannot be in a host name"},
    {"protected:\n  - { hosts: [\"[]x\"] }\n",
     "policy.yml:2:15: protected[0]: hosts: \"[]x\": an empty [] set"},
    {"protected:\n  - { hosts: [] }\n",
     "policy.yml:2:14: protected[0]: hosts: expected a non-empty list"},
    {"protected:\n  - { addresses: [10.0.0.0/33] }\n",
     "policy.yml:2:19: protected[0]: addresses: \"10.0.0.0/33\" is not an address or a CIDR "
     "range"},
    {"protected:\n  - { addresses: [\"2001:db8::g/32\"] }\n",
     "policy.yml:2:19: protected[0]: addresses: \"2001:db8::g/32\" is not an address or a CIDR "
     "range"},
    {"protected:\n  - { addresses: [\"2001:db8::/129\"] }\n",
     "policy.yml:2:19: protected[0]: addresses: \"2001:db8::/129\" is not an address or a CIDR "
     "range"},
    {"protected:\n  - { addresses: [10.0.0.0/] }\n",
     "policy.yml:2:19: protected[0]: addresses: \"10.0.0.0/\" is not an address or a CIDR range"},
    {"protected:\n  - { addresses: [dc-01] }\n",
     "policy.yml:2:19: protected[0]: addresses: \"dc-01\" is not an address or a CIDR range"},
    {"protected:\n  - { addresses: [10.0.0.1/24] }\n",
     "policy.yml:2:19: protected[0]: addresses: \"10.0.0.1/24\" has bits set past its prefix "
     "(10.0.0.0/24?)"},
    {"protected:\n  - { addresses: [\"2001:db8::1/32\"] }\n",
     "policy.yml:2:19: protected[0]: addresses: \"2001:db8::1/32\" has bits set past its prefix "
     "(2001:db8::/32?)"},
    {"protected:\n  - { mailboxes: [ceo] }\n",
     "policy.yml:2:19: protected[0]: mailboxes: \"ceo\": not a mailbox (local@domain)"},
    {"protected:\n  - { mailboxes: [\"a@b@c\"] }\n",
     "policy.yml:2:19: protected[0]: mailboxes: \"a@b@c\": not a mailbox (local@domain)"},
    {"protected:\n  - { domains: [\"*.example.org\"] }\n",
     "policy.yml:2:17: protected[0]: domains: \"*.example.org\": subdomains are always included: "
     "write the domain itself"},
    {"protected:\n  - { domains: [\"example..org\"] }\n",
     "policy.yml:2:17: protected[0]: domains: \"example..org\": not a domain name"},
    {"protected:\n  - { users: [\"a b\"] }\n",
     "policy.yml:2:15: protected[0]: users: \"a b\": a user name has no spaces or control "
     "characters"},
    {"protected:\n  - { hosts: [x], effects: [nuke] }\n",
     "policy.yml:2:29: protected[0]: effects: unknown effect \"nuke\" (notify, contain, modify or "
     "destroy)"},
    {"protected:\n  - { hosts: [x], effects: [read] }\n",
     "policy.yml:2:29: protected[0]: effects: read is never guarded: notify, contain, modify or "
     "destroy"},
    {"protected:\n  - { hosts: [x], action: allow }\n",
     "policy.yml:2:27: protected[0]: action: deny or hold"},
    {"protected:\n  - { hosts: [x], action: hold }\n",
     "policy.yml:2:19: protected[0]: action: hold needs an approver"},
    {"protected:\n  - { hosts: [x], approver: soc }\n",
     "policy.yml:2:19: protected[0]: approver goes with action: hold"},
    {"protected:\n  - { hosts: [x], action: hold, approver: SOC Lead }\n",
     "policy.yml:2:43: protected[0]: approver: a name of lower-case letters, digits, '_', '.' and "
     "'-' (at most 63)"},
    {"protected:\n  - { hosts: [x], action: hold, approver: a, on_timeout: later }\n",
     "policy.yml:2:58: protected[0]: on_timeout: deny or allow"},
    {"budgets:\n  - { effect: contain, per: 1h }\n",
     "policy.yml:2:5: budgets[0]: missing \"max\" (how many actions per window)"},
    {"budgets:\n  - { max: 5 }\n",
     "policy.yml:2:5: budgets[0]: missing \"per\" (the window, e.g. 1h)"},
    {"budgets:\n  - { max: -1, per: 1h }\n",
     "policy.yml:2:12: budgets[0]: max: expected an integer from 0 to 1000000000"},
    {"budgets:\n  - { max: 5, per: 60 }\n",
     "policy.yml:2:20: budgets[0]: per: bad duration \"60\" (e.g. 30s, 15m, 4h, 1d)"},
    {"budgets:\n  - { max: 5, per: 0s }\n",
     "policy.yml:2:20: budgets[0]: per: duration must be longer than zero"},
    {"budgets:\n  - { max: 5, per: 400d }\n",
     "policy.yml:2:20: budgets[0]: per: duration is longer than 366 days"},
    {"budgets:\n  - { name: x, max: 5, per: 1h, scope: team }\n",
     "policy.yml:2:40: budget x: scope: global, playbook or action"},
    {"budgets:\n  - { name: x, max: 5, per: 1h, over: maybe }\n",
     "policy.yml:2:39: budget x: over: deny or hold"},
    {"budgets:\n  - { name: x, max: 5, per: 1h, over: hold }\n",
     "policy.yml:2:33: budget x: over: hold needs an approver"},
    {"budgets:\n  - { name: x, max: 5, per: 1h, timeout: 1h }\n",
     "policy.yml:2:33: budget x: timeout goes with over: hold"},
    {"budgets:\n  - { name: x, max: 5, per: 1h }\n  - { name: x, max: 5, per: 1h }\n",
     "policy.yml:3:13: budget x: another budget has this name"},
    {"budgets:\n  - { name: x, effect: read, max: 5, per: 1h }\n",
     "policy.yml:2:24: budget x: effect: read is never guarded: notify, contain, modify or "
     "destroy"},
    {"budgets:\n  - { action: \"edr contain\", max: 5, per: 1h }\n",
     "policy.yml:2:15: budgets[0]: action: \"edr contain\" is not an action name"},
    {"blast_radius: { notify: 3 }\n", "policy.yml:1:17: blast_radius: unknown key \"notify\""},
    {"blast_radius: { contain: many }\n",
     "policy.yml:1:26: blast_radius: contain: expected an integer from 0 to 1000000000"},
    {"blast_radius: 10\n",
     "policy.yml:1:15: blast_radius: expected a mapping of contain, modify, destroy to counts"},
    {"approvals:\n  - { approver: a }\n",
     "policy.yml:2:5: approvals[0]: give effects or actions (what needs the approval)"},
    {"approvals:\n  - { effects: [destroy] }\n",
     "policy.yml:2:5: approvals[0]: missing \"approver\" (the role that may approve)"},
    {"approvals:\n  - { effects: [destroy], approver: a, timeout: soon }\n",
     "policy.yml:2:49: approvals[0]: timeout: bad duration \"soon\" (e.g. 30s, 15m, 4h, 1d)"},
    {"containment: { default_duration: 2d, max_duration: 1d }\n",
     "policy.yml:1:34: containment: default_duration is longer than max_duration"},
    {"containment: { forever: true }\n", "policy.yml:1:16: containment: unknown key \"forever\""},
    {"kill_switch: { approver: Admin }\n",
     "policy.yml:1:26: kill_switch: approver: a name of lower-case letters, digits, '_', '.' and "
     "'-' (at most 63)"},
    {"protected:\n  - &dc { hosts: [dc-01] }\n",
     "policy.yml:2:5: anchors (&dc) are not supported: write the value out"},
    {"mode: *m\n", "policy.yml:1:7: aliases (*m) are not supported: write the value out"},
    {"mode: !!str enforce\n", "policy.yml:1:7: tags (tag:yaml.org,2002:str) are not supported"},
    {"mode: enforce\n---\nmode: enforce\n", "policy.yml:2:1: only one YAML document per policy"},
    {"protected: [\n", "policy.yml:2:1: YAML: did not find expected node content (while parsing a "
                       "flow node)"},
    {"a: [[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]\n",
     "policy.yml:1:19: nested more than 16 levels deep"},
};

static void test_rejected(void **state)
{
    int bad = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(REJECTED) / sizeof(REJECTED[0]); i++) {
        struct policy *p = (struct policy *)1;
        struct rp_error err = {{0}};
        rp_status st =
            policy_load_string("policy.yml", REJECTED[i].text, strlen(REJECTED[i].text), &p, &err);
        if (st != RP_E_INVALID || strcmp(err.msg, REJECTED[i].msg) != 0) {
            print_error("case %zu (%s): st=%d\n got: %s\nwant: %s\n", i, REJECTED[i].text, st,
                        err.msg, REJECTED[i].msg);
            bad++;
        }
        assert_null(p);
    }
    assert_int_equal(bad, 0);
}

static void test_limits(void **state)
{
    (void)state;
    struct policy *p = NULL;
    struct rp_error err;
    /* larger than the file limit */
    size_t n = RP_POLICY_MAX_BYTES + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    assert_int_equal(policy_load_string("policy.yml", big, n, &p, &err), RP_E_INVALID);
    assert_string_equal(err.msg, "policy.yml: larger than 1048576 bytes");
    /* too many rules */
    size_t cap = 64 * (RP_GUARD_RULES_MAX + 2), used = 0;
    char *many = malloc(cap);
    assert_non_null(many);
    used += (size_t)snprintf(many, cap, "budgets:\n");
    for (int i = 0; i <= RP_GUARD_RULES_MAX; i++)
        used += (size_t)snprintf(many + used, cap - used, "  - { max: 1, per: 1h }\n");
    assert_int_equal(policy_load_string("policy.yml", many, used, &p, &err), RP_E_INVALID);
    assert_string_equal(err.msg, "policy.yml:2:3: budgets: more than 1000 rules");
    /* too many patterns */
    cap = 32 * (RP_GUARD_PATTERNS_MAX + 2);
    char *pats = malloc(cap);
    assert_non_null(pats);
    used = (size_t)snprintf(pats, cap, "protected:\n  - hosts:\n");
    for (int i = 0; i <= RP_GUARD_PATTERNS_MAX; i++)
        used += (size_t)snprintf(pats + used, cap - used, "    - h%d-*\n", i);
    assert_int_equal(policy_load_string("policy.yml", pats, used, &p, &err), RP_E_INVALID);
    assert_string_equal(err.msg,
                        "policy.yml:1027:7: more than 1024 host patterns and address ranges in "
                        "the policy");
    assert_int_equal(policy_load_file("/nonexistent/policy.yml", &p, &err), RP_E_IO);
    assert_int_equal(policy_load_file("/", &p, &err), RP_E_IO);
    free(big);
    free(many);
    free(pats);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_guard_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("mode: enforce\nbudgets:\n  - { max: x }\n", f);
    fclose(f);
    struct policy *p = NULL;
    struct rp_error err;
    assert_int_equal(policy_load_file(path, &p, &err), RP_E_INVALID);
    char want[256];
    snprintf(want, sizeof(want),
             "%s:3:12: budgets[0]: max: expected an integer from 0 to 1000000000", path);
    assert_string_equal(err.msg, want);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(MAIN_POLICY, f);
    fclose(f);
    assert_int_equal(policy_load_file(path, &p, &err), RP_OK);
    assert_int_equal(policy_contain_default_ms(p), 4 * HOUR);
    assert_int_equal(policy_contain_max_ms(p), 24 * HOUR);
    policy_free(p);
    unlink(path);
    /* only a maximum: a contain without a duration gets the maximum */
    p = load("containment: { max_duration: 2h }\n");
    assert_int_equal(policy_contain_default_ms(p), 2 * HOUR);
    policy_free(p);
    assert_int_equal(policy_contain_default_ms(NULL), 0);
    assert_int_equal(policy_contain_max_ms(NULL), 0);
}

/* --- targets ------------------------------------------------------------------------ */

static const struct {
    const char *params;
    const char *targets; /* "type:value|type:value", in order */
} TARGETS[] = {
    {"{}", ""},
    {"null", ""},
    {"{\"host\": \"DC-01.\"}", "host:dc-01"},
    {"{\"hosts\": [\"a\", \"B\", \"a\", \" b \"]}", "host:a|host:b"},
    {"{\"hostname\": \"10.0.0.5\"}", "address:10.0.0.5"},
    {"{\"ip\": \"10.0.0.5:443\"}", "address:10.0.0.5"},
    {"{\"ip\": \"[2001:DB8::1]:443\"}", "address:2001:db8::1"},
    {"{\"ip\": \"::ffff:10.1.2.3\"}", "address:10.1.2.3"},
    {"{\"ips\": [\"10.0.0.0/24\", \"fe80::1%eth0\", \"10.9.9.9/8\"]}",
     "address:10.0.0.0/24|address:fe80::1|address:10.0.0.0/8"},
    {"{\"address\": \"ws-9.corp\"}", "host:ws-9.corp"},
    {"{\"address\": \"Bob@Example.org\"}", "mailbox:bob@example.org"},
    {"{\"user\": \"CORP\\\\Bob\"}", "user:corp\\bob"},
    {"{\"user_name\": \"10.0.0.1\"}", "user:10.0.0.1"},
    {"{\"to\": \"CEO <CEO@Example.org>, bob@example.org; carol\"}",
     "mailbox:ceo@example.org|mailbox:bob@example.org|user:carol"},
    {"{\"email\": \"x@y.z\", \"cc\": [\"x@y.z\", \"w@y.z\"]}", "mailbox:x@y.z|mailbox:w@y.z"},
    {"{\"domain\": \"Example.ORG.\"}", "domain:example.org"},
    {"{\"domains\": [\"a.example\", \"192.0.2.1\"]}", "domain:a.example|address:192.0.2.1"},
    {"{\"device\": {\"name\": \"WS-1\", \"ip\": \"10.0.0.1\"}}", "host:ws-1|address:10.0.0.1"},
    {"{\"machines\": [{\"hostName\": \"WS-2\"}, {\"value\": \"ws-3\"}]}", "host:ws-3|host:ws-2"},
    {"{\"host.name\": \"ws-3\", \"source.ip\": \"1.2.3.4\"}", "host:ws-3|address:1.2.3.4"},
    {"{\"ComputerName\": \"PC1\", \"SamAccountName\": \"jdoe\"}", "host:pc1|user:jdoe"},
    {"{\"count\": 5, \"note\": \"dc-01\", \"user\": 123, \"hosts\": [true, null]}", ""},
    {"{\"hosts\": [[\"a\"], [[\"b\"]]]}", "host:a|host:b"},
    {"{\"params\": {\"target\": {\"computer_name\": \"PC1\"}}}", "host:pc1"},
    {"[{\"host\": \"x\"}, [{\"user\": \"y\"}]]", "host:x|user:y"},
    {"{\"host\": \"   \", \"user\": \"\"}", ""},
};

static void targets_string(json_t *t, char *out, size_t size)
{
    size_t used = 0, i;
    json_t *x;
    out[0] = '\0';
    json_array_foreach(t, i, x)
    {
        used += (size_t)snprintf(out + used, size - used, "%s%s:%s", i ? "|" : "",
                                 json_string_value(json_object_get(x, "type")),
                                 json_string_value(json_object_get(x, "value")));
        assert_true(used < size);
    }
}

static void test_targets(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TARGETS) / sizeof(TARGETS[0]); i++) {
        json_error_t jerr;
        json_t *params = json_loads(TARGETS[i].params, JSON_DECODE_ANY, &jerr);
        assert_non_null(params);
        json_t *t = guard_targets(params);
        assert_non_null(t);
        char got[1024];
        targets_string(t, got, sizeof(got));
        if (strcmp(got, TARGETS[i].targets) != 0)
            fail_msg("case %zu %s\n got: %s\nwant: %s", i, TARGETS[i].params, got,
                     TARGETS[i].targets);
        json_decref(t);
        json_decref(params);
    }
    /* a long value is no name: skipped, never truncated into one */
    json_t *params = json_object();
    char *longname = malloc(RP_NAME_MAX_BYTES + 2);
    memset(longname, 'a', RP_NAME_MAX_BYTES + 1);
    longname[RP_NAME_MAX_BYTES + 1] = '\0';
    json_object_set_new(params, "host", json_string(longname));
    json_t *t = guard_targets(params);
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);
    json_decref(params);
    free(longname);
    /* past the limit: one more than it, so that the decision can tell */
    json_t *hosts = json_array();
    for (int i = 0; i < RP_GUARD_TARGETS_MAX + 50; i++) {
        char h[32];
        snprintf(h, sizeof(h), "h%d", i);
        json_array_append_new(hosts, json_string(h));
    }
    params = json_pack("{s:o}", "hosts", hosts);
    t = guard_targets(params);
    assert_int_equal(json_array_size(t), RP_GUARD_TARGETS_MAX + 1);
    json_decref(t);
    json_decref(params);
}

/* --- fake counters --------------------------------------------------------------------
 * prior: the actions the store holds as allowed, as
 * [{"ago": ms, "action": A, "effect": E, "playbook": P, "n": N}];
 * run: the targets this run touched already, {"contain": ["host:ws-1", ...]}. */

struct fake {
    json_t *prior;
    json_t *run;
    rp_status fail;
    int calls;
};

static rp_status fake_since(void *ctx, int64_t since_ms, const char *action, int effect,
                            const char *playbook, int64_t *out)
{
    struct fake *f = ctx;
    size_t i;
    json_t *a;
    f->calls++;
    if (f->fail != RP_OK)
        return f->fail;
    *out = 0;
    json_array_foreach(f->prior, i, a)
    {
        int64_t ts = NOW - json_integer_value(json_object_get(a, "ago"));
        if (ts < since_ms)
            continue;
        if (action != NULL && strcmp(action, json_string_value(json_object_get(a, "action"))))
            continue;
        if (effect >= 0 && effect != json_integer_value(json_object_get(a, "effect")))
            continue;
        if (playbook != NULL &&
            strcmp(playbook, json_string_value(json_object_get(a, "playbook"))) != 0)
            continue;
        *out += json_integer_value(json_object_get(a, "n"));
    }
    return RP_OK;
}

static rp_status fake_run_targets(void *ctx, const char *run_id, int effect, json_t *adding,
                                  int64_t *out)
{
    struct fake *f = ctx;
    f->calls++;
    assert_string_equal(run_id, "run-1");
    if (f->fail != RP_OK)
        return f->fail;
    json_t *set = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(f->run, action_effect_name((enum action_effect)effect)), i,
                       v) json_object_set_new(set, json_string_value(v), json_true());
    json_array_foreach(adding, i, v)
    {
        char k[600];
        snprintf(k, sizeof(k), "%s:%s", json_string_value(json_object_get(v, "type")),
                 json_string_value(json_object_get(v, "value")));
        json_object_set_new(set, k, json_true());
    }
    *out = (int64_t)json_object_size(set);
    json_decref(set);
    return RP_OK;
}

/* --- decisions ----------------------------------------------------------------------- */

struct drow {
    const char *name;
    int policy; /* POLICIES index; -1: no policy */
    const char *action;
    enum action_effect effect;
    const char *playbook;
    const char *params;
    const char *prior; /* NULL: none */
    const char *run;   /* NULL: none */
    bool stopped;
    enum guard_verdict verdict;
    const char *rule;
    const char *reason; /* a part of the reason */
    const char *approver;
    int64_t deadline_in; /* hold: deadline - now */
    bool on_timeout_allow;
    int64_t contain_ms;
};

#define PRIOR(ago, action, effect, pb, n)                                                          \
    "{\"ago\": " #ago ", \"action\": \"" action "\", \"effect\": " #effect ", \"playbook\": \"" pb \
    "\", \"n\": " #n "}"

static const struct drow DECIDE[] = {
    {.name = "a read is never guarded, even with the kill switch on",
     .action = "edr.get_host",
     .effect = READ,
     .params = "{\"host\": \"dc-01\"}",
     .stopped = true,
     .verdict = GUARD_ALLOW,
     .rule = "read",
     .reason = "reads are never guarded"},
    /* protected hosts */
    {.name = "a protected host is never contained",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"dc-01\"}",
     .verdict = GUARD_DENY,
     .rule = "protected hosts[0]",
     .reason = "host dc-01 matches protected hosts dc-* (policy.yml:3:15): no contain on it"},
    {.name = "as an FQDN in capitals",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"hostname\": \"DC-02.Corp.Example.org\"}",
     .verdict = GUARD_DENY,
     .rule = "protected hosts[0]",
     .reason = "host dc-02.corp.example.org matches protected hosts dc-* (policy.yml:3:15)"},
    {.name = "an exact name",
     .action = "mail.gw_reset",
     .effect = MODIFY,
     .params = "{\"device\": {\"name\": \"mail-gw-01\"}}",
     .verdict = GUARD_DENY,
     .rule = "protected hosts[0]",
     .reason = "host mail-gw-01 matches protected hosts mail-gw-01 (policy.yml:3:23)"},
    {.name = "an effect the rule does not list",
     .action = "chat.post",
     .effect = NOTIFY,
     .params = "{\"host\": \"dc-01\"}",
     .verdict = GUARD_ALLOW,
     .rule = "none"},
    /* protected addresses: hold */
    {.name = "a protected range holds",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"ip\": \"10.0.0.7\"}",
     .verdict = GUARD_HOLD,
     .rule = "protected addresses[1]",
     .reason = "address 10.0.0.7 matches protected addresses 10.0.0.0/24 (policy.yml:4:19): "
               "modify needs approval by soc-lead",
     .approver = "soc-lead",
     .deadline_in = 2 * HOUR,
     .on_timeout_allow = true},
    {.name = "a host given by its address",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"host\": \"10.0.0.9\"}",
     .verdict = GUARD_HOLD,
     .rule = "protected addresses[1]",
     .approver = "soc-lead",
     .deadline_in = 2 * HOUR,
     .on_timeout_allow = true},
    {.name = "a wider range that covers a protected one",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"cidr\": \"10.0.0.0/8\"}",
     .verdict = GUARD_HOLD,
     .rule = "protected addresses[1]",
     .approver = "soc-lead",
     .deadline_in = 2 * HOUR,
     .on_timeout_allow = true},
    {.name = "IPv6",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"ip\": \"2001:DB8:0::1\"}",
     .verdict = GUARD_HOLD,
     .rule = "protected addresses[1]",
     .reason = "address 2001:db8::1 matches protected addresses 2001:db8::/32 (policy.yml:4:32)",
     .approver = "soc-lead",
     .deadline_in = 2 * HOUR,
     .on_timeout_allow = true},
    {.name = "an address outside",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"ip\": \"10.0.1.7\"}",
     .verdict = GUARD_ALLOW,
     .rule = "none"},
    /* users */
    {.name = "a protected user in a down-level name",
     .action = "directory.disable_user",
     .effect = MODIFY,
     .params = "{\"user\": \"CORP\\\\CEO\"}",
     .verdict = GUARD_HOLD,
     .rule = "protected users[2]",
     .reason = "user corp\\ceo matches protected users ceo (policy.yml:6:15)",
     .approver = "soc-lead",
     .deadline_in = 8 * HOUR},
    {.name = "a protected user as a UPN",
     .action = "directory.disable_user",
     .effect = MODIFY,
     .params = "{\"upn\": \"cfo@corp.example.net\"}",
     .verdict = GUARD_HOLD,
     .rule = "protected users[2]",
     .approver = "soc-lead",
     .deadline_in = 8 * HOUR},
    /* mailboxes and domains */
    {.name = "a protected mailbox, any effect",
     .action = "mail.send",
     .effect = NOTIFY,
     .params = "{\"to\": \"The CEO <ceo@EXAMPLE.org>\"}",
     .verdict = GUARD_DENY,
     .rule = "protected mailboxes[3]",
     .reason = "mailbox ceo@example.org matches protected mailboxes ceo@example.org "
               "(policy.yml:7:19): no notify on it"},
    {.name = "writing to someone at a protected domain",
     .action = "mail.send",
     .effect = NOTIFY,
     .params = "{\"to\": \"bob@example.org\"}",
     .verdict = GUARD_ALLOW,
     .rule = "none"},
    {.name = "deleting mail at a protected domain's subdomain",
     .action = "mail.purge",
     .effect = DESTROY,
     .params = "{\"mailbox\": \"bob@eu.example.org\"}",
     .verdict = GUARD_DENY,
     .rule = "protected domains[4]",
     .reason = "mailbox bob@eu.example.org is at protected domain example.org (policy.yml:8:17): "
               "no destroy there"},
    {.name = "a subdomain",
     .action = "dns.sinkhole",
     .effect = MODIFY,
     .params = "{\"domain\": \"mail.example.org\"}",
     .verdict = GUARD_DENY,
     .rule = "protected domains[4]",
     .reason = "domain mail.example.org matches protected domains example.org"},
    {.name = "a domain that only ends alike",
     .action = "dns.sinkhole",
     .effect = MODIFY,
     .params = "{\"domain\": \"badexample.org\"}",
     .verdict = GUARD_ALLOW,
     .rule = "none"},
    {.name = "a deny wins over a hold written before it",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"ip\": \"10.0.0.5\", \"hosts\": [\"ws-1\", \"dc-03\"]}",
     .verdict = GUARD_DENY,
     .rule = "protected hosts[0]"},
    /* budgets */
    {.name = "the 6th contain in an hour is over budget",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-6\"}",
     .prior = "[" PRIOR(600000, "edr.contain_host", 2, "pb-a", 3) ", " PRIOR(60000, "edr.isolate",
                                                                             2, "pb-b", 2) "]",
     .verdict = GUARD_DENY,
     .rule = "budget containments",
     .reason = "5 contain actions already allowed in the last 1h: budget containments allows 5 "
               "(policy.yml:10:5)"},
    {.name = "the 5th is not",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-5\"}",
     .prior = "[" PRIOR(600000, "edr.contain_host", 2, "pb-a", 4) "]",
     .verdict = GUARD_ALLOW,
     .rule = "none",
     .reason = "released after 4h (containment default_duration)",
     .contain_ms = 4 * HOUR},
    {.name = "contains older than the window do not count",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-5\"}",
     .prior = "[" PRIOR(3600001, "edr.contain_host", 2, "pb-a", 50) "]",
     .verdict = GUARD_ALLOW,
     .rule = "none",
     .contain_ms = 4 * HOUR},
    {.name = "scope playbook: another playbook's resets do not count",
     .action = "directory.reset_password",
     .effect = MODIFY,
     .playbook = "pb-b",
     .params = "{\"user\": \"bob\"}",
     .prior = "[" PRIOR(60000, "directory.reset_password", 3, "pb-a", 2) "]",
     .verdict = GUARD_ALLOW,
     .rule = "none"},
    {.name = "scope playbook: its own do",
     .action = "directory.reset_password",
     .effect = MODIFY,
     .playbook = "pb-a",
     .params = "{\"user\": \"bob\"}",
     .prior = "[" PRIOR(60000, "directory.reset_password", 3, "pb-a", 2) "]",
     .verdict = GUARD_DENY,
     .rule = "budget resets",
     .reason = "2 actions of directory.reset_password in this playbook already allowed in the last "
               "1d: budget resets allows 2 (policy.yml:11:5)"},
    {.name = "scope action: over holds for the analyst",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"ip\": \"192.0.2.1\"}",
     .prior = "[" PRIOR(60000, "fw.block", 3, "pb-a", 3) "]",
     .verdict = GUARD_HOLD,
     .rule = "budget blocks",
     .reason = "3 allowed in the last 1h: over budget blocks (max 3, policy.yml:12:5), needs "
               "approval by analyst",
     .approver = "analyst",
     .deadline_in = 10 * MIN},
    {.name = "scope action: another action's count is its own",
     .action = "fw.unblock",
     .effect = MODIFY,
     .params = "{\"ip\": \"192.0.2.1\"}",
     .prior = "[" PRIOR(60000, "fw.block", 3, "pb-a", 3) "]",
     .verdict = GUARD_ALLOW,
     .rule = "none"},
    /* blast radius */
    {.name = "blast radius: a target the run touched already",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\"}",
     .run = "{\"contain\": [\"host:ws-1\", \"host:ws-2\", \"host:ws-3\", \"host:ws-4\", "
            "\"host:ws-5\", \"host:ws-6\", \"host:ws-7\", \"host:ws-8\", \"host:ws-9\", "
            "\"host:ws-10\"]}",
     .verdict = GUARD_ALLOW,
     .rule = "none",
     .contain_ms = 4 * HOUR},
    {.name = "blast radius: an 11th distinct target",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-11\"}",
     .run = "{\"contain\": [\"host:ws-1\", \"host:ws-2\", \"host:ws-3\", \"host:ws-4\", "
            "\"host:ws-5\", \"host:ws-6\", \"host:ws-7\", \"host:ws-8\", \"host:ws-9\", "
            "\"host:ws-10\"]}",
     .verdict = GUARD_DENY,
     .rule = "blast_radius contain",
     .reason = "11 distinct contain targets in this run would exceed blast_radius contain: 10 "
               "(policy.yml:20:26)"},
    {.name = "blast radius: three at once past two",
     .action = "mail.purge",
     .effect = DESTROY,
     .params = "{\"mailboxes\": [\"a@x.org\", \"b@x.org\", \"c@x.org\"]}",
     .verdict = GUARD_DENY,
     .rule = "blast_radius destroy"},
    {.name = "blast radius counts per effect",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-11\"}",
     .run = "{\"destroy\": [\"host:a\", \"host:b\", \"host:c\", \"host:d\", \"host:e\", "
            "\"host:f\", \"host:g\", \"host:h\", \"host:i\", \"host:j\", \"host:k\"]}",
     .verdict = GUARD_ALLOW,
     .rule = "none",
     .contain_ms = 4 * HOUR},
    /* approvals */
    {.name = "destroy needs soc-lead within 30m, else denied",
     .action = "mail.purge",
     .effect = DESTROY,
     .params = "{\"mailbox\": \"a@x.org\"}",
     .verdict = GUARD_HOLD,
     .rule = "approvals[0]",
     .reason = "destroy needs approval by soc-lead within 30m, else denied (policy.yml:22:5)",
     .approver = "soc-lead",
     .deadline_in = 30 * MIN},
    {.name = "an action that needs the analyst, else allowed",
     .action = "edr.quarantine_file",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\", \"duration\": \"2h\"}",
     .verdict = GUARD_HOLD,
     .rule = "approvals[1]",
     .reason = "action edr.quarantine_file needs approval by analyst within 15m, else allowed "
               "(policy.yml:23:5)",
     .approver = "analyst",
     .deadline_in = 15 * MIN,
     .on_timeout_allow = true,
     .contain_ms = 2 * HOUR},
    /* containment durations */
    {.name = "a duration asked",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\", \"duration\": \"2h\"}",
     .verdict = GUARD_ALLOW,
     .reason = "released after 2h (its duration)",
     .rule = "none",
     .contain_ms = 2 * HOUR},
    {.name = "a duration past the maximum",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\", \"duration\": \"48h\"}",
     .verdict = GUARD_ALLOW,
     .reason = "released after 1d (containment max_duration)",
     .rule = "none",
     .contain_ms = 24 * HOUR},
    {.name = "a duration in ms",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\", \"duration\": 90000}",
     .verdict = GUARD_ALLOW,
     .reason = "released after 1m30s",
     .rule = "none",
     .contain_ms = 90000},
    {.name = "a duration that does not parse",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\", \"duration\": \"soon\"}",
     .verdict = GUARD_ALLOW,
     .rule = "none",
     .contain_ms = 4 * HOUR},
    {.name = "no duration for what is not a contain",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"ip\": \"192.0.2.9\", \"duration\": \"2h\"}",
     .verdict = GUARD_ALLOW,
     .rule = "none"},
    /* kill switch */
    {.name = "the kill switch holds for admin a day",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\"}",
     .stopped = true,
     .verdict = GUARD_HOLD,
     .rule = "kill switch",
     .reason = "the kill switch is on: no contain until it is resumed or admin approves",
     .approver = "admin",
     .deadline_in = 24 * HOUR,
     .contain_ms = 0},
    {.name = "the kill switch before budgets and approvals",
     .action = "mail.purge",
     .effect = DESTROY,
     .params = "{\"mailbox\": \"a@x.org\"}",
     .stopped = true,
     .verdict = GUARD_HOLD,
     .rule = "kill switch",
     .approver = "admin",
     .deadline_in = 24 * HOUR},
    {.name = "a protected deny stands under the kill switch",
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"dc-01\"}",
     .stopped = true,
     .verdict = GUARD_DENY,
     .rule = "protected hosts[0]"},
    {.name = "a protected hold does not: the kill switch holds",
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"ip\": \"10.0.0.7\"}",
     .stopped = true,
     .verdict = GUARD_HOLD,
     .rule = "kill switch",
     .approver = "admin",
     .deadline_in = 24 * HOUR},
    {.name = "the policy's kill switch approver",
     .policy = 2,
     .action = "fw.block",
     .effect = MODIFY,
     .params = "{\"ip\": \"10.0.0.7\"}",
     .stopped = true,
     .verdict = GUARD_HOLD,
     .rule = "kill switch",
     .reason = "or oncall approves",
     .approver = "oncall",
     .deadline_in = HOUR},
    {.name = "no policy: allowed",
     .policy = -1,
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"dc-01\"}",
     .verdict = GUARD_ALLOW,
     .rule = "no policy"},
    {.name = "no policy: the kill switch still holds",
     .policy = -1,
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"dc-01\"}",
     .stopped = true,
     .verdict = GUARD_HOLD,
     .rule = "kill switch",
     .approver = "admin",
     .deadline_in = 24 * HOUR},
    /* simulate */
    {.name = "simulate: before protected assets",
     .policy = 1,
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"dc-01\", \"duration\": \"8h\"}",
     .verdict = GUARD_SIMULATE,
     .rule = "mode simulate",
     .reason = "the policy's mode is simulate (policy.yml)",
     .contain_ms = 2 * HOUR},
    {.name = "simulate: every effect above read",
     .policy = 1,
     .action = "mail.send",
     .effect = NOTIFY,
     .params = "{\"to\": \"a@b.c\"}",
     .verdict = GUARD_SIMULATE,
     .rule = "mode simulate"},
    {.name = "simulate: not reads",
     .policy = 1,
     .action = "edr.get_host",
     .effect = READ,
     .params = "{}",
     .verdict = GUARD_ALLOW,
     .rule = "read"},
    {.name = "simulate: the kill switch first",
     .policy = 1,
     .action = "edr.contain_host",
     .effect = CONTAIN,
     .params = "{\"host\": \"ws-1\"}",
     .stopped = true,
     .verdict = GUARD_HOLD,
     .rule = "kill switch",
     .approver = "admin",
     .deadline_in = 24 * HOUR},
};

static void run_decide(const struct drow *r, struct policy *const *pols)
{
    struct fake f = {0};
    json_error_t jerr;
    f.prior = r->prior ? json_loads(r->prior, 0, &jerr) : json_array();
    f.run = r->run ? json_loads(r->run, 0, &jerr) : json_object();
    if (f.prior == NULL || f.run == NULL)
        fail_msg("%s: bad fixture: %s", r->name, jerr.text);
    json_t *params = json_loads(r->params, JSON_DECODE_ANY, &jerr);
    assert_non_null(params);
    json_t *targets = guard_targets(params);
    struct guard_counts c = {.actions_since = fake_since,
                             .run_targets = fake_run_targets,
                             .stopped = r->stopped,
                             .ctx = &f};
    struct guard_request req = {.run_id = "run-1",
                                .playbook = r->playbook ? r->playbook : "pb-a",
                                .step_key = "hosts[0]/contain",
                                .action = r->action,
                                .effect = r->effect,
                                .params = params,
                                .targets = targets,
                                .now_ms = NOW};
    struct guard_decision d;
    struct rp_error err;
    const struct policy *p = r->policy >= 0 ? pols[r->policy] : NULL;
    assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_OK);
    if (d.verdict != r->verdict || strcmp(d.rule, r->rule) != 0 ||
        (r->reason && strstr(d.reason, r->reason) == NULL))
        fail_msg("%s:\n got: %s, %s: %s\nwant: %s, %s: ...%s...", r->name,
                 guard_verdict_name(d.verdict), d.rule, d.reason, guard_verdict_name(r->verdict),
                 r->rule, r->reason ? r->reason : "");
    if (d.verdict == GUARD_HOLD) {
        assert_string_equal(d.approver, r->approver);
        if (d.deadline_ms - NOW != r->deadline_in)
            fail_msg("%s: deadline in %lld, want %lld", r->name, (long long)(d.deadline_ms - NOW),
                     (long long)r->deadline_in);
        assert_int_equal(d.on_timeout_allow, r->on_timeout_allow);
    } else {
        assert_string_equal(d.approver, "");
        assert_int_equal(d.deadline_ms, 0);
    }
    if (d.contain_ms != r->contain_ms)
        fail_msg("%s: contain_ms %lld, want %lld", r->name, (long long)d.contain_ms,
                 (long long)r->contain_ms);
    assert_true(d.reason[0] != '\0');
    /* the same decision when the guard reads the targets itself */
    struct guard_decision d2;
    req.targets = NULL;
    assert_int_equal(guard_decide(p, &c, &req, &d2, &err), RP_OK);
    assert_int_equal(d2.verdict, d.verdict);
    assert_string_equal(d2.rule, d.rule);
    json_decref(targets);
    json_decref(params);
    json_decref(f.prior);
    json_decref(f.run);
}

static void test_decide(void **state)
{
    (void)state;
    struct policy *pols[3];
    for (int i = 0; i < 3; i++)
        pols[i] = load(POLICIES[i]);
    for (size_t i = 0; i < sizeof(DECIDE) / sizeof(DECIDE[0]); i++)
        run_decide(&DECIDE[i], pols);
    for (int i = 0; i < 3; i++)
        policy_free(pols[i]);
}

static void test_verdict_names(void **state)
{
    (void)state;
    assert_string_equal(guard_verdict_name(GUARD_ALLOW), "allow");
    assert_string_equal(guard_verdict_name(GUARD_DENY), "deny");
    assert_string_equal(guard_verdict_name(GUARD_HOLD), "hold");
    assert_string_equal(guard_verdict_name(GUARD_SIMULATE), "simulate");
    assert_string_equal(guard_verdict_name((enum guard_verdict)42), "?");
}

/* A counter that fails is an error (the caller holds the action); a policy
 * that needs no counter does not call one; too many targets are denied. */
static void test_decide_errors(void **state)
{
    (void)state;
    struct policy *p = load(MAIN_POLICY);
    struct fake f = {.prior = json_array(), .run = json_object(), .fail = RP_E_STORE};
    struct guard_counts c = {
        .actions_since = fake_since, .run_targets = fake_run_targets, .ctx = &f};
    json_t *params = json_pack("{s:s}", "host", "ws-1");
    struct guard_request req = {.run_id = "run-1",
                                .playbook = "pb-a",
                                .action = "edr.contain_host",
                                .effect = CONTAIN,
                                .params = params,
                                .now_ms = NOW};
    struct guard_decision d;
    struct rp_error err;
    assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_E_STORE);
    assert_string_equal(err.msg, "guard: counting the run's targets failed: store error");
    /* modify has no blast radius: the budget's counter fails */
    req.effect = MODIFY;
    req.action = "fw.block";
    assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_E_STORE);
    assert_string_equal(err.msg, "guard: counting for budget blocks failed: store error");
    /* no counters at all */
    assert_int_equal(guard_decide(p, NULL, &req, &d, &err), RP_E_INVALID);
    /* a notify needs none: the budgets and radius do not cover it */
    f.calls = 0;
    req.effect = NOTIFY;
    assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_OK);
    assert_int_equal(d.verdict, GUARD_ALLOW);
    assert_int_equal(f.calls, 0);
    /* an effect out of range is denied */
    req.effect = (enum action_effect)9;
    assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_OK);
    assert_int_equal(d.verdict, GUARD_DENY);
    assert_string_equal(d.rule, "effect");
    /* too many targets to check */
    json_t *hosts = json_array();
    for (int i = 0; i <= RP_GUARD_TARGETS_MAX; i++) {
        char h[32];
        snprintf(h, sizeof(h), "h%d", i);
        json_array_append_new(hosts, json_string(h));
    }
    json_object_set_new(params, "hosts", hosts);
    req.effect = CONTAIN;
    f.fail = RP_OK;
    assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_OK);
    assert_int_equal(d.verdict, GUARD_DENY);
    assert_string_equal(d.rule, "targets");
    json_decref(params);
    json_decref(f.prior);
    json_decref(f.run);
    policy_free(p);
}

/* --- the scenarios ------------------------------------------------------------- */

/* A runaway for_each over 500 hosts, each contained: after 5 in the hour the
 * rest are denied (over: deny) or held (over: hold); the engine records each
 * allowed action, as the store would. */
static void runaway(const char *policy_text, enum guard_verdict rest, int64_t spacing_ms)
{
    struct policy *p = load(policy_text);
    struct fake f = {.prior = json_array(), .run = json_object()};
    struct guard_counts c = {
        .actions_since = fake_since, .run_targets = fake_run_targets, .ctx = &f};
    int allowed = 0, others = 0;
    for (int i = 0; i < 500; i++) {
        char host[32];
        snprintf(host, sizeof(host), "ws-%03d", i);
        json_t *params = json_pack("{s:s}", "host", host);
        json_t *targets = guard_targets(params);
        struct guard_request req = {.run_id = "run-1",
                                    .playbook = "runaway",
                                    .step_key = host,
                                    .action = "edr.contain_host",
                                    .effect = CONTAIN,
                                    .params = params,
                                    .targets = targets,
                                    .now_ms = NOW + i * spacing_ms};
        struct guard_decision d;
        struct rp_error err;
        assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_OK);
        if (d.verdict == GUARD_ALLOW) {
            allowed++;
            /* ago is relative to NOW: a negative ago is a later action */
            json_array_append_new(f.prior, json_pack("{s:I,s:s,s:i,s:s,s:i}", "ago",
                                                     (json_int_t)(-(i * spacing_ms)), "action",
                                                     "edr.contain_host", "effect", CONTAIN,
                                                     "playbook", "runaway", "n", 1));
        } else {
            assert_int_equal(d.verdict, rest);
            assert_string_equal(d.rule, "budget containments");
            others++;
        }
        json_decref(targets);
        json_decref(params);
    }
    assert_int_equal(allowed, 5);
    assert_int_equal(others, 495);
    json_decref(f.prior);
    json_decref(f.run);
    policy_free(p);
}

static void test_runaway(void **state)
{
    (void)state;
    /* one host a second: all 500 fall in the hour */
    runaway("budgets:\n  - { name: containments, effect: contain, max: 5, per: 1h }\n", GUARD_DENY,
            1000);
    runaway("budgets:\n  - { name: containments, effect: contain, max: 5, per: 1h, over: hold,\n"
            "      approver: soc-lead }\n",
            GUARD_HOLD, 1000);
}

/* A domain controller on the protected list is never contained, whatever the
 * request looks like and whatever else the policy says. */
static void test_domain_controller(void **state)
{
    (void)state;
    static const char *const shapes[] = {
        "{\"host\": \"dc-01\"}",
        "{\"hostname\": \"DC-01\"}",
        "{\"hostName\": \"dc-01.corp.example.org.\"}",
        "{\"hosts\": [\"ws-1\", \"ws-2\", \"DC-01\"]}",
        "{\"device\": {\"name\": \"dc-01\"}}",
        "{\"devices\": [{\"device_name\": \"dc-01\"}]}",
        "{\"machine\": \"dc-01\", \"duration\": \"1m\"}",
        "{\"target\": {\"computer\": {\"value\": \"Dc-01\"}}}",
        "{\"ip\": \"10.0.0.10\"}",
        "{\"address\": \"[::ffff:10.0.0.10]:3389\"}",
        "{\"endpoints\": [[\"dc-01\"]], \"user\": \"bob\"}",
    };
    static const char policy[] =
        "protected:\n"
        "  - { addresses: [10.0.0.0/8], action: hold, approver: analyst }\n"
        "  - { hosts: [\"dc-*\"], addresses: [10.0.0.10], effects: [contain], action: deny }\n"
        "budgets:\n"
        "  - { effect: contain, max: 1000, per: 1h }\n"
        "approvals:\n"
        "  - { effects: [contain], approver: analyst, on_timeout: allow }\n";
    struct policy *p = load(policy);
    struct fake f = {.prior = json_array(), .run = json_object()};
    for (int stopped = 0; stopped < 2; stopped++) {
        struct guard_counts c = {.actions_since = fake_since,
                                 .run_targets = fake_run_targets,
                                 .stopped = stopped,
                                 .ctx = &f};
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            json_t *params = json_loads(shapes[i], 0, NULL);
            assert_non_null(params);
            struct guard_request req = {.run_id = "run-1",
                                        .playbook = "any",
                                        .action = "edr.contain_host",
                                        .effect = CONTAIN,
                                        .params = params,
                                        .now_ms = NOW};
            struct guard_decision d;
            struct rp_error err;
            assert_int_equal(guard_decide(p, &c, &req, &d, &err), RP_OK);
            if (d.verdict != GUARD_DENY || strncmp(d.rule, "protected ", 10) != 0)
                fail_msg("%s (stopped %d): %s %s: %s", shapes[i], stopped,
                         guard_verdict_name(d.verdict), d.rule, d.reason);
            assert_int_equal(d.contain_ms, 0);
            json_decref(params);
        }
    }
    json_decref(f.prior);
    json_decref(f.run);
    policy_free(p);
}

/* --- riposte check ------------------------------------------------------------------- */

static void test_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *action;
        enum action_effect effect;
        const char *want;
    } rows[] = {
        {"edr.contain_host", CONTAIN,
         "{\"bounds\":[\"budget containments\",\"blast_radius contain\"],\"protected\":true,"
         "\"approvals\":[],\"simulate\":false}"},
        {"edr.quarantine_file", CONTAIN,
         "{\"bounds\":[\"budget containments\",\"blast_radius contain\"],\"protected\":true,"
         "\"approvals\":[\"approvals[1]\"],\"simulate\":false}"},
        {"directory.reset_password", MODIFY,
         "{\"bounds\":[\"budget resets\",\"budget blocks\"],\"protected\":true,\"approvals\":[],"
         "\"simulate\":false}"},
        {"mail.purge", DESTROY,
         "{\"bounds\":[\"blast_radius "
         "destroy\"],\"protected\":true,\"approvals\":[\"approvals[0]\"],"
         "\"simulate\":false}"},
        {"chat.post", NOTIFY,
         "{\"bounds\":[],\"protected\":true,\"approvals\":[],\"simulate\":false}"},
        {"edr.get_host", READ,
         "{\"bounds\":[],\"protected\":false,\"approvals\":[],\"simulate\":false}"},
    };
    struct policy *p = load(MAIN_POLICY);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *b = guard_bounds(p, rows[i].action, rows[i].effect);
        assert_non_null(b);
        char *s = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (strcmp(s, rows[i].want) != 0)
            fail_msg("%s:\n got: %s\nwant: %s", rows[i].action, s, rows[i].want);
        free(s);
        json_decref(b);
    }
    policy_free(p);
    /* no policy: nothing bounds anything */
    json_t *b = guard_bounds(NULL, "edr.contain_host", CONTAIN);
    char *s = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s,
                        "{\"bounds\":[],\"protected\":false,\"approvals\":[],\"simulate\":false}");
    free(s);
    json_decref(b);
    /* the only protected rule leaves notify out; a global budget bounds all */
    p = load("mode: simulate\nprotected:\n  - { hosts: [x], effects: [destroy] }\n"
             "budgets:\n  - { name: all, max: 500, per: 1h }\n");
    b = guard_bounds(p, "chat.post", NOTIFY);
    s = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "{\"bounds\":[\"budget all\"],\"protected\":false,\"approvals\":[],"
                           "\"simulate\":true}");
    free(s);
    json_decref(b);
    policy_free(p);
}

/* --- the audit hash ---------------------------------------------------------------------
 * Vectors computed with Python's hashlib from the encoding in audit.c. */

static void test_audit_hash(void **state)
{
    (void)state;
    char h1[65], h2[65], h[65];
    audit_hash("", 1, NOW, "guard", "decision", "{\"verdict\":\"deny\"}", h1);
    assert_string_equal(h1, "0d4b8952f0e2cd28fa570b75680b0645dcc91e20734d67604fb62b5f8e6b6c9c");
    audit_hash(NULL, 1, NOW, "guard", "decision", "{\"verdict\":\"deny\"}", h);
    assert_string_equal(h, h1); /* NULL is the empty string */
    audit_hash(h1, 2, NOW + 1, "api:alice", "approve", "{\"id\":\"01J\"}", h2);
    assert_string_equal(h2, "0cfd91eaa9012d1e65d2484610f800d83d8cde1bf55f05853c219891fdda510c");
    audit_hash("", 0, 0, "", "", "", h);
    assert_string_equal(h, "fefe20532cdc7fff353e6c26faedcd4509421b5bc1042be097ec314216385085");
    audit_hash(NULL, -1, -5, "a", "b", "c", h);
    assert_string_equal(h, "803094f238e30a22c690b4d412b3e378ac657db499509b4fd3a6a1fdc1b6b5d7");

    /* a change of any field, or of the link, changes the hash; moving bytes
     * from one field to the next does too */
    static const struct {
        const char *prev;
        int64_t seq, ts;
        const char *actor, *kind, *detail;
    } changed[] = {
        {"x", 1, NOW, "guard", "decision", "{\"verdict\":\"deny\"}"},
        {"", 2, NOW, "guard", "decision", "{\"verdict\":\"deny\"}"},
        {"", 1, NOW + 1, "guard", "decision", "{\"verdict\":\"deny\"}"},
        {"", 1, NOW, "guarD", "decision", "{\"verdict\":\"deny\"}"},
        {"", 1, NOW, "guard", "decisions", "{\"verdict\":\"deny\"}"},
        {"", 1, NOW, "guard", "decision", "{\"verdict\":\"allow\"}"},
        {"", 1, NOW, "guardd", "ecision", "{\"verdict\":\"deny\"}"},
        {"", 1, NOW, "guard", "", "decision{\"verdict\":\"deny\"}"},
        {"", NOW, 1, "guard", "decision", "{\"verdict\":\"deny\"}"},
    };
    for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
        audit_hash(changed[i].prev, changed[i].seq, changed[i].ts, changed[i].actor,
                   changed[i].kind, changed[i].detail, h);
        if (strcmp(h, h1) == 0)
            fail_msg("change %zu did not change the hash", i);
    }
    /* the next entry's hash depends on the previous one */
    audit_hash(h, 2, NOW + 1, "api:alice", "approve", "{\"id\":\"01J\"}", h);
    assert_string_not_equal(h, h2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),      cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_targets),       cmocka_unit_test(test_decide),
        cmocka_unit_test(test_verdict_names), cmocka_unit_test(test_decide_errors),
        cmocka_unit_test(test_runaway),       cmocka_unit_test(test_domain_controller),
        cmocka_unit_test(test_bounds),        cmocka_unit_test(test_audit_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
