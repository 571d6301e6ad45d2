/*
 * smtp.c: the `smtp` connector module: sends mail (notices to analysts,
 * instructions to users) through an SMTP server with libcurl.
 *
 *   connectors:
 *     mail:
 *       type: smtp
 *       url: smtp://127.0.0.1:587          # or smtps://host:465
 *       from: "SOC <soc@example.org>"
 *       starttls: true                     # require STARTTLS (smtp:// only)
 *       user: soc                          # optional; both or neither
 *       password: { secret: smtp_password }
 *       tls_verify: true                   # false only for test servers
 *       ca_file: /etc/ssl/certs/ca.pem     # optional
 *       connect_timeout: 10s
 *       timeout: 60s
 *
 * offers one action, INSTANCE.send (effect notify): params {to (an address
 * or a list), cc, subject, text and/or html, reply_to}; output {message_id,
 * accepted: [addresses]}. The message is built on the loop thread (smtp.h);
 * libcurl's easy interface blocks, so the transfer runs on libuv's thread
 * pool (uv_queue_work on the call's loop) and the call completes on the loop
 * thread in the after-work callback. cancel() detaches the call: a late
 * completion is dropped, and curl's own timeouts end the transfer. The
 * server accepts every recipient or the call fails (curl stops at the first
 * refused RCPT), so `accepted` is the whole list.
 *
 * Owns: the instance (its configuration, the password wiped at destroy) and
 * each job until its after-work callback. Fails: bad configuration at load
 * ("connectors.NAME.KEY: ..."); bad parameters, refused logins, refused
 * connections and timeouts as a failed step with curl's reason. The password
 * is never logged nor put in an output or error message.
 */
#include "connect/smtp.h"

#include "connect/connect_internal.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "core/ulid.h"
#include "engine/action.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

/* --- message building (smtp.h) ----------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static rp_status b64_append(struct buf *b, const unsigned char *p, size_t n)
{
    rp_status st = RP_OK;
    for (size_t i = 0; i < n && st == RP_OK; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {B64[(v >> 18) & 63], B64[(v >> 12) & 63], i + 1 < n ? B64[(v >> 6) & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        st = buf_append(b, q, 4);
    }
    return st;
}

/* True when s holds a byte that would end or split a header line. */
static bool has_line_break(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return true;
    return false;
}

static bool plain_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c > 0x7e)
            return false;
    }
    return true;
}

/* RFC 2047 "B" encoded words for s, each at most 75 characters (45 bytes of
 * text, cut between UTF-8 characters), folded onto continuation lines. */
