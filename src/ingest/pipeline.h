/*
 * pipeline.h: from input bytes to stored alerts and cases, shared by the CLI
 * (`riposte ingest`) and the daemon (POST /api/v1/alerts).
 *
 * Two halves, so that the daemon can do the CPU work on its HTTP threads and
 * the writes on its one writer thread:
 *   1. prepare: split the input into records (ingest/reader.h), parse each with
 *      jansson and normalize it (model/alert.h). Rejected records are kept in the
 *      batch with their number, line and reason. Any thread; touches no store.
 *   2. commit: in ONE transaction for any number of batches, write the dead
 *      letters, correlate each accepted alert into a case (correlate/) and store
 *      it. Only after the commit returns are the results valid to report.
 *      Writer thread only.
 */
#ifndef RP_INGEST_PIPELINE_H
#define RP_INGEST_PIPELINE_H

#include "core/config.h"
#include "core/status.h"
#include "ingest/format.h"
#include "store/store.h"

#include "ingest/reader.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ingest_batch;

struct ingest_opts {
    const struct config *config;      /* fingerprint overrides, window; may be NULL */
    const char *channel;              /* "cli" or "http": recorded with dead letters */
    const char *origin;               /* file name, "-" or "request from <token>" */
    const char *default_source;       /* alert source when the record names none */
    int64_t received_ms;              /* 0: now */
    struct ingest_format_spec format; /* zero: FORMAT_AUTO, the vendor recognised */
};

/* Totals over what a batch (or several) did. Valid after commit. */
struct ingest_counts {
    size_t accepted; /* stored, or already stored (duplicates) */
    size_t rejected;
    size_t ignored;    /* well-formed records that are no security event */
    size_t duplicates; /* records whose id was already stored: not stored twice */
    size_t cases_created;
    size_t cases_updated;
};

/* A new, empty batch. opts' strings are copied. */
rp_status ingest_batch_new(const struct ingest_opts *opts, struct ingest_batch **out) RP_MUST_CHECK;
void ingest_batch_free(struct ingest_batch *b);

/* Reads (in the batch's format), parses and normalizes one record (bytes as
 * delivered by the reader). A record that fails is kept as rejected, one that is
 * no security event as ignored: the return is RP_OK unless memory ran out. */
rp_status ingest_batch_add(struct ingest_batch *b, const char *data, size_t len, uint64_t number,
                           uint64_t line) RP_MUST_CHECK;

/* Keeps a record the reader could not delimit as rejected with reason. */
rp_status ingest_batch_reject(struct ingest_batch *b, const char *data, size_t len, uint64_t number,
                              uint64_t line, const char *reason) RP_MUST_CHECK;

/* Splits a whole in-memory input (an HTTP body) in the batch's format (detected
 * from its first bytes when FORMAT_AUTO) and adds every record. */
rp_status ingest_batch_add_input(struct ingest_batch *b, const char *data,
                                 size_t len) RP_MUST_CHECK;

/* Records added so far (accepted + rejected), and the bytes they hold. */
size_t ingest_batch_records(const struct ingest_batch *b);
size_t ingest_batch_bytes(const struct ingest_batch *b);

/* Writes batches[0..n) in one transaction. On RP_OK each batch's counts and ids
 * are final. On failure nothing of any of them is stored (rolled back) and err
 * says why; the batches can be committed again. */
rp_status ingest_commit(struct store *s, const struct config *config, struct ingest_batch **batches,
                        size_t n, struct rp_error *err) RP_MUST_CHECK;

/* After commit: the batch's counts. */
const struct ingest_counts *ingest_batch_counts(const struct ingest_batch *b);

/* After commit: {"accepted":N,"rejected":M,"duplicates":D,"cases_created":X,
 * "cases_updated":Y,"ids":[...],"errors":[{"record":R,"line":L,"error":"..."}]}
 * listing at most max_errors errors (the count stays exact). New reference. */
json_t *ingest_batch_result_json(const struct ingest_batch *b, size_t max_errors);

/* Calls fn for each record in order: alert is the normalized alert (NULL when
 * rejected or ignored; then reason says why). Valid before and after commit. */
void ingest_batch_each(const struct ingest_batch *b,
                       void (*fn)(void *arg, uint64_t number, uint64_t line, json_t *alert,
                                  bool ignored, const char *reason),
                       void *arg);

/* The reader framing of a format (FORMAT_AUTO: detected from data). */
enum reader_framing ingest_framing_for(const struct ingest_format_spec *spec, const char *data,
                                       size_t len, enum ingest_format *detected);

/* Calls fn for each rejected record in order (record number, line, reason). */
void ingest_batch_each_reject(const struct ingest_batch *b,
                              void (*fn)(void *arg, uint64_t number, uint64_t line,
                                         const char *reason),
                              void *arg);

/* After a successful commit: calls fn for each alert stored by this batch (not
 * the duplicates, rejected or ignored ones) with the case it joined. The
 * daemon starts the playbooks these alerts trigger. */
void ingest_batch_each_stored(const struct ingest_batch *b,
                              void (*fn)(void *arg, json_t *alert, const char *case_id), void *arg);

#endif
