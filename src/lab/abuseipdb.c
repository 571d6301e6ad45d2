/*
 * abuseipdb.c: the lab's AbuseIPDB API v2 (base /api/v2): GET /check with the
 * Key header (lab-key; the `key` query argument is accepted too). Any valid
 * address gets a `data` report; the organisation's malicious IPs score high,
 * private addresses are not public and score 0. Errors in AbuseIPDB's
 * {"errors": [{"detail", "status"}]} shape. Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void error(struct lab_req *r, unsigned status, const char *detail, const char *param)
{
    json_t *e = json_pack("{s:s,s:i}", "detail", detail, "status", (int)status);
    if (param != NULL)
        json_object_set_new(e, "source", json_pack("{s:s}", "parameter", param));
    lab_reply_json(r, status, json_pack("{s:[o]}", "errors", e));
}

bool lab_abuseipdb(struct lab_req *r)
{
    if (!lab_prefix(r->path, "/api/v2/"))
        return false;
    const char *key = lab_header(r, "Key");
    if (key == NULL)
        key = lab_arg(r, "key");
    if (key == NULL || strcmp(key, LAB_API_KEY) != 0) {
        error(r, 401,
              "Authentication failed. Your API key is either missing, incorrect, or revoked. "
              "Note: The APIv2 key differs from the APIv1 key.",
              NULL);
        return true;
    }
    if (strcmp(r->path, "/api/v2/check") != 0 || strcmp(r->method, "GET") != 0) {
        error(r, 404, "no such endpoint in the lab's AbuseIPDB API", NULL);
        return true;
    }
    const char *ip = lab_arg(r, "ipAddress");
    const char *age = lab_arg(r, "maxAgeInDays");
    unsigned char buf[16];
    int v6 = 0;
    if (ip == NULL || (inet_pton(AF_INET, ip, buf) != 1 && !(v6 = inet_pton(AF_INET6, ip, buf)))) {
        error(r, 422,
              "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or "
              "2001:4860:4860::8888).",
              "ipAddress");
        return true;
    }
    if (age != NULL && (atoi(age) < 1 || atoi(age) > 365)) {
        error(r, 422, "The max age in days must be between 1 and 365.", "maxAgeInDays");
        return true;
    }
    bool priv = !v6 && (buf[0] == 10 || buf[0] == 127 || (buf[0] == 192 && buf[1] == 168) ||
                        (buf[0] == 172 && (buf[1] & 0xf0) == 16));
    const struct lab_intel *in = lab_intel_find(r->org, LAB_INTEL_IP, ip);
    char ts[40];
    lab_time(r->org->base_ms - 5400000, false, ts);
    json_t *d =
        json_pack("{s:s,s:b,s:i,s:b,s:i,s:s,s:s,s:s,s:s,s:i,s:i,s:s?}", "ipAddress", ip, "isPublic",
                  !priv, "ipVersion", v6 ? 6 : 4, "isWhitelisted", in != NULL && !in->malicious,
                  "abuseConfidenceScore", in != NULL ? in->abuse_score : 0, "countryCode",
                  in != NULL ? in->country
                  : priv     ? "ZZ"
                             : "US",
                  "usageType", priv ? "Reserved" : "Data Center/Web Hosting/Transit", "isp",
                  in != NULL && in->malicious ? "Bulletproof Hosting Lab" : "Lab ISP", "domain",
                  in != NULL && in->malicious ? "bphost.example" : "isp.example", "totalReports",
                  in != NULL ? in->abuse_reports : 0, "numDistinctUsers",
                  in != NULL ? in->abuse_reports / 3 : 0, "lastReportedAt",
                  in != NULL && in->abuse_reports > 0 ? ts : NULL);
    if (json_object_get(d, "lastReportedAt") == NULL)
        json_object_set_new(d, "lastReportedAt", json_null());
    if (lab_arg(r, "verbose") != NULL) {
        json_object_set_new(d, "countryName", json_string("Lab Country"));
        json_object_set_new(d, "reports", json_array());
    }
    lab_reply_header(r, "X-RateLimit-Limit", "1000");
    lab_reply_header(r, "X-RateLimit-Remaining", "999");
    lab_reply_json(r, 200, json_pack("{s:o}", "data", d));
    return true;
}
