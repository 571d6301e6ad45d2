/*
 * lab_internal.h: what the lab's files share: the request being answered, the
 * synthetic organisation and its state, tokens, and the small parsers (paths,
 * forms, FQL, OData) the vendor simulations use.
 *
 * Threads: libmicrohttpd runs one thread per connection; lab.c takes the lab's
 * mutex around everything a vendor handler does, so the handlers below touch
 * the organisation, the tokens and the logs without locking of their own.
 */
#ifndef RP_LAB_INTERNAL_H
#define RP_LAB_INTERNAL_H

#include "core/limits.h"
#include "lab/lab.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
struct MHD_Daemon;

/* --- the synthetic organisation -------------------------------------------------- */

#define LAB_HOSTS      50
#define LAB_USERS      100
#define LAB_FILES      16
#define LAB_DETECTIONS 30
#define LAB_INTEL_MAX  64
#define LAB_MSGS_MAX   (LAB_USERS * 4 + 16)
#define LAB_FILE_HOSTS 8
#define LAB_MISP_MAX   (32 + RP_LAB_ADDED_MAX)

struct lab_file {
    char sha256[65], sha1[41], md5[33];
    char name[48];
    char path[96];
    bool malicious;
    int cylance_score; /* -1000..1000 as Cylance shows it (-1 .. 1 scaled) */
    const char *classification;
    int hosts[LAB_FILE_HOSTS];
    int nhosts;
};

struct lab_host {
    char name[24];
    char ip[16];
    char mac[18];
    const char *os;         /* Windows, Mac, Linux */
    const char *os_version; /* "Windows 11", ... */
    int user;               /* primary user */
    char cs_id[33];         /* CrowdStrike aid */
    long long cb_id;        /* Carbon Black device id */
    char cy_id[37];         /* Cylance device id (uuid) */
    char mde_id[41];        /* Defender machine id */
    /* state */
    bool cs_contained;
    bool cb_quarantined;
    bool cy_lockdown;
    char cy_policy[48];
    bool mde_isolated;
};

struct lab_user {
    char first[16], last[16];
    char login[64]; /* also the mail address and the UPN */
    char okta_id[21];
    char graph_id[37];
    const char *dept;
    int host;
    /* state */
    char okta_status[24];
    int okta_sessions_cleared;
    int okta_resets;
    int graph_revocations;
    int graph_password_changes;
    bool graph_enabled;
};

struct lab_msg {
    int user;
    char id[48];
    char imid[96];
    char subject[96];
    char from[80];
    char from_name[48];
    char preview[200];
    int64_t received_ms;
    char folder[16]; /* inbox, deleteditems */
    int file;        /* attachment: index of lab_file, -1 none */
    bool phish;
    bool deleted;
};

struct lab_det {
    int host, user, file;
    int severity; /* 1-100 */
    const char *name, *tactic, *technique;
    int64_t ts_ms;
    char cmdline[160];
    char remote_ip[16];
    /* per-vendor ids and states */
    char cs_id[64];
    char cs_status[24];
    char cb_id[37];
    char cb_status[16];
    char mde_id[24];
    char mde_status[16];
    char es_id[65];
    char es_status[16];
    char splunk_id[64];
    char splunk_status[8];
    char splunk_urgency[16];
    char splunk_owner[48];
    char splunk_comment[128];
};

enum lab_intel_kind { LAB_INTEL_FILE, LAB_INTEL_URL, LAB_INTEL_DOMAIN, LAB_INTEL_IP };

struct lab_intel {
    enum lab_intel_kind kind;
    char value[200];
    bool malicious;
    int malicious_n, suspicious_n, harmless_n, undetected_n;
    int abuse_score;
    int abuse_reports;
    const char *country;
    int misp_event; /* -1 when not in MISP */
};

struct lab_misp_attr {
    int id;
    int event;
    char uuid[37];
    char type[32];
    char category[40];
    char value[256];
    char comment[128];
    bool to_ids;
    int64_t ts;
    int sightings;
    int64_t last_sighting;
    char sighting_source[64];
};

