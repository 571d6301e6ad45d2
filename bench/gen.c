/*
 * gen.c: bench_gen, the alert generator of the ingest benchmark (bench/run.sh).
 *
 *   bench_gen N SEED [NOW_S] > alerts.ndjson
 *
 * Writes N alerts as NDJSON in Riposte's normalized-alert input shape
 * (DESIGN.md §2): kinds endpoint, auth, phishing, network and other, about 200
 * rules, 5000 hosts, 2000 users, 100,000 files (md5, sha1, sha256), IPv4 and IPv6
 * addresses, and observables of every type. Exactly every fifth record (records
 * 5, 10, 15, ...) repeats an earlier, original record with a new event time:
 * same source, rule, host, user, files and observables, so the same fingerprint
 * whatever fields the fingerprint is made of. Each original carries an
 * observable marked "main" (Riposte's fingerprint takes the rule, host, user and
 * main observable) whose value is its own (a process hash, a source or
 * destination address, a link, a file name), so originals never share a
 * fingerprint: exactly a fifth of the file joins an existing case and four
 * fifths open new ones.
 *
 * Event times lie in the six hours before NOW_S (epoch seconds; default: the
 * current time), never after it. The output is a pure function of N, SEED and
 * NOW_S, so two runs with the same arguments give the same bytes.
 *
 * Single-threaded; memory is one record buffer. A record that would not fit its
 * buffer, or a failed write, ends the program with a message and exit code 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The shape of the population; DESIGN.md's benchmark issue asks for these. */
#define GEN_RULES     200
#define GEN_HOSTS     5000
#define GEN_USERS     2000
#define GEN_FILES     100000
#define GEN_DOMAINS   20000
#define GEN_DUP_EVERY 5

/* Event times are spread over this window before "now". */
#define GEN_WINDOW_MS (6LL * 3600 * 1000)

/* Largest N accepted: bounds the run time and the output (about 0.7 KB a
 * record, so 100 million records is 70 GB). */
#define GEN_MAX_RECORDS 100000000ULL
_Static_assert(GEN_MAX_RECORDS < 12ULL * ((1ULL << 24) - 1),
               "public_ip() needs distinct addresses");

/* One record. The longest the generator builds is about 1.5 KB. */
#define GEN_RECORD_MAX 8192

/* The output buffer of stdout: fewer, larger writes. */
#define GEN_STDOUT_BUF (1u << 20)

struct rng {
    uint64_t s;
};

/* splitmix64: small, fast, and good enough for synthetic data. */
static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). n > 0. The bias of the modulo is irrelevant here. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* A stream of its own for (seed, domain, index): record i's content does not
 * depend on what was drawn for other records, so a duplicate can rebuild its
 * original from the original's index alone. */
static struct rng rng_for(uint64_t seed, uint64_t domain, uint64_t index)
{
    struct rng r = {seed ^ (domain * 0xd1b54a32d192ed03ULL)};
    r.s ^= rng_next(&r) + index * 0x9e3779b97f4a7c15ULL;
    (void)rng_next(&r);
    return r;
}

/* --- the output record ------------------------------------------------------- */

struct rec {
    char buf[GEN_RECORD_MAX];
    size_t len;
};

static void rec_fail(void)
{
    fprintf(stderr, "bench_gen: a record exceeds %u bytes\n", (unsigned)GEN_RECORD_MAX);
    exit(1);
}

__attribute__((format(printf, 2, 3))) static void rec_add(struct rec *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof(o->buf) - o->len;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        rec_fail();
    o->len += (size_t)n;
}

/* Appends n lower-case hex digits drawn from r. */
static void rec_hex(struct rec *o, struct rng *r, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (n >= sizeof(o->buf) - o->len)
        rec_fail();
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0)
            bits = rng_next(r);
        o->buf[o->len++] = digits[bits & 0xf];
        bits >>= 4;
    }
    o->buf[o->len] = '\0';
}

