/*
 * extract_bench.c: bench_extract, the speed of IOC extraction (intel/extract.h)
 * with two baselines measured in the same run over the same bytes.
 *
 *   bench_extract [--seconds S] NAME=PATH...
 *
 * Each PATH (a file, or a directory whose regular files are all read) is one
 * corpus, loaded into memory file by file; each file is one text, extracted on
 * its own as a mail or a report would be. For each corpus the passes below run
 * over every file, repeated until S seconds (default 2) have passed, after one
 * untimed warm-up pass, and one JSON line is printed (rates per second of CPU
 * time on one core):
 *   {"corpus":NAME,"files":F,"bytes":B,"indicators":I,
 *    "extract_mb_per_s":..,"extract_files_per_s":..,"indicators_per_s":..,
 *    "memchr_mb_per_s":..,"pcre2_ipv4_mb_per_s":..,"pcre2_naive_mb_per_s":..,
 *    "pcre2_naive_matches":M}
 *
 * The baselines:
 *   memchr        counts the newlines with memchr(): the cost of touching every
 *                 byte once, an upper bound for any scanner;
 *   pcre2_ipv4    PCRE2 with JIT running one naive IPv4 regex
 *                 (\b(?:\d{1,3}\.){3}\d{1,3}\b) over the text: what a single
 *                 regex costs, with no defangs and no validation;
 *   pcre2_naive   PCRE2 with JIT running one naive regex per type, one after
 *                 the other, as regex-based extractors do (IPv4, URL, email,
 *                 domain, hex hash, CVE), without defangs, the suffix list,
 *                 canonical forms or de-duplication: the least such a tool does.
 * Exit 1 when a corpus cannot be read or a regex does not compile, 2 on usage.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "intel/extract.h"

#include <dirent.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Files per corpus and bytes per file; the corpora are a few MB. */
#define BX_FILES_MAX 4096
#define BX_FILE_MAX  (64u * 1024u * 1024u)

struct text {
    char *data;
    size_t len;
};

struct corpus {
    const char *name;
    struct text files[BX_FILES_MAX];
    size_t nfiles, bytes;
};

/* CPU time of this thread, not wall time: the figures are per core, and a
 * shared or loaded machine does not change them much. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool load_file(struct corpus *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)BX_FILE_MAX ||
        c->nfiles == BX_FILES_MAX) {
        fclose(f);
        return false;
    }
    size_t n = (size_t)st.st_size;
    char *d = malloc(n + 1);
    if (d == NULL || fread(d, 1, n, f) != n) {
        free(d);
        fclose(f);
        return false;
    }
    fclose(f);
    d[n] = '\0';
    c->files[c->nfiles++] = (struct text){d, n};
    c->bytes += n;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool load(struct corpus *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (!S_ISDIR(st.st_mode))
        return load_file(c, path);
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    char *names[BX_FILES_MAX];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < BX_FILES_MAX) {
        if (e->d_name[0] == '.')
            continue;
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(l);
        if (names[n] == NULL)
            break;
        snprintf(names[n], l, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (size_t k = 0; k < n; k++) {
        struct stat fs;
        if (stat(names[k], &fs) == 0 && S_ISREG(fs.st_mode) && !load_file(c, names[k]))
            fprintf(stderr, "bench_extract: cannot read %s\n", names[k]);
        free(names[k]);
    }
    return c->nfiles > 0;
}

static int count_ioc(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    (void)type;
    (void)value;
    (void)len;
    (void)offset;
    (*(uint64_t *)arg)++;
    return 0;
}

/* --- the passes: each returns a count so that nothing is optimised away --- */

static uint64_t pass_extract(const struct corpus *c)
{
    uint64_t n = 0;
    for (size_t k = 0; k < c->nfiles; k++)
        if (extract_iocs(c->files[k].data, c->files[k].len, count_ioc, &n) != RP_OK)
            n += 0; /* RP_E_LIMIT cannot happen on these corpora; counted as is */
    return n;
}

static uint64_t pass_memchr(const struct corpus *c)
{
    uint64_t n = 0;
    for (size_t k = 0; k < c->nfiles; k++) {
        const char *p = c->files[k].data, *end = p + c->files[k].len;
        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            n++;
            p++;
        }
    }
    return n;
}

struct regex {
    pcre2_code *code;
    pcre2_match_data *md;
};

