/*
 * test_mail.c: raw mail to phishing alert (ingest/mail.c). The fixtures are
 * small mails written here: bodies in every transfer encoding and several
 * charsets, RFC 2047 subjects, attachments with known hashes, links in HTML,
 * an attached message, forwarded reports, broken MIME, and inputs that break a
 * limit. Every alert the parser returns must pass alert_normalize() too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/limits.h"
#include "ingest/mail.h"
#include "model/alert.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers --------------------------------------------------------------------- */

/* The value at a dotted path ("email.auth.spf", "email.urls.0"); NULL if absent. */
static json_t *at(json_t *v, const char *path)
{
    char part[64];
    while (v != NULL && *path) {
        size_t l = strcspn(path, ".");
        assert_true(l < sizeof(part));
        memcpy(part, path, l);
        part[l] = '\0';
        if (json_is_array(v))
            v = json_array_get(v, (size_t)strtoul(part, NULL, 10));
        else
            v = json_object_get(v, part);
        path += l + (path[l] == '.');
    }
    return v;
}

static const char *str(json_t *a, const char *path)
{
    return json_string_value(at(a, path));
}

/* Parses a mail that must be accepted, and checks that its alert normalizes. */
static json_t *parse_n(const char *mail, size_t n)
{
    json_t *a = NULL;
    struct rp_error err = {{0}};
    rp_status st = mail_parse_alert(mail, n, &a, &err);
    if (st != RP_OK)
        fail_msg("mail rejected: %s", err.msg);
    assert_non_null(a);
    assert_string_equal(str(a, "kind"), "phishing");
    assert_string_equal(str(a, "source"), "mail");
    struct alert_opts o = {1700000000000LL, "test", NULL};
    json_t *norm = NULL;
    st = alert_normalize(a, &o, &norm, &err);
    if (st != RP_OK) {
        char *dump = json_dumps(a, JSON_COMPACT);
        fail_msg("alert does not normalize: %s\n%s", err.msg, dump);
    }
    json_decref(norm);
    return a;
}

static json_t *parse(const char *mail)
{
    return parse_n(mail, strlen(mail));
}

/* Parses a mail that must be rejected; the message must contain want. */
static void rejected_n(const char *mail, size_t n, const char *want)
{
    json_t *a = NULL;
    struct rp_error err = {{0}};
    rp_status st = mail_parse_alert(mail, n, &a, &err);
    if (st != RP_E_INVALID)
        fail_msg("expected a rejection (%s), got status %d", want, st);
    assert_null(a);
    if (strstr(err.msg, want) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, want);
}

static bool array_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return true;
    }
    return false;
}

/* The attachment named name, or NULL. */
static json_t *attachment(json_t *a, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(at(a, "email.attachments"), i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

/* The link to url, or NULL. */
static json_t *link_to(json_t *a, const char *url)
{
    size_t i;
    json_t *e;
    json_array_foreach(at(a, "email.links"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "url")), url) == 0)
            return e;
    }
    return NULL;
}

static bool has_reason(json_t *a, const char *prefix)
{
    size_t i;
    json_t *e;
    json_array_foreach(at(a, "extra.severity_reasons"), i, e)
    {
        if (strncmp(json_string_value(e), prefix, strlen(prefix)) == 0)
            return true;
    }
    return false;
}

/* --- detection ------------------------------------------------------------------- */

static const struct {
    const char *in;
    bool mail;
} DETECT[] = {
    {"From: a@example.com\nTo: b@example.com\nSubject: hi\n\nbody\n", true},
    {"Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: x\r\n\r\n", true},
    {"From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: a@example.com\n\nbody", true},
    {"\xEF\xBB\xBFSubject: with a BOM\n\n", true},
    {"X-Custom: 1\n continued\nMessage-ID: <a@b>\n\n", true},
    {"Content-Type: text/plain\r\nMIME-Version: 1.0\r\n\r\n", true},
    {"Subject: cut in the middle of the header blo", true},
    {"CEF:0|Vendor|Product|1.0|100|name|5|src=10.0.0.1\n", false},
    {"CEF:0|a|b|1|2|n|3|x=1\nCEF:0|a|b|1|2|n|3|x=1\n", false},
    {"LEEF:1.0|Vendor|Product|1.0|id|src=10.0.0.1\n", false},
    {"{\"title\": \"x\"}\n", false},
    {"<34>1 2024-01-01T00:00:00Z host app - - - msg\n", false},
    {"Jan  1 00:00:00 host sshd[1]: Failed password for root\n", false},
    {" Subject: a continuation first\n", false},
    {"Subject no colon\n", false},
    {"", false},
    {"\n\n", false},
    {"X-Only-Unknown: 1\n\nbody", false},
};

static void t_detect(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(DETECT) / sizeof(DETECT[0]); i++) {
        bool got = mail_detect(DETECT[i].in, strlen(DETECT[i].in));
        if (got != DETECT[i].mail)
            fail_msg("mail_detect(%zu: \"%.40s\") = %d, expected %d", i, DETECT[i].in, got,
                     DETECT[i].mail);
    }
}

/* --- rejected inputs -------------------------------------------------------------- */

static void t_rejected(void **state)
{
    (void)state;
    rejected_n("", 0, "empty");
    rejected_n("\r\n\r\n", 4, "empty");
    rejected_n("this is not a mail\n", 19, "no header field");
    rejected_n("{\"json\": 1}", 11, "not a mail");
    rejected_n("CEF:0|a|b|1|2|n|3|x=1\n", 22, "no mail header field");
    rejected_n("X-Only: unknown fields\n\nbody\n", 29, "no mail header field");
    rejected_n(" Subject: x\n\n", 13, "no header field");
}

static void t_over_size(void **state)
{
    (void)state;
    size_t n = (size_t)RP_MAIL_MAX_BYTES + 1;
    char *m = malloc(n);
    assert_non_null(m);
    const char *head = "From: a@example.com\nSubject: big\n\n";
    memset(m, 'x', n);
    memcpy(m, head, strlen(head));
    rejected_n(m, n, "limit");
    free(m);
}

static void t_too_many_headers(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i <= RP_MAIL_HEADERS_MAX; i++)
        assert_int_equal(buf_printf(&b, "X-H%d: v\n", i), RP_OK);
    assert_int_equal(buf_puts(&b, "From: a@example.com\n\nbody\n"), RP_OK);
    rejected_n(b.data, b.len, "fields");
    buf_fini(&b);
}

/* The outer fields nothing reads are dropped before GMime (outer_filtered()):
 * what is read must come through whatever surrounds it, folds included. */
