/*
 * reader.c: the record splitter (see reader.h for what it accepts). A single
 * forward scan per record, no recursion: nesting is a counter, so hostile depth
 * costs nothing but a rejection. Streaming readers keep the undelivered bytes in
 * a bounded buffer; memory readers point into the caller's bytes.
 */
#include "ingest/reader.h"

#include "core/buf.h"
#include "core/limits.h"

#include <stdlib.h>
#include <string.h>

enum mode { MODE_UNKNOWN, MODE_SEQ, MODE_ARRAY, MODE_DONE };
enum arr_state { ARR_FIRST, ARR_VALUE, ARR_AFTER, ARR_END };

struct reader {
    enum reader_framing framing;
    struct buf in;    /* streaming: the undelivered bytes */
    const char *data; /* what is scanned: in.data, or the caller's memory */
    size_t len;
    size_t pos;
    bool mem;
    size_t max_record;
    uint64_t line;   /* line at pos */
    uint64_t number; /* records delivered */
    enum mode mode;
    enum arr_state arr;
    bool ndjson;
    bool skipping; /* discarding the rest of an over-long line */
    bool started;  /* past a possible byte-order mark */
    uint64_t last_end_line;
    bool last_single;
    char errbuf[128];
};

static struct reader *alloc_reader(size_t max_record)
{
    struct reader *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->max_record = max_record;
    r->line = 1;
    buf_init(&r->in, max_record + RP_INGEST_READ_CHUNK + 64);
    return r;
}

rp_status reader_new_framed(enum reader_framing framing, size_t max_record, struct reader **out)
{
    *out = alloc_reader(max_record);
    if (*out == NULL)
        return RP_E_NOMEM;
    (*out)->framing = framing;
    return RP_OK;
}

rp_status reader_new_mem_framed(enum reader_framing framing, const char *data, size_t len,
                                size_t max_record, struct reader **out)
{
    struct reader *r = alloc_reader(max_record);
    if (r == NULL)
        return RP_E_NOMEM;
    r->framing = framing;
    r->mem = true;
    r->data = data;
    r->len = len;
    *out = r;
    return RP_OK;
}

rp_status reader_new(size_t max_record, struct reader **out)
{
    return reader_new_framed(READER_JSON, max_record, out);
}

rp_status reader_new_mem(const char *data, size_t len, size_t max_record, struct reader **out)
{
    return reader_new_mem_framed(READER_JSON, data, len, max_record, out);
}

void reader_free(struct reader *r)
{
    if (r == NULL)
        return;
    buf_fini(&r->in);
    free(r);
}

bool reader_is_array(const struct reader *r)
{
    return r->mode == MODE_ARRAY || (r->mode == MODE_DONE && r->arr != ARR_FIRST);
}

bool reader_is_ndjson(const struct reader *r)
{
    return r->ndjson;
}

rp_status reader_feed(struct reader *r, const char *p, size_t n)
{
    RP_ASSERT(!r->mem);
    if (r->framing == READER_WHOLE && r->in.len + n > r->max_record + 1) {
        /* keep one byte past the limit: enough to know the input is too long */
        size_t room = r->max_record + 1 - r->in.len;
        n = n < room ? n : room;
    }
    if (r->pos > 0) {
        buf_consume(&r->in, r->pos);
        r->pos = 0;
    }
    rp_status st = buf_append(&r->in, p, n);
    r->data = r->in.data;
    r->len = r->in.len;
    return st;
}

enum scan { SCAN_COMPLETE, SCAN_MORE, SCAN_TOO_LONG, SCAN_LINE_BROKEN, SCAN_EOF_INSIDE };

