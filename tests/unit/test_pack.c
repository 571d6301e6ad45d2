/*
 * test_pack.c: the pack loader (connect/pack.c): a good pack loads; each
 * kind of mistake is refused with file:line:col and what is wrong; every
 * pack shipped in packs/ loads and builds an instance; output extraction by
 * path and by template; instance settings (unknown keys, required ones,
 * secrets kept out of vars, sources named by the instance).
 */
#include "connect/http_internal.h"
#include "engine/action.h"

#include <dirent.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char GOOD[] =
    "name: demo\n"
    "help: a demo pack\n"
    "settings:\n"
    "  url: {required: true, help: base URL}\n"
    "  client_id: {required: true}\n"
    "  client_secret: {required: true, secret: true}\n"
    "  login_url: {default: 'https://login.example.org'}\n"
    "auth:\n"
    "  type: oauth2\n"
    "  token_url: ${login_url}/token\n"
    "  client_id: ${client_id}\n"
    "  client_secret: ${client_secret}\n"
    "headers: {User-Agent: riposte}\n"
    "actions:\n"
    "  contain:\n"
    "    effect: contain\n"
    "    help: isolate a host\n"
    "    inputs:\n"
    "      device_id: {required: true, help: the device}\n"
    "    request:\n"
    "      method: POST\n"
    "      path: /devices/actions\n"
    "      query: {action_name: contain}\n"
    "      json: {ids: ['{{ inputs.device_id }}']}\n"
    "    output: {id: resources.0.id}\n"
    "  find:\n"
    "    effect: read\n"
    "    help: hosts that ran a hash\n"
    "    requests:\n"
    "      - id: ids\n"
    "        path: /ids\n"
    "        query: {value: '{{ inputs.sha256 }}'}\n"
    "      - id: hosts\n"
    "        when: '#steps.ids.resources > 0'\n"
    "        path: /hosts\n"
    "        query: {ids: '{{ steps.ids.resources }}'}\n"
    "    output:\n"
    "      hosts: '{{ steps.hosts and steps.hosts.resources or {} }}'\n"
    "  job:\n"
    "    effect: read\n"
    "    help: a search job\n"
    "    timeout: 10m\n"
    "    lua: |\n"
    "      local j = http.post('/jobs', {form = {search = inputs.q}})\n"
    "      return j.body\n"
    "sources:\n"
    "  alerts:\n"
    "    every: 60s\n"
    "    format: crowdstrike\n"
    "    request:\n"
    "      path: /alerts\n"
    "      query: {since: '{{ inputs.cursor }}'}\n"
    "      paging: {type: offset, items: resources, param: offset}\n"
    "    items: resources\n"
    "    cursor: {field: created, id: id, initial: \"{{ fn.iso(fn.ago('1h')) }}\"}\n";

