/*
 * http_internal.h: what http.c (transport, auth, retries, paging), pack.c
 * (vendor packs: the instance builder, actions, sources) and lua_action.c
 * (Lua actions over http) share. Nothing here is seen outside src/connect/.
 *
 * Layers, bottom up:
 *
 *   http_xfer      one HTTP request on the loop's shared curl multi handle
 *                  (one multi per uv loop, driven by uv_poll and uv_timer;
 *                  created on first use, torn down when no transfer is left,
 *                  so a loop that is closed finds none of its handles).
 *   http_service   what an instance knows: base URL, non-secret settings
 *                  (`vars` of templates), auth and its token cache, timeouts,
 *                  retries, TLS, and every secret value (for masking).
 *   http_exchange  one logical request of a pack: auth applied (token fetched
 *                  or refreshed first when needed, once more on a 401),
 *                  retries on 429/5xx and refused connections honouring
 *                  Retry-After, paging, the answer parsed as JSON.
 *   pack_inst      an instance built from a pack (pack.c): its actions and
 *                  sources. `type: http` and `type: lua` build theirs as
 *                  packs written in C.
 *   lua_run        one run of a Lua chunk in a coroutine that yields on each
 *                  http call (lua_action.c).
 *
 * Threads: everything here runs on the loop thread of the engine (actions) or
 * of the daemon (sources), except creation, which runs on the main thread
 * before any loop. Callbacks are never called from inside the start function
 * that was given them: a result always arrives from the loop.
 *
 * Limits are in core/limits.h (RP_HTTPC_*, RP_PACK_*, RP_LUA_ACTION_*).
 */
#ifndef RP_CONNECT_HTTP_INTERNAL_H
#define RP_CONNECT_HTTP_INTERNAL_H

#include "connect/connector.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/status.h"
#include "engine/action.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* --- transport -------------------------------------------------------------- */

struct http_req {
    const char *method; /* "GET", "POST", ... */
    const char *url;
    struct curl_slist *headers; /* borrowed for the call */
    const char *body;           /* copied by the transfer; NULL: none */
    size_t body_len;
    int64_t connect_timeout_ms;
    int64_t timeout_ms;
    size_t max_bytes; /* answer bound (0: RP_HTTPC_RESPONSE_MAX) */
    bool insecure;    /* no TLS verification (explicit configuration only) */
};

struct http_resp {
    rp_status st; /* RP_OK: an answer came (whatever its status); else why not */
    long status;  /* HTTP status, 0 without an answer */
    bool refused; /* the connection could not be made (nothing was sent) */
    bool timed_out;
    struct buf body;
    char *retry_after; /* header values, NULL when absent */
    char *link;
    char *location;
    char *content_type;
    char error[256]; /* when st != RP_OK: curl's reason */
};

struct http_xfer;
typedef void (*http_xfer_cb)(struct http_resp *resp, void *ud);

/* Starts a request on loop's shared multi; cb gets the answer (borrowed for
 * the callback) on the loop, never before this returns. *out may be cancelled
 * until cb runs. */
rp_status http_xfer_start(uv_loop_t *loop, const struct http_req *req, http_xfer_cb cb, void *ud,
                          struct http_xfer **out, struct rp_error *err) RP_MUST_CHECK;

/* Abandons a transfer: cb will not be called. */
void http_xfer_cancel(struct http_xfer *x);

/* Transfers in flight on loop (tests). */
size_t http_loop_active(uv_loop_t *loop);

/* --- the service ------------------------------------------------------------- */

enum http_auth_kind {
    HTTP_AUTH_NONE,
    HTTP_AUTH_BASIC,
    HTTP_AUTH_BEARER,  /* Authorization: SCHEME TOKEN (Bearer, SSWS, ApiKey, Splunk, none) */
    HTTP_AUTH_API_KEY, /* a header or a query parameter */
    HTTP_AUTH_OAUTH2,  /* client credentials, token cached */
    HTTP_AUTH_JWT,     /* an HS256 assertion exchanged for a token (Cylance) */
};

struct token_waiter;

