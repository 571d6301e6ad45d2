/*
 * queue.h: the bounded queue of prepared ingest batches between the daemon's
 * HTTP threads (producers) and its one writer thread (the consumer).
 *
 * A producer parses a request body into a batch (ingest/pipeline.h) and pushes
 * it; the writer pops a group of batches holding up to RP_COMMIT_GROUP_MAX
 * records and commits them in one transaction (the group commit). The queue is
 * bounded twice, by entries and by the bytes the batches hold
 * (RP_INGEST_QUEUE_MAX, RP_INGEST_QUEUE_BYTES_MAX): a push beyond either is
 * refused with RP_E_BUSY and the HTTP layer answers 503 + Retry-After, so load
 * beyond what the disk can take is shed visibly instead of growing memory.
 *
 * Items are intrusive: the caller embeds a struct ingest_queue_item in its own
 * request object, so a push allocates nothing and cannot fail for memory. The
 * queue never owns the batches; whoever popped an item owns it until it hands it
 * back to its producer.
 *
 * Threads: any number of producers and one consumer; one mutex, held for list
 * operations only. The queue does not wake the consumer: the caller does
 * (uv_async_send) after a successful push.
 */
#ifndef RP_INGEST_QUEUE_H
#define RP_INGEST_QUEUE_H

#include "core/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ingest_batch;

struct ingest_queue_item {
    struct ingest_queue_item *next; /* the queue's link; NULL outside it */
    struct ingest_batch *batch;     /* not owned by the queue */
    size_t records;                 /* ingest_batch_records(batch) */
    size_t bytes;                   /* ingest_batch_bytes(batch): counted against the limit */
};

struct ingest_queue;

struct ingest_queue_stats {
    size_t items;     /* waiting now */
    size_t bytes;     /* held by the waiting items */
    uint64_t pushed;  /* accepted since creation */
    uint64_t refused; /* refused full or closed since creation */
};

/* A queue of at most max_items items holding at most max_bytes bytes. */
rp_status ingest_queue_new(size_t max_items, size_t max_bytes,
                           struct ingest_queue **out) RP_MUST_CHECK;

/* Frees the queue, not the items still in it (the caller drains it first).
 * Accepts NULL. */
void ingest_queue_free(struct ingest_queue *q);

/* Appends it. RP_E_BUSY when the queue is full or closed (nothing changes).
 * An item larger than max_bytes is accepted into an empty queue, so that every
 * batch the body limit lets through can make progress. */
rp_status ingest_queue_push(struct ingest_queue *q, struct ingest_queue_item *it) RP_MUST_CHECK;

/* Takes the oldest items, in order, while their records add up to at most
 * max_records (always at least one item when there is any) and their number to
 * at most max_items. Links them through ->next into *head (NULL-terminated) and
 * returns how many. 0 when the queue is empty. Consumer only. */
size_t ingest_queue_pop(struct ingest_queue *q, size_t max_records, size_t max_items,
                        struct ingest_queue_item **head);

/* Refuses every later push. Items already in stay to be popped. */
void ingest_queue_close(struct ingest_queue *q);

/* True when nothing waits. */
bool ingest_queue_empty(struct ingest_queue *q);

void ingest_queue_get_stats(struct ingest_queue *q, struct ingest_queue_stats *out);

#endif
