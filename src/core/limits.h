/*
 * limits.h: every limit of Riposte, in one reviewed place, each with its reason.
 *
 * A limit exists so that no input, however large or hostile, can make the daemon
 * use unbounded memory, time or disk. When a limit is reached the input is
 * rejected (or the caller is told to retry), counted and reported; the daemon
 * keeps serving. Change a value here, never inline.
 */
#ifndef RP_CORE_LIMITS_H
#define RP_CORE_LIMITS_H

/* --- input records ---------------------------------------------------------- */

/* One alert record (one NDJSON line, one array element, one object). Real vendor
 * alerts are 1-20 KB; a CrowdStrike detection with a full process tree reaches a
 * few hundred KB. 1 MiB leaves room and bounds the JSON tree built per record. */
#define RP_RECORD_MAX_BYTES (1024u * 1024u)

/* Nesting of a record's JSON. The normalized alert is at most 4 deep; vendor
 * originals kept in `raw` reach 10-15. 64 refuses pathological nesting long
 * before jansson's own recursion limit (2048) and the stack are at risk. */
#define RP_JSON_MAX_DEPTH 64

/* One string field of the normalized alert (title, command line, subject). A
 * command line can be long (encoded PowerShell); 64 KiB holds it. */
#define RP_FIELD_MAX_BYTES (64u * 1024u)

/* Short identifier fields (names, ids, rule, source, user, host). Longer values
 * are not names but data in the wrong place. */
#define RP_NAME_MAX_BYTES 1024u

/* Observables per alert, explicit and derived together. A phishing mail with many
 * links reaches tens; 256 bounds the rows one alert can write. */
#define RP_OBSERVABLES_MAX 256

/* Entries of any array in the normalized alert (email.to, email.urls,
 * attachments, tags). */
#define RP_ARRAY_MAX 1024

/* One line of a line format (syslog, CEF, LEEF). Syslog over UDP is at most
 * 64 KiB; CEF over TCP with long command lines reaches a few hundred KiB. */
#define RP_INGEST_LINE_MAX (256u * 1024u)

/* One whole-input record (a mail with its attachments, one Windows event XML):
 * the HTTP body limit, so that what the API accepts the CLI accepts too. */
#define RP_INGEST_WHOLE_MAX (32u * 1024u * 1024u)

/* Bytes read from a file or pipe at a time while streaming records. Files are
 * never loaded whole: memory stays at one chunk plus one record whatever the
 * file's size. 1 MiB amortises the read calls. */
#define RP_INGEST_READ_CHUNK (1024u * 1024u)

/* Events in one case's timeline returned by `case show` / the API: a noisy case
 * can gather millions of joins; the newest are shown, with a count. */
#define RP_TIMELINE_SHOW_MAX    1000
#define RP_CASE_ALERTS_SHOW_MAX 1000

/* Cases returned by one list call. */
#define RP_CASE_LIST_MAX 10000

/* --- store -------------------------------------------------------------------- */

/* Records committed in one transaction. One fsync per group is what makes
 * durable ingest fast; 4096 keeps one transaction's WAL growth (a few MB) and the
 * latency of the first record in the group small. */
#define RP_COMMIT_GROUP_MAX 4096

/* How long a writer waits for another process holding the SQLite write lock
 * (the CLI while the daemon runs, or the reverse) before reporting busy. */
#define RP_STORE_BUSY_TIMEOUT_MS 10000

/* Dead-letter rows keep the rejected bytes for inspection, truncated to this. */
#define RP_DEADLETTER_RAW_MAX (64u * 1024u)

/* A fingerprint given by the source itself (a SIEM's dedup key) is kept as it is
 * up to this length; computed ones are 64 hex digits. */
#define RP_FINGERPRINT_MAX 128

/* A case's title is its first alert's title, cut (on a UTF-8 boundary) to this:
 * enough for a list view, and the alert keeps the whole. */
#define RP_CASE_TITLE_MAX 256

/* --- correlation -------------------------------------------------------------- */

/* Default window in which an alert joins the open case of its fingerprint: a
 * working day and night, so a repeat the next shift still lands in one case. */
