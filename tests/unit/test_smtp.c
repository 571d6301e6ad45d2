/*
 * test_smtp.c: the message builder of the smtp connector (connect/smtp.h):
 * headers (Date, Message-ID, RFC 2047 encoded words for UTF-8, quoted display
 * names, folded address lists), bodies (quoted-printable with soft breaks,
 * encoded trailing blanks and line-start dots, base64 for non-Latin text,
 * multipart/alternative with both), and the refusals: header injection
 * through CR or LF in any header value, bad addresses, unknown parameters,
 * too many recipients.
 */
#include "connect/smtp.h"
#include "core/limits.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* 2026-01-02T03:04:05Z, a Friday */
#define NOW_MS 1767323045000LL

static json_t *params(const char *json)
{
    json_error_t je;
    json_t *p = json_loads(json, JSON_ALLOW_NUL, &je);
    if (p == NULL)
        fail_msg("bad test JSON: %s: %s", json, je.text);
    return p;
}

/* Appends s to the NUL-terminated text in out (cap bytes); fails the test
 * when it does not fit. */
static void append(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    if (snprintf(out + n, cap - n, "%s", s) >= (int)(cap - n))
        fail_msg("test buffer too small");
}

/* Builds from JSON params; asserts success; the caller finis. */
static void build_ok(const char *json, struct smtp_message *m)
{
    json_t *p = params(json);
    struct rp_error err = {{0}};
    rp_status st = smtp_message_build("SOC <soc@example.org>", p, NOW_MS, m, &err);
    if (st != RP_OK)
        fail_msg("%s: %s", json, err.msg);
    json_decref(p);
    assert_non_null(m->data);
    assert_int_equal(strlen(m->data), m->len);
}

static void assert_has(const struct smtp_message *m, const char *needle)
{
    if (strstr(m->data, needle) == NULL)
        fail_msg("expected %s in:\n%s", needle, m->data);
}

static void assert_lacks(const struct smtp_message *m, const char *needle)
{
    if (strstr(m->data, needle) != NULL)
        fail_msg("did not expect %s in:\n%s", needle, m->data);
}

static void t_plain_text(void **state)
{
    (void)state;
    struct smtp_message m;
    build_ok("{\"to\":\"alice@example.org\",\"subject\":\"Hello\",\"text\":\"Hi\\nthere\"}", &m);
    assert_has(&m, "Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n");
    assert_has(&m, "From: \"SOC\" <soc@example.org>\r\n");
    assert_has(&m, "To: <alice@example.org>\r\n");
    assert_has(&m, "Subject: Hello\r\n");
    assert_has(&m, "MIME-Version: 1.0\r\n");
    assert_has(&m, "Content-Type: text/plain; charset=utf-8\r\n");
    assert_has(&m, "Content-Transfer-Encoding: quoted-printable\r\n\r\nHi\r\nthere\r\n");
    assert_lacks(&m, "multipart");
    assert_lacks(&m, "Cc:");
    /* Message-ID: <ULID.riposte@domain of From> */
    assert_non_null(m.message_id);
    assert_int_equal(strlen(m.message_id), 1 + 26 + strlen(".riposte@example.org") + 1);
    assert_true(strstr(m.message_id, ".riposte@example.org>") != NULL);
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Message-ID: %s\r\n", m.message_id);
    assert_has(&m, hdr);
    assert_string_equal(m.from_addr, "soc@example.org");
    assert_int_equal(m.nrcpts, 1);
    assert_string_equal(m.rcpts[0], "alice@example.org");
    /* no bare LF anywhere */
    for (size_t i = 0; i < m.len; i++)
        if (m.data[i] == '\n')
            assert_true(i > 0 && m.data[i - 1] == '\r');
    smtp_message_fini(&m);
}

