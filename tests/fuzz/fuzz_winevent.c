/*
 * fuzz_winevent.c: libFuzzer target for the Windows Event XML parser
 * (winevent_xml_parse_alert in ingest/vendor.h, on libxml2), and the reader
 * of documents of several events (winevent_xml_parse_each): every item is an
 * alert or a rejection with a reason, elements numbered in order, each
 * element's bytes inside the input (or inside its UTF-8 conversion).
 *
 * The input is one record of XML. Broken invariants abort(): an accepted
 * event is an object with source "windows", raw the input text (when it is
 * UTF-8) or the parsed event, and the alert gate accepts it (but for an event
 * time more than an hour in the future); a refusal hands nothing out and says
 * why. Memory: every json_t and libxml2 document is released before returning.
 */
#include "ingest/vendor.h"
#include "model/alert.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-11-30T09:48:36Z: a fixed received time keeps runs reproducible. */
#define FUZZ_RECEIVED_MS 1764496116000LL

struct each_state {
    size_t next;
    size_t size;
};

static rp_status each_item(void *arg, const struct ingest_item *it)
{
    struct each_state *e = arg;
    if (it->element != 0 && it->element != e->next + 1)
        abort();
    e->next = it->element;
    if (it->st == RP_OK) {
        if (it->alert == NULL || it->reason != NULL)
            abort();
    } else if (it->alert != NULL || it->reason == NULL || it->reason[0] == '\0') {
        abort();
    }
    if (it->raw == NULL && it->raw_len > 0)
        abort();
    json_decref(it->alert);
    return RP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct each_state es = {0, size};
    if (winevent_xml_parse_each((const char *)data, size, each_item, &es) != RP_OK)
        abort();

    json_t *alert = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = winevent_xml_parse_alert((const char *)data, size, &alert, &err);
    if (st != RP_OK) {
        if (alert != NULL || err.msg[0] == '\0')
            abort();
        if (st != RP_E_INVALID && st != RP_E_NOMEM)
            abort();
        return 0;
    }
    json_t *raw = json_object_get(alert, "raw");
    if (!json_is_object(alert) || raw == NULL ||
        strcmp(json_string_value(json_object_get(alert, "source")), "windows") != 0)
        abort();
    if (json_is_string(raw) &&
        (json_string_length(raw) != size || memcmp(json_string_value(raw), data, size) != 0))
        abort();
    struct alert_opts opts = {FUZZ_RECEIVED_MS, "fuzz", NULL};
    json_t *out = NULL;
    st = alert_normalize(alert, &opts, &out, &err);
    if (st == RP_OK) {
        char *text = json_dumps(out, JSON_COMPACT);
        if (text == NULL)
            abort();
        free(text);
        json_decref(out);
    } else if (out != NULL ||
               (st == RP_E_INVALID &&
                strncmp(err.msg, "event_time: more than an hour in the future", 43) != 0)) {
        abort();
    }
    json_decref(alert);
    return 0;
}
