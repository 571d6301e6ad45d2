/*
 * routes_runs.c: the daemon's endpoints for playbook runs, playbooks and
 * prompts, and the signed answer links (`/respond/{token}`) people click in a
 * mail. server.h lists them; docs/internals/daemon.md says why they are so.
 *
 * Threads: every function runs on a libmicrohttpd pool thread, with that
 * thread's store handle (api_thread_store). Nothing here touches the engine:
 * a manual start goes to the runner's inbox (runner_submit), a prompt answer
 * is written to the store (store_prompt_answer, which takes exactly one
 * answer per prompt) and the engine is woken to read it
 * (runner_wake_prompts); a reload is a request to the loop. So an answer is
 * durable before the 200, and the engine, if it was down, finds it at its
 * next poll.
 *
 * Answer links: the token is the credential (engine/prompt.h: prompt id,
 * deadline, HMAC), checked before the store is read; a GET only shows the
 * question (mail scanners fetch links), only a POST answers. Pages are small,
 * self-contained HTML with every value escaped, never cached, never referred.
 * Tokens are never logged: the request's log line keeps only the prompt id.
 *
 * Failure: bad input is a 4xx with its reason ({"error": ...}, or an HTML page
 * for a browser on /respond); a store that cannot be read or written is a 503
 * with Retry-After.
 */
#include "api/runner.h"
#include "api/server_internal.h"
#include "core/log.h"
#include "core/time.h"
#include "model/alert.h"
#include "store/store.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An answer page: the question is a rendered template of at most
 * RP_TEMPLATE_OUTPUT_MAX bytes, and escaping makes a byte at most six
 * ("&quot;"); options are few and short. 8 MiB holds the worst and still
 * bounds what one page may cost. */
#define RESPOND_PAGE_MAX (8u * 1024u * 1024u)

/* --- small helpers ------------------------------------------------------------------- */

/* True when s is one of the NULL-terminated names. */
static bool one_of(const char *s, const char *const *names)
{
    for (; *names != NULL; names++) {
        if (strcmp(s, *names) == 0)
            return true;
    }
    return false;
}

/* True when the body nests no deeper than RP_JSON_MAX_DEPTH: jansson recurses
 * per level on the HTTP thread's small stack, so the depth is checked on the
 * bytes before it parses them. */
static bool json_depth_ok(const char *p, size_t n)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > RP_JSON_MAX_DEPTH)
                return false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

/* Parses the request's body as one JSON object into *out (a new reference);
 * answers 400 and returns false otherwise. */
static bool body_object(struct request *r, json_t **out, enum MHD_Result *ret)
{
    *out = NULL;
    if (r->body.len == 0) {
        *ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "empty body: send a JSON object");
        return false;
    }
    if (!json_depth_ok(r->body.data, r->body.len)) {
        *ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                              "the body nests deeper than %d levels", RP_JSON_MAX_DEPTH);
        return false;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        char text[sizeof je.text];
        api_safe_text(text, sizeof text, je.text);
        *ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "the body is not JSON: byte %d: %s",
                              je.position, text);
        return false;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "the body must be a JSON object");
        return false;
    }
    *out = j;
    return true;
}

/* Answers 400 (and returns false) when o has a key not in allowed. */
static bool keys_known(struct request *r, json_t *o, const char *const *allowed,
                       enum MHD_Result *ret)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        (void)v;
        if (!one_of(k, allowed)) {
            char name[64];
            api_safe_text(name, sizeof name, k);
            *ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "unknown field %s", name);
            return false;
        }
    }
    return true;
}

/* A prompt id from the path: a ULID, in any case. False when it is not one. */
static bool prompt_id_of(const char *arg, char id[ULID_LEN + 1])
{
    size_t n = strlen(arg);
    if (n != ULID_LEN)
        return false;
    for (size_t i = 0; i <= n; i++)
        id[i] = (char)toupper((unsigned char)arg[i]);
    return ulid_valid(id, ULID_LEN);
}

/* --- runs and playbooks ------------------------------------------------------------- */

/* A list of the store's rows (runs, prompts) that ?status= filters. */
struct list_kind {
    const char *const *statuses; /* NULL-terminated: what ?status= may say */
    const char *key;             /* "runs": the array's key in the answer */
    const char *op;              /* the store operation, for the log */
    rp_status (*list)(struct store *s, const char *status, size_t limit, json_t **out);
};