static uint64_t regex_count(const struct regex *r, const struct text *t)
{
    uint64_t n = 0;
    PCRE2_SIZE off = 0;
    while (off <= t->len) {
        int rc = pcre2_jit_match(r->code, (PCRE2_SPTR)t->data, t->len, off, 0, r->md, NULL);
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        n++;
        off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    return n;
}

static uint64_t pass_regexes(const struct corpus *c, const struct regex *rs, size_t nr)
{
    uint64_t n = 0;
    for (size_t k = 0; k < c->nfiles; k++)
        for (size_t r = 0; r < nr; r++)
            n += regex_count(&rs[r], &c->files[k]);
    return n;
}

static bool regex_compile(struct regex *r, const char *pattern)
{
    int err;
    PCRE2_SIZE at;
    r->code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &err, &at, NULL);
    if (r->code == NULL || pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) != 0) {
        fprintf(stderr, "bench_extract: regex %s does not compile\n", pattern);
        return false;
    }
    r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
    return r->md != NULL;
}

/* Runs pass over c until seconds have passed (after one untimed pass); the rate
 * of passes per second; *count gets the count of one pass. */
static double timed(double seconds, uint64_t (*pass)(const struct corpus *), const struct corpus *c,
                    uint64_t *count)
{
    *count = pass(c);
    double t0 = now_s(), t;
    uint64_t reps = 0;
    do {
        if (pass(c) != *count)
            fprintf(stderr, "bench_extract: a pass counted differently\n");
        reps++;
        t = now_s() - t0;
    } while (t < seconds);
    return (double)reps / t;
}

static struct regex IPV4, NAIVE[6];

static uint64_t pass_ipv4(const struct corpus *c)
{
    return pass_regexes(c, &IPV4, 1);
}

static uint64_t pass_naive(const struct corpus *c)
{
    return pass_regexes(c, NAIVE, sizeof(NAIVE) / sizeof(NAIVE[0]));
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--seconds") == 0) {
        seconds = atof(argv[2]);
        first = 3;
    }
    if (first >= argc || seconds <= 0) {
        fprintf(stderr, "usage: bench_extract [--seconds S] NAME=PATH...\n");
        return 2;
    }
    static const char *const naive[] = {
        "\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b",
        "\\b(?:https?|ftp)://[^\\s\"'<>]+",
        "\\b[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}\\b",
        "\\b(?:[a-z0-9-]+\\.)+[a-z]{2,}\\b",
        "\\b(?:[a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64}|[a-f0-9]{128})\\b",
        "\\bcve-\\d{4}-\\d{4,7}\\b",
    };
    if (!regex_compile(&IPV4, naive[0]))
        return 1;
    for (size_t r = 0; r < sizeof(naive) / sizeof(naive[0]); r++)
        if (!regex_compile(&NAIVE[r], naive[r]))
            return 1;

    for (int a = first; a < argc; a++) {
        static struct corpus c;
        for (size_t k = 0; k < c.nfiles; k++)
            free(c.files[k].data);
        memset(&c, 0, sizeof(c));
        char *eq = strchr(argv[a], '=');
        if (eq == NULL) {
            fprintf(stderr, "usage: bench_extract [--seconds S] NAME=PATH...\n");
            return 2;
        }
        *eq = '\0';
        c.name = argv[a];
        if (!load(&c, eq + 1)) {
            fprintf(stderr, "bench_extract: cannot read %s\n", eq + 1);
            return 1;
        }
        uint64_t iocs, lines, v4, naive_n;
        double r_ext = timed(seconds, pass_extract, &c, &iocs);
        double r_mem = timed(seconds, pass_memchr, &c, &lines);
        double r_v4 = timed(seconds, pass_ipv4, &c, &v4);
        double r_naive = timed(seconds, pass_naive, &c, &naive_n);
        double mb = (double)c.bytes / 1e6;
        printf("{\"corpus\":\"%s\",\"files\":%zu,\"bytes\":%zu,\"indicators\":%llu,"
               "\"extract_mb_per_s\":%.1f,\"extract_files_per_s\":%.0f,\"indicators_per_s\":%.0f,"
               "\"memchr_mb_per_s\":%.0f,\"pcre2_ipv4_mb_per_s\":%.1f,\"pcre2_ipv4_matches\":%llu,"
               "\"pcre2_naive_mb_per_s\":%.1f,\"pcre2_naive_matches\":%llu}\n",
               c.name, c.nfiles, c.bytes, (unsigned long long)iocs, mb * r_ext,
               (double)c.nfiles * r_ext, (double)iocs * r_ext, mb * r_mem, mb * r_v4,
               (unsigned long long)v4, mb * r_naive, (unsigned long long)naive_n);
        fflush(stdout);
    }
    return 0;
}
