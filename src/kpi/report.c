/*
 * report.c: the KPI report as HTML, JSON or CSV (kpi/report.h).
 *
 * The HTML is one file an executive can open offline or attach to a mail:
 * inline CSS, charts drawn here as inline SVG, no script and no outside
 * asset. Every text that comes from the store (kinds, sources, playbooks,
 * rules, titles) is escaped for HTML. The CSV flattens the KPI object: a key
 * "by_X" makes the next key a segment ("X=value"), so that every figure is one
 * row with its value in this period and the previous one.
 *
 * Output goes to a bounded buffer; the first failure (RP_E_LIMIT, RP_E_NOMEM)
 * is kept and returned. Pure; any thread.
 */
#include "kpi/report.h"

#include "core/limits.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rp_status report_format_parse(const char *s, enum report_format *out)
{
    if (strcmp(s, "html") == 0)
        *out = REPORT_HTML;
    else if (strcmp(s, "json") == 0)
        *out = REPORT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = REPORT_CSV;
    else
        return RP_E_USAGE;
    return RP_OK;
}

/* --- output with a sticky error ------------------------------------------------ */

struct out {
    struct buf *b;
    rp_status st;
};

static void put(struct out *o, const char *s)
{
    if (o->st == RP_OK)
        o->st = buf_puts(o->b, s);
}

static void putf(struct out *o, const char *fmt, ...) RP_PRINTF(2, 3);

static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    RP_ASSERT(n >= 0 && (size_t)n < sizeof tmp); /* formats here are short; text goes via esc */
    put(o, tmp);
}

/* Text escaped for HTML (element content and quoted attributes). */
static void esc(struct out *o, const char *s)
{
    for (const char *p = s != NULL ? s : ""; *p && o->st == RP_OK; p++) {
        switch (*p) {
        case '&':
            put(o, "&amp;");
            break;
        case '<':
            put(o, "&lt;");
            break;
        case '>':
            put(o, "&gt;");
            break;
        case '"':
            put(o, "&quot;");
            break;
        case '\'':
            put(o, "&#39;");
            break;
        default:
            o->st = buf_append(o->b, p, 1);
        }
    }
}

/* --- reading the KPI object ------------------------------------------------------ */

/* The value at a dotted path ("times.resolve.all.mean_s"), or NULL. */
static json_t *at(json_t *root, const char *path)
{
    char key[128];
    json_t *j = root;
    while (j != NULL && *path != '\0') {
        const char *dot = strchr(path, '.');
        size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        j = json_object_get(j, key);
        path += n + (dot != NULL);
    }
    return j;
}

static bool num(json_t *j, double *v)
{
    if (!json_is_number(j))
        return false;
    *v = json_number_value(j);
    return true;
}

/* --- JSON ------------------------------------------------------------------------- */

