/*
 * demo.c: `riposte demo [--keep] [--seed N]`: a scripted day of a SOC, end to
 * end, in under a minute.
 *
 * It makes a temporary directory, writes a configuration there (the shipped
 * examples/riposte.yml pointed at the lab, with a fresh database, a fresh
 * master key in RIPOSTE_SECRET_KEY and the lab's credentials in the secret
 * store), starts `riposte lab` and `riposte serve` as children of this same
 * binary (/proc/self/exe) with the three shipped playbooks and the example
 * policy, and then plays the day through the daemon's HTTP API as the outside
 * world would: EDR detections in the vendors' own formats (fetched from the
 * lab's CrowdStrike and Defender), bursts of failed Okta sign-ins for the
 * failed-login detector, users reporting the lab's phishing mail, a benign
 * report, and a runaway detection that the guard rails must stop. It answers
 * the prompts the playbooks send as the synthetic users would (polling the
 * open prompts), waits for the runs to finish, prints per case what happened
 * and the KPI figures, and checks every scripted outcome against the daemon's
 * and the lab's state. Exit 0 when every check held, 1 otherwise (each failed
 * check is named), 2 when the demo could not be set up.
 *
 * Main thread only; no shell: children are forked and exec'd directly, HTTP
 * goes through libcurl's easy interface with a timeout on every call. The
 * children get SIGTERM at the end, on error and on Ctrl-C (and die with the
 * demo through PR_SET_PDEATHSIG if it is killed). Every wait is bounded so
 * the whole demo ends within DEMO_TOTAL_MS.
 */
#include "cli/cli.h"

#include "api/auth.h"
#include "connect/secrets.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/time.h"
#include "store/store.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- limits (the demo's own; each with its reason) ----------------------------------- */

/* The whole demo promises to finish within a minute; every wait below is a
 * slice of this. */
#define DEMO_TOTAL_MS 55000
/* The lab and the daemon start in well under a second; ten is a broken
 * machine, not a slow one. */
#define DEMO_START_MS 10000
/* A child that ignores SIGTERM this long is killed. The daemon drains in
 * RP_SHUTDOWN_GRACE_MS at most. */
#define DEMO_STOP_MS 5000
/* One API call on loopback; a vendor call of the lab. */
#define DEMO_HTTP_TIMEOUT_MS 10000
#define DEMO_HTTP_CONNECT_MS 2000
/* The largest answer the demo reads: the lab's state and a run with its
 * events are tens of KiB. */
#define DEMO_HTTP_BODY_MAX (8u << 20)
/* How often open prompts and runs are polled. */
#define DEMO_POLL_MS 150
/* The configuration, playbook and policy files the demo copies. */
#define DEMO_FILE_MAX (1u << 20)
/* A log line searched for readiness. */
#define DEMO_LOG_MAX (1u << 20)

static volatile sig_atomic_t demo_interrupted;

static void demo_on_signal(int sig)
{
    (void)sig;
    demo_interrupted = 1;
}

/* --- the demo's state ------------------------------------------------------------------ */

struct demo_child {
    const char *name;
    pid_t pid;
};

struct demo {
    bool keep;
    unsigned seed;
    int64_t started_ms;
    char exe[PATH_MAX];
    char root[PATH_MAX]; /* the tree holding playbooks/, examples/, packs/ */
    char dir[PATH_MAX];  /* the temporary directory */
    char db[PATH_MAX];
    char playbooks[PATH_MAX]; /* the playbooks the daemon loads */
    char policy[PATH_MAX];    /* and its policy */
    char lab_url[128];
    char api_url[192];
    char token[AUTH_TOKEN_LEN + 1];
    struct demo_child lab, serve;
    CURL *curl;
    json_t *lab_state; /* /_lab/state at the start */
    json_t *script;    /* what was posted: [{what, case expectations...}] */
    struct buf failures;
    int nfailures;
    int nchecks;
};

static void demo_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !demo_interrupted)
        ;
}

/* Records the outcome of one scripted expectation. */
static void demo_check(struct demo *d, bool ok, const char *fmt, ...) RP_PRINTF(3, 4);
static void demo_check(struct demo *d, bool ok, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->nchecks++;
    if (ok)
        return;
    d->nfailures++;
    if (buf_printf(&d->failures, "  - %s\n", msg) != RP_OK) {
        /* the list is capped; the count still says how many */
    }
}

/* --- files ---------------------------------------------------------------------------- */

/* Reads path whole (at most DEMO_FILE_MAX bytes) into a new NUL-terminated
 * string; NULL with errno on failure. */
static char *demo_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct buf b;
    buf_init(&b, DEMO_FILE_MAX);
    char chunk[8192];
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&b, chunk, n) != RP_OK) {
            ok = false;
            errno = EFBIG;
            break;
        }
    if (ferror(f))
        ok = false;
    fclose(f);
    if (!ok || buf_append(&b, "", 1) != RP_OK) {
        buf_fini(&b);
        return NULL;
    }
    if (len_out != NULL)
        *len_out = b.len - 1;
    return buf_steal(&b);
}

static bool demo_write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return false;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return false;
        }
        off += (size_t)w;
    }
    return close(fd) == 0;
}

static int demo_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

static bool demo_path(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n > 0 && (size_t)n < cap;
}

static bool demo_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds the tree that holds the shipped playbooks, examples and packs:
 * $RIPOSTE_HOME, the current directory, or the directory above the binary's
 * (build/riposte in a checkout). */
static bool demo_find_root(struct demo *d)
{
    char cand[3][PATH_MAX];
    size_t n = 0;
    const char *home = getenv("RIPOSTE_HOME");
    if (home != NULL && home[0] != '\0')
        snprintf(cand[n++], PATH_MAX, "%s", home);
    if (getcwd(cand[n], PATH_MAX) != NULL)
        n++;
    char exe_dir[PATH_MAX];
    snprintf(exe_dir, sizeof exe_dir, "%s", d->exe);
    char *slash = strrchr(exe_dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (snprintf(cand[n], PATH_MAX, "%s/..", exe_dir) < PATH_MAX)
            n++;
    }
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX];
        if (demo_path(p, sizeof p, cand[i], "examples/riposte.yml") && demo_is_file(p) &&
            demo_path(p, sizeof p, cand[i], "playbooks/endpoint-attack.yml") && demo_is_file(p)) {
            if (realpath(cand[i], d->root) == NULL)
                continue;
            return true;
        }
    }
    cli_errorf("demo: cannot find the shipped playbooks/ and examples/ (run from the source tree, "
               "or set RIPOSTE_HOME to it)");
    return false;
}

/* --- HTTP ----------------------------------------------------------------------------- */

static size_t demo_curl_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;
    return buf_append(b, p, n) == RP_OK ? n : 0; /* 0: over the cap, curl fails the call */
}

struct demo_res {
    long status;
    struct buf body;
    json_t *json; /* the body parsed, when it is JSON */
};

static void demo_res_fini(struct demo_res *r)
{
    buf_fini(&r->body);
    json_decref(r->json);
    r->json = NULL;
}

/* One HTTP call. url is absolute; auth is a whole header ("Authorization:
 * Bearer ...") or NULL; ctype/body/len the request body or NULL. false when
 * no answer came (the reason printed with what); r->status otherwise. */
static bool demo_http(struct demo *d, const char *what, const char *method, const char *url,
                      const char *auth, const char *ctype, const char *body, size_t len,
                      struct demo_res *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, DEMO_HTTP_BODY_MAX);
    CURL *c = d->curl;
    curl_easy_reset(c);
    struct curl_slist *h = NULL;
    char ct[128];
    if (auth != NULL)
        h = curl_slist_append(h, auth);
    if (ctype != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)DEMO_HTTP_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)DEMO_HTTP_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, demo_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        cli_errorf("demo: %s: %s %s: %s", what, method, url, curl_easy_strerror(cc));
        buf_fini(&r->body);
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body.len > 0)
        r->json = json_loadb(r->body.data, r->body.len, JSON_DECODE_ANY, NULL);
    return true;
}

/* A call to the daemon's API with the demo's token; path starts with '/'.
 * Returns the JSON answer (a new reference) when the status is the one wanted,
 * else NULL (printed). */
static json_t *demo_api(struct demo *d, const char *method, const char *path, const char *ctype,
                        const char *body, size_t len, long want)
{
    char url[1024], auth[256];
    snprintf(url, sizeof url, "%s%s", d->api_url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->token);
    struct demo_res r;
    if (!demo_http(d, "api", method, url, auth, ctype, body, len, &r))
        return NULL;
    json_t *out = NULL;
    if (r.status == want && r.json != NULL) {
        out = r.json;
        r.json = NULL;
    } else {
        cli_errorf("demo: %s %s: status %ld: %.300s", method, path, r.status,
                   r.body.data != NULL ? r.body.data : "");
    }
    demo_res_fini(&r);
    return out;
}

static json_t *demo_api_get(struct demo *d, const char *path)
{
    return demo_api(d, "GET", path, NULL, NULL, 0, 200);
}

/* --- children ------------------------------------------------------------------------- */

/* Starts this binary with argv (argv[0] is ignored) in a process group of its
 * own (Ctrl-C reaches the demo, which stops the children in order), stdout
 * and stderr to the files out and err in the demo's directory. */
static bool demo_spawn(struct demo *d, struct demo_child *ch, char *const argv[], const char *out,
                       const char *err)
{
    char outp[PATH_MAX], errp[PATH_MAX];
    if (!demo_path(outp, sizeof outp, d->dir, out) || !demo_path(errp, sizeof errp, d->dir, err))
        return false;
    int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fo < 0 || fe < 0) {
        cli_errorf("demo: %s: %s", outp, strerror(errno));
        if (fo >= 0)
            close(fo);
        if (fe >= 0)
            close(fe);
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        cli_errorf("demo: fork: %s", strerror(errno));
        close(fo);
        close(fe);
        return false;
    }
    if (pid == 0) {
        (void)setpgid(0, 0);
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127); /* the demo is gone already */
        int fi = open("/dev/null", O_RDONLY);
        if (fi < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execv(d->exe, argv);
        _exit(127);
    }
    close(fo);
    close(fe);
    ch->pid = pid;
    return true;
}

