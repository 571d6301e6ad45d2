/*
 * fuzz_leef.c: libFuzzer target for LEEF 1.0 and 2.0 events (ingest/leef.h).
 *
 * The input is one line: leef_parse() must give the header and an attributes
 * object or refuse with a reason; the alert parser (with and without a syslog
 * header, through lines_parse_marked at a fixed clock) must hand out alerts
 * that pass alert_normalize() (fuzz_lines.h). Memory: every json_t is released.
 */
#include "ingest/leef.h"
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
    rp_status st = leef_parse(s, size, &o, &err);
    if (st == RP_OK) {
        if (!json_is_object(json_object_get(o, "attributes")) ||
            !json_is_string(json_object_get(o, "vendor")) ||
            !json_is_string(json_object_get(o, "version")))
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
    st = lines_parse_marked(s, size, FUZZ_NOW_MS, "LEEF:", leef_alert_in, &alert, &err);
    fuzz_lines_check(st, alert, &err);
    return 0;
}