struct scan_out {
    size_t end;        /* one past the record (COMPLETE), or where the line broke */
    uint64_t newlines; /* inside the record */
    bool too_deep;
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Finds the end of the value starting at r->pos. */
static enum scan scan_value(struct reader *r, bool eof, struct scan_out *o)
{
    const char *d = r->data;
    size_t start = r->pos, i = start;
    size_t limit = r->len - start > r->max_record ? start + r->max_record : r->len;
    memset(o, 0, sizeof(*o));
    char c = d[start];
    if (c != '{' && c != '[' && c != '"') {
        /* a bare scalar: up to the next delimiter; rejected later by the parser */
        if (r->mode == MODE_SEQ) /* a line of garbage is one bad record, not several */
            while (i < limit && d[i] != '\n')
                i++;
        else
            while (i < limit && !is_ws(d[i]) && d[i] != ',' && d[i] != ']' && d[i] != '}')
                i++;
        if (i == start)
            i++; /* a lone delimiter is a record of its own, so that it is reported */
        if (i >= limit && limit < r->len)
            return SCAN_TOO_LONG;
        if (i >= r->len && !eof)
            return SCAN_MORE;
        o->end = i;
        return SCAN_COMPLETE;
    }
    long depth = 0;
    bool in_str = false, esc = false;
    for (; i < limit; i++) {
        char ch = d[i];
        if (in_str) {
            if (ch == '\n' && r->mode != MODE_ARRAY) {
                /* JSON strings cannot hold a raw newline (not even escaped): outside
                 * an array the line is the record */
                o->end = i;
                return SCAN_LINE_BROKEN;
            }
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"') {
                in_str = false;
                if (depth == 0) {
                    o->end = i + 1;
                    return SCAN_COMPLETE;
                }
            } else if (ch == '\n') {
                o->newlines++; /* in an array the string still ends at its quote */
            }
            continue;
        }
        switch (ch) {
        case '"':
            in_str = true;
            break;
        case '{':
        case '[':
            if (++depth > RP_JSON_MAX_DEPTH)
                o->too_deep = true;
            break;
        case '}':
        case ']':
            if (--depth == 0) {
                o->end = i + 1;
                return SCAN_COMPLETE;
            }
            break;
        case '\n':
            if (r->ndjson) {
                o->end = i;
                return SCAN_LINE_BROKEN;
            }
            o->newlines++;
            break;
        default:
            break;
        }
    }
    if (limit < r->len || i - start >= r->max_record)
        return SCAN_TOO_LONG;
    return eof ? SCAN_EOF_INSIDE : SCAN_MORE;
}

static void deliver(struct reader *r, struct reader_record *rec, size_t start, size_t end,
                    uint64_t line, const char *error)
{
    rec->data = r->data + start;
    rec->len = end - start;
    rec->number = ++r->number;
    rec->line = line;
    rec->error = error;
}

/* End of the line that starts the record at start (or the end of the data). */
static size_t line_end(struct reader *r, size_t start)
{
    const char *nl = memchr(r->data + start, '\n', r->len - start);
    return nl ? (size_t)(nl - r->data) : r->len;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_ws(p[i]))
            return false;
    return true;
}

/* One line per record. */
static rp_status next_line(struct reader *r, bool eof, struct reader_record *rec, bool *have)
{
    for (;;) {
        if (r->pos >= r->len)
            return RP_OK;
        size_t e = line_end(r, r->pos);
        bool complete = e < r->len || eof;
        size_t start = r->pos;
        if (!complete && e - start <= r->max_record)
            return RP_OK; /* wait for the rest of the line */
        uint64_t line = r->line;
        size_t end = e;
        if (end > start && r->data[end - 1] == '\r')
            end--;
        if (end - start > r->max_record) {
            rp_fmt(r->errbuf, sizeof(r->errbuf), "line longer than %zu bytes", r->max_record);
            deliver(r, rec, start, start + r->max_record, line, r->errbuf);
            r->pos = start + r->max_record;
            r->skipping = true;
            *have = true;
            return RP_OK;
        }
        r->pos = e < r->len ? e + 1 : e;
        r->line++;
        if (blank(r->data + start, end - start))
            continue;
        deliver(r, rec, start, end, line, NULL);
        *have = true;
        return RP_OK;
    }
}

/* The whole input as one record. */
static rp_status next_whole(struct reader *r, bool eof, struct reader_record *rec, bool *have)
{
    if (!eof || r->mode == MODE_DONE)
        return RP_OK;
    r->mode = MODE_DONE;
    if (blank(r->data + r->pos, r->len - r->pos))
        return RP_OK;
    if (r->len - r->pos > r->max_record) {
        rp_fmt(r->errbuf, sizeof(r->errbuf), "input longer than %zu bytes", r->max_record);
        deliver(r, rec, r->pos, r->pos + r->max_record, 1, r->errbuf);
    } else {
        deliver(r, rec, r->pos, r->len, 1, NULL);
    }
    r->pos = r->len;
    *have = true;
    return RP_OK;
}