/* True while the child runs; reaps it when it has ended. */
static bool demo_child_alive(struct demo_child *ch)
{
    if (ch->pid <= 0)
        return false;
    int status;
    pid_t w = waitpid(ch->pid, &status, WNOHANG);
    if (w == ch->pid) {
        cli_errorf("demo: %s exited early (%s %d)", ch->name,
                   WIFEXITED(status) ? "status" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        ch->pid = 0;
        return false;
    }
    return true;
}

/* SIGTERM, then up to DEMO_STOP_MS for it to end, then SIGKILL. Returns
 * true when it exited 0 after SIGTERM. */
static bool demo_stop(struct demo_child *ch)
{
    if (ch->pid <= 0)
        return true;
    (void)kill(ch->pid, SIGTERM);
    int64_t end = time_now_ms() + DEMO_STOP_MS;
    int status = 0;
    bool clean = false;
    for (;;) {
        pid_t w = waitpid(ch->pid, &status, WNOHANG);
        if (w == ch->pid) {
            clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            break;
        }
        if (w < 0 && errno != EINTR)
            break;
        if (time_now_ms() > end) {
            cli_errorf("demo: %s did not stop within %d ms; killed", ch->name, DEMO_STOP_MS);
            (void)kill(ch->pid, SIGKILL);
            (void)waitpid(ch->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ch->pid = 0;
    return clean;
}

/* Waits until the file rel in the demo's directory holds needle; copies what
 * follows it, up to white space, into val. Bounded by DEMO_START_MS and the
 * child's life. */
static bool demo_wait_for(struct demo *d, struct demo_child *ch, const char *rel,
                          const char *needle, char *val, size_t cap)
{
    char p[PATH_MAX];
    if (!demo_path(p, sizeof p, d->dir, rel))
        return false;
    int64_t end = time_now_ms() + DEMO_START_MS;
    while (!demo_interrupted && time_now_ms() < end) {
        char *text = demo_read_file(p, NULL);
        const char *at = text != NULL ? strstr(text, needle) : NULL;
        if (at != NULL) {
            at += strlen(needle);
            size_t n = strcspn(at, " \t\r\n");
            bool ok = n > 0 && n < cap;
            if (ok)
                snprintf(val, cap, "%.*s", (int)n, at);
            free(text);
            if (ok)
                return true;
        } else {
            free(text);
        }
        if (!demo_child_alive(ch))
            break;
        demo_sleep_ms(30);
    }
    cli_errorf("demo: %s did not become ready (see %s)", ch->name, p);
    return false;
}

/* --- set-up ----------------------------------------------------------------------------- */

/* The lab's credential for a secret setting of a pack (docs/lab.md), or NULL.
 * Webhook URLs are the lab's own address plus a path. */
static const char *demo_lab_secret(const struct demo *d, const char *pack, const char *setting,
                                   char *tmp, size_t cap)
{
    static const struct {
        const char *pack, *setting, *value;
    } TABLE[] = {
        {"abuseipdb", "api_key", "lab-key"},
        {"carbonblack", "api_secret_key", "lab-key"},
        {"crowdstrike", "client_secret", "lab-secret"},
        {"cylance", "app_secret", "lab-secret"},
        {"defender", "client_secret", "lab-secret"},
        {"elastic", "api_key", "bGFiLWlkOmxhYi1rZXk="}, /* base64("lab-id:lab-key") */
        {"misp", "api_key", "lab-key"},
        {"msgraph", "client_secret", "lab-secret"},
        {"okta", "api_token", "lab-token"},
        {"splunk", "token", "lab-token"},
        {"virustotal", "api_key", "lab-key"},
    };
    for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (strcmp(TABLE[i].pack, pack) == 0 && strcmp(TABLE[i].setting, setting) == 0)
            return TABLE[i].value;
    if (strcmp(setting, "webhook_url") == 0 && strcmp(pack, "slack") == 0) {
        snprintf(tmp, cap, "%s/services/T0LAB/B0LAB/lab-webhook", d->lab_url);
        return tmp;
    }
    if (strcmp(setting, "webhook_url") == 0 && strcmp(pack, "teams") == 0) {
        snprintf(tmp, cap, "%s/webhookb2/riposte-demo", d->lab_url);
        return tmp;
    }
    return NULL;
}

/* Stores the lab's credential under every secret name the configuration's
 * connectors use ({secret: NAME} as a setting's value). */
static bool demo_store_secrets(struct demo *d, const json_t *connectors)
{
    struct secrets *s = NULL;
    struct rp_error err = {{0}};
    if (secrets_open(d->db, NULL, false, &s, &err) != RP_OK) {
        cli_errorf("demo: secrets: %s", err.msg);
        return false;
    }
    bool ok = true;
    const char *inst;
    json_t *c;
    json_object_foreach((json_t *)connectors, inst, c)
    {
        const char *pack = json_string_value(json_object_get(c, "pack"));
        const char *key;
        json_t *v;
        json_object_foreach(c, key, v)
        {
            const char *name = json_string_value(json_object_get(v, "secret"));
            if (!json_is_object(v) || name == NULL)
                continue;
            char tmp[256];
            const char *val = pack != NULL ? demo_lab_secret(d, pack, key, tmp, sizeof tmp) : NULL;
            if (val == NULL) {
                cli_errorf("demo: connector %s: no lab value for the secret %s (%s of %s)", inst,
                           name, key, pack != NULL ? pack : "a non-pack connector");
                ok = false;
                continue;
            }
            if (secrets_set(s, name, val, strlen(val), &err) != RP_OK) {
                cli_errorf("demo: secret %s: %s", name, err.msg);
                ok = false;
            }
        }
    }
    secrets_close(s);
    return ok;
}

static bool demo_make_token(struct demo *d)
{
    struct store *s = NULL;
    struct rp_error err = {{0}};
    if (store_open(d->db, &s, &err) != RP_OK) {
        cli_errorf("demo: %s", err.msg);
        return false;
    }
    rp_status st = auth_token_create(s, "demo", AUTH_ROLE_ADMIN, d->token, &err);
    store_close(s);
    if (st != RP_OK) {
        cli_errorf("demo: token: %s", err.msg);
        return false;
    }
    return true;
}

/* Appends text[0..n) to b with every "127.0.0.1:8900" (the lab's usual
 * address, as the examples write it) replaced by the lab's actual one. */
static rp_status demo_put_relabbed(struct demo *d, struct buf *b, const char *text, size_t n)
{
    static const char OLD[] = "127.0.0.1:8900";
    const char *hostport = d->lab_url + strlen("http://");
    size_t i = 0;
    while (i < n) {
        const char *at = memmem(text + i, n - i, OLD, sizeof OLD - 1);
        size_t upto = at != NULL ? (size_t)(at - text) : n;
        if (buf_append(b, text + i, upto - i) != RP_OK)
            return RP_E_LIMIT;
        if (at == NULL)
            break;
        if (buf_puts(b, hostport) != RP_OK)
            return RP_E_LIMIT;
        i = upto + sizeof OLD - 1;
    }
    return RP_OK;
}

/* The connectors of the example that need servers of their own (Postfix,
 * Dovecot, slapd) are replaced by stand-ins over the lab, so that the demo
 * needs nothing but this binary: mail goes to the lab's Teams webhook (see
 * /_lab/state webhooks), the mailboxes are the lab's Microsoft Graph, the
 * directory is the lab's Okta. %1$s is the lab's URL, %2$s the source tree,
 * %3$s the demo's directory. */
static const char DEMO_STANDINS[] =
    "  # --- the demo's stand-ins for the loopback servers, over the lab ---\n"
    "  mail:\n"
    "    type: lua\n"
    "    url: %1$s\n"
    "    actions:\n"
    "      send:\n"
    "        effect: notify\n"
    "        help: the demo's mail, delivered as a message to the lab's Teams webhook\n"
    "        lua: |\n"
    "          local to = inputs.to\n"
    "          if type(to) == 'table' then to = table.concat(to, ', ') end\n"
    "          http.post('/webhookb2/riposte-demo-mail', {json = {summary = 'mail to ' .. "
    "tostring(to), title = tostring(inputs.subject or ''), text = tostring(inputs.text or "
    "inputs.body or '')}})\n"
    "          return {sent = true, to = to}\n"
    "  mailboxes:\n"
    "    type: lua\n"
    "    url: %1$s/v1.0\n"
    "    auth: {type: oauth2, token_url: \"%1$s/lab-tenant/oauth2/v2.0/token\", client_id: "
    "lab-client, client_secret: {secret: ms_secret}, form: {grant_type: client_credentials, "
    "scope: \"https://graph.microsoft.com/.default\"}}\n"
    "    actions:\n"
    "      search:\n"
    "        effect: read\n"
    "        help: the mailboxes that hold a message (by Message-ID)\n"
    "        timeout: 1m\n"
    "        lua: |\n"
    "          local out = {}\n"
    "          local users = http.get('/users', {query = {['$top'] = 999}}).body.value\n"
    "          for _, u in ipairs(users) do\n"
    "            local r = http.get('/users/' .. u.userPrincipalName .. '/messages', {accept = "
    "{404}, query = {['$filter'] = \"internetMessageId eq '\" .. inputs.message_id .. \"'\"}})\n"
    "            if r.status == 200 then\n"
    "              for _, m in ipairs(r.body.value) do out[#out + 1] = {user = "
    "string.match(u.userPrincipalName, '^[^@]+'), mailbox = u.userPrincipalName, id = m.id} end\n"
    "            end\n"
    "          end\n"
    "          return {matches = out, total = #out}\n"
    "      delete:\n"
    "        effect: destroy\n"
    "        help: delete a message (by Message-ID) from every mailbox\n"
    "        timeout: 1m\n"
    "        lua: |\n"
    "          local n = 0\n"
    "          local users = http.get('/users', {query = {['$top'] = 999}}).body.value\n"
    "          for _, u in ipairs(users) do\n"
    "            local r = http.get('/users/' .. u.userPrincipalName .. '/messages', {accept = "
    "{404}, query = {['$filter'] = \"internetMessageId eq '\" .. inputs.message_id .. \"'\"}})\n"
    "            if r.status == 200 then\n"
    "              for _, m in ipairs(r.body.value) do http.delete('/users/' .. "
    "u.userPrincipalName .. '/messages/' .. m.id); n = n + 1 end\n"
    "            end\n"
    "          end\n"
    "          return {total = n}\n"
    "  directory:\n"
    "    type: lua\n"
    "    url: %1$s/api/v1\n"
    "    auth: {type: bearer, scheme: SSWS, token: {secret: okta_token}}\n"
    "    actions:\n"
    "      find_user:\n"
    "        effect: read\n"
    "        help: a user of the lab's Okta by login\n"
    "        lua: |\n"
    "          local r = http.get('/users/' .. inputs.user, {accept = {404}})\n"
    "          if r.status ~= 200 then return {found = false} end\n"
    "          return {found = true, id = r.body.id, mail = r.body.profile.email or "
    "r.body.profile.login, status = r.body.status}\n"
    "      reset_password:\n"
    "        effect: modify\n"
    "        help: a temporary password that must be changed at the next sign-in (Okta)\n"
    "        lua: |\n"
    "          local r = http.post('/users/' .. inputs.user .. '/lifecycle/expire_password', "
    "{query = {tempPassword = 'true'}})\n"
    "          return {user = inputs.user, must_change = true, temporary_password = "
    "r.body.tempPassword}\n"
    "  credentials:\n"
    "    type: exec\n"
    "    program: /usr/bin/python3\n"
    "    args: [%2$s/examples/deliver-credentials.py, %3$s/credentials]\n"
    "    timeout: 10s\n"
    "    effect: notify\n"
    "    actions: [deliver]\n"
    "    help: hands a temporary password to the help desk's spool (the demo's directory)\n";

/* Appends tmpl with %1$s, %2$s and %3$s replaced by a1, a2 and a3. */
static rp_status demo_put_template(struct buf *b, const char *tmpl, const char *a1, const char *a2,
                                   const char *a3)
{
    rp_status st = RP_OK;
    for (const char *p = tmpl; st == RP_OK && *p != '\0';) {
        const char *pct = strstr(p, "%");
        if (pct == NULL)
            return buf_puts(b, p);
        st = buf_append(b, p, (size_t)(pct - p));
        if (st == RP_OK && pct[1] >= '1' && pct[1] <= '3' && strncmp(pct + 2, "$s", 2) == 0) {
            st = buf_puts(b, pct[1] == '1' ? a1 : pct[1] == '2' ? a2 : a3);
            p = pct + 4;
        } else if (st == RP_OK) {
            st = buf_append(b, "%", 1);
            p = pct + 1;
        }
    }
    return st;
}

/* Writes DIR/riposte.yml: examples/riposte.yml with the lab's address, and
 * the keys the demo decides itself (database, listen address, playbooks,
 * policy, packs, secrets, logging) taken out and written anew. */
static bool demo_write_config(struct demo *d, struct config *cfg)
{
    static const char *const OWN[] = {"db",      "listen",    "playbooks",  "policy",    "packs",
                                      "secrets", "log_level", "public_url", "prompt_key"};
    char src[PATH_MAX], dst[PATH_MAX];
    if (!demo_path(src, sizeof src, d->root, "examples/riposte.yml") ||
        !demo_path(dst, sizeof dst, d->dir, "riposte.yml"))
        return false;
    size_t len;
    char *text = demo_read_file(src, &len);
    if (text == NULL) {
        cli_errorf("demo: %s: %s", src, strerror(errno));
        return false;
    }
    struct buf b;
    buf_init(&b, DEMO_FILE_MAX);
    rp_status st = buf_printf(&b, "# riposte demo: %s with the lab at %s\n", src, d->lab_url);
    static const char *const REPLACED[] = {"mail", "mailboxes", "directory", "credentials"};
    bool skipping = false, in_connectors = false, skip_conn = false;
    for (const char *line = text; st == RP_OK && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t n = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);
        if (line[0] != ' ' && line[0] != '\t' && line[0] != '#' && line[0] != '\n') {
            /* a top-level key: is it one the demo sets? */
            skipping = false;
            in_connectors = strncmp(line, "connectors:", 11) == 0;
            skip_conn = false;
            for (size_t k = 0; k < sizeof OWN / sizeof OWN[0]; k++) {
                size_t kl = strlen(OWN[k]);
                if (n > kl && strncmp(line, OWN[k], kl) == 0 && line[kl] == ':')
                    skipping = true;
            }
            if (in_connectors) {
                st = demo_put_relabbed(d, &b, line, n);
                if (st == RP_OK)
                    st = demo_put_template(&b, DEMO_STANDINS, d->lab_url, d->root, d->dir);
                line += n;
                continue;
            }
        } else if (in_connectors && n > 3 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ' &&
                   line[2] != '#') {
            /* an instance: one the demo replaces? */
            skip_conn = false;
            for (size_t k = 0; k < sizeof REPLACED / sizeof REPLACED[0]; k++) {
                size_t kl = strlen(REPLACED[k]);
                if (n > kl + 2 && strncmp(line + 2, REPLACED[k], kl) == 0 && line[kl + 2] == ':')
                    skip_conn = true;
            }
        }
        if (!skipping && !skip_conn)
            st = demo_put_relabbed(d, &b, line, n);
        line += n;
    }
    if (st == RP_OK && b.len > 0 && b.data[b.len - 1] != '\n')
        st = buf_puts(&b, "\n");
    if (st == RP_OK)
        st = buf_printf(&b,
                        "# set by the demo\n"
                        "db: %s\n"
                        "packs: %s/packs\n"
                        "playbooks: %s\n"
                        "policy: %s\n"
                        "log_level: info\n",
                        d->db, d->root, d->playbooks, d->policy);
    free(text);
    bool ok = st == RP_OK && demo_write_file(dst, b.data, b.len, 0600);
    buf_fini(&b);
    if (!ok) {
        cli_errorf("demo: cannot write %s", dst);
        return false;
    }
    bool loaded = cli_config_load(cfg, dst);
    log_set_level(LOG_WARN);
    return loaded;
}

/* --- the playbooks and the policy ------------------------------------------------------ */

/* The deadline of the users' prompts in the demo: the shipped playbooks give
 * people hours; the demo's user who never answers must time out within the
 * minute. */
#define DEMO_PROMPT_TIMEOUT "6s"

/* Copies text to b with the timeout of every prompt (a `timeout:` inside a
 * `prompt:` mapping, block or flow style) set to DEMO_PROMPT_TIMEOUT. Step
 * and action timeouts are left alone. */
static rp_status demo_put_short_prompts(struct buf *b, const char *text)
{
    int prompt_indent = -1; /* the indentation of the open `prompt:` key, or -1 */
    rp_status st = RP_OK;
    for (const char *line = text; st == RP_OK && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t n = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);
        int indent = (int)strspn(line, " -");
        bool blank = strspn(line, " \t\r\n") == n;
        if (!blank && prompt_indent >= 0 && indent <= prompt_indent)
            prompt_indent = -1;
        const char *pk = memmem(line, n, "prompt:", 7);
        if (pk != NULL)
            prompt_indent = (int)(pk - line);
        const char *tk = prompt_indent >= 0 ? memmem(line, n, "timeout:", 8) : NULL;
        if (tk != NULL) {
            /* the value runs to a comma, a brace or the end of the line */
            const char *v = tk + 8;
            size_t vl = strcspn(v, ",}\n#");
            st = buf_append(b, line, (size_t)(v - line));
            if (st == RP_OK)
                st = buf_printf(b, " %s", DEMO_PROMPT_TIMEOUT);
            if (st == RP_OK)
                st = buf_append(b, v + vl, n - (size_t)(v + vl - line));
        } else {
            st = buf_append(b, line, n);
        }
        line += n;
    }
    return st;
}

/* The lab's mailboxes are user@corp.example, where the example's are
 * user@localhost (Dovecot on loopback): `mail_domain: localhost` becomes the
 * lab's domain. */
static rp_status demo_put_mail_domain(struct buf *b)
{
    static const char OLD[] = "mail_domain: localhost", NEW[] = "mail_domain: corp.example";
    if (b->data == NULL)
        return RP_OK;
    char *at = memmem(b->data, b->len, OLD, sizeof OLD - 1);
    if (at == NULL)
        return RP_OK;
    size_t off = (size_t)(at - b->data), tail = b->len - off - (sizeof OLD - 1);
    rp_status st = buf_reserve(b, sizeof NEW - sizeof OLD);
    if (st != RP_OK)
        return st;
    at = b->data + off;
    memmove(at + sizeof NEW - 1, at + sizeof OLD - 1, tail);
    memcpy(at, NEW, sizeof NEW - 1);
    b->len += sizeof NEW - sizeof OLD;
    return RP_OK;
}

/* DIR/playbooks: the three shipped playbooks with short prompt deadlines;
 * DIR/policy.yml: the example policy. */
static bool demo_write_playbooks(struct demo *d)
{
    static const char *const NAMES[] = {"endpoint-attack.yml", "failed-logins.yml", "phishing.yml"};
    char dir[PATH_MAX];
    if (!demo_path(dir, sizeof dir, d->dir, "playbooks") || mkdir(dir, 0700) != 0) {
        cli_errorf("demo: mkdir %s: %s", dir, strerror(errno));
        return false;
    }
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        char src[PATH_MAX], dst[PATH_MAX], rel[64];
        snprintf(rel, sizeof rel, "playbooks/%s", NAMES[i]);
        if (!demo_path(src, sizeof src, d->root, rel) || !demo_path(dst, sizeof dst, dir, NAMES[i]))
            return false;
        char *text = demo_read_file(src, NULL);
        if (text == NULL) {
            cli_errorf("demo: %s: %s", src, strerror(errno));
            return false;
        }
        struct buf b;
        buf_init(&b, DEMO_FILE_MAX * 2);
        bool ok = demo_put_short_prompts(&b, text) == RP_OK && demo_put_mail_domain(&b) == RP_OK &&
                  demo_write_file(dst, b.data != NULL ? b.data : "", b.len, 0600);
        buf_fini(&b);
        free(text);
        if (!ok) {
            cli_errorf("demo: cannot write %s", dst);
            return false;
        }
    }
    char src[PATH_MAX], dst[PATH_MAX];
    if (!demo_path(src, sizeof src, d->root, "examples/policy.yml") ||
        !demo_path(dst, sizeof dst, d->dir, "policy.yml"))
        return false;
    size_t len;
    char *text = demo_read_file(src, &len);
    bool ok = text != NULL && demo_write_file(dst, text, len, 0600);
    free(text);
    if (!ok)
        cli_errorf("demo: copying %s: %s", src, strerror(errno));
    return ok;
}

/* --- reading the daemon ---------------------------------------------------------------- */

static const char *demo_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "";
}

