/*
 * server_internal.h: what the daemon's HTTP files share (api/server.c, the
 * transport, ingest and cases; api/routes_runs.c, the runs, playbooks and
 * prompts endpoints and the answer links).
 *
 * A struct request lives from a request's first callback to its completion
 * and is used by one HTTP thread at a time (the writer touches it only while
 * the connection is suspended, see server.c). Every function here runs on an
 * HTTP pool thread.
 */
#ifndef RP_API_SERVER_INTERNAL_H
#define RP_API_SERVER_INTERNAL_H

#include "api/auth.h"
#include "api/server.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/status.h"
#include "core/ulid.h"
#include "engine/prompt.h"
#include "ingest/format.h"
#include "ingest/queue.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Answer flags. */
#define ANS_RETRY         1u  /* Retry-After: RP_RETRY_AFTER_S */
#define ANS_CLOSE         2u  /* Connection: close */
#define ANS_BEARER        4u  /* WWW-Authenticate: Bearer */
#define ANS_BEARER_BADTOK 8u  /* ... with error="invalid_token" */
#define ANS_NOSTORE       16u /* the answer holds or answers a link: never cached or referred */

/* Lists answered when the request gives no limit. */
#define API_LIST_DEFAULT 100

enum route {
    ROUTE_NONE,
    ROUTE_HEALTH,
    ROUTE_ALERTS,
    ROUTE_CASES,
    ROUTE_CASE,
    ROUTE_RUNS,             /* GET list, POST start */
    ROUTE_RUN,              /* GET one */
    ROUTE_PLAYBOOKS,        /* GET */
    ROUTE_PLAYBOOKS_RELOAD, /* POST */
    ROUTE_PROMPTS,          /* GET */
    ROUTE_PROMPT,           /* GET one */
    ROUTE_PROMPT_ANSWER,    /* POST */
    ROUTE_RESPOND,          /* GET page, POST answer; the signed link is the credential */
    ROUTE_BLOCKLIST,        /* GET /blocklists/NAME.txt */
    ROUTE_KPIS,             /* GET (routes_kpi.c) */
    ROUTE_METRICS,          /* GET, Prometheus text */
    ROUTE_GUARD,            /* GET kill switch and containments */
    ROUTE_GUARD_STOP,       /* POST */
    ROUTE_GUARD_RESUME,     /* POST */
};

enum req_state {
    REQ_NEW,      /* headers seen, nothing decided */
    REQ_BODY,     /* receiving an ingest body */
    REQ_SMALL,    /* receiving a small body (RP_HTTP_SMALL_BODY_MAX), answered once whole */
    REQ_QUEUED,   /* suspended: in the queue or being committed */
    REQ_ANSWERED, /* a response is queued */
};

enum stop_phase { STOP_NONE, STOP_GRACE, STOP_FLUSH };

struct request {
    struct ingest_queue_item item; /* batch, records, bytes; the queue's link */
    struct server *srv;
    struct MHD_Connection *conn;
    enum req_state state;
    enum route route;
    unsigned status; /* answered status, for the log line; 0 if none */
    int64_t start_ms;
    struct auth_identity who;
    char method[8];
    char path[96];
    char why[256]; /* the problem, for the log line */
    char source[RP_TOKEN_NAME_MAX + 1];
    struct ingest_format_spec format; /* ?format=, else auto-detected */
    /* the path's variable part: a case or run id (prefix), a prompt id or an
     * answer link's token; one byte more than the longest, so that a longer
     * one stays too long */
    char arg[PROMPT_TOKEN_MAX + 2];
    bool get, post;
    struct buf body;
    size_t body_max;     /* the body's limit: RP_HTTP_BODY_MAX or RP_HTTP_SMALL_BODY_MAX */
    size_t reserved;     /* bytes of srv->body_bytes held by this request */
    rp_status commit_st; /* set by the writer (or on refusal) before resuming */
    struct rp_error commit_err;
};

struct server {
    const struct config *config;
    char *db_path;
    char *public_base; /* base of answer links: public_url, else http://LISTEN */
    struct server_addr addr;
    unsigned threads;
    int64_t tokens_at_start;
    int listen_fd; /* ours until MHD starts; after quiesce, ours to close */
    int quiesced_fd;
    struct MHD_Daemon *mhd;
    struct store *store; /* the writer's handle */
    struct auth *auth;
    struct ingest_queue *queue;
    struct ingest_batch **group; /* RP_COMMIT_GROUP_MAX, the writer's scratch */
    pthread_key_t tls;           /* per-HTTP-thread read handle */
    bool tls_made;
    uv_loop_t loop;
    bool loop_made;
    uv_async_t wake;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t stop_timer;
    uv_timer_t trim_timer;
    size_t untrimmed; /* batch bytes passed since the last trim (writer) */
    bool handles_made;
    atomic_bool stopping;
    atomic_size_t inflight;   /* requests begun and not completed */
    atomic_size_t body_bytes; /* body bytes reserved, <= RP_HTTP_BODIES_BYTES_MAX */
    enum stop_phase phase;
    bool hurry; /* a second signal: no more waiting */
    int64_t grace_deadline;
    int64_t flush_deadline;
    /* counters of the writer thread */
    uint64_t groups, batches, accepted, rejected, failed;
    struct syslog_listener *syslog; /* when the configuration asks for one */
    struct runner *runner;          /* the playbook engine (loop thread) */
    struct connectors *connectors;  /* not owned: their sources run on the loop */
};

/* --- server.c, for the route files ---------------------------------------------- */

