/*
 * fuzz_vendor.c: libFuzzer target for the vendor normalizers (ingest/vendor.h).
 *
 * The input is parsed with jansson as the pipeline does (duplicate keys
 * rejected); a JSON document goes through vendor_normalize() and, when a vendor
 * claimed it, through the alert gate. Broken invariants abort():
 *   - a claimed document yields an object whose source is the vendor's name
 *     and whose raw is the document itself, and vendor_normalize_as() with that
 *     name maps it the same way;
 *   - the gate accepts what a vendor mapping produced: the mappings drop any
 *     value it would refuse, so the only refusal allowed is an event time
 *     more than an hour in the future (a time the vendor really gave);
 *   - a refusal hands nothing out and says why; RP_E_NOTFOUND only for
 *     documents no vendor claimed.
 * The same input also goes through ingest_format_read_each() as JSON, which
 * takes API list envelopes apart: every item is an alert or a rejection with
 * a reason, elements numbered in order, each element's bytes inside the input.
 * Memory: every json_t is released before returning.
 */
#include "ingest/format.h"
#include "ingest/vendor.h"
#include "model/alert.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-11-30T09:48:36Z: a fixed received time keeps runs reproducible. */
#define FUZZ_RECEIVED_MS 1764496116000LL

static void check_gate(json_t *alert, const char *vendor)
{
    struct alert_opts opts = {FUZZ_RECEIVED_MS, "fuzz", NULL};
    json_t *out = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = alert_normalize(alert, &opts, &out, &err);
    if (st == RP_OK) {
        if (strcmp(alert_str(out, "source"), vendor) != 0)
            abort();
        char *text = json_dumps(out, JSON_COMPACT);
        if (text == NULL)
            abort(); /* a normalized alert must serialise */
        free(text);
        json_decref(out);
        return;
    }
    if (out != NULL)
        abort();
    if (st == RP_E_INVALID &&
        strncmp(err.msg, "event_time: more than an hour in the future", 43) != 0)
        abort(); /* the mapping let through a value the gate refuses */
}

struct each_state {
    const char *data;
    size_t size, next;
};

static rp_status each_item(void *arg, const struct ingest_item *it)
{
    struct each_state *e = arg;
    if (it->element != 0 && it->element != e->next + 1)
        abort();
    e->next = it->element;
    if ((it->st == RP_OK) != (it->alert != NULL))
        abort();
    if (it->st != RP_OK && (it->reason == NULL || it->reason[0] == '\0'))
        abort();
    if (it->raw >= e->data && it->raw < e->data + e->size &&
        (it->raw + it->raw_len > e->data + e->size || it->raw != e->data + it->offset))
        abort();
    json_decref(it->alert);
    return RP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingest_format_spec spec = {FORMAT_JSON, NULL};
    struct each_state es = {(const char *)data, size, 0};
    if (ingest_format_read_each(&spec, (const char *)data, size, each_item, &es) != RP_OK)
        abort();

    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return 0;
    json_t *alert = NULL;
    const char *vendor = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = vendor_normalize(doc, &alert, &vendor, &err);
    if (st == RP_OK) {
        if (vendor == NULL || !json_is_object(alert) || json_object_get(alert, "raw") != doc ||
            strcmp(json_string_value(json_object_get(alert, "source")), vendor) != 0)
            abort();
        json_t *again = NULL;
        struct rp_error err2;
        if (vendor_normalize_as(vendor, doc, &again, &err2) != RP_OK || !json_equal(alert, again))
            abort();
        json_decref(again);
        check_gate(alert, vendor);
        json_decref(alert);
    } else {
        if (alert != NULL)
            abort(); /* nothing is handed out on failure */
        if (err.msg[0] == '\0')
            abort(); /* a refusal always says why */
        if (st == RP_E_NOTFOUND && vendor != NULL)
            abort(); /* a vendor that claimed the document must map or refuse it */
        if (st != RP_E_NOTFOUND && st != RP_E_INVALID && st != RP_E_NOMEM)
            abort();
    }
    json_decref(doc);
    return 0;
}
