/*
 * imap.c: the `imap` connector module, through libcurl's IMAP.
 *
 *   connectors:
 *     mailboxes:
 *       type: imap
 *       url: imap://127.0.0.1:143          # or imaps://host:993
 *       starttls: false                    # require STARTTLS (imap:// only)
 *       tls_verify: true                   # false only for test servers
 *       user: analyst                      # the report mailbox (sources)
 *       password: { secret: analyst_pw }
 *       master_user: riposte-admin         # for search and delete: logs in as
 *       master_password: { secret: imap_master }   # USER*riposte-admin
 *       master_separator: "*"              # Dovecot's auth_master_user_separator
 *       users: [alice, bob, carol]         # whose mailboxes search/delete visit
 *       mailboxes: [INBOX]                 # default: every folder (LIST)
 *       quarantine: Quarantine             # delete moves there instead of expunging
 *       connect_timeout: 10s
 *       timeout: 60s
 *       sources:
 *         reports: { mailbox: INBOX, every: 30s, move_to: Processed }
 *
 * A source polls its mailbox every `every`: it asks for the messages above
 * the last UID it handled (unseen ones only, unless it moves them away),
 * fetches at most RP_IMAP_POLL_BATCH of them, hands each raw message to the
 * sink as format "mail" (the daemon's mail parser makes a phishing alert of
 * it), then marks the ones the sink took \Seen, or moves them to move_to. The
 * last UID lives in memory only: after a restart the unseen messages (or all
 * those left in the mailbox, with move_to) are read again. A UIDVALIDITY
 * change starts over.
 *
 * Actions (params: message_id, from, subject, attachment_hash (MD5, SHA-1 or
 * SHA-256 of an attachment), users, mailboxes; at least one criterion):
 *   INSTANCE.search (read): the matching messages in every folder of every
 *     user: {matches: [{user, mailbox, uid, message_id, subject, from}],
 *     count, users}. A search by hash fetches and hashes at most
 *     RP_IMAP_HASH_CANDIDATES_MAX multipart messages per folder and reports
 *     `truncated` when it stopped there. Messages it had to fetch keep their
 *     unseen state.
 *   INSTANCE.delete (destroy): the same matches flagged \Deleted and
 *     expunged (UID EXPUNGE, only those), or moved to `quarantine`;
 *     {deleted: {user: n}, total}.
 * Each user is reached through a master-user login (USER*MASTER). A user that
 * cannot be reached fails the step, naming the user and curl's reason.
 *
 * Threads: configuration on the main thread; polls and actions run on
 * libuv's thread pool (libcurl's easy interface blocks) with timeouts on
 * every transfer, and complete on the loop thread (the sink is called there
 * only). cancel() detaches an action: its result is dropped, the worker
 * stops at its next command. Owns: the instance (passwords wiped at destroy),
 * each job until its after-work callback, each source's timer and curl
 * handle. Passwords are never logged or put into outputs and messages.
 */
#include "connect/connect_internal.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "engine/action.h"
#include "ingest/mail.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

struct imap_inst;

struct imap_source {
    struct imap_inst *inst;
    char *label; /* "INSTANCE.NAME", the origin of its alerts */
    char *mailbox;
    char *move_to; /* NULL: mark \Seen */
    int64_t every_ms;
    uint32_t last_uid;
    uint32_t uidvalidity;
    uv_timer_t timer;
    bool timer_init;
    bool busy;     /* a poll or mark job is in flight */
    bool stopping; /* stop() was called: no new work, results dropped */
    struct source_sink sink;
    uv_loop_t *loop;
    CURL *curl; /* the source's session, reused from poll to poll (workers only) */
};

struct imap_inst {
    char *name;
    char *url; /* imap[s]://host[:port], no path */
    char *user;
    char *password;
    char *master_user;
    char *master_password;
    char *separator;
    char *quarantine;
    json_t *users;     /* array of strings, or NULL */
    json_t *mailboxes; /* array of strings, or NULL: every folder */
    struct connector_mail_link link;
    struct imap_source *sources;
    size_t nsources;
    char search_name[96];
    char delete_name[96];
    struct action_def search_def;
    struct action_def delete_def;
};

/* --- a session: one curl handle, one login -------------------------------------- */

struct sess {
    CURL *c;
    const struct imap_inst *in;
    struct buf out; /* what the last command returned */
    char err[CURL_ERROR_SIZE + 256];
    char errbuf[CURL_ERROR_SIZE];
    CURLcode rc;
    const atomic_bool *cancel; /* may be NULL */
};

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct sess *s = ud;
    if (buf_append(&s->out, p, size * n) != RP_OK)
        return 0; /* above the limit: curl stops with CURLE_WRITE_ERROR */
    return size * n;
}

/* Prepares s on handle c (the caller's, kept across sessions, or a new one
 * when *c is NULL) for login (no secret copied: curl copies it). */
static rp_status sess_open(struct sess *s, CURL **c, const struct imap_inst *in, const char *login,
                           const char *password)
{
    memset(s, 0, sizeof *s);
    s->in = in;
    buf_init(&s->out, RP_IMAP_RESPONSE_MAX);
    if (*c == NULL)
        *c = curl_easy_init();
    if (*c == NULL) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return RP_E_NOMEM;
    }
    s->c = *c;
    connector_mail_link_apply(&in->link, s->c, "imap,imaps", s->errbuf);
    curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(s->c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->c, CURLOPT_USERNAME, login);
    curl_easy_setopt(s->c, CURLOPT_PASSWORD, password);
    return RP_OK;
}

static void sess_close(struct sess *s, bool keep_handle)
{
    buf_fini(&s->out);
    if (!keep_handle && s->c != NULL)
        curl_easy_cleanup(s->c);
    s->c = NULL;
}

/* Appends mailbox to b percent-encoded for an IMAP URL's path. */
static rp_status url_mailbox(struct buf *b, const char *mb)
{
    static const char HEX[] = "0123456789ABCDEF";
    rp_status st = RP_OK;
    for (const unsigned char *p = (const unsigned char *)mb; *p != '\0' && st == RP_OK; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            st = buf_append(b, p, 1);
        } else {
            char e[3] = {'%', HEX[*p >> 4], HEX[*p & 15]};
            st = buf_append(b, e, 3);
        }
    }
    return st;
}

/* Runs one transfer: a custom command (custom != NULL) in mailbox (NULL: none
 * selected), or a fetch of message uid (section: NULL for the whole message,
 * else an IMAP section such as "HEADER.FIELDS (SUBJECT)"). The answer is in
 * s->out, at most max bytes. */
