/*
 * entra.c: the lab's Microsoft Entra ID token endpoint, shared by Defender for
 * Endpoint and Microsoft Graph: POST /{tenant}/oauth2/v2.0/token (scope
 * "{resource}/.default") and the v1 POST /{tenant}/oauth2/token (resource), form
 * grant_type=client_credentials, client_id, client_secret. A token whose scope
 * or resource names graph.microsoft.com is good for Graph; any other for
 * Defender. Errors in Entra's shape ({"error", "error_description",
 * "error_codes"}). Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <string.h>

static void error(struct lab_req *r, unsigned status, const char *err, int code, const char *desc)
{
    char d[300], ts[40];
    lab_time(r->now_ms, false, ts);
    snprintf(d, sizeof(d), "AADSTS%d: %s", code, desc);
    lab_reply_json(r, status,
                   json_pack("{s:s,s:s,s:[i],s:s,s:s,s:s}", "error", err, "error_description", d,
                             "error_codes", code, "timestamp", ts, "trace_id", "lab",
                             "correlation_id", "lab"));
}

bool lab_microsoft_login(struct lab_req *r)
{
    char c[1][RP_LAB_SEG_MAX];
    bool v2 = lab_path_match(r->path, "/*/oauth2/v2.0/token", c, 1);
    if (!v2 && !lab_path_match(r->path, "/*/oauth2/token", c, 1))
        return false;
    if (strcmp(r->method, "POST") != 0) {
        error(r, 405, "invalid_request", 900561, "The endpoint only accepts POST requests.");
        return true;
    }
    if (strcmp(c[0], LAB_TENANT) != 0) {
        error(r, 400, "invalid_request", 90002, "Tenant not found. Use the lab tenant lab-tenant.");
        return true;
    }
    char grant[64] = "", id[128] = "", secret[128] = "", scope[256] = "";
    const char *b = r->body;
    size_t n = r->body_len;
    lab_form_get(b, n, "grant_type", 0, grant, sizeof(grant));
    lab_form_get(b, n, "client_id", 0, id, sizeof(id));
    lab_form_get(b, n, "client_secret", 0, secret, sizeof(secret));
    lab_form_get(b, n, v2 ? "scope" : "resource", 0, scope, sizeof(scope));
    if (strcmp(grant, "client_credentials") != 0) {
        error(r, 400, "unsupported_grant_type", 70003,
              "The app requested an unsupported grant type (use client_credentials).");
    } else if (id[0] == '\0') {
        error(r, 400, "invalid_request", 900144,
              "The request body must contain the following parameter: 'client_id'.");
    } else if (scope[0] == '\0') {
        error(r, 400, "invalid_request", 900144,
              v2 ? "The request body must contain the following parameter: 'scope'."
                 : "The request body must contain the following parameter: 'resource'.");
    } else if (v2 && (strlen(scope) < 9 || strcmp(scope + strlen(scope) - 9, "/.default") != 0)) {
        error(r, 400, "invalid_scope", 1002012,
              "The provided value for scope is not valid. Client credential flows must have a "
              "scope value with /.default suffixed to the resource identifier.");
    } else if (strcmp(id, LAB_CLIENT_ID) != 0) {
        error(r, 400, "unauthorized_client", 700016, "Application was not found in the directory.");
    } else if (strcmp(secret, LAB_CLIENT_SECRET) != 0) {
        error(r, 401, "invalid_client", 7000215, "Invalid client secret provided.");
    } else {
        const char *realm = lab_icontains(scope, "graph.microsoft.com") ? "graph" : "defender";
        char tok[64];
        int64_t ttl = lab_token_ttl(r->lab);
        lab_token_issue(r->lab, realm, ttl, tok, sizeof(tok));
        json_t *j =
            json_pack("{s:s,s:I,s:I,s:s}", "token_type", "Bearer", "expires_in", (json_int_t)ttl,
                      "ext_expires_in", (json_int_t)ttl, "access_token", tok);
        if (!v2)
            json_object_set_new(j, "resource", json_string(scope));
        lab_reply_json(r, 200, j);
    }
    return true;
}
