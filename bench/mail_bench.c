/*
 * mail_bench.c: mails parsed and IOC-extracted per second (bench/RESULTS-mail.md).
 *
 *   bench_mail [--passes N] [--no-extract] [DIR]
 *
 * Loads every regular file of DIR (default: ../shared/corpus/email, the shared
 * mail corpus next to the repository, run from the repository) into memory, then runs N passes
 * (default 20) over them on one thread: each mail through mail_parse_alert() (GMime, bodies to
 * UTF-8, links, attachment hashes: the whole alert), then, unless
 * --no-extract, extract_iocs() over the alert's body_text and body_html, as a
 * playbook enriching the alert would. The first pass is a warm-up and is not
 * timed. Prints one JSON object: mails, bytes, passes, seconds (wall) and
 * cpu_seconds (this process's CPU time: what other load on the machine does
 * not change), mails_per_s, mails_per_cpu_s, mb_per_s, alerts, rejected, iocs
 * (per pass). Rejected mails (an empty file)
 * are counted and timed like the rest. Main thread only; exits 1 when nothing
 * could be read, 2 on a usage error.
 */
#include "core/jsonmem.h"
#include "ingest/mail.h"
#include "intel/extract.h"

#include <dirent.h>
#include <jansson.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct mail {
    char *data;
    size_t len;
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_ioc(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    (void)type;
    (void)value;
    (void)len;
    (void)offset;
    (*(size_t *)arg)++;
    return 0;
}

/* Reads a whole file into m; false when it cannot. */
static bool load(const char *path, struct mail *m)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return false;
    }
    m->len = (size_t)st.st_size;
    m->data = malloc(m->len + 1);
    bool ok = m->data != NULL && fread(m->data, 1, m->len, f) == m->len;
    fclose(f);
    if (!ok) {
        free(m->data);
        m->data = NULL;
    }
    return ok;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int passes = 20;
    bool extract = true;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
            passes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--no-extract") == 0) {
            extract = false;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_mail [--passes N] [--no-extract] [DIR]\n");
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (passes < 1) {
        fprintf(stderr, "bench_mail: --passes must be at least 1\n");
        return 2;
    }
    /* the allocator as the binary sets it (src/cli/main.c): no fastbins, unless
     * BENCH_FASTBINS is set to compare, and jansson's node cache
     * (src/core/jsonmem.h) unless RIPOSTE_JSONMEM=0 */
    if (getenv("BENCH_FASTBINS") == NULL)
        mallopt(M_MXFAST, 0);
    jsonmem_install();
    char def[4096];
    if (dir == NULL) {
        /* from the repository: ../shared/corpus/email; from a build directory
         * inside it, the same found through this source file's path */
        struct stat st;
        const char *src = __FILE__;
        const char *slash = strrchr(src, '/');
        int l = slash ? (int)(slash - src) : 0;
        snprintf(def, sizeof(def), "%.*s%s../../shared/corpus/email", l, src, l ? "/" : "");
        dir = stat("../shared/corpus/email", &st) == 0 ? "../shared/corpus/email" : def;
    }

    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "bench_mail: cannot open %s\n", dir);
        return 1;
    }
    char *names[8192];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nn < sizeof(names) / sizeof(names[0])) {
        if (e->d_name[0] == '.')
            continue;
        names[nn] = strdup(e->d_name);
        if (names[nn] != NULL)
            nn++;
    }
    closedir(d);
    qsort(names, nn, sizeof(names[0]), cmp);
    struct mail *mails = calloc(nn ? nn : 1, sizeof(*mails));
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < nn; i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (mails != NULL && load(path, &mails[n]))
            bytes += mails[n++].len;
        free(names[i]);
    }
    if (n == 0) {
        fprintf(stderr, "bench_mail: no files read in %s\n", dir);
        free(mails);
        return 1;
    }

    size_t alerts = 0, rejected = 0, iocs = 0;
    double start = 0, cpu_start = 0;
    for (int p = 0; p <= passes; p++) {
        if (p == 1) { /* pass 0 warms caches and GMime's one-time set-up */
            start = clock_s(CLOCK_MONOTONIC);
            cpu_start = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        }
        alerts = rejected = iocs = 0;
        for (size_t i = 0; i < n; i++) {
            json_t *a = NULL;
            struct rp_error err;
            if (mail_parse_alert(mails[i].data, mails[i].len, &a, &err) != RP_OK) {
                rejected++;
                continue;
            }
            alerts++;
            if (extract) {
                json_t *em = json_object_get(a, "email");
                const char *keys[2] = {"body_text", "body_html"};
                for (int k = 0; k < 2; k++) {
                    json_t *t = json_object_get(em, keys[k]);
                    if (t != NULL && extract_iocs(json_string_value(t), json_string_length(t),
                                                  count_ioc, &iocs) != RP_OK)
                        fprintf(stderr, "bench_mail: extract_iocs failed\n");
                }
            }
            json_decref(a);
        }
    }
    double secs = clock_s(CLOCK_MONOTONIC) - start;
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    printf("{\"tool\":\"bench_mail\",\"mails\":%zu,\"bytes\":%zu,\"passes\":%d,\"extract\":%s,"
           "\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"mails_per_s\":%.0f,"
           "\"mails_per_cpu_s\":%.0f,\"mb_per_s\":%.1f,\"alerts\":%zu,\"rejected\":%zu,"
           "\"iocs\":%zu}\n",
           n, bytes, passes, extract ? "true" : "false", secs, cpu, (double)n * passes / secs,
           (double)n * passes / cpu, (double)bytes * passes / secs / 1e6, alerts, rejected, iocs);
    for (size_t i = 0; i < n; i++)
        free(mails[i].data);
    free(mails);
    return 0;
}