/* Answers GET of a list: ?limit= (1..RP_RUN_LIST_MAX, API_LIST_DEFAULT when
 * absent) and ?status= (one of k->statuses, any when absent), 400 for anything
 * else in the query, 503 when the store fails, else 200 with
 * {"count": N, KEY: [...]}. */
static enum MHD_Result list_page(struct request *r, const struct list_kind *k)
{
    static const char *const allowed[] = {"status", "limit", NULL};
    enum MHD_Result ret;
    size_t limit;
    if (!api_args_known(r, allowed, &ret) ||
        !api_arg_limit(r, API_LIST_DEFAULT, RP_RUN_LIST_MAX, &limit, &ret))
        return ret;
    const char *sv = api_arg(r, "status");
    if (sv != NULL && !one_of(sv, k->statuses)) {
        char names[128] = "";
        size_t n = 0;
        for (const char *const *p = k->statuses; *p != NULL && n < sizeof names; p++)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n > 0 ? ", " : "", *p);
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "status must be one of: %s", names);
    }
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    json_t *out = NULL;
    if (s == NULL || k->list(s, sv, limit, &out) != RP_OK) {
        char what[64];
        snprintf(what, sizeof what, "read the %s", k->key);
        return api_store_failed(r, s, &err, k->op, what);
    }
    return api_send_json(r, MHD_HTTP_OK, api_list_json(k->key, out), 0, NULL);
}

enum MHD_Result api_runs_list(struct request *r)
{
    static const char *const statuses[] = {"running", "waiting", "succeeded", "failed", NULL};
    static const struct list_kind k = {
        .statuses = statuses, .key = "runs", .op = "run_list", .list = store_run_list_json};
    return list_page(r, &k);
}

enum MHD_Result api_run_show(struct request *r)
{
    static const struct api_show how = {"run", "runs", "run_show", MHD_HTTP_CONFLICT,
                                        store_run_show_json};
    return api_show_one(r, &how);
}

/* True when a playbook of this name is loaded (the runner's snapshot). */
static bool playbook_loaded(struct runner *rn, const char *name)
{
    json_t *list = runner_playbooks_json(rn);
    bool found = false;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n != NULL && strcmp(n, name) == 0) {
            found = true;
            break;
        }
    }
    json_decref(list);
    return found;
}

enum MHD_Result api_run_start(struct request *r)
{
    static const char *const fields[] = {"playbook", "alert", "inputs", NULL};
    struct server *srv = r->srv;
    enum MHD_Result ret;
    json_t *body = NULL, *alert = NULL;
    if (!api_args_none(r, &ret) || !body_object(r, &body, &ret))
        return ret;
    if (!keys_known(r, body, fields, &ret))
        goto done;
    const char *name = json_string_value(json_object_get(body, "playbook"));
    json_t *in_alert = json_object_get(body, "alert");
    json_t *inputs = json_object_get(body, "inputs");
    if (name == NULL || name[0] == '\0' || strlen(name) > RP_PLAYBOOK_NAME_MAX) {
        ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                             "playbook: give the name of a loaded playbook (1-%d bytes)",
                             RP_PLAYBOOK_NAME_MAX);
        goto done;
    }
    if ((in_alert != NULL && !json_is_object(in_alert)) ||
        (inputs != NULL && !json_is_object(inputs))) {
        ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                             "alert and inputs, when given, must be JSON objects");
        goto done;
    }
    if (!playbook_loaded(srv->runner, name)) {
        char n[RP_PLAYBOOK_NAME_MAX + 1];
        api_safe_text(n, sizeof n, name);
        ret = api_send_error(r, MHD_HTTP_NOT_FOUND, 0, NULL, "no playbook %s is loaded", n);
        goto done;
    }
    if (in_alert != NULL) {
        /* the alert a run starts from is checked as ingest checks it */
        struct alert_opts ao = {
            .received_ms = time_now_ms(), .default_source = "api", .config = srv->config};
        struct rp_error aerr = {{0}};
        if (alert_normalize(in_alert, &ao, &alert, &aerr) != RP_OK) {
            ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "alert: %s", aerr.msg);
            goto done;
        }
    }
    struct rp_error err = {{0}};
    rp_status st = runner_submit(srv->runner, name, alert, json_incref(inputs), &err);
    alert = NULL; /* taken */
    if (st == RP_E_BUSY) {
        ret = api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL, "%s", err.msg);
        goto done;
    }
    if (st != RP_OK) {
        ret = api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL,
                             "cannot start the run: %s", err.msg);
        goto done;
    }
    char pn[RP_PLAYBOOK_NAME_MAX + 1];
    api_safe_text(pn, sizeof pn, name);
    log_info("run.requested", "playbook=%s who=%s", pn, r->who.name);
    ret = api_send_json(r, MHD_HTTP_ACCEPTED, json_pack("{s:b,s:s}", "queued", 1, "playbook", name),
                        0, NULL);