static void test_good(void **state)
{
    (void)state;
    json_t *p = NULL;
    struct rp_error err;
    rp_status st = pack_parse("demo.yml", GOOD, strlen(GOOD), &p, &err);
    if (st != RP_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(json_string_value(json_object_get(p, "name")), "demo");
    assert_non_null(json_object_get(json_object_get(p, "actions"), "job"));
    json_decref(p);
}

/* Replaces the first occurrence of `from` in GOOD by `to`. */
static char *variant(const char *from, const char *to)
{
    const char *at = strstr(GOOD, from);
    if (at == NULL)
        fail_msg("variant: %s not in GOOD", from);
    size_t n = strlen(GOOD) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(at - GOOD), GOOD, to, at + strlen(from));
    return s;
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to;
        const char *want; /* the message must contain this */
    } cases[] = {
        {"help: a demo pack\n", "help: a demo pack\nhelpp: x\n",
         "demo.yml:3:1: helpp: unknown key"},
        {"effect: contain", "effect: isolate",
         "demo.yml:16:13: actions.contain.effect: effect: one of"},
        {"    help: isolate a host\n", "", "demo.yml:16:5: actions.contain: help is required"},
        {"      method: POST\n", "      method: FETCH\n",
         "demo.yml:21:15: actions.contain.request: method: one of"},
        {"      path: /devices/actions\n", "      path: /d\n      verb: x\n",
         "demo.yml:23:7: actions.contain.request: verb: unknown key"},
        {"'{{ inputs.device_id }}'", "'{{ inputs. }}'",
         "demo.yml:24:13: actions.contain.request: json: ids: [0]: expression \"inputs.\""},
        {"      return j.body\n", "      return j.body end\n",
         "demo.yml:43:10: actions.job.lua: [lua]:2:"},
        {"every: 60s", "every: often", "demo.yml:48:12: sources.alerts.every: a duration"},
        {"login_url: {default: 'https://login.example.org'}",
         "login_url: {secret: true, default: x}",
         "demo.yml:7:38: settings.login_url.default: a secret has no default"},
        {"  client_id: {required: true}\n", "  client_id: {required: true}\n  client_id: {}\n",
         "demo.yml:6:3: duplicate key \"client_id\""},
        {"headers: {User-Agent: riposte}", "headers: &h {User-Agent: riposte}",
         "demo.yml:13:10: anchors and tags"},
        {"      - id: hosts\n", "      - idx: hosts\n",
         "demo.yml:33:9: actions.find.requests[1]: each request needs an id"},
        {"{type: offset, items: resources, param: offset}", "{type: offset, param: offset}",
         "sources.alerts.request: paging.items"},
        {"  type: oauth2\n", "  type: kerberos\n", "demo.yml:9:9: auth.type: type: one of"},
        {"    format: crowdstrike\n", "", "sources.alerts: format is required"},
        {"    timeout: 10m\n", "    timeout: 10m\n    request: {path: /x}\n",
         "actions.job: give exactly one of request, requests or lua"},
        {"name: demo", "name: Demo!", "demo.yml:1:7: name: name: the pack's name"},
        {"  contain:\n", "  Contain:\n", "demo.yml:15:3: actions.Contain: action names"},
        {"  url: {required: true, help: base URL}\n", "  timeout: {}\n",
         "settings.timeout: a reserved instance key"},
        {"help: a demo pack\n", "help: [unclosed\n", "demo.yml:3:9: YAML"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = variant(cases[i].from, cases[i].to);
        json_t *p = NULL;
        struct rp_error err;
        err.msg[0] = '\0';
        rp_status st = pack_parse("demo.yml", text, strlen(text), &p, &err);
        free(text);
        if (st == RP_OK) {
            json_decref(p);
            print_error("case %zu accepted; want \"%s\"\n", i, cases[i].want);
            bad++;
        } else if (strstr(err.msg, cases[i].want) == NULL) {
            print_error("case %zu: want \"%s\" in \"%s\"\n", i, cases[i].want, err.msg);
            bad++;
        }
        assert_null(p);
    }
    assert_int_equal(bad, 0);
    /* limits and odd input */
    json_t *p = NULL;
    struct rp_error err;
    assert_int_equal(pack_parse("e.yml", "", 0, &p, &err), RP_E_INVALID);
    assert_int_equal(pack_parse("e.yml", "[1, 2]", 6, &p, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "e.yml:1:1:"));
    assert_int_equal(pack_parse("e.yml", "a: *x", 5, &p, &err), RP_E_INVALID);
}

/* packs/ beside the sources: this file is tests/unit/test_pack.c */
static void packs_dir(char *out, size_t cap)
{
    char here[1024];
    snprintf(here, sizeof here, "%s", __FILE__);
    snprintf(out, cap, "%s/../../packs", dirname(here));
}

static const char *const EXPECTED[] = {
    "crowdstrike", "carbonblack", "cylance", "defender", "splunk", "elastic", "virustotal",
    "abuseipdb",   "misp",        "okta",    "msgraph",  "slack",  "teams"};