static rp_status render_json(json_t *k, struct buf *b)
{
    char *s = json_dumps(k, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (s == NULL)
        return RP_E_NOMEM;
    rp_status st = buf_puts(b, s);
    if (st == RP_OK)
        st = buf_puts(b, "\n");
    free(s);
    return st;
}

/* --- CSV -------------------------------------------------------------------------- */

/* One CSV field: quoted when it holds a comma, quote or line break; a text
 * that a spreadsheet would read as a formula gets a leading apostrophe. */
static void csv_field(struct out *o, const char *s)
{
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        put(o, "\"");
    if (formula)
        put(o, "'");
    for (const char *p = s; *p && o->st == RP_OK; p++) {
        if (*p == '"')
            put(o, "\"\"");
        else
            o->st = buf_append(o->b, p, 1);
    }
    if (quote)
        put(o, "\"");
}

static void csv_value(struct out *o, json_t *v)
{
    if (json_is_integer(v))
        putf(o, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        putf(o, "%.15g", json_real_value(v));
}

/* Walks cur (and the same place in prev): path holds the figure's name so
 * far, seg its segment ("" for all). */
static void csv_walk(struct out *o, json_t *cur, json_t *prev, char *path, size_t plen,
                     const char *seg, int depth)
{
    if (!json_is_object(cur) || depth > 8) {
        csv_field(o, path);
        put(o, ",");
        csv_field(o, seg[0] != '\0' ? seg : "all");
        put(o, ",");
        csv_value(o, cur);
        put(o, ",");
        csv_value(o, prev);
        put(o, "\n");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(cur, k, v)
    {
        json_t *pv = json_object_get(prev, k);
        if (strncmp(k, "by_", 3) == 0 && json_is_object(v) && seg[0] == '\0') {
            const char *sk;
            json_t *sv;
            json_object_foreach(v, sk, sv)
            {
                char s2[512];
                snprintf(s2, sizeof s2, "%s=%s", k + 3, sk);
                csv_walk(o, sv, json_object_get(pv, sk), path, plen, s2, depth + 1);
            }
            continue;
        }
        size_t n = plen;
        if (strcmp(k, "all") != 0) {
            int w = snprintf(path + plen, 256 - plen, "%s%s", plen ? "." : "", k);
            if (w < 0 || (size_t)w >= 256 - plen)
                continue; /* names here are short; never happens */
            n = plen + (size_t)w;
        }
        csv_walk(o, v, pv, path, n, seg, depth + 1);
        path[plen] = '\0';
    }
}

static rp_status render_csv(json_t *k, struct buf *b)
{
    struct out o = {b, RP_OK};
    put(&o, "name,segment,value,previous\n");
    char path[256] = "";
    csv_walk(&o, json_object_get(k, "current"), json_object_get(k, "previous"), path, 0, "", 0);
    return o.st;
}

/* --- HTML: helpers ------------------------------------------------------------------- */

/* A duration in seconds for people: "45 s", "12 min", "3.2 h", "2.1 d". */
static void fmt_dur(char *dst, size_t cap, double s)
{
    if (s < 90)
        snprintf(dst, cap, "%.0f s", s);
    else if (s < 90 * 60)
        snprintf(dst, cap, "%.0f min", s / 60);
    else if (s < 48 * 3600)
        snprintf(dst, cap, "%.1f h", s / 3600);
    else
        snprintf(dst, cap, "%.1f d", s / 86400);
}

enum unit { U_COUNT, U_DUR, U_PCT, U_HOURS };

static void fmt_val(char *dst, size_t cap, json_t *v, enum unit u)
{
    double d;
    if (!num(v, &d)) {
        snprintf(dst, cap, "&#8211;");
        return;
    }
    switch (u) {
    case U_DUR:
        fmt_dur(dst, cap, d);
        break;
    case U_PCT:
        snprintf(dst, cap, "%.0f%%", d * 100);
        break;
    case U_HOURS:
        snprintf(dst, cap, "%.1f h", d);
        break;
    default:
        snprintf(dst, cap, "%.0f", d);
    }
}

/* The trend of a figure: an arrow and the change in % against the previous
 * period, green when it moved the good way. */
static void trend(struct out *o, json_t *cur, json_t *prev, bool lower_better)
{
    double c, p;
    if (!num(cur, &c) || !num(prev, &p)) {
        put(o, "<span class=\"t flat\">no previous figure</span>");
        return;
    }
    if (p == 0 && c == 0) {
        put(o, "<span class=\"t flat\">&#9644; unchanged (0)</span>");
        return;
    }
    if (p == 0) {
        put(o, "<span class=\"t flat\">&#9650; new (was 0)</span>");
        return;
    }
    double pct = (c - p) / fabs(p) * 100;
    if (fabs(pct) < 0.5) {
        put(o, "<span class=\"t flat\">&#9644; unchanged</span>");
        return;
    }
    bool good = (pct < 0) == lower_better;
    putf(o, "<span class=\"t %s\">%s %+.0f%% vs previous</span>", good ? "good" : "bad",
         pct > 0 ? "&#9650;" : "&#9660;", pct);
}

static void card(struct out *o, json_t *k, const char *title, const char *path, enum unit u,
                 bool lower_better)
{
    json_t *c = at(json_object_get(k, "current"), path);
    json_t *p = at(json_object_get(k, "previous"), path);
    char v[64];
    fmt_val(v, sizeof v, c, u);
    put(o, "<div class=\"card\"><div class=\"ct\">");
    esc(o, title);
    putf(o, "</div><div class=\"cv\">%s</div>", v);
    trend(o, c, p, lower_better);
    put(o, "</div>\n");
}

static const char *const SEVS[] = {"critical", "high", "medium", "low", "info"};
static const char *const SEV_COLORS[] = {"#b71c1c", "#e65100", "#f9a825", "#2e7d32", "#607d8b"};

/* Horizontal bars: one row per label, the current value and (when prev is
 * given) the previous one as a thin grey bar under it. */
static void bars(struct out *o, const char *title, const char *const *labels, const double *cur,
                 const double *prev, size_t n, enum unit u, const char *color)
{
    double max = 0;
    for (size_t i = 0; i < n; i++) {
        max = cur[i] > max ? cur[i] : max;
        max = prev != NULL && prev[i] > max ? prev[i] : max;
    }
    if (max <= 0)
        max = 1;
    const int W = 520, LW = 150, RH = 28;
    int h = (int)n * RH + 10;
    put(o, "<figure><figcaption>");
    esc(o, title);
    putf(o,
         "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
         "viewBox=\"0 0 %d %d\" role=\"img\">",
         W, h, W, h);
    for (size_t i = 0; i < n; i++) {
        int y = (int)i * RH + 4;
        double bw = (W - LW - 70) * cur[i] / max;
        put(o, "<text x=\"0\" y=\"");
        putf(o, "%d\" class=\"lb\">", y + 14);
        esc(o, labels[i]);
        putf(o, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>", LW, y,
             bw, color);
        if (prev != NULL)
            putf(o, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"5\" fill=\"#b0bec5\"/>", LW,
                 y + 16, (W - LW - 70) * prev[i] / max);
        char v[64];
        json_t *jv = json_real(cur[i]);
        fmt_val(v, sizeof v, jv, u);
        json_decref(jv);
        putf(o, "<text x=\"%.1f\" y=\"%d\" class=\"vl\">%s</text>", LW + bw + 6, y + 12, v);
    }
    put(o, "</svg>");
    if (prev != NULL)
        put(o, "<div class=\"legend\"><span class=\"sw\" style=\"background:#b0bec5\"></span>"
               "previous period</div>");
    put(o, "</figure>\n");
}

/* Bars of an object's members (label: number), current against previous. */
static void bars_of(struct out *o, json_t *k, const char *title, const char *path,
                    const char *color)
{
    json_t *c = at(json_object_get(k, "current"), path);
    json_t *p = at(json_object_get(k, "previous"), path);
    const char *labels[24];
    double cur[24], prev[24];
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
    {
        if (n == 24)
            break;
        labels[n] = key;
        cur[n] = json_number_value(v);
        prev[n] = json_number_value(json_object_get(p, key));
        n++;
    }
    if (n == 0) {
        put(o, "<figure><figcaption>");
        esc(o, title);
        put(o, "</figcaption><p class=\"none\">No cases in this period.</p></figure>\n");
        return;
    }
    bars(o, title, labels, cur, prev, n, U_COUNT, color);
}

/* Mean time to resolve by severity over the period's buckets: a line per
 * severity, broken where a bucket resolved no case of it. */
static void line_chart(struct out *o, json_t *k)
{
    json_t *points = at(k, "trend.points");
    size_t n = json_array_size(points);
    const int W = 700, H = 260, L = 56, R = 12, T = 12, B = 40;
    double max = 0;
    size_t i;
    json_t *p;
    json_array_foreach(points, i, p)
    {
        for (int s = 0; s < 5; s++) {
            double v;
            if (num(json_object_get(json_object_get(p, "resolve_mean_s"), SEVS[s]), &v) && v > max)
                max = v;
        }
    }
    put(o, "<figure class=\"wide\"><figcaption>Mean time to resolve by severity (per ");
    esc(o, json_string_value(at(k, "trend.bucket")));
    put(o, ")</figcaption>");
    if (n == 0 || max <= 0) {
        put(o, "<p class=\"none\">No case was resolved in this period.</p></figure>\n");
        return;
    }
    double ymax = max / 3600.0; /* hours */
    putf(o,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
         "viewBox=\"0 0 %d %d\" role=\"img\">",
         W, H, W, H);
    for (int g = 0; g <= 4; g++) {
        double y = T + (H - T - B) * (1 - g / 4.0);
        putf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", L, y, W - R,
             y);
        putf(o, "<text x=\"%d\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%.1f h</text>", L - 4,
             y + 4, ymax * g / 4.0);
    }
    double step = n > 1 ? (double)(W - L - R) / (double)(n - 1) : 0;
    size_t every = n / 8 + 1;
    json_array_foreach(points, i, p)
    {
        if (i % every != 0)
            continue;
        const char *start = json_string_value(json_object_get(p, "start"));
        char d[11] = "";
        if (start != NULL)
            snprintf(d, sizeof d, "%.10s", start);
        putf(o, "<text x=\"%.1f\" y=\"%d\" class=\"ax\" text-anchor=\"middle\">",
             L + step * (double)i, H - B + 16);
        esc(o, d + 5);
        put(o, "</text>");
    }
    for (int s = 0; s < 5; s++) {
        bool open = false;
        json_array_foreach(points, i, p)
        {
            double v;
            json_t *jv = json_object_get(json_object_get(p, "resolve_mean_s"), SEVS[s]);
            if (!num(jv, &v)) {
                if (open)
                    put(o, "\"/>");
                open = false;
                continue;
            }
            double x = L + step * (double)i, y = T + (H - T - B) * (1 - v / max);
            if (!open)
                putf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                     SEV_COLORS[s]);
            putf(o, "%.1f,%.1f ", x, y);
            open = true;
        }
        if (open)
            put(o, "\"/>");
        json_array_foreach(points, i, p)
        {
            double v;
            if (num(json_object_get(json_object_get(p, "resolve_mean_s"), SEVS[s]), &v))
                putf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>",
                     L + step * (double)i, T + (H - T - B) * (1 - v / max), SEV_COLORS[s]);
        }
    }
    put(o, "</svg><div class=\"legend\">");
    for (int s = 0; s < 5; s++)
        putf(o, "<span class=\"sw\" style=\"background:%s\"></span>%s ", SEV_COLORS[s], SEVS[s]);
    put(o, "</div></figure>\n");
}

