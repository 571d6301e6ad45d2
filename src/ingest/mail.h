/*
 * mail.h: a raw mail (RFC 5322 / MIME, through GMime) as a phishing alert.
 *
 * The alert has kind "phishing" and email{message_id, from, reply_to,
 * return_path, to[], subject (decoded), date, received[] (the Received chain,
 * newest first), auth{spf, dkim, dmarc} (from Authentication-Results),
 * body_text, body_html (decoded to UTF-8 from any charset and transfer
 * encoding, cut to the field limit), urls[], links[{url, text}] (the visible
 * text where it differs from the target), attachments[{name, type (declared),
 * sniffed_type, size, md5, sha1, sha256}], headers{...}}, with nested
 * message/rfc822 parts opened. A mail forwarded to report phishing (the
 * suspicious mail attached as message/rfc822, or inline-forwarded) yields the
 * attached mail as the subject of the alert and the forwarding user as
 * reporter{name, email}. Pure; any thread (GMime is initialised once, lazily,
 * under a lock).
 */
#ifndef RP_INGEST_MAIL_H
#define RP_INGEST_MAIL_H

#include "ingest/parsers.h"

rp_status mail_parse_alert(const char *data, size_t len, json_t **alert,
                           struct rp_error *err) RP_MUST_CHECK;

/* True when data looks like a mail (RFC 5322 header lines at the start). */
#include <stdbool.h>
bool mail_detect(const char *data, size_t len);

#endif