static void t_multipart(void **state)
{
    (void)state;
    struct smtp_message m;
    build_ok("{\"to\":[\"a@x.org\",\"B <b@x.org>\"],\"cc\":[\"c@x.org\"],\"subject\":\"s\","
             "\"text\":\"plain\",\"html\":\"<p>rich</p>\",\"reply_to\":\"r@x.org\"}",
             &m);
    assert_has(&m, "To: <a@x.org>,\r\n \"B\" <b@x.org>\r\n");
    assert_has(&m, "Cc: <c@x.org>\r\n");
    assert_has(&m, "Reply-To: <r@x.org>\r\n");
    const char *ct = strstr(m.data, "Content-Type: multipart/alternative; boundary=\"");
    assert_non_null(ct);
    char boundary[80];
    const char *b = ct + strlen("Content-Type: multipart/alternative; boundary=\"");
    size_t nb = strcspn(b, "\"");
    assert_true(nb > 10 && nb < sizeof boundary);
    memcpy(boundary, b, nb);
    boundary[nb] = '\0';
    char open[160], close[160];
    snprintf(open, sizeof open, "\r\n--%s\r\nContent-Type: text/plain", boundary);
    assert_has(&m, open);
    snprintf(open, sizeof open, "\r\n--%s\r\nContent-Type: text/html", boundary);
    assert_has(&m, open);
    snprintf(close, sizeof close, "\r\n--%s--\r\n", boundary);
    assert_has(&m, close);
    /* the text part comes first (clients show the last one they can) */
    assert_true(strstr(m.data, "text/plain") < strstr(m.data, "text/html"));
    assert_int_equal(m.nrcpts, 3);
    assert_string_equal(m.rcpts[1], "b@x.org");
    assert_string_equal(m.rcpts[2], "c@x.org");
    smtp_message_fini(&m);

    build_ok("{\"to\":\"a@x.org\",\"subject\":\"s\",\"html\":\"<b>only</b>\"}", &m);
    assert_has(&m, "Content-Type: text/html; charset=utf-8\r\n");
    assert_lacks(&m, "text/plain");
    smtp_message_fini(&m);
}

static void t_utf8_headers(void **state)
{
    (void)state;
    struct smtp_message m;
    /* "Ärger é" */
    build_ok("{\"to\":\"J\\u00fcrgen M\\u00fcller <j@x.org>\",\"subject\":\"\\u00c4rger "
             "\\u00e9\",\"text\":\"x\"}",
             &m);
    assert_has(&m, "Subject: =?UTF-8?B?w4RyZ2VyIMOp?=\r\n");
    assert_has(&m, "To: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <j@x.org>\r\n");
    smtp_message_fini(&m);

    /* a long UTF-8 subject: several words of at most 75 characters, folded,
     * never cutting a two-byte character */
    char json[2048] = "{\"to\":\"a@x.org\",\"text\":\"x\",\"subject\":\"";
    for (int i = 0; i < 100; i++)
        append(json, sizeof json, "\\u00e9");
    append(json, sizeof json, "\"}");
    build_ok(json, &m);
    const char *s = strstr(m.data, "Subject: ");
    assert_non_null(s);
    size_t words = 0;
    for (const char *w = s;
         (w = strstr(w, "=?UTF-8?B?")) != NULL && w < strstr(s, "\r\nMessage-ID"); w++) {
        const char *end = strstr(w, "?=");
        assert_true(end - w + 2 <= 75);
        /* 44 bytes of é's per word: an even count, whole characters */
        words++;
    }
    assert_true(words >= 5);
    assert_has(&m, "?=\r\n =?UTF-8?B?");
    smtp_message_fini(&m);

    /* quotes and backslashes in an ASCII display name are escaped */
    build_ok("{\"to\":\"\\\"A \\\\\\\"q\\\" <a@x.org>\",\"subject\":\"s\",\"text\":\"x\"}", &m);
    assert_has(&m, "To: \"A \\\\\\\"q\" <a@x.org>\r\n");
    smtp_message_fini(&m);
}