static rp_status encode_words(struct buf *b, const char *s, size_t n)
{
    rp_status st = RP_OK;
    size_t i = 0;
    bool first = true;
    while (i < n && st == RP_OK) {
        size_t take = n - i < 45 ? n - i : 45;
        /* never split a multi-byte character: back up to a lead byte */
        while (take > 0 && i + take < n && ((unsigned char)s[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = n - i < 45 ? n - i : 45;
        if (!first)
            st = buf_puts(b, "\r\n ");
        if (st == RP_OK)
            st = buf_puts(b, "=?UTF-8?B?");
        if (st == RP_OK)
            st = b64_append(b, (const unsigned char *)s + i, take);
        if (st == RP_OK)
            st = buf_puts(b, "?=");
        i += take;
        first = false;
    }
    return st;
}

/* An unstructured header value (Subject): as is when it is short plain
 * ASCII, else encoded words. */
static rp_status put_text(struct buf *b, const char *s, size_t n)
{
    if (plain_ascii(s, n))
        return buf_append(b, s, n);
    return encode_words(b, s, n);
}

/* RFC 5322 atext and '.', the characters of an unquoted local part. */
static bool local_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

static bool domain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

/* True for local@domain with an unquoted ASCII local part and a host name. */
static bool addr_spec_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at == NULL || at == s || n > 254)
        return false;
    size_t nl = (size_t)(at - s), nd = n - nl - 1;
    if (nd == 0 || nl > 64 || s[0] == '.' || s[nl - 1] == '.' || at[1] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < nl; i++)
        if (!local_char((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] == '.'))
            return false;
    for (size_t i = 0; i < nd; i++)
        if (!domain_char((unsigned char)at[1 + i]) || (at[1 + i] == '.' && at[2 + i] == '.'))
            return false;
    return true;
}

/* One parsed address: "name <addr>" or "addr". Pointers into the caller's
 * string. */
struct addr {
    const char *name;
    size_t nname;
    const char *spec;
    size_t nspec;
};

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static rp_status addr_parse(const char *what, const char *s, size_t n, struct addr *a,
                            struct rp_error *err)
{
    *a = (struct addr){0};
    if (has_line_break(s, n))
        return rp_error_set(err, RP_E_INVALID,
                            "%s: a line break in an address (header injection refused)", what);
    if (n > RP_SMTP_HEADER_MAX)
        return rp_error_set(err, RP_E_LIMIT, "%s: longer than %d bytes", what, RP_SMTP_HEADER_MAX);
    trim(&s, &n);
    const char *lt = memchr(s, '<', n);
    if (lt != NULL) {
        if (n == 0 || s[n - 1] != '>')
            return rp_error_set(err, RP_E_INVALID, "%s: expected \"Name <user@domain>\"", what);
        a->spec = lt + 1;
        a->nspec = (size_t)(s + n - 1 - a->spec);
        a->name = s;
        a->nname = (size_t)(lt - s);
        trim(&a->name, &a->nname);
        /* a quoted display name: the quotes are ours to add */
        if (a->nname >= 2 && a->name[0] == '"' && a->name[a->nname - 1] == '"') {
            a->name++;
            a->nname -= 2;
        }
    } else {
        a->spec = s;
        a->nspec = n;
    }
    if (!addr_spec_ok(a->spec, a->nspec))
        return rp_error_set(err, RP_E_INVALID, "%s: not a mail address (user@domain): %.*s", what,
                            (int)(a->nspec > 80 ? 80 : a->nspec), a->spec);
    return RP_OK;
}

/* The address as a header value: the display name quoted (plain ASCII) or
 * encoded (anything else), then <spec>. */
static rp_status addr_put(struct buf *b, const struct addr *a)
{
    rp_status st = RP_OK;
    if (a->nname > 0) {
        if (plain_ascii(a->name, a->nname)) {
            st = buf_puts(b, "\"");
            for (size_t i = 0; i < a->nname && st == RP_OK; i++) {
                if (a->name[i] == '"' || a->name[i] == '\\')
                    st = buf_puts(b, "\\");
                if (st == RP_OK)
                    st = buf_append(b, &a->name[i], 1);
            }
            if (st == RP_OK)
                st = buf_puts(b, "\" ");
        } else {
            st = encode_words(b, a->name, a->nname);
            if (st == RP_OK)
                st = buf_puts(b, " ");
        }
    }
    if (st == RP_OK)
        st = buf_puts(b, "<");
    if (st == RP_OK)
        st = buf_append(b, a->spec, a->nspec);
    if (st == RP_OK)
        st = buf_puts(b, ">");
    return st;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* An address-list header (To, Cc): one address per folded line; each spec is
 * added to m->rcpts. */
static rp_status put_list(struct buf *b, const char *header, json_t *v, bool required,
                          struct smtp_message *m, struct rp_error *err)
{
    const char *key = header[0] == 'T' ? "to" : "cc";
    if (v == NULL || json_is_null(v)) {
        if (required)
            return rp_error_set(err, RP_E_INVALID, "%s: required (an address or a list)", key);
        return RP_OK;
    }
    json_t *one = NULL;
    if (json_is_string(v)) {
        one = json_array();
        if (one == NULL || json_array_append(one, v) != 0) {
            json_decref(one);
            return rp_error_set(err, RP_E_NOMEM, "out of memory");
        }
        v = one;
    }
    rp_status st = RP_OK;
    if (!json_is_array(v) || (required && json_array_size(v) == 0)) {
        st =
            rp_error_set(err, RP_E_INVALID, "%s: an address or a non-empty list of addresses", key);
        goto out;
    }
    if (json_array_size(v) == 0)
        goto out;
    if (m->nrcpts + json_array_size(v) > RP_SMTP_RCPTS_MAX) {
        st = rp_error_set(err, RP_E_LIMIT, "%s: more than %d recipients in all", key,
                          RP_SMTP_RCPTS_MAX);
        goto out;
    }
    st = buf_printf(b, "%s: ", header);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (st != RP_OK)
            break;
        char what[32];
        snprintf(what, sizeof what, "%s[%zu]", key, i);
        if (!json_is_string(e)) {
            st = rp_error_set(err, RP_E_INVALID, "%s: expected a string", what);
            break;
        }
        struct addr a;
        st = addr_parse(what, json_string_value(e), json_string_length(e), &a, err);
        if (st != RP_OK)
            break;
        if (i > 0)
            st = buf_puts(b, ",\r\n ");
        if (st == RP_OK)
            st = addr_put(b, &a);
        char *spec = st == RP_OK ? dup_n(a.spec, a.nspec) : NULL;
        if (st == RP_OK && spec == NULL)
            st = RP_E_NOMEM;
        if (st == RP_OK)
            m->rcpts[m->nrcpts++] = spec;
    }
    if (st == RP_OK)
        st = buf_puts(b, "\r\n");
out:
    json_decref(one);
    return st;
}

/* Quoted-printable (RFC 2045 §6.7) of UTF-8 text, with its line ends made
 * CRLF: lines of at most 76 characters, trailing blanks encoded, and a '.' or
 * "From " at a line start encoded so that no relay or mbox can alter it. */
static rp_status qp_append(struct buf *b, const char *s, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    rp_status st = RP_OK;
    size_t col = 0;
    for (size_t i = 0; i < n && st == RP_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
                i++;
            st = buf_puts(b, "\r\n");
            col = 0;
            continue;
        }
        bool at_eol = i + 1 == n || s[i + 1] == '\r' || s[i + 1] == '\n';
        bool lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_eol);
        if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 && memcmp(s + i, "From ", 5) == 0)))
            lit = false;
        size_t w = lit ? 1 : 3;
        /* a soft break leaves room for the '=' on a 76-character line */
        if (col + w > 75) {
            st = buf_puts(b, "=\r\n");
            col = 0;
        }
        if (st != RP_OK)
            break;
        if (lit) {
            st = buf_append(b, &s[i], 1);
        } else {
            char e[3] = {'=', HEX[c >> 4], HEX[c & 15]};
            st = buf_append(b, e, 3);
        }
        col += w;
    }
    return st;
}

