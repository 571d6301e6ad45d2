/*
 * stream.c: one input (a file or stdin) through the reader into batches, for
 * `ingest` and `parse`. The first chunk read decides the format (unless one was
 * given), and so how the input is cut into records. Main thread.
 */
#include "cli/cli.h"

#include "core/limits.h"
#include "ingest/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static rp_status read_chunk(FILE *f, const char *name, char *chunk, size_t *n, bool *eof)
{
    *n = fread(chunk, 1, RP_INGEST_READ_CHUNK, f);
    if (*n < RP_INGEST_READ_CHUNK) {
        *eof = true;
        if (ferror(f)) {
            cli_errorf("%s: read error: %s", name, strerror(errno));
            return RP_E_IO;
        }
    }
    return RP_OK;
}

static rp_status hand_over(struct ingest_batch **b, const struct ingest_opts *opts, cli_batch_fn fn,
                           void *arg, const char *name)
{
    if (ingest_batch_records(*b) == 0)
        return RP_OK;
    rp_status st = fn(arg, *b, name);
    ingest_batch_free(*b);
    *b = NULL;
    return st == RP_OK ? ingest_batch_new(opts, b) : st;
}

rp_status cli_stream(FILE *f, const char *name, const struct ingest_opts *opts, cli_batch_fn fn,
                     void *arg)
{
    struct ingest_batch *b = NULL;
    struct reader *rd = NULL;
    char *chunk = malloc(RP_INGEST_READ_CHUNK);
    if (chunk == NULL)
        return RP_E_NOMEM;
    bool eof = false;
    size_t n = 0;
    rp_status st = read_chunk(f, name, chunk, &n, &eof);
    enum ingest_format detected = FORMAT_JSON;
    enum reader_framing framing = ingest_framing_for(&opts->format, chunk, n, &detected);
    /* records of a JSON or whole input are read in the input's format; lines stay
     * auto-detected one by one (a syslog stream may carry CEF and JSON lines) */
    struct ingest_opts fixed = *opts;
    if (framing != READER_LINES)
        fixed.format.format = detected;
    opts = &fixed;
    rp_status rst = reader_new_framed(framing, ingest_format_record_max(detected), &rd);
    if (rst == RP_OK && n > 0)
        rst = reader_feed(rd, chunk, n);
    if (rst == RP_OK)
        rst = ingest_batch_new(opts, &b);
    if (rst != RP_OK) {
        st = rst;
        goto out;
    }
    bool io_failed = st == RP_E_IO;
    st = RP_OK;
    while (st == RP_OK) {
        struct reader_record rec;
        bool have = false;
        st = reader_next(rd, eof, &rec, &have);
        if (st != RP_OK)
            break;
        if (have) {
            st = rec.error
                     ? ingest_batch_reject(b, rec.data, rec.len, rec.number, rec.line, rec.error)
                     : ingest_batch_add(b, rec.data, rec.len, rec.number, rec.line);
            if (st == RP_OK && ingest_batch_records(b) >= RP_COMMIT_GROUP_MAX)
                st = hand_over(&b, opts, fn, arg, name);
            continue;
        }
        if (eof)
            break;
        st = read_chunk(f, name, chunk, &n, &eof);
        if (st == RP_E_IO) {
            io_failed = true;
            st = RP_OK;
        }
        if (st == RP_OK && n > 0)
            st = reader_feed(rd, chunk, n);
    }
    /* what was read before an I/O error is still handed over */
    if (st == RP_OK || (b != NULL && st == RP_E_IO))
        st = hand_over(&b, opts, fn, arg, name);
    if (st == RP_OK && io_failed)
        st = RP_E_IO;
out:
    ingest_batch_free(b);
    reader_free(rd);
    free(chunk);
    return st;
}
