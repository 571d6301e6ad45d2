/*
 * queue.c: the bounded FIFO between the HTTP threads and the writer: a singly
 * linked list of intrusive items with a tail pointer, two counters checked
 * against the limits, and a closed flag for shutdown. Any thread; one mutex.
 */
#include "ingest/queue.h"

#include <pthread.h>
#include <stdlib.h>

struct ingest_queue {
    pthread_mutex_t mu;
    struct ingest_queue_item *head;
    struct ingest_queue_item *tail;
    size_t max_items;
    size_t max_bytes;
    bool closed;
    struct ingest_queue_stats stats;
};

rp_status ingest_queue_new(size_t max_items, size_t max_bytes, struct ingest_queue **out)
{
    struct ingest_queue *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return RP_E_NOMEM;
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q);
        return RP_E_NOMEM;
    }
    q->max_items = max_items;
    q->max_bytes = max_bytes;
    *out = q;
    return RP_OK;
}

void ingest_queue_free(struct ingest_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q);
}

rp_status ingest_queue_push(struct ingest_queue *q, struct ingest_queue_item *it)
{
    rp_status st = RP_OK;
    pthread_mutex_lock(&q->mu);
    bool empty = q->head == NULL;
    bool too_big = q->stats.bytes > q->max_bytes || it->bytes > q->max_bytes - q->stats.bytes;
    if (q->closed || q->stats.items >= q->max_items || (!empty && too_big)) {
        q->stats.refused++;
        st = RP_E_BUSY;
        goto out;
    }
    it->next = NULL;
    if (q->tail != NULL)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->stats.items++;
    q->stats.bytes += it->bytes;
    q->stats.pushed++;
out:
    pthread_mutex_unlock(&q->mu);
    return st;
}

size_t ingest_queue_pop(struct ingest_queue *q, size_t max_records, size_t max_items,
                        struct ingest_queue_item **head)
{
    size_t n = 0, records = 0;
    struct ingest_queue_item *first = NULL, *last = NULL;
    pthread_mutex_lock(&q->mu);
    while (q->head != NULL && n < max_items) {
        struct ingest_queue_item *it = q->head;
        if (n > 0 && it->records > max_records - records)
            break;
        q->head = it->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->stats.items--;
        q->stats.bytes -= it->bytes;
        it->next = NULL;
        if (last != NULL)
            last->next = it;
        else
            first = it;
        last = it;
        n++;
        records = it->records > max_records - records ? max_records : records + it->records;
    }
    pthread_mutex_unlock(&q->mu);
    *head = first;
    return n;
}

void ingest_queue_close(struct ingest_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_mutex_unlock(&q->mu);
}

bool ingest_queue_empty(struct ingest_queue *q)
{
    pthread_mutex_lock(&q->mu);
    bool empty = q->head == NULL;
    pthread_mutex_unlock(&q->mu);
    return empty;
}

void ingest_queue_get_stats(struct ingest_queue *q, struct ingest_queue_stats *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->stats;
    pthread_mutex_unlock(&q->mu);
}