static rp_status sess_do(struct sess *s, const char *mailbox, const char *custom, uint32_t uid,
                         const char *section, size_t max)
{
    if (s->cancel != NULL && atomic_load(s->cancel)) {
        snprintf(s->err, sizeof s->err, "cancelled");
        return RP_E_IO;
    }
    struct buf url;
    buf_init(&url, 4096);
    rp_status st = buf_printf(&url, "%s/", s->in->url);
    if (st == RP_OK && mailbox != NULL)
        st = url_mailbox(&url, mailbox);
    if (st == RP_OK && custom == NULL)
        st = buf_printf(&url, ";UID=%" PRIu32, uid);
    if (st == RP_OK && custom == NULL && section != NULL) {
        st = buf_puts(&url, ";SECTION=");
        if (st == RP_OK)
            st = url_mailbox(&url, section);
    }
    if (st != RP_OK) {
        buf_fini(&url);
        snprintf(s->err, sizeof s->err, "mailbox name too long");
        return RP_E_LIMIT;
    }
    buf_reset(&s->out);
    s->out.max = max;
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->c, CURLOPT_URL, url.data);
    curl_easy_setopt(s->c, CURLOPT_CUSTOMREQUEST, custom);
    s->rc = curl_easy_perform(s->c);
    buf_fini(&url);
    if (s->rc == CURLE_OK)
        return RP_OK;
    if (s->rc == CURLE_WRITE_ERROR && s->out.len + CURL_MAX_WRITE_SIZE > max) {
        snprintf(s->err, sizeof s->err, "the answer is larger than %zu bytes", max);
        return RP_E_LIMIT;
    }
    snprintf(s->err, sizeof s->err, "%s",
             s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(s->rc));
    return s->rc == CURLE_LOGIN_DENIED ? RP_E_DENIED : RP_E_IO;
}

/* --- parsing answers ----------------------------------------------------------- */

struct uids {
    uint32_t *v;
    size_t n, cap;
};

static bool uids_add(struct uids *u, uint32_t x)
{
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        uint32_t *v = realloc(u->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n++] = x;
    return true;
}

static bool uids_has(const struct uids *u, uint32_t x)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->v[i] == x)
            return true;
    return false;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The numbers of "* SEARCH n n n" lines, sorted. */
static rp_status parse_search(const struct buf *b, struct uids *u)
{
    const char *p = b->data != NULL ? b->data : "";
    while ((p = strstr(p, "* SEARCH")) != NULL) {
        p += 8;
        while (*p == ' ') {
            char *end;
            unsigned long x = strtoul(p + 1, &end, 10);
            if (end == p + 1)
                break;
            if (x > 0 && x <= UINT32_MAX && !uids_add(u, (uint32_t)x))
                return RP_E_NOMEM;
            p = end;
        }
    }
    if (u->n > 1)
        qsort(u->v, u->n, sizeof *u->v, cmp_u32);
    return RP_OK;
}

/* "1,5,7" for UIDs [from, to) of u (a sequence set). */
static rp_status uid_set(struct buf *b, const uint32_t *v, size_t n)
{
    rp_status st = RP_OK;
    for (size_t i = 0; i < n && st == RP_OK; i++)
        st = buf_printf(b, "%s%" PRIu32, i > 0 ? "," : "", v[i]);
    return st;
}

/* Appends s as an IMAP quoted string; false on a CR, LF or NUL. */
static bool put_quoted(struct buf *b, const char *s)
{
    if (buf_puts(b, "\"") != RP_OK)
        return false;
    for (; *s != '\0'; s++) {
        if (*s == '\r' || *s == '\n')
            return false;
        if ((*s == '"' || *s == '\\') && buf_puts(b, "\\") != RP_OK)
            return false;
        if (buf_append(b, s, 1) != RP_OK)
            return false;
    }
    return buf_puts(b, "\"") == RP_OK;
}

/* The folders of "* LIST (flags) "sep" name" lines, selectable ones only;
 * names given as literals (rare, odd characters) are skipped. */
static rp_status parse_list(const struct buf *b, json_t *out)
{
    const char *p = b->data != NULL ? b->data : "";
    while ((p = strstr(p, "* LIST (")) != NULL) {
        const char *eol = strchr(p, '\n');
        const char *close = strchr(p, ')');
        if (eol == NULL || close == NULL || close > eol)
            break;
        bool noselect = memmem(p, (size_t)(close - p), "\\Noselect", 9) != NULL ||
                        memmem(p, (size_t)(close - p), "\\NonExistent", 12) != NULL;
        const char *q = close + 1;
        while (*q == ' ')
            q++;
        /* the separator: NIL or a quoted character */
        if (strncmp(q, "NIL", 3) == 0)
            q += 3;
        else if (*q == '"')
            q = (q[1] == '\\') ? q + 4 : q + 3;
        while (*q == ' ')
            q++;
        char name[1024];
        size_t n = 0;
        if (*q == '"') {
            for (q++; q < eol && *q != '"' && n + 1 < sizeof name; q++) {
                if (*q == '\\' && q + 1 < eol)
                    q++;
                name[n++] = *q;
            }
        } else if (*q != '{') {
            while (q < eol && *q != '\r' && *q != '\n' && n + 1 < sizeof name)
                name[n++] = *q++;
        }
        name[n] = '\0';
        if (n > 0 && !noselect) {
            if (json_array_size(out) >= RP_IMAP_FOLDERS_MAX)
                return RP_E_LIMIT;
            json_array_append_new(out, json_string(name));
        }
        p = eol;
    }
    return RP_OK;
}

/* --- the source ---------------------------------------------------------------- */

struct fetched {
    uint32_t uid;
    char *data; /* NULL: too big or gone; still marked processed */
    size_t len;
};

struct poll_job {
    uv_work_t work;
    struct imap_source *src;
    bool mark; /* a mark job (else a poll) */
    bool more; /* more messages wait than one batch */
    uint32_t uidvalidity;
    struct fetched *msgs;
    size_t n;
    uint32_t *done; /* mark: the UIDs to mark or move */
    size_t ndone;
    rp_status st;
    char err[CURL_ERROR_SIZE + 256];
};

static void poll_schedule(struct imap_source *s, uint64_t ms);

