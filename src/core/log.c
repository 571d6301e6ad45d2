/*
 * log.c: the key=value line writer. Any thread; the level is read atomically.
 */
#include "core/log.h"

#include "core/time.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Atomic int min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
    atomic_store(&min_level, (int)level);
}

rp_status log_level_parse(const char *s, enum log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i <= LOG_OFF; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return RP_OK;
        }
    }
    return RP_E_INVALID;
}

void log_write(enum log_level level, const char *event, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if ((int)level < atomic_load(&min_level) || level >= LOG_OFF)
        return;
    char line[2048];
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(time_now_ms(), ts);
    int n = snprintf(line, sizeof(line), "ts=%s level=%s event=%s", ts, names[level], event);
    if (n < 0)
        return;
    size_t len = (size_t)n;
    if (fmt != NULL && fmt[0] != '\0' && len + 1 < sizeof(line)) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
        va_end(ap);
        if (n > 0)
            len += (size_t)n;
    }
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nowhere left to report a failure to log */
}

const char *log_quote(char *buf, size_t cap, const char *s)
{
    if (cap == 0)
        return buf;
    if (s == NULL)
        s = "";
    int bare = s[0] != '\0';
    for (const char *p = s; *p && bare; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
            bare = 0;
    }
    size_t o = 0;
    if (bare) {
        while (*s && o + 1 < cap)
            buf[o++] = *s++;
        buf[o] = '\0';
        return buf;
    }
    if (o + 1 < cap)
        buf[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[5];
        size_t tl;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tl = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2);
            tl = 2;
        } else if (c < ' ' || c == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            tl = 4;
        } else {
            tmp[0] = (char)c;
            tl = 1;
        }
        if (o + tl + 2 > cap)
            break;
        memcpy(buf + o, tmp, tl);
        o += tl;
    }
    if (o + 1 < cap)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