static void t_outer_fields(void **state)
{
    (void)state;
    static const char mail[] =
        "X-MS-Exchange-Organization-Network-Message-Id: 1234\r\n"
        "ARC-Seal: i=1; a=rsa-sha256; s=arcselector; d=example.com;\r\n"
        "\tb=AAAA BBBB\r\n"
        "Received: from relay.example.net (relay.example.net [203.0.113.9])\r\n"
        " by mx.corp.example; Tue, 2 Jan 2024 10:00:02 +0000\r\n"
        "X-Forefront-Antispam-Report: CIP:203.0.113.9;SFV:SPM\r\n"
        "X-MS-Exchange-CrossTenant-Id: 5678\r\n"
        "Subject: =?UTF-8?Q?Factur=C3=A9?=\r\n"
        " pending\r\n"
        "X-Unread-Noise: x\r\n"
        "From: Billing <billing@vendor.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Pay =C3=A0 once.\r\n";
    json_t *a = parse(mail);
    assert_string_equal(str(a, "email.subject"), "Factur\xC3\xA9 pending");
    assert_non_null(strstr(str(a, "email.from"), "billing@vendor.example"));
    assert_int_equal(json_array_size(at(a, "email.received")), 1);
    assert_non_null(strstr(str(a, "email.received.0"), "by mx.corp.example"));
    assert_string_equal(str(a, "email.headers.X-Forefront-Antispam-Report"),
                        "CIP:203.0.113.9;SFV:SPM");
    assert_null(at(a, "email.headers.X-Unread-Noise"));
    assert_string_equal(str(a, "email.body_text"), "Pay \xC3\xA0 once.\r\n");
    /* raw describes the mail as it came, every field counted */
    assert_int_equal(json_integer_value(at(a, "raw.bytes")), sizeof(mail) - 1);
    json_decref(a);

    /* a line that is neither a field nor a fold: the block is read as it is */
    a = parse("From: a@example.com\nSubject: odd block\nthis line has no colon\n\nbody\n");
    assert_non_null(strstr(str(a, "email.from"), "a@example.com"));
    json_decref(a);

    /* only fields nothing reads: still not a mail */
    rejected_n("X-Foo: 1\nX-Bar: 2\n\nbody\n", 25, "not a mail");

    /* the Received fields are read beside GMime: alone they make a mail, in
     * order, folds joined, and past the limit they are counted */
    a = parse("X-Foo: 1\nReceived: from a.example\n\tby b.example; Mon, 1 Jan 2024 10:00:00 "
              "+0000\nReceived :from c.example by a.example\n\nbody\n");
    assert_int_equal(json_array_size(at(a, "email.received")), 2);
    assert_string_equal(str(a, "email.received.0"),
                        "from a.example by b.example; Mon, 1 Jan 2024 10:00:00 +0000");
    assert_string_equal(str(a, "email.received.1"), "from c.example by a.example");
    json_decref(a);
    /* fields read beside GMime when plain: a first encoded one goes to GMime
     * (decoded) and so do the later ones of its name, so the first still
     * wins; several Authentication-Results merge in order; alone they make a
     * mail */
    a = parse("X-Mailer: =?UTF-8?Q?M=C3=A4iler?=\nX-Mailer: plain\nThread-Topic: one\n"
              "\ttwo\nThread-Topic: three\nAuthentication-Results: mx.example; spf=fail\n"
              "Authentication-Results: mx.example; dkim=pass; spf=pass\n"
              "From: a@example.com\n\nbody\n");
    assert_string_equal(str(a, "email.headers.X-Mailer"), "M\xC3\xA4iler");
    assert_string_equal(str(a, "email.headers.Thread-Topic"), "one two");
    assert_string_equal(str(a, "email.auth.spf"), "fail");
    assert_string_equal(str(a, "email.auth.dkim"), "pass");
    json_decref(a);
    a = parse("X-Foo: 1\nDKIM-Signature: v=1; d=example.com\n\nbody\n");
    assert_string_equal(str(a, "email.headers.DKIM-Signature"), "v=1; d=example.com");
    json_decref(a);

    struct buf r;
    buf_init(&r, 1 << 20);
    for (int i = 0; i < RP_MAIL_RECEIVED_MAX + 3; i++)
        assert_int_equal(buf_printf(&r, "Received: from h%d.example\n  by mx.example\n", i), RP_OK);
    assert_int_equal(buf_puts(&r, "From: a@example.com\n\nbody\n"), RP_OK);
    a = parse_n(r.data, r.len);
    assert_int_equal(json_array_size(at(a, "email.received")), RP_MAIL_RECEIVED_MAX);
    assert_string_equal(str(a, "email.received.63"), "from h63.example by mx.example");
    assert_int_equal(json_integer_value(at(a, "extra.truncated.received")), 3);
    json_decref(a);
    buf_fini(&r);

    /* the limit counts every field, read or not: exactly the limit is read */
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 1; i < RP_MAIL_HEADERS_MAX; i++)
        assert_int_equal(buf_printf(&b, "X-H%d: v\n", i), RP_OK);
    assert_int_equal(buf_puts(&b, "From: a@example.com\n\nbody\n"), RP_OK);
    a = parse_n(b.data, b.len);
    assert_non_null(strstr(str(a, "email.from"), "a@example.com"));
    json_decref(a);
    buf_fini(&b);
}

static void t_too_deep(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_puts(&b, "From: a@example.com\nSubject: deep\nMIME-Version: 1.0\n"),
                     RP_OK);
    for (int i = 0; i <= RP_MAIL_DEPTH_MAX; i++)
        assert_int_equal(
            buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i),
            RP_OK);
    assert_int_equal(buf_puts(&b, "Content-Type: text/plain\n\nhello\n"), RP_OK);
    rejected_n(b.data, b.len, "deeper");
    buf_fini(&b);

    /* the same within the limit is read */
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_puts(&b, "From: a@example.com\nSubject: deep\nMIME-Version: 1.0\n"),
                     RP_OK);
    for (int i = 0; i < RP_MAIL_DEPTH_MAX - 1; i++)
        assert_int_equal(
            buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i),
            RP_OK);
    assert_int_equal(buf_puts(&b, "Content-Type: text/plain\n\nhello https://deep.example/\n"),
                     RP_OK);
    json_t *a = parse_n(b.data, b.len);
    assert_true(array_has(at(a, "email.urls"), "https://deep.example/"));
    json_decref(a);
    buf_fini(&b);
}

static void t_too_many_parts(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_puts(&b, "From: a@example.com\nSubject: parts\nMIME-Version: 1.0\n"
                                  "Content-Type: multipart/mixed; boundary=\"B\"\n\n"),
                     RP_OK);
    for (int i = 0; i < RP_MAIL_PARTS_MAX; i++)
        assert_int_equal(buf_printf(&b, "--B\nContent-Type: text/plain\n\npart %d\n", i), RP_OK);
    assert_int_equal(buf_puts(&b, "--B--\n"), RP_OK);
    rejected_n(b.data, b.len, "MIME parts");
    buf_fini(&b);
}

/* --- headers ---------------------------------------------------------------------- */

static const char *HEADERS =
    "Return-Path: <bounce@mailer.example.net>\r\n"
    "Received: from relay2.example.org (relay2.example.org [198.51.100.7])\r\n"
    "\tby mx.corp.example with ESMTPS id 42; Tue, 2 Jan 2024 10:00:02 +0000\r\n"
    "Received: from sender.example.net (unknown [203.0.113.9])\r\n"
    "\tby relay2.example.org; Tue, 2 Jan 2024 10:00:01 +0000\r\n"
    "Authentication-Results: mx.corp.example; spf=softfail (domain does not designate)\r\n"
    " smtp.mailfrom=mailer.example.net; dkim=fail header.d=bank.example;\r\n"
    " dkim=pass header.d=mailer.example.net; dmarc=fail (p=REJECT) header.from=bank.example\r\n"
    "Authentication-Results: forged.example; spf=pass; dmarc=pass\r\n"
    "From: =?UTF-8?B?QmFua8Kg?= Security <security@bank.example>\r\n"
    "Reply-To: helpdesk@evil.example\r\n"
    "To: Alice <alice@corp.example>, bob@corp.example\r\n"
    "Subject: =?ISO-8859-1?Q?Votre_compte_est_bloqu=E9?= =?UTF-8?B?IOKAlCBhY3Rpb24=?=\r\n"
    "Date: Tue, 2 Jan 2024 11:00:00 +0100\r\n"
    "Message-ID: <abc.123@mailer.example.net>\r\n"
    "X-Mailer: PHPMailer 6.1\r\n"
    "X-Unrelated: dropped\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Please log in.\r\n";

static void t_headers(void **state)
{
    (void)state;
    json_t *a = parse(HEADERS);
    assert_string_equal(str(a, "email.subject"),
                        "Votre compte est bloqu\xC3\xA9 \xE2\x80\x94 action");
    assert_string_equal(str(a, "title"),
                        "Suspicious mail: Votre compte est bloqu\xC3\xA9 \xE2\x80\x94 action");
    assert_non_null(strstr(str(a, "email.from"), "security@bank.example"));
    assert_non_null(strstr(str(a, "email.from"), "Bank"));
    assert_string_equal(str(a, "email.reply_to"), "helpdesk@evil.example");
    assert_string_equal(str(a, "email.return_path"), "bounce@mailer.example.net");
    assert_string_equal(str(a, "email.message_id"), "<abc.123@mailer.example.net>");
    assert_string_equal(str(a, "email.date"), "2024-01-02T11:00:00+01:00");
    assert_int_equal(json_array_size(at(a, "email.to")), 2);
    assert_non_null(strstr(str(a, "email.to.0"), "alice@corp.example"));
    assert_string_equal(str(a, "email.to.1"), "bob@corp.example");
    /* the Received chain, newest first, one line each */
    assert_int_equal(json_array_size(at(a, "email.received")), 2);
    assert_string_equal(str(a, "email.received.0"),
                        "from relay2.example.org (relay2.example.org [198.51.100.7]) by "
                        "mx.corp.example with ESMTPS id 42; Tue, 2 Jan 2024 10:00:02 +0000");
    assert_non_null(strstr(str(a, "email.received.1"), "sender.example.net"));
    /* the topmost Authentication-Results counts; any dkim=pass wins within it */
    assert_string_equal(str(a, "email.auth.spf"), "softfail");
    assert_string_equal(str(a, "email.auth.dkim"), "pass");
    assert_string_equal(str(a, "email.auth.dmarc"), "fail");
    assert_string_equal(str(a, "email.headers.X-Mailer"), "PHPMailer 6.1");
    assert_null(at(a, "email.headers.X-Unrelated"));
    assert_string_equal(str(a, "email.body_text"), "Please log in.\r\n");
    /* severity: 40 + auth failures (dmarc 20 + spf 10, at most 25) + a reply-to
     * elsewhere (10) */
    assert_true(has_reason(a, "sender authentication failed"));
    assert_true(has_reason(a, "Reply-To"));
    assert_int_equal(json_integer_value(at(a, "severity")), 40 + 25 + 10);
    json_decref(a);
}

