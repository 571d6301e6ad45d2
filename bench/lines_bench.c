/*
 * lines_bench.c: bench_lines, CEF and syslog lines turned into alerts per second
 * on one core (issue 3's target: 500,000 lines/s), beside two floors measured
 * in the same run on the same bytes.
 *
 *   bench_lines [N] [--json] [FILE...]
 *
 * Without FILE it generates N lines (default 200,000) of each of three sets,
 * deterministically (a fixed seed): "cef" (CEF events of four vendors, 250-400
 * bytes, 8-16 extension fields), "syslog-auth" (sshd and PAM lines as
 * /var/log/auth.log has them: failed and accepted logins, invalid users, PAM
 * failures, and one in five a "Connection closed" that is ignored), and
 * "syslog-cef" (the CEF set behind an RFC 3164 header, as a SIEM forwards it).
 * Each FILE given is one more set, read whole (its lines, formats detected
 * per line as syslog unless it starts with "CEF:").
 *
 * For each set, timed on one thread over the lines in memory by the thread's
 * CPU clock (so a busy machine slows the run, not the figure), best of 3 runs:
 *   split     memchr() over the buffer, one call per line: touching the bytes,
 *             the floor of any line reader;
 *   json      split, then a jansson object built with 12 string fields cut from
 *             the line: the allocation cost of an alert, without any parsing;
 *   parse     the parser: cef_parse_alert() or syslog_parse_alert(), which
 *             builds the alert object the pipeline hands to the gate (the
 *             figure the target is about);
 *   full      parse and alert_normalize() (validation, canonical values,
 *             observables, fingerprint, ids): what ingest costs before storage.
 * The allocator is set as the riposte binary sets it (no glibc fastbins,
 * src/cli/main.c); BENCH_FASTBINS=1 keeps glibc's default to compare.
 * Prints a table (or one JSON object per set with --json). Exit 1 when a
 * parser rejects a generated line (a bug) or a FILE cannot be read.
 */
#include "core/jsonmem.h"
#include "core/time.h"
#include "ingest/cef.h"
#include "ingest/syslog.h"
#include "model/alert.h"

#include <jansson.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lineset {
    const char *name;
    char *buf; /* lines, each ending in '\n' */
    size_t len;
    size_t lines;
    ingest_parse_fn fn;
};

/* The thread's CPU time, not the wall clock: the figure is lines per second of
 * one core, and other processes on the machine do not count against it. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: a fixed sequence, the same on every machine */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

struct gbuf {
    char *p;
    size_t len, cap;
};

static void gputs(struct gbuf *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->cap + n + 1) * 2;
        g->p = realloc(g->p, g->cap);
        if (g->p == NULL) {
            perror("bench_lines");
            exit(1);
        }
    }
    memcpy(g->p + g->len, s, n);
    g->len += n;
}