/* Base64 in lines of 76 characters. */
static rp_status b64_lines(struct buf *b, const char *s, size_t n)
{
    rp_status st = RP_OK;
    for (size_t i = 0; i < n && st == RP_OK; i += 57) {
        st = b64_append(b, (const unsigned char *)s + i, n - i < 57 ? n - i : 57);
        if (st == RP_OK)
            st = buf_puts(b, "\r\n");
    }
    return st;
}

/* One body part's headers and encoded text: quoted-printable unless more than
 * a third of the bytes need escaping (non-Latin scripts), then base64. */
static rp_status put_body(struct buf *b, const char *type, const char *s, size_t n)
{
    size_t escaped = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c == '=' || (c < 0x20 && c != '\r' && c != '\n' && c != '\t'))
            escaped++;
    }
    bool base64 = escaped * 3 > n;
    rp_status st = buf_printf(b,
                              "Content-Type: text/%s; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: %s\r\n\r\n",
                              type, base64 ? "base64" : "quoted-printable");
    if (st == RP_OK)
        st = base64 ? b64_lines(b, s, n) : qp_append(b, s, n);
    /* a part ends with a line end before the next boundary */
    if (st == RP_OK && (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0))
        st = buf_puts(b, "\r\n");
    return st;
}

static rp_status date_put(struct buf *b, int64_t now_ms)
{
    static const char *const DAYS[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return RP_E_INVALID;
    return buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", DAYS[tm.tm_wday],
                      tm.tm_mday, MONTHS[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
}

static const char *const PARAMS[] = {"to", "cc", "subject", "text", "html", "reply_to"};

rp_status smtp_message_build(const char *from, json_t *params, int64_t now_ms,
                             struct smtp_message *out, struct rp_error *err)
{
    *out = (struct smtp_message){0};
    struct buf b;
    buf_init(&b, RP_SMTP_MESSAGE_MAX);
    rp_status st = RP_OK;
    if (!json_is_object(params)) {
        st = rp_error_set(err, RP_E_INVALID, "parameters: expected a mapping");
        goto fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++)
            known |= strcmp(k, PARAMS[i]) == 0;
        if (!known) {
            st = rp_error_set(err, RP_E_INVALID,
                              "%s: unknown parameter (known: to, cc, subject, text, html, "
                              "reply_to)",
                              k);
            goto fail;
        }
    }
    json_t *subject = json_object_get(params, "subject");
    json_t *text = json_object_get(params, "text");
    json_t *html = json_object_get(params, "html");
    json_t *reply_to = json_object_get(params, "reply_to");
    if (!json_is_string(subject)) {
        st = rp_error_set(err, RP_E_INVALID, "subject: required, a string");
        goto fail;
    }
    if ((text != NULL && !json_is_string(text)) || (html != NULL && !json_is_string(html)) ||
        (text == NULL && html == NULL)) {
        st = rp_error_set(err, RP_E_INVALID, "text, html: give one or both, as strings");
        goto fail;
    }
    if (reply_to != NULL && !json_is_string(reply_to)) {
        st = rp_error_set(err, RP_E_INVALID, "reply_to: expected a string");
        goto fail;
    }
    const char *subj = json_string_value(subject);
    size_t nsubj = json_string_length(subject);
    if (has_line_break(subj, nsubj)) {
        st = rp_error_set(err, RP_E_INVALID,
                          "subject: a line break in a header value (header injection refused)");
        goto fail;
    }
    if (nsubj > RP_SMTP_HEADER_MAX) {
        st = rp_error_set(err, RP_E_LIMIT, "subject: longer than %d bytes", RP_SMTP_HEADER_MAX);
        goto fail;
    }
    struct addr fa;
    st = addr_parse("from", from, strlen(from), &fa, err);
    if (st != RP_OK)
        goto fail;
    out->rcpts = calloc(RP_SMTP_RCPTS_MAX, sizeof *out->rcpts);
    out->from_addr = dup_n(fa.spec, fa.nspec);
    char id[ULID_LEN + 1];
    if (out->rcpts == NULL || out->from_addr == NULL || ulid_new(id) != RP_OK) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    const char *domain = strchr(out->from_addr, '@') + 1;
    size_t nid = strlen(id) + strlen(domain) + 16;
    out->message_id = malloc(nid);
    if (out->message_id == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(out->message_id, nid, "<%s.riposte@%s>", id, domain);

    st = date_put(&b, now_ms);
    if (st == RP_OK)
        st = buf_puts(&b, "From: ");
    if (st == RP_OK)
        st = addr_put(&b, &fa);
    if (st == RP_OK)
        st = buf_puts(&b, "\r\n");
    if (st == RP_OK)
        st = put_list(&b, "To", json_object_get(params, "to"), true, out, err);
    if (st == RP_OK)
        st = put_list(&b, "Cc", json_object_get(params, "cc"), false, out, err);
    if (st == RP_OK && reply_to != NULL) {
        struct addr ra;
        st = addr_parse("reply_to", json_string_value(reply_to), json_string_length(reply_to), &ra,
                        err);
        if (st == RP_OK)
            st = buf_puts(&b, "Reply-To: ");
        if (st == RP_OK)
            st = addr_put(&b, &ra);
        if (st == RP_OK)
            st = buf_puts(&b, "\r\n");
    }
    if (st == RP_OK)
        st = buf_puts(&b, "Subject: ");
    if (st == RP_OK)
        st = put_text(&b, subj, nsubj);
    if (st == RP_OK)
        st = buf_printf(&b, "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n", out->message_id);
    if (st != RP_OK)
        goto fail;

    if (text != NULL && html != NULL) {
        unsigned char rnd[12];
        char boundary[64];
        if (rand_bytes(rnd, sizeof rnd) != RP_OK) {
            st = rp_error_set(err, RP_E_IO, "no random bytes for a MIME boundary");
            goto fail;
        }
        /* "=_" never occurs in quoted-printable nor in base64 text */
        int nb = snprintf(boundary, sizeof boundary, "=_riposte_");
        for (size_t i = 0; i < sizeof rnd; i++)
            nb += snprintf(boundary + nb, sizeof boundary - (size_t)nb, "%02x", rnd[i]);
        st = buf_printf(&b,
                        "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
                        "This is a multi-part message in MIME format.\r\n\r\n--%s\r\n",
                        boundary, boundary);
        if (st == RP_OK)
            st = put_body(&b, "plain", json_string_value(text), json_string_length(text));
        if (st == RP_OK)
            st = buf_printf(&b, "\r\n--%s\r\n", boundary);
        if (st == RP_OK)
            st = put_body(&b, "html", json_string_value(html), json_string_length(html));
        if (st == RP_OK)
            st = buf_printf(&b, "\r\n--%s--\r\n", boundary);
    } else if (text != NULL) {
        st = put_body(&b, "plain", json_string_value(text), json_string_length(text));
    } else {
        st = put_body(&b, "html", json_string_value(html), json_string_length(html));
    }
    if (st != RP_OK) {
        if (st == RP_E_LIMIT)
            rp_error_set(err, st, "the message is larger than %u bytes", RP_SMTP_MESSAGE_MAX);
        else if (st == RP_E_NOMEM)
            rp_error_set(err, st, "out of memory");
        goto fail;
    }
    out->len = b.len;
    out->data = buf_steal(&b);
    return RP_OK;
fail:
    buf_fini(&b);
    smtp_message_fini(out);
    return st;
}

void smtp_message_fini(struct smtp_message *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nrcpts; i++)
        free(m->rcpts[i]);
    free(m->rcpts);
    free(m->data);
    free(m->message_id);
    free(m->from_addr);
    *m = (struct smtp_message){0};
}

/* --- the connector ------------------------------------------------------------ */

struct smtp_inst {
    char *name;
    char *url;
    char *from;
    char *user;
    char *password; /* a secret: wiped at destroy, never logged */
    struct connector_mail_link link;
    char action_name[96];
    struct action_def def;
};

/* One send in flight. call is NULL once cancelled: the after-work callback
 * then only frees. */
struct smtp_job {
    uv_work_t work;
    struct smtp_inst *inst;
    struct action_call *call;
    struct smtp_message msg;
    size_t sent; /* bytes of msg.data handed to curl */
    CURLcode rc;
    long response;
    char errbuf[CURL_ERROR_SIZE];
};

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct smtp_job *j = ud;
    size_t room = size * nmemb, left = j->msg.len - j->sent;
    size_t n = left < room ? left : room;
    memcpy(ptr, j->msg.data + j->sent, n);
    j->sent += n;
    return n;
}