/* Milliseconds of an RFC 3339 time of the API ("2026-11-30T13:13:50.733Z"),
 * or -1. */
static int64_t demo_time_ms(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    if (s == NULL || strlen(s) < 20)
        return -1;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Every run, as {id: run with events}. */
static json_t *demo_runs(struct demo *d, bool with_events)
{
    json_t *list = demo_api_get(d, "/api/v1/runs?limit=500");
    if (list == NULL || !with_events)
        return list;
    json_t *runs = json_object_get(list, "runs");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        char path[256];
        snprintf(path, sizeof path, "/api/v1/runs/%s", demo_str(r, "id"));
        json_t *full = demo_api_get(d, path);
        if (full != NULL)
            json_array_set_new(runs, i, full);
    }
    return list;
}

/* --- the lab as the vendors ------------------------------------------------------------ */

/* A bearer token of the lab's CrowdStrike (defender false) or Defender API,
 * with the lab's credentials, as "Authorization: Bearer ..." in hdr. */
static bool demo_lab_token(struct demo *d, bool defender, char *hdr, size_t cap)
{
    char url[256];
    const char *form;
    if (defender) {
        snprintf(url, sizeof url, "%s/lab-tenant/oauth2/v2.0/token", d->lab_url);
        form = "grant_type=client_credentials&client_id=lab-client&client_secret=lab-secret&"
               "scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default";
    } else {
        snprintf(url, sizeof url, "%s/oauth2/token", d->lab_url);
        form = "client_id=lab-client&client_secret=lab-secret";
    }
    struct demo_res r;
    if (!demo_http(d, "lab token", "POST", url, NULL, "application/x-www-form-urlencoded", form,
                   strlen(form), &r))
        return false;
    const char *tok = json_string_value(json_object_get(r.json, "access_token"));
    bool ok = (r.status == 200 || r.status == 201) && tok != NULL &&
              snprintf(hdr, cap, "Authorization: Bearer %s", tok) < (int)cap;
    if (!ok)
        cli_errorf("demo: lab token: status %ld", r.status);
    demo_res_fini(&r);
    return ok;
}

