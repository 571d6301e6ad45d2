/*
 * fuzz_cef.c: libFuzzer target for CEF events (ingest/cef.h).
 *
 * The input is one line: cef_parse() must give the header and an extensions
 * object or refuse with a reason; the alert parser (with and without a syslog
 * header, through lines_parse_marked at a fixed clock) must hand out alerts
 * that pass alert_normalize() (fuzz_lines.h). Memory: every json_t is released.
 */
#include "ingest/cef.h"
#include "ingest/lines.h"

#include "fuzz_lines.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_lines_init();
    const char *s = (const char *)data;
    json_t *o = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = cef_parse(s, size, &o, &err);
    if (st == RP_OK) {
        if (!json_is_object(json_object_get(o, "extensions")) ||
            !json_is_string(json_object_get(o, "vendor")) ||
            !json_is_integer(json_object_get(o, "version")))
            abort();
        char *text = json_dumps(o, JSON_COMPACT);
        if (text == NULL)
            abort();
        free(text);
        json_decref(o);
    } else if (o != NULL || (st == RP_E_INVALID && err.msg[0] == '\0')) {
        abort();
    }
    json_t *alert = NULL;
    err.msg[0] = '\0';
    st = lines_parse_marked(s, size, FUZZ_NOW_MS, "CEF:", cef_alert_in, &alert, &err);
    fuzz_lines_check(st, alert, &err);
    return 0;
}