static void poll_work(uv_work_t *w)
{
    struct poll_job *j = w->data;
    struct imap_source *src = j->src;
    const struct imap_inst *in = src->inst;
    struct sess s;
    struct uids u = {0};
    j->st = sess_open(&s, &src->curl, in, in->user, in->password);
    if (j->st != RP_OK)
        goto out;
    if (j->mark) {
        struct buf cmd;
        buf_init(&cmd, RP_IMAP_RESPONSE_MAX);
        if (src->move_to != NULL) {
            /* the folder may exist already: a failed CREATE is no error */
            if (buf_puts(&cmd, "CREATE ") == RP_OK && put_quoted(&cmd, src->move_to))
                (void)sess_do(&s, NULL, cmd.data, 0, NULL, RP_IMAP_RESPONSE_MAX);
            buf_reset(&cmd);
        }
        rp_status st = buf_puts(&cmd, "UID ");
        if (st == RP_OK)
            st = buf_puts(&cmd, src->move_to != NULL ? "MOVE " : "STORE ");
        if (st == RP_OK)
            st = uid_set(&cmd, j->done, j->ndone);
        if (st == RP_OK && src->move_to != NULL)
            st = (buf_puts(&cmd, " ") == RP_OK && put_quoted(&cmd, src->move_to)) ? RP_OK
                                                                                  : RP_E_LIMIT;
        else if (st == RP_OK)
            st = buf_puts(&cmd, " +FLAGS.SILENT (\\Seen)");
        if (st == RP_OK)
            st = sess_do(&s, src->mailbox, cmd.data, 0, NULL, RP_IMAP_RESPONSE_MAX);
        else
            snprintf(s.err, sizeof s.err, "command too long");
        buf_fini(&cmd);
        j->st = st;
        goto out;
    }
    char cmd[1200];
    struct buf q;
    buf_init(&q, 1100);
    if (!put_quoted(&q, src->mailbox)) {
        buf_fini(&q);
        j->st = RP_E_INVALID;
        snprintf(s.err, sizeof s.err, "bad mailbox name");
        goto out;
    }
    snprintf(cmd, sizeof cmd, "STATUS %s (UIDVALIDITY)", q.data);
    buf_fini(&q);
    j->st = sess_do(&s, NULL, cmd, 0, NULL, RP_IMAP_RESPONSE_MAX);
    if (j->st != RP_OK)
        goto out;
    const char *uv = s.out.data != NULL ? strstr(s.out.data, "UIDVALIDITY ") : NULL;
    j->uidvalidity = uv != NULL ? (uint32_t)strtoul(uv + 12, NULL, 10) : 0;
    uint32_t last = j->uidvalidity == src->uidvalidity ? src->last_uid : 0;
    snprintf(cmd, sizeof cmd, "UID SEARCH %sUID %" PRIu32 ":*", src->move_to ? "" : "UNSEEN ",
             last + 1);
    j->st = sess_do(&s, src->mailbox, cmd, 0, NULL, RP_IMAP_RESPONSE_MAX);
    if (j->st == RP_OK)
        j->st = parse_search(&s.out, &u);
    if (j->st != RP_OK)
        goto out;
    j->msgs = calloc(RP_IMAP_POLL_BATCH, sizeof *j->msgs);
    if (j->msgs == NULL) {
        j->st = RP_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < u.n; i++) {
        if (u.v[i] <= last) /* "N:*" also names the last message when N is past it */
            continue;
        if (j->n == RP_IMAP_POLL_BATCH) {
            j->more = true;
            break;
        }
        struct fetched *f = &j->msgs[j->n++];
        f->uid = u.v[i];
        rp_status st = sess_do(&s, src->mailbox, NULL, u.v[i], NULL, RP_IMAP_MESSAGE_MAX);
        if (st == RP_OK) {
            f->len = s.out.len;
            f->data = buf_steal(&s.out);
            if (f->data == NULL)
                f->data = strdup("");
        } else if (st == RP_E_LIMIT || s.rc == CURLE_REMOTE_FILE_NOT_FOUND) {
            log_warn("imap.skipped", "source=%s uid=%" PRIu32 " reason=\"%s\"", src->label, u.v[i],
                     s.err);
        } else {
            j->n--; /* the connection failed: try again at the next poll */
            j->st = st;
            break;
        }
    }
out:
    if (j->st != RP_OK)
        snprintf(j->err, sizeof j->err, "%s", s.err);
    free(u.v);
    sess_close(&s, true);
}

static void poll_job_free(struct poll_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->msgs[i].data);
    free(j->msgs);
    free(j->done);
    free(j);
}

static void poll_after(uv_work_t *w, int status);

static bool queue(struct imap_source *s, struct poll_job *j)
{
    j->src = s;
    j->work.data = j;
    if (uv_queue_work(s->loop, &j->work, poll_work, poll_after) != 0) {
        poll_job_free(j);
        return false;
    }
    s->busy = true;
    return true;
}

/* Loop thread: a poll hands its messages to the sink and queues the marking
 * of those taken; a mark job schedules the next poll. */
static void poll_after(uv_work_t *w, int status)
{
    struct poll_job *j = w->data;
    struct imap_source *s = j->src;
    s->busy = false;
    if (s->stopping || status != 0) {
        poll_job_free(j);
        return;
    }
    if (j->st != RP_OK) {
        char q[400];
        log_warn(j->mark ? "imap.mark_failed" : "imap.poll_failed", "source=%s error=%s", s->label,
                 log_quote(q, sizeof q, j->err));
    }
    if (j->mark) {
        poll_schedule(s, j->more ? 0 : (uint64_t)s->every_ms);
        poll_job_free(j);
        return;
    }
    if (j->uidvalidity != s->uidvalidity) {
        s->uidvalidity = j->uidvalidity;
        s->last_uid = 0;
    }
    struct poll_job *m = calloc(1, sizeof *m);
    if (m != NULL)
        m->done = calloc(j->n + 1, sizeof *m->done);
    size_t taken = 0;
    for (size_t i = 0; m != NULL && m->done != NULL && i < j->n; i++) {
        struct fetched *f = &j->msgs[i];
        if (f->data != NULL &&
            s->sink.submit(s->sink.ctx, s->label, "mail", f->data, f->len) != RP_OK) {
            /* refused (backpressure or a broken message): stop here, the rest
             * comes again at the next poll; a message the parser rejects is
             * marked processed so that it does not come back forever */
            if (!mail_detect(f->data, f->len)) {
                m->done[m->ndone++] = f->uid;
                s->last_uid = f->uid;
                continue;
            }
            break;
        }
        m->done[m->ndone++] = f->uid;
        s->last_uid = f->uid;
        taken++;
    }
    if (j->n > 0)
        log_info("imap.polled", "source=%s fetched=%zu submitted=%zu last_uid=%" PRIu32, s->label,
                 j->n, taken, s->last_uid);
    if (m != NULL && m->ndone > 0) {
        m->mark = true;
        m->more = j->more;
        if (queue(s, m)) {
            poll_job_free(j);
            return;
        }
    } else if (m != NULL) {
        free(m->done);
        free(m);
    }
    poll_schedule(s, j->more ? 0 : (uint64_t)s->every_ms);
    poll_job_free(j);
}