/* GET or POST on the lab with hdr; the JSON answer (new reference) or NULL. */
static json_t *demo_lab_call(struct demo *d, const char *method, const char *path, const char *hdr,
                             const char *json_body)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", d->lab_url, path);
    struct demo_res r;
    if (!demo_http(d, "lab", method, url, hdr, json_body != NULL ? "application/json" : NULL,
                   json_body, json_body != NULL ? strlen(json_body) : 0, &r))
        return NULL;
    json_t *out = NULL;
    if (r.status >= 200 && r.status < 300 && r.json != NULL) {
        out = r.json;
        r.json = NULL;
    } else {
        cli_errorf("demo: lab %s %s: status %ld", method, path, r.status);
    }
    demo_res_fini(&r);
    return out;
}

static json_t *demo_lab_state(struct demo *d)
{
    return demo_lab_call(d, "GET", "/_lab/state", NULL, NULL);
}

/* The lab's CrowdStrike alerts as the vendor serves them (a new array). */
static json_t *demo_cs_alerts(struct demo *d)
{
    char hdr[4096];
    if (!demo_lab_token(d, false, hdr, sizeof hdr))
        return NULL;
    json_t *ids = demo_lab_call(d, "GET", "/alerts/queries/alerts/v2?limit=500", hdr, NULL);
    json_t *res = json_object_get(ids, "resources");
    json_t *out = NULL;
    if (json_is_array(res)) {
        json_t *q = json_pack("{s:O}", "composite_ids", res);
        char *body = json_dumps(q, JSON_COMPACT);
        json_t *all =
            body != NULL ? demo_lab_call(d, "POST", "/alerts/entities/alerts/v2", hdr, body) : NULL;
        out = json_incref(json_object_get(all, "resources"));
        json_decref(all);
        free(body);
        json_decref(q);
    }
    json_decref(ids);
    return out;
}

/* The lab's Defender alerts as the vendor serves them (a new array). */
static json_t *demo_defender_alerts(struct demo *d)
{
    char hdr[4096];
    if (!demo_lab_token(d, true, hdr, sizeof hdr))
        return NULL;
    json_t *all = demo_lab_call(d, "GET", "/api/alerts?$top=500", hdr, NULL);
    json_t *out = json_incref(json_object_get(all, "value"));
    json_decref(all);
    return out;
}

/* --- the scripted day ------------------------------------------------------------------ */

/* Posts one input to the daemon (?format=F). Returns the 202 answer (a new
 * reference: ids, cases) or NULL (counted as a failed check). */
static json_t *demo_post(struct demo *d, const char *what, const char *format, const char *ctype,
                         const char *body, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/alerts?format=%s", format);
    json_t *r = demo_api(d, "POST", path, ctype, body, len, 202);
    demo_check(d, r != NULL, "%s: the daemon did not accept the alert", what);
    return r;
}

static json_t *demo_post_json(struct demo *d, const char *what, const char *format, json_t *doc)
{
    char *body = json_dumps(doc, JSON_COMPACT);
    json_t *r =
        body != NULL ? demo_post(d, what, format, "application/json", body, strlen(body)) : NULL;
    free(body);
    return r;
}

/* One entry of the script: what was played and what must come of it. */
static json_t *demo_script_add(struct demo *d, const char *kind, const char *label, json_t *posted)
{
    json_t *cases = json_object_get(posted, "cases");
    json_t *e = json_pack("{s:s,s:s,s:o}", "kind", kind, "label", label, "cases",
                          cases != NULL ? json_deep_copy(cases) : json_array());
    json_array_append_new(d->script, e);
    return e;
}

/* How many hosts the lab's CrowdStrike says ran sha256 (as the playbook's
 * edr.hosts_by_hash will ask), or -1. hdr is a CrowdStrike bearer header. */
static int64_t demo_hash_hosts(struct demo *d, const char *hdr, const char *sha256)
{
    char path[256];
    snprintf(path, sizeof path, "/iocs/queries/indicators/devices/v1?type=sha256&value=%s", sha256);
    json_t *r = demo_lab_call(d, "GET", path, hdr, NULL);
    int64_t n = r != NULL ? (int64_t)json_array_size(json_object_get(r, "resources")) : -1;
    json_decref(r);
    return n;
}

/* The file hash of a vendor alert. */
static const char *demo_alert_sha(const json_t *a, bool defender)
{
    if (!defender)
        return demo_str(a, "sha256");
    size_t k;
    json_t *ev;
    json_array_foreach(json_object_get(a, "evidence"), k, ev)
    {
        if (json_is_string(json_object_get(ev, "sha256")))
            return demo_str(ev, "sha256");
    }
    return "";
}

/* Picks an EDR detection of the day from the vendor's list: not the phishing
 * attachment, not avoid's host or file. CrowdStrike: a high one (the
 * playbook contains from 70) whose file the fewest hosts ran, so that the
 * day stays within the example policy's containment budget until the
 * runaway; Defender: a medium one, below the containment threshold, which
 * shows the branch that only tells the analysts. */
static json_t *demo_pick(struct demo *d, const json_t *list, const json_t *state, const char *hdr,
                         const char *avoid_host, const char *avoid_sha, bool defender)
{
    const char *phish_sha = demo_str(json_object_get(state, "phish"), "attachment_sha256");
    json_t *best = NULL;
    int64_t best_hosts = INT64_MAX;
    int best_sev = -1;
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        const char *host = defender ? demo_str(a, "computerDnsName")
                                    : demo_str(json_object_get(a, "device"), "hostname");
        const char *sha = demo_alert_sha(a, defender);
        if (strncmp(host, "WS-", 3) != 0 || sha[0] == '\0' || strcmp(sha, phish_sha) == 0 ||
            strcasecmp(host, avoid_host) == 0 || strcmp(sha, avoid_sha) == 0)
            continue;
        if (defender) {
            if (strcmp(demo_str(a, "severity"), "Medium") == 0)
                return a;
            continue;
        }
        int sev = (int)json_integer_value(json_object_get(a, "severity"));
        if (sev < 70)
            continue;
        int64_t hosts = demo_hash_hosts(d, hdr, sha);
        if (hosts < 0)
            continue;
        if (hosts < best_hosts || (hosts == best_hosts && sev > best_sev)) {
            best = a;
            best_hosts = hosts;
            best_sev = sev;
        }
    }
    return best;
}

static const char *demo_cs_host(const json_t *a)
{
    return demo_str(json_object_get(a, "device"), "hostname");
}

static void demo_play_edr(struct demo *d, const json_t *state)
{
    json_t *cs = demo_cs_alerts(d), *md = demo_defender_alerts(d);
    char hdr[4096];
    if (!demo_lab_token(d, false, hdr, sizeof hdr))
        hdr[0] = '\0';
    demo_check(d, json_array_size(cs) > 0, "the lab's CrowdStrike has no detections");
    demo_check(d, json_array_size(md) > 0, "the lab's Defender has no alerts");
    json_t *a = demo_pick(d, cs, state, hdr, "", "", false);
    if (a != NULL) {
        json_t *r = demo_post_json(d, "CrowdStrike detection", "crowdstrike", a);
        json_t *e = demo_script_add(d, "edr", "CrowdStrike detection", r);
        json_object_set_new(e, "host", json_string(demo_cs_host(a)));
        json_object_set_new(e, "vendor", json_string("crowdstrike"));
        json_object_set_new(e, "severity", json_copy(json_object_get(a, "severity")));
        json_decref(r);
        json_t *b = demo_pick(d, md, state, hdr, demo_cs_host(a), demo_str(a, "sha256"), true);
        if (b != NULL) {
            r = demo_post_json(d, "Defender alert", "defender", b);
            e = demo_script_add(d, "edr", "Defender alert", r);
            json_object_set_new(e, "host", json_string(demo_str(b, "computerDnsName")));
            json_object_set_new(e, "vendor", json_string("defender"));
            json_decref(r);
        }
        demo_check(d, b != NULL, "no Defender alert to play");
    }
    demo_check(d, a != NULL, "no CrowdStrike detection to play");
    json_decref(cs);
    json_decref(md);
}

/* The runaway: the EDR reports the credential-dumping tool on the domain
 * controller. A playbook that contains what the EDR names would isolate the
 * DC and cut the company off; the policy protects it. */
