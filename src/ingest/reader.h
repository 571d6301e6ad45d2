/*
 * reader.h: splits an input stream into JSON records without parsing them.
 *
 * An input is one of:
 *   - a JSON array of objects           -> each element is a record;
 *   - one JSON object (pretty or not)   -> one record;
 *   - NDJSON: one object per line       -> each line is a record;
 *   - several objects one after another -> each is a record.
 * The reader finds where each record starts and ends (tracking strings, escapes
 * and nesting), so that each record is then parsed alone: a broken record is
 * rejected with its number and line while the others go on, memory holds one
 * record at a time however large the input, and the bytes of each record are
 * kept exactly as received.
 *
 * Once two records have been seen on lines of their own the input is taken to be
 * NDJSON: a record may then not span lines, so an unbalanced line is rejected and
 * the reader carries on at the next line. In an array, a record whose end cannot
 * be found ends the input (the rest cannot be split reliably), reported as one
 * rejected record.
 *
 * Bounded: a record longer than max_record or nested deeper than RP_JSON_MAX_DEPTH
 * is rejected (and skipped). One reader per input; not thread-safe.
 */
#ifndef RP_INGEST_READER_H
#define RP_INGEST_READER_H

#include "core/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reader;

/* How records are cut: JSON documents (above), one record per line (blank lines
 * skipped, a trailing \r dropped), or the whole input as one record. */
enum reader_framing { READER_JSON, READER_LINES, READER_WHOLE };

struct reader_record {
    const char *data; /* the record's bytes, valid until the next reader call */
    size_t len;
    uint64_t number;   /* 1-based ordinal of the record in the input */
    uint64_t line;     /* 1-based line where the record starts */
    const char *error; /* NULL, or why the record could not be delimited */
};

/* A reader for one input. max_record: longest record accepted (bytes). */
rp_status reader_new(size_t max_record, struct reader **out) RP_MUST_CHECK;

/* The same with another framing. */
rp_status reader_new_framed(enum reader_framing framing, size_t max_record,
                            struct reader **out) RP_MUST_CHECK;
rp_status reader_new_mem_framed(enum reader_framing framing, const char *data, size_t len,
                                size_t max_record, struct reader **out) RP_MUST_CHECK;

/* A reader over a whole input already in memory (an HTTP body): nothing is
 * copied, data must outlive the reader, and reader_feed must not be called. */
rp_status reader_new_mem(const char *data, size_t len, size_t max_record,
                         struct reader **out) RP_MUST_CHECK;
void reader_free(struct reader *r);

/* Appends the next n bytes of the input. RP_E_LIMIT if the reader holds more than
 * max_record + n bytes undelivered (the caller should call reader_next first). */
rp_status reader_feed(struct reader *r, const char *p, size_t n) RP_MUST_CHECK;

/* Delivers the next record. *have is false when more input is needed (or, after
 * eof, when the input is finished). eof: no more bytes will be fed. A record with
 * error set is malformed: report it and carry on. */
rp_status reader_next(struct reader *r, bool eof, struct reader_record *rec,
                      bool *have) RP_MUST_CHECK;

/* True once the reader has found the input to be a JSON array, or NDJSON. */
bool reader_is_array(const struct reader *r);
bool reader_is_ndjson(const struct reader *r);

#endif
