/*
 * test_format.c: format names, detection from the first bytes, framing, and
 * the reader's line and whole-input framings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/format.h"
#include "ingest/reader.h"

#include <stdio.h>
#include <string.h>

static void t_names(void **state)
{
    (void)state;
    struct ingest_format_spec s;
    struct rp_error err;
    assert_int_equal(ingest_format_from_name("cef", &s, &err), RP_OK);
    assert_int_equal(s.format, FORMAT_CEF);
    assert_null(s.vendor);
    assert_int_equal(ingest_format_from_name("okta", &s, &err), RP_OK);
    assert_int_equal(s.format, FORMAT_JSON);
    assert_string_equal(s.vendor, "okta");
    assert_int_equal(ingest_format_from_name("eml", &s, &err), RP_OK);
    assert_int_equal(s.format, FORMAT_MAIL);
    assert_int_equal(ingest_format_from_name("xml", &s, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "unknown format 'xml'"));
    assert_string_equal(ingest_format_name(FORMAT_WINXML), "winxml");
}

static const struct {
    const char *in;
    enum ingest_format want;
} DETECT[] = {
    {"", FORMAT_JSON},
    {"  \n{\"a\":1}", FORMAT_JSON},
    {"\xEF\xBB\xBF[1]", FORMAT_JSON},
    {"CEF:0|Vendor|Product|1.0|100|Name|5|src=1.2.3.4", FORMAT_CEF},
    {"LEEF:1.0|V|P|1|E|src=1.2.3.4", FORMAT_LEEF},
    {"<34>1 2026-11-30T09:48:36Z host app - - - msg", FORMAT_SYSLOG},
    {"<13>Nov 30 09:48:36 host sshd[1]: Failed password for root from 1.2.3.4", FORMAT_SYSLOG},
    {"Nov 30 09:48:36 host sshd[1]: Failed password", FORMAT_SYSLOG},
    {"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>", FORMAT_WINXML},
    {"<?xml version=\"1.0\"?>\n<Event>", FORMAT_WINXML},
};

static void t_detect(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(DETECT) / sizeof(DETECT[0]); i++) {
        enum ingest_format f = ingest_format_detect(DETECT[i].in, strlen(DETECT[i].in));
        if (f != DETECT[i].want)
            fail_msg("'%s': detected %s, want %s", DETECT[i].in, ingest_format_name(f),
                     ingest_format_name(DETECT[i].want));
    }
    assert_int_equal(ingest_format_framing(FORMAT_JSON), FRAMING_JSON);
    assert_int_equal(ingest_format_framing(FORMAT_CEF), FRAMING_LINES);
    assert_int_equal(ingest_format_framing(FORMAT_MAIL), FRAMING_WHOLE);
}

/* Records of a framed reader as "line:text|..." fed in chunks of size chunk. */
static void cut(enum reader_framing fr, const char *in, size_t chunk, size_t max, char *out,
                size_t cap)
{
    struct reader *r;
    assert_int_equal(reader_new_framed(fr, max, &r), RP_OK);
    size_t len = strlen(in), fed = 0, o = 0;
    out[0] = '\0';
    for (;;) {
        struct reader_record rec;
        bool have;
        bool eof = fed == len;
        assert_int_equal(reader_next(r, eof, &rec, &have), RP_OK);
        if (have) {
            int n = rec.error ? snprintf(out + o, cap - o, "%s%llu:!%s", o ? "|" : "",
                                         (unsigned long long)rec.line, rec.error)
                              : snprintf(out + o, cap - o, "%s%llu:%.*s", o ? "|" : "",
                                         (unsigned long long)rec.line, (int)rec.len, rec.data);
            assert_true(n > 0 && (size_t)n < cap - o);
            o += (size_t)n;
            continue;
        }
        if (eof)
            break;
        size_t n = len - fed < chunk ? len - fed : chunk;
        assert_int_equal(reader_feed(r, in + fed, n), RP_OK);
        fed += n;
    }
    reader_free(r);
}

static void t_lines(void **state)
{
    (void)state;
    char out[1024];
    const char *in = "a b\r\n\n  \nCEF:0|x\nlast";
    for (size_t chunk = 1; chunk < 8; chunk++) {
        cut(READER_LINES, in, chunk, 64, out, sizeof(out));
        assert_string_equal(out, "1:a b|4:CEF:0|x|5:last");
    }
    cut(READER_LINES, "short\nthis line is too long\nok\n", 3, 8, out, sizeof(out));
    assert_string_equal(out, "1:short|2:!line longer than 8 bytes|3:ok");
}

static void t_whole(void **state)
{
    (void)state;
    char out[1024];
    cut(READER_WHOLE, "From: a\nTo: b\n\nbody\n", 4, 64, out, sizeof(out));
    assert_string_equal(out, "1:From: a\nTo: b\n\nbody\n");
    cut(READER_WHOLE, "0123456789abcdef", 5, 8, out, sizeof(out));
    assert_string_equal(out, "1:!input longer than 8 bytes");
    cut(READER_WHOLE, " \n ", 1, 8, out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_names),
        cmocka_unit_test(t_detect),
        cmocka_unit_test(t_lines),
        cmocka_unit_test(t_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
