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
 *   GET  /healthz              no token needed
 *
 * Every endpoint but /healthz needs `Authorization: Bearer <token>` (api/auth.h),
 * except that a daemon listening on loopback lets requests without a token in
 * while no token exists at all. Every error answer is {"error":"..."}.
 *
 * Threads (docs/internals/daemon.md): libmicrohttpd's pool threads receive
 * requests, check tokens, parse and normalize bodies and read the store for
 * GETs, each with its own store handle. The thread that calls server_run() runs
 * a libuv loop that owns the write handle: it drains the ingest queue
 * (ingest/queue.h) in groups, commits each group in one transaction, and only
 * then lets the waiting requests answer. SIGTERM/SIGINT stop it gracefully;
 * SIGHUP is logged and ignored for now.
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
    const struct config *config; /* read-only, outlives the server; may be NULL */
    const char *db_path;         /* copied */
    const char *listen;          /* "HOST:PORT", copied */
    unsigned threads;            /* 0: one per CPU, at most RP_HTTP_THREADS_MAX */
    const char *playbooks_dir;   /* NULL: ./playbooks when it exists */
    const char *prompt_key_path; /* NULL: DB.prompt-key */
    const char *public_url;      /* base of prompt answer links; NULL: http://LISTEN */
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