static void demo_play_runaway(struct demo *d, const json_t *state)
{
    const json_t *dc = NULL;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(state, "hosts"), i, h)
    {
        if (strstr(demo_str(h, "name"), "-dc-") != NULL && dc == NULL)
            dc = h;
    }
    demo_check(d, dc != NULL, "runaway: the lab has no domain controller");
    if (dc == NULL)
        return;
    json_t *cs = demo_cs_alerts(d);
    json_t *a = json_deep_copy(json_array_get(cs, 0));
    json_decref(cs);
    if (a == NULL) {
        demo_check(d, false, "runaway: no CrowdStrike detection to copy");
        return;
    }
    const json_t *csd = json_object_get(dc, "crowdstrike");
    const char *aid = demo_str(csd, "device_id");
    char cid[600], id[300];
    snprintf(id, sizeof id, "ind:%s:900000000001", aid);
    snprintf(cid, sizeof cid, "%s:%s", demo_str(a, "cid"), id);
    json_object_set_new(a, "composite_id", json_string(cid));
    json_object_set_new(a, "id", json_string(id));
    json_object_set_new(a, "severity", json_integer(99));
    json_object_set_new(a, "severity_name", json_string("Critical"));
    json_object_set_new(a, "display_name", json_string("Credential dumping from LSASS"));
    json_object_set_new(a, "description", json_string("Credential dumping from LSASS"));
    json_object_set_new(a, "tactic", json_string("Credential Access"));
    json_object_set_new(a, "technique_id", json_string("T1003.001"));
    json_object_set_new(a, "device",
                        json_pack("{s:s,s:s,s:s,s:s}", "device_id", aid, "hostname",
                                  demo_str(dc, "name"), "local_ip", demo_str(dc, "ip"),
                                  "platform_name", "Linux"));
    json_object_del(a, "user_name");
    json_t *r = demo_post_json(d, "runaway detection", "crowdstrike", a);
    json_t *e = demo_script_add(d, "runaway", "Runaway: detection on the domain controller", r);
    json_object_set_new(e, "host", json_string(demo_str(dc, "name")));
    json_decref(r);
    json_decref(a);
}

static bool demo_in_list(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) &&
                                      strcasecmp(json_string_value(v), s) == 0) return true;
    return false;
}

/* A user and a workstation that no detection and no phishing mail touched. */
static const json_t *demo_quiet_host(const json_t *state, json_t *taken)
{
    const json_t *phish = json_object_get(state, "phish");
    size_t i, k;
    json_t *h, *det;
    json_array_foreach(json_object_get(state, "hosts"), i, h)
    {
        const char *name = demo_str(h, "name"), *user = demo_str(h, "user");
        if (strncmp(name, "WS-", 3) != 0 || user[0] == '\0' || demo_in_list(taken, user) ||
            demo_in_list(json_object_get(phish, "mailboxes"), user))
            continue;
        bool busy = false;
        json_array_foreach(json_object_get(state, "detections"), k,
                           det) if (strcasecmp(demo_str(det, "host"), name) == 0 ||
                                    strcasecmp(demo_str(det, "user"), user) == 0) busy = true;
        if (busy)
            continue;
        json_array_append_new(taken, json_string(user));
        return h;
    }
    return NULL;
}

static void demo_iso(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

/* A burst of failed sign-ins of one user, one more than the per-user rule
 * of the detector allows (the configuration's first rule), inside its
 * window. With a host: Windows events 4625, half on the VPN gateway and the
 * rest on the user's workstation (the detector's alert names the last host,
 * and no device sees more than three, so only the per-user rule fires).
 * Without: Okta sign-ins, each from another address (a password spray). */
static void demo_play_logins(struct demo *d, const struct config *cfg, const json_t *who,
                             bool with_host, const char *answer, const char *label)
{
    const struct config_detect_rule *rule = cfg->ndetect > 0 ? &cfg->detect[0] : NULL;
    uint32_t n = rule != NULL ? rule->threshold + 1 : 6;
    int64_t window = rule != NULL ? rule->window_ms : 600000;
    int64_t step = window / (2 * (int64_t)n);
    if (step > 2000)
        step = 2000;
    int64_t now = time_now_ms();
    const char *user = demo_str(who, "user");
    json_t *events = json_array();
    for (uint32_t i = 0; i < n; i++) {
        char ts[40], ip[32], uuid[64];
        demo_iso(now - (int64_t)(n - i) * step, ts, sizeof ts);
        snprintf(ip, sizeof ip, "203.0.113.%u", 26 + (with_host ? 0 : i * 7));
        if (with_host) {
            const char *host = i < n / 2 ? "srv-vpn-07" : demo_str(who, "name");
            json_array_append_new(
                events,
                json_pack("{s:i,s:s,s:s,s:s,s:I,s:{s:s,s:s,s:s,s:s,s:s,s:s}}", "EventID", 4625,
                          "Channel", "Security", "Computer", host, "TimeCreated", ts,
                          "EventRecordID", (json_int_t)(now % 1000000) * 100 + i, "EventData",
                          "TargetUserName", user, "TargetDomainName", "CORP", "IpAddress", ip,
                          "LogonType", "3", "Status", "0xc000006d", "SubStatus", "0xc000006a"));
        } else {
            snprintf(uuid, sizeof uuid, "demo-%lld-%u", (long long)now, i);
            json_array_append_new(
                events,
                json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s},s:{s:s,s:s}}", "uuid", uuid,
                          "published", ts, "eventType", "user.session.start", "severity", "WARN",
                          "displayMessage", "User login to Okta", "actor", "type", "User",
                          "alternateId", user, "client", "ipAddress", ip, "outcome", "result",
                          "FAILURE", "reason", "INVALID_CREDENTIALS"));
        }
    }
    json_t *r = demo_post_json(d, label, with_host ? "windows" : "okta", events);
    json_t *e = demo_script_add(d, "login", label, r);
    json_object_set_new(e, "user", json_string(user));
    if (with_host)
        json_object_set_new(e, "host", json_string(demo_str(who, "name")));
    json_object_set_new(e, "answer", answer != NULL ? json_string(answer) : json_null());
    json_object_set_new(e, "count", json_integer(n));
    json_object_set_new(e, "detected", json_array());
    json_decref(r);
    json_decref(events);
}

/* A user's report of a mail: the mail attached (message/rfc822) to a short
 * note, as Outlook's "Report phishing" and a forward as attachment send it. */
static rp_status demo_report_mail(struct buf *b, const char *reporter, int n, const char *from,
                                  const char *subject, const char *message_id, const char *auth,
                                  const char *url, const char *attachment)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    rp_status st = buf_printf(
        b,
        "From: %s\r\nTo: phishing@corp.example\r\nSubject: Suspicious mail: %s\r\n"
        "Date: %s\r\nMessage-ID: <demo-report-%d@corp.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"demo-outer\"\r\n\r\n"
        "--demo-outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "I did not expect this one. Can you have a look?\r\n\r\n"
        "--demo-outer\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
        "Authentication-Results: mx.corp.example; %s\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"demo-inner\"\r\n\r\n"
        "--demo-inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Hello,</p><p>please see <a href=\"%s\">the document</a> today.</p>\r\n",
        reporter, subject, date, n, from, reporter, subject, date, message_id, auth, url);
    if (st == RP_OK && attachment != NULL)
        st = buf_printf(b,
                        "--demo-inner\r\nContent-Type: application/octet-stream; name=\"%s\"\r\n"
                        "Content-Disposition: attachment; filename=\"%s\"\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\n"
                        "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
                        attachment, attachment);
    if (st == RP_OK)
        st = buf_puts(b, "--demo-inner--\r\n\r\n--demo-outer--\r\n");
    return st;
}

static void demo_play_phishing(struct demo *d, const json_t *state, json_t *taken)
{
    const json_t *phish = json_object_get(state, "phish");
    const json_t *boxes = json_object_get(phish, "mailboxes");
    json_t *e =
        json_pack("{s:s,s:s,s:[],s:s,s:s,s:s,s:s}", "kind", "phish", "label",
                  "Phishing campaign reported by five users", "cases", "message_id",
                  demo_str(phish, "internetMessageId"), "url", demo_str(phish, "url"), "sha256",
                  demo_str(phish, "attachment_sha256"), "sender", demo_str(phish, "from"));
    json_array_append_new(d->script, e);
    char from[256];
    snprintf(from, sizeof from, "\"Accounts Payable\" <%s>", demo_str(phish, "from"));
    int reports = 0;
    for (size_t i = 0; i < json_array_size(boxes) && reports < 5; i++) {
        const char *who = json_string_value(json_array_get(boxes, i));
        struct buf b;
        buf_init(&b, DEMO_FILE_MAX);
        if (demo_report_mail(&b, who, (int)i, from, demo_str(phish, "subject"),
                             demo_str(phish, "internetMessageId"),
                             "spf=fail smtp.mailfrom=payroll-notice.example; dkim=none; dmarc=fail",
                             demo_str(phish, "url"), demo_str(phish, "attachment_name")) == RP_OK) {
            json_t *r = demo_post(d, "phishing report", "mail", "message/rfc822", b.data, b.len);
            size_t k;
            json_t *c;
            json_array_foreach(json_object_get(r, "cases"), k, c)
                json_array_append(json_object_get(e, "cases"), c);
            json_decref(r);
            reports++;
        }
        buf_fini(&b);
        json_array_append_new(taken, json_string(who));
    }
    demo_check(d, reports == 5, "phishing: %d reports sent instead of 5", reports);
    json_object_set_new(e, "reports", json_integer(reports));

    /* the benign one: a colleague reports the vendor's ordinary newsletter */
    const json_t *h = demo_quiet_host(state, taken);
    if (h == NULL)
        return;
    struct buf b;
    buf_init(&b, DEMO_FILE_MAX);
    if (demo_report_mail(&b, demo_str(h, "user"), 99, "\"GitHub\" <noreply@github.com>",
                         "Your monthly GitHub digest", "<digest-2026-11@github.com>",
                         "spf=pass smtp.mailfrom=github.com; dkim=pass header.d=github.com; "
                         "dmarc=pass header.from=github.com",
                         "https://github.com/", NULL) == RP_OK) {
        json_t *r = demo_post(d, "benign report", "mail", "message/rfc822", b.data, b.len);
        json_t *be = demo_script_add(d, "benign", "Benign report", r);
        json_object_set_new(be, "user", json_string(demo_str(h, "user")));
        json_decref(r);
    }
    buf_fini(&b);
}

/* --- people: answering prompts --------------------------------------------------------- */

/* Answers the open prompts as their people would: each user of the script
 * answers as scripted (or never); approvals of the guard rails are left to
 * their deadline (an analyst is not part of the demo). answered collects
 * {prompt id: option}. */
