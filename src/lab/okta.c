/*
 * okta.c: the lab's Okta Users API (base /api/v1). Auth: "SSWS lab-token".
 * Find users (search=profile.login eq "x", q=prefix, filter=status eq "ACTIVE",
 * limit with a Link rel="next" header), get a user by id or login, and the
 * lifecycle: reset_password (status RECOVERY; a reset URL with sendEmail=false),
 * expire_password, suspend and unsuspend (only from ACTIVE / SUSPENDED, else
 * E0000001), and DELETE sessions (204). Errors in Okta's errorCode/errorSummary
 * shape. Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void error(struct lab_req *r, unsigned status, const char *code, const char *summary)
{
    char id[40];
    lab_org_new_id(r->org, "oae", id, sizeof(id));
    lab_reply_json(r, status,
                   json_pack("{s:s,s:s,s:s,s:s,s:[]}", "errorCode", code, "errorSummary", summary,
                             "errorLink", code, "errorId", id, "errorCauses"));
}

static json_t *user_view(struct lab_req *r, const struct lab_user *u)
{
    char ts[40], self[200];
    lab_time(r->org->base_ms - 3600000, true, ts);
    snprintf(self, sizeof(self), "/api/v1/users/%s", u->okta_id);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:{s:s}}}", "id", u->okta_id,
                     "status", u->okta_status, "created", "2023-01-09T08:00:00.000Z", "lastLogin",
                     ts, "statusChanged", ts, "profile", "login", u->login, "email", u->login,
                     "firstName", u->first, "lastName", u->last, "department", u->dept, "_links",
                     "self", "href", self);
}

/* `field op "value"` with op eq or sw, clauses joined by " or " / " and ". */
static bool expr_match(json_t *v, const char *expr, bool *bad)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", expr);
    /* Okta's expressions use double quotes; OData's matcher wants single ones. */
    for (char *p = buf; *p != '\0'; p++)
        if (*p == '"')
            *p = '\'';
    char *sw;
    while ((sw = strstr(buf, " sw ")) != NULL) { /* starts-with: rewrite as startswith() */
        char field[128], rest[400];
        char *start = sw;
        while (start > buf && start[-1] != ' ' && start[-1] != '(')
            start--;
        snprintf(field, sizeof(field), "%.*s", (int)(sw - start), start);
        char *val = sw + 4, *end = val + 1;
        while (*end != '\0' && *end != '\'')
            end++;
        if (*end == '\0') {
            *bad = true;
            return false;
        }
        snprintf(rest, sizeof(rest), "startswith(%s,%.*s)%s", field, (int)(end - val + 1), val,
                 end + 1);
        snprintf(start, sizeof(buf) - (size_t)(start - buf), "%s", rest);
    }
    bool quoted = false;
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '\'')
            quoted = !quoted;
        else if (*p == '.' && !quoted)
            *p = '/';
    }
    return lab_odata_match(v, buf, bad);
}

static void list_users(struct lab_req *r)
{
    const char *search = lab_arg(r, "search"), *filter = lab_arg(r, "filter");
    const char *q = lab_arg(r, "q"), *lim = lab_arg(r, "limit"), *after = lab_arg(r, "after");
    long limit = lim != NULL ? atol(lim) : 200;
    if (limit < 1 || limit > 200)
        limit = 200;
    json_t *out = json_array();
    bool started = after == NULL, more = false;
    for (int i = 0; i < LAB_USERS; i++) {
        const struct lab_user *u = &r->org->users[i];
        json_t *v = user_view(r, u);
        bool bad = false, hit = true;
        if (search != NULL)
            hit = expr_match(v, search, &bad);
        if (hit && filter != NULL)
            hit = expr_match(v, filter, &bad);
        if (hit && q != NULL)
            hit = strncasecmp(u->first, q, strlen(q)) == 0 ||
                  strncasecmp(u->last, q, strlen(q)) == 0 ||
                  strncasecmp(u->login, q, strlen(q)) == 0;
        if (bad) {
            json_decref(v);
            json_decref(out);
            error(r, 400, "E0000031", "Invalid search criteria.");
            return;
        }
        if (hit && started) {
            if ((long)json_array_size(out) < limit) {
                json_array_append(out, v);
            } else if (!more) {
                more = true;
                char link[300];
                snprintf(link, sizeof(link), "</api/v1/users?limit=%ld&after=%s>; rel=\"next\"",
                         limit,
                         json_string_value(
                             json_object_get(json_array_get(out, json_array_size(out) - 1), "id")));
                lab_reply_header(r, "Link", link);
            }
        }
        if (!started && strcmp(u->okta_id, after) == 0)
            started = true;
        json_decref(v);
    }
    lab_reply_header(r, "X-Rate-Limit-Limit", "600");
    lab_reply_header(r, "X-Rate-Limit-Remaining", "599");
    lab_reply_json(r, 200, out);
}