struct lab_ioc { /* CrowdStrike custom IOC or Defender indicator */
    char id[65];
    char type[24];
    char value[256];
    char action[24];
    char severity[24];
    char description[128];
    int64_t created_ms;
};

struct lab_gq { /* Cylance global list entry */
    char sha256[65];
    int list; /* 0 quarantine, 1 safe */
    char reason[128];
    int64_t added_ms;
};

struct lab_job { /* Splunk search job or Carbon Black process search job */
    char id[48];
    char query[512];
    int polls;
    bool done_at_once;
    int vendor; /* 0 splunk, 1 carbon black */
    int64_t created_ms;
    int nresults;
    int results[LAB_DETECTIONS + LAB_HOSTS];
};

struct lab_action { /* Defender machine action */
    char id[40];
    char type[16];
    char machine[41];
    char comment[128];
    int64_t created_ms;
};

struct lab_hook { /* a message posted to a webhook */
    char kind[8]; /* slack, teams */
    char path[160];
    json_t *body; /* owned */
    int64_t at_ms;
};

struct lab_org {
    uint64_t seed;
    int64_t base_ms; /* detection times count back from here */
    struct lab_host hosts[LAB_HOSTS];
    struct lab_user users[LAB_USERS];
    struct lab_file files[LAB_FILES];
    struct lab_det dets[LAB_DETECTIONS];
    struct lab_msg msgs[LAB_MSGS_MAX];
    int nmsgs;
    struct lab_intel intel[LAB_INTEL_MAX];
    int nintel;
    int phish_file; /* index of the phishing attachment */
    char phish_imid[96], phish_from[80], phish_subject[96], phish_url[128];
    struct lab_misp_attr misp[LAB_MISP_MAX];
    int nmisp;
    int misp_next_id;
    struct lab_ioc cs_iocs[RP_LAB_ADDED_MAX];
    int ncs_iocs;
    struct lab_ioc mde_iocs[RP_LAB_ADDED_MAX];
    int nmde_iocs;
    struct lab_gq gq[RP_LAB_ADDED_MAX];
    int ngq;
    struct lab_job jobs[RP_LAB_JOBS_MAX];
    int njobs; /* ring: the oldest is replaced */
    struct lab_action actions[RP_LAB_ADDED_MAX];
    int nactions;
    struct lab_hook hooks[RP_LAB_ADDED_MAX];
    int nhooks;
    uint64_t counter; /* for ids made after start (deterministic per seed) */
};

/* Fills org from seed; base_ms anchors the timestamps. Frees what org held. */
void lab_org_init(struct lab_org *org, uint64_t seed, int64_t base_ms);

/* Frees what org holds (webhook bodies). */
void lab_org_fini(struct lab_org *org);

/* A summary of the state for GET /_lab/state: new reference. */
json_t *lab_org_state(const struct lab_org *org);

/* A fresh id for an object made at run time: "prefix" + hex of a counter mixed
 * with the seed. */
void lab_org_new_id(struct lab_org *org, const char *prefix, char *out, size_t cap);

/* Lookups; NULL when absent. Comparisons ignore case where the vendor does. */
struct lab_file *lab_file_by_hash(struct lab_org *org, const char *hash);
struct lab_intel *lab_intel_find(struct lab_org *org, enum lab_intel_kind k, const char *v);
struct lab_user *lab_user_find(struct lab_org *org, const char *id_or_login);
bool lab_host_ran_file(const struct lab_file *f, int host);

/* RFC 3339 of ms, with milliseconds ("2025-01-01T00:00:00.000Z") or without. */
void lab_time(int64_t ms, bool millis, char out[40]);

/* --- tokens --------------------------------------------------------------------------- */

enum lab_tok { LAB_TOK_OK, LAB_TOK_MISSING, LAB_TOK_INVALID, LAB_TOK_EXPIRED };

/* Issues a token for realm ("crowdstrike", "cylance", "defender", "graph",
 * "splunk") that lives ttl_s seconds; copies it into out (>= 48 bytes). */
void lab_token_issue(struct lab *lab, const char *realm, int64_t ttl_s, char *out, size_t cap);

/* Checks "Bearer X" (or "<scheme> X" when scheme is given) for realm. */
enum lab_tok lab_token_check(struct lab *lab, const char *realm, const char *scheme,
                             const char *authorization);

