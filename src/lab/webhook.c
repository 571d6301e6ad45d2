/*
 * webhook.c: the lab's Slack and Microsoft Teams incoming webhooks. Slack:
 * POST /services/{T...}/{B...}/lab-webhook with {"text"} or {"blocks"}, 200
 * "ok"; a wrong secret 403 "invalid_token"; bad JSON 400 "invalid_payload";
 * neither text nor blocks 400 "no_text". Teams: POST /webhookb2/... with a
 * MessageCard (summary or text required) or an Adaptive Card message, 200 "1".
 * Each accepted message is recorded (GET /_lab/state, "webhooks"). Runs under
 * the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <string.h>

static void record(struct lab_req *r, const char *kind, json_t *body)
{
    struct lab_org *org = r->org;
    if (org->nhooks >= RP_LAB_ADDED_MAX) { /* the oldest message goes */
        json_decref(org->hooks[0].body);
        memmove(&org->hooks[0], &org->hooks[1], sizeof(org->hooks[0]) * (RP_LAB_ADDED_MAX - 1));
        org->nhooks--;
    }
    struct lab_hook *h = &org->hooks[org->nhooks++];
    snprintf(h->kind, sizeof(h->kind), "%s", kind);
    snprintf(h->path, sizeof(h->path), "%.159s", r->path);
    h->body = json_incref(body);
    h->at_ms = r->now_ms;
}

bool lab_webhook(struct lab_req *r)
{
    char c[3][RP_LAB_SEG_MAX];
    bool slack =
        lab_path_match(r->path, "/services/*/*/*", c, 3) && c[0][0] == 'T' && c[1][0] == 'B';
    bool teams = lab_prefix(r->path, "/webhookb2/");
    if (!slack && !teams)
        return false;
    if (strcmp(r->method, "POST") != 0) {
        lab_reply_text(r, 405, "text/plain", "method_not_allowed");
        return true;
    }
    if (slack && strcmp(c[2], LAB_WEBHOOK) != 0) {
        lab_reply_text(r, 403, "text/plain", "invalid_token");
        return true;
    }
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    if (b == NULL || !json_is_object(b)) {
        if (slack)
            lab_reply_text(r, 400, "text/plain", "invalid_payload");
        else
            lab_reply_text(r, 400, "text/plain", "Invalid webhook request - Invalid JSON payload");
        json_decref(b);
        return true;
    }
    if (slack) {
        const char *text = json_string_value(json_object_get(b, "text"));
        json_t *blocks = json_object_get(b, "blocks"), *att = json_object_get(b, "attachments");
        if ((text == NULL || *text == '\0') && json_array_size(blocks) == 0 &&
            json_array_size(att) == 0) {
            lab_reply_text(r, 400, "text/plain", "no_text");
        } else {
            record(r, "slack", b);
            lab_reply_text(r, 200, "text/plain", "ok");
        }
    } else {
        const char *type = json_string_value(json_object_get(b, "type"));
        bool adaptive = type != NULL && strcmp(type, "message") == 0 &&
                        json_array_size(json_object_get(b, "attachments")) > 0;
        bool card = json_string_length(json_object_get(b, "summary")) > 0 ||
                    json_string_length(json_object_get(b, "text")) > 0;
        if (!adaptive && !card) {
            lab_reply_text(r, 400, "text/plain", "Summary or Text is required.");
        } else {
            record(r, "teams", b);
            lab_reply_text(r, 200, "text/plain", "1");
        }
    }
    json_decref(b);
    return true;
}
