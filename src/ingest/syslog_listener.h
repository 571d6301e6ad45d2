/*
 * syslog_listener.h: `serve` receiving syslog over UDP (one message per
 * datagram) and TCP (RFC 6587: octet-counted frames "LEN SP MSG" or
 * newline-terminated lines, told apart per frame by its first byte).
 *
 * Messages are read in any line format (syslog carrying CEF, LEEF, auth lines;
 * bare CEF/LEEF; JSON lines) and gathered into one batch that is handed to the
 * owner's submit function when RP_COMMIT_GROUP_MAX messages wait or
 * RP_SYSLOG_FLUSH_MS after the group's first message. Syslog has no
 * acknowledgement: a batch the owner could not store is counted and logged as
 * dropped, never silently lost. Runs on the owner's libuv loop thread, which
 * is the store's writer.
 */
#ifndef RP_INGEST_SYSLOG_LISTENER_H
#define RP_INGEST_SYSLOG_LISTENER_H

#include "core/config.h"
#include "core/status.h"
#include "ingest/pipeline.h"

#include <sys/socket.h>
#include <uv.h>

struct syslog_listener;

/* Stores a batch (one transaction); called on the loop thread. */
typedef rp_status (*syslog_submit_fn)(void *arg, struct ingest_batch *b);

/* Binds the addresses given (udp and/or tcp may be NULL) on loop. */
rp_status syslog_listener_new(uv_loop_t *loop, const struct config *cfg, const struct sockaddr *udp,
                              const struct sockaddr *tcp, syslog_submit_fn submit, void *arg,
                              struct syslog_listener **out, struct rp_error *err) RP_MUST_CHECK;

/* Stops receiving and hands over what waits. The handles close on the loop's
 * next turns; syslog_listener_free after the loop has run them. */
void syslog_listener_stop(struct syslog_listener *l);

/* Frees the listener after syslog_listener_stop and a run of the loop. NULL ok. */
void syslog_listener_free(struct syslog_listener *l);

struct syslog_listener_stats {
    uint64_t messages; /* received */
    uint64_t stored;   /* in batches the owner stored */
    uint64_t dropped;  /* in batches the owner could not store, or refused frames */
};
void syslog_listener_get_stats(const struct syslog_listener *l, struct syslog_listener_stats *out);

#endif