static void poll_fire(uv_timer_t *t)
{
    struct imap_source *s = t->data;
    if (s->busy || s->stopping)
        return;
    struct poll_job *j = calloc(1, sizeof *j);
    if (j == NULL || !queue(s, j)) {
        if (j != NULL)
            log_warn("imap.poll_failed", "source=%s error=\"cannot queue the poll\"", s->label);
        poll_schedule(s, (uint64_t)s->every_ms);
    }
}

static void poll_schedule(struct imap_source *s, uint64_t ms)
{
    if (!s->stopping)
        uv_timer_start(&s->timer, poll_fire, ms, 0);
}

static rp_status imap_start_sources(void *p, struct uv_loop_s *loop, const struct source_sink *sink,
                                    struct rp_error *err)
{
    struct imap_inst *in = p;
    (void)err;
    for (size_t i = 0; i < in->nsources; i++) {
        struct imap_source *s = &in->sources[i];
        s->loop = loop;
        s->sink = *sink;
        uv_timer_init(loop, &s->timer);
        s->timer.data = s;
        s->timer_init = true;
        poll_schedule(s, 0);
        log_info("imap.source", "source=%s mailbox=%s every_ms=%" PRId64, s->label, s->mailbox,
                 s->every_ms);
    }
    return RP_OK;
}

static void imap_stop(void *p)
{
    struct imap_inst *in = p;
    for (size_t i = 0; in != NULL && i < in->nsources; i++) {
        struct imap_source *s = &in->sources[i];
        s->stopping = true;
        if (s->timer_init && !uv_is_closing((uv_handle_t *)&s->timer)) {
            uv_timer_stop(&s->timer);
            uv_close((uv_handle_t *)&s->timer, NULL);
        }
    }
}

/* --- search and delete ----------------------------------------------------------- */

struct find_job {
    uv_work_t work;
    struct imap_inst *in;
    struct action_call *call; /* NULL once cancelled */
    atomic_bool cancelled;
    bool destroy;   /* delete (else search) */
    json_t *params; /* a copy: the worker's */
    json_t *out;    /* built by the worker */
    rp_status st;
    char err[1024];
};

/* The criteria of a call, checked on the loop thread. */
static rp_status criteria_check(json_t *p, struct rp_error *err)
{
    static const char *const KEYS[] = {"message_id",      "from",  "subject",
                                       "attachment_hash", "users", "mailboxes"};
    const char *k;
    json_t *v;
    bool any = false;
    json_object_foreach(p, k, v)
    {
        size_t i = 0;
        while (i < sizeof KEYS / sizeof KEYS[0] && strcmp(k, KEYS[i]) != 0)
            i++;
        if (i == sizeof KEYS / sizeof KEYS[0])
            return rp_error_set(err, RP_E_INVALID,
                                "%s: unknown parameter (known: message_id, from, subject, "
                                "attachment_hash, users, mailboxes)",
                                k);
        if (i < 4) {
            if (!json_is_string(v) || json_string_length(v) == 0)
                return rp_error_set(err, RP_E_INVALID, "%s: a non-empty string", k);
            const char *s = json_string_value(v);
            if (strlen(s) != json_string_length(v) || strpbrk(s, "\r\n") != NULL)
                return rp_error_set(err, RP_E_INVALID, "%s: a line break or NUL (refused)", k);
            if (json_string_length(v) > RP_SMTP_HEADER_MAX)
                return rp_error_set(err, RP_E_LIMIT, "%s: longer than %d bytes", k,
                                    RP_SMTP_HEADER_MAX);
            any = true;
        } else {
            if (!json_is_array(v))
                return rp_error_set(err, RP_E_INVALID, "%s: a list of names", k);
            size_t j;
            json_t *e;
            json_array_foreach(v, j, e)
            {
                const char *s = json_string_value(e);
                if (s == NULL || s[0] == '\0' || strpbrk(s, "\r\n*\"\\") != NULL || strlen(s) > 255)
                    return rp_error_set(err, RP_E_INVALID, "%s[%zu]: not a valid name", k, j);
            }
        }
    }
    if (!any)
        return rp_error_set(err, RP_E_INVALID,
                            "give at least one of message_id, from, subject, attachment_hash");
    const char *h = json_string_value(json_object_get(p, "attachment_hash"));
    if (h != NULL) {
        size_t n = strlen(h);
        bool hex = strspn(h, "0123456789abcdefABCDEF") == n;
        if (!hex || (n != 32 && n != 40 && n != 64))
            return rp_error_set(err, RP_E_INVALID,
                                "attachment_hash: the hex MD5, SHA-1 or SHA-256 of a file");
    }
    return RP_OK;
}

/* "<a@b>" and "a@b" compare equal. */
static bool same_message_id(const char *a, const char *b)
{
    while (*a == ' ' || *a == '<')
        a++;
    while (*b == ' ' || *b == '<')
        b++;
    size_t na = strcspn(a, "> \t\r\n"), nb = strcspn(b, "> \t\r\n");
    return na == nb && strncasecmp(a, b, na) == 0;
}

/* True when one attachment of the parsed mail has the hash h. */
static bool has_attachment_hash(json_t *alert, const char *h)
{
    const char *key = strlen(h) == 32 ? "md5" : strlen(h) == 40 ? "sha1" : "sha256";
    json_t *atts = json_object_get(json_object_get(alert, "email"), "attachments");
    size_t i;
    json_t *a;
    json_array_foreach(atts, i, a)
    {
        const char *v = json_string_value(json_object_get(a, key));
        if (v != NULL && strcasecmp(v, h) == 0)
            return true;
    }
    return false;
}

/* One folder of one user: the matches are appended to matches ({user,
 * mailbox, uid, message_id, subject, from}); *truncated when a hash search
 * stopped at its bound. */