/* Authentication results in their several forms. */
static const struct {
    const char *headers;
    const char *spf, *dkim, *dmarc; /* NULL: absent */
} AUTH[] = {
    /* Microsoft's form, without an authserv-id */
    {"Authentication-Results: spf=fail (sender IP is 192.0.2.1)\n smtp.mailfrom=x.example; "
     "dkim=none (message not signed)\n header.d=none;dmarc=fail action=oreject\n "
     "header.from=x.example;compauth=fail reason=000\n",
     "fail", "none", "fail"},
    /* Google's, with comments holding '=' and ';' */
    {"Authentication-Results: mx.google.com;\n dkim=pass header.i=@x.example header.s=s1 "
     "header.b=\"ab;c=\";\n spf=pass (google.com: domain of a@x.example designates 192.0.2.1 "
     "as permitted sender; x=y) smtp.mailfrom=a@x.example;\n dmarc=pass (p=NONE sp=NONE "
     "dis=NONE) header.from=x.example\n",
     "pass", "pass", "pass"},
    /* ARC results fill in what Authentication-Results lacks; Received-SPF last */
    {"Authentication-Results: mx.example; dkim=neutral\n"
     "ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom=x.example; "
     "dkim=fail; dmarc=bestguesspass action=none\n"
     "Received-SPF: SoftFail (x.example: domain does not designate)\n",
     "pass", "neutral", "bestguesspass"},
    {"Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1\n", "pass", NULL, NULL},
    {"Authentication-Results: mx.example; none\n", NULL, NULL, NULL},
    {"Authentication-Results: ((((((((((((((((unclosed comment\n", NULL, NULL, NULL},
    {"Authentication-Results: spf=\"quoted;\" ; dkim = PASS ; dmarc=FAIL\n", NULL, "pass", "fail"},
};

static void t_auth(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(AUTH) / sizeof(AUTH[0]); i++) {
        char mail[2048];
        snprintf(mail, sizeof(mail), "From: a@x.example\n%sSubject: auth %zu\n\nbody\n",
                 AUTH[i].headers, i);
        json_t *a = parse(mail);
        const char *want[3] = {AUTH[i].spf, AUTH[i].dkim, AUTH[i].dmarc};
        const char *keys[3] = {"email.auth.spf", "email.auth.dkim", "email.auth.dmarc"};
        for (int k = 0; k < 3; k++) {
            const char *got = str(a, keys[k]);
            if (want[k] == NULL && got != NULL)
                fail_msg("case %zu: %s = %s, expected none", i, keys[k], got);
            if (want[k] != NULL && (got == NULL || strcmp(got, want[k]) != 0))
                fail_msg("case %zu: %s = %s, expected %s", i, keys[k], got ? got : "none", want[k]);
        }
        json_decref(a);
    }
}

/* Header text that is not clean: raw 8-bit bytes, control characters, no
 * address, an unparseable date, an empty Return-Path. */
static void t_dirty_headers(void **state)
{
    (void)state;
    json_t *a = parse("From: Jos\xE9 Mu\xF1oz\n"
                      "Subject: caf\xE9 \x01\x02 \xF0\x9F\x92\xB0 prize\n"
                      "Return-Path: <>\n"
                      "Date: not a date at all\n"
                      "Message-ID: no-angle-brackets@example\n"
                      "\n"
                      "body\n");
    assert_string_equal(str(a, "email.from"), "Jos\xC3\xA9 Mu\xC3\xB1oz");
    assert_string_equal(str(a, "email.subject"), "caf\xC3\xA9 \xF0\x9F\x92\xB0 prize");
    assert_null(at(a, "email.return_path"));
    assert_null(at(a, "email.date"));
    assert_non_null(strstr(str(a, "email.message_id"), "no-angle-brackets@example"));
    json_decref(a);

    /* no subject at all */
    a = parse("From: a@example.com\n\n");
    assert_string_equal(str(a, "title"), "Suspicious mail: (no subject)");
    json_decref(a);
}

/* --- bodies: transfer encodings and charsets ------------------------------------------ */

static const char *ALTERNATIVE =
    "From: Shop <news@shop.example.org>\n"
    "Subject: =?utf-8?q?Caf=C3=A9_deals?=\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"ALT\"\n"
    "\n"
    "preamble\n"
    "--ALT\n"
    "Content-Type: text/plain; charset=ISO-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=E9 cr=E8me https://shop.example.org/pay.\n"
    "--ALT\n"
    "Content-Type: text/html; charset=windows-1252\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PHA+k1F1b3RlZJQggDUgPGEgaHJlZj0iaHR0cHM6Ly9leGFtcGxlLmNvbS94Ij5oZXJlPC9hPjwvcD4=\n"
    "--ALT--\n";

static void t_alternative(void **state)
{
    (void)state;
    json_t *a = parse(ALTERNATIVE);
    assert_string_equal(str(a, "email.subject"), "Caf\xC3\xA9 deals");
    assert_string_equal(str(a, "email.body_text"),
                        "Caf\xC3\xA9 cr\xC3\xA8me https://shop.example.org/pay.");
    /* (the line break before a boundary belongs to the boundary: RFC 2046) */
    /* Windows-1252 quotes and euro sign */
    assert_non_null(strstr(str(a, "email.body_html"),
                           "<p>\xE2\x80\x9CQuoted\xE2\x80\x9D \xE2\x82\xAC"
                           "5 <a href=\"https://example.com/x\">here</a></p>"));
    json_t *urls = at(a, "email.urls");
    assert_true(array_has(urls, "https://shop.example.org/pay")); /* the full stop is not in it */
    assert_true(array_has(urls, "https://example.com/x"));
    json_t *l = link_to(a, "https://example.com/x");
    assert_non_null(l);
    assert_string_equal(json_string_value(json_object_get(l, "text")), "here");
    json_decref(a);
}

/* Charsets through iconv (KOI8-R, ISO-2022-JP), 8bit UTF-8, an unknown
 * charset and undeclared 8-bit bytes. */
static void t_charsets(void **state)
{
    (void)state;
    json_t *a = parse("From: a@example.com\nSubject: koi8\nMIME-Version: 1.0\n"
                      "Content-Type: text/plain; charset=koi8-r\n"
                      "Content-Transfer-Encoding: 8bit\n\n"
                      "\xF0\xD2\xC9\xD7\xC5\xD4\n");
    assert_string_equal(str(a, "email.body_text"),
                        "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82\n");
    json_decref(a);

    a = parse("From: a@example.com\nSubject: jp\nMIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=ISO-2022-JP\n"
              "Content-Transfer-Encoding: 7bit\n\n"
              "\x1b$B$3$s$K$A$O\x1b(B\n");
    assert_string_equal(str(a, "email.body_text"),
                        "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF\n");
    json_decref(a);

    a = parse("From: a@example.com\nSubject: utf8\nMIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=\"utf-8\"\n"
              "Content-Transfer-Encoding: base64\n\n"
              "wqFIb2xhISDwn5iA\n");
    assert_string_equal(str(a, "email.body_text"), "\xC2\xA1Hola! \xF0\x9F\x98\x80");
    json_decref(a);

    /* a charset nobody knows: valid UTF-8 stays, other bytes read as Windows-1252 */
    a = parse("From: a@example.com\nSubject: bogus\nMIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=\"x-garbage\"\"\"\n"
              "Content-Transfer-Encoding: hexa\n\n"
              "ok \xC3\xA9 and \xE9 and \x80\n");
    assert_string_equal(str(a, "email.body_text"), "ok \xC3\xA9 and \xC3\xA9 and \xE2\x82\xAC\n");
    json_decref(a);

    /* no Content-Type at all, 8-bit Latin-1 */
    a = parse("From: a@example.com\nSubject: none\n\nna\xEFve\n");
    assert_string_equal(str(a, "email.body_text"), "na\xC3\xAFve\n");
    json_decref(a);
}

/* --- attachments ------------------------------------------------------------------------- */

