/*
 * fuzz_syslog.c: libFuzzer target for syslog lines (ingest/syslog.h) and, through
 * their dispatch, the sshd/PAM auth lines and CylancePROTECT events.
 *
 * The input is one line: syslog_parse_at() must keep every view inside it and
 * the PRI parts consistent; syslog_sd_json() runs on the structured data found
 * and on the whole input; syslog_parse_alert_at() and the vendor-time reader
 * run on it too, and an alert must pass alert_normalize() (fuzz_lines.h).
 * Memory: every json_t is released before returning.
 */
#include "ingest/lines.h"
#include "ingest/syslog.h"

#include "fuzz_lines.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *p, size_t n, const char *b, size_t len)
{
    if (n > 0 && (p < b || p + n > b + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_lines_init();
    const char *s = (const char *)data;
    struct syslog_msg m;
    struct rp_error err;
    err.msg[0] = '\0';
    json_t *o = NULL;
    rp_status st = syslog_parse_at(s, size, FUZZ_NOW_MS, &m, &err);
    if (st == RP_OK) {
        inside(m.host, m.host_len, s, size);
        inside(m.app, m.app_len, s, size);
        inside(m.procid, m.procid_len, s, size);
        inside(m.msgid, m.msgid_len, s, size);
        inside(m.sd, m.sd_len, s, size);
        if (m.msg_len > 0 || m.msg != NULL)
            inside(m.msg, m.msg_len, s, size);
        if (m.pri > 191 || (m.pri >= 0 && (m.facility != m.pri / 8 || m.severity != m.pri % 8)))
            abort();
        if (m.sd_len > 0) {
            st = syslog_sd_json(m.sd, m.sd_len, &o, &err);
            if ((st == RP_OK) != (o != NULL))
                abort();
            json_decref(o);
        }
    } else if (st != RP_E_INVALID || err.msg[0] == '\0') {
        abort();
    }
    o = NULL;
    st = syslog_sd_json(s, size, &o, &err);
    if ((st == RP_OK) != (o != NULL))
        abort();
    json_decref(o);

    int64_t ms;
    (void)lines_parse_time(s, size, FUZZ_NOW_MS, &ms);

    json_t *alert = NULL;
    err.msg[0] = '\0';
    st = syslog_parse_alert_at(s, size, FUZZ_NOW_MS, &alert, &err);
    fuzz_lines_check(st, alert, &err);
    return 0;
}
