/*
 * routes_blocklists.c: GET /blocklists/{name}.txt, the indicators playbooks
 * put on a blocklist (the blocklist.add action), one per line, for the
 * firewalls, proxies and mail gateways that read plain-text feeds. Expired
 * entries are left out. Needs a token that may read (AUTH_READ). HTTP pool
 * thread, with its own read handle.
 */
#include "api/server_internal.h"
#include "core/buf.h"
#include "core/time.h"
#include "store/store.h"

#include <string.h>

struct text_acc {
    struct buf *b;
    rp_status st;
};

static void add_line(void *ctx, const char *value)
{
    struct text_acc *a = ctx;
    if (a->st == RP_OK)
        a->st = buf_puts(a->b, value);
    if (a->st == RP_OK)
        a->st = buf_puts(a->b, "\n");
}

enum MHD_Result api_blocklist(struct request *r)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    const char *name = r->arg;
    size_t n = strlen(name);
    if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return api_send_error(r, MHD_HTTP_NOT_FOUND, 0, NULL, "no such blocklist");
    struct rp_error err;
    struct store *st = api_thread_store(r->srv, &err);
    if (st == NULL)
        return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL, "%s", err.msg);
    struct buf b;
    buf_init(&b, RP_BLOCKLIST_TEXT_MAX);
    struct text_acc acc = {&b, RP_OK};
    rp_status s =
        store_blocklist_each(st, name, time_now_ms(), RP_BLOCKLIST_ENTRIES_MAX, add_line, &acc);
    if (s != RP_OK || acc.st != RP_OK) {
        buf_fini(&b);
        return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL,
                              "the blocklist cannot be read now");
    }
    return api_send_text(r, &b, "text/plain; charset=utf-8", "no-cache");
}
