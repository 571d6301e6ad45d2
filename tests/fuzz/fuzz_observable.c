/*
 * fuzz_observable.c: libFuzzer target for observable canonicalisation
 * (model/observable.h).
 *
 * The first byte picks the type, the rest is the value. Broken invariants
 * abort(): canonicalisation is idempotent (the canonical form of a canonical
 * value is accepted and unchanged, under the type it came back as), the type
 * names round-trip, and refanging never fails on bytes that fit.
 * Memory: every buffer is released before returning.
 */
#include "core/buf.h"
#include "core/limits.h"
#include "model/observable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Canonical values and refanged text are bounded like an alert's string fields. */
#define FUZZ_OBS_MAX RP_FIELD_MAX_BYTES

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    enum obs_type t = (enum obs_type)(data[0] % OBS_TYPE_COUNT);
    const char *value = (const char *)data + 1;
    size_t n = size - 1;

    enum obs_type back;
    if (observable_type_parse(observable_type_name(t), &back) != RP_OK || back != t)
        abort();

    struct buf once, twice, fanged;
    buf_init(&once, FUZZ_OBS_MAX);
    buf_init(&twice, FUZZ_OBS_MAX);
    buf_init(&fanged, FUZZ_OBS_MAX);
    struct rp_error err;

    enum obs_type actual = t;
    if (observable_canonical(t, value, n, &once, &actual, &err) == RP_OK) {
        if (actual >= OBS_TYPE_COUNT)
            abort();
        if ((t == OBS_IPV4 || t == OBS_IPV6) != (actual == OBS_IPV4 || actual == OBS_IPV6))
            abort(); /* only an address may change family */
        const char *c1 = once.data != NULL ? once.data : "";
        enum obs_type actual2 = actual;
        if (observable_canonical(actual, c1, once.len, &twice, &actual2, &err) != RP_OK)
            abort(); /* the canonical form is itself a valid value */
        const char *c2 = twice.data != NULL ? twice.data : "";
        if (actual2 != actual || twice.len != once.len || memcmp(c1, c2, once.len) != 0)
            abort(); /* canonical(canonical(x)) == canonical(x) */
    }

    if (n <= FUZZ_OBS_MAX) {
        if (observable_refang(value, n, &fanged) != RP_OK)
            abort(); /* refanging never grows its input, so it always fits */
        if (fanged.len > n)
            abort();
    }

    bool v6 = false;
    buf_reset(&once);
    if (observable_ip(value, n, &once, &v6, &err) == RP_OK) {
        const char *c1 = once.data != NULL ? once.data : "";
        bool v6b = false;
        buf_reset(&twice);
        if (observable_ip(c1, once.len, &twice, &v6b, &err) != RP_OK || v6b != v6 ||
            twice.len != once.len || (once.len > 0 && memcmp(c1, twice.data, once.len) != 0))
            abort();
    }

    buf_fini(&once);
    buf_fini(&twice);
    buf_fini(&fanged);
    return 0;
}