/* --- vocabulary (no character here needs JSON escaping) ------------------------ */

static const char *const kinds[] = {"endpoint", "auth", "phishing", "network", "other"};
static const char *const sources[5][2] = {
    {"edr", "av"}, {"idp", "vpn"}, {"mailgw", "user-report"}, {"ids", "firewall"}, {"siem", "dlp"}};
static const char *const rule_words[5][8] = {
    {"suspicious_powershell", "credential_dumping", "ransomware_behaviour", "lolbin_execution",
     "unsigned_driver", "persistence_run_key", "process_injection", "malware_detected"},
    {"failed_logins_burst", "impossible_travel", "mfa_fatigue", "password_spray",
     "new_country_login", "legacy_auth", "admin_login_offhours", "token_replay"},
    {"credential_phish", "malicious_attachment", "bec_lookalike", "qr_phish", "html_smuggling",
     "reported_by_user", "spoofed_sender", "malicious_link"},
    {"c2_beacon", "port_scan", "dns_tunnel", "tor_exit_traffic", "smb_lateral", "exfil_volume",
     "rdp_bruteforce", "known_bad_ip"},
    {"dlp_upload", "policy_violation", "usb_mass_storage", "cloud_share_public", "audit_cleared",
     "new_admin_account", "siem_correlation", "honeytoken_touched"}};
static const char *const rule_titles[5][8] = {
    {"Suspicious PowerShell command line", "Credential dumping from LSASS",
     "Ransomware-like file activity", "Living-off-the-land binary executed",
     "Unsigned kernel driver loaded", "Persistence through a Run key", "Process injection detected",
     "Malware detected"},
    {"Burst of failed logins", "Impossible travel", "MFA push fatigue", "Password spray",
     "Login from a new country", "Legacy authentication used", "Admin login outside hours",
     "Session token replayed"},
    {"Credential phishing mail", "Malicious attachment delivered", "Business e-mail compromise",
     "QR-code phishing", "HTML smuggling attachment", "Mail reported by a user",
     "Spoofed internal sender", "Malicious link in mail"},
    {"Command-and-control beacon", "Port scan", "DNS tunnelling", "Traffic to a Tor exit",
     "SMB lateral movement", "Unusual outbound volume", "RDP brute force",
     "Connection to a known-bad address"},
    {"Upload of sensitive data", "Policy violation", "USB mass storage mounted",
     "Cloud share made public", "Security log cleared", "New administrator account",
     "SIEM correlation rule", "Honeytoken used"}};
static const char *const first_names[40] = {
    "alice",   "bob",    "carol", "dave",  "erin",  "frank",  "grace", "heidi",  "ivan",   "judy",
    "mallory", "nina",   "oscar", "peggy", "quinn", "rupert", "sybil", "trent",  "ursula", "victor",
    "wendy",   "xavier", "yara",  "zoe",   "amir",  "bianca", "chen",  "dmitri", "elif",   "fatima",
    "goran",   "hana",   "ines",  "jonas", "kofi",  "lena",   "mateo", "noor",   "olga",   "pavel"};
static const char *const words[16] = {
    "secure", "login", "account", "verify",  "update",  "portal",  "office", "mail",
    "cloud",  "files", "share",   "invoice", "billing", "support", "auth",   "drive"};
static const char *const zones[3] = {"example.com", "example.net", "example.org"};
static const char *const exe_names[12] = {
    "invoice.exe", "setup.exe", "update.exe", "svchost.exe", "rundll32.exe", "payload.dll",
    "report.scr",  "agent.exe", "tool.exe",   "loader.exe",  "helper.dll",   "patch.exe"};
static const char *const doc_ext[4] = {"docm", "xlsm", "pdf", "zip"};
static const char *const procs[6] = {"powershell.exe", "cmd.exe",      "wscript.exe",
                                     "mshta.exe",      "regsvr32.exe", "rundll32.exe"};
