/*
 * fuzz_alert.c: libFuzzer target for the alert gate (model/alert.h).
 *
 * The input is parsed with jansson (duplicate keys rejected, as the pipeline
 * does) and, when it is JSON, normalized with a fixed received time and a
 * configuration that overrides the fingerprint of one source, so that both
 * fingerprint paths run. Broken invariants abort(): an accepted alert is an
 * object with an id, a fingerprint, a severity in 0-100 whose label matches,
 * and the received time given; a rejected one has a message.
 * Memory: every json_t is released before returning; the configuration is
 * loaded once and stays reachable.
 */
#include "core/config.h"
#include "model/alert.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-11-30T09:48:36Z: a fixed received time keeps runs reproducible. */
#define FUZZ_RECEIVED_MS 1764496116000LL

static const char fuzz_config_yaml[] = "correlation:\n"
                                       "  window: 1h\n"
                                       "sources:\n"
                                       "  edr:\n"
                                       "    fingerprint: [rule]\n"
                                       "  mail:\n"
                                       "    fingerprint: [rule, user.name, email.from]\n";

static struct config fuzz_config;
static const struct config *fuzz_config_ptr;

static void load_config_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    config_init(&fuzz_config);
    struct rp_error err;
    if (config_load_buffer(&fuzz_config, "fuzz", fuzz_config_yaml, sizeof(fuzz_config_yaml) - 1,
                           &err) == RP_OK)
        fuzz_config_ptr = &fuzz_config;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_config_once();
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (in == NULL)
        return 0;
    struct alert_opts opts = {
        .received_ms = FUZZ_RECEIVED_MS,
        .default_source = "fuzz",
        .config = fuzz_config_ptr,
    };
    json_t *out = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = alert_normalize(in, &opts, &out, &err);
    if (st == RP_OK) {
        if (!json_is_object(out))
            abort();
        int sev = alert_severity(out);
        if (sev < 0 || sev > 100)
            abort();
        json_t *label = json_object_get(out, "severity_label");
        if (label != NULL && strcmp(json_string_value(label) ? json_string_value(label) : "",
                                    severity_label(sev)) != 0)
            abort();
        if (alert_str(out, "id")[0] == '\0' || alert_str(out, "fingerprint")[0] == '\0')
            abort();
        char *text = json_dumps(out, JSON_COMPACT);
        if (text == NULL)
            abort(); /* a normalized alert must serialise (valid UTF-8, no NaN) */
        free(text);
        json_decref(out);
    } else {
        if (out != NULL)
            abort(); /* nothing is handed out on failure */
        if (st == RP_E_INVALID && err.msg[0] == '\0')
            abort(); /* a rejection always says why */
    }
    json_decref(in);
    return 0;
}
