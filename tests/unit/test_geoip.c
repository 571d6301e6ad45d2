/*
 * test_geoip.c: the geoip connector (connect/geoip.c) over Debian's libloc
 * database (package libloc-database, 2022-10-29): addresses whose country and
 * AS have been stable for years, the special-purpose ranges, and rejected
 * input and configuration. Lookups complete inside start(), so no loop runs.
 */
#include "connect/connect_internal.h"
#include "connect/connector.h"
#include "engine/action.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define LOCDB "/usr/share/libloc-location/location.db"

struct outcome {
    int calls;
    rp_status st;
    json_t *output;
    char error[512];
};

static void on_done(struct action_call *call, struct action_result *res)
{
    struct outcome *o = call->engine;
    o->calls++;
    o->st = res->st;
    o->output = res->output;
    snprintf(o->error, sizeof o->error, "%s", res->error);
}

/* Runs action name with params (a JSON text); the outcome's output is the
 * caller's to free. */
static struct outcome call_action(const char *name, const char *params)
{
    const struct action_def *def = action_find(name);
    assert_non_null(def);
    struct outcome o = {0};
    json_t *p = json_loads(params, JSON_ALLOW_NUL, NULL);
    assert_non_null(p);
    struct action_call call = {.def = def,
                               .params = p,
                               .key = "k",
                               .attempt = 1,
                               .loop = NULL,
                               .done = on_done,
                               .engine = &o};
    assert_int_equal(def->start(&call), RP_OK);
    assert_int_equal(o.calls, 1); /* synchronous: done inside start() */
    json_decref(p);
    return o;
}

static void *instance;

static int setup(void **state)
{
    (void)state;
    if (access(LOCDB, R_OK) != 0) {
        fprintf(stderr, "# %s missing: apt install libloc-database\n", LOCDB);
        return -1;
    }
    const struct connector_type *t = connector_type_find("geoip");
    assert_non_null(t);
    action_registry_init();
    json_t *conf = json_pack("{s:s}", "type", "geoip");
    struct rp_error err = {{0}};
    rp_status st = t->create("geo", conf, NULL, &instance, &err);
    json_decref(conf);
    if (st != RP_OK)
        fprintf(stderr, "# create: %s\n", err.msg);
    return st == RP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    /* the registry keeps pointing at the instance's actions: keep it */
    return 0;
}

static void t_known_addresses(void **state)
{
    (void)state;
    const struct {
        const char *ip, *cc, *country;
        long asn;
        const char *as_name, *canon;
    } cases[] = {
        {"8.8.8.8", "US", "United States of America", 15169, "GOOGLE", "8.8.8.8"},
        {"8.8.4.4", "US", "United States of America", 15169, "GOOGLE", "8.8.4.4"},
        {"9.9.9.9", "CH", "Switzerland", 19281, "QUAD9-AS-1", "9.9.9.9"},
        {"193.0.6.139", "NL", "Netherlands", 3333, NULL, "193.0.6.139"}, /* RIPE NCC */
        {"2001:4860:4860::8888", "US", "United States of America", 15169, "GOOGLE",
         "2001:4860:4860::8888"},
        {"2001:4860:4860:0:0:0:0:8844", "US", NULL, 15169, "GOOGLE", "2001:4860:4860::8844"},
        {"::ffff:8.8.8.8", "US", NULL, 15169, "GOOGLE", "8.8.8.8"}, /* IPv4-mapped */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char params[128];
        snprintf(params, sizeof params, "{\"ip\": \"%s\"}", cases[i].ip);
        struct outcome o = call_action("geo.lookup", params);
        if (o.st != RP_OK)
            print_error("%s: %s\n", cases[i].ip, o.error);
        assert_int_equal(o.st, RP_OK);
        json_t *out = o.output;
        assert_string_equal(json_string_value(json_object_get(out, "ip")), cases[i].canon);
        assert_true(json_is_false(json_object_get(out, "reserved")));
        assert_string_equal(json_string_value(json_object_get(out, "country_code")), cases[i].cc);
        if (cases[i].country != NULL)
            assert_string_equal(json_string_value(json_object_get(out, "country")),
                                cases[i].country);
        assert_int_equal(json_integer_value(json_object_get(out, "asn")), cases[i].asn);
        if (cases[i].as_name != NULL)
            assert_string_equal(json_string_value(json_object_get(out, "as_name")),
                                cases[i].as_name);
        else
            assert_true(json_is_string(json_object_get(out, "as_name")));
        assert_true(json_is_string(json_object_get(out, "network")));
        assert_string_equal(json_string_value(json_object_get(out, "source")), "libloc");
        assert_null(json_object_get(out, "city")); /* no MaxMind database configured */
        json_decref(out);
    }
}