/* SLA by severity: met, breached and pending as one stacked bar each. */
static void sla_chart(struct out *o, json_t *k)
{
    json_t *by = at(json_object_get(k, "current"), "sla.by_severity");
    const int W = 520, LW = 90, RH = 28;
    size_t n = json_object_size(by);
    put(o, "<figure><figcaption>SLA on time to resolve, by severity</figcaption>");
    if (n == 0) {
        put(o, "<p class=\"none\">No SLA targets are set.</p></figure>\n");
        return;
    }
    putf(o,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
         "viewBox=\"0 0 %d %d\" role=\"img\">",
         W, (int)n * RH + 10, W, (int)n * RH + 10);
    double max = 1;
    const char *key;
    json_t *v;
    json_object_foreach(by, key, v)
    {
        double t = json_number_value(json_object_get(v, "met")) +
                   json_number_value(json_object_get(v, "breached")) +
                   json_number_value(json_object_get(v, "pending"));
        max = t > max ? t : max;
    }
    int row = 0;
    json_object_foreach(by, key, v)
    {
        int y = row++ * RH + 4;
        char tgt[32];
        fmt_dur(tgt, sizeof tgt, json_number_value(json_object_get(v, "target_s")));
        put(o, "<text x=\"0\" y=\"");
        putf(o, "%d\" class=\"lb\">", y + 14);
        esc(o, key);
        putf(o, " (%s)</text>", tgt);
        static const char *const parts[] = {"met", "breached", "pending"};
        static const char *const colors[] = {"#2e7d32", "#c62828", "#b0bec5"};
        double x = LW + 30;
        for (int i = 0; i < 3; i++) {
            double c = json_number_value(json_object_get(v, parts[i]));
            double w = (W - LW - 100) * c / max;
            if (c > 0)
                putf(o, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>", x,
                     y, w, colors[i]);
            x += w;
        }
        putf(o, "<text x=\"%.1f\" y=\"%d\" class=\"vl\">%lld met, %lld breached</text>", x + 6,
             y + 12, (long long)json_integer_value(json_object_get(v, "met")),
             (long long)json_integer_value(json_object_get(v, "breached")));
    }
    put(o, "</svg><div class=\"legend\"><span class=\"sw\" style=\"background:#2e7d32\"></span>met "
           "<span class=\"sw\" style=\"background:#c62828\"></span>breached "
           "<span class=\"sw\" style=\"background:#b0bec5\"></span>still open, within target"
           "</div></figure>\n");
}

