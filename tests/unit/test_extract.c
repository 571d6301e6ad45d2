/*
 * test_extract.c: IOC extraction (intel/extract.h), table-driven: for each
 * text, the exact indicators expected in order (type:value, one per entry), so
 * that every must-find sits beside the must-not-finds of the same text; then
 * the defangs, the boundaries, every type, offsets, the callback's stop, the
 * limit and empty input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "intel/extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one extraction reported: "type:value" lines, and the offsets. */
struct got {
    char text[8192];
    size_t len;
    size_t offsets[64];
    size_t count;
    size_t stop_after; /* 0: never stop */
};

static int collect(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    struct got *g = arg;
    int w = snprintf(g->text + g->len, sizeof(g->text) - g->len, "%s%s:%.*s", g->count ? "|" : "",
                     ioc_type_name(type), (int)len, value);
    assert_true(w > 0 && (size_t)w < sizeof(g->text) - g->len);
    g->len += (size_t)w;
    if (g->count < sizeof(g->offsets) / sizeof(g->offsets[0]))
        g->offsets[g->count] = offset;
    g->count++;
    assert_int_equal(strlen(value), len); /* a C string too */
    return g->stop_after != 0 && g->count >= g->stop_after;
}

static void run(const char *text, struct got *g)
{
    memset(g, 0, sizeof(*g));
    assert_int_equal(extract_iocs(text, strlen(text), collect, g), RP_OK);
}

