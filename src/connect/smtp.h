/*
 * smtp.h: the message builder of the smtp connector (smtp.c), public for its
 * unit tests. The connector itself is known to connector.c only through
 * connect_internal.h.
 *
 * smtp_message_build turns the parameters of a `send` action into one RFC
 * 5322 message: Date, From, To, Cc, Reply-To, Subject (RFC 2047 encoded words
 * when not plain ASCII), Message-ID, MIME-Version, and a text/plain and/or
 * text/html body (multipart/alternative when both), each quoted-printable or
 * base64 (whichever is shorter for its text), with CRLF line ends. A CR or LF
 * in any header value is refused (header injection), as are unknown
 * parameters, malformed addresses and anything above limits.h's RP_SMTP_*.
 * Pure; any thread.
 */
#ifndef RP_CONNECT_SMTP_H
#define RP_CONNECT_SMTP_H

#include "core/status.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct smtp_message {
    char *data; /* the encoded message, CRLF line ends; owned */
    size_t len;
    char *message_id; /* "<...>", as in the Message-ID header; owned */
    char *from_addr;  /* the addr-spec of From, for MAIL FROM; owned */
    char **rcpts;     /* addr-specs of To and Cc, for RCPT TO; owned */
    size_t nrcpts;
};

/* Builds the message from params ({to, cc, subject, text, html, reply_to})
 * sent by from ("soc@example.org" or "SOC <soc@example.org>") at now_ms
 * (Unix ms, for the Date header). On success *out owns everything (free with
 * smtp_message_fini); on an error *out is empty and err says which parameter
 * and why ("to[2]: ..."). */
rp_status smtp_message_build(const char *from, json_t *params, int64_t now_ms,
                             struct smtp_message *out, struct rp_error *err) RP_MUST_CHECK;

/* Frees what smtp_message_build gave; the struct can be reused. Accepts NULL. */
void smtp_message_fini(struct smtp_message *m);

#endif