static void test_shipped_packs(void **state)
{
    (void)state;
    char dir[1100];
    packs_dir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++) {
        json_t *p = NULL;
        struct rp_error err;
        if (pack_load_file(dir, EXPECTED[i], &p, &err) != RP_OK)
            fail_msg("%s", err.msg);
        /* an instance with every setting given builds and registers */
        json_t *conf = json_object();
        const char *k;
        json_t *d;
        json_object_foreach(json_object_get(p, "settings"), k, d) json_object_set_new(
            conf, k,
            json_string(strcmp(k, "url") == 0 || strstr(k, "url") != NULL ? "https://example.org"
                                                                          : "x"));
        char inst[64];
        snprintf(inst, sizeof inst, "i_%s", EXPECTED[i]);
        struct pack_inst *pi = NULL;
        if (pack_instance_new(inst, EXPECTED[i], p, conf, NULL, &pi, &err) != RP_OK)
            fail_msg("%s: %s", EXPECTED[i], err.msg);
        json_object_foreach(json_object_get(p, "actions"), k, d)
        {
            char name[160];
            snprintf(name, sizeof name, "%s.%s", inst, k);
            const struct action_def *def = action_find(name);
            assert_non_null(def);
            enum action_effect e;
            assert_int_equal(
                action_effect_parse(json_string_value(json_object_get(d, "effect")), &e), RP_OK);
            assert_int_equal(def->effect, e);
        }
        /* left registered: the registry keeps pointers into the instance */
        json_decref(conf);
        json_decref(p);
    }
    /* a missing pack, and a name that is not one */
    json_t *p = NULL;
    struct rp_error err;
    assert_int_equal(pack_load_file(dir, "nosuch", &p, &err), RP_E_NOTFOUND);
    assert_int_equal(pack_load_file(dir, "../etc/passwd", &p, &err), RP_E_INVALID);
}