rp_status reader_next(struct reader *r, bool eof, struct reader_record *rec, bool *have)
{
    *have = false;
    if (r->mem)
        eof = true;
    if (r->framing == READER_WHOLE)
        return next_whole(r, eof, rec, have);
    if (r->framing == READER_LINES) {
        if (r->skipping) {
            size_t e = line_end(r, r->pos);
            if (e == r->len) {
                r->pos = r->len;
                return RP_OK;
            }
            r->pos = e + 1;
            r->line++;
            r->skipping = false;
        }
        return next_line(r, eof, rec, have);
    }
    for (;;) {
        if (r->mode == MODE_DONE)
            return RP_OK;
        if (r->skipping) {
            size_t e = line_end(r, r->pos);
            if (e == r->len) {
                r->pos = r->len;
                if (eof)
                    r->skipping = false;
                return RP_OK;
            }
            r->pos = e + 1;
            r->line++;
            r->skipping = false;
        }
        if (!r->started) {
            if (r->len - r->pos < 3 && !eof)
                return RP_OK;
            if (r->len - r->pos >= 3 && memcmp(r->data + r->pos, "\xEF\xBB\xBF", 3) == 0)
                r->pos += 3;
            r->started = true;
        }
        while (r->pos < r->len && is_ws(r->data[r->pos])) {
            if (r->data[r->pos] == '\n')
                r->line++;
            r->pos++;
        }
        if (r->pos >= r->len) {
            if (eof && r->mode == MODE_ARRAY && r->arr != ARR_END) {
                r->mode = MODE_DONE;
                deliver(r, rec, r->pos, r->pos, r->line, "input ends before the closing ]");
                *have = true;
            }
            return RP_OK;
        }
        char c = r->data[r->pos];
        if (r->mode == MODE_UNKNOWN) {
            if (c == '[') {
                r->mode = MODE_ARRAY;
                r->arr = ARR_FIRST;
                r->pos++;
                continue;
            }
            r->mode = MODE_SEQ;
        }
        if (r->mode == MODE_ARRAY) {
            if (r->arr == ARR_AFTER || r->arr == ARR_END || (r->arr == ARR_FIRST && c == ']')) {
                if (r->arr != ARR_END && c == ',' && r->arr == ARR_AFTER) {
                    r->arr = ARR_VALUE;
                    r->pos++;
                    continue;
                }
                if (r->arr != ARR_END && c == ']') {
                    r->arr = ARR_END;
                    r->pos++;
                    continue;
                }
                size_t e = line_end(r, r->pos);
                deliver(r, rec, r->pos, e, r->line,
                        r->arr == ARR_END ? "data after the closing ] of the array"
                                          : "expected , or ] between array elements");
                r->mode = MODE_DONE;
                *have = true;
                return RP_OK;
            }
        }
        struct scan_out o;
        size_t start = r->pos;
        uint64_t line = r->line;
        switch (scan_value(r, eof, &o)) {
        case SCAN_MORE:
            return RP_OK;
        case SCAN_COMPLETE: {
            deliver(r, rec, start, o.end, line, o.too_deep ? "nested deeper than the limit" : NULL);
            r->pos = o.end;
            r->line += o.newlines;
            if (r->mode == MODE_ARRAY) {
                r->arr = ARR_AFTER;
            } else {
                bool single = o.newlines == 0;
                if (!r->ndjson && single && r->last_single && r->number > 1 &&
                    line > r->last_end_line)
                    r->ndjson = true;
                r->last_single = single;
                r->last_end_line = r->line;
            }
            *have = true;
            return RP_OK;
        }
        case SCAN_TOO_LONG:
            if (r->mode == MODE_SEQ && o.newlines > 0)
                goto line_broken; /* a broken first line, not a huge record */
            rp_fmt(r->errbuf, sizeof(r->errbuf), "record longer than %zu bytes", r->max_record);
            deliver(r, rec, start, start + r->max_record < r->len ? start + r->max_record : r->len,
                    line, r->errbuf);
            if (r->mode == MODE_ARRAY) {
                r->mode = MODE_DONE;
            } else {
                r->pos = start;
                r->skipping = true;
            }
            *have = true;
            return RP_OK;
        case SCAN_LINE_BROKEN:
        case SCAN_EOF_INSIDE:
        line_broken : {
            if (r->mode == MODE_ARRAY) {
                deliver(
                    r, rec, start, r->len, line,
                    "the end of this record cannot be found: the rest of the input is not read");
                r->mode = MODE_DONE;
                *have = true;
                return RP_OK;
            }
            /* the record is taken to be its first line; carry on at the next */
            size_t e = line_end(r, start);
            deliver(r, rec, start, e, line,
                    "unterminated string or unbalanced brackets: record does not end on its line");
            r->ndjson = r->ndjson || e < r->len;
            r->pos = e;
            *have = true;
            return RP_OK;
        }
        }
    }
}
