/*
 * detect.h: detectors inside `riposte serve` that read the stored alerts and
 * raise new ones. One so far: failed logins (detect/failed_logins.c).
 *
 * The failed-login detector counts authentication failures (alerts of kind
 * auth with auth.result "failure": sshd/PAM lines, Windows 4625, Okta, Azure
 * AD sign-ins, as src/ingest normalizes them) per user, per device (the host's
 * name, else the source address) or per user and device, over a sliding
 * window of event time, for each rule of the configuration's
 * detect.failed_logins (core/config.h). When a group has more failures in
 * the window than the rule's threshold, it raises an alert of kind auth:
 *
 *   source "detect", rule NAME, severity from the rule, user{name,email},
 *   host{name}, src{ip} (the last ones seen), auth{result: failure, method:
 *   failed_logins, count, window_s}, extra{detector, group_by, key,
 *   src_ips[], users[], hosts[], first_time, last_time}, and a fingerprint
 *   made of the rule and the group, so that the raises of one group join one
 *   case.
 *
 * The alert is handed, as JSON text, to a submit callback that ingests it like
 * any source's document (server.c's source_submit): it is normalized, stored,
 * correlated into a case and starts the playbooks it triggers. The same group
 * does not raise again within the rule's suppress time (event time). Alerts
 * whose source is "detect" are never counted, so a raised alert coming back
 * through the store does not feed itself.
 *
 * Memory: per rule at most RP_DETECT_KEYS_MAX groups and RP_DETECT_TIMES_MAX
 * failure times (core/limits.h); past either the least recently seen group is
 * evicted (and counted). An evicted group forgets its count and suppression.
 *
 * Threads: one detector belongs to one thread (the daemon's loop, where
 * stored alerts are handed to the runner). Nothing here blocks; the submit
 * callback is called synchronously from detect_observe and may call
 * detect_observe again (with the raised alert, which is skipped).
 */
#ifndef RP_DETECT_DETECT_H
#define RP_DETECT_DETECT_H

#include "core/config.h"
#include "core/status.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct detect;

/* Where raised alerts go: one JSON document in format ("json") under source
 * ("detect"). The same shape as connect/connector.h's source_sink, so that
 * the daemon passes its source_submit. */
typedef rp_status (*detect_submit_fn)(void *ctx, const char *source, const char *format,
                                      const char *data, size_t len);

/* Counters for logs and tests. */
struct detect_stats {
    uint64_t seen;       /* failures counted (by any rule) */
    uint64_t raised;     /* alerts raised and accepted by submit */
    uint64_t suppressed; /* thresholds passed within a suppression */
    uint64_t evicted;    /* groups dropped to stay within the limits */
    uint64_t failed;     /* raised alerts that submit refused */
    size_t keys;         /* groups tracked now, all rules together */
    size_t times;        /* failure times kept now, all rules together */
};

/* Makes a detector for rules[0..n) (copied: the configuration may go).
 * submit may be NULL (the raised alerts are only counted: tests). *out is
 * NULL when n is 0: no rules, nothing to do. */
rp_status detect_new(const struct config_detect_rule *rules, size_t n, detect_submit_fn submit,
                     void *ctx, struct detect **out) RP_MUST_CHECK;

/* Accepts NULL. */
void detect_free(struct detect *d);

/* Feeds one stored, normalized alert (borrowed). Alerts that are not failed
 * logins are ignored. Returns how many alerts it raised (0 for most).
 * Accepts a NULL detector. */
int detect_observe(struct detect *d, json_t *alert);

/* The counters. */
void detect_stats_get(const struct detect *d, struct detect_stats *out);

/* The source name of raised alerts. */
#define DETECT_SOURCE "detect"

#endif
