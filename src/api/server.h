/*
 * server.h: the daemon's HTTP API (`riposte serve`).
 *
 *   POST /api/v1/alerts        JSON object, array or NDJSON -> 202 {accepted, ids, ...}
 *                              once committed; 400 with per-record errors (the good
 *                              records are stored and listed); 413 over
 *                              RP_HTTP_BODY_MAX; 503 + Retry-After when the ingest
 *                              queue is full. ?source=NAME names the source of
 *                              records that name none.
 *   GET  /api/v1/cases         ?status=S&limit=N
 *   GET  /api/v1/cases/{id}    id or unique prefix (6+ characters)
 *   GET  /api/v1/runs          ?status=running|waiting|succeeded|failed&limit=N
 *   GET  /api/v1/runs/{id}     the run with its events; id or unique prefix
 *                              (6+ characters), 404 none, 409 ambiguous
 *   POST /api/v1/runs          {"playbook": NAME, "alert": {...}, "inputs": {...}}
 *                              (respond role) -> 202 {"queued": true}; the alert
 *                              is normalized as ingest does; 404 when no such
 *                              playbook is loaded; 503 + Retry-After when too many
 *                              starts wait
 *   GET  /api/v1/playbooks     the loaded playbooks with their versions
 *   POST /api/v1/playbooks/reload  (admin) -> 202; the directory is read again
 *                              on the loop; if it does not load, the running set
 *                              stays (and the log says why)
 *   GET  /api/v1/prompts       ?status=open|answered|expired&limit=N
 *   GET  /api/v1/prompts/{id}  the prompt; for a role that may respond also
 *                              "link", its answer URL (never cached)
 *   POST /api/v1/prompts/{id}/answer  {"option": "yes"} (respond role) -> 200;
 *                              404 no prompt, 409 answered or closed, 410 past
 *                              its deadline, 400 not one of its options
 *   GET  /respond/{token}      no bearer token: the signed link is the
 *                              credential (engine/prompt.h). An HTML page with
 *                              the question and a button per option (JSON with
 *                              Accept: application/json); 403 forged, 410 late,
 *                              409 answered. A GET never answers.
 *   POST /respond/{token}      option=... (form) or {"option": ...} (JSON): the
 *                              answer, by "link"; a thank-you page or
 *                              {"answered": true}; 403/410/409/400 as above
 *   GET  /healthz              no token needed
 *
 * Every endpoint but /healthz and /respond needs `Authorization: Bearer
 * <token>` (api/auth.h); reads need a role that may read, starting runs and
 * answering prompts one that may respond, reloading admin. Unknown query
 * parameters are refused (400). Every error answer is {"error":"..."} (an HTML
 * page on /respond for a browser). The bodies of the small POSTs (runs,
 * answers, reload) are at most RP_HTTP_SMALL_BODY_MAX (413 beyond).
 *
 * Threads (docs/internals/daemon.md): libmicrohttpd's pool threads receive
 * requests, check tokens, parse and normalize bodies and read the store for
 * GETs, each with its own store handle. The thread that calls server_run() runs
 * a libuv loop that owns the write handle: it drains the ingest queue
 * (ingest/queue.h) in groups, commits each group in one transaction, and only
 * then lets the waiting requests answer. The same loop runs the playbook
 * engine (api/runner.h); the HTTP threads reach it only through the runner's
 * inbox and wake-ups, and answer prompts in the store with their own handle.
 * SIGTERM/SIGINT stop it gracefully; SIGHUP reloads the playbooks.
 */
#ifndef RP_API_SERVER_H
#define RP_API_SERVER_H

#include "core/config.h"
#include "core/status.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A parsed listen address. text is the canonical "1.2.3.4:80" / "[::1]:80". */
struct server_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[INET6_ADDRSTRLEN + 9];
};

/* Parses "HOST:PORT": an IPv4 address, "[IPv6]" or "localhost" (127.0.0.1), and
 * a port 0-65535 (0: any free port). Host names are not resolved: the daemon
 * binds what it is told. RP_E_USAGE with a message in err otherwise. */
rp_status server_listen_parse(const char *s, struct server_addr *out,
                              struct rp_error *err) RP_MUST_CHECK;

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. The wildcards 0.0.0.0
 * and :: are not loopback. */
bool server_addr_is_loopback(const struct server_addr *a);

struct server_opts {
    const struct config *config;   /* read-only, outlives the server; may be NULL */
    const char *db_path;           /* copied */
    const char *listen;            /* "HOST:PORT", copied */
    unsigned threads;              /* 0: one per CPU, at most RP_HTTP_THREADS_MAX */
    const char *playbooks_dir;     /* NULL: ./playbooks when it exists */
    const char *prompt_key_path;   /* NULL: DB.prompt-key */
    const char *public_url;        /* base of prompt answer links; NULL: http://LISTEN */
    struct connectors *connectors; /* loaded by the caller; their sources start on the loop */
    const char *policy_path;       /* the guard rails' policy file, or NULL */
    const char *prompt_mail;       /* the action that mails prompts, or NULL */
};

struct server;

/* Opens the store, checks the address (RP_E_DENIED when it is not loopback and
 * no API token exists), binds it and starts the HTTP threads. Requests wait for
 * the writer until server_run() is called. err says what failed: RP_E_USAGE
 * (bad address), RP_E_DENIED, RP_E_STORE, RP_E_IO (cannot listen). */
rp_status server_new(const struct server_opts *o, struct server **out,
                     struct rp_error *err) RP_MUST_CHECK;

/* The address actually bound (the port filled in when 0 was asked). */
const struct server_addr *server_address(const struct server *s);

/* Runs the writer loop in the calling thread until SIGTERM or SIGINT; then
 * stops accepting, lets the requests already begun finish (up to
 * RP_SHUTDOWN_GRACE_MS), commits and answers what was queued, and stops the
 * HTTP threads. RP_OK after a clean stop. */
rp_status server_run(struct server *s, struct rp_error *err) RP_MUST_CHECK;

/* Stops what still runs and frees everything. Accepts NULL. */
void server_free(struct server *s);

#endif