static const char *const oses[3] = {"windows", "linux", "macos"};
/* First octets of public, routable IPv4 space. */
static const unsigned public_a[12] = {23, 31, 45, 62, 77, 91, 104, 138, 151, 176, 185, 212};

/* --- the population: entities by index ------------------------------------------ */

static void host_name(struct rec *o, unsigned h)
{
    if (h % 10 == 0)
        rec_add(o, "srv-%04u", h);
    else
        rec_add(o, "ws-%04u", h);
}

/* An inside address of host h: 10.<site>.<subnet>.<n>, stable per host. */
static void host_ip(struct rec *o, unsigned h)
{
    rec_add(o, "10.%u.%u.%u", 1 + h % 7, (h / 7) % 250, 1 + (h / 1750) * 50 + h % 50);
}

static void user_name(struct rec *o, unsigned u)
{
    rec_add(o, "%s.%02u", first_names[u % 40], u / 40);
}

/* The public address of original record `origin`: IPv6 one time in five (drawn
 * from r), else IPv4. Distinct originals get distinct addresses (a bijection of
 * the index, scrambled), so that an address marked "main" keeps their
 * fingerprints apart. origin < 12 * 2^24, which GEN_MAX_RECORDS guarantees. */
static void public_ip(struct rec *o, struct rng *r, uint64_t origin)
{
    if (rng_below(r, 5) == 0) {
        rec_add(o, "2001:db8:%x:%x::%x", (unsigned)(origin >> 16) & 0xffffu,
                (unsigned)origin & 0xffffu, 1 + (unsigned)rng_below(r, 0xfffe));
        return;
    }
    uint32_t x = (uint32_t)(origin / 12 + 1) * 0x9e3779b1u & 0xffffffu;
    rec_add(o, "%u.%u.%u.%u", public_a[origin % 12], x >> 16, (x >> 8) & 0xffu, x & 0xffu);
}

static void domain_name(struct rec *o, unsigned d)
{
    rec_add(o, "%s-%s%u.%s", words[d % 16], words[(d / 16) % 16], d / 256, zones[d % 3]);
}

/* The hashes of file f: fixed per file, so a file seen on many hosts keeps them. */
static void file_hash(struct rec *o, uint64_t seed, unsigned f, size_t hexlen)
{
    struct rng r = rng_for(seed, 0xf11e0000 + hexlen, f);
    rec_hex(o, &r, hexlen);
}

/* --- records ---------------------------------------------------------------------- */

/* The parameters of an original record: everything but its event time. */
struct alert_plan {
    unsigned kind, rule, host, user, file, domain, port, pid, count;
    int severity;
};

static struct alert_plan plan_make(uint64_t seed, uint64_t index)
{
    struct rng r = rng_for(seed, 1, index);
    struct alert_plan p;
    /* Rules are skewed: a few noisy rules make most alerts, as in a real SOC. */
    unsigned rule = (unsigned)rng_below(&r, GEN_RULES);
    if (rng_below(&r, 2) == 0)
        rule = (unsigned)rng_below(&r, GEN_RULES / 10);
    p.rule = rule;
    p.kind = rule % 5;
    p.host = (unsigned)rng_below(&r, GEN_HOSTS);
    p.user = (unsigned)rng_below(&r, GEN_USERS);
    p.file = (unsigned)rng_below(&r, GEN_FILES);
    p.domain = (unsigned)rng_below(&r, GEN_DOMAINS);
    p.port = 1024 + (unsigned)rng_below(&r, 64000);
    p.pid = 100 + (unsigned)rng_below(&r, 60000);
    p.count = 5 + (unsigned)rng_below(&r, 96);
    int sev = (int)((rule * 37u) % 101u) + (int)rng_below(&r, 21) - 10;
    p.severity = sev < 0 ? 0 : sev > 100 ? 100 : sev;
    return p;
}