/* Thread pool: the blocking transfer. Touches only the job and the
 * read-only instance. */
static void send_work(uv_work_t *w)
{
    struct smtp_job *j = w->data;
    const struct smtp_inst *in = j->inst;
    struct curl_slist *rcpts = NULL;
    CURL *c = curl_easy_init();
    char from[300];
    if (c == NULL) {
        j->rc = CURLE_OUT_OF_MEMORY;
        return;
    }
    snprintf(from, sizeof from, "<%s>", j->msg.from_addr);
    for (size_t i = 0; i < j->msg.nrcpts; i++) {
        char r[300];
        snprintf(r, sizeof r, "<%s>", j->msg.rcpts[i]);
        struct curl_slist *n = curl_slist_append(rcpts, r);
        if (n == NULL) {
            j->rc = CURLE_OUT_OF_MEMORY;
            goto out;
        }
        rcpts = n;
    }
    curl_easy_setopt(c, CURLOPT_URL, in->url);
    connector_mail_link_apply(&in->link, c, "smtp,smtps", j->errbuf);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->msg.len);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, j);
    if (in->user != NULL) {
        curl_easy_setopt(c, CURLOPT_USERNAME, in->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, in->password);
    }
    j->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &j->response);
out:
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(c);
}

static void job_free(struct smtp_job *j)
{
    smtp_message_fini(&j->msg);
    free(j);
}