static void demo_answer_prompts(struct demo *d, json_t *answered)
{
    json_t *open = demo_api_get(d, "/api/v1/prompts?status=open&limit=500");
    size_t i, k;
    json_t *p, *e;
    json_array_foreach(json_object_get(open, "prompts"), i, p)
    {
        const char *id = demo_str(p, "id"), *to = demo_str(p, "to");
        if (json_object_get(answered, id) != NULL || to[0] == '\0')
            continue;
        const char *option = NULL;
        json_array_foreach(d->script, k, e)
        {
            if (strcasecmp(demo_str(e, "user"), to) == 0 &&
                json_is_string(json_object_get(e, "answer")))
                option = demo_str(e, "answer");
        }
        if (option == NULL) {
            json_object_set_new(answered, id, json_null()); /* this one stays silent */
            continue;
        }
        char path[256], body[128];
        snprintf(path, sizeof path, "/api/v1/prompts/%s/answer", id);
        snprintf(body, sizeof body, "{\"option\":\"%s\"}", option);
        json_t *r = demo_api(d, "POST", path, "application/json", body, strlen(body), 200);
        demo_check(d, r != NULL, "%s could not answer %s to prompt %s", to, option, id);
        json_object_set_new(answered, id, json_string(option));
        json_decref(r);
    }
    json_decref(open);
}

/* Plays people until every run is finished (none running or waiting, and at
 * least min_runs of them), or until deadline_ms. True when all finished. */
static bool demo_wait_runs(struct demo *d, json_t *answered, size_t min_runs, int64_t deadline_ms)
{
    for (;;) {
        demo_answer_prompts(d, answered);
        json_t *list = demo_runs(d, false);
        size_t i, busy = 0;
        json_t *r;
        json_t *runs = json_object_get(list, "runs");
        json_array_foreach(runs, i, r)
        {
            const char *st = demo_str(r, "status");
            if (strcmp(st, "succeeded") != 0 && strcmp(st, "failed") != 0)
                busy++;
        }
        size_t n = json_array_size(runs);
        json_decref(list);
        if (list != NULL && busy == 0 && n >= min_runs)
            return true;
        if (demo_interrupted || time_now_ms() > deadline_ms)
            return false;
        demo_sleep_ms(DEMO_POLL_MS);
    }
}

/* --- what happened --------------------------------------------------------------------- */

/* A short text of a JSON value for one line: strings as they are, the rest
 * compact, cut at max bytes. */
static void demo_brief(const json_t *v, char *out, size_t cap, size_t max)
{
    char *s = json_is_string(v) ? strdup(json_string_value(v))
                                : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        snprintf(out, cap, "?");
        return;
    }
    for (char *c = s; *c != '\0'; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    if (strlen(s) > max)
        snprintf(out, cap, "%.*s...", (int)max, s);
    else
        snprintf(out, cap, "%s", s);
    free(s);
}

struct demo_tally {
    int runs, runs_ok, runs_failed, actions, guard_allow, guard_deny, guard_hold, guard_sim;
    int prompts_answered, prompts_expired;
};

/* Prints one run: a header and a line per step that did something. Counts
 * into t; collects the guard verdicts of the run into verdicts. */
static void demo_print_run(const json_t *run, struct demo_tally *t, json_t *verdicts)
{
    int64_t c = demo_time_ms(demo_str(run, "created")), f = demo_time_ms(demo_str(run, "finished"));
    const char *status = demo_str(run, "status");
    t->runs++;
    t->runs_ok += strcmp(status, "succeeded") == 0;
    t->runs_failed += strcmp(status, "failed") == 0;
    printf("   run %s: %s", demo_str(run, "playbook"), status);
    if (c >= 0 && f >= c)
        printf(" in %.1f s", (double)(f - c) / 1000.0);
    if (json_is_string(json_object_get(run, "error")))
        printf(" (%s)", demo_str(run, "error"));
    printf("\n");
    json_t *actions = json_object(), *guards = json_object();
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(run, "events"), i, ev)
    {
        const char *type = demo_str(ev, "type"), *key = demo_str(ev, "key");
        const json_t *data = json_object_get(ev, "data");
        char line[400] = "";
        if (strcmp(type, "action_requested") == 0) {
            json_object_set_new(actions, key, json_string(demo_str(data, "action")));
            t->actions++;
            continue;
        }
        if (strcmp(type, "guard") == 0) {
            const char *v = demo_str(data, "verdict");
            t->guard_allow += strcmp(v, "allow") == 0;
            t->guard_deny += strcmp(v, "deny") == 0;
            t->guard_hold += strcmp(v, "hold") == 0;
            t->guard_sim += strcmp(v, "simulate") == 0;
            json_array_append_new(verdicts, json_string(v));
            json_object_set_new(guards, key, json_incref((json_t *)data));
            continue;
        }
        if (strcmp(type, "prompt_sent") == 0) {
            char q[200];
            demo_brief(json_object_get(data, "question"), q, sizeof q, 90);
            printf("     %-14s asked %s: %s\n", key,
                   json_is_string(json_object_get(data, "to")) ? demo_str(data, "to")
                                                               : demo_str(data, "role"),
                   q);
            continue;
        }
        if (strcmp(type, "step_done") != 0)
            continue;
        const char *st = demo_str(data, "status");
        const json_t *out = json_object_get(data, "out");
        const char *action = demo_str(actions, key);
        const json_t *g = json_object_get(guards, key);
        if (strcmp(st, "failed") == 0) {
            char err[200];
            demo_brief(json_object_get(data, "err"), err, sizeof err, 150);
            snprintf(line, sizeof line, "FAILED %s %s", action, err);
        } else if (json_object_get(out, "timed_out") != NULL) {
            bool late = json_is_true(json_object_get(out, "timed_out"));
            snprintf(line, sizeof line, "%s %s",
                     late ? "no answer by the deadline: default" : "answered",
                     demo_str(out, "answer"));
            if (late)
                t->prompts_expired++;
            else
                t->prompts_answered++;
        } else if (json_is_string(json_object_get(out, "op"))) {
            char v[160];
            demo_brief(json_object_get(out, "value"), v, sizeof v, 110);
            snprintf(line, sizeof line, "case %s: %s", demo_str(out, "op"), v);
        } else if (action[0] != '\0') {
            char o[160];
            json_t *shown = json_deep_copy(out); /* passwords are not for the screen */
            const char *mk;
            json_t *mv;
            json_object_foreach(shown, mk, mv) if (strstr(mk, "password") != NULL)
                json_object_set_new(shown, mk, json_string("***"));
            demo_brief(shown, o, sizeof o, 80);
            json_decref(shown);
            snprintf(line, sizeof line, "%s -> %s", action, o);
        } else {
            continue; /* set, branches: the bookkeeping of the playbook */
        }
        printf("     %-14s %s\n", key, line);
        if (g != NULL && strcmp(demo_str(g, "verdict"), "allow") != 0)
            printf("     %-14s   guard %s (%s): %s\n", "", demo_str(g, "verdict"),
                   demo_str(g, "rule"), demo_str(g, "reason"));
        else if (g != NULL)
            printf("     %-14s   guard allow\n", "");
    }
    json_decref(actions);
    json_decref(guards);
}

/* The script entry a case belongs to, or NULL. */
static json_t *demo_entry_of(struct demo *d, const json_t *cs, const json_t *full)
{
    const char *id = demo_str(cs, "id");
    size_t i, k;
    json_t *e, *c;
    json_array_foreach(d->script, i, e)
    {
        json_array_foreach(json_object_get(e, "cases"), k,
                           c) if (strcmp(json_string_value(c), id) == 0) return e;
    }
    /* the detector's alerts: by their user */
    if (strcmp(demo_str(cs, "source"), "detect") != 0)
        return NULL;
    const json_t *alert = json_array_get(json_object_get(full, "alerts"), 0);
    const char *email = demo_str(json_object_get(alert, "user"), "email");
    json_array_foreach(d->script, i, e)
    {
        if (strcmp(demo_str(e, "kind"), "login") == 0 &&
            strcasecmp(demo_str(e, "user"), email) == 0) {
            json_array_append_new(json_object_get(e, "detected"), json_string(id));
            return e;
        }
    }
    return NULL;
}

static bool demo_lab_contained(const json_t *state, const char *host)
{
    return demo_in_list(json_object_get(state, "contained"), host);
}

static void demo_print_time(const char *what, int64_t sum, int n)
{
    if (n > 0)
        printf("  %-26s %.1f s over %d case(s)\n", what, (double)sum / 1000.0 / n, n);
    else
        printf("  %-26s none\n", what);
}

static double demo_num(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(json_object_get(o, a), b);
    if (c != NULL)
        v = json_object_get(v, c);
    return json_is_number(v) ? json_number_value(v) : -1;
}

/* The figures of `riposte report --format json --since 1d` (kpi/kpi.h, the
 * same code as GET /api/v1/kpis), run as a child on the demo's database;
 * written to DIR/kpi.json. Nothing when the command fails. */
static void demo_print_report(struct demo *d)
{
    char out[PATH_MAX];
    if (!demo_path(out, sizeof out, d->dir, "kpi.json"))
        return;
    char *argv[] = {"riposte", "report", "--format", "json", "--since", "1d",
                    "--db",    d->db,    "--out",    out,    NULL};
    struct demo_child ch = {.name = "riposte report"};
    if (!demo_spawn(d, &ch, argv, "report.out", "report.log"))
        return;
    int status = 0;
    int64_t end = time_now_ms() + DEMO_START_MS;
    pid_t w = 0;
    while ((w = waitpid(ch.pid, &status, WNOHANG)) == 0 && time_now_ms() < end)
        demo_sleep_ms(20);
    if (w != ch.pid) {
        demo_stop(&ch);
        return;
    }
    json_t *k = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? json_load_file(out, 0, NULL) : NULL;
    const json_t *cur = json_object_get(k, "current");
    if (cur != NULL) {
        double rate = demo_num(cur, "automation", "rate", NULL);
        printf(
            "  riposte report (kpi.json): contain mean %.1f s, resolve mean %.1f s, automation "
            "rate %.0f%%, %.0f minutes of analyst time saved, %.0f guard interventions\n",
            json_number_value(json_object_get(
                json_object_get(json_object_get(json_object_get(cur, "times"), "contain"), "all"),
                "mean_s")),
            json_number_value(json_object_get(
                json_object_get(json_object_get(json_object_get(cur, "times"), "resolve"), "all"),
                "mean_s")),
            rate >= 0 ? rate * 100 : 0, demo_num(cur, "time_saved", "minutes", NULL),
            demo_num(cur, "guard", "interventions", NULL));
    }
    json_decref(k);
}

/* Prints every case with its runs, checks the script's outcomes against the
 * daemon's and the lab's state, and prints the KPI figures. */