done:
    json_decref(alert);
    json_decref(body);
    return ret;
}

enum MHD_Result api_playbooks_list(struct request *r)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    json_t *list = runner_playbooks_json(r->srv->runner);
    return api_send_json(r, MHD_HTTP_OK, api_list_json("playbooks", list), 0, NULL);
}

enum MHD_Result api_playbooks_reload(struct request *r)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    /* The load happens on the loop; a directory that does not load keeps the
     * running set and says why in the log (GET /api/v1/playbooks shows the
     * set that runs). */
    runner_request_reload(r->srv->runner);
    log_info("playbooks.reload_requested", "who=%s", r->who.name);
    return api_send_json(r, MHD_HTTP_ACCEPTED, json_pack("{s:b}", "reloading", 1), 0, NULL);
}

/* --- prompts ------------------------------------------------------------------------ */

enum MHD_Result api_prompts_list(struct request *r)
{
    static const char *const statuses[] = {"open", "answered", "expired", NULL};
    static const struct list_kind k = {.statuses = statuses,
                                       .key = "prompts",
                                       .op = "prompt_list",
                                       .list = store_prompt_list_json};
    return list_page(r, &k);
}

/* The deadline of a prompt row (its "deadline", RFC 3339), 0 when unreadable. */
static int64_t prompt_deadline_ms(json_t *p)
{
    const char *dl = json_string_value(json_object_get(p, "deadline"));
    int64_t ms = 0;
    struct rp_error e;
    if (dl == NULL || time_parse_rfc3339(dl, strlen(dl), &ms, &e) != RP_OK)
        return 0;
    return ms;
}

enum MHD_Result api_prompt_show(struct request *r)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    char id[ULID_LEN + 1];
    if (!prompt_id_of(r->arg, id))
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                              "a prompt id is a ULID (%d letters and digits)", ULID_LEN);
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    json_t *p = NULL;
    rp_status st = s != NULL ? store_prompt_get_json(s, id, &p) : RP_E_STORE;
    if (st == RP_E_NOTFOUND)
        return api_send_error(r, MHD_HTTP_NOT_FOUND, 0, NULL, "no prompt %s", id);
    if (st != RP_OK)
        return api_store_failed(r, s, &err, "prompt_get", "read the prompt");
    unsigned flags = 0;
    if (auth_role_allows(r->who.role, AUTH_RESPOND)) {
        /* The link is a credential: only for who may answer anyway, and never
         * cached. Signed with the row's deadline, as the engine's mail is. */
        char token[PROMPT_TOKEN_MAX];
        prompt_token_make(runner_prompt_key(r->srv->runner), id, prompt_deadline_ms(p), token);
        struct buf link;
        buf_init(&link, strlen(r->srv->public_base) + sizeof token + 16);
        if (buf_printf(&link, "%s/respond/%s", r->srv->public_base, token) != RP_OK ||
            json_object_set_new(p, "link", json_string(link.data)) != 0) {
            buf_fini(&link);
            json_decref(p);
            return api_send_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, 0, NULL);
        }
        buf_fini(&link);
        flags |= ANS_NOSTORE;
    }
    return api_send_json(r, MHD_HTTP_OK, p, flags, NULL);
}