bool lab_okta(struct lab_req *r)
{
    const char *p = r->path;
    if (!lab_prefix(p, "/api/v1/"))
        return false;
    const char *a = lab_header(r, "Authorization");
    if (a == NULL || strcmp(a, "SSWS " LAB_TOKEN) != 0) {
        error(r, 401, "E0000011", "Invalid token provided");
        return true;
    }
    const char *m = r->method;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    char c[2][RP_LAB_SEG_MAX];
    if (strcmp(p, "/api/v1/users") == 0 && get) {
        list_users(r);
        return true;
    }
    struct lab_user *u = NULL;
    if (lab_path_match(p, "/api/v1/users/*", c, 2) ||
        lab_path_match(p, "/api/v1/users/*/sessions", c, 2) ||
        lab_path_match(p, "/api/v1/users/*/groups", c, 2) ||
        lab_path_match(p, "/api/v1/users/*/lifecycle/*", c, 2)) {
        u = lab_user_find(r->org, c[0]);
        if (u == NULL) {
            char msg[RP_LAB_SEG_MAX + 64];
            snprintf(msg, sizeof(msg), "Not found: Resource not found: %s (User)", c[0]);
            error(r, 404, "E0000007", msg);
            return true;
        }
    } else {
        error(r, 404, "E0000022", "The endpoint does not support the provided HTTP method");
        return true;
    }
    if (lab_path_match(p, "/api/v1/users/*", c, 2) && get) {
        lab_reply_json(r, 200, user_view(r, u));
    } else if (lab_path_match(p, "/api/v1/users/*/groups", c, 2) && get) {
        lab_reply_json(
            r, 200,
            json_pack("[{s:s,s:{s:s}}]", "id", "00glab0everyone", "profile", "name", "Everyone"));
    } else if (lab_path_match(p, "/api/v1/users/*/sessions", c, 2) && strcmp(m, "DELETE") == 0) {
        u->okta_sessions_cleared++;
        lab_reply_empty(r, 204);
    } else if (lab_path_match(p, "/api/v1/users/*/lifecycle/*", c, 2) && post) {
        const char *op = c[1];
        if (strcmp(op, "reset_password") == 0) {
            const char *se = lab_arg(r, "sendEmail");
            if (strcmp(u->okta_status, "SUSPENDED") == 0 ||
                strcmp(u->okta_status, "DEPROVISIONED") == 0) {
                error(r, 403, "E0000038",
                      "This operation is not allowed in the user's current status.");
                return true;
            }
            u->okta_resets++;
            snprintf(u->okta_status, sizeof(u->okta_status), "RECOVERY");
            if (se != NULL && strcmp(se, "false") == 0) {
                char tok[40], url[200];
                lab_org_new_id(r->org, "", tok, sizeof(tok));
                snprintf(url, sizeof(url), "https://lab.okta.example/reset_password/%s", tok);
                lab_reply_json(r, 200, json_pack("{s:s}", "resetPasswordUrl", url));
            } else {
                lab_reply_json(r, 200, json_object());
            }
        } else if (strcmp(op, "expire_password") == 0) {
            snprintf(u->okta_status, sizeof(u->okta_status), "PASSWORD_EXPIRED");
            u->okta_resets++;
            const char *tp = lab_arg(r, "tempPassword");
            if (tp != NULL && strcmp(tp, "true") == 0)
                lab_reply_json(r, 200, json_pack("{s:s}", "tempPassword", "Lab-Temp-2291"));
            else
                lab_reply_json(r, 200, user_view(r, u));
        } else if (strcmp(op, "suspend") == 0) {
            if (strcmp(u->okta_status, "ACTIVE") != 0) {
                error(r, 400, "E0000001",
                      "Api validation failed: Cannot suspend a user that is not active");
                return true;
            }
            snprintf(u->okta_status, sizeof(u->okta_status), "SUSPENDED");
            lab_reply_json(r, 200, json_object());
        } else if (strcmp(op, "unsuspend") == 0) {
            if (strcmp(u->okta_status, "SUSPENDED") != 0) {
                error(r, 400, "E0000001",
                      "Api validation failed: Cannot unsuspend a user that is not suspended");
                return true;
            }
            snprintf(u->okta_status, sizeof(u->okta_status), "ACTIVE");
            lab_reply_json(r, 200, json_object());
        } else {
            error(r, 404, "E0000022", "The endpoint does not support the provided HTTP method");
        }
    } else {
        error(r, 405, "E0000022", "The endpoint does not support the provided HTTP method");
    }
    return true;
}