static rp_status find_in_folder(struct find_job *j, struct sess *s, const char *user,
                                const char *mb, json_t *matches, bool *truncated)
{
    json_t *p = j->params;
    const char *mid = json_string_value(json_object_get(p, "message_id"));
    const char *from = json_string_value(json_object_get(p, "from"));
    const char *subj = json_string_value(json_object_get(p, "subject"));
    const char *hash = json_string_value(json_object_get(p, "attachment_hash"));
    struct buf cmd;
    buf_init(&cmd, 8192);
    struct uids u = {0}, unseen = {0}, fetched = {0};
    bool ascii = true;
    const char *vals[] = {mid, from, subj};
    for (size_t i = 0; i < 3; i++)
        for (const char *c = vals[i]; c != NULL && *c != '\0'; c++)
            ascii &= (unsigned char)*c < 0x80;
    rp_status st = buf_puts(&cmd, ascii ? "UID SEARCH" : "UID SEARCH CHARSET UTF-8");
    bool ok = st == RP_OK;
    if (ok && mid != NULL)
        ok = buf_puts(&cmd, " HEADER Message-ID ") == RP_OK && put_quoted(&cmd, mid);
    if (ok && from != NULL)
        ok = buf_puts(&cmd, " FROM ") == RP_OK && put_quoted(&cmd, from);
    if (ok && subj != NULL)
        ok = buf_puts(&cmd, " SUBJECT ") == RP_OK && put_quoted(&cmd, subj);
    if (ok && hash != NULL)
        ok = buf_puts(&cmd, " HEADER Content-Type \"multipart\"") == RP_OK;
    if (!ok) {
        buf_fini(&cmd);
        snprintf(s->err, sizeof s->err, "search criteria too long");
        return RP_E_LIMIT;
    }
    st = sess_do(s, mb, cmd.data, 0, NULL, RP_IMAP_RESPONSE_MAX);
    if (st == RP_OK)
        st = parse_search(&s->out, &u);
    if (st == RP_OK && u.n > 0) {
        /* fetching sets \Seen: note what was unseen to put it back */
        st = sess_do(s, mb, "UID SEARCH UNSEEN", 0, NULL, RP_IMAP_RESPONSE_MAX);
        if (st == RP_OK)
            st = parse_search(&s->out, &unseen);
    }
    size_t first = 0;
    if (hash != NULL && u.n > RP_IMAP_HASH_CANDIDATES_MAX) {
        first = u.n - RP_IMAP_HASH_CANDIDATES_MAX; /* the newest */
        *truncated = true;
    }
    for (size_t i = first; st == RP_OK && i < u.n; i++) {
        if (json_array_size(matches) >= RP_IMAP_MATCHES_MAX) {
            snprintf(s->err, sizeof s->err, "more than %d matching messages: narrow the criteria",
                     RP_IMAP_MATCHES_MAX);
            st = RP_E_LIMIT;
            break;
        }
        bool whole = hash != NULL;
        st = sess_do(s, mb, NULL, u.v[i],
                     whole ? NULL : "HEADER.FIELDS (MESSAGE-ID SUBJECT FROM DATE)",
                     whole ? RP_IMAP_MESSAGE_MAX : RP_IMAP_RESPONSE_MAX);
        if (st == RP_E_LIMIT || (st != RP_OK && s->rc == CURLE_REMOTE_FILE_NOT_FOUND)) {
            st = RP_OK; /* too big to hash, or expunged meanwhile */
            continue;
        }
        if (st != RP_OK)
            break;
        if (!uids_add(&fetched, u.v[i])) {
            st = RP_E_NOMEM;
            break;
        }
        json_t *alert = NULL;
        struct rp_error pe;
        if (mail_parse_alert(s->out.data != NULL ? s->out.data : "", s->out.len, &alert, &pe) !=
            RP_OK)
            continue;
        json_t *email = json_object_get(alert, "email");
        const char *got_mid = json_string_value(json_object_get(email, "message_id"));
        bool match = (mid == NULL || (got_mid != NULL && same_message_id(mid, got_mid))) &&
                     (hash == NULL || has_attachment_hash(alert, hash));
        if (match) {
            json_t *fr = json_object_get(email, "from");
            json_t *m =
                json_pack("{s:s,s:s,s:I,s:O?,s:O?,s:O?}", "user", user, "mailbox", mb, "uid",
                          (json_int_t)u.v[i], "message_id", json_object_get(email, "message_id"),
                          "subject", json_object_get(email, "subject"), "from",
                          json_is_object(fr) ? json_object_get(fr, "address") : fr);
            if (m == NULL || json_array_append_new(matches, m) != 0)
                st = RP_E_NOMEM;
        }
        json_decref(alert);
    }
    /* put back the unseen state of what was fetched (before any error
     * return: a partial search still restores what it touched) */
    buf_reset(&cmd);
    size_t nrestore = 0;
    rp_status st2 = buf_puts(&cmd, "UID STORE ");
    for (size_t i = 0; st2 == RP_OK && i < fetched.n; i++) {
        if (uids_has(&unseen, fetched.v[i])) {
            st2 = buf_printf(&cmd, "%s%" PRIu32, nrestore > 0 ? "," : "", fetched.v[i]);
            nrestore++;
        }
        if (cmd.len > 7000) /* keep commands short; the rest stays seen */
            break;
    }
    if (st2 == RP_OK && nrestore > 0 && buf_puts(&cmd, " -FLAGS.SILENT (\\Seen)") == RP_OK) {
        char keep[sizeof s->err];
        memcpy(keep, s->err, sizeof keep);
        (void)sess_do(s, mb, cmd.data, 0, NULL, RP_IMAP_RESPONSE_MAX);
        memcpy(s->err, keep, sizeof keep);
    }
    buf_fini(&cmd);
    free(u.v);
    free(unseen.v);
    free(fetched.v);
    return st;
}

/* Deletes (flag \Deleted, then UID EXPUNGE of those UIDs only, so that what
 * the user had flagged stays) or moves to quarantine the UIDs of matches
 * [from, to), all in folder mb. */