/* Copies at most cap-1 bytes of s, printable ASCII only ('?' for the rest), so
 * that outside text can go into a message or a log line. */
void api_safe_text(char *dst, size_t cap, const char *s);

/* Copies src into dst (cap bytes), cut to fit, always NUL-terminated. */
void api_str_copy(char *dst, size_t cap, const char *src);

/* The calling HTTP thread's read handle, opened on first use and closed when
 * the thread ends; NULL with err set when it cannot be opened. */
struct store *api_thread_store(struct server *srv, struct rp_error *err);

/* Adds the headers flags ask for (ANS_*; Connection: close also while the
 * daemon stops), queues resp (taken) with code and records the answer in r
 * for the log line. Every answer but an upload refused midway goes through
 * it. */
enum MHD_Result api_queue(struct request *r, unsigned code, struct MHD_Response *resp,
                          unsigned flags);

/* Queues j (stolen; NULL answers 500) as the response with code; allow, when
 * not NULL, is the Allow header. */
enum MHD_Result api_send_json(struct request *r, unsigned code, json_t *j, unsigned flags,
                              const char *allow);

/* Answers {"error": message} with code; the message is also the log's why. */
enum MHD_Result api_send_error(struct request *r, unsigned code, unsigned flags, const char *allow,
                               const char *fmt, ...) RP_PRINTF(5, 6);

/* Answers 400 (and returns false) when the query has a parameter not in
 * allowed (NULL-terminated). */
bool api_args_known(struct request *r, const char *const *allowed, enum MHD_Result *ret);

/* Answers 400 "unknown query parameter NAME" (and returns false) when the
 * query has any parameter; true when the handler may go on. */
bool api_args_none(struct request *r, enum MHD_Result *ret);

/* Reads ?limit=N (1..max, def when absent) into *out; answers 400 and returns
 * false otherwise. */
bool api_arg_limit(struct request *r, size_t def, size_t max, size_t *out, enum MHD_Result *ret);

/* The value of the query parameter name (the request's, valid while it
 * lives), NULL when the query does not give it. */
const char *api_arg(struct request *r, const char *name);

/* True for 6..ULID_LEN letters and digits: an id or a prefix of one. */
bool api_id_ok(const char *id);

/* Queues text's bytes (taken; the buffer is left empty, to be initialised
 * again) as a 200 with the Content-Type type and the Cache-Control cache; an
 * empty buffer answers an empty body. MHD_NO when there is no memory. */
enum MHD_Result api_send_text(struct request *r, struct buf *text, const char *type,
                              const char *cache);

/* Logs (http.store) that the store operation op failed: s's last message, or
 * err's when there is no handle (s NULL, api_thread_store failed). */
void api_store_log(struct store *s, const struct rp_error *err, const char *op);

/* Logs as api_store_log and answers 503 with Retry-After, {"error": "cannot
 * WHAT"}. */
enum MHD_Result api_store_failed(struct request *r, struct store *s, const struct rp_error *err,
                                 const char *op, const char *what);

/* The body of a list endpoint, {"count": N, key: list}; list (an array) is
 * taken. NULL when list is NULL or there is no memory (api_send_json answers
 * 500 for it). */
json_t *api_list_json(const char *key, json_t *list);

/* How one row is shown by id or prefix (GET /api/v1/cases/{id}, /runs/{id}). */
struct api_show {
    const char *noun;   /* "run": in the messages */
    const char *nouns;  /* "runs" */
    const char *op;     /* the store operation, for the log */
    unsigned ambiguous; /* the status for a prefix of several rows */
    rp_status (*show)(struct store *s, const char *id_or_prefix, json_t **out);
};

/* Answers GET of the row r->arg names: 400 for a query parameter or an id
 * that is not one, 404 for none, how->ambiguous for a prefix of several, 503
 * when the store fails, else 200 with the row's JSON. */
enum MHD_Result api_show_one(struct request *r, const struct api_show *how);

/* --- routes_runs.c ----------------------------------------------------------------- */

/* The runs, playbooks and prompts endpoints (docs in server.h). Each answers
 * the request; the POST ones read r->body (whole, at most
 * RP_HTTP_SMALL_BODY_MAX; empty when the request had none). The caller has
 * checked the route, the method and (but for ROUTE_RESPOND) the token. */
enum MHD_Result api_runs_list(struct request *r);
enum MHD_Result api_run_show(struct request *r);
enum MHD_Result api_run_start(struct request *r);
enum MHD_Result api_playbooks_list(struct request *r);
enum MHD_Result api_playbooks_reload(struct request *r);
enum MHD_Result api_prompts_list(struct request *r);
enum MHD_Result api_prompt_show(struct request *r);
enum MHD_Result api_prompt_answer(struct request *r);
enum MHD_Result api_respond_get(struct request *r);
enum MHD_Result api_respond_post(struct request *r);

/* routes_blocklists.c: GET /blocklists/NAME.txt (plain text). */
enum MHD_Result api_blocklist(struct request *r);

/* --- routes_kpi.c ------------------------------------------------------------------- */

/* GET /api/v1/kpis, GET /metrics, GET /api/v1/guard, POST /api/v1/guard/stop
 * and /resume (stop: true for stop). The caller has checked the route, the
 * method and the token (AUTH_READ; AUTH_ADMIN for the POSTs). */
enum MHD_Result api_kpis(struct request *r);
enum MHD_Result api_metrics(struct request *r);
enum MHD_Result api_guard_show(struct request *r);
enum MHD_Result api_guard_set(struct request *r, bool stop);

#endif