static const char *ATTACHMENTS =
    "From: Billing <billing@vendor.example>\n"
    "Subject: Invoice\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"MIX\"\n"
    "\n"
    "--MIX\n"
    "Content-Type: text/plain\n"
    "\n"
    "See attached.\n"
    "--MIX\n"
    "Content-Type: application/pdf; name=\"statement.pdf\"\n"
    "Content-Disposition: attachment; filename=\"statement.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQKJXJpcG9zdGUgdGVzdAo=\n"
    "--MIX\n"
    "Content-Type: application/octet-stream\n"
    "Content-Disposition: attachment;\n"
    " filename*=UTF-8''Rechnung%C3%BCbersicht.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "TVqQAHJpcG9zdGUgdGVzdCBleGUK\n"
    "--MIX\n"
    "Content-Type: application/zip; name=\"=?UTF-8?Q?docs=5F2024.zip?=\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "UEsDBBQAAAAIAHdvcmQvZG9jdW1lbnQueG1s\n"
    "--MIX\n"
    "Content-Type: image/png\n"
    "Content-Disposition: inline; filename=\"empty.png\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "\n"
    "--MIX\n"
    "Content-Type: application/pkcs7-signature; name=smime.p7s\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAAA\n"
    "--MIX--\n";

static void check_att(json_t *a, const char *name, const char *type, const char *sniffed,
                      long long size, const char *md5, const char *sha1, const char *sha256)
{
    json_t *e = attachment(a, name);
    if (e == NULL)
        fail_msg("no attachment named %s", name);
    assert_string_equal(json_string_value(json_object_get(e, "type")), type);
    assert_string_equal(json_string_value(json_object_get(e, "sniffed_type")), sniffed);
    assert_int_equal(json_integer_value(json_object_get(e, "size")), size);
    assert_string_equal(json_string_value(json_object_get(e, "md5")), md5);
    assert_string_equal(json_string_value(json_object_get(e, "sha1")), sha1);
    assert_string_equal(json_string_value(json_object_get(e, "sha256")), sha256);
}

static void t_attachments(void **state)
{
    (void)state;
    json_t *a = parse(ATTACHMENTS);
    assert_int_equal(json_array_size(at(a, "email.attachments")), 4); /* not the signature */
    check_att(a, "statement.pdf", "application/pdf", "application/pdf", 23,
              "3c31d41273765948b4c865f4215b116a", "695365859fc17e8d79fc7505f67de9b7e241107f",
              "525c87f64c0c8e66184f4c71c7c517a7d0143e017a179e596b766e2954cd484e");
    /* RFC 2231 name; an executable behind a .pdf name */
    check_att(a,
              "Rechnung\xC3\xBC"
              "bersicht.pdf",
              "application/octet-stream", "application/x-dosexec", 21,
              "bd9de6b1498c5ffc3dd90e921c381698", "bf25daa71b7f20c705f6a8b5c0300665f6663364",
              "45e5267d36b1366178c34957a2e3af86f9c62fe03999ddcb0c7b2b4913e757ad");
    /* RFC 2047 name; a ZIP holding word/ is OOXML */
    check_att(a, "docs_2024.zip", "application/zip",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 27,
              "7159ad480977201cb4ed4d2dbdd459ba", "66edea54ad6e283edfd6490878f9511f31ad6a5b",
              "8cda60e39908ddb9e01d4d87e933910d7dca9f8dcd0a6c9c593724456d98028d");
    check_att(a, "empty.png", "image/png", "application/x-empty", 0,
              "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(str(a, "email.body_text"), "See attached.");
    assert_true(has_reason(a, "an executable"));
    assert_true(has_reason(a, "an attachment's content does not match"));
    json_decref(a);
}

/* Sniffing each signature of the table, through attachments. */
static const struct {
    const char *b64;
    const char *sniffed;
} SNIFF[] = {
    {"UmFyIRoHAQA=", "application/vnd.rar"},
    {"N3q8ryccAAQ=", "application/x-7z-compressed"},
    {"H4sIAAAAAAAAAw==", "application/gzip"},
    {"0M8R4KGxGuEAAAAA", "application/x-ole-storage"},
    {"f0VMRgIBAQA=", "application/x-executable"},
    {"iVBORw0KGgoAAAAN", "image/png"},
    {"/9j/4AAQSkZJRg==", "image/jpeg"},
    {"R0lGODlhAQABAA==", "image/gif"},
    {"IyEvYmluL3NoCmVjaG8gaGkK", "text/x-shellscript"},
    {"PCFET0NUWVBFIGh0bWw+PGh0bWw+PC9odG1sPg==", "text/html"},
    {"e1xydGYxXGFuc2kgaGl9", "application/rtf"},
    {"QkVHSU46VkNBTEVOREFSDQpFTkQ6VkNBTEVOREFS", "text/calendar"},
    {"PD94bWwgdmVyc2lvbj0iMS4wIj8+PHN2Zz48L3N2Zz4=", "image/svg+xml"},
    {"PD94bWwgdmVyc2lvbj0iMS4wIj8+PHBsaXN0Lz4=", "application/xml"},
    {"AAECAwQFBgcICQ==", "application/octet-stream"},
    {"anVzdCB0ZXh0Cg==", "text/plain"},
    {"RnJvbTogYUBleGFtcGxlLmNvbQpTdWJqZWN0OiB4Cgpib2R5Cg==", "message/rfc822"},
    {"UEsDBBQAAAAIAHhsL3dvcmtib29rLnhtbA==", "application/vnd.openxmlformats-officedocument"
                                             ".spreadsheetml.sheet"},
    {"UEsDBBQAAAAIAHdvcmQvdmJhUHJvamVjdC5iaW4=", "application/vnd.ms-office.macroEnabled"},
    {"UEsDBBQAAAAIAE1FVEEtSU5GL01BTklGRVNULk1G", "application/java-archive"},
    /* whole ZIPs (Python's zipfile, stored): the names of the central
     * directory count, not the same bytes in a member's data (xl/workbook.xml
     * says "word/" and "vbaProject.bin"; photo.txt says "xl/") */
    {"UEsDBBQAAAAAACiUfl254X45IwAAACMAAAAPAAAAeGwvd29ya2Jvb2sueG1sPHg+c2VlIHdvcmQvIGFuZCB2YmFQcm9q"
     "ZWN0LmJpbjwveD5QSwECFAMUAAAAAAAolH5dueF+OSMAAAAjAAAADwAAAAAAAAAAAAAAgAEAAAAAeGwvd29ya2Jvb2su"
     "eG1sUEsFBgAAAAABAAEAPQAAAFAAAAAMAHJpcG9zdGUgdGVzdA==",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"UEsDBBQAAAAAACiUfl0v3hkQDgAAAA4AAAAJAAAAcGhvdG8udHh0eGwvIGlzIGluIGhlcmVQSwECFAMUAAAAAAAolH5d"
     "L94ZEA4AAAAOAAAACQAAAAAAAAAAAAAAgAEAAAAAcGhvdG8udHh0UEsFBgAAAAABAAEANwAAADUAAAAAAA==",
     "application/zip"},
};

static void t_sniff(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(SNIFF) / sizeof(SNIFF[0]); i++) {
        char mail[1024];
        snprintf(mail, sizeof(mail),
                 "From: a@example.com\nSubject: sniff\nMIME-Version: 1.0\n"
                 "Content-Type: multipart/mixed; boundary=B\n\n--B\n"
                 "Content-Type: application/octet-stream; name=\"f.bin\"\n"
                 "Content-Transfer-Encoding: base64\n\n%s\n--B--\n",
                 SNIFF[i].b64);
        json_t *a = parse(mail);
        const char *got = str(a, "email.attachments.0.sniffed_type");
        if (got == NULL || strcmp(got, SNIFF[i].sniffed) != 0)
            fail_msg("case %zu: sniffed %s, expected %s", i, got ? got : "nothing",
                     SNIFF[i].sniffed);
        json_decref(a);
    }
}

/* --- links and URLs ------------------------------------------------------------------------ */