static void t_quoted_printable(void **state)
{
    (void)state;
    struct smtp_message m;
    /* a=b, é, trailing blank, a line-start dot and "From ", a long line */
    char json[1024] = "{\"to\":\"a@x.org\",\"subject\":\"s\",\"text\":\"a=b \\u00e9 \\n.dot\\nFrom "
                      "me\\n";
    for (int i = 0; i < 100; i++)
        append(json, sizeof json, "x");
    append(json, sizeof json, "\"}");
    build_ok(json, &m);
    assert_has(&m, "a=3Db =C3=A9=20\r\n=2Edot\r\n=46rom me\r\n");
    /* every encoded line stays within 76 characters */
    const char *body = strstr(m.data, "\r\n\r\n") + 4;
    for (const char *l = body; *l != '\0';) {
        size_t n = strcspn(l, "\r");
        assert_true(n <= 76);
        l += n;
        if (*l == '\r')
            l += 2;
    }
    assert_has(&m, "=\r\nxxxx");
    smtp_message_fini(&m);

    /* mostly non-Latin text goes as base64 */
    build_ok("{\"to\":\"a@x.org\",\"subject\":\"s\",\"text\":\"\\u041f\\u0440\\u0438\\u0432\\u0435"
             "\\u0442\"}",
             &m);
    assert_has(&m, "Content-Transfer-Encoding: base64\r\n\r\n0J/RgNC40LLQtdGC\r\n");
    smtp_message_fini(&m);
}

static const struct {
    const char *json;
    const char *error;
} REFUSED[] = {
    /* header injection in every header value */
    {"{\"to\":\"a@x.org\",\"subject\":\"hi\\r\\nBcc: e@evil.org\",\"text\":\"x\"}",
     "subject: a line break in a header value (header injection refused)"},
    {"{\"to\":\"a@x.org\",\"subject\":\"hi\\nBcc: e@evil.org\",\"text\":\"x\"}",
     "header injection refused"},
    {"{\"to\":\"a@x.org\\r\\nBcc: e@evil.org\",\"subject\":\"s\",\"text\":\"x\"}",
     "to[0]: a line break in an address (header injection refused)"},
    {"{\"to\":[\"a@x.org\",\"Eve\\n <e@evil.org>\"],\"subject\":\"s\",\"text\":\"x\"}",
     "to[1]: a line break"},
    {"{\"to\":\"a@x.org\",\"cc\":\"c@x.org\\rX: y\",\"subject\":\"s\",\"text\":\"x\"}",
     "cc[0]: a line break"},
    {"{\"to\":\"a@x.org\",\"reply_to\":\"r@x.org\\nX: y\",\"subject\":\"s\",\"text\":\"x\"}",
     "reply_to: a line break"},
    {"{\"to\":\"a@x.org\",\"subject\":\"a\\u0000b\",\"text\":\"x\"}", "header injection refused"},
    /* addresses */
    {"{\"to\":\"not an address\",\"subject\":\"s\",\"text\":\"x\"}", "to[0]: not a mail address"},
    {"{\"to\":\"a@\",\"subject\":\"s\",\"text\":\"x\"}", "not a mail address"},
    {"{\"to\":\"a..b@x.org\",\"subject\":\"s\",\"text\":\"x\"}", "not a mail address"},
    {"{\"to\":\"a@x.org>\",\"subject\":\"s\",\"text\":\"x\"}", "not a mail address"},
    {"{\"to\":\"A <a@x.org\",\"subject\":\"s\",\"text\":\"x\"}", "expected \"Name <user@domain>\""},
    {"{\"to\":\"<a b@x.org>\",\"subject\":\"s\",\"text\":\"x\"}", "not a mail address"},
    {"{\"to\":[],\"subject\":\"s\",\"text\":\"x\"}", "to: an address or a non-empty list"},
    {"{\"to\":[1],\"subject\":\"s\",\"text\":\"x\"}", "to[0]: expected a string"},
    /* parameters */
    {"{\"subject\":\"s\",\"text\":\"x\"}", "to: required"},
    {"{\"to\":\"a@x.org\",\"text\":\"x\"}", "subject: required"},
    {"{\"to\":\"a@x.org\",\"subject\":\"s\"}", "text, html: give one or both"},
    {"{\"to\":\"a@x.org\",\"subject\":\"s\",\"text\":1}", "text, html"},
    {"{\"to\":\"a@x.org\",\"subject\":\"s\",\"body\":\"x\"}", "body: unknown parameter"},
    {"{\"to\":\"a@x.org\",\"subject\":\"s\",\"text\":\"x\",\"bcc\":\"e@evil.org\"}",
     "bcc: unknown parameter"},
    {"[]", "parameters: expected a mapping"},
};

