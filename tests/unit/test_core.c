/*
 * test_core.c: buffers, ULIDs, time parsing and formatting, durations, log
 * quoting, error messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/time.h"
#include "core/ulid.h"

#include <stdlib.h>
#include <string.h>

static void t_buf_bounded(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "hello"), RP_OK);
    assert_int_equal(buf_puts(&b, "world"), RP_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    assert_int_equal(buf_puts(&b, "!"), RP_E_LIMIT);
    assert_int_equal(b.len, 10); /* nothing appended on failure */
    buf_consume(&b, 5);
    assert_string_equal(b.data, "world");
    assert_int_equal(buf_printf(&b, "%d", 12345), RP_OK);
    assert_string_equal(b.data, "world12345");
    assert_int_equal(buf_printf(&b, "%d", 1), RP_E_LIMIT);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    char *p = buf_steal(&b);
    assert_non_null(p);
    free(p);
    assert_null(b.data);
    buf_fini(&b);
    buf_fini(NULL);
}

static void t_rp_fmt(void **state)
{
    (void)state;
    char s[6];
    assert_true(rp_fmt(s, sizeof(s), "%s", "abc"));
    assert_false(rp_fmt(s, sizeof(s), "%s", "abcdefgh"));
    assert_string_equal(s, "abcde");
}

static void t_ulid(void **state)
{
    (void)state;
    char a[ULID_LEN + 1], b[ULID_LEN + 1];
    assert_int_equal(ulid_new(a), RP_OK);
    assert_true(ulid_valid(a, strlen(a)));
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(ulid_new(b), RP_OK);
        assert_true(strcmp(a, b) < 0); /* strictly increasing */
        memcpy(a, b, sizeof(a));
    }
    assert_int_equal(ulid_new_at(1700000000123LL, b), RP_OK);
    assert_int_equal(ulid_time_ms(b), 1700000000123LL);
    assert_false(ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA", 25));
    assert_false(ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAU", 26)); /* U is not Crockford */
    assert_false(ulid_valid("81ARZ3NDEKTSV4RRFFQ69G5FAV", 26)); /* time overflow */
    assert_true(ulid_valid("01arz3ndektsv4rrffq69g5fav", 26));
}

static const struct {
    const char *in;
    int ok;
    int64_t ms;
} TIMES[] = {
    {"1970-01-01T00:00:00Z", 1, 0},
    {"2026-11-30T09:48:36.123Z", 1, 1796032116123LL},
    {"2026-11-30T10:48:36.123+01:00", 1, 1796032116123LL},
    {"2026-11-30 09:48:36.123456789z", 1, 1796032116123LL},
    {"2024-02-29T00:00:00Z", 1, 1709164800000LL},
    {"2023-02-29T00:00:00Z", 0, 0},
    {"2026-13-01T00:00:00Z", 0, 0},
    {"2026-11-30T24:00:00Z", 0, 0},
    {"2026-11-30T09:48:36", 0, 0},
    {"2026-11-30T09:48:36.Z", 0, 0},
    {"2026-11-30T09:48:36Zjunk", 0, 0},
    {"1969-12-31T23:59:59Z", 0, 0},
    {"", 0, 0},
    {"yesterday", 0, 0},
    {"1970-01-01T00:00:00+02:00", 0, 0}, /* before the epoch once the offset applies */
    {"9999-12-31T23:59:59-01:00", 0, 0}, /* in year 10000 once the offset applies */
    {"9999-12-31T23:59:59+01:00", 1, 253402297199000LL},
};

static void t_time_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TIMES) / sizeof(TIMES[0]); i++) {
        int64_t ms = -1;
        struct rp_error err;
        rp_status st = time_parse_rfc3339(TIMES[i].in, strlen(TIMES[i].in), &ms, &err);
        if (TIMES[i].ok) {
            assert_int_equal(st, RP_OK);
            assert_int_equal(ms, TIMES[i].ms);
        } else {
            assert_int_equal(st, RP_E_INVALID);
            assert_true(strlen(err.msg) > 0);
        }
    }
}

static void t_time_format(void **state)
{
    (void)state;
    char out[TIME_RFC3339_LEN];
    time_format_rfc3339(1796032116123LL, out);
    assert_string_equal(out, "2026-11-30T09:48:36.123Z");
    time_format_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    int64_t ms;
    assert_int_equal(time_parse_rfc3339(out, strlen(out), &ms, NULL), RP_OK);
    assert_int_equal(ms, 0);
    assert_true(time_now_ms() > 1700000000000LL);
}

static void t_duration(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ms; /* -1: invalid */
    } D[] = {
        {"24h", 86400000LL},
        {"1h30m", 5400000LL},
        {"90", 90000LL},
        {"250ms", 250},
        {"7d", 604800000LL},
        {"1w", 604800000LL},
        {"", -1},
        {"h", -1},
        {"5x", -1},
        {"-5s", -1},
        {"99999999999999999999d", -1},
    };
    for (size_t i = 0; i < sizeof(D) / sizeof(D[0]); i++) {
        int64_t ms = 0;
        rp_status st = time_parse_duration(D[i].in, &ms, NULL);
        if (D[i].ms < 0) {
            assert_int_equal(st, RP_E_INVALID);
        } else {
            assert_int_equal(st, RP_OK);
            assert_int_equal(ms, D[i].ms);
        }
    }
}

static void t_log_quote(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(log_quote(b, sizeof(b), "plain"), "plain");
    assert_string_equal(log_quote(b, sizeof(b), "two words"), "\"two words\"");
    assert_string_equal(log_quote(b, sizeof(b), "a\"b\nc"), "\"a\\\"b\\nc\"");
    assert_string_equal(log_quote(b, sizeof(b), "k=v"), "\"k=v\"");
    assert_string_equal(log_quote(b, sizeof(b), ""), "\"\"");
    char small[8];
    log_quote(small, sizeof(small), "a very long value with spaces");
    assert_true(strlen(small) < sizeof(small));
    enum log_level l;
    assert_int_equal(log_level_parse("warn", &l), RP_OK);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("loud", &l), RP_E_INVALID);
}

static void t_error(void **state)
{
    (void)state;
    struct rp_error e;
    assert_int_equal(rp_error_set(&e, RP_E_INVALID, "field %s", "x"), RP_E_INVALID);
    rp_error_prefix(&e, "record %d", 3);
    assert_string_equal(e.msg, "record 3: field x");
    assert_string_equal(rp_status_str(RP_E_LIMIT), "limit reached");
    char big[2 * RP_ERROR_MAX];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rp_error_set(&e, RP_E_INVALID, "%s", big);
    assert_int_equal(strlen(e.msg), RP_ERROR_MAX - 1);
    assert_string_equal(e.msg + RP_ERROR_MAX - 4, "...");
}

static void t_hash(void **state)
{
    (void)state;
    char hex[HASH_SHA256_HEX_LEN + 1];
    hash_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_buf_bounded), cmocka_unit_test(t_rp_fmt),
        cmocka_unit_test(t_ulid),        cmocka_unit_test(t_time_parse),
        cmocka_unit_test(t_time_format), cmocka_unit_test(t_duration),
        cmocka_unit_test(t_log_quote),   cmocka_unit_test(t_error),
        cmocka_unit_test(t_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