#define RP_CORRELATE_WINDOW_DEFAULT_MS (24LL * 3600 * 1000)

/* Event times more than this in the future are rejected: they would give
 * negative times to detect and poison the KPIs. An hour covers clock skew. */
#define RP_EVENT_TIME_MAX_FUTURE_MS (3600LL * 1000)

/* --- HTTP API ----------------------------------------------------------------- */

/* Request body. A batch of 1000 typical alerts is 1-2 MB; 32 MiB accepts large
 * batches while refusing (413) what would only exhaust memory. */
#define RP_HTTP_BODY_MAX (32u * 1024u * 1024u)

/* Ingest requests waiting for the writer. Each holds its body; at the body limit
 * this bounds memory, and at typical sizes it lets thousands of single-alert
 * requests share one commit. Beyond it: 503 with Retry-After. */
#define RP_INGEST_QUEUE_MAX       8192
#define RP_INGEST_QUEUE_BYTES_MAX (256u * 1024u * 1024u)

/* Seconds a client is told to wait (Retry-After) when the queue is full. */
#define RP_RETRY_AFTER_S 1

/* Concurrent connections; beyond, the kernel backlog and then refusal. */
#define RP_HTTP_CONNECTIONS_MAX 4096

/* A connection idle this long is closed, so slow clients cannot hold slots. */
#define RP_HTTP_IDLE_TIMEOUT_S 60

/* Per-record errors listed in a 400 answer; the count is always exact. */
#define RP_HTTP_ERRORS_LISTED_MAX 1000

/* Bytes of request bodies being received or parsed at once, over all
 * connections. RP_HTTP_CONNECTIONS_MAX clients each sending RP_HTTP_BODY_MAX
 * would otherwise claim 128 GiB; with this cap the daemon holds at most 8 full
 * bodies in flight (plus the queue) and answers the rest 503 + Retry-After. */
#define RP_HTTP_BODIES_BYTES_MAX (256u * 1024u * 1024u)

/* HTTP threads (libmicrohttpd's pool): one per CPU up to this. They parse and
 * normalize alerts; the one writer thread commits, so more threads than cores
 * only add contention. */
#define RP_HTTP_THREADS_MAX 8

/* Stack of each HTTP thread. Their deepest work is jansson on a record nested
 * at most RP_JSON_MAX_DEPTH and SQLite reads, far below 512 KiB; the 8 MiB
 * default would only reserve address space. */
#define RP_HTTP_THREAD_STACK (512u * 1024u)

/* On SIGTERM/SIGINT, how long requests already begun may take to finish (body
 * upload, commit, answer) before the daemon commits what is queued and stops
 * anyway. Supervisors wait about 10 s before SIGKILL (Docker, systemd's
 * default is 90 s); grace + flush below stay well under 10 s. */
#define RP_SHUTDOWN_GRACE_MS 7000

/* After the last commit at shutdown, how long the HTTP threads get to send
 * the answers of that commit before the connections are closed. */
#define RP_SHUTDOWN_FLUSH_MS 1000

/* --- tokens ------------------------------------------------------------------- */

/* Random bytes in an API token: 256 bits, beyond guessing. */
#define RP_TOKEN_BYTES 32

/* A token's name: it is shown in lists, logs and timelines ("api:<name>"),
 * so it is short and plain ([A-Za-z0-9._@-]). */
#define RP_TOKEN_NAME_MAX 64

/* Verified tokens the daemon remembers, so that a request does not cost a
 * database read. Each entry is under 100 bytes; a deployment has tens of tokens. */
#define RP_AUTH_CACHE_MAX 256

/* How long a verified token is trusted without asking the database again: a
 * token revoked with `riposte token revoke` while the daemon runs is refused
 * at most this much later. */
#define RP_AUTH_CACHE_TTL_MS 1000

/* --- configuration ------------------------------------------------------------ */

#define RP_CONFIG_MAX_BYTES       (1024u * 1024u)
#define RP_FINGERPRINT_FIELDS_MAX 16

#endif
