/*
 * msgraph.c: the lab's Microsoft Graph API (base /v1.0): users, their
 * mailboxes, sessions and passwords.
 *
 * Bearer tokens from the lab's Entra endpoint (entra.c) with a Graph scope.
 * Messages are searched per mailbox with $filter (internetMessageId eq '<..>',
 * from/emailAddress/address eq '..', subject eq '..') or $search ("subject:x",
 * "from:x", "attachment:x" or free text); a deleted message is gone from every
 * search; a moved one changes folder. revokeSignInSessions and password resets
 * are counted in the user's state (GET /_lab/state). Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PW_METHOD "28c10230-6103-485e-b985-444c60001490"

static json_t *user_view(const struct lab_user *u)
{
    char name[40];
    snprintf(name, sizeof(name), "%s %s", u->first, u->last);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s}", "id", u->graph_id, "displayName",
                     name, "givenName", u->first, "surname", u->last, "mail", u->login,
                     "userPrincipalName", u->login, "accountEnabled", u->graph_enabled,
                     "department", u->dept, "jobTitle", "Employee");
}

static json_t *msg_view(const struct lab_org *org, const struct lab_msg *m)
{
    char ts[40];
    lab_time(m->received_ms, false, ts);
    const struct lab_user *to = &org->users[m->user];
    json_t *from =
        json_pack("{s:{s:s,s:s}}", "emailAddress", "name", m->from_name, "address", m->from);
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:o,s:O,s:[{s:{s:s}}],s:s,s:s,s:b,s:s,s:s,s:b}", "id", m->id,
                  "internetMessageId", m->imid, "subject", m->subject, "from", from, "sender", from,
                  "toRecipients", "emailAddress", "address", to->login, "receivedDateTime", ts,
                  "sentDateTime", ts, "hasAttachments", m->file >= 0, "bodyPreview", m->preview,
                  "parentFolderId", m->folder, "isRead", 0);
    if (m->file >= 0) /* lab extension: what a search by attachment hash matches */
        json_object_set_new(j, "attachmentSha256", json_string(org->files[m->file].sha256));
    return j;
}

/* True when the message matches a KQL-ish $search string. */
static bool search_match(const struct lab_org *org, const struct lab_msg *m, const char *q)
{
    char s[512];
    size_t n = strlen(q);
    if (n >= 2 && q[0] == '"' && q[n - 1] == '"')
        snprintf(s, sizeof(s), "%.*s", (int)(n - 2), q + 1);
    else
        snprintf(s, sizeof(s), "%s", q);
    char *colon = strchr(s, ':');
    const char *att = m->file >= 0 ? org->files[m->file].sha256 : "";
    const char *attn = m->file >= 0 ? org->files[m->file].name : "";
    if (colon != NULL) {
        *colon = '\0';
        const char *v = colon + 1;
        if (*v == '\'' || *v == '"') {
            v++;
            size_t vl = strlen(v);
            if (vl > 0 && (v[vl - 1] == '\'' || v[vl - 1] == '"'))
                ((char *)v)[vl - 1] = '\0';
        }
        if (strcasecmp(s, "subject") == 0)
            return lab_icontains(m->subject, v);
        if (strcasecmp(s, "from") == 0)
            return lab_icontains(m->from, v) || lab_icontains(m->from_name, v);
        if (strcasecmp(s, "body") == 0)
            return lab_icontains(m->preview, v);
        if (strcasecmp(s, "attachment") == 0 || strcasecmp(s, "attachmentnames") == 0)
            return lab_icontains(attn, v) || strcasecmp(att, v) == 0;
        if (strcasecmp(s, "internetmessageid") == 0)
            return lab_icontains(m->imid, v);
        return false;
    }
    return lab_icontains(m->subject, s) || lab_icontains(m->from, s) ||
           lab_icontains(m->preview, s) || lab_icontains(attn, s) || strcasecmp(att, s) == 0;
}