static void t_reserved_ranges(void **state)
{
    (void)state;
    const struct {
        const char *ip, *what;
    } cases[] = {
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"192.168.1.1", "private"},
        {"127.0.0.1", "loopback"},
        {"169.254.169.254", "link-local"},
        {"100.64.0.1", "carrier-grade"},
        {"0.0.0.0", "this network"},
        {"192.0.2.10", "documentation"},
        {"198.51.100.7", "documentation"},
        {"203.0.113.9", "documentation"},
        {"198.18.0.1", "benchmarking"},
        {"224.0.0.251", "multicast"},
        {"255.255.255.255", "broadcast"},
        {"::1", "loopback"},
        {"::", "unspecified"},
        {"fe80::1", "link-local"},
        {"fd00::1", "unique local"},
        {"ff02::1", "multicast"},
        {"2001:db8::1", "documentation"},
        {"::ffff:10.0.0.1", "private"},
        {"64:ff9b::808:808", "NAT64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char params[128];
        snprintf(params, sizeof params, "{\"ip\": \"%s\"}", cases[i].ip);
        struct outcome o = call_action("geo.lookup", params);
        assert_int_equal(o.st, RP_OK);
        if (!json_is_true(json_object_get(o.output, "reserved")))
            print_error("%s: not reserved\n", cases[i].ip);
        assert_true(json_is_true(json_object_get(o.output, "reserved")));
        const char *range = json_string_value(json_object_get(o.output, "range"));
        assert_non_null(range);
        if (strstr(range, cases[i].what) == NULL)
            print_error("%s: range %s, expected %s\n", cases[i].ip, range, cases[i].what);
        assert_non_null(strstr(range, cases[i].what));
        assert_null(json_object_get(o.output, "country_code"));
        json_decref(o.output);
    }
    /* neighbours of the ranges are public */
    const char *public_ips[] = {"172.32.0.1", "11.0.0.1", "100.128.0.1", "192.169.0.1",
                                "2001:db9::1"};
    for (size_t i = 0; i < sizeof public_ips / sizeof public_ips[0]; i++) {
        char params[128];
        snprintf(params, sizeof params, "{\"ip\": \"%s\"}", public_ips[i]);
        struct outcome o = call_action("geo.lookup", params);
        assert_int_equal(o.st, RP_OK);
        assert_true(json_is_false(json_object_get(o.output, "reserved")));
        json_decref(o.output);
    }
}

static void t_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {
        "{}",
        "{\"ip\": 8}",
        "{\"ip\": null}",
        "{\"ip\": \"\"}",
        "{\"ip\": \"8.8.8\"}",
        "{\"ip\": \"8.8.8.8.8\"}",
        "{\"ip\": \"256.1.1.1\"}",
        "{\"ip\": \"example.org\"}",
        "{\"ip\": \" 8.8.8.8\"}",
        "{\"ip\": \"8.8.8.8/24\"}",
        "{\"ip\": \"fe80::1%eth0\"}",
        "{\"ip\": \"1:2:3:4:5:6:7:8:9\"}",
        "{\"ip\": \"8.8.8.8\\u0000x\"}",
        "{\"ip\": \"1111111111111111111111111111111111111111111111111111111111111111111\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct outcome o = call_action("geo.lookup", bad[i]);
        if (o.st == RP_OK)
            print_error("%s: accepted\n", bad[i]);
        assert_int_equal(o.st, RP_E_INVALID);
        assert_null(o.output);
        assert_non_null(strstr(o.error, "geo.lookup"));
    }
}

static void t_bad_config(void **state)
{
    (void)state;
    const struct connector_type *t = connector_type_find("geoip");
    const struct {
        const char *conf, *want;
    } cases[] = {
        {"{\"type\": \"geoip\", \"dtabase\": \"/x\"}", "connectors.g1.dtabase: unknown key"},
        {"{\"type\": \"geoip\", \"database\": \"/nonexistent/location.db\"}",
         "connectors.g1.database: cannot open"},
        {"{\"type\": \"geoip\", \"database\": \"/etc/hostname\"}", "connectors.g1.database"},
        {"{\"type\": \"geoip\", \"database\": 3}", "connectors.g1.database: expected a file"},
        {"{\"type\": \"geoip\", \"maxmind\": \"/nonexistent/GeoLite2-City.mmdb\"}",
         "connectors.g1.maxmind"},
        {"{\"type\": \"geoip\", \"maxmind\": \"" LOCDB "\"}", "connectors.g1.maxmind"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *conf = json_loads(cases[i].conf, 0, NULL);
        void *inst = NULL;
        struct rp_error err = {{0}};
        assert_int_not_equal(t->create("g1", conf, NULL, &inst, &err), RP_OK);
        assert_null(inst);
        if (strstr(err.msg, cases[i].want) == NULL)
            print_error("%s: %s\n", cases[i].conf, err.msg);
        assert_non_null(strstr(err.msg, cases[i].want));
        json_decref(conf);
    }
    assert_null(action_find("g1.lookup")); /* nothing stayed registered */

    /* a second instance under a taken name */
    json_t *conf = json_pack("{s:s}", "type", "geoip");
    void *inst = NULL;
    struct rp_error err = {{0}};
    assert_int_equal(t->create("geo", conf, NULL, &inst, &err), RP_E_EXISTS);
    json_decref(conf);
    t->destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_known_addresses),
        cmocka_unit_test(t_reserved_ranges),
        cmocka_unit_test(t_bad_input),
        cmocka_unit_test(t_bad_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
