/*
 * test_alert.c: the normalized alert: accepted inputs and their normal form,
 * rejected inputs and the field path named, severity, times, observables and
 * fingerprints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model/alert.h"

#include <string.h>

#define NOW 1796032116123LL /* 2026-11-30T09:48:36.123Z */

static json_t *norm(const char *text, const struct config *cfg, struct rp_error *err, rp_status *st)
{
    json_error_t je;
    json_t *in = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (in == NULL)
        fail_msg("test input is not JSON: %s: %s", text, je.text);
    struct alert_opts o = {NOW, "test", cfg};
    json_t *out = NULL;
    *st = alert_normalize(in, &o, &out, err);
    json_decref(in);
    return out;
}

static json_t *ok(const char *text)
{
    struct rp_error err;
    rp_status st;
    json_t *a = norm(text, NULL, &err, &st);
    if (st != RP_OK)
        fail_msg("rejected %s: %s", text, err.msg);
    return a;
}

static const char *get(json_t *a, const char *p1, const char *p2)
{
    json_t *v = json_object_get(a, p1);
    if (p2)
        v = json_object_get(v, p2);
    return json_string_value(v);
}

static void t_minimal(void **state)
{
    (void)state;
    json_t *a = ok("{\"title\":\"Suspicious thing\"}");
    assert_true(ulid_valid(get(a, "id", NULL), 26));
    assert_string_equal(get(a, "kind", NULL), "other");
    assert_string_equal(get(a, "source", NULL), "test");
    assert_int_equal(alert_severity(a), ALERT_SEVERITY_DEFAULT);
    assert_string_equal(get(a, "severity_label", NULL), "medium");
    assert_string_equal(get(a, "event_time", NULL), "2026-11-30T09:48:36.123Z");
    assert_string_equal(get(a, "received_time", NULL), "2026-11-30T09:48:36.123Z");
    assert_int_equal(strlen(get(a, "fingerprint", NULL)), 64);
    assert_int_equal(json_array_size(json_object_get(a, "observables")), 0);
    json_decref(a);
    /* rule alone gives the title */
    a = ok("{\"rule\":\"R1\"}");
    assert_string_equal(get(a, "title", NULL), "R1");
    json_decref(a);
}