static const char *HTML_LINKS =
    "From: PayPal <service@paypa1.example>\n"
    "Subject: Verify\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<html><head><style>a{color:red} .x{background:url(https://css.example/x.png)}</style>\n"
    "<meta http-equiv=\"Refresh\" content=\"5; URL='https://refresh.example/go'\">\n"
    "<script>var u = \"https://script.example/beacon?id=1\";</script></head><body>\n"
    "<p>Dear customer,</p>\n"
    "<a href=\"https://login.evil.example/paypal?a=1&amp;b=2\">https://www.paypal.com/signin</a>\n"
    "<A HREF='https://www.paypal.com/help'>www.paypal.com/help</A>\n"
    "<a href=https://Track.Example.NET/c/1>Click <b>here</b>&nbsp;now</a>\n"
    "<a href=\"https://same.example/\">https://same.example</a>\n"
    "<a href=\"https://img.example/\"><img src=\"https://img.example/logo.png\" alt=\"Logo\"></a>\n"
    "<a href=\"mailto:help@paypa1.example\">mail us</a> <a href=\"#top\">top</a>\n"
    "<a href=\"javascript:void(0)\">js</a>\n"
    "<a href=\"&#104;ttps&colon;&sol;&sol;encoded.example&#x2F;p\">encoded</a>\n"
    "<a href=\"https://tab.exa\tmple/\n\">split</a>\n"
    "<!-- <a href=\"https://commented.example/\">hidden</a> -->\n"
    "<!--[if mso]><v:roundrect href=\"https://vml.example/btn\">x</v:roundrect><![endif]-->\n"
    "<form action=\"https://post.example/steal\" method=post><input name=p></form>\n"
    "<iframe src=\"https://frame.example/\"></iframe>\n"
    "<map><area href=\"https://area.example/\" alt=\"Area text\"></map>\n"
    "<p>Or paste hxxps://defanged[.]example/path into your browser (today).</p>\n"
    "<p>See (https://paren.example/a_(b)) and https://trail.example/x, thanks!</p>\n"
    "<a href=\"https://unclosed.example/\">never closed\n";

static void t_html_links(void **state)
{
    (void)state;
    json_t *a = parse(HTML_LINKS);
    json_t *urls = at(a, "email.urls");
    static const char *const want[] = {
        "https://login.evil.example/paypal?a=1&b=2",
        "https://www.paypal.com/help",
        "https://track.example.net/c/1",
        "https://same.example/",
        "https://img.example/",
        "https://encoded.example/p",
        "https://tab.example/",
        "https://vml.example/btn",
        "https://post.example/steal",
        "https://frame.example/",
        "https://area.example/",
        "https://refresh.example/go",
        "https://script.example/beacon?id=1",
        "https://defanged.example/path",
        "https://paren.example/a_(b)",
        "https://trail.example/x",
        "https://unclosed.example/",
        "https://www.paypal.com/signin", /* written out as link text */
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!array_has(urls, want[i]))
            fail_msg("URL %s not found in %s", want[i], json_dumps(urls, JSON_COMPACT));
    static const char *const unwanted[] = {
        "https://commented.example/",
        "https://css.example/x.png",
        "https://img.example/logo.png",
    };
    for (size_t i = 0; i < sizeof(unwanted) / sizeof(unwanted[0]); i++)
        if (array_has(urls, unwanted[i]))
            fail_msg("URL %s should not be found", unwanted[i]);
    size_t i;
    json_t *u;
    json_array_foreach(urls, i, u)
    {
        const char *s = json_string_value(u);
        if (strncmp(s, "mailto:", 7) == 0 || strncmp(s, "javascript:", 11) == 0)
            fail_msg("non-web URL %s kept", s);
    }

    /* links: the visible text where it differs from the target */
    json_t *l = link_to(a, "https://login.evil.example/paypal?a=1&b=2");
    assert_non_null(l);
    assert_string_equal(json_string_value(json_object_get(l, "text")),
                        "https://www.paypal.com/signin");
    l = link_to(a, "https://www.paypal.com/help");
    assert_non_null(l);
    assert_null(json_object_get(l, "text"));
    l = link_to(a, "https://track.example.net/c/1");
    assert_string_equal(json_string_value(json_object_get(l, "text")), "Click here now");
    l = link_to(a, "https://same.example/");
    assert_null(json_object_get(l, "text"));
    l = link_to(a, "https://img.example/");
    assert_string_equal(json_string_value(json_object_get(l, "text")), "Logo");
    l = link_to(a, "https://area.example/");
    assert_string_equal(json_string_value(json_object_get(l, "text")), "Area text");
    l = link_to(a, "https://unclosed.example/");
    assert_string_equal(json_string_value(json_object_get(l, "text")), "never closed");
    assert_true(has_reason(a, "a link's text shows another site"));
    json_decref(a);
}

/* Link text naming the same site (another host of the same registrable
 * domain) is not deceptive; URLs with an IP host are noted. */
static void t_deception(void **state)
{
    (void)state;
    json_t *a = parse("From: a@bank.example\nSubject: x\nContent-Type: text/html\n\n"
                      "<a href=\"https://login.bank.co.uk/x\">www.bank.co.uk</a>\n");
    assert_false(has_reason(a, "a link's text"));
    assert_false(has_reason(a, "a URL with an IP"));
    json_decref(a);
    a = parse("From: a@bank.example\nSubject: x\nContent-Type: text/html\n\n"
              "<a href=\"http://192.0.2.10/login\">bank.co.uk</a>\n");
    assert_true(has_reason(a, "a link's text"));
    assert_true(has_reason(a, "a URL with an IP"));
    json_decref(a);
}

/* A phishing page in an attachment whose script writes percent-encoded markup. */
static void t_obfuscated_attachment(void **state)
{
    (void)state;
    /* <script>document.write(unescape("%3Cform
     * action=%22https://harvest.example/p%22%3E"))</script> */
    json_t *a =
        parse("From: a@example.com\nSubject: Invoice\nMIME-Version: 1.0\n"
              "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nsee\n"
              "--B\nContent-Type: application/octet-stream; name=\"invoice.htm\"\n"
              "Content-Transfer-Encoding: base64\n\n"
              "PHNjcmlwdD5kb2N1bWVudC53cml0ZSh1bmVzY2FwZSgiJTNDZm9ybSBhY3Rpb249JTIyaHR0cHM6Ly9o\n"
              "YXJ2ZXN0LmV4YW1wbGUvcCUyMiUzRSIpKTwvc2NyaXB0Pg==\n--B--\n");
    assert_string_equal(str(a, "email.attachments.0.sniffed_type"), "text/html");
    assert_true(array_has(at(a, "email.urls"), "https://harvest.example/p"));
    assert_true(has_reason(a, "an executable, script, HTML"));
    json_decref(a);
}

/* More URLs than the limit: the first are kept, the rest counted. */
static void t_url_limit(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_puts(&b, "From: a@example.com\nSubject: many\n\n"), RP_OK);
    for (int i = 0; i < RP_MAIL_URLS_MAX + 30; i++)
        assert_int_equal(buf_printf(&b, "https://u%d.example/ ", i), RP_OK);
    assert_int_equal(buf_printf(&b, "\nhttps://x.example/%0*d\n", RP_MAIL_URL_MAX_BYTES, 7), RP_OK);
    json_t *a = parse_n(b.data, b.len);
    assert_int_equal(json_array_size(at(a, "email.urls")), RP_MAIL_URLS_MAX);
    assert_int_equal(json_integer_value(at(a, "extra.truncated.urls")), 30 + 1);
    buf_fini(&b);
    json_decref(a);
}

/* A body over the field limit is cut on a character boundary. */
static void t_body_cut(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_puts(&b, "From: a@example.com\nSubject: long\n"
                                  "Content-Type: text/plain; charset=utf-8\n\nx"),
                     RP_OK);
    for (size_t i = 0; i < RP_FIELD_MAX_BYTES / 2 + 10; i++)
        assert_int_equal(buf_append(&b, "\xC3\xA9", 2), RP_OK);
    json_t *a = parse_n(b.data, b.len);
    const char *t = str(a, "email.body_text");
    size_t n = strlen(t);
    assert_true(n <= RP_FIELD_MAX_BYTES);
    assert_int_equal(n, RP_FIELD_MAX_BYTES - 1); /* 'x' + whole two-byte characters */
    assert_true(json_integer_value(at(a, "extra.truncated.body_text_bytes")) > 0);
    buf_fini(&b);
    json_decref(a);
}

/* --- attached messages and reports ------------------------------------------------------------ */

static const char *NESTED = "From: Mallory <m@evil.example>\n"
                            "Subject: Documents\n"
                            "MIME-Version: 1.0\n"
                            "Content-Type: multipart/mixed; boundary=\"OUT\"\n"
                            "\n"
                            "--OUT\n"
                            "Content-Type: text/plain\n"
                            "\n"
                            "Outer text https://outer.example/\n"
                            "--OUT\n"
                            "Content-Type: message/rfc822\n"
                            "Content-Disposition: attachment; filename=\"old.eml\"\n"
                            "\n"
                            "From: Someone <s@inner.example>\n"
                            "Subject: Inner\n"
                            "MIME-Version: 1.0\n"
                            "Content-Type: multipart/mixed; boundary=\"IN\"\n"
                            "\n"
                            "--IN\n"
                            "Content-Type: text/plain\n"
                            "\n"
                            "Inner text https://inner.example/login\n"
                            "--IN\n"
                            "Content-Type: application/pdf; name=\"inner.pdf\"\n"
                            "Content-Transfer-Encoding: base64\n"
                            "\n"
                            "JVBERi0xLjQKJXJpcG9zdGUgdGVzdAo=\n"
                            "--IN--\n"
                            "--OUT--\n";