static void demo_report(struct demo *d, json_t *answered)
{
    json_t *list = demo_api_get(d, "/api/v1/cases?limit=500");
    json_t *runs = demo_runs(d, true);
    json_t *lab = demo_lab_state(d);
    json_t *cases = json_object_get(list, "cases");
    struct demo_tally t = {0};
    int64_t contain_sum = 0, resolve_sum = 0, ack_sum = 0;
    int contain_n = 0, resolve_n = 0, ack_n = 0, alerts = 0, raw_cases = 0, raw_alerts = 0;
    json_t *by_status = json_object();
    printf("\nWhat happened, case by case (oldest first):\n");
    for (size_t i = json_array_size(cases); i-- > 0;) {
        json_t *cs = json_array_get(cases, i);
        char path[256];
        snprintf(path, sizeof path, "/api/v1/cases/%s", demo_str(cs, "id"));
        json_t *full = demo_api_get(d, path);
        json_t *e = demo_entry_of(d, cs, full);
        /* times count from when the case was opened here: the lab's EDR
         * detections happened hours before the demo began */
        int64_t det = demo_time_ms(demo_str(cs, "created"));
        int64_t con = demo_time_ms(demo_str(cs, "contained"));
        int64_t res = demo_time_ms(demo_str(cs, "resolved"));
        int64_t clo = demo_time_ms(demo_str(cs, "closed"));
        int64_t ack = demo_time_ms(demo_str(cs, "acknowledged"));
        const char *status = demo_str(cs, "status");
        json_object_set_new(
            by_status, status,
            json_integer(json_integer_value(json_object_get(by_status, status)) + 1));
        alerts += (int)json_integer_value(json_object_get(cs, "alert_count"));
        if (det >= 0 && con >= det) {
            contain_sum += con - det;
            contain_n++;
        }
        if (det >= 0 && (res >= det || clo >= det)) {
            resolve_sum += (res >= det ? res : clo) - det;
            resolve_n++;
        }
        if (det >= 0 && ack >= det) {
            ack_sum += ack - det;
            ack_n++;
        }
        if (e != NULL && strcmp(demo_str(e, "kind"), "login") == 0 &&
            strcmp(demo_str(cs, "source"), "detect") != 0) {
            raw_cases++; /* the failed sign-ins themselves: told once, below */
            raw_alerts += (int)json_integer_value(json_object_get(cs, "alert_count"));
            json_decref(full);
            continue;
        }
        printf("\n* %s\n  case %s  %s  %s/%s  %s (%lld) %s, %lld alert(s)\n",
               e != NULL                                   ? demo_str(e, "label")
               : strcmp(demo_str(cs, "kind"), "auth") == 0 ? "(the failed sign-ins themselves)"
                                                           : "(other)",
               demo_str(cs, "id"), demo_str(cs, "title"), demo_str(cs, "kind"),
               demo_str(cs, "source"), demo_str(cs, "severity_label"),
               (long long)json_integer_value(json_object_get(cs, "severity")), status,
               (long long)json_integer_value(json_object_get(cs, "alert_count")));
        size_t k;
        json_t *r;
        json_t *verdicts = json_array();
        int case_runs = 0, case_ok = 0;
        json_array_foreach(json_object_get(runs, "runs"), k, r)
        {
            if (strcmp(demo_str(r, "case_id"), demo_str(cs, "id")) != 0)
                continue;
            demo_print_run(r, &t, verdicts);
            case_runs++;
            case_ok += strcmp(demo_str(r, "status"), "succeeded") == 0;
        }
        if (case_runs == 0)
            printf("   no playbook run\n");
        if (e != NULL) {
            const char *kind = demo_str(e, "kind"), *label = demo_str(e, "label");
            const char *host = demo_str(e, "host");
            bool denied = demo_in_list(verdicts, "deny") || demo_in_list(verdicts, "hold");
            if (strcmp(kind, "edr") == 0) {
                demo_check(d, case_runs > 0 && case_ok == case_runs, "%s: the run did not succeed",
                           label);
                bool contain = strcmp(status, "contained") == 0;
                demo_check(d, !contain || demo_lab_contained(lab, host),
                           "%s: the case is contained but %s is not in the lab's EDR", label, host);
                demo_check(d, !denied, "%s: the guard rails stopped an action", label);
            } else if (strcmp(kind, "login") == 0 &&
                       strcmp(demo_str(cs, "source"), "detect") == 0) {
                const char *answer = demo_str(e, "answer");
                demo_check(d, case_runs == 1 && case_ok == 1,
                           "%s: %d run(s), %d succeeded (expected one)", label, case_runs, case_ok);
                if (strcmp(answer, "yes") == 0) {
                    demo_check(d, strcmp(status, "resolved") == 0,
                               "%s: the case is %s, not resolved", label, status);
                } else {
                    demo_check(d, strcmp(demo_str(cs, "severity_label"), "critical") == 0,
                               "%s: the case severity was not raised", label);
                    if (host[0] != '\0')
                        demo_check(d, demo_lab_contained(lab, host),
                                   "%s: %s is not contained in the lab's EDR", label, host);
                }
            } else if (strcmp(kind, "phish") == 0) {
                demo_check(d, json_integer_value(json_object_get(cs, "alert_count")) == 5,
                           "%s: the case holds %lld reports, not 5", label,
                           (long long)json_integer_value(json_object_get(cs, "alert_count")));
                demo_check(d, case_runs == 5 && case_ok == 5, "%s: %d of %d runs succeeded", label,
                           case_ok, case_runs);
                demo_check(d, strcmp(status, "contained") == 0, "%s: the case is %s", label,
                           status);
            } else if (strcmp(kind, "benign") == 0) {
                demo_check(d, strcmp(status, "false_positive") == 0,
                           "%s: the case is %s, not false_positive", label, status);
            } else if (strcmp(kind, "runaway") == 0) {
                demo_check(d, denied, "%s: no guard rail stopped it", label);
                demo_check(d, !demo_lab_contained(lab, host), "%s: %s was contained", label, host);
                json_object_set_new(e, "seen", json_true());
            }
            if (strcmp(kind, "runaway") != 0 && strcmp(kind, "login") != 0)
                json_object_set_new(e, "seen", json_true());
        }
        json_decref(verdicts);
        json_decref(full);
    }

    if (raw_cases > 0)
        printf("\n* The failed sign-ins themselves: %d alerts in %d cases, left new: no playbook "
               "starts on them; the detector's alerts above carry the response\n",
               raw_alerts, raw_cases);

    /* the outside world: what the lab saw */
    const json_t *phish = json_object_get(lab, "phish");
    size_t i;
    json_t *e;
    json_array_foreach(d->script, i, e)
    {
        const char *kind = demo_str(e, "kind"), *label = demo_str(e, "label");
        if (strcmp(kind, "login") == 0)
            demo_check(d, json_array_size(json_object_get(e, "detected")) == 1,
                       "%s: the detector raised %zu alert case(s), not 1", label,
                       json_array_size(json_object_get(e, "detected")));
        else
            demo_check(d, json_is_true(json_object_get(e, "seen")), "%s: no case", label);
        if (strcmp(kind, "login") == 0) {
            const char *user = demo_str(e, "user"), *answer = demo_str(e, "answer");
            size_t k;
            json_t *u;
            json_array_foreach(json_object_get(lab, "users"), k, u)
            {
                if (strcasecmp(demo_str(u, "login"), user) != 0)
                    continue;
                int64_t resets = json_integer_value(json_object_get(u, "okta_password_resets"));
                if (strcmp(answer, "yes") == 0)
                    demo_check(d, resets > 0, "%s: the password of %s was not reset", label, user);
                else
                    demo_check(d, resets == 0, "%s: the password of %s was reset", label, user);
            }
        }
    }
    demo_check(d, json_integer_value(json_object_get(phish, "live")) == 0,
               "phishing: %lld copies of the mail are still in the lab's mailboxes",
               (long long)json_integer_value(json_object_get(phish, "live")));
    char url[512];
    snprintf(url, sizeof url, "%s/blocklists/phishing-domains.txt", d->api_url);
    struct demo_res br;
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->token);
    const char *phish_from = demo_str(phish, "from");
    const char *phish_domain = strchr(phish_from, '@') != NULL ? strchr(phish_from, '@') + 1 : "?";
    bool listed = false;
    long bl_status = 0;
    if (demo_http(d, "blocklist", "GET", url, auth, NULL, NULL, 0, &br)) {
        bl_status = br.status;
        listed = br.status == 200 && br.body.data != NULL &&
                 memmem(br.body.data, br.body.len, phish_domain, strlen(phish_domain)) != NULL;
        demo_res_fini(&br);
    }
    demo_check(d, listed, "phishing: %s is not on /blocklists/phishing-domains.txt (status %ld)",
               phish_domain, bl_status);

    /* KPIs */
    printf("\nKPIs of the day:\n");
    printf("  %-26s %zu (", "cases", json_array_size(cases));
    const char *st;
    json_t *n;
    bool first = true;
    json_object_foreach(by_status, st, n)
    {
        printf("%s%s %lld", first ? "" : ", ", st, (long long)json_integer_value(n));
        first = false;
    }
    printf("), %d alerts\n", alerts);
    printf("  %-26s %d (%d succeeded, %d failed), %d actions\n", "playbook runs", t.runs, t.runs_ok,
           t.runs_failed, t.actions);
    printf("  %-26s %d allowed, %d denied, %d held, %d simulated\n", "guard decisions",
           t.guard_allow, t.guard_deny, t.guard_hold, t.guard_sim);
    printf("  %-26s %d answered, %d past the deadline\n", "questions to users", t.prompts_answered,
           t.prompts_expired);
    demo_print_time("mean time to acknowledge", ack_sum, ack_n);
    demo_print_time("mean time to contain", contain_sum, contain_n);
    demo_print_time("mean time to resolve", resolve_sum, resolve_n);
    printf("  %-26s %zu in the lab's EDR; %lld of the phishing mail's copies left\n",
           "hosts contained", json_array_size(json_object_get(lab, "contained")),
           (long long)json_integer_value(json_object_get(phish, "live")));
    demo_print_report(d);
    demo_check(d, t.runs_failed == 0, "%d playbook run(s) failed", t.runs_failed);
    (void)answered;
    json_decref(by_status);
    json_decref(list);
    json_decref(runs);
    json_decref(lab);
}

/* --- the command ------------------------------------------------------------------------ */

static int demo_usage(void)
{
    cli_help_print(stderr, "demo");
    return CLI_EXIT_USAGE;
}

/* Sets up the directory, the configuration, the secrets and the children.
 * False (printed) when something is missing. */