static void t_full(void **state)
{
    (void)state;
    json_t *a = ok("{\"kind\":\"endpoint\",\"source\":\"edr\",\"rule\":\"Mimikatz\","
                   "\"title\":\"Credential theft\",\"severity\":\"high\","
                   "\"event_time\":\"2026-11-30T08:00:00+01:00\","
                   "\"host\":{\"name\":\"WS-1.Corp.\",\"ip\":\"::ffff:10.0.0.5\"},"
                   "\"user\":{\"name\":\"alice\",\"email\":\"Alice@Corp.Example\"},"
                   "\"src\":{\"ip\":\"203.0.113.9\",\"port\":\"443\"},"
                   "\"file\":{\"name\":\"m.exe\",\"sha256\":"
                   "\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\"},"
                   "\"email\":{\"from\":\"Eve <eve@evil[.]example>\",\"urls\":[\"hxxp://evil[.]"
                   "example/x\"]},"
                   "\"observables\":[{\"type\":\"domain\",\"value\":\"C2.Example.NET\",\"role\":"
                   "\"main\"}],\"tags\":[\"t1\"],\"extra\":{\"vendor\":1},\"raw\":[1,2]}");
    assert_int_equal(alert_severity(a), 70);
    assert_string_equal(get(a, "severity_label", NULL), "high");
    assert_string_equal(get(a, "event_time", NULL), "2026-11-30T07:00:00.000Z");
    assert_string_equal(get(a, "host", "name"), "ws-1.corp");
    assert_string_equal(get(a, "host", "ip"), "10.0.0.5");
    assert_string_equal(get(a, "user", "email"), "alice@corp.example");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "src"), "port")), 443);
    assert_string_equal(get(a, "file", "sha256"),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    json_t *urls = json_object_get(json_object_get(a, "email"), "urls");
    assert_string_equal(json_string_value(json_array_get(urls, 0)), "http://evil.example/x");
    /* observables derived from fields, then explicit; canonical; deduplicated */
    json_t *obs = json_object_get(a, "observables");
    const char *want[][3] = {
        {"hostname", "ws-1.corp", "host"},
        {"ipv4", "10.0.0.5", "host"},
        {"user", "alice", "user"},
        {"email", "alice@corp.example", "user"},
        {"ipv4", "203.0.113.9", "src"},
        {"filename", "m.exe", "file"},
        {"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "file"},
        {"email", "eve@evil.example", "sender"},
        {"url", "http://evil.example/x", "link"},
        {"domain", "c2.example.net", "main"},
    };
    assert_int_equal(json_array_size(obs), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_t *o = json_array_get(obs, i);
        assert_string_equal(get(o, "type", NULL), want[i][0]);
        assert_string_equal(get(o, "value", NULL), want[i][1]);
        assert_string_equal(get(o, "role", NULL), want[i][2]);
    }
    assert_true(json_is_array(json_object_get(a, "raw")));
    json_decref(a);
}

static const struct {
    const char *in;
    const char *msg; /* substring of the error */
} REJECTS[] = {
    {"[1]", "must be a JSON object"},
    {"{}", "title: required"},
    {"{\"title\":\"x\",\"bogus\":1}", "bogus: unknown field"},
    {"{\"title\":\"x\",\"host\":{\"nmae\":\"a\"}}", "host.nmae: unknown field"},
    {"{\"title\":\"x\",\"severity\":\"abc\"}", "severity: must be an integer"},
    {"{\"title\":\"x\",\"severity\":101}", "severity: out of range"},
    {"{\"title\":\"x\",\"severity\":50.5}", "severity: must be a whole number"},
    {"{\"title\":\"x\",\"severity\":90,\"severity_label\":\"low\"}", "does not match"},
    {"{\"title\":\"x\",\"severity_label\":\"extreme\"}", "severity_label: must be one of"},
    {"{\"title\":\"x\",\"kind\":\"malware\"}", "kind: must be one of"},
    {"{\"title\":\"x\",\"host\":{\"ip\":\"not-an-ip\"}}", "host.ip: not an IP address"},
    {"{\"title\":\"x\",\"host\":\"ws1\"}", "host: must be an object"},
    {"{\"title\":\"x\",\"src\":{\"port\":70000}}", "src.port: out of range"},
    {"{\"title\":\"x\",\"file\":{\"md5\":\"xyz\"}}", "file.md5: a md5 is 32 hex"},
    {"{\"title\":7}", "title: must be a string"},
    {"{\"title\":\"a\\u0001b\"}", "title: control character"},
    {"{\"title\":\"x\",\"event_time\":\"yesterday\"}", "event_time: not an RFC 3339"},
    {"{\"title\":\"x\",\"event_time\":\"2099-01-01T00:00:00Z\"}", "future"},
    {"{\"title\":\"x\",\"event_time\":true}", "event_time: must be"},
    {"{\"title\":\"x\",\"id\":\"nope\"}", "id: must be a ULID"},
    {"{\"title\":\"x\",\"email\":{\"to\":\"a@b.c\"}}", "email.to: must be an array"},
    {"{\"title\":\"x\",\"email\":{\"urls\":[\"not a url\"]}}", "email.urls[0]"},
    {"{\"title\":\"x\",\"observables\":[{\"type\":\"ip\",\"value\":\"1.2.3.4\"}]}",
     "observables[0].type: unknown observable type"},
    {"{\"title\":\"x\",\"observables\":[{\"type\":\"md5\",\"value\":\"12\"}]}",
     "observables[0].value"},
    {"{\"title\":\"x\",\"observables\":[{\"type\":\"md5\",\"value\":\"12\",\"x\":1}]}",
     "observables[0].x: unknown field"},
    {"{\"title\":\"x\",\"fingerprint\":\"\"}", "fingerprint: must be 1-128"},
    {"{\"title\":\"x\",\"extra\":[1]}", "extra: must be an object"},
};

static void t_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(REJECTS) / sizeof(REJECTS[0]); i++) {
        struct rp_error err;
        rp_status st;
        json_t *a = norm(REJECTS[i].in, NULL, &err, &st);
        if (st != RP_E_INVALID)
            fail_msg("accepted %s", REJECTS[i].in);
        assert_null(a);
        if (strstr(err.msg, REJECTS[i].msg) == NULL)
            fail_msg("%s: error '%s' does not say '%s'", REJECTS[i].in, err.msg, REJECTS[i].msg);
    }
}