static void test_extract(void **state)
{
    (void)state;
    struct http_service svc;
    struct rp_error err;
    assert_int_equal(http_service_init(&svc, "x", &err), RP_OK);
    assert_int_equal(http_service_add_secret(&svc, "hunter2"), RP_OK);
    json_object_set_new(svc.vars, "org", json_string("o1"));
    json_t *body = json_loads("{\"data\":{\"attributes\":{\"stats\":{\"malicious\":5}}},"
                              "\"list\":[{\"id\":\"a\"},{\"id\":\"b\"}],\"leak\":\"k=hunter2\"}",
                              0, NULL);
    json_t *inputs = json_pack("{s:s}", "hash", "abc");
    json_t *steps = json_pack("{s:{s:i}}", "first", "n", 7);
    static const struct {
        const char *output; /* JSON */
        const char *want;   /* compact, sorted */
    } cases[] = {
        {"\"data.attributes.stats\"", "{\"malicious\":5}"},
        {"\"list.1.id\"", "\"b\""},
        {"\"no.such\"", "null"},
        {"\"{{ item.data.attributes.stats.malicious > 3 }}\"", "true"},
        {"{\"m\":\"data.attributes.stats.malicious\",\"h\":\"{{ inputs.hash }}\",\"o\":\"{{ "
         "vars.org }}\",\"s\":\"{{ steps.first.n }}\",\"lit\":3}",
         "{\"h\":\"abc\",\"lit\":3,\"m\":5,\"o\":\"o1\",\"s\":7}"},
        {"\"leak\"", "\"k=***\""},
        {"{\"ids\":\"{{ fn.join((function() local t = {} for _, x in ipairs(item.list) do t[#t+1] "
         "= x.id end return t end)(), ',') }}\"}",
         "{\"ids\":\"a,b\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = json_loads(cases[i].output, JSON_DECODE_ANY, NULL);
        json_t *out = NULL;
        rp_status st = pack_extract(&svc, o, body, inputs, steps, &out, &err);
        if (st != RP_OK)
            fail_msg("case %zu: %s", i, err.msg);
        char *t = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (strcmp(t, cases[i].want) != 0)
            fail_msg("case %zu: got %s want %s", i, t, cases[i].want);
        free(t);
        json_decref(out);
        json_decref(o);
    }
    /* no output: the body (masked) */
    json_t *out = NULL;
    assert_int_equal(pack_extract(&svc, NULL, body, inputs, steps, &out, &err), RP_OK);
    assert_string_equal(json_string_value(json_object_get(out, "leak")), "k=***");
    json_decref(out);
    json_decref(body);
    json_decref(inputs);
    json_decref(steps);
    http_service_fini(&svc);
}

static void test_instance(void **state)
{
    (void)state;
    json_t *p = NULL;
    struct rp_error err;
    assert_int_equal(pack_parse("demo.yml", GOOD, strlen(GOOD), &p, &err), RP_OK);
    static const struct {
        const char *conf;
        const char *want; /* NULL: accepted */
    } cases[] = {
        {"{\"url\":\"https://h\",\"client_id\":\"c\"}", "connectors.d1.client_secret: required"},
        {"{\"url\":\"https://h\",\"client_id\":\"c\",\"client_secret\":\"s\",\"colour\":1}",
         "connectors.d2.colour: not a setting of demo.yml"},
        {"{\"url\":\"ftp://h\",\"client_id\":\"c\",\"client_secret\":\"s\"}",
         "an http:// or https:// URL"},
        {"{\"url\":\"https://h\",\"client_id\":\"c\",\"client_secret\":\"s\",\"sources\":{"
         "\"nope\":{}}}",
         "sources.nope: demo.yml has no such source"},
        {"{\"url\":\"https://h\",\"client_id\":\"c\",\"client_secret\":\"s\",\"sources\":{"
         "\"alerts\":{\"every\":\"10ms\"}}}",
         "every: a duration of at least 1s"},
        {"{\"url\":\"https://h\",\"client_id\":\"c\",\"client_secret\":{\"secret\":\"x\"}}",
         "no secret store is open"},
        {"{\"url\":\"https://h\",\"client_id\":\"c\",\"client_secret\":\"s\",\"retries\":99}",
         "retries: 0 to 9"},
        {"{\"url\":\"https://h\",\"client_id\":\"c\",\"client_secret\":\"s\",\"sources\":{"
         "\"alerts\":{\"every\":\"30s\"}},\"insecure\":true,\"timeout\":\"5s\"}",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *conf = json_loads(cases[i].conf, 0, NULL);
        char name[16];
        snprintf(name, sizeof name, "d%zu", i + 1);
        struct pack_inst *pi = NULL;
        err.msg[0] = '\0';
        rp_status st = pack_instance_new(name, "demo.yml", p, conf, NULL, &pi, &err);
        json_decref(conf);
        if (cases[i].want == NULL) {
            if (st != RP_OK)
                fail_msg("case %zu: %s", i, err.msg);
            /* registered, and the failing instances before left nothing */
            assert_non_null(action_find("d8.contain"));
            assert_int_equal(action_find("d8.contain")->effect, ACTION_EFFECT_CONTAIN);
            assert_non_null(action_find("d8.job"));
            continue;
        }
        if (st == RP_OK || strstr(err.msg, cases[i].want) == NULL)
            fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want, err.msg);
        snprintf(name, sizeof name, "d%zu.contain", i + 1);
        assert_null(action_find(name));
    }
    /* the same instance name again: its actions exist */
    json_t *conf =
        json_loads("{\"url\":\"https://h\",\"client_id\":\"c\",\"client_secret\":\"s\"}", 0, NULL);
    struct pack_inst *pi = NULL;
    assert_int_equal(pack_instance_new("d8", "demo.yml", p, conf, NULL, &pi, &err), RP_E_EXISTS);
    json_decref(conf);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),          cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shipped_packs), cmocka_unit_test(test_extract),
        cmocka_unit_test(test_instance),
    };
    action_registry_init();
    return cmocka_run_group_tests_name("pack", tests, NULL, NULL);
}