static bool demo_setup(struct demo *d, struct config *cfg)
{
    ssize_t n = readlink("/proc/self/exe", d->exe, sizeof d->exe - 1);
    if (n <= 0) {
        cli_errorf("demo: /proc/self/exe: %s", strerror(errno));
        return false;
    }
    d->exe[n] = '\0';
    if (!demo_find_root(d))
        return false;
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/riposte-demo-XXXXXX",
             tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if (mkdtemp(d->dir) == NULL) {
        cli_errorf("demo: mkdtemp %s: %s", d->dir, strerror(errno));
        d->dir[0] = '\0';
        return false;
    }
    if (!demo_path(d->db, sizeof d->db, d->dir, "riposte.db") ||
        !demo_path(d->playbooks, sizeof d->playbooks, d->dir, "playbooks") ||
        !demo_path(d->policy, sizeof d->policy, d->dir, "policy.yml"))
        return false;
    /* a fresh master key for this demo's secrets, passed to the children in
     * the environment (docs/secrets.md) */
    unsigned char key[32];
    char hex[65];
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    sodium_memzero(key, sizeof key);
    setenv("RIPOSTE_SECRET_KEY", hex, 1);
    sodium_memzero(hex, sizeof hex);
    unsetenv("RIPOSTE_DB");
    unsetenv("RIPOSTE_CONFIG");

    char seed[32];
    snprintf(seed, sizeof seed, "%u", d->seed);
    char *lab_argv[] = {"riposte", "lab", "--listen", "127.0.0.1:0", "--seed", seed, NULL};
    d->lab.name = "riposte lab";
    if (!demo_spawn(d, &d->lab, lab_argv, "lab.out", "lab.log") ||
        !demo_wait_for(d, &d->lab, "lab.out", "http://", d->lab_url + 7, sizeof d->lab_url - 7))
        return false;
    memcpy(d->lab_url, "http://", 7);
    d->lab_state = demo_lab_state(d);
    if (d->lab_state == NULL)
        return false;

    if (!demo_write_config(d, cfg) || !demo_write_playbooks(d) || !demo_make_token(d) ||
        !demo_store_secrets(d, cfg->connectors))
        return false;
    char conf[PATH_MAX], pbs[PATH_MAX], pol[PATH_MAX], listen[160];
    if (!demo_path(conf, sizeof conf, d->dir, "riposte.yml") ||
        !demo_path(pbs, sizeof pbs, d->dir, "playbooks") ||
        !demo_path(pol, sizeof pol, d->dir, "policy.yml"))
        return false;
    char *serve_argv[] = {"riposte",  "serve",    "--config",    conf,          "--db",
                          d->db,      "--listen", "127.0.0.1:0", "--playbooks", pbs,
                          "--policy", pol,        NULL};
    d->serve.name = "riposte serve";
    if (!demo_spawn(d, &d->serve, serve_argv, "serve.out", "serve.log") ||
        !demo_wait_for(d, &d->serve, "serve.log", "event=serve.start listen=", listen,
                       sizeof listen))
        return false;
    snprintf(d->api_url, sizeof d->api_url, "http://%s", listen);
    json_t *pb = demo_api_get(d, "/api/v1/playbooks");
    size_t npb = json_array_size(json_object_get(pb, "playbooks"));
    json_decref(pb);
    if (npb != 3) {
        cli_errorf("demo: the daemon loaded %zu playbooks, not 3 (see %s/serve.log)", npb, d->dir);
        return false;
    }
    return true;
}

/* `riposte demo --prepare DIR --lab URL` (for scripts/run.sh, `make run`):
 * writes DIR/riposte.yml (the demo's configuration with the shipped
 * playbooks and policy as they are), stores the lab's credentials in
 * DIR/riposte.db's secret store (the key from RIPOSTE_SECRET_KEY) and prints
 * a new admin token. */
static int demo_prepare(struct demo *d, const char *dir, const char *lab)
{
    struct config cfg;
    config_init(&cfg);
    int rc = CLI_EXIT_USAGE;
    ssize_t n = readlink("/proc/self/exe", d->exe, sizeof d->exe - 1);
    if (n <= 0 || strncmp(lab, "http://", 7) != 0 || strlen(lab) >= sizeof d->lab_url ||
        realpath(dir, d->dir) == NULL) {
        cli_errorf("demo: --prepare needs an existing directory and --lab http://HOST:PORT");
        goto out;
    }
    d->exe[n] = '\0';
    snprintf(d->lab_url, sizeof d->lab_url, "%s", lab);
    if (!demo_find_root(d) || !demo_path(d->db, sizeof d->db, d->dir, "riposte.db") ||
        !demo_path(d->playbooks, sizeof d->playbooks, d->root, "playbooks") ||
        !demo_path(d->policy, sizeof d->policy, d->root, "examples/policy.yml"))
        goto out;
    if (!demo_write_config(d, &cfg))
        goto out;
    struct store *s = NULL;
    struct rp_error err = {{0}};
    char name[64];
    snprintf(name, sizeof name, "run-%lld", (long long)(time_now_ms() / 1000));
    if (store_open(d->db, &s, &err) != RP_OK ||
        auth_token_create(s, name, AUTH_ROLE_ADMIN, d->token, &err) != RP_OK) {
        store_close(s);
        cli_errorf("demo: %s", err.msg);
        goto out;
    }
    store_close(s);
    if (!demo_store_secrets(d, cfg.connectors))
        goto out;
    printf("%s\n", d->token);
    rc = CLI_EXIT_OK;
out:
    config_fini(&cfg);
    return rc;
}

int cli_demo(int argc, char **argv)
{
    struct demo d = {.seed = 1};
    const char *prepare = NULL, *lab = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0) {
            d.keep = true;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end = NULL;
            unsigned long s = strtoul(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || s > UINT32_MAX)
                return demo_usage();
            d.seed = (unsigned)s;
        } else if (strcmp(argv[i], "--prepare") == 0 && i + 1 < argc) {
            prepare = argv[++i];
        } else if (strcmp(argv[i], "--lab") == 0 && i + 1 < argc) {
            lab = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cli_help_print(stdout, "demo");
            return CLI_EXIT_OK;
        } else {
            cli_errorf("demo: unknown argument %s", argv[i]);
            return demo_usage();
        }
    }
    log_set_level(LOG_WARN); /* the store's migrations are not news here */
    if (prepare != NULL)
        return sodium_init() < 0 ? CLI_EXIT_USAGE
                                 : demo_prepare(&d, prepare, lab != NULL ? lab : "");
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cli_errorf("demo: cannot initialise libsodium or libcurl");
        return CLI_EXIT_USAGE;
    }
    struct sigaction sa = {0};
    sa.sa_handler = demo_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    d.started_ms = time_now_ms();
    d.script = json_array();
    buf_init(&d.failures, 64 * 1024);
    d.curl = curl_easy_init();
    struct config cfg;
    config_init(&cfg);
    int rc = CLI_EXIT_USAGE;
    if (d.curl == NULL || d.script == NULL || !demo_setup(&d, &cfg))
        goto out;

    printf("Riposte demo: a scripted day at the SOC (lab seed %u)\n", d.seed);
    printf("  lab     %s  (simulated CrowdStrike, Defender, Graph, Okta, Splunk, VirusTotal...)\n",
           d.lab_url);
    printf("  daemon  %s  (playbooks endpoint-attack, failed-logins, phishing; policy %s/examples/"
           "policy.yml)\n",
           d.api_url, d.root);
    printf("  files   %s\n\n", d.dir);
    fflush(stdout);

    json_t *answered = json_object();
    json_t *taken = json_array();
    int64_t deadline = d.started_ms + DEMO_TOTAL_MS - 8000; /* leaves time to report and stop */
    printf("09:02  EDR: a CrowdStrike detection and a Defender alert arrive\n");
    demo_play_edr(&d, d.lab_state);
    printf("10:15  three users fail to sign in, again and again\n");
    const json_t *h1 = demo_quiet_host(d.lab_state, taken),
                 *h2 = demo_quiet_host(d.lab_state, taken),
                 *h3 = demo_quiet_host(d.lab_state, taken);
    if (h1 != NULL && h2 != NULL && h3 != NULL) {
        demo_play_logins(&d, &cfg, h1, true, "yes", "Failed logins: the user says it was them");
        demo_play_logins(&d, &cfg, h2, true, "no", "Failed logins: the user says it was not them");
        demo_play_logins(&d, &cfg, h3, false, NULL, "Failed logins: the user never answers");
    }
    demo_check(&d, h1 != NULL && h2 != NULL && h3 != NULL, "the lab has no three quiet users");
    printf("11:40  five users report the same phishing mail; one reports a newsletter\n");
    demo_play_phishing(&d, d.lab_state, taken);
    fflush(stdout);
    /* the users answer; the runs finish (the silent user's prompt times out) */
    /* a run per EDR alert, per raised failed-login alert and per report */
    size_t expect = json_array_size(d.script) - 1 + 5;
    bool done = demo_wait_runs(&d, answered, expect, deadline - 10000);
    demo_check(&d, done, "the day's runs did not finish in time");
    printf("16:55  the EDR reports credential dumping on the domain controller (the runaway)\n");
    fflush(stdout);
    demo_play_runaway(&d, d.lab_state);
    done = demo_wait_runs(&d, answered, expect + 1, deadline);
    demo_check(&d, done, "the runaway's run did not finish in time");
    if (!demo_interrupted)
        demo_report(&d, answered);
    json_decref(answered);
    json_decref(taken);

    rc = CLI_EXIT_OK;
out:
    if (!demo_stop(&d.serve))
        demo_check(&d, false, "riposte serve did not stop cleanly");
    demo_stop(&d.lab);
    int64_t took = time_now_ms() - d.started_ms;
    if (rc == CLI_EXIT_OK) {
        if (demo_interrupted)
            demo_check(&d, false, "interrupted");
        printf("\n%d of %d checks held; %.1f s\n", d.nchecks - d.nfailures, d.nchecks,
               (double)took / 1000.0);
        if (d.nfailures > 0) {
            printf("Not as scripted:\n%s", d.failures.data != NULL ? d.failures.data : "");
            rc = CLI_EXIT_FAIL;
        } else {
            printf("demo: every scripted step happened as expected\n");
        }
    }
    if (d.dir[0] != '\0') {
        if (d.keep || rc == CLI_EXIT_USAGE)
            printf("demo: kept %s (riposte.yml, riposte.db, lab.log, serve.log)\n", d.dir);
        else
            (void)nftw(d.dir, demo_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    config_fini(&cfg);
    json_decref(d.lab_state);
    json_decref(d.script);
    buf_fini(&d.failures);
    if (d.curl != NULL)
        curl_easy_cleanup(d.curl);
    curl_global_cleanup();
    return rc;
}