static void t_severity(void **state)
{
    (void)state;
    static const struct {
        int sev;
        const char *label;
    } S[] = {{0, "info"},    {19, "info"}, {20, "low"},  {39, "low"},      {40, "medium"},
             {59, "medium"}, {60, "high"}, {79, "high"}, {80, "critical"}, {100, "critical"}};
    for (size_t i = 0; i < sizeof(S) / sizeof(S[0]); i++)
        assert_string_equal(severity_label(S[i].sev), S[i].label);
    int v;
    assert_int_equal(severity_from_label("Critical", &v), RP_OK);
    assert_int_equal(v, 90);
    assert_int_equal(severity_from_label("severe", &v), RP_E_INVALID);
    json_t *a = ok("{\"title\":\"x\",\"severity_label\":\"low\"}");
    assert_int_equal(alert_severity(a), 30);
    json_decref(a);
    a = ok("{\"title\":\"x\",\"severity\":85,\"severity_label\":\"critical\"}");
    assert_int_equal(alert_severity(a), 85);
    json_decref(a);
}

static void t_epoch_time(void **state)
{
    (void)state;
    json_t *a = ok("{\"title\":\"x\",\"event_time\":1796032000}");
    assert_string_equal(get(a, "event_time", NULL), "2026-11-30T09:46:40.000Z");
    json_decref(a);
    a = ok("{\"title\":\"x\",\"event_time\":1796032000500}");
    assert_string_equal(get(a, "event_time", NULL), "2026-11-30T09:46:40.500Z");
    json_decref(a);
}

static void t_fingerprint(void **state)
{
    (void)state;
    /* same rule, host, user and main observable: same fingerprint, whatever else differs */
    json_t *a = ok("{\"rule\":\"R\",\"title\":\"one\",\"severity\":10,\"host\":{\"name\":\"H\"},"
                   "\"user\":{\"name\":\"u\"},\"src\":{\"ip\":\"192.0.2.1\"}}");
    json_t *b = ok("{\"rule\":\"R\",\"title\":\"two\",\"severity\":90,\"host\":{\"name\":\"h\"},"
                   "\"user\":{\"name\":\"u\"},\"src\":{\"ip\":\"192.0.2.1\",\"port\":1}}");
    json_t *c = ok("{\"rule\":\"R\",\"title\":\"one\",\"host\":{\"name\":\"H\"},"
                   "\"user\":{\"name\":\"u\"},\"src\":{\"ip\":\"192.0.2.2\"}}");
    json_t *d = ok("{\"rule\":\"R\",\"title\":\"one\",\"host\":{\"name\":\"H2\"},"
                   "\"user\":{\"name\":\"u\"},\"src\":{\"ip\":\"192.0.2.1\"}}");
    assert_string_equal(get(a, "fingerprint", NULL), get(b, "fingerprint", NULL));
    assert_string_not_equal(get(a, "fingerprint", NULL), get(c, "fingerprint", NULL));
    assert_string_not_equal(get(a, "fingerprint", NULL), get(d, "fingerprint", NULL));

    /* a per-source override: only the rule counts for source "edr" */
    struct config cfg;
    config_init(&cfg);
    struct rp_error err;
    const char *y = "sources:\n  test:\n    fingerprint: [rule]\n";
    assert_int_equal(config_load_buffer(&cfg, "t.yml", y, strlen(y), &err), RP_OK);
    rp_status st;
    json_t *e = norm("{\"rule\":\"R\",\"host\":{\"name\":\"H\"}}", &cfg, &err, &st);
    json_t *f = norm("{\"rule\":\"R\",\"host\":{\"name\":\"other\"}}", &cfg, &err, &st);
    assert_string_equal(get(e, "fingerprint", NULL), get(f, "fingerprint", NULL));
    /* a source-given fingerprint is kept */
    json_t *g = ok("{\"rule\":\"R\",\"fingerprint\":\"splunk:123\"}");
    assert_string_equal(get(g, "fingerprint", NULL), "splunk:123");
    assert_true(alert_field_known("host.name"));
    assert_true(alert_field_known("rule"));
    assert_false(alert_field_known("host"));
    assert_false(alert_field_known("host.nmae"));
    assert_false(alert_field_known("email.urls"));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
    json_decref(f);
    json_decref(g);
    config_fini(&cfg);
}

static void t_given_id(void **state)
{
    (void)state;
    json_t *a = ok("{\"title\":\"x\",\"id\":\"01arz3ndektsv4rrffq69g5fav\"}");
    assert_string_equal(get(a, "id", NULL), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_minimal),    cmocka_unit_test(t_full),
        cmocka_unit_test(t_rejects),    cmocka_unit_test(t_severity),
        cmocka_unit_test(t_epoch_time), cmocka_unit_test(t_fingerprint),
        cmocka_unit_test(t_given_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