/* Maps store_prompt_answer's refusals to an HTTP status. */
static unsigned answer_status(rp_status st)
{
    switch (st) {
    case RP_OK:
        return MHD_HTTP_OK;
    case RP_E_NOTFOUND:
        return MHD_HTTP_NOT_FOUND;
    case RP_E_EXISTS:
        return MHD_HTTP_CONFLICT;
    case RP_E_LIMIT:
        return MHD_HTTP_GONE;
    case RP_E_INVALID:
        return MHD_HTTP_BAD_REQUEST;
    default:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
}

/* Takes the answer in the store (this thread's handle), then wakes the
 * engine. *why gets the store's reason on a refusal. */
static rp_status answer(struct request *r, const char *id, const char *option, const char *by,
                        char *why, size_t cap)
{
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    rp_status st = s != NULL ? store_prompt_answer(s, id, option, by, time_now_ms()) : RP_E_STORE;
    if (st == RP_OK) {
        runner_wake_prompts(r->srv->runner);
        log_info("prompt.answered", "prompt=%s by=%s", id, by);
        why[0] = '\0';
        return st;
    }
    api_str_copy(why, cap, s != NULL ? store_errmsg(s) : err.msg);
    if (answer_status(st) == MHD_HTTP_SERVICE_UNAVAILABLE)
        api_store_log(s, &err, "prompt_answer");
    return st;
}

enum MHD_Result api_prompt_answer(struct request *r)
{
    static const char *const fields[] = {"option", NULL};
    enum MHD_Result ret;
    char id[ULID_LEN + 1];
    json_t *body = NULL;
    if (!api_args_none(r, &ret))
        return ret;
    if (!prompt_id_of(r->arg, id))
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                              "a prompt id is a ULID (%d letters and digits)", ULID_LEN);
    if (!body_object(r, &body, &ret))
        return ret;
    if (!keys_known(r, body, fields, &ret))
        goto done;
    const char *option = json_string_value(json_object_get(body, "option"));
    if (option == NULL) {
        ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                             "option: give one of the prompt's options as a string");
        goto done;
    }
    char by[RP_TOKEN_NAME_MAX + 8];
    snprintf(by, sizeof by, "api:%s", r->who.name);
    char why[RP_ERROR_MAX];
    rp_status st = answer(r, id, option, by, why, sizeof why);
    unsigned code = answer_status(st);
    if (st == RP_OK)
        ret = api_send_json(
            r, code, json_pack("{s:b,s:s,s:s}", "answered", 1, "prompt", id, "option", option), 0,
            NULL);
    else
        ret = api_send_error(r, code, code == MHD_HTTP_SERVICE_UNAVAILABLE ? ANS_RETRY : 0, NULL,
                             "%s", why);
done:
    json_decref(body);
    return ret;
}

/* --- answer links --------------------------------------------------------------------- */

/* True when the client asks for JSON rather than a page: an Accept that names
 * application/json and not text/html (browsers send text/html), or, for a
 * POST, a JSON body. */
static bool wants_json(struct request *r)
{
    const char *acc = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (acc != NULL && strcasestr(acc, "application/json") != NULL &&
        strcasestr(acc, "text/html") == NULL)
        return true;
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return r->post && ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

/* Appends s with &, <, >, " and ' escaped. */
static rp_status html_put(struct buf *b, const char *s)
{
    rp_status st = RP_OK;
    for (const char *p = s; *p != '\0' && st == RP_OK;) {
        size_t n = strcspn(p, "&<>\"'");
        if (n > 0)
            st = buf_append(b, p, n);
        p += n;
        if (*p == '\0' || st != RP_OK)
            break;
        switch (*p) {
        case '&':
            st = buf_puts(b, "&amp;");
            break;
        case '<':
            st = buf_puts(b, "&lt;");
            break;
        case '>':
            st = buf_puts(b, "&gt;");
            break;
        case '"':
            st = buf_puts(b, "&quot;");
            break;
        default:
            st = buf_puts(b, "&#39;");
            break;
        }
        p++;
    }
    return st;
}

static const char PAGE_HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<meta name=\"robots\" content=\"noindex, nofollow\"><title>Riposte: ";
static const char PAGE_STYLE[] =
    "</title><style>body{font-family:system-ui,sans-serif;max-width:38em;margin:3em auto;"
    "padding:0 1em;color:#222;line-height:1.4}.q{font-size:1.2em;white-space:pre-wrap}"
    "button{font-size:1.05em;margin:.3em .6em .3em 0;padding:.5em 1.4em;cursor:pointer}"
    ".meta{color:#666;font-size:.9em}</style></head><body>\n";
static const char PAGE_TAIL[] = "</body></html>\n";

/* Queues page (its text taken) as an HTML answer with code and the headers
 * that keep a link page private: no caching, no referrer, no scripts. */
static enum MHD_Result send_page(struct request *r, unsigned code, struct buf *page)
{
    size_t len = page->len;
    char *text = buf_steal(page);
    struct MHD_Response *resp =
        text != NULL ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (resp == NULL) {
        free(text);
        return api_send_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, 0, NULL);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY,
                            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
    return api_queue(r, code, resp, ANS_NOSTORE);
}

/* A page with a title and one paragraph of text (both escaped). */
static enum MHD_Result send_message_page(struct request *r, unsigned code, const char *title,
                                         const char *text)
{
    struct buf b;
    buf_init(&b, RESPOND_PAGE_MAX);
    rp_status st = buf_puts(&b, PAGE_HEAD);
    if (st == RP_OK)
        st = html_put(&b, title);
    if (st == RP_OK)
        st = buf_puts(&b, PAGE_STYLE);
    if (st == RP_OK)
        st = buf_puts(&b, "<h1>");
    if (st == RP_OK)
        st = html_put(&b, title);
    if (st == RP_OK)
        st = buf_puts(&b, "</h1>\n<p>");
    if (st == RP_OK)
        st = html_put(&b, text);
    if (st == RP_OK)
        st = buf_puts(&b, "</p>\n");
    if (st == RP_OK)
        st = buf_puts(&b, PAGE_TAIL);
    enum MHD_Result ret = st == RP_OK
                              ? send_page(r, code, &b)
                              : api_send_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, 0, NULL);
    buf_fini(&b);
    return ret;
}

