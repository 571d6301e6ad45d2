/*
 * observable.c: observable types and their canonical forms. Pure functions over
 * caller-provided buffers; any thread.
 */
#include "model/observable.h"

#include "core/limits.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const TYPE_NAMES[OBS_TYPE_COUNT] = {
    "ipv4", "ipv6",   "domain",   "url",      "email", "md5",
    "sha1", "sha256", "filename", "hostname", "user",
};

const char *observable_type_name(enum obs_type t)
{
    return (t >= 0 && t < OBS_TYPE_COUNT) ? TYPE_NAMES[t] : "unknown";
}

rp_status observable_type_parse(const char *name, enum obs_type *out)
{
    for (int i = 0; i < OBS_TYPE_COUNT; i++) {
        if (strcmp(name, TYPE_NAMES[i]) == 0) {
            *out = (enum obs_type)i;
            return RP_OK;
        }
    }
    return RP_E_INVALID;
}

/* Defang spellings and what they stand for; longest first where one is a prefix
 * of another. Matched case-insensitively. */
static const struct {
    const char *from;
    const char *to;
} DEFANGS[] = {
    {"hxxps", "https"}, {"hxxp", "http"}, {"[://]", "://"}, {"[.]", "."}, {"(.)", "."},
    {"{.}", "."},       {"[dot]", "."},   {"(dot)", "."},   {"[@]", "@"}, {"(@)", "@"},
    {"[at]", "@"},      {"[:]", ":"},     {"[/]", "/"},
};

/* After each byte appended, the tail of the output is checked against the
 * defangs and reduced while one matches, so nested defangs ("[[.]]") resolve in
 * one linear pass and the result holds no defang: refanging is idempotent. */
static rp_status reduce_tail(struct buf *out)
{
    bool again = true;
    while (again) {
        again = false;
        for (size_t k = 0; k < sizeof(DEFANGS) / sizeof(DEFANGS[0]); k++) {
            size_t fl = strlen(DEFANGS[k].from);
            if (fl > out->len || strncasecmp(out->data + out->len - fl, DEFANGS[k].from, fl) != 0)
                continue;
            out->len -= fl;
            out->data[out->len] = '\0';
            rp_status st = buf_puts(out, DEFANGS[k].to);
            if (st != RP_OK)
                return st;
            again = true;
            break;
        }
    }
    return RP_OK;
}

/* True when s cannot hold a defang: each begins with '[', '(', '{' or "xx"
 * after its first letter (hxxp). */
static bool defang_free(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '[' || c == '(' || c == '{')
            return false;
        if ((c == 'x' || c == 'X') && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X'))
            return false;
    }
    return true;
}

/* True for a byte some defang of DEFANGS ends with: only after one can the
 * tail of the output match. Read from the table, so a new defang needs no
 * other change; the slow path is rare (defang_free() turns most text away). */
static bool ends_defang(char c)
{
    int lc = tolower((unsigned char)c);
    for (size_t k = 0; k < sizeof(DEFANGS) / sizeof(DEFANGS[0]); k++) {
        size_t fl = strlen(DEFANGS[k].from);
        if (tolower((unsigned char)DEFANGS[k].from[fl - 1]) == lc)
            return true;
    }
    return false;
}

rp_status observable_refang(const char *s, size_t n, struct buf *out)
{
    buf_reset(out);
    if (defang_free(s, n)) /* the common case: one copy, no tail checks */
        return buf_append(out, s, n);
    rp_status st = buf_append(out, "", 0); /* data is a valid string even when n is 0 */
    /* appended in runs up to each byte a defang can end with, the tail checked
     * there: the same as checking after every byte, without the cost */
    for (size_t i = 0; st == RP_OK && i < n;) {
        size_t j = i;
        while (j < n && !ends_defang(s[j]))
            j++;
        bool end = j < n;
        st = buf_append(out, s + i, j - i + end);
        if (st == RP_OK && end)
            st = reduce_tail(out);
        i = j + end;
    }
    return st;
}