struct http_auth {
    enum http_auth_kind kind;
    char *user, *pass;       /* basic */
    char *scheme, *token;    /* bearer: scheme may be "" (the raw token) */
    char *key_header;        /* api_key: header name, or */
    char *key_query;         /*          query parameter name */
    char *key_value;         /* api_key: the value (settings substituted) */
    char *token_url;         /* oauth2, jwt */
    char *client_id;         /* oauth2 */
    char *client_secret;     /* oauth2; jwt: the HMAC key */
    bool client_basic;       /* oauth2: id and secret as Basic auth, not form fields */
    json_t *form;            /* oauth2: extra form fields (grant_type, scope, resource) */
    json_t *claims;          /* jwt: claims (settings substituted); exp, iat, jti added */
    char *body_field;        /* jwt: the JSON body field carrying the assertion */
    int64_t jwt_lifetime_ms; /* jwt: exp - iat */
    char *token_field;       /* where the token is in the answer (access_token) */
    /* the cache (loop thread) */
    char *access_token;
    int64_t expires_ms;      /* monotonic ms at which to refresh */
    uint64_t generation;     /* bumped at every new token */
    struct http_xfer *fetch; /* the token request in flight */
    struct token_waiter *waiters;
    int64_t clock_offset_ms; /* tests: added to the monotonic clock */
};

struct expr_env;

struct http_service {
    char *instance;
    char *base_url;  /* may hold a secret (a webhook URL): then it is masked */
    json_t *vars;    /* the instance's settings that are not secret */
    json_t *headers; /* default headers of every request (object of strings) */
    struct http_auth auth;
    int attempts;
    int64_t connect_timeout_ms, timeout_ms;
    int64_t backoff_base_ms; /* RP_HTTPC_BACKOFF_BASE_MS; tests shorten it */
    size_t max_bytes;
    bool insecure;
    char *secrets[RP_HTTPC_SECRETS_MAX]; /* values to mask wherever text leaves */
    size_t nsecrets;
    struct expr_env *expr; /* templates (and the Lua of lua_action.c) */
};

/* Prepares svc for instance (copies the name); fills the defaults. */
rp_status http_service_init(struct http_service *svc, const char *instance,
                            struct rp_error *err) RP_MUST_CHECK;

/* Frees what svc owns, wiping secrets. Accepts NULL. */
void http_service_fini(struct http_service *svc);

/* Adds a value to mask (copied; ignored when empty). */
rp_status http_service_add_secret(struct http_service *svc, const char *value) RP_MUST_CHECK;

/* Reads the common options of an instance section: insecure, timeout,
 * connect_timeout, retries. err: "connectors.INSTANCE.KEY: ..." */
rp_status http_service_options(struct http_service *svc, json_t *conf,
                               struct rp_error *err) RP_MUST_CHECK;

/* Replaces every secret value (and the current token) in s with "***", in
 * place when it fits; returns a new string the caller frees (NULL: no memory). */
char *http_mask(const struct http_service *svc, const char *s);

/* Masks every string of v in place (keys too). */
void http_mask_json(const struct http_service *svc, json_t *v);

/* The header value as it may be logged: names that carry credentials
 * (Authorization, Cookie, *key*, *token*, *secret*, *auth*) give "***". */
const char *http_header_log_value(const char *name, const char *value);

/* --- retries and tokens (pure: unit tested) --------------------------------- */

/* The wait before attempt number `attempt + 1` after an answer of status (0:
 * none), or -1 when it must not be retried. refused: nothing was sent.
 * retry_after: the header (seconds or an HTTP date), NULL when absent;
 * now_s: wall clock (for dates). *too_long is set when the server asked for
 * more than RP_HTTPC_RETRY_AFTER_MAX_MS (then -1). */
int64_t http_retry_delay(long status, bool refused, const char *retry_after, int attempt,
                         int max_attempts, int64_t base_ms, int64_t now_s, bool *too_long);

/* When a token with lifetime expires_in_s (<= 0: unknown) fetched at now_ms
 * must be refreshed. */
int64_t http_token_refresh_at(int64_t now_ms, int64_t expires_in_s);

/* True when the cached token can be used at now_ms. */
bool http_token_valid(const struct http_auth *a, int64_t now_ms);

/* Builds an HS256 JWT over claims with key; *out is new (caller frees). */
rp_status http_jwt_hs256(json_t *claims, const char *key, char **out) RP_MUST_CHECK;

/* Dotted path lookup: "data.attributes.stats", "resources.0.id"; at each level
 * the longest run of segments that is a key wins ("@odata.nextLink" and
 * "kibana.alert.rule.name" are keys). Array indexes are 0-based. "" and "."
 * are v itself. Borrowed result, NULL when absent. */