static void pair_bars(struct out *o, json_t *k, const char *title, const char *const *labels,
                      const char *const *paths, size_t n, enum unit u, const char *color)
{
    double cur[16], prev[16];
    for (size_t i = 0; i < n && i < 16; i++) {
        cur[i] = json_number_value(at(json_object_get(k, "current"), paths[i]));
        prev[i] = json_number_value(at(json_object_get(k, "previous"), paths[i]));
    }
    bars(o, title, labels, cur, prev, n < 16 ? n : 16, u, color);
}

static void times_table(struct out *o, json_t *k)
{
    static const char *const T[] = {"detect", "acknowledge", "contain", "resolve"};
    json_t *times = at(json_object_get(k, "current"), "times");
    put(o, "<h2>Response times by severity</h2><table><tr><th>severity</th>");
    for (int t = 0; t < 4; t++)
        putf(o, "<th>time to %s<br><small>mean / p50 / p90</small></th>", T[t]);
    put(o, "</tr>\n");
    for (int s = -1; s < 5; s++) {
        putf(o, "<tr><td>%s</td>", s < 0 ? "<b>all</b>" : SEVS[s]);
        for (int t = 0; t < 4; t++) {
            json_t *st =
                s < 0 ? at(json_object_get(times, T[t]), "all")
                      : json_object_get(at(json_object_get(times, T[t]), "by_severity"), SEVS[s]);
            char a[32], b[32], c[32];
            fmt_val(a, sizeof a, json_object_get(st, "mean_s"), U_DUR);
            fmt_val(b, sizeof b, json_object_get(st, "p50_s"), U_DUR);
            fmt_val(c, sizeof c, json_object_get(st, "p90_s"), U_DUR);
            putf(o, "<td>%s / %s / %s <small>(%lld)</small></td>", a, b, c,
                 (long long)json_integer_value(json_object_get(st, "count")));
        }
        put(o, "</tr>\n");
    }
    put(o, "</table>\n");
}