/* The token lifetime chosen with --token-ttl (seconds). */
int64_t lab_token_ttl(const struct lab *lab);

/* --- encoding helpers ------------------------------------------------------------------ */

/* Base64 (url: the URL-safe alphabet, padding optional). Returns the decoded
 * length, or -1 on a bad character or when out is too small; out gets a NUL. */
long lab_b64_decode(const char *in, size_t n, bool url, unsigned char *out, size_t cap);

/* Base64 of n bytes into out (NUL-terminated); false when out is too small. */
bool lab_b64_encode(const unsigned char *in, size_t n, bool url, char *out, size_t cap);

/* Verifies a JWT signed HS256 with secret, and returns its claims (new reference). NULL with a
 * reason in why otherwise. */
json_t *lab_jwt_verify(const char *jwt, const char *secret, char *why, size_t cap);

/* --- the request being answered ---------------------------------------------------------- */

#define LAB_RESP_HEADERS_MAX 8

struct lab_req {
    struct lab *lab;
    struct lab_org *org;
    struct MHD_Connection *conn;
    const char *method;
    char path[RP_LAB_PATH_MAX]; /* decoded path, without query */
    const char *body;           /* not NUL-terminated beyond body_len: use the length */
    size_t body_len;
    int64_t now_ms;
    /* the answer */
    unsigned status;
    char *out; /* malloc'd */
    size_t out_len;
    char ctype[64];
    struct {
        char name[48];
        char value[512];
    } hdr[LAB_RESP_HEADERS_MAX];
    size_t nhdr;
};

/* One query argument (the first when repeated), or NULL. */
const char *lab_arg(struct lab_req *r, const char *key);

/* Every value of a repeated query argument, in order; returns how many (at most max). Values
 * separated by commas inside one argument are not split. */
size_t lab_args(struct lab_req *r, const char *key, const char **out, size_t max);

/* A request header (case-insensitive), or NULL. */
const char *lab_header(struct lab_req *r, const char *name);

/* Sets the answer. lab_reply_json steals j (NULL: a 500). */
void lab_reply_json(struct lab_req *r, unsigned status, json_t *j);
void lab_reply_text(struct lab_req *r, unsigned status, const char *ctype, const char *text);
void lab_reply_empty(struct lab_req *r, unsigned status);
void lab_reply_header(struct lab_req *r, const char *name, const char *value);

/* The body as JSON: a new reference, or NULL with why ("empty body", "invalid
 * JSON: ... at line L column C", "nests deeper than N"). */
json_t *lab_body_json(struct lab_req *r, char *why, size_t cap);

/* The idx-th value of key in a form-encoded text (body or query string), URL-decoded into out.
 * False when absent or longer than cap - 1. */
bool lab_form_get(const char *text, size_t n, const char *key, size_t idx, char *out, size_t cap);

/* Matches path against pattern, where each "*" matches one whole non-empty
 * segment, copied into caps[i] (each RP_LAB_SEG_MAX bytes) in order. */
bool lab_path_match(const char *path, const char *pattern, char caps[][RP_LAB_SEG_MAX],
                    size_t ncaps);

/* True when path begins with prefix (a string compare). */
bool lab_prefix(const char *path, const char *prefix);

/* --- query languages ------------------------------------------------------------------------ */

/* The value at a dotted (sep '.') or slashed (sep '/') path in obj; an exact key
 * holding the separator is tried first, so both {"a.b": 1} and {"a": {"b": 1}} work. */
json_t *lab_json_get(json_t *obj, const char *path, char sep);

/* CrowdStrike FQL: `field:'v'`, `field:"v"`, `field:v`, `field:['a','b']`,
 * `field:>'v'` (>, >=, <, <=, ! and * wildcards in values), joined by '+' (and)
 * or ',' (or). *bad is set on a syntax error. */
bool lab_fql_match(json_t *obj, const char *filter, bool *bad);

/* OData $filter: `field eq 'v'` (eq ne gt ge lt le, field paths with '/'),
 * `startswith(field,'v')`, `contains(field,'v')`, joined by `and` / `or`. */
