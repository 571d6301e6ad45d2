/*
 * fuzz_pack.c: libFuzzer target for the pack loader (connect/pack.c).
 *
 * The input is parsed as a pack file. Broken invariants abort(): an accepted
 * pack is an object with a valid name and actions or sources; a rejected one
 * has a message that starts with the file name and a line:col, and no value.
 * Memory: everything is released (ASan/LSan check it).
 */
#include "connect/http_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *p = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = pack_parse("fuzz.yml", (const char *)data, size, &p, &err);
    if (st == RP_OK) {
        if (!json_is_object(p) || json_string_value(json_object_get(p, "name")) == NULL)
            abort();
        if (json_object_get(p, "actions") == NULL && json_object_get(p, "sources") == NULL)
            abort();
    } else if (p != NULL || strncmp(err.msg, "fuzz.yml", 8) != 0) {
        abort();
    }
    json_decref(p);
    return 0;
}