/* Refuses a link request: {"error"} for JSON clients, a page for people. */
static enum MHD_Result respond_refuse(struct request *r, bool json, unsigned code,
                                      const char *title, const char *fmt, ...) RP_PRINTF(5, 6);

static enum MHD_Result respond_refuse(struct request *r, bool json, unsigned code,
                                      const char *title, const char *fmt, ...)
{
    char msg[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned flags = ANS_NOSTORE | (code == MHD_HTTP_SERVICE_UNAVAILABLE ? ANS_RETRY : 0);
    if (json)
        return api_send_error(r, code, flags, NULL, "%s", msg);
    api_str_copy(r->why, sizeof r->why, msg);
    return send_message_page(r, code, title, msg);
}

/* Checks the link's token and its query: the prompt id on success; answers
 * 400/403/410 and returns false otherwise. */
static bool respond_verify(struct request *r, bool json, char id[ULID_LEN + 1],
                           enum MHD_Result *ret)
{
    if (MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0) {
        *ret = respond_refuse(r, json, MHD_HTTP_BAD_REQUEST, "Bad link",
                              "this link takes no query parameters: use it as it was sent");
        return false;
    }
    struct rp_error err = {{0}};
    rp_status st = strlen(r->arg) < PROMPT_TOKEN_MAX
                       ? prompt_token_verify(runner_prompt_key(r->srv->runner), r->arg,
                                             time_now_ms(), id, &err)
                       : rp_error_set(&err, RP_E_DENIED, "not a valid answer link");
    if (st == RP_OK)
        return true;
    if (st == RP_E_LIMIT)
        *ret = respond_refuse(r, json, MHD_HTTP_GONE, "Too late",
                              "This question closed at its deadline; the answer was not taken.");
    else
        *ret = respond_refuse(r, json, MHD_HTTP_FORBIDDEN, "Invalid link",
                              "This is not a valid answer link. Use the link exactly as it was "
                              "sent.");
    return false;
}

/* The question page: the question and one button per option, each posting
 * option=VALUE back to this same URL. */
static enum MHD_Result send_question_page(struct request *r, json_t *p)
{
    const char *question = json_string_value(json_object_get(p, "question"));
    const char *deadline = json_string_value(json_object_get(p, "deadline"));
    json_t *options = json_object_get(p, "options");
    struct buf b;
    buf_init(&b, RESPOND_PAGE_MAX);
    rp_status st = buf_puts(&b, PAGE_HEAD);
    if (st == RP_OK)
        st = buf_puts(&b, "a question for you");
    if (st == RP_OK)
        st = buf_puts(&b, PAGE_STYLE);
    if (st == RP_OK)
        st = buf_puts(&b, "<h1>A question for you</h1>\n<p class=\"q\">");
    if (st == RP_OK)
        st = html_put(&b, question != NULL ? question : "");
    /* the action is the token itself, relative: it resolves to this URL
     * whatever proxy or base path the link went through */
    if (st == RP_OK)
        st = buf_puts(&b, "</p>\n<form method=\"post\" action=\"");
    if (st == RP_OK)
        st = html_put(&b, r->arg);
    if (st == RP_OK)
        st = buf_puts(&b, "\">\n");
    size_t i;
    json_t *o;
    json_array_foreach(options, i, o)
    {
        const char *v = json_string_value(o);
        if (v == NULL || st != RP_OK)
            continue;
        st = buf_puts(&b, "<button type=\"submit\" name=\"option\" value=\"");
        if (st == RP_OK)
            st = html_put(&b, v);
        if (st == RP_OK)
            st = buf_puts(&b, "\">");
        if (st == RP_OK)
            st = html_put(&b, v);
        if (st == RP_OK)
            st = buf_puts(&b, "</button>\n");
    }
    if (st == RP_OK)
        st = buf_puts(&b, "</form>\n<p class=\"meta\">Answer before ");
    if (st == RP_OK)
        st = html_put(&b, deadline != NULL ? deadline : "the deadline");
    if (st == RP_OK)
        st = buf_puts(&b, ". Only the first answer counts.</p>\n");
    if (st == RP_OK)
        st = buf_puts(&b, PAGE_TAIL);
    enum MHD_Result ret = st == RP_OK
                              ? send_page(r, MHD_HTTP_OK, &b)
                              : api_send_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, 0, NULL);
    buf_fini(&b);
    return ret;
}