static void event_time(struct rec *o, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];
    if (gmtime_r(&secs, &tm) == NULL || strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        fprintf(stderr, "bench_gen: cannot format time %" PRId64 "\n", ms);
        exit(1);
    }
    rec_add(o, "\"%s.%03dZ\"", day, (int)(ms % 1000));
}

static void rec_endpoint(struct rec *o, uint64_t seed, uint64_t origin, const struct alert_plan *p)
{
    const char *exe = exe_names[p->file % 12];
    struct rec psha = {.len = 0};
    struct rng pr = rng_for(seed, 6, origin);
    rec_hex(&psha, &pr, 64); /* the process image: this alert's own */
    rec_add(o, ",\"host\":{\"name\":\"");
    host_name(o, p->host);
    rec_add(o, "\",\"ip\":\"");
    host_ip(o, p->host);
    rec_add(o, "\",\"os\":\"%s\"},\"user\":{\"name\":\"", oses[p->host % 3]);
    user_name(o, p->user);
    rec_add(o,
            "\",\"domain\":\"CORP\"},\"process\":{\"name\":\"%s\",\"pid\":%u,\"cmdline\":\"%s "
            "-nop -w hidden -enc JAB%05u\",\"sha256\":\"%s\"},",
            procs[p->rule % 6], p->pid, procs[p->rule % 6], p->file, psha.buf);
    rec_add(o,
            "\"file\":{\"name\":\"%s\",\"path\":\"C:\\\\Users\\\\Public\\\\%s\",\"size\":%u,"
            "\"md5\":\"",
            exe, exe, 4096 + p->file * 7);
    file_hash(o, seed, p->file, 32);
    rec_add(o, "\",\"sha1\":\"");
    file_hash(o, seed, p->file, 40);
    rec_add(o, "\",\"sha256\":\"");
    file_hash(o, seed, p->file, 64);
    rec_add(o,
            "\"},\"observables\":[{\"type\":\"sha256\",\"value\":\"%s\",\"role\":\"main\"},"
            "{\"type\":\"sha256\",\"value\":\"",
            psha.buf);
    file_hash(o, seed, p->file, 64);
    rec_add(o, "\"},{\"type\":\"filename\",\"value\":\"%s\"},{\"type\":\"hostname\",\"value\":\"",
            exe);
    host_name(o, p->host);
    rec_add(o, "\"}]");
}

static void rec_auth(struct rec *o, uint64_t seed, uint64_t index, const struct alert_plan *p)
{
    struct rng r = rng_for(seed, 2, index);
    struct rec ip = {.len = 0};
    public_ip(&ip, &r, index);
    bool v6 = strchr(ip.buf, ':') != NULL;
    rec_add(o, ",\"host\":{\"name\":\"");
    host_name(o, p->host - p->host % 10); /* the servers people log in to */
    rec_add(o, "\"},\"user\":{\"name\":\"");
    user_name(o, p->user);
    rec_add(o, "\",\"email\":\"");
    user_name(o, p->user);
    rec_add(o, "@example.com\",\"domain\":\"CORP\"},\"src\":{\"ip\":\"%s\",\"port\":%u},", ip.buf,
            p->port);
    rec_add(o, "\"auth\":{\"result\":\"failure\",\"method\":\"%s\",\"count\":%u,\"window_s\":300},",
            p->rule % 2 ? "password" : "mfa_push", p->count);
    rec_add(o,
            "\"observables\":[{\"type\":\"%s\",\"value\":\"%s\",\"role\":\"main\"},"
            "{\"type\":\"user\",\"value\":\"",
            v6 ? "ipv6" : "ipv4", ip.buf);
    user_name(o, p->user);
    rec_add(o, "\"},{\"type\":\"email\",\"value\":\"");
    user_name(o, p->user);
    rec_add(o, "@example.com\"}]");
}