static void open_cases(struct out *o, json_t *k)
{
    json_t *list = json_object_get(k, "open_high_severity_cases");
    put(o, "<h2>Open high-severity cases</h2>");
    if (json_array_size(list) == 0) {
        put(o, "<p class=\"none\">None: no high or critical case is open.</p>\n");
        return;
    }
    put(o, "<table><tr><th>case</th><th>title</th><th>severity</th><th>status</th>"
           "<th>assignee</th><th>kind</th><th>opened</th></tr>\n");
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        static const char *const cols[] = {"id",       "title", NULL,     "status",
                                           "assignee", "kind",  "created"};
        put(o, "<tr>");
        for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++) {
            put(o, "<td>");
            if (cols[j] == NULL) {
                putf(o, "%lld ", (long long)json_integer_value(json_object_get(c, "severity")));
                esc(o, json_string_value(json_object_get(c, "severity_label")));
            } else {
                const char *v = json_string_value(json_object_get(c, cols[j]));
                esc(o, v != NULL && v[0] != '\0' ? v : "-");
            }
            put(o, "</td>");
        }
        put(o, "</tr>\n");
    }
    put(o, "</table>\n");
}

static const char STYLE[] =
    "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;"
    "max-width:1120px;color:#1c2733;background:#fff;padding:0 16px}"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;"
    "border-bottom:1px solid #dfe3e8;padding-bottom:4px}"
    ".sub{color:#5f6b7a;font-size:13px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px;"
    "margin-top:18px}"
    ".card{border:1px solid #dfe3e8;border-radius:8px;padding:12px 14px;background:#fafbfc}"
    ".ct{font-size:12px;color:#5f6b7a;text-transform:uppercase;letter-spacing:.04em}"
    ".cv{font-size:28px;font-weight:600;margin:4px 0}"
    ".t{font-size:12px}.good{color:#2e7d32}.bad{color:#c62828}.flat{color:#5f6b7a}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:16px}"
    "figure{margin:0;border:1px solid #dfe3e8;border-radius:8px;padding:10px 12px}"
    "figure.wide{grid-column:1/-1}figcaption{font-weight:600;margin-bottom:6px;font-size:14px}"
    "svg{max-width:100%;height:auto}svg text{font-size:11px;fill:#1c2733}"
    ".grid{stroke:#e6e9ed;stroke-width:1}.ax{fill:#5f6b7a}"
    ".legend{font-size:12px;color:#5f6b7a;margin-top:4px}"
    ".sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 8px;border-radius:2px}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{border-bottom:1px solid #e6e9ed;padding:6px 8px;text-align:left;vertical-align:top}"
    "th{background:#f3f5f7}.none{color:#5f6b7a;font-style:italic}"
    "@media print{.charts{grid-template-columns:1fr 1fr}}";

