/*
 * fuzz_config.c: libFuzzer target for the configuration reader (core/config.h).
 *
 * The input is read as a YAML configuration. Broken invariants abort(): an
 * accepted configuration has a positive correlation window, each source has a
 * name and at most RP_FINGERPRINT_FIELDS_MAX fields, and config_source_find
 * finds each source by its name; a rejected one has a message.
 * Memory: config_fini releases everything, accepted or not.
 */
#include "core/config.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    config_init(&c);
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = config_load_buffer(&c, "fuzz.yaml", (const char *)data, size, &err);
    if (st == RP_OK) {
        if (c.correlate_window_ms <= 0)
            abort();
        if (c.nsources > 0 && c.sources == NULL)
            abort();
        for (size_t i = 0; i < c.nsources; i++) {
            const struct config_source *s = &c.sources[i];
            if (s->name == NULL || s->nfields > RP_FINGERPRINT_FIELDS_MAX)
                abort();
            for (size_t k = 0; k < s->nfields; k++)
                if (s->fields[k] == NULL)
                    abort();
            const struct config_source *found = config_source_find(&c, s->name);
            if (found == NULL)
                abort();
        }
    } else if (err.msg[0] == '\0') {
        abort(); /* a rejection always says why */
    }
    config_fini(&c);
    return 0;
}