static void t_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) {
        json_t *p = params(REFUSED[i].json);
        struct smtp_message m;
        struct rp_error err = {{0}};
        rp_status st = smtp_message_build("soc@example.org", p, NOW_MS, &m, &err);
        if (st == RP_OK)
            fail_msg("accepted: %s", REFUSED[i].json);
        if (strstr(err.msg, REFUSED[i].error) == NULL)
            fail_msg("%s: expected \"%s\", got \"%s\"", REFUSED[i].json, REFUSED[i].error, err.msg);
        assert_null(m.data);
        assert_null(m.rcpts);
        json_decref(p);
    }
}

static void t_limits(void **state)
{
    (void)state;
    /* too many recipients */
    json_t *p = json_pack("{s:s,s:s}", "subject", "s", "text", "x");
    json_t *to = json_array();
    for (int i = 0; i <= RP_SMTP_RCPTS_MAX; i++) {
        char a[32];
        snprintf(a, sizeof a, "u%d@x.org", i);
        json_array_append_new(to, json_string(a));
    }
    json_object_set_new(p, "to", to);
    struct smtp_message m;
    struct rp_error err = {{0}};
    assert_int_equal(smtp_message_build("soc@example.org", p, NOW_MS, &m, &err), RP_E_LIMIT);
    assert_non_null(strstr(err.msg, "recipients"));
    /* exactly the limit is fine */
    json_array_remove(to, 0);
    assert_int_equal(smtp_message_build("soc@example.org", p, NOW_MS, &m, &err), RP_OK);
    assert_int_equal(m.nrcpts, RP_SMTP_RCPTS_MAX);
    smtp_message_fini(&m);
    /* a subject above the header limit */
    char *long_subject = malloc(RP_SMTP_HEADER_MAX + 2);
    memset(long_subject, 'x', RP_SMTP_HEADER_MAX + 1);
    long_subject[RP_SMTP_HEADER_MAX + 1] = '\0';
    json_object_set_new(p, "subject", json_string(long_subject));
    assert_int_equal(smtp_message_build("soc@example.org", p, NOW_MS, &m, &err), RP_E_LIMIT);
    free(long_subject);
    /* a body above the message limit */
    char *big = malloc(RP_SMTP_MESSAGE_MAX + 1);
    memset(big, 'y', RP_SMTP_MESSAGE_MAX);
    big[RP_SMTP_MESSAGE_MAX] = '\0';
    json_object_set_new(p, "subject", json_string("s"));
    json_object_set_new(p, "text", json_string(big));
    assert_int_equal(smtp_message_build("soc@example.org", p, NOW_MS, &m, &err), RP_E_LIMIT);
    assert_non_null(strstr(err.msg, "larger than"));
    free(big);
    json_decref(p);
    smtp_message_fini(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_plain_text),   cmocka_unit_test(t_multipart),
        cmocka_unit_test(t_utf8_headers), cmocka_unit_test(t_quoted_printable),
        cmocka_unit_test(t_refused),      cmocka_unit_test(t_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
