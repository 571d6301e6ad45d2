/*
 * cylance.c: CylancePROTECT API threat JSON into alerts (the syslog threat
 * events are ingest/cylance_syslog.c's).
 *
 * The API describes a threat by its file: the threat objects of
 * GET /threats/v2 and /threats/v2/{sha256} (name, sha256, md5, cylance_score,
 * classification, sub_classification, file_size, global_quarantined, safelisted,
 * last_found) and the device threats of GET /devices/v2/{id}/threats (the same
 * with file_path, file_status, date_found). A poller that pairs a threat with
 * the device it was found on adds the device's fields under the names Cylance
 * uses in its device objects, prefixed: device_name, device_id, ip_addresses[],
 * mac_addresses[] (docs/vendors.md). The sha256 is what makes a threat: without
 * a valid one the document is rejected.
 *
 * Severity: cylance_score runs from -1 (certainly malicious) to 1 (safe); some
 * API versions scale it by 100 or 1000. Negative scores map to 50-90, positive
 * ones to 10-30; the classification then bounds it: Malware at least 70, PUP and
 * Dual Use 30-50, Trusted and safelisted files 10. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include <math.h>
#include <strings.h>

static bool cy_detect(json_t *d)
{
    return vendor_get(d, "cylance_score") != NULL && vendor_get(d, "sha256") != NULL;
}

static int cy_severity(json_t *score, const char *cls, json_t *safelisted)
{
    int sev = -1;
    if (json_is_number(score) || json_is_string(score)) {
        double s = json_is_number(score) ? json_number_value(score) : 0;
        if (json_is_string(score)) {
            long long x;
            if (vendor_int(score, &x))
                s = (double)x;
            else
                s = NAN;
        }
        if (!isnan(s)) {
            if (fabs(s) > 100)
                s /= 1000;
            else if (fabs(s) > 1)
                s /= 100;
            if (s < -1)
                s = -1;
            if (s > 1)
                s = 1;
            sev = s < 0 ? 50 + (int)lround(-s * 40) : 30 - (int)lround(s * 20);
        }
    }
    if (cls != NULL) {
        if (strcasecmp(cls, "Malware") == 0)
            sev = sev < 70 ? 70 : sev;
        else if (strcasecmp(cls, "PUP") == 0 || strcasecmp(cls, "Dual Use") == 0 ||
                 strcasecmp(cls, "Possible PUP") == 0)
            sev = sev < 30 ? 30 : sev > 50 ? 50 : sev;
        else if (strcasecmp(cls, "Trusted") == 0 || strcasecmp(cls, "Safe") == 0)
            sev = 10;
    }
    if (json_is_true(safelisted))
        sev = 10;
    return sev;
}

static rp_status cy_map(struct vendor_ctx *c)
{
    json_t *d = c->doc;
    json_t *sha = vendor_get(d, "sha256");
    const char *s = json_string_value(sha);
    if (s == NULL)
        return vendor_fail(c, "sha256", "required: the threat's file hash, a string");
    vendor_set_hash(c, "file.sha256", OBS_SHA256, sha);
    if (!vendor_isset(c, "file.sha256"))
        return vendor_fail(c, "sha256", "not a SHA-256 (64 hex digits)");
    vendor_set_kind(c, "endpoint");

    const char *cls = vendor_str(d, "classification");
    const char *sub = vendor_str(d, "sub_classification");
    const char *name = vendor_str(d, "name");
    char rule[256];
    rp_fmt(rule, sizeof(rule), "%s%s%s", vendor_placeholder(cls) ? "Cylance threat" : cls,
           vendor_placeholder(sub) ? "" : "/", vendor_placeholder(sub) ? "" : sub);
    vendor_set_cstr(c, "rule", rule);
    if (!vendor_placeholder(name)) {
        json_t *t = json_sprintf("Cylance: %s %s", rule, name);
        if (t != NULL) {
            vendor_set_name(c, "title", t);
            json_decref(t);
        }
    }
    vendor_set_cstr(c, "title", rule);
    vendor_set_severity(
        c, cy_severity(vendor_get(d, "cylance_score"), cls, vendor_get(d, "safelisted")));

    vendor_set_name(c, "file.name", vendor_get(d, "name"));
    vendor_set_text(c, "file.path", vendor_get(d, "file_path"));
    vendor_set_hash(c, "file.md5", OBS_MD5, vendor_get(d, "md5"));
    vendor_set_int(c, "file.size", vendor_get(d, "file_size"), 0, 1LL << 53);

    vendor_set_host(c, vendor_get(d, "device_name"));
    vendor_set_name(c, "host.id", vendor_get(d, "device_id"));
    vendor_set_ip(c, "host.ip", vendor_get(d, "ip_addresses"));

    vendor_set_time(c, vendor_get(d, "date_found"));
    vendor_set_time(c, vendor_get(d, "last_found"));

    static const char *const X[] = {
        "cylance_score",
        "classification",
        "sub_classification",
        "file_status",
        "global_quarantined",
        "safelisted",
        "unique_to_cylance",
        "av_industry",
        "signed",
        "detected_by",
        "running",
        "auto_run",
        "mac_addresses",
        "policy_id",
        "state",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(d, X[k]));
    return vendor_done(c, "name");
}

const struct vendor_def vendor_cylance = {
    "cylance",
    "cylance_score with sha256",
    cy_detect,
    cy_map,
};
