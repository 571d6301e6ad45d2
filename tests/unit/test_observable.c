/*
 * test_observable.c: canonical forms of every observable type, accepted and
 * rejected, and refanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model/observable.h"

#include <string.h>

static const struct {
    enum obs_type type;
    const char *in;
    const char *out; /* NULL: rejected */
    enum obs_type actual;
} CASES[] = {
    {OBS_IPV4, "192.0.2.1", "192.0.2.1", OBS_IPV4},
    {OBS_IPV4, " 192.0.2.1 ", "192.0.2.1", OBS_IPV4},
    {OBS_IPV4, "192.0.2[.]1", "192.0.2.1", OBS_IPV4},
    {OBS_IPV4, "::ffff:192.0.2.1", "192.0.2.1", OBS_IPV4},
    {OBS_IPV4, "2001:DB8:0:0::1", "2001:db8::1", OBS_IPV6},
    {OBS_IPV6, "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", OBS_IPV6},
    {OBS_IPV4, "256.1.1.1", NULL, OBS_IPV4},
    {OBS_IPV4, "1.2.3", NULL, OBS_IPV4},
    {OBS_IPV4, "example.com", NULL, OBS_IPV4},
    {OBS_DOMAIN, "Evil.EXAMPLE.com.", "evil.example.com", OBS_DOMAIN},
    {OBS_DOMAIN, "evil[.]example(.)com", "evil.example.com", OBS_DOMAIN},
    {OBS_DOMAIN, "evil[dot]example[dot]com", "evil.example.com", OBS_DOMAIN},
    {OBS_DOMAIN, "_dmarc.example.com", "_dmarc.example.com", OBS_DOMAIN},
    {OBS_DOMAIN, "localhost", NULL, OBS_DOMAIN},
    {OBS_DOMAIN, "1.2.3.4", NULL, OBS_DOMAIN},
    {OBS_DOMAIN, "-bad.example.com", NULL, OBS_DOMAIN},
    {OBS_DOMAIN, "bad..example.com", NULL, OBS_DOMAIN},
    {OBS_DOMAIN, "spa ce.example.com", NULL, OBS_DOMAIN},
    {OBS_DOMAIN, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", NULL,
     OBS_DOMAIN},
    {OBS_URL, "hxxps://Evil[.]Example.COM/Path?Q=1", "https://evil.example.com/Path?Q=1", OBS_URL},
    {OBS_URL, "HTTP://user@Host.Example:8080/x", "http://user@host.example:8080/x", OBS_URL},
    {OBS_URL, "http://[2001:DB8::1]:443/", "http://[2001:db8::1]:443/", OBS_URL},
    {OBS_URL, "evil.example.com/path", NULL, OBS_URL},
    {OBS_URL, "http:///nohost", NULL, OBS_URL},
    {OBS_URL, "http://host:port/", NULL, OBS_URL},
    {OBS_URL, "http://a b/", NULL, OBS_URL},
    {OBS_EMAIL, "Alice@Example.COM", "alice@example.com", OBS_EMAIL},
    {OBS_EMAIL, "bob[@]evil[.]example", "bob@evil.example", OBS_EMAIL},
    {OBS_EMAIL, "admin@corp", "admin@corp", OBS_EMAIL},
    {OBS_EMAIL, "no-at-sign.example.com", NULL, OBS_EMAIL},
    {OBS_EMAIL, "a@b@c.com", NULL, OBS_EMAIL},
    {OBS_EMAIL, "@example.com", NULL, OBS_EMAIL},
    {OBS_MD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e", OBS_MD5},
    {OBS_MD5, "d41d8cd98f00b204e9800998ecf8427", NULL, OBS_MD5},
    {OBS_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
     "da39a3ee5e6b4b0d3255bfef95601890afd80709", OBS_SHA1},
    {OBS_SHA1, "za39a3ee5e6b4b0d3255bfef95601890afd80709", NULL, OBS_SHA1},
    {OBS_SHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", OBS_SHA256},
    {OBS_SHA256, "e3b0c44298fc1c149afbf4c8996fb924", NULL, OBS_SHA256},
    {OBS_HOSTNAME, "WS-0042.Corp.Example.", "ws-0042.corp.example", OBS_HOSTNAME},
    {OBS_HOSTNAME, "bad/host", NULL, OBS_HOSTNAME},
    {OBS_HOSTNAME, "ws-01.corp..", "ws-01.corp", OBS_HOSTNAME},
    {OBS_URL, "http://evil[[.]]example/", "http://evil.example/", OBS_URL},
    {OBS_DOMAIN, "evil[[dot]]example[(.)]com", "evil.example.com", OBS_DOMAIN},
    {OBS_FILENAME, " invoice.pdf.exe ", "invoice.pdf.exe", OBS_FILENAME},
    {OBS_FILENAME, "bad\x01name", NULL, OBS_FILENAME},
    {OBS_USER, "CORP\\alice", "CORP\\alice", OBS_USER},
    {OBS_USER, "   ", NULL, OBS_USER},
};

static void t_canonical(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1 << 20);
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        struct rp_error err;
        enum obs_type actual;
        rp_status st = observable_canonical(CASES[i].type, CASES[i].in, strlen(CASES[i].in), &out,
                                            &actual, &err);
        if (CASES[i].out == NULL) {
            if (st != RP_E_INVALID)
                fail_msg("case %zu (%s) should be rejected, got '%s'", i, CASES[i].in, out.data);
            assert_true(strlen(err.msg) > 0);
        } else {
            if (st != RP_OK)
                fail_msg("case %zu (%s) rejected: %s", i, CASES[i].in, err.msg);
            assert_string_equal(out.data, CASES[i].out);
            assert_int_equal(actual, CASES[i].actual);
            /* canonical forms are fixed points */
            struct buf again;
            buf_init(&again, 1 << 20);
            assert_int_equal(observable_canonical(actual, out.data, out.len, &again, NULL, &err),
                             RP_OK);
            assert_string_equal(again.data, out.data);
            buf_fini(&again);
        }
    }
    buf_fini(&out);
}