static rp_status render_html(json_t *k, struct buf *b)
{
    struct out o = {b, RP_OK};
    put(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Riposte security operations report</title><style>");
    put(&o, STYLE);
    put(&o, "</style></head><body>\n<h1>Security operations report</h1><div class=\"sub\">");
    esc(&o, json_string_value(at(k, "period.from")));
    put(&o, " &#8211; ");
    esc(&o, json_string_value(at(k, "period.to")));
    put(&o, " &#183; compared with ");
    esc(&o, json_string_value(at(k, "previous_period.from")));
    put(&o, " &#8211; ");
    esc(&o, json_string_value(at(k, "previous_period.to")));
    put(&o, " &#183; generated ");
    esc(&o, json_string_value(json_object_get(k, "generated")));
    put(&o, "</div>\n<div class=\"cards\">\n");
    card(&o, k, "Cases", "cases.total", U_COUNT, true);
    card(&o, k, "Mean time to detect", "times.detect.all.mean_s", U_DUR, true);
    card(&o, k, "Mean time to acknowledge", "times.acknowledge.all.mean_s", U_DUR, true);
    card(&o, k, "Mean time to contain", "times.contain.all.mean_s", U_DUR, true);
    card(&o, k, "Mean time to resolve", "times.resolve.all.mean_s", U_DUR, true);
    card(&o, k, "Automation rate", "automation.rate", U_PCT, false);
    card(&o, k, "SLA compliance", "sla.compliance", U_PCT, false);
    card(&o, k, "SLA breaches", "sla.breached", U_COUNT, true);
    card(&o, k, "Analyst time saved", "time_saved.hours", U_HOURS, false);
    card(&o, k, "Notifications sent", "communication.notifications", U_COUNT, false);
    card(&o, k, "Guard-rail interventions", "guard.interventions", U_COUNT, true);
    card(&o, k, "Post-mortems written", "postmortems.written", U_COUNT, false);
    put(&o, "</div>\n<h2>Charts</h2><div class=\"charts\">\n");
    line_chart(&o, k);
    bars_of(&o, k, "Cases by severity", "cases.by_severity", "#37474f");
    bars_of(&o, k, "Cases by use case (kind)", "cases.by_kind", "#1565c0");
    {
        static const char *const l[] = {"automated", "with a human step"};
        static const char *const p[] = {"automation.automated", "automation.with_human"};
        char title[96];
        double r;
        if (num(at(json_object_get(k, "current"), "automation.rate"), &r))
            snprintf(title, sizeof title, "Automation: resolved cases (%.0f%% automated)", r * 100);
        else
            snprintf(title, sizeof title, "Automation: resolved cases");
        pair_bars(&o, k, title, l, p, 2, U_COUNT, "#00897b");
    }
    sla_chart(&o, k);
    {
        static const char *const l[] = {"holds",       "denials",     "simulated",
                                        "budget hits", "kill switch", "protected assets",
                                        "blast radius"};
        static const char *const p[] = {
            "guard.holds",       "guard.denials",          "guard.simulated",   "guard.budget_hits",
            "guard.kill_switch", "guard.protected_assets", "guard.blast_radius"};
        pair_bars(&o, k, "Guard-rail interventions", l, p, 7, U_COUNT, "#6a1b9a");
    }
    put(&o, "</div>\n");
    times_table(&o, k);
    put(&o, "<h2>Communication and learning</h2><table><tr><th>figure</th><th>this period</th>"
            "<th>previous</th></tr>\n");
    static const struct {
        const char *label, *path;
        enum unit u;
    } ROWS[] = {
        {"Notifications sent", "communication.notifications", U_COUNT},
        {"Prompts asked", "communication.prompts_asked", U_COUNT},
        {"Prompts answered", "communication.prompts_answered", U_COUNT},
        {"Median time to answer a prompt", "communication.prompt_answer_p50_s", U_DUR},
        {"Cases with a post-mortem", "postmortems.cases_with", U_COUNT},
        {"Post-mortems written", "postmortems.written", U_COUNT},
        {"Guard rails added after incidents", "postmortems.guard_rails_added", U_COUNT},
        {"Successful automated actions", "time_saved.actions", U_COUNT},
    };
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        char c[64], p[64];
        fmt_val(c, sizeof c, at(json_object_get(k, "current"), ROWS[i].path), ROWS[i].u);
        fmt_val(p, sizeof p, at(json_object_get(k, "previous"), ROWS[i].path), ROWS[i].u);
        putf(&o, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", ROWS[i].label, c, p);
    }
    put(&o, "</table>\n");
    open_cases(&o, k);
    put(&o, "<p class=\"sub\">Definitions of every figure: docs/kpis.md. Times are from the "
            "cases opened in the period.</p>\n</body></html>\n");
    return o.st;
}

rp_status report_render(json_t *kpis, enum report_format f, struct buf *out)
{
    switch (f) {
    case REPORT_JSON:
        return render_json(kpis, out);
    case REPORT_CSV:
        return render_csv(kpis, out);
    case REPORT_HTML:
        return render_html(kpis, out);
    }
    return RP_E_USAGE;
}
