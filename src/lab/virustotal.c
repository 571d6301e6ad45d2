/*
 * virustotal.c: the lab's VirusTotal API v3 (base /api/v3).
 *
 * Auth: x-apikey lab-key. File reports by MD5, SHA-1 or SHA-256 (404
 * NotFoundError when unknown, as VirusTotal answers), URL reports by url id
 * (URL-safe Base64 of the URL without padding, or the URL's SHA-256), domain and
 * IP reports (any valid address or name: unknown ones read as clean). Each has
 * data.attributes.last_analysis_stats and a few last_analysis_results. Runs under
 * the lab's mutex.
 */
#include "lab/lab_internal.h"

#include "core/hash.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void error(struct lab_req *r, unsigned status, const char *code, const char *msg)
{
    lab_reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

static json_t *report(struct lab_req *r, const char *type, const char *id,
                      const struct lab_intel *in)
{
    int mal = in != NULL ? in->malicious_n : 0, sus = in != NULL ? in->suspicious_n : 0;
    int harm = in != NULL ? in->harmless_n : 60, und = in != NULL ? in->undetected_n : 12;
    json_t *results = json_object();
    static const char *const engines[] = {"Kaspersky", "ESET-NOD32", "Microsoft", "Sophos",
                                          "BitDefender"};
    for (int i = 0; i < 5; i++) {
        bool bad = in != NULL && in->malicious && i < 4;
        json_object_set_new(results, engines[i],
                            json_pack("{s:s,s:s,s:s,s:s?}", "category",
                                      bad                                        ? "malicious"
                                      : in != NULL && in->kind == LAB_INTEL_FILE ? "undetected"
                                                                                 : "harmless",
                                      "engine_name", engines[i], "method", "blacklist", "result",
                                      bad ? "Trojan.Lab" : NULL));
    }
    char self[400];
    snprintf(self, sizeof(self), "https://www.virustotal.com/api/v3/%ss/%s", type, id);
    json_t *attr = json_pack("{s:{s:i,s:i,s:i,s:i,s:i},s:o,s:i,s:I}", "last_analysis_stats",
                             "harmless", harm, "malicious", mal, "suspicious", sus, "undetected",
                             und, "timeout", 0, "last_analysis_results", results, "reputation",
                             in != NULL && in->malicious ? -40 : 0, "last_analysis_date",
                             (json_int_t)(r->org->base_ms / 1000 - 3600));
    return json_pack("{s:{s:s,s:s,s:{s:s},s:o}}", "data", "id", id, "type", type, "links", "self",
                     self, "attributes", attr);
}

bool lab_virustotal(struct lab_req *r)
{
    if (!lab_prefix(r->path, "/api/v3/"))
        return false;
    const char *key = lab_header(r, "x-apikey");
    if (key == NULL) {
        error(r, 401, "AuthenticationRequiredError", "X-Apikey header is missing");
        return true;
    }
    if (strcmp(key, LAB_API_KEY) != 0) {
        error(r, 401, "WrongCredentialsError", "Wrong API key");
        return true;
    }
    char c[1][RP_LAB_SEG_MAX];
    struct lab_org *org = r->org;
    bool get = strcmp(r->method, "GET") == 0;
    if (lab_path_match(r->path, "/api/v3/files/*", c, 1) && get) {
        struct lab_file *f = lab_file_by_hash(org, c[0]);
        if (f == NULL) {
            char msg[RP_LAB_SEG_MAX + 32];
            snprintf(msg, sizeof(msg), "File \"%s\" not found", c[0]);
            error(r, 404, "NotFoundError", msg);
            return true;
        }
        json_t *j = report(r, "file", f->sha256, lab_intel_find(org, LAB_INTEL_FILE, f->sha256));
        json_t *a = json_object_get(json_object_get(j, "data"), "attributes");
        json_object_set_new(a, "sha256", json_string(f->sha256));
        json_object_set_new(a, "sha1", json_string(f->sha1));
        json_object_set_new(a, "md5", json_string(f->md5));
        json_object_set_new(a, "meaningful_name", json_string(f->name));
        lab_reply_json(r, 200, j);
    } else if (lab_path_match(r->path, "/api/v3/urls/*", c, 1) && get) {
        unsigned char url[RP_LAB_SEG_MAX];
        long n = lab_b64_decode(c[0], strlen(c[0]), true, url, sizeof(url));
        struct lab_intel *in = NULL;
        for (int i = 0; i < org->nintel && in == NULL; i++) {
            if (org->intel[i].kind != LAB_INTEL_URL)
                continue;
            char h[65];
            hash_sha256_hex(org->intel[i].value, strlen(org->intel[i].value), h);
            if ((n > 0 && strcmp((char *)url, org->intel[i].value) == 0) ||
                strcasecmp(h, c[0]) == 0)
                in = &org->intel[i];
        }
        if (in == NULL) {
            error(r, 404, "NotFoundError", "URL not found (url id: URL-safe Base64 of the URL)");
            return true;
        }
        json_t *j = report(r, "url", c[0], in);
        json_object_set_new(json_object_get(json_object_get(j, "data"), "attributes"), "url",
                            json_string(in->value));
        lab_reply_json(r, 200, j);
    } else if (lab_path_match(r->path, "/api/v3/domains/*", c, 1) && get) {
        if (strchr(c[0], '.') == NULL) {
            error(r, 400, "InvalidArgumentError", "Domain is not valid");
            return true;
        }
        lab_reply_json(r, 200,
                       report(r, "domain", c[0], lab_intel_find(org, LAB_INTEL_DOMAIN, c[0])));
    } else if (lab_path_match(r->path, "/api/v3/ip_addresses/*", c, 1) && get) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, c[0], buf) != 1 && inet_pton(AF_INET6, c[0], buf) != 1) {
            error(r, 400, "InvalidArgumentError", "IP address is not valid");
            return true;
        }
        lab_reply_json(r, 200,
                       report(r, "ip_address", c[0], lab_intel_find(org, LAB_INTEL_IP, c[0])));
    } else {
        error(r, 404, "NotFoundError", "no such endpoint in the lab's VirusTotal API");
    }
    return true;
}