static rp_status delete_in_folder(struct find_job *j, struct sess *s, const char *mb,
                                  json_t *matches, size_t from, size_t to)
{
    struct buf cmd;
    buf_init(&cmd, RP_IMAP_RESPONSE_MAX);
    rp_status st = RP_OK;
    const char *q = j->in->quarantine;
    /* in chunks, so that no command line grows long */
    for (size_t i = from; st == RP_OK && i < to;) {
        buf_reset(&cmd);
        st = buf_puts(&cmd, q != NULL ? "UID MOVE " : "UID STORE ");
        struct buf set;
        buf_init(&set, 8192);
        size_t k = 0;
        for (; st == RP_OK && i < to && k < 500; i++, k++)
            st = buf_printf(
                &set, "%s%" PRIu32, k > 0 ? "," : "",
                (uint32_t)json_integer_value(json_object_get(json_array_get(matches, i), "uid")));
        if (st == RP_OK)
            st = buf_puts(&cmd, set.data);
        if (st == RP_OK && q != NULL)
            st = (buf_puts(&cmd, " ") == RP_OK && put_quoted(&cmd, q)) ? RP_OK : RP_E_LIMIT;
        else if (st == RP_OK)
            st = buf_puts(&cmd, " +FLAGS.SILENT (\\Deleted)");
        if (st == RP_OK)
            st = sess_do(s, mb, cmd.data, 0, NULL, RP_IMAP_RESPONSE_MAX);
        if (st == RP_OK && q == NULL) {
            buf_reset(&cmd);
            st = buf_printf(&cmd, "UID EXPUNGE %s", set.data);
            if (st == RP_OK)
                st = sess_do(s, mb, cmd.data, 0, NULL, RP_IMAP_RESPONSE_MAX);
        }
        buf_fini(&set);
    }
    buf_fini(&cmd);
    return st;
}

static void find_work(uv_work_t *w)
{
    struct find_job *j = w->data;
    const struct imap_inst *in = j->in;
    json_t *users = json_object_get(j->params, "users");
    if (users == NULL)
        users = in->users;
    json_t *matches = json_array();
    json_t *deleted = json_object();
    json_t *failures = json_array();
    bool truncated = false;
    size_t total = 0;
    j->st = RP_OK;
    if (matches == NULL || deleted == NULL || failures == NULL) {
        j->st = RP_E_NOMEM;
        snprintf(j->err, sizeof j->err, "out of memory");
        goto out;
    }
    size_t ui;
    json_t *uj;
    json_array_foreach(users, ui, uj)
    {
        if (atomic_load(&j->cancelled))
            break;
        const char *user = json_string_value(uj);
        char login[600];
        snprintf(login, sizeof login, "%s%s%s", user, in->separator, in->master_user);
        struct sess s;
        CURL *c = NULL;
        rp_status st = sess_open(&s, &c, in, login, in->master_password);
        s.cancel = &j->cancelled;
        json_t *folders = json_object_get(j->params, "mailboxes");
        if (folders == NULL)
            folders = in->mailboxes;
        json_t *listed = NULL;
        if (st == RP_OK && folders == NULL) {
            listed = json_array();
            st = sess_do(&s, NULL, "LIST \"\" \"*\"", 0, NULL, RP_IMAP_RESPONSE_MAX);
            if (st == RP_OK)
                st = parse_list(&s.out, listed);
            if (st == RP_E_LIMIT)
                snprintf(s.err, sizeof s.err, "more than %d folders", RP_IMAP_FOLDERS_MAX);
            folders = listed;
        }
        size_t user_n = 0;
        size_t fi;
        json_t *fj;
        json_array_foreach(folders, fi, fj)
        {
            if (st != RP_OK)
                break;
            const char *mb = json_string_value(fj);
            if (in->quarantine != NULL && strcmp(mb, in->quarantine) == 0)
                continue; /* what is quarantined stays there */
            size_t before = json_array_size(matches);
            st = find_in_folder(j, &s, user, mb, matches, &truncated);
            if (st == RP_OK && j->destroy && json_array_size(matches) > before) {
                if (in->quarantine != NULL && user_n == 0) {
                    struct buf cr;
                    buf_init(&cr, 1024);
                    if (buf_puts(&cr, "CREATE ") == RP_OK && put_quoted(&cr, in->quarantine))
                        (void)sess_do(&s, NULL, cr.data, 0, NULL, RP_IMAP_RESPONSE_MAX);
                    buf_fini(&cr);
                }
                st = delete_in_folder(j, &s, mb, matches, before, json_array_size(matches));
                if (st == RP_OK)
                    user_n += json_array_size(matches) - before;
            }
        }
        if (st != RP_OK) {
            json_array_append_new(failures, json_pack("{s:s,s:s}", "user", user, "error", s.err));
            log_warn("imap.user_failed", "instance=%s user=%s action=%s", in->name, user,
                     j->destroy ? "delete" : "search");
        }
        if (j->destroy) {
            json_object_set_new(deleted, user, json_integer((json_int_t)user_n));
            total += user_n;
        }
        json_decref(listed);
        sess_close(&s, false);
    }
    if (json_array_size(failures) > 0) {
        j->st = RP_E_IO;
        struct buf e;
        buf_init(&e, sizeof j->err - 1);
        size_t i;
        json_t *f;
        rp_status pst = RP_OK;
        if (j->destroy)
            pst = buf_printf(&e, "deleted %zu message(s), but ", total);
        json_array_foreach(failures, i, f)
        {
            if (pst != RP_OK || buf_printf(&e, "%s%s: %s", i > 0 ? "; " : "",
                                           json_string_value(json_object_get(f, "user")),
                                           json_string_value(json_object_get(f, "error"))) != RP_OK)
                break;
        }
        snprintf(j->err, sizeof j->err, "%s", e.data != NULL ? e.data : "failed");
        buf_fini(&e);
        goto out;
    }
    if (j->destroy)
        j->out = json_pack("{s:O,s:I,s:O}", "deleted", deleted, "total", (json_int_t)total,
                           "messages", matches);
    else
        j->out = json_pack("{s:O,s:I,s:I,s:b}", "matches", matches, "count",
                           (json_int_t)json_array_size(matches), "users",
                           (json_int_t)json_array_size(users), "truncated", truncated);
out:
    json_decref(matches);
    json_decref(deleted);
    json_decref(failures);
}

static void find_job_free(struct find_job *j)
{
    json_decref(j->params);
    json_decref(j->out);
    free(j);
}