static const char *const MON[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* One CEF event of one of four shapes. */
static int cef_line(char *out, size_t cap)
{
    unsigned a = rnd(250) + 1, b = rnd(250) + 1, c = rnd(250) + 1, u = rnd(5000);
    unsigned h = rnd(60), m = rnd(60);
    switch (rnd(4)) {
    case 0:
        return snprintf(
            out, cap,
            "CEF:0|Palo Alto Networks|PAN-OS|10.1.6|THREAT|spyware|High|src=10.%u.%u.%u "
            "dst=203.0.113.%u spt=%u dpt=443 suser=corp\\\\user%u shost=ws-%u "
            "act=blocked request=http://evil%u.example/path/x.php cs1Label=Rule "
            "cs1=outbound-%u cs2Label=Zone cs2=trust rt=Nov 30 2025 %02u:%02u:17\n",
            a, b, c, c, 1024 + u, u, u, u, c, h % 24, m);
    case 1:
        return snprintf(
            out, cap,
            "CEF:0|CrowdStrike|FalconHost|1.0|DetectionSummaryEvent|Detection Summary "
            "Event|8|duser=user%u dhost=WS-%u dvc=10.%u.%u.%u sproc=powershell.exe "
            "spid=%u fname=payload%u.ps1 filePath=C:\\\\Users\\\\user%u\\\\payload.ps1 "
            "fileHash=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a%02x "
            "cs1Label=Tactic cs1=Execution cs2Label=Technique cs2=PowerShell "
            "rt=%u000\n",
            u, u, a, b, c, 1000 + u, u, u, a, 1764490000u + u);
    case 2:
        return snprintf(out, cap,
                        "CEF:0|Microsoft|Microsoft Windows|10|4625|An account failed to log "
                        "on|Medium|duser=user%u dntdom=CORP src=192.0.2.%u spt=%u "
                        "dhost=dc%u.corp.example outcome=failure cs1Label=LogonType cs1=3 "
                        "msg=Unknown user name or bad password. rt=Nov 30 2025 %02u:%02u:01\n",
                        u, a, 2000 + u, c % 4, h % 24, m);
    default:
        return snprintf(
            out, cap,
            "CEF:0|FORCEPOINT|Firewall|6.6.1|70019|Connection_Discarded|0|"
            "deviceExternalId=Firewall-%u node 1 dvc=10.1.1.%u dvchost=10.1.1.%u "
            "src=172.16.%u.%u dst=89.160.%u.%u spt=%u dpt=67 proto=17 "
            "deviceOutboundInterface=255 deviceFacility=Packet Filtering rt=Jan 17 2020 "
            "08:56:21 app=BOOTPS (UDP) cs1Label=RuleID cs1=%u.0\n",
            c % 16, a, a, b, c, a, b, 68 + u % 8, u);
    }
}

/* One auth.log line: mostly authentication events, one in five ignored. */
static int auth_line(char *out, size_t cap)
{
    unsigned a = rnd(250) + 1, b = rnd(250) + 1, u = rnd(5000), pid = 1000 + rnd(60000);
    unsigned d = rnd(28) + 1, h = rnd(24), m = rnd(60), s = rnd(60);
    const char *mon = MON[rnd(10)];
    int n = snprintf(out, cap, "%s %2u %02u:%02u:%02u bastion-%u sshd[%u]: ", mon, d, h, m, s,
                     a % 8, pid);
    if (n < 0 || (size_t)n >= cap)
        return n;
    char *p = out + n;
    size_t left = cap - (size_t)n;
    int k;
    switch (rnd(10)) {
    case 0:
    case 1:
    case 2:
    case 3:
        k = snprintf(p, left, "Failed password for %suser%u from 198.51.%u.%u port %u ssh2\n",
                     rnd(3) ? "" : "invalid user ", u, a, b, 1024 + u);
        break;
    case 4:
        k = snprintf(p, left,
                     "Accepted publickey for user%u from 10.0.%u.%u port %u ssh2: RSA "
                     "SHA256:pRbNmrQGxL%uYbKQpWUEJKcAtZvfd4ADSLWqE\n",
                     u, a, b, 1024 + u, u);
        break;
    case 5:
    case 6:
        k = snprintf(p, left,
                     "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                     "tty=ssh ruser= rhost=198.51.%u.%u  user=root\n",
                     a, b);
        break;
    case 7:
        k = snprintf(p, left, "Invalid user oracle%u from 203.0.113.%u port %u\n", u, a, 1024 + u);
        break;
    default:
        k = snprintf(p, left, "Connection closed by 198.51.%u.%u port %u [preauth]\n", a, b,
                     1024 + u);
        break;
    }
    return k < 0 ? k : n + k;
}

static struct lineset gen_set(const char *name, size_t n, int kind)
{
    struct gbuf g = {NULL, 0, 0};
    char line[2048];
    for (size_t i = 0; i < n; i++) {
        int k;
        if (kind == 0) {
            k = cef_line(line, sizeof(line));
        } else if (kind == 1) {
            k = auth_line(line, sizeof(line));
        } else {
            int h = snprintf(line, sizeof(line), "<134>Nov 30 %02u:%02u:%02u siem-fwd-%u ", rnd(24),
                             rnd(60), rnd(60), rnd(4));
            k = cef_line(line + h, sizeof(line) - (size_t)h);
            k = k < 0 ? k : k + h;
        }
        if (k < 0 || (size_t)k >= sizeof(line)) {
            fprintf(stderr, "bench_lines: a generated line is too long\n");
            exit(1);
        }
        gputs(&g, line, (size_t)k);
    }
    struct lineset s = {name, g.p, g.len, n, kind == 0 ? cef_parse_alert : syslog_parse_alert};
    return s;
}

static bool load_set(const char *path, struct lineset *s)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    struct gbuf g = {NULL, 0, 0};
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
        gputs(&g, chunk, r);
    fclose(f);
    if (g.len == 0 || g.p[g.len - 1] != '\n')
        gputs(&g, "\n", 1);
    size_t lines = 0;
    for (size_t i = 0; i < g.len; i++)
        lines += g.p[i] == '\n';
    s->name = path;
    s->buf = g.p;
    s->len = g.len;
    s->lines = lines;
    s->fn = g.len >= 4 && memcmp(g.p, "CEF:", 4) == 0 ? cef_parse_alert : syslog_parse_alert;
    return true;
}

enum mode { M_SPLIT, M_JSON, M_PARSE, M_FULL };

struct result {
    double seconds;
    size_t ok, ignored, rejected;
    uint64_t sink;
};

/* A jansson object of 12 fields cut from the line at fixed offsets: the cost
 * of the allocations an alert needs, with no parsing. */
static void json_floor(const char *l, size_t n, struct result *r)
{
    static const char *const keys[12] = {"kind", "source", "rule", "title", "severity", "host",
                                         "user", "src",    "dst",  "file",  "raw",      "extra"};
    json_t *o = json_object();
    for (int i = 0; i < 12; i++) {
        size_t at = (size_t)i * 7 % (n ? n : 1), len = n - at < 16 ? n - at : 16;
        json_object_set_new_nocheck(o, keys[i], json_stringn_nocheck(l + at, len));
    }
    r->sink += json_object_size(o);
    json_decref(o);
}