enum MHD_Result api_respond_get(struct request *r)
{
    bool json = wants_json(r);
    enum MHD_Result ret;
    char id[ULID_LEN + 1];
    if (!respond_verify(r, json, id, &ret))
        return ret;
    /* Only reads: a GET never answers (mail scanners fetch every link). */
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    json_t *p = NULL;
    rp_status st = s != NULL ? store_prompt_get_json(s, id, &p) : RP_E_STORE;
    if (st == RP_E_NOTFOUND)
        return respond_refuse(r, json, MHD_HTTP_NOT_FOUND, "Unknown question",
                              "This question does not exist (any more).");
    if (st != RP_OK) {
        api_store_log(s, &err, "prompt_get");
        return respond_refuse(r, json, MHD_HTTP_SERVICE_UNAVAILABLE, "Try again later",
                              "The question cannot be read right now: try again in a moment.");
    }
    const char *status = json_string_value(json_object_get(p, "status"));
    bool open = status != NULL && strcmp(status, "open") == 0;
    bool expired = status != NULL && strcmp(status, "expired") == 0;
    unsigned code = open ? MHD_HTTP_OK : expired ? MHD_HTTP_GONE : MHD_HTTP_CONFLICT;
    if (json) {
        json_t *j =
            json_pack("{s:s,s:O?,s:O?,s:O?,s:s?}", "id", id, "question",
                      json_object_get(p, "question"), "options", json_object_get(p, "options"),
                      "deadline", json_object_get(p, "deadline"), "status", status);
        if (j != NULL && !open)
            json_object_set_new(j, "error",
                                json_string(expired ? "this question closed at its deadline"
                                                    : "this question was answered already"));
        json_decref(p);
        if (!open)
            api_str_copy(r->why, sizeof r->why, expired ? "prompt expired" : "prompt answered");
        return api_send_json(r, code, j, ANS_NOSTORE, NULL);
    }
    if (!open) {
        json_decref(p);
        return respond_refuse(r, false, code, expired ? "Too late" : "Already answered",
                              expired ? "This question closed at its deadline."
                                      : "This question was answered already; only the first "
                                        "answer counts.");
    }
    ret = send_question_page(r, p);
    json_decref(p);
    return ret;
}

/* The value of a hex digit, -1 for anything else. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes p[0..n) ('+' is a space) into out (n + 1 bytes at least,
 * NUL-terminated); false on a bad escape or a NUL byte. */