rp_status observable_ip(const char *s, size_t n, struct buf *out, bool *is_v6, struct rp_error *err)
{
    char tmp[INET6_ADDRSTRLEN + 8];
    if (n == 0 || n >= sizeof(tmp))
        return rp_error_set(err, RP_E_INVALID, "not an IP address");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN];
    buf_reset(out);
    if (inet_pton(AF_INET, tmp, addr) == 1) {
        inet_ntop(AF_INET, addr, text, sizeof(text));
        *is_v6 = false;
    } else if (inet_pton(AF_INET6, tmp, addr) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
            inet_ntop(AF_INET, addr + 12, text, sizeof(text));
            *is_v6 = false;
        } else {
            inet_ntop(AF_INET6, addr, text, sizeof(text));
            *is_v6 = true;
        }
    } else {
        return rp_error_set(err, RP_E_INVALID, "not an IP address");
    }
    return buf_puts(out, text);
}

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

static bool has_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ')
            return true;
    return false;
}

static void lower(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i] = (char)tolower((unsigned char)s[i]);
}

/* Checks a lower-cased domain of n bytes. need_dot: at least two labels. */
static rp_status check_domain(const char *d, size_t n, bool need_dot, struct rp_error *err)
{
    if (n == 0 || n > 253)
        return rp_error_set(err, RP_E_INVALID, "domain length must be 1-253");
    size_t label = 0, labels = 1;
    bool all_numeric_last = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return rp_error_set(err, RP_E_INVALID, "empty or malformed domain label");
            label = 0;
            labels++;
            all_numeric_last = true;
            continue;
        }
        if (!(isalnum(c) || c == '-' || c == '_' || c >= 0x80))
            return rp_error_set(err, RP_E_INVALID, "character '%c' not allowed in a domain",
                                isprint(c) ? c : '?');
        if (c == '-' && label == 0)
            return rp_error_set(err, RP_E_INVALID, "domain label starts with '-'");
        if (!isdigit(c))
            all_numeric_last = false;
        if (++label > 63)
            return rp_error_set(err, RP_E_INVALID, "domain label longer than 63");
    }
    if (label == 0 || d[n - 1] == '-')
        return rp_error_set(err, RP_E_INVALID, "empty or malformed domain label");
    if (need_dot && labels < 2)
        return rp_error_set(err, RP_E_INVALID, "a domain needs at least two labels");
    if (all_numeric_last && labels > 1)
        return rp_error_set(err, RP_E_INVALID, "an IP address or number, not a domain");
    return RP_OK;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static rp_status canon_url(struct buf *out, struct rp_error *err)
{
    char *u = out->data;
    size_t n = out->len;
    if (has_space(u, n))
        return rp_error_set(err, RP_E_INVALID, "a URL cannot contain spaces");
    size_t i = 0;
    if (n == 0 || !isalpha((unsigned char)u[0]))
        return rp_error_set(err, RP_E_INVALID, "a URL needs a scheme (http://...)");
    while (i < n && (isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.'))
        i++;
    if (i + 3 > n || memcmp(u + i, "://", 3) != 0)
        return rp_error_set(err, RP_E_INVALID, "a URL needs a scheme (http://...)");
    lower(u, i);
    size_t auth = i + 3;
    size_t end = auth;
    while (end < n && u[end] != '/' && u[end] != '?' && u[end] != '#')
        end++;
    size_t host = auth;
    for (size_t k = auth; k < end; k++)
        if (u[k] == '@')
            host = k + 1;
    size_t host_end = end;
    if (host < end && u[host] == '[') {
        char *close = memchr(u + host, ']', end - host);
        if (close == NULL)
            return rp_error_set(err, RP_E_INVALID, "URL host has an unclosed '['");
        host_end = (size_t)(close - u) + 1;
    } else {
        char *colon = memchr(u + host, ':', end - host);
        if (colon != NULL)
            host_end = (size_t)(colon - u);
    }
    if (host_end <= host)
        return rp_error_set(err, RP_E_INVALID, "a URL needs a host");
    lower(u + host, host_end - host);
    for (size_t k = host_end; k < end; k++) {
        if (k == host_end && u[k] == ']')
            continue;
        if (k > host_end && !isdigit((unsigned char)u[k]))
            return rp_error_set(err, RP_E_INVALID, "URL port is not a number");
    }
    return RP_OK;
}

rp_status observable_canonical(enum obs_type t, const char *value, size_t n, struct buf *out,
                               enum obs_type *actual, struct rp_error *err)
{
    rp_status st;
    trim(&value, &n);
    if (actual != NULL)
        *actual = t;
    if (n == 0)
        return rp_error_set(err, RP_E_INVALID, "empty value");
    if (has_control(value, n))
        return rp_error_set(err, RP_E_INVALID, "control character in value");
    size_t max = t == OBS_URL ? RP_FIELD_MAX_BYTES : RP_NAME_MAX_BYTES;
    if (n > max)
        return rp_error_set(err, RP_E_INVALID, "value longer than %zu bytes", max);

    switch (t) {
    case OBS_IPV4:
    case OBS_IPV6: {
        struct buf tmp;
        buf_init(&tmp, max);
        st = observable_refang(value, n, &tmp);
        bool v6 = false;
        if (st == RP_OK)
            st = observable_ip(tmp.data, tmp.len, out, &v6, err);
        buf_fini(&tmp);
        if (st == RP_OK && actual != NULL)
            *actual = v6 ? OBS_IPV6 : OBS_IPV4;
        return st;
    }
    case OBS_DOMAIN:
    case OBS_HOSTNAME: {
        if (t == OBS_DOMAIN) {
            st = observable_refang(value, n, out);
        } else {
            buf_reset(out);
            st = buf_append(out, value, n);
        }
        if (st != RP_OK)
            return st;
        while (out->len > 1 && out->data[out->len - 1] == '.')
            out->data[--out->len] = '\0';
        lower(out->data, out->len);
        if (t == OBS_DOMAIN)
            return check_domain(out->data, out->len, true, err);
        for (size_t i = 0; i < out->len; i++)
            if (strchr(" /\\:*?\"<>|", out->data[i]) != NULL)
                return rp_error_set(err, RP_E_INVALID, "character '%c' not allowed in a hostname",
                                    out->data[i]);
        return RP_OK;
    }
    case OBS_URL:
        st = observable_refang(value, n, out);
        return st != RP_OK ? st : canon_url(out, err);
    case OBS_EMAIL: {
        st = observable_refang(value, n, out);
        if (st != RP_OK)
            return st;
        lower(out->data, out->len);
        char *at = memchr(out->data, '@', out->len);
        if (at == NULL || at == out->data ||
            memchr(at + 1, '@', out->len - (size_t)(at - out->data) - 1))
            return rp_error_set(err, RP_E_INVALID, "not an email address (one @ needed)");
        if (has_space(out->data, out->len))
            return rp_error_set(err, RP_E_INVALID, "an email address cannot contain spaces");
        size_t dl = out->len - (size_t)(at + 1 - out->data);
        st = check_domain(at + 1, dl, false, err);
        if (st != RP_OK)
            rp_error_prefix(err, "email domain");
        return st;
    }
    case OBS_MD5:
    case OBS_SHA1:
    case OBS_SHA256: {
        size_t want = t == OBS_MD5 ? 32 : t == OBS_SHA1 ? 40 : 64;
        if (n != want)
            return rp_error_set(err, RP_E_INVALID, "a %s is %zu hex digits, not %zu", TYPE_NAMES[t],
                                want, n);
        for (size_t i = 0; i < n; i++)
            if (!isxdigit((unsigned char)value[i]))
                return rp_error_set(err, RP_E_INVALID, "a %s is hex digits only", TYPE_NAMES[t]);
        buf_reset(out);
        st = buf_append(out, value, n);
        if (st == RP_OK)
            lower(out->data, out->len);
        return st;
    }
    case OBS_FILENAME:
    case OBS_USER:
        buf_reset(out);
        return buf_append(out, value, n);
    case OBS_TYPE_COUNT:
        break;
    }
    return rp_error_set(err, RP_E_INVALID, "unknown observable type");
}