static void rec_phishing(struct rec *o, uint64_t seed, uint64_t origin, const struct alert_plan *p)
{
    struct rec dom = {.len = 0};
    domain_name(&dom, p->domain);
    const char *ext = doc_ext[p->file % 4];
    rec_add(o, ",\"user\":{\"name\":\"");
    user_name(o, p->user);
    rec_add(o, "\",\"email\":\"");
    user_name(o, p->user);
    rec_add(o,
            "@example.com\"},\"email\":{\"message_id\":\"<%u.%u@%s>\",\"from\":\"billing@%s\","
            "\"to\":[\"",
            p->domain, p->file, dom.buf, dom.buf);
    user_name(o, p->user);
    rec_add(o,
            "@example.com\"],\"subject\":\"Invoice %u overdue\",\"urls\":[\"https://%s/%s/"
            "%u-%" PRIu64 "\"],",
            p->file, dom.buf, words[p->rule % 16], p->file, origin);
    rec_add(o,
            "\"attachments\":[{\"name\":\"invoice-%u.%s\",\"type\":\"application/octet-stream\","
            "\"size\":%u,\"sha256\":\"",
            p->file, ext, 20000 + p->file);
    file_hash(o, seed, p->file, 64);
    rec_add(o,
            "\"}]},\"observables\":[{\"type\":\"url\",\"value\":\"https://%s/%s/%u-%" PRIu64
            "\",\"role\":\"main\"},"
            "{\"type\":\"domain\",\"value\":\"%s\"},{\"type\":\"email\",\"value\":\"billing@%s\"},"
            "{\"type\":\"sha256\",\"value\":\"",
            dom.buf, words[p->rule % 16], p->file, origin, dom.buf, dom.buf);
    file_hash(o, seed, p->file, 64);
    rec_add(o, "\"}]");
}

static void rec_network(struct rec *o, uint64_t seed, uint64_t index, const struct alert_plan *p)
{
    struct rng r = rng_for(seed, 3, index);
    struct rec ip = {.len = 0};
    struct rec dom = {.len = 0};
    public_ip(&ip, &r, index);
    domain_name(&dom, p->domain);
    bool v6 = strchr(ip.buf, ':') != NULL;
    rec_add(o, ",\"host\":{\"name\":\"");
    host_name(o, p->host);
    rec_add(o, "\",\"ip\":\"");
    host_ip(o, p->host);
    rec_add(o, "\"},\"src\":{\"ip\":\"");
    host_ip(o, p->host);
    rec_add(o, "\",\"port\":%u},\"dst\":{\"ip\":\"%s\",\"port\":%u},", p->port, ip.buf,
            p->rule % 2 ? 443u : 53u);
    rec_add(o,
            "\"observables\":[{\"type\":\"%s\",\"value\":\"%s\",\"role\":\"main\"},"
            "{\"type\":\"domain\",\"value\":"
            "\"%s\"},{\"type\":\"md5\",\"value\":\"",
            v6 ? "ipv6" : "ipv4", ip.buf, dom.buf);
    file_hash(o, seed, p->file, 32);
    rec_add(o, "\"}]");
}

static void rec_other(struct rec *o, uint64_t seed, uint64_t origin, const struct alert_plan *p)
{
    rec_add(o, ",\"host\":{\"name\":\"");
    host_name(o, p->host);
    rec_add(o, "\"},\"user\":{\"name\":\"");
    user_name(o, p->user);
    rec_add(o, "\"},\"observables\":[{\"type\":\"hostname\",\"value\":\"");
    host_name(o, p->host);
    rec_add(o, ".corp.example.com\"},{\"type\":\"sha1\",\"value\":\"");
    file_hash(o, seed, p->file, 40);
    rec_add(
        o, "\"},{\"type\":\"filename\",\"value\":\"export-%u-%" PRIu64 ".csv\",\"role\":\"main\"}]",
        p->file, origin);
}

/* Builds record `index` (0-based) in o: the original `origin` (itself, or the
 * earlier record it repeats) with the event time drawn for `index`. */