static bool form_decode(const char *p, size_t n, char *out, size_t *outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (n - i < 3)
                return false;
            int hi = hex_value(p[i + 1]), lo = hex_value(p[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0')
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    *outn = o;
    return true;
}

/* Reads the one field of an answer form (option=VALUE) from an
 * application/x-www-form-urlencoded body into *out (a JSON string, so that
 * the bytes are known to be UTF-8). An error message in why otherwise. */
static bool form_option(const struct buf *body, json_t **out, char *why, size_t cap)
{
    *out = NULL;
    const char *p = body->data != NULL ? body->data : "";
    const char *end = p + body->len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fe = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(fe - p));
        if (fe > p) {
            const char *ke = eq != NULL ? eq : fe;
            if ((size_t)(ke - p) != 6 || memcmp(p, "option", 6) != 0) {
                snprintf(why, cap, "the form has one field, option");
                goto fail;
            }
            if (*out != NULL) {
                snprintf(why, cap, "the form gives option twice");
                goto fail;
            }
            const char *v = eq != NULL ? eq + 1 : fe;
            size_t vn = (size_t)(fe - v), dn = 0;
            char *dec = malloc(vn + 1);
            if (dec == NULL) {
                snprintf(why, cap, "out of memory");
                goto fail;
            }
            bool ok = form_decode(v, vn, dec, &dn);
            *out = ok ? json_stringn(dec, dn) : NULL;
            free(dec);
            if (*out == NULL) {
                snprintf(why, cap, "option: not a valid UTF-8 form value");
                goto fail;
            }
        }
        p = amp != NULL ? amp + 1 : end;
    }
    if (*out == NULL) {
        snprintf(why, cap, "the form has no option");
        return false;
    }
    return true;
fail:
    json_decref(*out);
    *out = NULL;
    return false;
}

enum MHD_Result api_respond_post(struct request *r)
{
    bool json = wants_json(r);
    enum MHD_Result ret;
    char id[ULID_LEN + 1];
    if (!respond_verify(r, json, id, &ret))
        return ret;
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_t *option = NULL;
    char why[RP_ERROR_MAX];
    if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0) {
        json_t *body = NULL;
        if (!body_object(r, &body, &ret))
            return ret;
        static const char *const fields[] = {"option", NULL};
        if (!keys_known(r, body, fields, &ret)) {
            json_decref(body);
            return ret;
        }
        option = json_incref(json_object_get(body, "option"));
        json_decref(body);
        if (!json_is_string(option)) {
            json_decref(option);
            return api_send_error(r, MHD_HTTP_BAD_REQUEST, ANS_NOSTORE, NULL,
                                  "option: give one of the question's options as a string");
        }
    } else if (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        if (!form_option(&r->body, &option, why, sizeof why))
            return respond_refuse(r, json, MHD_HTTP_BAD_REQUEST, "Bad answer", "%s", why);
    } else {
        return respond_refuse(r, json, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Bad answer",
                              "send the answer as a form (option=...) or as JSON "
                              "{\"option\": ...}");
    }
    const char *opt = json_string_value(option);
    rp_status st = answer(r, id, opt, "link", why, sizeof why);
    unsigned code = answer_status(st);
    if (st == RP_OK) {
        if (json)
            ret = api_send_json(r, code, json_pack("{s:b,s:s}", "answered", 1, "option", opt),
                                ANS_NOSTORE, NULL);
        else {
            char text[RP_ERROR_MAX];
            snprintf(text, sizeof text, "Your answer \"%s\" was recorded. You can close this page.",
                     opt);
            ret = send_message_page(r, code, "Thank you", text);
        }
    } else if (st == RP_E_EXISTS) {
        ret = respond_refuse(r, json, code, "Already answered",
                             "This question was answered already; only the first answer counts.");
    } else if (st == RP_E_LIMIT) {
        ret = respond_refuse(r, json, code, "Too late",
                             "This question closed at its deadline; the answer was not taken.");
    } else if (st == RP_E_INVALID) {
        ret = respond_refuse(r, json, code, "Bad answer", "That is not one of the options.");
    } else if (st == RP_E_NOTFOUND) {
        ret = respond_refuse(r, json, code, "Unknown question",
                             "This question does not exist (any more).");
    } else {
        ret = respond_refuse(r, json, code, "Try again later",
                             "The answer cannot be recorded right now: try again in a moment.");
    }
    json_decref(option);
    return ret;
}