static void find_after(uv_work_t *w, int status)
{
    struct find_job *j = w->data;
    struct action_call *call = j->call;
    if (call == NULL) {
        find_job_free(j);
        return;
    }
    call->impl = NULL;
    const char *name = j->destroy ? j->in->delete_name : j->in->search_name;
    if (status != 0) {
        action_fail(call, RP_E_IO, "%s: %s", name, uv_strerror(status));
    } else if (j->st != RP_OK || j->out == NULL) {
        action_fail(call, j->st != RP_OK ? j->st : RP_E_NOMEM, "%s: %s", name, j->err);
    } else {
        json_t *out = j->out;
        j->out = NULL;
        if (j->destroy)
            log_info("imap.deleted", "instance=%s total=%" JSON_INTEGER_FORMAT, j->in->name,
                     json_integer_value(json_object_get(out, "total")));
        action_succeed(call, out);
    }
    find_job_free(j);
}

static rp_status find_start(struct action_call *call, bool destroy)
{
    struct imap_inst *in = call->def->data;
    const char *name = destroy ? in->delete_name : in->search_name;
    struct rp_error err;
    if (call->loop == NULL) {
        action_fail(call, RP_E_INVALID, "%s: no event loop", name);
        return RP_OK;
    }
    if (in->master_user == NULL) {
        action_fail(call, RP_E_INVALID,
                    "%s: the connector has no master_user and master_password to reach other "
                    "users' mailboxes",
                    name);
        return RP_OK;
    }
    if (!json_is_object(call->params) || criteria_check(call->params, &err) != RP_OK) {
        if (!json_is_object(call->params))
            snprintf(err.msg, sizeof err.msg, "parameters: expected a mapping");
        action_fail(call, RP_E_INVALID, "%s: %s", name, err.msg);
        return RP_OK;
    }
    json_t *users = json_object_get(call->params, "users");
    if (users == NULL)
        users = in->users;
    if (json_array_size(users) == 0) {
        action_fail(call, RP_E_INVALID, "%s: no users to search (give users, or configure them)",
                    name);
        return RP_OK;
    }
    if (json_array_size(users) > RP_IMAP_USERS_MAX) {
        action_fail(call, RP_E_LIMIT, "%s: more than %d users", name, RP_IMAP_USERS_MAX);
        return RP_OK;
    }
    struct find_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return RP_E_NOMEM;
    j->params = json_deep_copy(call->params);
    if (j->params == NULL) {
        free(j);
        return RP_E_NOMEM;
    }
    j->in = in;
    j->call = call;
    j->destroy = destroy;
    atomic_init(&j->cancelled, false);
    j->work.data = j;
    if (uv_queue_work(call->loop, &j->work, find_work, find_after) != 0) {
        find_job_free(j);
        return RP_E_IO;
    }
    call->impl = j;
    return RP_OK;
}

static rp_status search_start(struct action_call *call)
{
    return find_start(call, false);
}

static rp_status delete_start(struct action_call *call)
{
    return find_start(call, true);
}

static void find_cancel(struct action_call *call)
{
    struct find_job *j = call->impl;
    if (j == NULL)
        return;
    call->impl = NULL;
    j->call = NULL;
    atomic_store(&j->cancelled, true);
    uv_cancel((uv_req_t *)&j->work);
}

/* --- configuration ---------------------------------------------------------------- */

static void imap_destroy(void *p)
{
    struct imap_inst *in = p;
    if (in == NULL)
        return;
    for (size_t i = 0; i < in->nsources; i++) {
        free(in->sources[i].label);
        free(in->sources[i].mailbox);
        free(in->sources[i].move_to);
        if (in->sources[i].curl != NULL)
            curl_easy_cleanup(in->sources[i].curl);
    }
    free(in->sources);
    free(in->name);
    free(in->url);
    free(in->user);
    connector_secret_free(in->password);
    free(in->master_user);
    connector_secret_free(in->master_password);
    free(in->separator);
    free(in->quarantine);
    free(in->link.ca_file);
    json_decref(in->users);
    json_decref(in->mailboxes);
    free(in);
    curl_global_cleanup();
}

/* connect_timeout, timeout and a source's every: at most a day. */
static const struct connector_duration_spec DURATION = {
    .min_ms = 1,
    .max_ms = 24LL * 3600 * 1000,
    .range = "between 1ms and 24h",
    .expected = "a duration (\"30s\")",
    .hide_reason = true,
};

static rp_status conf_names(const char *instance, json_t *conf, const char *key, json_t **out,
                            struct rp_error *err)
{
    json_t *v = json_object_get(conf, key);
    *out = NULL;
    if (v == NULL)
        return RP_OK;
    if (!json_is_array(v) || json_array_size(v) > RP_IMAP_USERS_MAX)
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: a list of at most %d names",
                            instance, key, RP_IMAP_USERS_MAX);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (s == NULL || s[0] == '\0' || strpbrk(s, "\r\n*\"\\") != NULL || strlen(s) > 255)
            return rp_error_set(err, RP_E_INVALID, "connectors.%s.%s[%zu]: not a valid name",
                                instance, key, i);
    }
    *out = json_deep_copy(v);
    return *out != NULL ? RP_OK : rp_error_set(err, RP_E_NOMEM, "out of memory");
}

static const char *const CONF_KEYS[] = {"type",
                                        "url",
                                        "user",
                                        "password",
                                        "master_user",
                                        "master_password",
                                        "master_separator",
                                        "users",
                                        "mailboxes",
                                        "quarantine",
                                        "starttls",
                                        "tls_verify",
                                        "ca_file",
                                        "timeout",
                                        "connect_timeout",
                                        "sources",
                                        NULL};