/* Loop thread: completes the call unless it was cancelled. */
static void send_after(uv_work_t *w, int status)
{
    struct smtp_job *j = w->data;
    struct action_call *call = j->call;
    if (call == NULL) {
        job_free(j);
        return;
    }
    call->impl = NULL;
    if (status != 0) {
        action_fail(call, RP_E_IO, "%s: not sent: %s", j->inst->action_name, uv_strerror(status));
    } else if (j->rc != CURLE_OK) {
        const char *detail = j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(j->rc);
        char resp[32] = "";
        if (j->response != 0)
            snprintf(resp, sizeof resp, " (last reply %ld)", j->response);
        log_warn("smtp.failed", "instance=%s curl=%d reply=%ld", j->inst->name, (int)j->rc,
                 j->response);
        action_fail(call, j->rc == CURLE_LOGIN_DENIED ? RP_E_DENIED : RP_E_IO,
                    "%s: sending through %s failed: %s%s", j->inst->action_name, j->inst->url,
                    detail, resp);
    } else {
        json_t *acc = json_array();
        for (size_t i = 0; acc != NULL && i < j->msg.nrcpts; i++)
            json_array_append_new(acc, json_string(j->msg.rcpts[i]));
        char q[300];
        log_info("smtp.sent", "instance=%s message_id=%s rcpts=%zu bytes=%zu", j->inst->name,
                 log_quote(q, sizeof q, j->msg.message_id), j->msg.nrcpts, j->msg.len);
        action_succeed(call, json_pack("{s:s,s:o}", "message_id", j->msg.message_id, "accepted",
                                       acc != NULL ? acc : json_array()));
    }
    job_free(j);
}

