/*
 * routes_kpi.c: the daemon's endpoints for the KPIs, the Prometheus metrics
 * and the guard rails' kill switch (server.h lists them; docs/kpis.md and
 * docs/policy.md say what they answer):
 *
 *   GET  /api/v1/kpis?since=30d | ?from=DATE&to=DATE   the KPI object (AUTH_READ)
 *   GET  /metrics                  Prometheus text format 0.0.4 (AUTH_READ)
 *   GET  /api/v1/guard             kill switch and containments (AUTH_READ)
 *   POST /api/v1/guard/stop        the kill switch on (AUTH_ADMIN)
 *   POST /api/v1/guard/resume      the kill switch off (AUTH_ADMIN)
 *
 * /metrics needs a token like every other endpoint but /healthz: the figures
 * (connectors, playbook activity) say what the SOC automates, which is not
 * for anyone who can reach the port. A Prometheus job sends it with
 * `authorization: { credentials: TOKEN }`.
 *
 * Threads: libmicrohttpd pool threads, each with its own store handle. The
 * KPIs of a long period read many rows: that is the reading thread's time,
 * and the writer and the engine go on (WAL). The kill switch is written to
 * the store; the engine reads it within a second (engine/rails.c).
 */
#include "api/server_internal.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "kpi/kpi.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

enum MHD_Result api_kpis(struct request *r)
{
    static const char *const allowed[] = {"since", "from", "to", NULL};
    enum MHD_Result ret;
    if (!api_args_known(r, allowed, &ret))
        return ret;
    struct rp_error err = {{0}};
    int64_t now = time_now_ms(), from = 0, to = 0;
    if (kpi_period_parse(api_arg(r, "since"), api_arg(r, "from"), api_arg(r, "to"), now, &from, &to,
                         &err) != RP_OK) {
        char msg[RP_ERROR_MAX];
        api_safe_text(msg, sizeof msg, err.msg);
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "%s", msg);
    }
    struct kpi_options ko;
    kpi_options_init(&ko);
    if (kpi_options_from_json(&ko, r->srv->config->kpi, &err) != RP_OK) {
        kpi_options_fini(&ko);
        log_error("http.kpis", "error=\"configuration: %s\"", err.msg);
        return api_send_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, 0, NULL,
                              "the kpi section of the configuration is invalid");
    }
    struct store *s = api_thread_store(r->srv, &err);
    json_t *out = NULL;
    rp_status st = s != NULL ? kpi_compute(s, &ko, from, to, now, &out, &err) : RP_E_STORE;
    kpi_options_fini(&ko);
    if (st == RP_E_LIMIT || st == RP_E_USAGE)
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "%s", err.msg);
    if (st != RP_OK)
        return api_store_failed(r, NULL, &err, "kpis", "compute the KPIs");
    return api_send_json(r, MHD_HTTP_OK, out, 0, NULL);
}

enum MHD_Result api_metrics(struct request *r)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    struct ingest_queue_stats qs;
    ingest_queue_get_stats(r->srv->queue, &qs);
    metrics_gauge_set("riposte_ingest_queue_depth", (int64_t)qs.items);
    struct buf page;
    buf_init(&page, RP_METRICS_PAGE_MAX);
    if (metrics_render(&page) != RP_OK || page.data == NULL) {
        buf_fini(&page);
        return api_send_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, 0, NULL,
                              "cannot render the metrics");
    }
    return api_send_text(r, &page, "text/plain; version=0.0.4; charset=utf-8", "no-store");
}

/* {kill_switch, changed, changed_by, containments}, as `riposte guard status`. */
static json_t *guard_state_json(struct store *s)
{
    bool stopped = false;
    int64_t since = 0;
    char by[RP_NAME_MAX_BYTES + 16];
    json_t *c = NULL;
    if (store_guard_state_get(s, &stopped, &since, by, sizeof by) != RP_OK ||
        store_containment_list_json(s, &c) != RP_OK)
        return NULL;
    char t[TIME_RFC3339_LEN] = "";
    if (since > 0)
        time_format_rfc3339(since, t);
    return json_pack("{s:s,s:s?,s:s?,s:o}", "kill_switch", stopped ? "stopped" : "off", "changed",
                     since > 0 ? t : NULL, "changed_by", by[0] != '\0' ? by : NULL, "containments",
                     c);
}

/* Answers 200 with the guard state s holds; 503 when s is NULL (err says
 * why) or the state cannot be read. */
static enum MHD_Result send_guard_state(struct request *r, struct store *s,
                                        const struct rp_error *err)
{
    json_t *out = s != NULL ? guard_state_json(s) : NULL;
    if (out == NULL)
        return api_store_failed(r, s, err, "guard_show", "read the guard state");
    return api_send_json(r, MHD_HTTP_OK, out, 0, NULL);
}

enum MHD_Result api_guard_show(struct request *r)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    return send_guard_state(r, s, &err);
}

enum MHD_Result api_guard_set(struct request *r, bool stop)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    char by[RP_TOKEN_NAME_MAX + 8];
    snprintf(by, sizeof by, "api:%s", r->who.name);
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    if (s == NULL || store_guard_state_set(s, stop, by, time_now_ms()) != RP_OK)
        return api_store_failed(r, s, &err, stop ? "guard_stop" : "guard_resume",
                                "set the kill switch");
    log_warn(stop ? "guard.stopped" : "guard.resumed", "by=%s", by);
    return send_guard_state(r, s, &err);
}
