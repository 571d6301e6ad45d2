/*
 * fuzz_mail.c: libFuzzer target for the mail parser (ingest/mail.h), then the
 * alert gate (model/alert.h) on what it returns.
 *
 * Broken invariants abort(): an accepted mail is a phishing alert from source
 * "mail" with a title and a severity in 0-100, and it must pass
 * alert_normalize() whole (a parser that hands the gate an alert it rejects has
 * a bug: every value it writes is meant to be in the gate's form already); its
 * lists stay within their limits; a rejection says why and hands nothing out;
 * mail_detect() agrees with the parser on inputs it calls mail (the parser may
 * still accept more, being told the format). Memory: every json_t is released
 * before returning; GMime's one-time initialisation stays reachable.
 */
#include "core/limits.h"
#include "ingest/mail.h"
#include "model/alert.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-11-30T09:48:36Z: a fixed received time keeps runs reproducible. */
#define FUZZ_RECEIVED_MS 1764496116000LL

static size_t array_len(json_t *alert, const char *key)
{
    json_t *v = json_object_get(json_object_get(alert, "email"), key);
    return v != NULL ? json_array_size(v) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    json_t *alert = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    bool detected = mail_detect(d, size);
    rp_status st = mail_parse_alert(d, size, &alert, &err);
    if (st != RP_OK) {
        if (alert != NULL)
            abort(); /* nothing is handed out on failure */
        if (st == RP_E_INVALID && err.msg[0] == '\0')
            abort(); /* a rejection always says why */
        if (st == RP_E_INVALID && detected && strstr(err.msg, "first line") != NULL)
            abort(); /* what detection calls a mail starts like one */
        return 0;
    }
    if (!json_is_object(alert))
        abort();
    const char *kind = json_string_value(json_object_get(alert, "kind"));
    const char *source = json_string_value(json_object_get(alert, "source"));
    const char *title = json_string_value(json_object_get(alert, "title"));
    json_t *sev = json_object_get(alert, "severity");
    if (kind == NULL || strcmp(kind, "phishing") != 0 || source == NULL ||
        strcmp(source, "mail") != 0 || title == NULL || title[0] == '\0' || !json_is_integer(sev) ||
        json_integer_value(sev) < 0 || json_integer_value(sev) > 100)
        abort();
    if (array_len(alert, "urls") > RP_MAIL_URLS_MAX ||
        array_len(alert, "links") > RP_MAIL_LINKS_MAX ||
        array_len(alert, "attachments") > RP_MAIL_ATTACHMENTS_MAX ||
        array_len(alert, "received") > RP_MAIL_RECEIVED_MAX ||
        array_len(alert, "to") > RP_MAIL_RECIPIENTS_MAX)
        abort();

    struct alert_opts opts = {
        .received_ms = FUZZ_RECEIVED_MS,
        .default_source = "fuzz",
        .config = NULL,
    };
    /* the bodies, header lines and Received lines are made without jansson's
     * UTF-8 check: the whole alert must read back through json_loads(),
     * which checks every string */
    json_t *email = json_object_get(alert, "email");
    const char *bodies[2] = {"body_text", "body_html"};
    for (int i = 0; i < 2; i++)
        if (json_string_length(json_object_get(email, bodies[i])) > RP_FIELD_MAX_BYTES)
            abort(); /* over the field limit */
    char *dumped = json_dumps(alert, JSON_COMPACT);
    json_t *back = dumped != NULL ? json_loads(dumped, JSON_ALLOW_NUL, NULL) : NULL;
    if (back == NULL)
        abort(); /* a string that is not UTF-8 */
    json_decref(back);
    free(dumped);
    json_t *out = NULL;
    st = alert_normalize(alert, &opts, &out, &err);
    if (st != RP_OK)
        abort(); /* the parser's alert must be one the gate accepts */
    char *text = json_dumps(out, JSON_COMPACT);
    if (text == NULL)
        abort(); /* valid UTF-8 throughout */
    free(text);
    json_decref(out);
    json_decref(alert);
    return 0;
}