static void rec_build(struct rec *o, uint64_t seed, uint64_t index, uint64_t origin, int64_t now_ms)
{
    struct alert_plan p = plan_make(seed, origin);
    struct rng tr = rng_for(seed, 4, index);
    int64_t ms = now_ms - 1 - (int64_t)rng_below(&tr, (uint64_t)GEN_WINDOW_MS);
    unsigned word = p.rule / 5 % 8;

    o->len = 0;
    rec_add(o, "{\"source\":\"%s\",\"kind\":\"%s\",\"rule\":\"%s.%s.%03u\",\"title\":\"%s",
            sources[p.kind][p.rule / 40 % 2], kinds[p.kind], kinds[p.kind],
            rule_words[p.kind][word], p.rule, rule_titles[p.kind][word]);
    if (p.kind == 1 || p.kind == 2) {
        rec_add(o, " for ");
        user_name(o, p.user);
    } else {
        rec_add(o, " on ");
        host_name(o, p.host);
    }
    rec_add(o, "\",\"severity\":%d,\"event_time\":", p.severity);
    event_time(o, ms);
    switch (p.kind) {
    case 0:
        rec_endpoint(o, seed, origin, &p);
        break;
    case 1:
        rec_auth(o, seed, origin, &p);
        break;
    case 2:
        rec_phishing(o, seed, origin, &p);
        break;
    case 3:
        rec_network(o, seed, origin, &p);
        break;
    default:
        rec_other(o, seed, origin, &p);
        break;
    }
    rec_add(o, "}\n");
}

/* The original that duplicate `index` repeats: an earlier record that is not
 * itself a duplicate, chosen at random among all of them. */
static uint64_t dup_origin(uint64_t seed, uint64_t index)
{
    struct rng r = rng_for(seed, 5, index);
    uint64_t j;
    do {
        j = rng_below(&r, index);
    } while ((j + 1) % GEN_DUP_EVERY == 0);
    return j;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    uint64_t n, seed, now_s;
    if (argc < 3 || argc > 4 || !parse_u64(argv[1], &n) || !parse_u64(argv[2], &seed) ||
        (argc == 4 && !parse_u64(argv[3], &now_s))) {
        fprintf(stderr,
                "usage: bench_gen N SEED [NOW_S] > alerts.ndjson\n"
                "  N alerts (at most %llu), every %dth a repeat of an earlier one;\n"
                "  event times in the 6 hours before NOW_S (epoch seconds, default now)\n",
                GEN_MAX_RECORDS, GEN_DUP_EVERY);
        return 2;
    }
    if (n > GEN_MAX_RECORDS) {
        fprintf(stderr, "bench_gen: N is at most %llu\n", GEN_MAX_RECORDS);
        return 2;
    }
    if (argc < 4)
        now_s = (uint64_t)time(NULL);
    if (now_s < 86400 || now_s > 100000000000ULL) {
        fprintf(stderr, "bench_gen: NOW_S %" PRIu64 " is not a plausible epoch time\n", now_s);
        return 2;
    }
    int64_t now_ms = (int64_t)now_s * 1000;

    static char outbuf[GEN_STDOUT_BUF];
    if (setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf)) != 0) {
        fprintf(stderr, "bench_gen: setvbuf failed\n");
        return 1;
    }

    static struct rec o;
    uint64_t bytes = 0, dups = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t origin = i;
        if ((i + 1) % GEN_DUP_EVERY == 0) {
            origin = dup_origin(seed, i);
            dups++;
        }
        rec_build(&o, seed, i, origin, now_ms);
        if (fwrite(o.buf, 1, o.len, stdout) != o.len) {
            fprintf(stderr, "bench_gen: write failed: %s\n", strerror(errno));
            return 1;
        }
        bytes += o.len;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "bench_gen: write failed: %s\n", strerror(errno));
        return 1;
    }
    fprintf(stderr,
            "{\"records\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"seed\":%" PRIu64 ",\"now_s\":%" PRIu64 "}\n",
            n, dups, bytes, seed, now_s);
    return 0;
}