static struct result run(const struct lineset *s, enum mode m, int64_t received)
{
    struct result r = {0, 0, 0, 0, 0};
    struct alert_opts opts = {.received_ms = received, .default_source = "bench"};
    double t0 = now_s();
    const char *p = s->buf, *end = s->buf + s->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (m == M_SPLIT) {
            r.sink += n;
        } else if (m == M_JSON) {
            json_floor(p, n, &r);
        } else if (n > 0) {
            json_t *a = NULL;
            struct rp_error err;
            rp_status st = s->fn(p, n, &a, &err);
            if (st == RP_OK) {
                r.ok++;
                if (m == M_FULL) {
                    json_t *out = NULL;
                    if (alert_normalize(a, &opts, &out, &err) != RP_OK)
                        r.rejected++;
                    json_decref(out);
                }
                json_decref(a);
            } else if (st == RP_E_NOTFOUND) {
                r.ignored++;
            } else {
                r.rejected++;
                if (r.rejected <= 3)
                    fprintf(stderr, "bench_lines: %s: rejected: %s: %.*s\n", s->name, err.msg,
                            (int)(n > 160 ? 160 : n), p);
            }
        }
        p = nl ? nl + 1 : end;
    }
    r.seconds = now_s() - t0;
    return r;
}

static struct result best_of(const struct lineset *s, enum mode m, int64_t received, int runs)
{
    struct result best = run(s, m, received);
    for (int i = 1; i < runs; i++) {
        struct result r = run(s, m, received);
        if (r.seconds < best.seconds)
            best = r;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t n = 200000;
    bool json = false;
    struct lineset sets[16];
    size_t nsets = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] >= '0' && argv[i][0] <= '9') {
            n = (size_t)strtoull(argv[i], NULL, 10);
        } else if (nsets < 13) {
            if (!load_set(argv[i], &sets[nsets])) {
                fprintf(stderr, "bench_lines: %s: cannot read\n", argv[i]);
                return 1;
            }
            nsets++;
        }
    }
    /* the allocator as the binary sets it (src/cli/main.c): no fastbins, unless
     * BENCH_FASTBINS is set to compare */
    if (getenv("BENCH_FASTBINS") == NULL)
        mallopt(M_MXFAST, 0);
    /* and jansson's node cache (src/core/jsonmem.h), unless RIPOSTE_JSONMEM=0 */
    jsonmem_install();
    /* RFC 3164 and CEF times carry no zone: read them as UTC, as the tests do */
    setenv("TZ", "UTC", 1);
    tzset();
    struct lineset gen[3] = {gen_set("cef", n, 0), gen_set("syslog-auth", n, 1),
                             gen_set("syslog-cef", n, 2)};
    memmove(sets + 3, sets, nsets * sizeof(sets[0]));
    memcpy(sets, gen, sizeof(gen));
    nsets += 3;

    int64_t received = time_now_ms();
    int failed = 0;
    if (!json)
        printf("%-12s %9s %7s | %12s %12s | %12s %12s | %8s\n", "set", "lines", "bytes/l",
               "split l/s", "json l/s", "parse l/s", "full l/s", "ignored");
    for (size_t i = 0; i < nsets; i++) {
        const struct lineset *s = &sets[i];
        struct result sp = best_of(s, M_SPLIT, received, 3);
        struct result js = best_of(s, M_JSON, received, 3);
        struct result pa = best_of(s, M_PARSE, received, 3);
        struct result fu = best_of(s, M_FULL, received, 3);
        double lines = (double)s->lines;
        if (i < 3 && (pa.rejected > 0 || fu.rejected > 0))
            failed = 1;
        if (json) {
            printf("{\"set\":\"%s\",\"lines\":%zu,\"bytes\":%zu,\"split_lines_per_s\":%.0f,"
                   "\"json_lines_per_s\":%.0f,\"parse_lines_per_s\":%.0f,"
                   "\"full_lines_per_s\":%.0f,\"parse_mb_per_s\":%.1f,\"alerts\":%zu,"
                   "\"ignored\":%zu,\"rejected\":%zu,\"normalize_rejected\":%zu}\n",
                   s->name, s->lines, s->len, lines / sp.seconds, lines / js.seconds,
                   lines / pa.seconds, lines / fu.seconds, (double)s->len / pa.seconds / 1e6, pa.ok,
                   pa.ignored, pa.rejected, fu.rejected - pa.rejected);
        } else {
            printf("%-12.12s %9zu %7.0f | %12.0f %12.0f | %12.0f %12.0f | %8zu\n", s->name,
                   s->lines, (double)s->len / lines, lines / sp.seconds, lines / js.seconds,
                   lines / pa.seconds, lines / fu.seconds, pa.ignored);
        }
        if (sp.sink == 42 && js.sink == 42)
            putchar(' '); /* keeps the floors' work observable */
    }
    for (size_t i = 0; i < nsets; i++)
        free(sets[i].buf);
    return failed;
}