json_t *http_path_get(json_t *v, const char *path);

/* --- exchanges -------------------------------------------------------------- */

/* A rendered request (the JSON of a pack's `request:` after templates):
 *   method, path (joined to base_url) or url (absolute), query {k: v|[v]},
 *   headers {k: v}, json | form {k: v|[v]} | body (text), accept [status],
 *   paging {type, items, ...}.
 * The result given to the callback: {status, body, headers: {...}, pages}. */
struct http_exchange;
typedef void (*http_exchange_cb)(void *ud, rp_status st, json_t *result, const char *error);

/* Starts one exchange; cb gets a new reference to the result (or NULL and a
 * message) on the loop, never before this returns. spec is borrowed until cb. */
rp_status http_exchange_start(struct http_service *svc, uv_loop_t *loop, json_t *spec,
                              http_exchange_cb cb, void *ud, struct http_exchange **out,
                              struct rp_error *err) RP_MUST_CHECK;

/* Abandons an exchange: cb will not be called. */
void http_exchange_cancel(struct http_exchange *x);

/* Checks the shape of a request spec before rendering (pack load): method,
 * path/url, body kinds, paging. where: the place for messages. */
rp_status http_spec_check(json_t *spec, bool needs_path, char *msg, size_t cap) RP_MUST_CHECK;

/* --- packs (pack.c) -------------------------------------------------------- */

struct pack_inst;

/* Builds an instance from a pack description (validated JSON, see
 * docs/packs.md) and the instance's configuration section, registers its
 * actions as INSTANCE.ACTION. pack is borrowed (a reference is kept). file
 * names the pack in messages. */
rp_status pack_instance_new(const char *instance, const char *file, json_t *pack, json_t *conf,
                            const struct connector_env *env, struct pack_inst **out,
                            struct rp_error *err) RP_MUST_CHECK;

rp_status pack_instance_sources(struct pack_inst *p, uv_loop_t *loop,
                                const struct source_sink *sink, struct rp_error *err) RP_MUST_CHECK;
void pack_instance_stop(struct pack_inst *p);
void pack_instance_free(struct pack_inst *p);

/* Validates pack text (YAML) and gives its JSON; errors "file:line:col: ...".
 * *out is a new reference. */
rp_status pack_parse(const char *file, const char *text, size_t len, json_t **out,
                     struct rp_error *err) RP_MUST_CHECK;

/* Reads packs_dir/NAME.yml and parses it. */
rp_status pack_load_file(const char *packs_dir, const char *name, json_t **out,
                         struct rp_error *err) RP_MUST_CHECK;

/* Validates pack JSON (no positions: "actions.x.effect: ..."); used for packs
 * written in C (type: http, type: lua) and by pack_parse. path receives the
 * dotted place of the error. */
rp_status pack_validate(json_t *pack, char *path, size_t path_cap, char *msg,
                        size_t cap) RP_MUST_CHECK;

/* Action output: `output:` (a path or template string, or an object of them)
 * over the last response body, with steps = earlier bodies. *out new. */
rp_status pack_extract(struct http_service *svc, json_t *output, json_t *body, json_t *inputs,
                       json_t *steps, json_t **out, struct rp_error *err) RP_MUST_CHECK;

/* --- Lua (lua_action.c) ------------------------------------------------------ */

struct lua_run;
typedef void (*lua_run_cb)(void *ud, rp_status st, json_t *result, const char *error);

/* Compiles src (a chunk) to report syntax errors at load. */
rp_status lua_chunk_check(const char *src, char *msg, size_t cap) RP_MUST_CHECK;

/* Runs src in a coroutine of svc->expr's state with globals inputs, vars,
 * http, json, fn, sleep, log and the safe libraries; cb gets the value the
 * chunk returns (new reference) on the loop. time_ms bounds the whole run. */
rp_status lua_run_start(struct http_service *svc, uv_loop_t *loop, const char *name,
                        const char *src, json_t *inputs, int64_t time_ms, lua_run_cb cb, void *ud,
                        struct lua_run **out, struct rp_error *err) RP_MUST_CHECK;

/* Abandons a run: cb will not be called. */
void lua_run_cancel(struct lua_run *r);

#endif
