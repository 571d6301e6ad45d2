/*
 * test_reader.c: splitting inputs into records: every input shape, broken
 * records, limits, and the same results whether the input arrives whole or a
 * byte at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "ingest/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records rendered as "line:text" or "line:!error" joined by '|'. */
static void split(const char *in, size_t len, size_t chunk, size_t max, char *out, size_t cap)
{
    struct reader *r;
    if (chunk == 0)
        assert_int_equal(reader_new_mem(in, len, max, &r), RP_OK);
    else
        assert_int_equal(reader_new(max, &r), RP_OK);
    size_t fed = 0, o = 0;
    uint64_t last = 0;
    out[0] = '\0';
    for (;;) {
        struct reader_record rec;
        bool have;
        bool eof = chunk == 0 || fed == len;
        assert_int_equal(reader_next(r, eof, &rec, &have), RP_OK);
        if (have) {
            assert_int_equal(rec.number, last + 1);
            last = rec.number;
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

static const struct {
    const char *in;
    const char *want;
} CASES[] = {
    {"", ""},
    {"  \n ", ""},
    {"{\"a\":1}", "1:{\"a\":1}"},
    {"\xEF\xBB\xBF{\"a\":1}\n", "1:{\"a\":1}"},
    {"{\n  \"a\": 1,\n  \"b\": \"}\"\n}\n", "1:{\n  \"a\": 1,\n  \"b\": \"}\"\n}"},
    {"[{\"a\":1},{\"b\":2}]", "1:{\"a\":1}|1:{\"b\":2}"},
    {"[\n {\"a\":1},\n {\"b\":[2]}\n]\n", "2:{\"a\":1}|3:{\"b\":[2]}"},
    {"[]", ""},
    {"{\"a\":1}\n{\"b\":2}\n{\"c\":\"x\\\"y\"}\n", "1:{\"a\":1}|2:{\"b\":2}|3:{\"c\":\"x\\\"y\"}"},
    /* NDJSON with a broken line in the middle: the rest goes on */
    {"{\"a\":1}\n{\"b\":2}\n{\"c\":\n{\"d\":4}\n",
     "1:{\"a\":1}|2:{\"b\":2}|3:!unterminated string or unbalanced brackets: record does not "
     "end on its line|4:{\"d\":4}"},
    /* a raw newline inside a string ends the line's record */
    {"{\"a\":1}\n{\"b\":\"x\ny\"}\n{\"c\":3}\n",
     "1:{\"a\":1}|2:!unterminated string or unbalanced brackets: record does not end on its "
     "line|3:y\"}|4:{\"c\":3}"},
    /* a broken first line of NDJSON */
    {"{\"a\":\n{\"b\":2}\n{\"c\":3}\n",
     "1:!unterminated string or unbalanced brackets: record does not end on its line|2:{\"b\":2}|"
     "3:{\"c\":3}"},
    /* bare scalars are records of their own (rejected later by the parser) */
    {"hello\n{\"a\":1}", "1:hello|2:{\"a\":1}"},
    /* arrays: garbage between elements, after the end, unterminated */
    {"[{\"a\":1} {\"b\":2}]", "1:{\"a\":1}|1:!expected , or ] between array elements"},
    {"[{\"a\":1}] x", "1:{\"a\":1}|1:!data after the closing ] of the array"},
    {"[{\"a\":1},{\"b\":2}", "1:{\"a\":1}|1:{\"b\":2}|1:!input ends before the closing ]"},
    {"[{\"a\":1},{\"b\":", "1:{\"a\":1}|1:!the end of this record cannot be found: the rest of the "
                           "input is not read"},
};

static void t_shapes(void **state)
{
    (void)state;
    char whole[4096], bytewise[4096], chunked[4096];
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        size_t len = strlen(CASES[i].in);
        split(CASES[i].in, len, 0, 1024, whole, sizeof(whole));
        if (strcmp(whole, CASES[i].want) != 0)
            fail_msg("case %zu\n  got:  %s\n  want: %s", i, whole, CASES[i].want);
        split(CASES[i].in, len, 1, 1024, bytewise, sizeof(bytewise));
        if (strcmp(bytewise, CASES[i].want) != 0)
            fail_msg("case %zu byte by byte\n  got:  %s\n  want: %s", i, bytewise, CASES[i].want);
        split(CASES[i].in, len, 7, 1024, chunked, sizeof(chunked));
        assert_string_equal(chunked, CASES[i].want);
    }
}

static void t_too_deep(void **state)
{
    (void)state;
    size_t depth = 10000;
    char *in = malloc(2 * depth + 32);
    assert_non_null(in);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++)
        in[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        in[n++] = ']';
    memcpy(in + n, "\n{\"ok\":1}\n", 10);
    n += 10;
    char out[1 << 16];
    /* inside an outer array each element is too deep; as a sequence the one record is */
    struct reader *r;
    assert_int_equal(reader_new_mem(in + depth - 2, n - (depth - 2), 1 << 20, &r), RP_OK);
    reader_free(r);
    split(in + 1, n - 1, 0, 1 << 20, out, sizeof(out));
    assert_non_null(strstr(out, "!nested deeper than the limit"));
    free(in);
    /* a nested sequence input */
    char deep[512];
    size_t d = 0;
    d += (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
    for (int i = 0; i < RP_JSON_MAX_DEPTH; i++)
        deep[d++] = '[';
    deep[d++] = '1';
    for (int i = 0; i < RP_JSON_MAX_DEPTH; i++)
        deep[d++] = ']';
    snprintf(deep + d, sizeof(deep) - d, "}\n{\"b\":2}\n");
    split(deep, strlen(deep), 0, 1024, out, sizeof(out));
    if (strstr(out, "1:!nested deeper than the limit|2:{\"b\":2}") == NULL)
        fail_msg("got %s", out);
}

static void t_too_long(void **state)
{
    (void)state;
    char in[512];
    int n = snprintf(in, sizeof(in), "{\"a\":1}\n{\"big\":\"%0200d\"}\n{\"c\":3}\n", 7);
    char out[4096];
    split(in, (size_t)n, 0, 64, out, sizeof(out));
    assert_string_equal(out, "1:{\"a\":1}|2:!record longer than 64 bytes|3:{\"c\":3}");
    split(in, (size_t)n, 16, 64, out, sizeof(out));
    assert_string_equal(out, "1:{\"a\":1}|2:!record longer than 64 bytes|3:{\"c\":3}");
}

static void t_modes(void **state)
{
    (void)state;
    struct reader *r;
    const char *a = "[{\"a\":1}]";
    assert_int_equal(reader_new_mem(a, strlen(a), 1024, &r), RP_OK);
    struct reader_record rec;
    bool have;
    assert_int_equal(reader_next(r, true, &rec, &have), RP_OK);
    assert_true(have);
    assert_true(reader_is_array(r));
    assert_false(reader_is_ndjson(r));
    reader_free(r);
    const char *nd = "{\"a\":1}\n{\"a\":2}\n";
    assert_int_equal(reader_new_mem(nd, strlen(nd), 1024, &r), RP_OK);
    assert_int_equal(reader_next(r, true, &rec, &have), RP_OK);
    assert_int_equal(reader_next(r, true, &rec, &have), RP_OK);
    assert_true(reader_is_ndjson(r));
    reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_shapes),
        cmocka_unit_test(t_too_deep),
        cmocka_unit_test(t_too_long),
        cmocka_unit_test(t_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
