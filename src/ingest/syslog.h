/*
 * syslog.h: syslog messages, RFC 3164 (BSD) and RFC 5424 (with structured
 * data), and the dispatch of their MSG part to the formats carried in syslog:
 * CEF, LEEF, Linux sshd/PAM auth lines, Cylance threat events.
 *
 * A line without <PRI> is accepted when it starts with an RFC 3164 timestamp
 * ("Nov 30 09:48:36 host app[pid]: msg", as /var/log/auth.log has it) or an
 * RFC 3339 one. Pure functions; any thread.
 */
#ifndef RP_INGEST_SYSLOG_H
#define RP_INGEST_SYSLOG_H

#include "ingest/parsers.h"

#include <stdbool.h>
#include <stdint.h>

struct syslog_msg {
    int pri;       /* -1 when absent */
    int facility;  /* pri / 8, or -1 */
    int severity;  /* pri % 8, or -1 */
    int version;   /* 1 for RFC 5424, 0 for RFC 3164 */
    int64_t ts_ms; /* 0 when absent; a 3164 time has no year: the current one */
    /* views into the input (not NUL-terminated), length 0 when absent or "-" */
    const char *host;
    size_t host_len;
    const char *app;
    size_t app_len;
    const char *procid;
    size_t procid_len;
    const char *msgid;
    size_t msgid_len;
    const char *sd; /* RFC 5424 structured data, as given: "[id k="v"]..." */
    size_t sd_len;
    const char *msg;
    size_t msg_len;
};

/* Splits one syslog line (no trailing newline needed). RP_E_INVALID with a byte
 * offset when it is not syslog. */
rp_status syslog_parse(const char *line, size_t len, struct syslog_msg *out,
                       struct rp_error *err) RP_MUST_CHECK;

/* RFC 5424 structured data as a JSON object {"sd-id": {"param": "value"}},
 * with the escapes \" \\ \] undone. */
rp_status syslog_sd_json(const char *sd, size_t len, json_t **out,
                         struct rp_error *err) RP_MUST_CHECK;

/* The ingest_parse_fn for syslog lines: parses the header, then the MSG as CEF,
 * LEEF, an sshd/PAM auth line or a Cylance threat event; host and time from the
 * header fill what the MSG lacks; raw is the whole line. A well-formed message of
 * no known kind is RP_E_NOTFOUND (ignored). */
rp_status syslog_parse_alert(const char *line, size_t len, json_t **alert,
                             struct rp_error *err) RP_MUST_CHECK;

#endif