static void t_nested(void **state)
{
    (void)state;
    json_t *a = parse(NESTED);
    /* not a report (no forward marker): the outer mail is the subject */
    assert_string_equal(str(a, "email.subject"), "Documents");
    assert_null(at(a, "reporter"));
    assert_string_equal(str(a, "email.body_text"), "Outer text https://outer.example/");
    json_t *urls = at(a, "email.urls");
    assert_true(array_has(urls, "https://outer.example/"));
    assert_true(array_has(urls, "https://inner.example/login"));
    json_t *eml = attachment(a, "old.eml");
    assert_non_null(eml);
    assert_string_equal(json_string_value(json_object_get(eml, "type")), "message/rfc822");
    assert_non_null(attachment(a, "inner.pdf"));
    json_decref(a);
}

static const char *REPORT =
    "From: Alice Example <alice@corp.example>\n"
    "To: phishing@corp.example\n"
    "Subject: FW: Your mailbox is full\n"
    "Message-ID: <report-1@corp.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"R\"\n"
    "\n"
    "--R\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "This looks fake to me.\n"
    "--R\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Return-Path: <x@mailbox-admin.example>\n"
    "Received: from bad.example by mx.corp.example; Mon, 1 Jan 2024 09:00:00 +0000\n"
    "Authentication-Results: mx.corp.example; spf=fail smtp.mailfrom=mailbox-admin.example;\n"
    " dmarc=fail header.from=corp-it.example\n"
    "From: IT Helpdesk <helpdesk@corp-it.example>\n"
    "To: alice@corp.example\n"
    "Subject: Your mailbox is full\n"
    "Message-ID: <phish-1@mailbox-admin.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/html\n"
    "\n"
    "<a href=\"https://mailbox-admin.example/owa\">https://outlook.office.com/owa</a>\n"
    "--R--\n";

static void t_report(void **state)
{
    (void)state;
    json_t *a = parse(REPORT);
    assert_string_equal(str(a, "title"), "Reported phishing: Your mailbox is full");
    assert_string_equal(str(a, "email.subject"), "Your mailbox is full");
    assert_string_equal(str(a, "email.message_id"), "<phish-1@mailbox-admin.example>");
    assert_non_null(strstr(str(a, "email.from"), "helpdesk@corp-it.example"));
    assert_string_equal(str(a, "email.return_path"), "x@mailbox-admin.example");
    assert_string_equal(str(a, "email.auth.spf"), "fail");
    assert_string_equal(str(a, "reporter.email"), "alice@corp.example");
    assert_string_equal(str(a, "reporter.name"), "Alice Example");
    assert_string_equal(str(a, "extra.report.subject"), "FW: Your mailbox is full");
    assert_string_equal(str(a, "extra.report.comment"), "This looks fake to me.");
    assert_true(array_has(at(a, "email.urls"), "https://mailbox-admin.example/owa"));
    assert_int_equal(json_array_size(at(a, "email.received")), 1);
    assert_null(at(a, "email.body_text")); /* the reporter's words are not the mail's */
    assert_true(has_reason(a, "reported by a user"));
    assert_true(has_reason(a, "a link's text shows another site"));
    json_decref(a);
}

/* The suspicious mail attached as an .eml file (application/octet-stream). */
static void t_report_eml(void **state)
{
    (void)state;
    /* base64 of "From: Bank <no-reply@bank-secure.example>\nSubject: Unlock\n\n
     * Visit https://bank-secure.example/unlock\n" */
    json_t *a =
        parse("From: bob@corp.example\nSubject: Suspicious mail\nMIME-Version: 1.0\n"
              "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nFYI\n"
              "--B\nContent-Type: application/octet-stream; name=\"Unlock.eml\"\n"
              "Content-Disposition: attachment; filename=\"Unlock.eml\"\n"
              "Content-Transfer-Encoding: base64\n\n"
              "RnJvbTogQmFuayA8bm8tcmVwbHlAYmFuay1zZWN1cmUuZXhhbXBsZT4KU3ViamVjdDogVW5sb2NrCgpW\n"
              "aXNpdCBodHRwczovL2Jhbmstc2VjdXJlLmV4YW1wbGUvdW5sb2NrCg==\n--B--\n");
    assert_string_equal(str(a, "title"), "Reported phishing: Unlock");
    assert_string_equal(str(a, "reporter.email"), "bob@corp.example");
    assert_null(at(a, "reporter.name"));
    assert_non_null(strstr(str(a, "email.from"), "no-reply@bank-secure.example"));
    assert_true(array_has(at(a, "email.urls"), "https://bank-secure.example/unlock"));
    json_decref(a);
}

/* A spam filter's wrapper (SpamAssassin report_safe): the original inside is the
 * subject; the chain is the wrapper's then the original's; no reporter. */
static void t_spam_wrapper(void **state)
{
    (void)state;
    json_t *a =
        parse("Received: from filter.example by mx.example; Mon, 1 Jan 2024 10:00:01 +0000\n"
              "Authentication-Results: mx.example; spf=none\n"
              "From: Prince <p@rich.example>\nSubject: [SPAM] Money\nMessage-Id: <wrap@filter>\n"
              "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"W\"\n\n"
              "--W\nContent-Type: text/plain\n\nSpam detection software...\n"
              "--W\nContent-Type: message/rfc822; x-spam-type=original\n\n"
              "Received: from [192.0.2.1] by filter.example; Mon, 1 Jan 2024 10:00:00 +0000\n"
              "From: Prince <p@rich.example>\nReply-To: p.rich@freemail.example\nSubject: Money\n\n"
              "Send your bank details.\n--W--\n");
    assert_string_equal(str(a, "title"), "Suspicious mail: Money");
    assert_null(at(a, "reporter"));
    assert_string_equal(str(a, "email.reply_to"), "p.rich@freemail.example");
    assert_string_equal(str(a, "email.message_id"), "<wrap@filter>"); /* filled in */
    assert_string_equal(str(a, "email.auth.spf"), "none");
    assert_int_equal(json_array_size(at(a, "email.received")), 2);
    assert_non_null(strstr(str(a, "email.received.0"), "filter.example by mx.example"));
    assert_non_null(strstr(str(a, "email.received.1"), "[192.0.2.1]"));
    assert_string_equal(str(a, "email.body_text"), "Send your bank details.");
    assert_string_equal(str(a, "extra.wrapper"), "spamassassin");
    json_decref(a);
}

/* A delivery status notification is no report: the bounce is the subject. */
static void t_dsn_not_report(void **state)
{
    (void)state;
    json_t *a =
        parse("From: MAILER-DAEMON@mx.example\nSubject: Undelivered Mail Returned\n"
              "MIME-Version: 1.0\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=D\n\n"
              "--D\nContent-Type: text/plain\n\nCould not deliver.\n"
              "--D\nContent-Type: message/delivery-status\n\nAction: failed\n"
              "--D\nContent-Type: message/rfc822\n\nFrom: a@example.com\nSubject: Fwd: orig\n\n"
              "hello\n--D--\n");
    assert_string_equal(str(a, "title"), "Suspicious mail: Undelivered Mail Returned");
    assert_null(at(a, "reporter"));
    json_decref(a);
}

/* --- broken structure --------------------------------------------------------------------------
 */

/* NUL bytes in headers and body */
static const char B7[] =
    "From: a@exa\0mple.com\nSubject: b7\0x\n\nbody\0with nul https://b7.example/\n";

static const char *const BROKEN[] = {
    /* the closing boundary never comes */
    "From: a@example.com\nSubject: b1\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"NEVER\"\n\n--NEVER\nContent-Type: text/plain\n\n"
    "unterminated https://b1.example/\n",
    /* no boundary parameter */
    "From: a@example.com\nSubject: b2\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\n"
    "--x\nContent-Type: text/plain\n\nhttps://b2.example/\n--x--\n",
    /* a boundary that is never used: the text is the preamble, still searched */
    "From: a@example.com\nSubject: b3\nMIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"unused\"\n\njust text https://b3.example/\n",
    /* broken base64 and a truncated quoted-printable soft break */
    "From: a@example.com\nSubject: b4\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n"
    "Content-Transfer-Encoding: base64\n\n!!!aHR0cHM6Ly9iNC5leGFtcGxlLw=*=\n--B\n"
    "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nend=\n--B--\n",
    /* a header line without a colon in the middle, and an invented multipart */
    "From: a@example.com\nSubject: b5\nthis line is not a header\nMIME-Version: 1.0\n"
    "Content-Type: multipart/none; boundary=N\n\n--N\n\nhttps://b5.example/\n--N--\n",
    /* message/rfc822 whose content is not a mail */
    "From: a@example.com\nSubject: b6\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: message/rfc822\n\n"
    "\x00\x01\x02 binary junk\n--B--\n",
    B7,
};
static const size_t BROKEN_LEN[] = {0, 0, 0, 0, 0, 0, sizeof(B7) - 1};