static const struct {
    const char *text;
    const char *want; /* "type:value|type:value...", "" for nothing */
} CASES[] = {
    /* every type, plain */
    {"C2 at 198.51.100.23", "ipv4:198.51.100.23"},
    {"fe80::1ff:fe23:4567:890a", "ipv6:fe80::1ff:fe23:4567:890a"},
    {"2001:0DB8:0000:0000:0000:0000:0000:0001", "ipv6:2001:db8::1"},
    {"resolves evil.example.com.", "domain:evil.example.com"},
    {"https://Evil.Example.COM/Path?Q=1#f",
     "url:https://evil.example.com/Path?Q=1#f|domain:evil.example.com"},
    {"From: Alice.Smith+tag@Example.org", "email:alice.smith+tag@example.org|domain:example.org"},
    {"d41d8cd98f00b204e9800998ecf8427e", "md5:d41d8cd98f00b204e9800998ecf8427e"},
    {"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d28"
     "77eec2f63b931bd47417a81a538327af927da3e",
     "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8"
     "318d2877eec2f63b931bd47417a81a538327af927da3e"},
    {"patched cve-2021-44228 and CVE-2014-0160.", "cve:CVE-2021-44228|cve:CVE-2014-0160"},
    {"CVE\xe2\x80\x91"
     "2023\xe2\x80\x91"
     "1234567",
     "cve:CVE-2023-1234567"},

    /* defangs */
    {"hxxp://evil[.]example[.]com/a", "url:http://evil.example.com/a|domain:evil.example.com"},
    {"hXXps[:]//evil(.)example.com", "url:https://evil.example.com|domain:evil.example.com"},
    {"http[://]evil.example.com/x[.]php",
     "url:http://evil.example.com/x.php|domain:evil.example.com"},
    {"http://evil.example.com[/]x", "url:http://evil.example.com/x|domain:evil.example.com"},
    {"hxxps:// 192.0.2[.]10/api", "url:https://192.0.2.10/api|ipv4:192.0.2.10"},
    {"evil[dot]example{.}com", "domain:evil.example.com"},
    {"evil [.] example [ . ] com", "domain:evil.example.com"},
    {"192[.]0[.]2[.]1 192(.)0(.)2(.)2 192.0.2\\.3 192[[.]]0[[.]]2[[.]]4",
     "ipv4:192.0.2.1|ipv4:192.0.2.2|ipv4:192.0.2.3|ipv4:192.0.2.4"},
    {"10[.10.]10[.10 10(((.]]]]10([[.)10.)11", "ipv4:10.10.10.10|ipv4:10.10.10.11"},
    {"bob[@]example[.]org", "email:bob@example.org|domain:example.org"},
    {"bob [at] example [dot] org", "email:bob@example.org|domain:example.org"},
    {"bob (at) example (.) org", "email:bob@example.org|domain:example.org"},
    {"bob @ example.org", "email:bob@example.org|domain:example.org"},
    {"bob at example dot org", "email:bob@example.org"},
    {"bob/AT/example/DOT/org", "email:bob@example.org"},
    {"http://[2001:db8::1]:8080/x", "url:http://[2001:db8::1]:8080/x|ipv6:2001:db8::1"},
    {"tcp://[2001:db8::2]:443", "url:tcp://[2001:db8::2]:443|ipv6:2001:db8::2"},

    /* boundaries */
    {"words127.0.0.1words", "ipv4:127.0.0.1"},
    {"..192.0.2.9!!", "ipv4:192.0.2.9"},
    {"zz68b329da9893e34099c7d8ad5cb9c940zz", "md5:68b329da9893e34099c7d8ad5cb9c940"},
    {"See https://example.com/wiki/A_(b).",
     "url:https://example.com/wiki/A_(b)|domain:example.com"},
    {"(https://example.com/x), 'https://example.org/y'!",
     "url:https://example.com/x|domain:example.com|url:https://example.org/y|domain:example.org"},
    {"<a href=\"http://example.com/p?q=1\">x</a>",
     "url:http://example.com/p?q=1|domain:example.com"},
    {"https://example.com/a\xe2\x80\x9d", "url:https://example.com/a|domain:example.com"},
    {"https://example.com/caf\xc3\xa9 ok",
     "url:https://example.com/caf\xc3\xa9|domain:example.com"},
    {"https://example.com/a\xc2\xa0next", "url:https://example.com/a|domain:example.com"},
    {"https://example.com/a\xff", "url:https://example.com/a|domain:example.com"},
    {"https://example.com:", "url:https://example.com|domain:example.com"},
    {"ftp://user:pw@files.example.net:2121/x",
     "url:ftp://user:pw@files.example.net:2121/x|domain:files.example.net"},
    {"http://a.example.com/?u=http://b.example.org/",
     "url:http://a.example.com/?u=http://b.example.org/|domain:a.example.com|domain:b.example.org"},
    {"[2001:db8::5]:53", "ipv6:2001:db8::5"},
    {"::ffff:192.0.2.44", "ipv4:192.0.2.44"},
    {"www.example.co.uk and user.github.io", "domain:www.example.co.uk|domain:user.github.io"},
    {"xn--80ak6aa92e.com", "domain:xn--80ak6aa92e.com"},
    {"_dmarc.example.com", "domain:_dmarc.example.com"},
    {"see example.com- and", "domain:example.com"},
    {"mail to a@b.co, please", "email:a@b.co|domain:b.co"},
    /* addresses outside the public suffix list are still addresses (their
     * domains are not reported as domains); file names shaped like them are not */
    {"ask admin@corp.local or user[@]example[.]com[.]tld",
     "email:admin@corp.local|email:user@example.com.tld"},
    {"icon@2x.png logo@home.svg report@q3.pdf", ""},
    {"VB.NET? ASP.NET!", "domain:vb.net|domain:asp.net"}, /* real names, known noise */

    /* must not find */
    {"version 1.2.3.4.5, v2.10.1, OID 1.3.6.1.4.1.311, 10.0.19041.1", ""},
    {"192.168.1 192.168.a.1 256.1.1.1 11111.1111.1111.1111 010.1.1.1", ""},
    {"invoice.pdf setup.exe document.docx report.xlsx photo.jpeg", ""},
    {"archive.zip clip.mov notes.one id_rsa.pub README.md run.sh main.py update.cab", ""},
    {"/tmp/evil.com C:\\Users\\x\\evil.com", ""},
    {"co.uk com example.nope localhost test.invalid example.tld", ""},
    {"\"user.name\": \"bob\", host.id=3, os.system(cmd)", ""},
    {"Thanks.Best regards", ""},
    {"adc83b191b1c6ea0fd8b46cd9f32e592fc", ""},
    {"d41d8cd98f00b204e9800998ecf8427e0", ""},
    {"0x32Be343B94f860124dC4fEe278FDCBD38C102D88", ""},
    {"0xd41d8cd98f00b204e9800998ecf8427e", ""},
    {"12345678901234567890123456789012 abcdefabcdefabcdefabcdefabcdefab", ""},
    {"D41d8cd98f00b204e9800998ecf8427e", ""},
    {"::1 :: ::ffff 2001:: std::vector Foo::Bar 12:30:45 00:1a:2b:3c:4d:5e", ""},
    {"20:00:00:25:b5:00:00:0a", ""},
    {"@a.co myuser@ @ a@a myuser @ word more words", "domain:a.co"},
    {"myuser @ words. Sentence", ""},
    {"myuser@example . com myuser@example .]com", ""},
    {"CVE-21-1234 CVE-2021-123 CVE-2021-12345678 XCVE-2021-1234 CVE-2021-1234a", ""},
    {"http://localhost/ http://intranet:8080/x file:///etc/passwd javascript:alert(1)", ""},
    {"mailto://a https:// nothing", ""},
    /* inside a run of label bytes whose word goes on into nothing (the scan
     * skips such a run): a CVE after a hyphen, an address at its end, a
     * hash glued to a letter, an IPv6 address after a hyphen */
    {"font-x-cve-2023-12345 id=ab-10.1.2.3 x_9.8.7.6 zz-fe80::1",
     "cve:CVE-2023-12345|ipv4:10.1.2.3|ipv4:9.8.7.6|ipv6:fe80::1"},
    {"gd41d8cd98f00b204e9800998ecf8427e my-word-cvE-2021-44228.",
     "md5:d41d8cd98f00b204e9800998ecf8427e|cve:CVE-2021-44228"},
    {"", ""},
};