bool lab_odata_match(json_t *obj, const char *filter, bool *bad);

/* Case-insensitive substring test. */
bool lab_icontains(const char *hay, const char *needle);

/* Glob with '*' only, case-insensitive. */
bool lab_glob(const char *pat, const char *s);

/* --- the vendors ----------------------------------------------------------------------------- */

/* Each answers the request when its path belongs to the vendor and returns true;
 * false leaves it to the next. */
bool lab_crowdstrike(struct lab_req *r);
bool lab_carbonblack(struct lab_req *r);
bool lab_cylance(struct lab_req *r);
bool lab_microsoft_login(struct lab_req *r);
bool lab_defender(struct lab_req *r);
bool lab_msgraph(struct lab_req *r);
bool lab_splunk(struct lab_req *r);
bool lab_elastic(struct lab_req *r);
bool lab_virustotal(struct lab_req *r);
bool lab_abuseipdb(struct lab_req *r);
bool lab_misp(struct lab_req *r);
bool lab_okta(struct lab_req *r);
bool lab_webhook(struct lab_req *r);

/* OData helpers shared by Defender and Graph (defender.c): the error shape, and a
 * list answer of all (stolen) filtered by $filter and paged by $top/$skip. */
void lab_odata_error(struct lab_req *r, unsigned status, const char *code, const char *msg);
void lab_odata_list(struct lab_req *r, json_t *all, const char *context);

/* --- the fixed lab credentials (docs/lab.md) ----------------------------------------------------
 */

#define LAB_CLIENT_ID     "lab-client"
#define LAB_CLIENT_SECRET "lab-secret"
#define LAB_API_KEY       "lab-key"
#define LAB_API_ID        "lab-id"
#define LAB_TENANT        "lab-tenant"
#define LAB_APP_ID        "lab-app"
#define LAB_USER          "lab-user"
#define LAB_PASSWORD      "lab-password"
#define LAB_TOKEN         "lab-token"
#define LAB_CB_ORG        "LABORG01"
#define LAB_WEBHOOK       "lab-webhook"
#define LAB_DOMAIN        "corp.example"

/* --- the lab itself (lab.c) --------------------------------------------------------------------
 */

#include "api/server.h"

#include <pthread.h>

struct lab_token {
    char value[48];
    char realm[16];
    int64_t expires_ms;
};

enum lab_fault_kind {
    LAB_FAULT_500,
    LAB_FAULT_429,
    LAB_FAULT_SLOW,
    LAB_FAULT_MALFORMED,
    LAB_FAULT_CLOSE
};

struct lab_fault {
    unsigned id;
    char path[RP_LAB_PATH_MAX];
    char method[16]; /* "" any */
    enum lab_fault_kind kind;
    unsigned count; /* left */
    unsigned delay_ms;
    unsigned retry_after;
};

struct lab {
    pthread_mutex_t mu;
    struct lab_org *org;
    uint64_t seed;
    int64_t base_ms;
    int64_t ttl_s;
    struct server_addr addr;
    char url[96];
    struct MHD_Daemon *mhd;
    int listen_fd;
    struct lab_fault faults[RP_LAB_FAULTS_MAX];
    size_t nfaults;
    unsigned fault_ids;
    json_t *log[RP_LAB_LOG_MAX]; /* ring indexed by seq % RP_LAB_LOG_MAX */
    uint64_t log_seq;            /* seq of the last entry; entries start at 1 */
    struct lab_token tokens[RP_LAB_TOKENS_MAX];
    size_t tok_next; /* ring */
};

/* control.c: the /_lab/ controls, the request log and the faults. */
bool lab_control(struct lab_req *r);
/* Logs the request; returns a new reference to its entry (the log keeps another). */
json_t *lab_log_begin(struct lab *lab, struct lab_req *r, const char *uri);
/* Records the status (0: closed) and fault, and drops the caller's reference. */
void lab_log_end(json_t *entry, unsigned status, const char *fault);
/* The first armed fault matching the request, with its count taken; NULL when none. */
struct lab_fault *lab_fault_take(struct lab *lab, const char *method, const char *path);

#endif