static void t_broken(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(BROKEN) / sizeof(BROKEN[0]); i++) {
        size_t n = BROKEN_LEN[i] ? BROKEN_LEN[i] : strlen(BROKEN[i]);
        json_t *a = parse_n(BROKEN[i], n);
        assert_non_null(at(a, "title"));
        json_decref(a);
    }
    json_t *a = parse(BROKEN[0]);
    assert_true(array_has(at(a, "email.urls"), "https://b1.example/"));
    json_decref(a);
    a = parse(BROKEN[2]);
    assert_true(array_has(at(a, "email.urls"), "https://b3.example/"));
    json_decref(a);
    a = parse_n(BROKEN[6], BROKEN_LEN[6]);
    assert_true(array_has(at(a, "email.urls"), "https://b7.example/"));
    json_decref(a);
}

/* An mbox "From " line and CRLF endings. */
static void t_mbox(void **state)
{
    (void)state;
    json_t *a = parse("From MAILER-DAEMON Mon Jan  1 00:00:00 2024\r\n"
                      "From: a@example.com\r\nSubject: mbox\r\n\r\nhi\r\n");
    assert_string_equal(str(a, "email.subject"), "mbox");
    assert_string_equal(str(a, "email.body_text"), "hi\r\n");
    json_decref(a);
}

/* Hostile bodies that a careless scanner would take quadratic time over:
 * each must be read in one pass (the test would time out otherwise). */
static void t_hostile(void **state)
{
    (void)state;
    static const struct {
        const char *head; /* written once */
        const char *unit; /* then repeated to about 2 MB */
        const char *type;
    } HOSTILE[] = {
        {"https://x.example/", ")", "text/plain"},
        {"https://x.example/(", "]", "text/plain"},
        {"", "https://a.example/ ", "text/plain"},
        {"", "hxxp[://]", "text/plain"},
        {"", "<a href=\"https://a.example/\">", "text/html"},
        {"", "<a href=\"", "text/html"},
        {"<script>", "%3C", "text/html"},
        {"", "&#", "text/html"},
        {"", "<!--", "text/html"},
        {"", "<", "text/html"},
        {"<a href=https://a.example/>", "<img alt=x>", "text/html"},
    };
    for (size_t i = 0; i < sizeof(HOSTILE) / sizeof(HOSTILE[0]); i++) {
        struct buf b;
        buf_init(&b, 4u << 20);
        assert_int_equal(buf_printf(&b,
                                    "From: a@example.com\nSubject: hostile %zu\n"
                                    "Content-Type: %s\n\n%s",
                                    i, HOSTILE[i].type, HOSTILE[i].head),
                         RP_OK);
        while (b.len < 2u << 20)
            assert_int_equal(buf_puts(&b, HOSTILE[i].unit), RP_OK);
        json_t *a = parse_n(b.data, b.len);
        json_decref(a);
        buf_fini(&b);
    }
}

/* Several threads parse the fixtures at once (charset converters being
 * pinned, GMime's shared caches in use): every alert must equal the one-thread
 * result. (The one-time set-up itself is a pthread_once.) */
struct thread_job {
    const char *const *mails;
    size_t n;
    char **want; /* the one-thread alerts, serialised without their varying parts */
    int failures;
};

static char *dump_alert(const char *mail)
{
    json_t *a = NULL;
    struct rp_error err;
    if (mail_parse_alert(mail, strlen(mail), &a, &err) != RP_OK)
        return strdup(err.msg);
    char *s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(a);
    return s;
}

static void *thread_main(void *arg)
{
    struct thread_job *j = arg;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < j->n; i++) {
            char *got = dump_alert(j->mails[i]);
            if (got == NULL || strcmp(got, j->want[i]) != 0)
                j->failures++;
            free(got);
        }
    }
    return NULL;
}