static rp_status send_start(struct action_call *call)
{
    struct smtp_inst *in = call->def->data;
    if (call->loop == NULL) {
        action_fail(call, RP_E_INVALID, "%s: no event loop", in->action_name);
        return RP_OK;
    }
    struct smtp_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return RP_E_NOMEM;
    struct rp_error err;
    if (smtp_message_build(in->from, call->params, time_now_ms(), &j->msg, &err) != RP_OK) {
        free(j);
        action_fail(call, RP_E_INVALID, "%s: %s", in->action_name, err.msg);
        return RP_OK;
    }
    j->inst = in;
    j->call = call;
    j->work.data = j;
    if (uv_queue_work(call->loop, &j->work, send_work, send_after) != 0) {
        job_free(j);
        return RP_E_IO;
    }
    call->impl = j;
    return RP_OK;
}

static void send_cancel(struct action_call *call)
{
    struct smtp_job *j = call->impl;
    if (j == NULL)
        return;
    call->impl = NULL;
    j->call = NULL;
    /* not started yet: drop it (the after-work callback still frees it) */
    uv_cancel((uv_req_t *)&j->work);
}

static void smtp_destroy(void *p)
{
    struct smtp_inst *in = p;
    if (in == NULL)
        return;
    free(in->name);
    free(in->url);
    free(in->from);
    free(in->user);
    connector_secret_free(in->password);
    free(in->link.ca_file);
    free(in);
    curl_global_cleanup();
}