static void list_messages(struct lab_req *r, const struct lab_user *u, const char *folder)
{
    struct lab_org *org = r->org;
    const char *search = lab_arg(r, "$search");
    json_t *all = json_array();
    for (int i = 0; i < org->nmsgs; i++) {
        const struct lab_msg *m = &org->msgs[i];
        if (m->deleted || &org->users[m->user] != u)
            continue;
        if (folder != NULL && strcasecmp(folder, m->folder) != 0)
            continue;
        if (search != NULL && !search_match(org, m, search))
            continue;
        json_array_append_new(all, msg_view(org, m));
    }
    char ctx[200];
    snprintf(ctx, sizeof(ctx), "https://graph.microsoft.com/v1.0/$metadata#users('%s')/messages",
             u->graph_id);
    lab_odata_list(r, all, ctx);
}

static struct lab_msg *find_msg(struct lab_org *org, const struct lab_user *u, const char *id)
{
    for (int i = 0; i < org->nmsgs; i++) {
        struct lab_msg *m = &org->msgs[i];
        if (!m->deleted && &org->users[m->user] == u && strcmp(m->id, id) == 0)
            return m;
    }
    return NULL;
}

static void patch_user(struct lab_req *r, struct lab_user *u)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    json_t *pp = json_object_get(b, "passwordProfile");
    json_t *en = json_object_get(b, "accountEnabled");
    if (b == NULL || !json_is_object(b)) {
        lab_odata_error(r, 400, "BadRequest", b == NULL ? why : "the body must be an object");
    } else if (pp != NULL &&
               (!json_is_object(pp) || json_string_length(json_object_get(pp, "password")) < 8)) {
        lab_odata_error(r, 400, "Request_BadRequest",
                        "passwordProfile.password must be at least 8 characters");
    } else if (en != NULL && !json_is_boolean(en)) {
        lab_odata_error(r, 400, "Request_BadRequest", "accountEnabled must be a boolean");
    } else {
        if (pp != NULL)
            u->graph_password_changes++;
        if (en != NULL)
            u->graph_enabled = json_is_true(en);
        lab_reply_empty(r, 204);
    }
    json_decref(b);
}