static rp_status sources_load(struct imap_inst *in, json_t *conf, struct rp_error *err)
{
    json_t *srcs = json_object_get(conf, "sources");
    if (srcs == NULL)
        return RP_OK;
    if (!json_is_object(srcs) || json_object_size(srcs) > 16)
        return rp_error_set(err, RP_E_INVALID,
                            "connectors.%s.sources: a mapping of at most 16 named sources",
                            in->name);
    if (in->user == NULL || in->password == NULL)
        return rp_error_set(err, RP_E_INVALID,
                            "connectors.%s.sources: need user and password (the mailbox's login)",
                            in->name);
    in->sources = calloc(json_object_size(srcs) + 1, sizeof *in->sources);
    if (in->sources == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    const char *name;
    json_t *sc;
    json_object_foreach(srcs, name, sc)
    {
        char where[256];
        snprintf(where, sizeof where, "connectors.%s.sources.%s", in->name, name);
        if (!json_is_object(sc))
            return rp_error_set(err, RP_E_INVALID, "%s: a mapping {mailbox, every, move_to}",
                                where);
        const char *k;
        json_t *v;
        json_object_foreach(sc, k, v)
        {
            if (strcmp(k, "mailbox") != 0 && strcmp(k, "every") != 0 && strcmp(k, "move_to") != 0)
                return rp_error_set(err, RP_E_INVALID,
                                    "%s.%s: unknown key (known: mailbox, every, move_to)", where,
                                    k);
            if (strcmp(k, "every") != 0 && (!json_is_string(v) || json_string_length(v) == 0 ||
                                            strpbrk(json_string_value(v), "\r\n\"\\") != NULL))
                return rp_error_set(err, RP_E_INVALID, "%s.%s: a folder name", where, k);
        }
        struct imap_source *s = &in->sources[in->nsources++];
        s->inst = in;
        const char *mb = json_string_value(json_object_get(sc, "mailbox"));
        const char *mv = json_string_value(json_object_get(sc, "move_to"));
        s->mailbox = strdup(mb != NULL ? mb : "INBOX");
        s->move_to = mv != NULL ? strdup(mv) : NULL;
        size_t nl = strlen(in->name) + strlen(name) + 2;
        s->label = malloc(nl);
        if (s->mailbox == NULL || (mv != NULL && s->move_to == NULL) || s->label == NULL)
            return rp_error_set(err, RP_E_NOMEM, "out of memory");
        snprintf(s->label, nl, "%s.%s", in->name, name);
        char path[300]; /* INSTANCE.sources.NAME, for connectors.PATH.every */
        snprintf(path, sizeof path, "%s.sources.%s", in->name, name);
        rp_status st =
            connector_duration(path, sc, "every", 60 * 1000, &DURATION, &s->every_ms, err);
        if (st != RP_OK)
            return st;
        if (s->move_to != NULL && strcmp(s->move_to, s->mailbox) == 0)
            return rp_error_set(err, RP_E_INVALID, "%s.move_to: the polled mailbox itself", where);
    }
    return RP_OK;
}

static rp_status imap_create(const char *instance, json_t *conf, const struct connector_env *env,
                             void **out, struct rp_error *err)
{
    *out = NULL;
    rp_status kst = connector_keys_check(instance, conf, CONF_KEYS, err);
    if (kst != RP_OK)
        return kst;
    struct imap_inst *in = calloc(1, sizeof *in);
    if (in == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rp_status st = RP_OK;
    in->name = strdup(instance);
    if (in->name == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    const struct connector_string_spec strings[] = {
        {"url", true, &in->url},
        {"user", false, &in->user},
        {"password", false, &in->password},
        {"master_user", false, &in->master_user},
        {"master_password", false, &in->master_password},
        {"master_separator", false, &in->separator},
        {"quarantine", false, &in->quarantine},
        {"ca_file", false, &in->link.ca_file},
    };
    st = connector_strings(instance, conf, env, strings, sizeof strings / sizeof *strings, err);
    if (st == RP_OK)
        st = conf_names(instance, conf, "users", &in->users, err);
    if (st == RP_OK)
        st = conf_names(instance, conf, "mailboxes", &in->mailboxes, err);
    if (st != RP_OK)
        goto fail;
    if (in->separator == NULL && (in->separator = strdup("*")) == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    st = connector_mail_link_read(instance, conf, &DURATION, &in->link, err);
    if (st != RP_OK)
        goto fail;
    bool imaps = strncmp(in->url, "imaps://", 8) == 0;
    if (!imaps && strncmp(in->url, "imap://", 7) != 0) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.url: imap://HOST[:PORT] or imaps://",
                          instance);
        goto fail;
    }
    char *host = strstr(in->url, "://") + 3;
    size_t nhost = strcspn(host, "/?#;");
    if (memchr(host, '@', nhost) != NULL || nhost == 0 || strcspn(host, "?#;") < strlen(host)) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.url: imap://HOST[:PORT] only (no user, password, "
                          "mailbox or options: they have their own keys)",
                          instance);
        goto fail;
    }
    host[nhost] = '\0'; /* drop a trailing path */
    if (in->link.starttls && imaps) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.starttls: imaps:// is TLS from the start", instance);
        goto fail;
    }
    if ((in->user == NULL) != (in->password == NULL) ||
        (in->master_user == NULL) != (in->master_password == NULL)) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s: give user with password, and master_user with "
                          "master_password",
                          instance);
        goto fail;
    }
    st = sources_load(in, conf, err);
    if (st != RP_OK)
        goto fail;
    if (!in->link.verify)
        log_warn("imap.config",
                 "instance=%s tls_verify=false: the server's certificate is not "
                 "checked",
                 instance);
    snprintf(in->search_name, sizeof in->search_name, "%s.search", instance);
    snprintf(in->delete_name, sizeof in->delete_name, "%s.delete", instance);
    in->search_def = (struct action_def){
        .name = in->search_name,
        .effect = ACTION_EFFECT_READ,
        .honours_keys = true,
        .help = "find a mail in every mailbox: message_id, from, subject, attachment_hash, users",
        .start = search_start,
        .cancel = find_cancel,
        .data = in,
    };
    in->delete_def = (struct action_def){
        .name = in->delete_name,
        .effect = ACTION_EFFECT_DESTROY,
        /* deleting again finds nothing more: a repeat is harmless */
        .honours_keys = true,
        .help = "delete (or quarantine) a mail in every mailbox: same criteria as search",
        .start = delete_start,
        .cancel = find_cancel,
        .data = in,
    };
    /* last, so that a failure above leaves nothing registered (names checked
     * first: only a full registry can stop the second, and the caller exits) */
    if (action_find(in->search_name) != NULL || action_find(in->delete_name) != NULL) {
        st = rp_error_set(err, RP_E_EXISTS, "connectors.%s: its action names are taken", instance);
        goto fail;
    }
    st = action_register(&in->search_def);
    if (st == RP_OK)
        st = action_register(&in->delete_def);
    if (st != RP_OK) {
        rp_error_set(err, st, "connectors.%s: cannot register its actions (%s)", instance,
                     st == RP_E_EXISTS ? "a name is taken" : "too many actions");
        goto fail;
    }
    *out = in;
    return RP_OK;
fail:
    imap_destroy(in);
    return st;
}

const struct connector_type connector_imap = {.name = "imap",
                                              .create = imap_create,
                                              .start_sources = imap_start_sources,
                                              .stop = imap_stop,
                                              .destroy = imap_destroy};