static const char *const CONF_KEYS[] = {
    "type",     "url",     "from",       "user",    "password",
    "starttls", "ca_file", "tls_verify", "timeout", "connect_timeout",
    NULL};

/* connect_timeout and timeout: at most an hour (a mail is sent or not by then). */
static const struct connector_duration_spec TIMEOUT = {
    .min_ms = 1,
    .max_ms = 3600 * 1000,
    .range = "between 1ms and 1h",
    .expected = "a duration (\"30s\")",
    .hide_reason = true,
};

static rp_status smtp_create(const char *instance, json_t *conf, const struct connector_env *env,
                             void **out, struct rp_error *err)
{
    *out = NULL;
    rp_status kst = connector_keys_check(instance, conf, CONF_KEYS, err);
    if (kst != RP_OK)
        return kst;
    struct smtp_inst *in = calloc(1, sizeof *in);
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
        {"from", true, &in->from},
        {"user", false, &in->user},
        {"password", false, &in->password},
        {"ca_file", false, &in->link.ca_file},
    };
    st = connector_strings(instance, conf, env, strings, sizeof strings / sizeof *strings, err);
    if (st == RP_OK)
        st = connector_mail_link_read(instance, conf, &TIMEOUT, &in->link, err);
    if (st != RP_OK)
        goto fail;
    bool smtps = strncmp(in->url, "smtps://", 8) == 0;
    if (!smtps && strncmp(in->url, "smtp://", 7) != 0) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.url: smtp://HOST[:PORT] or smtps://",
                          instance);
        goto fail;
    }
    const char *host = strstr(in->url, "://") + 3;
    size_t nhost = strcspn(host, "/?#");
    if (memchr(host, '@', nhost) != NULL || nhost == 0) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.url: a host without user or password (use the user "
                          "and password keys)",
                          instance);
        goto fail;
    }
    if (in->link.starttls && smtps) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.starttls: smtps:// is TLS from the start; starttls is "
                          "for smtp://",
                          instance);
        goto fail;
    }
    if ((in->user == NULL) != (in->password == NULL)) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s: give both user and password, or neither", instance);
        goto fail;
    }
    struct addr a;
    struct rp_error e2;
    if (addr_parse("from", in->from, strlen(in->from), &a, &e2) != RP_OK) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.%s", instance, e2.msg);
        goto fail;
    }
    if (in->user != NULL && !smtps && !in->link.starttls)
        log_warn("smtp.config",
                 "instance=%s the password goes in clear text: set starttls: true "
                 "or use smtps://",
                 instance);
    if (!in->link.verify)
        log_warn("smtp.config",
                 "instance=%s tls_verify=false: the server's certificate is not "
                 "checked",
                 instance);
    snprintf(in->action_name, sizeof in->action_name, "%s.send", instance);
    in->def = (struct action_def){
        .name = in->action_name,
        .effect = ACTION_EFFECT_NOTIFY,
        .honours_keys = false,
        .help = "send a mail: to, cc, subject, text and/or html, reply_to",
        .start = send_start,
        .cancel = send_cancel,
        .data = in,
    };
    /* last, so that a failure above leaves nothing registered */
    st = action_register(&in->def);
    if (st != RP_OK) {
        rp_error_set(err, st, "connectors.%s: cannot register %s (%s)", instance, in->action_name,
                     st == RP_E_EXISTS ? "the name is taken" : "too many actions");
        goto fail;
    }
    *out = in;
    return RP_OK;
fail:
    smtp_destroy(in);
    return st;
}

const struct connector_type connector_smtp = {
    .name = "smtp", .create = smtp_create, .destroy = smtp_destroy};