static void t_cases(void **state)
{
    (void)state;
    struct got g;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        run(CASES[i].text, &g);
        if (strcmp(g.text, CASES[i].want) != 0)
            fail_msg("case %zu: %s\n  want %s\n  got  %s", i, CASES[i].text, CASES[i].want, g.text);
    }
}

/* Words around an address: a bare "at" makes an address only when the domain
 * spells "dot" too; otherwise it is a sentence. */
static void t_at_in_sentences(void **state)
{
    (void)state;
    struct got g;
    run("hosted at example.com", &g);
    assert_string_equal(g.text, "domain:example.com");
    run("meet at noon", &g);
    assert_string_equal(g.text, "");
    run("user at example[dot]com", &g);
    assert_string_equal(g.text, "email:user@example.com|domain:example.com");
}

/* Offsets point at the first byte of each indicator as written, in order. */
static void t_offsets(void **state)
{
    (void)state;
    const char *text = "x 1[.]2[.]3[.]4 hxxp://a.example.com/ y";
    struct got g;
    run(text, &g);
    assert_string_equal(g.text, "ipv4:1.2.3.4|url:http://a.example.com/|domain:a.example.com");
    assert_int_equal(g.count, 3);
    assert_int_equal(g.offsets[0], 2);
    assert_int_equal(g.offsets[1], 16);
    assert_int_equal(g.offsets[2], 23);
    for (size_t k = 1; k < g.count; k++)
        assert_true(g.offsets[k] >= g.offsets[k - 1]);
}

/* Repeats are reported once, at the first place. */
static void t_dedupe(void **state)
{
    (void)state;
    struct got g;
    run("1.2.3.4 EXAMPLE.com 1[.]2[.]3[.]4 example[.]com example.com", &g);
    assert_string_equal(g.text, "ipv4:1.2.3.4|domain:example.com");
    assert_int_equal(g.offsets[1], 8);
}