static void t_types(void **state)
{
    (void)state;
    for (int t = 0; t < OBS_TYPE_COUNT; t++) {
        enum obs_type back;
        assert_int_equal(observable_type_parse(observable_type_name((enum obs_type)t), &back),
                         RP_OK);
        assert_int_equal(back, t);
    }
    enum obs_type x;
    assert_int_equal(observable_type_parse("ip", &x), RP_E_INVALID);
}

static void t_refang(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1024);
    assert_int_equal(observable_refang("hXXp://a[.]b(.)c[:]80[/]x", 25, &out), RP_OK);
    assert_string_equal(out.data, "http://a.b.c:80/x");
    assert_int_equal(observable_refang("x[at]y[dot]z", 12, &out), RP_OK);
    assert_string_equal(out.data, "x@y.z");
    assert_int_equal(observable_refang("", 0, &out), RP_OK);
    assert_string_equal(out.data, "");
    /* table: input, refanged; nested defangs resolve, lone brackets, single x
     * and the letters defangs end with pass through */
    static const char *const cases[][2] = {
        {"https://box.example/x?ax=1&s=p", "https://box.example/x?ax=1&s=p"},
        {"hxxps://a[[.]]b", "https://a.b"},
        {"hXxPs[://]evil{.}example[/]p", "https://evil.example/p"},
        {"a(dot)b(@)c(.)d", "a.b@c.d"},
        {"f(x) [note] {y} xs px", "f(x) [note] {y} xs px"},
        {"hxxhxxp://q", "hxxhttp://q"},
        {"user[@]mail[dot]example", "user@mail.example"},
        {"[", "["},
        {"hxx", "hxx"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(observable_refang(cases[i][0], strlen(cases[i][0]), &out), RP_OK);
        assert_string_equal(out.data, cases[i][1]);
        /* idempotent */
        struct buf again;
        buf_init(&again, 1024);
        assert_int_equal(observable_refang(out.data, out.len, &again), RP_OK);
        assert_string_equal(again.data, cases[i][1]);
        buf_fini(&again);
    }
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_canonical),
        cmocka_unit_test(t_types),
        cmocka_unit_test(t_refang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
