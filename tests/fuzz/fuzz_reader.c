/*
 * fuzz_reader.c: libFuzzer target for the record splitter (ingest/reader.h).
 *
 * The input is fed to one reader in pieces whose sizes follow a pattern picked
 * by the first byte (1 byte at a time, primes, whole input...), so that every
 * state of the splitter meets a piece boundary. The reader is drained after
 * each piece and at eof. Broken invariants abort():
 *   - a record's bytes appear in the input, in order, after the previous one's
 *     (the reader delivers bytes exactly as received, never invents any);
 *   - record numbers strictly increase and lines never go back;
 *   - feeding after a full drain never reports RP_E_LIMIT;
 *   - the reader terminates (at most one record per input byte, plus a few).
 * Memory: everything allocated per input is freed before returning.
 */
#include "core/limits.h"
#include "ingest/reader.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Piece sizes: index (first byte & 7) picks the row, pieces cycle through it. */
static const size_t piece_sizes[8][4] = {
    {1, 1, 1, 1},   {2, 3, 5, 7},     {16, 1, 16, 1},  {64, 64, 64, 64},
    {3, 100, 1, 9}, {4096, 1, 2, 13}, {7, 11, 13, 17}, {SIZE_MAX, 0, 0, 0},
};

/* Longest record, from bits 3-4 of the first byte: small values reach the
 * too-long paths with short inputs. */
static const size_t max_records[4] = {16, 256, 4096, RP_RECORD_MAX_BYTES};

struct check {
    const char *input; /* the whole input (records must come from it) */
    size_t fed;        /* bytes fed so far */
    size_t cursor;     /* where the previous record ended in the input */
    uint64_t last_number;
    uint64_t last_line;
    uint64_t newlines; /* newlines fed so far */
    size_t records;    /* delivered so far */
};

static void check_record(struct check *c, const struct reader_record *rec)
{
    if (rec->number <= c->last_number)
        abort(); /* numbers must strictly increase */
    if (rec->line < c->last_line || rec->line == 0 || rec->line > c->newlines + 1)
        abort(); /* lines start at 1, never go back, never pass what was fed */
    c->last_number = rec->number;
    c->last_line = rec->line;
    if (rec->len > 0) {
        if (rec->data == NULL)
            abort();
        /* The earliest occurrence at or after the cursor: a greedy match finds
         * an ordered placement whenever one exists. */
        if (c->cursor > c->fed)
            abort();
        const char *at = memmem(c->input + c->cursor, c->fed - c->cursor, rec->data, rec->len);
        if (at == NULL)
            abort(); /* bytes that were never fed, or out of order */
        c->cursor = (size_t)(at - c->input) + rec->len;
    }
    if (++c->records > c->fed + 16)
        abort(); /* more records than bytes: the reader is looping */
}

/* Drains every record the reader can deliver now; false if the reader failed
 * (out of memory, a limit): the input is abandoned. */
static bool drain(struct reader *r, struct check *c, bool eof)
{
    for (;;) {
        struct reader_record rec;
        bool have = false;
        memset(&rec, 0, sizeof(rec));
        rp_status st = reader_next(r, eof, &rec, &have);
        if (st != RP_OK)
            return false;
        if (!have)
            return true;
        check_record(c, &rec);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *input = (const char *)data + 1;
    size_t n = size - 1;
    const size_t *pieces = piece_sizes[mode & 7];
    size_t max_record = max_records[(mode >> 3) & 3];

    struct reader *r = NULL;
    if (reader_new(max_record, &r) != RP_OK)
        return 0;
    struct check c = {.input = input};
    size_t i = 0;
    bool ok = true;
    while (ok && c.fed < n) {
        size_t want = pieces[i++ % 4];
        if (want == 0)
            want = 1;
        if (want > n - c.fed)
            want = n - c.fed;
        rp_status st = reader_feed(r, input + c.fed, want);
        if (st == RP_E_LIMIT)
            abort(); /* the reader was drained: it must take the next piece */
        if (st != RP_OK)
            break;
        for (size_t k = 0; k < want; k++)
            c.newlines += input[c.fed + k] == '\n';
        c.fed += want;
        ok = drain(r, &c, false);
    }
    if (ok && c.fed == n)
        (void)drain(r, &c, true);
    /* is_array and is_ndjson cannot both hold */
    if (reader_is_array(r) && reader_is_ndjson(r))
        abort();
    reader_free(r);
    return 0;
}