/* A non-zero return from the callback stops the scan; that is not an error. */
static void t_stop(void **state)
{
    (void)state;
    struct got g;
    memset(&g, 0, sizeof(g));
    g.stop_after = 2;
    const char *text = "1.1.1.1 2.2.2.2 3.3.3.3";
    assert_int_equal(extract_iocs(text, strlen(text), collect, &g), RP_OK);
    assert_int_equal(g.count, 2);
}

/* Lengths are honoured: nothing past len is read or reported. */
static void t_length(void **state)
{
    (void)state;
    struct got g;
    memset(&g, 0, sizeof(g));
    const char *text = "1.2.3.45 example.com";
    assert_int_equal(extract_iocs(text, 7, collect, &g), RP_OK);
    assert_string_equal(g.text, "ipv4:1.2.3.4");
    memset(&g, 0, sizeof(g));
    assert_int_equal(extract_iocs(NULL, 0, collect, &g), RP_OK);
    assert_int_equal(g.count, 0);
    char *exact = malloc(11); /* no NUL after it: ASan sees any read past */
    memcpy(exact, "example.co", 10);
    memset(&g, 0, sizeof(g));
    assert_int_equal(extract_iocs(exact, 10, collect, &g), RP_OK);
    assert_string_equal(g.text, "domain:example.co");
    free(exact);
}

static int count_only(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    (void)type;
    (void)value;
    (void)len;
    (void)offset;
    (*(size_t *)arg)++;
    return 0;
}

/* More than RP_IOC_MAX distinct indicators: the first RP_IOC_MAX, then
 * RP_E_LIMIT. */
static void t_limit(void **state)
{
    (void)state;
    size_t n = RP_IOC_MAX + 10, cap = n * 16;
    char *text = malloc(cap);
    size_t len = 0;
    for (size_t k = 0; k < n; k++)
        len += (size_t)snprintf(text + len, cap - len, "10.%zu.%zu.%zu\n", k / 65536,
                                (k / 256) % 256, k % 256);
    size_t count = 0;
    assert_int_equal(extract_iocs(text, len, count_only, &count), RP_E_LIMIT);
    assert_int_equal(count, RP_IOC_MAX);
    /* repeats do not count towards the limit */
    len = 0;
    for (size_t k = 0; k < n; k++)
        len += (size_t)snprintf(text + len, cap - len, "10.0.0.%zu\n", k % 100);
    count = 0;
    assert_int_equal(extract_iocs(text, len, count_only, &count), RP_OK);
    assert_int_equal(count, 100);
    free(text);
}

/* A URL longer than RP_IOC_URL_MAX is not reported; its host still is. */
static void t_long_url(void **state)
{
    (void)state;
    size_t cap = RP_IOC_URL_MAX + 64;
    char *text = malloc(cap + 1);
    int w = snprintf(text, cap, "http://example.com/");
    memset(text + w, 'a', cap - (size_t)w);
    text[cap] = '\0';
    struct got g;
    run(text, &g);
    assert_string_equal(g.text, "domain:example.com");
    free(text);
}

static void t_type_names(void **state)
{
    (void)state;
    static const char *const want[IOC_TYPE_COUNT] = {
        "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "sha512", "cve",
    };
    for (int t = 0; t < IOC_TYPE_COUNT; t++)
        assert_string_equal(ioc_type_name((enum ioc_type)t), want[t]);
    assert_string_equal(ioc_type_name(IOC_TYPE_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_cases),      cmocka_unit_test(t_at_in_sentences),
        cmocka_unit_test(t_offsets),    cmocka_unit_test(t_dedupe),
        cmocka_unit_test(t_stop),       cmocka_unit_test(t_length),
        cmocka_unit_test(t_limit),      cmocka_unit_test(t_long_url),
        cmocka_unit_test(t_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