static void t_threads(void **state)
{
    (void)state;
    const char *const mails[] = {HEADERS,
                                 ALTERNATIVE,
                                 ATTACHMENTS,
                                 HTML_LINKS,
                                 NESTED,
                                 REPORT,
                                 BROKEN[0],
                                 BROKEN[4],
                                 "From: a@example.com\nSubject: koi\nContent-Type: text/plain; "
                                 "charset=koi8-r\n\n\xF0\xD2\xC9\xD7\xC5\xD4\n"};
    size_t n = sizeof(mails) / sizeof(mails[0]);
    char *want[sizeof(mails) / sizeof(mails[0])];
    for (size_t i = 0; i < n; i++) {
        want[i] = dump_alert(mails[i]);
        assert_non_null(want[i]);
    }
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    struct thread_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (struct thread_job){mails, n, want, 0};
        assert_int_equal(pthread_create(&th[t], NULL, thread_main, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(jobs[t].failures, 0);
    }
    for (size_t i = 0; i < n; i++)
        free(want[i]);
}

/* --- inline forwards ------------------------------------------------------------------ */

static const struct {
    const char *name, *mail;
    const char *const expect[20]; /* "path=value", or "!path" for absent */
} INLINE[] = {
    {"Gmail, plain text",
     "From: Alice Analyst <alice@corp.example>\n"
     "To: phishing@corp.example\n"
     "Subject: Fwd: Your invoice is overdue\n"
     "Date: Tue, 7 May 2024 09:12:00 +0200\n"
     "Message-ID: <fwd1@mail.corp.example>\n"
     "Received: from mx.corp.example by mail.corp.example; Tue, 7 May 2024 09:12:01 +0200\n"
     "Authentication-Results: mx.corp.example; spf=pass smtp.mailfrom=corp.example; dkim=pass; "
     "dmarc=pass\n"
     "MIME-Version: 1.0\n"
     "Content-Type: text/plain; charset=utf-8\n"
     "\n"
     "This looks fishy, see https://intranet.corp.example/help in my signature.\n"
     "\n"
     "---------- Forwarded message ---------\n"
     "From: Billing Dept <billing@evil-invoices.example>\n"
     "Date: Mon, 6 May 2024 at 18:03\n"
     "Subject: Your invoice is overdue\n"
     "To: Alice Analyst <alice@corp.example>, <bob@corp.example>\n"
     "\n"
     "\n"
     "Dear customer, pay at hxxps://evil-invoices[.]example/pay?id=7 today.\n",
     {"email.forwarded=inline", "email.from=Billing Dept <billing@evil-invoices.example>",
      "email.to.1=bob@corp.example", "email.subject=Your invoice is overdue",
      "title=Reported phishing: Your invoice is overdue", "reporter.email=alice@corp.example",
      "email.urls.0=https://evil-invoices.example/pay?id=7", "!email.urls.1", "!email.received",
      "!email.auth", "!email.message_id", "!email.date",
      "email.headers.Date=Mon, 6 May 2024 at 18:03",
      "extra.report.subject=Fwd: Your invoice is overdue",
      "extra.report.comment=This looks fishy, see https://intranet.corp.example/help in my "
      "signature.",
      "email.body_text=Dear customer, pay at hxxps://evil-invoices[.]example/pay?id=7 today.\n"}},
    {"Outlook, text and HTML",
     "From: \"Bob User\" <bob@corp.example>\n"
     "To: phishing@corp.example\n"
     "Subject: FW: Password expiry notice\n"
     "MIME-Version: 1.0\n"
     "Content-Type: multipart/alternative; boundary=\"b1\"\n"
     "\n"
     "--b1\n"
     "Content-Type: text/plain; charset=us-ascii\n"
     "\n"
     "Please check.\n"
     "\n"
     "-----Original Message-----\n"
     "From: IT Helpdesk [mailto:helpdesk@it-support-portal.example] \n"
     "Sent: Monday, May 6, 2024 4:02 PM\n"
     "To: Bob User <bob@corp.example>\n"
     "Cc: team@corp.example\n"
     "Subject: Password expiry notice\n"
     "\n"
     "Your password expires today. Keep it: http://198.51.100.23/keep\n"
     "\n"
     "--b1\n"
     "Content-Type: text/html; charset=us-ascii\n"
     "\n"
     "<html><body><p>Please check. <a href=\"https://intranet.corp.example/sig\">sig</a></p>\n"
     "<hr style=\"display:inline-block;width:98%\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><font "
     "face=\"Calibri\"><b>From:</b> IT Helpdesk "
     "&lt;helpdesk@it-support-portal.example&gt;<br><b>Sent:</b> Monday, May 6, 2024 4:02 "
     "PM<br><b>To:</b> Bob User &lt;bob@corp.example&gt;<br><b>Subject:</b> Password expiry "
     "notice</font><div>&nbsp;</div></div>\n"
     "<p>Your password expires today. <a "
     "href=\"http://198.51.100.23/keep\">https://portal.corp.example/keep</a></p></body></html>\n"
     "--b1--\n",
     {"email.forwarded=inline", "email.from=IT Helpdesk <helpdesk@it-support-portal.example>",
      "email.to.0=Bob User <bob@corp.example>", "email.headers.Sent=Monday, May 6, 2024 4:02 PM",
      "email.headers.Cc=team@corp.example", "email.links.0.text=https://portal.corp.example/keep",
      "!email.links.1", "extra.report.comment=Please check.", "reporter.email=bob@corp.example"}},
    {"Gmail, HTML only",
     "From: Carol <carol@corp.example>\n"
     "To: phishing@corp.example\n"
     "Subject: Fwd: Shared document\n"
     "Content-Type: text/html; charset=utf-8\n"
     "\n"
     "<div dir=\"ltr\">scam?<br><br><div class=\"gmail_quote\"><div dir=\"ltr\" "
     "class=\"gmail_attr\">---------- Forwarded message ---------<br>From: <strong "
     "class=\"gmail_sendername\" dir=\"auto\">Docs</strong> <span dir=\"auto\">&lt;<a "
     "href=\"mailto:share@docs-share.example\">share@docs-share.example</a>&gt;</span><br>Date: "
     "Mon, 6 May 2024 at 18:03<br>Subject: Shared document<br>To: &lt;<a "
     "href=\"mailto:carol@corp.example\">carol@corp.example</a>&gt;<br></div><br><br><div>Open <a "
     "href=\"https://docs-share.example/open\">the document</a></div></div></div>\n",
     {"email.forwarded=inline", "email.from=Docs <share@docs-share.example>",
      "email.to.0=carol@corp.example", "email.subject=Shared document",
      "email.links.0.url=https://docs-share.example/open", "!email.links.1",
      "reporter.email=carol@corp.example"}},
    {"Apple Mail, quoted",
     "From: Dan <dan@corp.example>\n"
     "To: phishing@corp.example\n"
     "Subject: Fwd: Delivery failed\n"
     "Content-Type: text/plain; charset=utf-8\n"
     "\n"
     "Begin forwarded message:\n"
     "\n"
     "> From: Parcel Service <noreply@parcel-track.example>\n"
     "> Subject: Delivery failed\n"
     "> Date: 6 May 2024 at 18:03:00 GMT+2\n"
     "> To: dan@corp.example\n"
     "> \n"
     "> Reschedule: https://parcel-track.example/r/1\n",
     {"email.forwarded=inline", "email.from=Parcel Service <noreply@parcel-track.example>",
      "email.date=2024-05-06T18:03:00+02:00", "email.urls.0=https://parcel-track.example/r/1"}},
    {"Thunderbird",
     "From: Eve <eve@corp.example>\n"
     "To: phishing@corp.example\n"
     "Subject: Fwd: Account suspended\n"
     "Content-Type: text/plain; charset=utf-8; format=flowed\n"
     "\n"
     "-------- Forwarded Message --------\n"
     "Subject: 	Account suspended\n"
     "Date: 	Mon, 6 May 2024 18:03:00 +0000\n"
     "From: 	Bank <alerts@bank-secure.example>\n"
     "To: 	eve@corp.example\n"
     "\n"
     "Verify at https://bank-secure.example/verify\n",
     {"email.forwarded=inline", "email.from=Bank <alerts@bank-secure.example>",
      "email.subject=Account suspended", "email.date=2024-05-06T18:03:00+00:00",
      "email.to.0=eve@corp.example"}},
    {"a reply quoting the original is the replier's own mail",
     "From: Alice <alice@corp.example>\n"
     "To: bob@corp.example\n"
     "Subject: RE: lunch\n"
     "Content-Type: text/plain\n"
     "\n"
     "Sure.\n"
     "\n"
     "-----Original Message-----\n"
     "From: Bob <bob@corp.example>\n"
     "Sent: Monday, May 6, 2024 4:02 PM\n"
     "Subject: lunch\n"
     "\n"
     "Lunch at https://food.example ?\n",
     {"!email.forwarded", "email.from=Alice <alice@corp.example>", "!reporter",
      "email.urls.0=https://food.example"}},
    {"a marker without a From block is no forward",
     "From: Alice <alice@corp.example>\n"
     "To: phishing@corp.example\n"
     "Subject: Fwd: see below\n"
     "Content-Type: text/plain\n"
     "\n"
     "---------- Forwarded message ---------\n"
     "Hello, this is just text https://a.example\n",
     {"!email.forwarded", "email.from=Alice <alice@corp.example>", "!reporter"}},
    {"German Outlook, folded To",
     "From: Alice <alice@corp.example>\n"
     "To: phishing@corp.example\n"
     "Subject: WG: Rechnung\n"
     "Content-Type: text/plain; charset=utf-8\n"
     "\n"
     "________________________________\n"
     "Von: Buchhaltung <rechnung@evil.example>\n"
     "Gesendet: Montag, 6. Mai 2024 16:02\n"
     "An: Alice <alice@corp.example>; \n"
     "  Bob <bob@corp.example>\n"
     "Betreff: Rechnung\n"
     "\n"
     "Zahlen Sie hier: https://evil.example/zahlen\n",
     {"email.forwarded=inline", "email.from=Buchhaltung <rechnung@evil.example>",
      "email.subject=Rechnung", "email.headers.Date=Montag, 6. Mai 2024 16:02",
      "email.to.1=Bob <bob@corp.example>", "email.urls.0=https://evil.example/zahlen"}},
};

/* A report that quotes the suspicious mail in its body: the quoted block's
 * fields are the subject's, the forwarder the reporter, only the forwarded
 * part's URLs count; replies and markers without a block are left alone. */
static void t_inline_forward(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(INLINE) / sizeof(INLINE[0]); i++) {
        json_t *a = parse(INLINE[i].mail);
        for (size_t k = 0; INLINE[i].expect[k] != NULL; k++) {
            const char *e = INLINE[i].expect[k];
            if (e[0] == '!') {
                if (at(a, e + 1) != NULL)
                    fail_msg("%s: %s should be absent", INLINE[i].name, e + 1);
                continue;
            }
            char path[64];
            const char *eq = strchr(e, '=');
            snprintf(path, sizeof(path), "%.*s", (int)(eq - e), e);
            const char *v = str(a, path);
            if (v == NULL || strcmp(v, eq + 1) != 0)
                fail_msg("%s: %s is \"%s\", want \"%s\"", INLINE[i].name, path, v ? v : "(absent)",
                         eq + 1);
        }
        json_decref(a);
    }
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_detect),         cmocka_unit_test(t_rejected),
        cmocka_unit_test(t_over_size),      cmocka_unit_test(t_too_many_headers),
        cmocka_unit_test(t_too_deep),       cmocka_unit_test(t_too_many_parts),
        cmocka_unit_test(t_headers),        cmocka_unit_test(t_auth),
        cmocka_unit_test(t_dirty_headers),  cmocka_unit_test(t_alternative),
        cmocka_unit_test(t_charsets),       cmocka_unit_test(t_attachments),
        cmocka_unit_test(t_sniff),          cmocka_unit_test(t_html_links),
        cmocka_unit_test(t_deception),      cmocka_unit_test(t_obfuscated_attachment),
        cmocka_unit_test(t_url_limit),      cmocka_unit_test(t_body_cut),
        cmocka_unit_test(t_nested),         cmocka_unit_test(t_report),
        cmocka_unit_test(t_report_eml),     cmocka_unit_test(t_spam_wrapper),
        cmocka_unit_test(t_dsn_not_report), cmocka_unit_test(t_broken),
        cmocka_unit_test(t_mbox),           cmocka_unit_test(t_hostile),
        cmocka_unit_test(t_threads),        cmocka_unit_test(t_inline_forward),
        cmocka_unit_test(t_outer_fields),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