bool lab_msgraph(struct lab_req *r)
{
    const char *p = r->path;
    if (!lab_prefix(p, "/v1.0/"))
        return false;
    enum lab_tok t = lab_token_check(r->lab, "graph", NULL, lab_header(r, "Authorization"));
    if (t != LAB_TOK_OK) {
        lab_odata_error(r, 401, "InvalidAuthenticationToken",
                        t == LAB_TOK_EXPIRED ? "Lifetime validation failed, the token is expired."
                        : t == LAB_TOK_MISSING
                            ? "Access token is empty."
                            : "Access token validation failure. Invalid audience.");
        return true;
    }
    struct lab_org *org = r->org;
    const char *m = r->method;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    char c[3][RP_LAB_SEG_MAX];
    if (strcmp(p, "/v1.0/users") == 0 && get) {
        json_t *a = json_array();
        for (int i = 0; i < LAB_USERS; i++)
            json_array_append_new(a, user_view(&org->users[i]));
        lab_odata_list(r, a, "https://graph.microsoft.com/v1.0/$metadata#users");
        return true;
    }
    if (!lab_path_match(p, "/v1.0/users/*", c, 3) &&
        !lab_path_match(p, "/v1.0/users/*/messages", c, 3) &&
        !lab_path_match(p, "/v1.0/users/*/messages/*", c, 3) &&
        !lab_path_match(p, "/v1.0/users/*/messages/*/move", c, 3) &&
        !lab_path_match(p, "/v1.0/users/*/messages/*/attachments", c, 3) &&
        !lab_path_match(p, "/v1.0/users/*/mailFolders/*/messages", c, 3) &&
        !lab_path_match(p, "/v1.0/users/*/revokeSignInSessions", c, 3) &&
        !lab_path_match(p, "/v1.0/users/*/authentication/methods/*/resetPassword", c, 3)) {
        lab_odata_error(r, 400, "BadRequest", "Resource not found for the segment in the lab.");
        return true;
    }
    struct lab_user *u = lab_user_find(org, c[0]);
    if (u == NULL) {
        char msg[RP_LAB_SEG_MAX + 128];
        snprintf(msg, sizeof(msg),
                 "Resource '%s' does not exist or one of its queried reference-"
                 "property objects are not present.",
                 c[0]);
        lab_odata_error(r, 404, "Request_ResourceNotFound", msg);
        return true;
    }
    char c2[3][RP_LAB_SEG_MAX];
    if (lab_path_match(p, "/v1.0/users/*", c2, 3)) {
        if (get)
            lab_reply_json(r, 200, user_view(u));
        else if (strcmp(m, "PATCH") == 0)
            patch_user(r, u);
        else
            lab_odata_error(r, 405, "MethodNotAllowed", "GET or PATCH");
    } else if (lab_path_match(p, "/v1.0/users/*/messages", c2, 3) && get) {
        list_messages(r, u, NULL);
    } else if (lab_path_match(p, "/v1.0/users/*/mailFolders/*/messages", c2, 3) && get) {
        list_messages(r, u, c2[1]);
    } else if (lab_path_match(p, "/v1.0/users/*/messages/*/move", c2, 3) && post) {
        struct lab_msg *msg = find_msg(org, u, c2[1]);
        char why[160];
        json_t *b = msg != NULL ? lab_body_json(r, why, sizeof(why)) : NULL;
        const char *dest = json_string_value(json_object_get(b, "destinationId"));
        if (dest == NULL)
            dest = json_string_value(json_object_get(b, "DestinationId"));
        if (msg == NULL)
            lab_odata_error(r, 404, "ErrorItemNotFound",
                            "The specified object was not found in the store.");
        else if (b == NULL)
            lab_odata_error(r, 400, "BadRequest", why);
        else if (dest == NULL || strlen(dest) >= sizeof(msg->folder))
            lab_odata_error(r, 400, "ErrorInvalidIdMalformed", "destinationId is required");
        else {
            snprintf(msg->folder, sizeof(msg->folder), "%s", dest);
            lab_reply_json(r, 201, msg_view(org, msg));
        }
        json_decref(b);
    } else if (lab_path_match(p, "/v1.0/users/*/messages/*/attachments", c2, 3) && get) {
        struct lab_msg *msg = find_msg(org, u, c2[1]);
        if (msg == NULL) {
            lab_odata_error(r, 404, "ErrorItemNotFound",
                            "The specified object was not found in the store.");
            return true;
        }
        json_t *a = json_array();
        if (msg->file >= 0)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:i,s:b}", "@odata.type",
                                               "#microsoft.graph.fileAttachment", "id", "AAMkatt0",
                                               "name", org->files[msg->file].name, "contentType",
                                               "application/octet-stream", "size", 48128,
                                               "isInline", 0));
        lab_odata_list(r, a, "https://graph.microsoft.com/v1.0/$metadata#attachments");
    } else if (lab_path_match(p, "/v1.0/users/*/messages/*", c2, 3)) {
        struct lab_msg *msg = find_msg(org, u, c2[1]);
        if (msg == NULL)
            lab_odata_error(r, 404, "ErrorItemNotFound",
                            "The specified object was not found in the store.");
        else if (get)
            lab_reply_json(r, 200, msg_view(org, msg));
        else if (strcmp(m, "DELETE") == 0) {
            msg->deleted = true;
            lab_reply_empty(r, 204);
        } else
            lab_odata_error(r, 405, "MethodNotAllowed", "GET or DELETE");
    } else if (lab_path_match(p, "/v1.0/users/*/revokeSignInSessions", c2, 3) && post) {
        u->graph_revocations++;
        lab_reply_json(r, 200,
                       json_pack("{s:s,s:b}", "@odata.context",
                                 "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value",
                                 1));
    } else if (lab_path_match(p, "/v1.0/users/*/authentication/methods/*/resetPassword", c2, 3) &&
               post) {
        if (strcmp(c2[1], PW_METHOD) != 0) {
            lab_odata_error(r, 404, "itemNotFound", "no such authentication method");
            return true;
        }
        u->graph_password_changes++;
        char loc[300], op[40];
        lab_org_new_id(org, "", op, sizeof(op));
        snprintf(loc, sizeof(loc), "/v1.0/users/%s/authentication/operations/%s", u->graph_id, op);
        lab_reply_header(r, "Location", loc);
        lab_reply_header(r, "Retry-After", "1");
        lab_reply_empty(r, 202);
    } else {
        lab_odata_error(r, 405, "MethodNotAllowed", "this method is not served here by the lab");
    }
    return true;
}
