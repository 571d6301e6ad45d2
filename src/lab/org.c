/*
 * org.c: the lab's synthetic organisation, generated from a seed.
 *
 * One pseudo-random stream (splitmix64 of the seed) draws, in a fixed order,
 * 50 hosts, 100 users with mailboxes, 16 files (10 malicious), 30 EDR
 * detections tying hosts, users and files together, threat-intel verdicts for
 * files, URLs, domains and IPs, and MISP events; the same seed gives the same
 * organisation byte for byte (timestamps count back from base_ms). The state the
 * vendors change (containment, statuses, deleted mail, added IOCs) lives in the
 * same structs; lab_org_init puts it all back. Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include "core/hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rng_below(struct rng *g, unsigned n)
{
    return n == 0 ? 0 : (unsigned)(rng_next(g) % n);
}

static void rng_hex(struct rng *g, char *out, size_t nhex)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < nhex; i++)
        out[i] = hx[rng_below(g, 16)];
    out[nhex] = '\0';
}

static void rng_alnum(struct rng *g, char *out, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        out[i] = al[rng_below(g, sizeof(al) - 1)];
    out[n] = '\0';
}

static void rng_uuid(struct rng *g, char out[37])
{
    char h[33];
    rng_hex(g, h, 32);
    snprintf(out, 37, "%.8s-%.4s-4%.3s-a%.3s-%.12s", h, h + 8, h + 13, h + 17, h + 20);
}

void lab_time(int64_t ms, bool millis, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis)
        snprintf(out, 40, "%s.%03dZ", base, (int)(ms % 1000));
    else
        snprintf(out, 40, "%sZ", base);
}

static const char *const firsts[] = {
    "Alice", "Bruno",  "Chloe",  "Dmitri", "Elena", "Farid", "Grace", "Hugo",    "Ines",   "Jonas",
    "Keiko", "Liam",   "Maya",   "Nils",   "Olga",  "Pavel", "Quinn", "Rosa",    "Samir",  "Tara",
    "Umar",  "Vera",   "Wendy",  "Xavier", "Yuki",  "Zoe",   "Amir",  "Beatriz", "Carlos", "Dana",
    "Emil",  "Fatima", "Gustav", "Hana",   "Ivan",  "Julia", "Kofi",  "Lena",    "Marco",  "Nadia",
};
static const char *const lasts[] = {
    "Adler",  "Berger", "Costa",    "Dubois",    "Eriksen", "Fischer", "Garcia", "Hansen",
    "Ito",    "Jensen", "Kowalski", "Larsen",    "Moreau",  "Novak",   "Okafor", "Petrov",
    "Quispe", "Rossi",  "Silva",    "Tanaka",    "Ueda",    "Vargas",  "Weber",  "Xu",
    "Yilmaz", "Zimmer", "Andersen", "Bianchi",   "Chen",    "Dias",    "Eklund", "Ferreira",
    "Gruber", "Horvat", "Ibrahim",  "Jovanovic",
};
static const char *const depts[] = {"Finance", "Engineering", "Sales",     "HR",
                                    "IT",      "Legal",       "Marketing", "Operations"};
static const char *const mal_names[] = {
    "Invoice_2291.pdf.exe", "svch0st.exe",     "update_helper.ps1", "winlogon32.dll",
    "payload.bin",          "chrome_upd.exe",  "rdpclip64.exe",     "mimikatz.exe",
    "AdobeUpdate.scr",      "teams_patch.exe",
};
static const char *const good_names[] = {"7z.exe",     "putty.exe", "notepad++.exe",
                                         "python.exe", "zoom.exe",  "git.exe"};
static const char *const mal_class[] = {"Malware", "PUP", "Malware", "Trojan", "Malware"};

static const struct {
    const char *name, *tactic, *technique;
} behaviours[] = {
    {"Suspicious PowerShell download cradle", "Execution", "T1059.001"},
    {"Credential dumping from LSASS", "Credential Access", "T1003.001"},
    {"Malicious attachment executed", "Initial Access", "T1566.001"},
    {"Process injection into explorer.exe", "Defense Evasion", "T1055"},
    {"Scheduled task persistence", "Persistence", "T1053.005"},
    {"Outbound beacon to known C2", "Command and Control", "T1071.001"},
    {"Ransomware file encryption behaviour", "Impact", "T1486"},
    {"Lateral movement over SMB", "Lateral Movement", "T1021.002"},
};

static const char *const subjects[] = {
    "Quarterly planning notes",    "Lunch on Friday?",
    "Updated travel policy",       "Re: customer escalation",
    "Build failed on main",        "Your expense report",
    "Team offsite agenda",         "Password expiry notice",
    "Minutes from Monday",         "New hire onboarding",
    "Security awareness training", "Q3 budget draft",
};
static const char *const c2_domains[] = {"cdn-update-check.example", "telemetry-sync.example",
                                         "files-share-dl.example", "auth-verify-login.example"};
static const char *const phish_domains[] = {"secure-invoicing.example", "payroll-notice.example",
                                            "docs-shared-file.example"};

static void lower(char *s)
{
    for (; *s != '\0'; s++)
        *s = (char)tolower((unsigned char)*s);
}

static struct lab_intel *add_intel(struct lab_org *org, enum lab_intel_kind k, const char *v,
                                   bool mal, struct rng *g)
{
    if (org->nintel >= LAB_INTEL_MAX)
        return NULL;
    struct lab_intel *in = &org->intel[org->nintel++];
    memset(in, 0, sizeof(*in));
    in->kind = k;
    snprintf(in->value, sizeof(in->value), "%s", v);
    in->malicious = mal;
    in->misp_event = -1;
    if (mal) {
        in->malicious_n = 20 + (int)rng_below(g, 40);
        in->suspicious_n = (int)rng_below(g, 6);
        in->harmless_n = 0;
        in->undetected_n = 72 - in->malicious_n - in->suspicious_n;
        in->abuse_score = 60 + (int)rng_below(g, 41);
        in->abuse_reports = 10 + (int)rng_below(g, 300);
    } else {
        in->harmless_n = k == LAB_INTEL_FILE ? 0 : 60 + (int)rng_below(g, 10);
        in->undetected_n = 72 - in->harmless_n;
    }
    static const char *const cc[] = {"NL", "RU", "US", "DE", "CN", "BR", "RO", "SG"};
    in->country = cc[rng_below(g, 8)];
    return in;
}

static void add_misp(struct lab_org *org, struct rng *g, int event, const char *type,
                     const char *category, const char *value)
{
    if (org->nmisp >= LAB_MISP_MAX)
        return;
    struct lab_misp_attr *a = &org->misp[org->nmisp++];
    memset(a, 0, sizeof(*a));
    a->id = org->misp_next_id++;
    a->event = event;
    rng_uuid(g, a->uuid);
    snprintf(a->type, sizeof(a->type), "%s", type);
    snprintf(a->category, sizeof(a->category), "%s", category);
    snprintf(a->value, sizeof(a->value), "%s", value);
    a->to_ids = true;
    a->ts = org->base_ms / 1000 - 86400 * (1 + (int64_t)rng_below(g, 20));
}

void lab_org_fini(struct lab_org *org)
{
    for (int i = 0; i < org->nhooks; i++)
        json_decref(org->hooks[i].body);
    org->nhooks = 0;
}

void lab_org_init(struct lab_org *org, uint64_t seed, int64_t base_ms)
{
    lab_org_fini(org);
    memset(org, 0, sizeof(*org));
    org->seed = seed;
    org->base_ms = base_ms;
    struct rng g = {seed * 0x2545f4914f6cdd1dull + 0x1234567ull};

    /* Users. */
    for (int i = 0; i < LAB_USERS; i++) {
        struct lab_user *u = &org->users[i];
        for (int tries = 0;; tries++) {
            snprintf(u->first, sizeof(u->first), "%s",
                     firsts[rng_below(&g, sizeof(firsts) / sizeof(firsts[0]))]);
            snprintf(u->last, sizeof(u->last), "%s",
                     lasts[rng_below(&g, sizeof(lasts) / sizeof(lasts[0]))]);
            /* through a local buffer: gcc -O0 takes fields of one struct for
             * overlapping snprintf arguments (-Werror=restrict) */
            char login[sizeof(u->login)];
            if (tries < 20)
                snprintf(login, sizeof(login), "%s.%s@%s", u->first, u->last, LAB_DOMAIN);
            else
                snprintf(login, sizeof(login), "%s.%s%d@%s", u->first, u->last, i, LAB_DOMAIN);
            memcpy(u->login, login, sizeof(login));
            lower(u->login);
            bool dup = false;
            for (int j = 0; j < i; j++)
                dup = dup || strcmp(org->users[j].login, u->login) == 0;
            if (!dup)
                break;
        }
        char id[18];
        rng_alnum(&g, id, 17);
        snprintf(u->okta_id, sizeof(u->okta_id), "00u%s", id);
        rng_uuid(&g, u->graph_id);
        u->dept = depts[rng_below(&g, sizeof(depts) / sizeof(depts[0]))];
        snprintf(u->okta_status, sizeof(u->okta_status), "ACTIVE");
        u->graph_enabled = true;
        u->host = -1;
    }

    /* Hosts: 38 Windows workstations, 8 Linux servers, 4 Macs. */
    static const char *const roles[] = {"web", "db", "app", "file", "mail", "build", "dc", "vpn"};
    for (int i = 0; i < LAB_HOSTS; i++) {
        struct lab_host *h = &org->hosts[i];
        if (i < 38) {
            snprintf(h->name, sizeof(h->name), "WS-%04u",
                     1000 + (unsigned)i * 97 + rng_below(&g, 97));
            h->os = "Windows";
            h->os_version = rng_below(&g, 3) == 0 ? "Windows 10" : "Windows 11";
        } else if (i < 46) {
            snprintf(h->name, sizeof(h->name), "srv-%s-%02u", roles[i - 38], 1 + rng_below(&g, 9));
            h->os = "Linux";
            h->os_version = rng_below(&g, 2) == 0 ? "Debian 12" : "Ubuntu 22.04";
        } else {
            snprintf(h->name, sizeof(h->name), "MBP-%04u",
                     100 + (unsigned)i * 13 + rng_below(&g, 13));
            h->os = "Mac";
            h->os_version = "macOS 14";
        }
        snprintf(h->ip, sizeof(h->ip), "10.20.%u.%u", 1 + (unsigned)i / 50,
                 10 + (unsigned)(i % 50) * 4 + rng_below(&g, 4));
        snprintf(h->mac, sizeof(h->mac), "02:%02x:%02x:%02x:%02x:%02x", rng_below(&g, 256),
                 rng_below(&g, 256), rng_below(&g, 256), rng_below(&g, 256), (unsigned)i);
        h->user = i < 46 ? (int)rng_below(&g, LAB_USERS) : (int)rng_below(&g, LAB_USERS);
        if (org->users[h->user].host < 0)
            org->users[h->user].host = i;
        rng_hex(&g, h->cs_id, 32);
        h->cb_id = 5000000 + (long long)i * 1000 + rng_below(&g, 1000);
        rng_uuid(&g, h->cy_id);
        rng_hex(&g, h->mde_id, 40);
        snprintf(h->cy_policy, sizeof(h->cy_policy), "default");
    }
    for (int i = 0; i < LAB_USERS; i++)
        if (org->users[i].host < 0)
            org->users[i].host = (int)rng_below(&g, 38);

    /* Files. */
    for (int i = 0; i < LAB_FILES; i++) {
        struct lab_file *f = &org->files[i];
        f->malicious = i < 10;
        snprintf(f->name, sizeof(f->name), "%s", f->malicious ? mal_names[i] : good_names[i - 10]);
        rng_hex(&g, f->sha256, 64);
        rng_hex(&g, f->sha1, 40);
        rng_hex(&g, f->md5, 32);
        char path[sizeof(f->path)]; /* local: see the login above */
        snprintf(path, sizeof(path), "C:\\Users\\Public\\%s", f->name);
        memcpy(f->path, path, sizeof(path));
        f->cylance_score =
            f->malicious ? -1000 + (int)rng_below(&g, 100) : 500 + (int)rng_below(&g, 500);
        f->classification = f->malicious ? mal_class[i % 5] : "Trusted";
        int n = 1 + (int)rng_below(&g, f->malicious ? 4 : 6);
        for (int k = 0; k < n && f->nhosts < LAB_FILE_HOSTS; k++) {
            int h = (int)rng_below(&g, 38);
            if (!lab_host_ran_file(f, h))
                f->hosts[f->nhosts++] = h;
        }
    }
    org->phish_file = 0;

    /* Threat intel: files, then domains, URLs and IPs. */
    for (int i = 0; i < LAB_FILES; i++)
        add_intel(org, LAB_INTEL_FILE, org->files[i].sha256, org->files[i].malicious, &g);
    const char *pd = phish_domains[rng_below(&g, 3)];
    char tok[13];
    rng_hex(&g, tok, 12);
    snprintf(org->phish_url, sizeof(org->phish_url), "https://%s/pay/%s", pd, tok);
    snprintf(org->phish_from, sizeof(org->phish_from), "billing@%s", pd);
    add_intel(org, LAB_INTEL_DOMAIN, pd, true, &g);
    for (size_t i = 0; i < 4; i++)
        add_intel(org, LAB_INTEL_DOMAIN, c2_domains[i], true, &g);
    add_intel(org, LAB_INTEL_DOMAIN, "microsoft.com", false, &g);
    add_intel(org, LAB_INTEL_DOMAIN, "github.com", false, &g);
    add_intel(org, LAB_INTEL_DOMAIN, "wikipedia.org", false, &g);
    add_intel(org, LAB_INTEL_URL, org->phish_url, true, &g);
    char u2[128];
    snprintf(u2, sizeof(u2), "http://%s/gate.php", c2_domains[rng_below(&g, 4)]);
    add_intel(org, LAB_INTEL_URL, u2, true, &g);
    add_intel(org, LAB_INTEL_URL, "https://www.microsoft.com/", false, &g);
    add_intel(org, LAB_INTEL_URL, "https://github.com/", false, &g);
    char c2ip[5][16];
    for (int i = 0; i < 5; i++) {
        snprintf(c2ip[i], sizeof(c2ip[i]), "%s.%u", i % 2 == 0 ? "203.0.113" : "198.51.100",
                 10 + (unsigned)i * 40 + rng_below(&g, 40));
        add_intel(org, LAB_INTEL_IP, c2ip[i], true, &g);
    }
    add_intel(org, LAB_INTEL_IP, "8.8.8.8", false, &g);
    add_intel(org, LAB_INTEL_IP, "1.1.1.1", false, &g);

    /* Detections. */
    for (int i = 0; i < LAB_DETECTIONS; i++) {
        struct lab_det *d = &org->dets[i];
        int f = i < 3 ? 0 : (int)rng_below(&g, 10);
        struct lab_file *file = &org->files[f];
        d->file = f;
        d->host = file->nhosts > 0 && rng_below(&g, 2) == 0
                      ? file->hosts[rng_below(&g, (unsigned)file->nhosts)]
                      : (int)rng_below(&g, 38);
        if (!lab_host_ran_file(file, d->host) && file->nhosts < LAB_FILE_HOSTS)
            file->hosts[file->nhosts++] = d->host;
        d->user = org->hosts[d->host].user;
        unsigned b = f == 0 ? 2 : rng_below(&g, sizeof(behaviours) / sizeof(behaviours[0]));
        d->name = behaviours[b].name;
        d->tactic = behaviours[b].tactic;
        d->technique = behaviours[b].technique;
        d->severity = 30 + (int)rng_below(&g, 70);
        d->ts_ms = base_ms - (int64_t)(i + 1) * 2700000 - (int64_t)rng_below(&g, 600) * 1000;
        snprintf(d->cmdline, sizeof(d->cmdline), "\"%s\" %s", file->path,
                 f == 0 ? "/silent" : "-enc SQBFAFgA");
        snprintf(d->remote_ip, sizeof(d->remote_ip), "%s", c2ip[rng_below(&g, 5)]);
        char n[20];
        rng_hex(&g, n, 16);
        snprintf(d->cs_id, sizeof(d->cs_id), "ldt:%s:%llu", org->hosts[d->host].cs_id,
                 (unsigned long long)strtoull(n, NULL, 16) % 1000000000000ull);
        snprintf(d->cs_status, sizeof(d->cs_status), "new");
        rng_uuid(&g, d->cb_id);
        snprintf(d->cb_status, sizeof(d->cb_status), "OPEN");
        snprintf(d->mde_id, sizeof(d->mde_id), "da63%016llu",
                 (unsigned long long)strtoull(n, NULL, 16) % 10000000000000000ull);
        snprintf(d->mde_status, sizeof(d->mde_status), "New");
        rng_hex(&g, d->es_id, 64);
        snprintf(d->es_status, sizeof(d->es_status), "open");
        char sh[33];
        rng_hex(&g, sh, 32);
        snprintf(d->splunk_id, sizeof(d->splunk_id), "%.8s@@notable@@%s", n, sh);
        snprintf(d->splunk_status, sizeof(d->splunk_status), "1");
        static const char *const urg[] = {"low", "medium", "high", "critical"};
        snprintf(d->splunk_urgency, sizeof(d->splunk_urgency), "%s", urg[d->severity * 4 / 101]);
    }

    /* Mailboxes: three ordinary messages each, and one phishing message in several. */
    snprintf(org->phish_subject, sizeof(org->phish_subject), "Overdue invoice %u - action required",
             1000 + rng_below(&g, 9000));
    char ph[17];
    rng_hex(&g, ph, 16);
    snprintf(org->phish_imid, sizeof(org->phish_imid), "<%s.%s@mail.%s>", ph, "inv", pd);
    for (int i = 0; i < LAB_USERS; i++) {
        for (int k = 0; k < 3 && org->nmsgs < LAB_MSGS_MAX; k++) {
            struct lab_msg *m = &org->msgs[org->nmsgs++];
            m->user = i;
            char id[41];
            rng_alnum(&g, id, 40);
            snprintf(m->id, sizeof(m->id), "AAMk%s", id);
            char h[17];
            rng_hex(&g, h, 16);
            struct lab_user from = org->users[rng_below(&g, LAB_USERS)];
            snprintf(m->imid, sizeof(m->imid), "<%s@%s>", h, LAB_DOMAIN);
            snprintf(m->subject, sizeof(m->subject), "%s",
                     subjects[rng_below(&g, sizeof(subjects) / sizeof(subjects[0]))]);
            snprintf(m->from, sizeof(m->from), "%s", from.login);
            snprintf(m->from_name, sizeof(m->from_name), "%s %s", from.first, from.last);
            snprintf(m->preview, sizeof(m->preview), "Hi %s, see below.", org->users[i].first);
            m->received_ms = base_ms - (int64_t)rng_below(&g, 7 * 86400) * 1000;
            snprintf(m->folder, sizeof(m->folder), "inbox");
            m->file = k == 2 && rng_below(&g, 4) == 0 ? 10 + (int)rng_below(&g, 6) : -1;
        }
    }
    int nphish = 5 + (int)rng_below(&g, 4);
    int chosen[8];
    for (int k = 0; k < nphish && org->nmsgs < LAB_MSGS_MAX; k++) {
        int u;
        bool dup;
        do {
            u = (int)rng_below(&g, LAB_USERS);
            dup = false;
            for (int j = 0; j < k; j++)
                dup = dup || chosen[j] == u;
        } while (dup);
        chosen[k] = u;
        struct lab_msg *m = &org->msgs[org->nmsgs++];
        m->user = u;
        char id[41];
        rng_alnum(&g, id, 40);
        snprintf(m->id, sizeof(m->id), "AAMk%s", id);
        memcpy(m->imid, org->phish_imid, sizeof(m->imid));
        memcpy(m->subject, org->phish_subject, sizeof(m->subject));
        memcpy(m->from, org->phish_from, sizeof(m->from));
        snprintf(m->from_name, sizeof(m->from_name), "Accounts Receivable");
        snprintf(m->preview, sizeof(m->preview), "Please pay the attached invoice today: %s",
                 org->phish_url);
        m->received_ms = base_ms - 3 * 3600000 + (int64_t)k * 1000;
        snprintf(m->folder, sizeof(m->folder), "inbox");
        m->file = org->phish_file;
        m->phish = true;
    }

    /* MISP: a phishing event, a C2 event and a malware-hash event. */
    org->misp_next_id = 1001;
    add_misp(org, &g, 1, "email-src", "Payload delivery", org->phish_from);
    add_misp(org, &g, 1, "domain", "Network activity", pd);
    add_misp(org, &g, 1, "url", "Network activity", org->phish_url);
    add_misp(org, &g, 1, "sha256", "Payload delivery", org->files[0].sha256);
    add_misp(org, &g, 1, "md5", "Payload delivery", org->files[0].md5);
    for (int i = 0; i < 5; i++)
        add_misp(org, &g, 2, "ip-dst", "Network activity", c2ip[i]);
    for (int i = 0; i < 4; i++)
        add_misp(org, &g, 2, "domain", "Network activity", c2_domains[i]);
    for (int i = 1; i < 10; i++)
        add_misp(org, &g, 3, "sha256", "Payload delivery", org->files[i].sha256);
    for (int i = 0; i < org->nintel; i++)
        for (int k = 0; k < org->nmisp; k++)
            if (strcasecmp(org->misp[k].value, org->intel[i].value) == 0)
                org->intel[i].misp_event = org->misp[k].event;
    org->counter = 0;
}

void lab_org_new_id(struct lab_org *org, const char *prefix, char *out, size_t cap)
{
    struct rng g = {org->seed ^ (0xa5a5a5a5ull + ++org->counter * 0x100000001b3ull)};
    char h[25];
    rng_hex(&g, h, 24);
    snprintf(out, cap, "%s%s", prefix, h);
}

bool lab_host_ran_file(const struct lab_file *f, int host)
{
    for (int i = 0; i < f->nhosts; i++)
        if (f->hosts[i] == host)
            return true;
    return false;
}

struct lab_file *lab_file_by_hash(struct lab_org *org, const char *hash)
{
    if (hash == NULL)
        return NULL;
    for (int i = 0; i < LAB_FILES; i++) {
        struct lab_file *f = &org->files[i];
        if (strcasecmp(f->sha256, hash) == 0 || strcasecmp(f->sha1, hash) == 0 ||
            strcasecmp(f->md5, hash) == 0)
            return f;
    }
    return NULL;
}

struct lab_intel *lab_intel_find(struct lab_org *org, enum lab_intel_kind k, const char *v)
{
    if (v == NULL)
        return NULL;
    if (k == LAB_INTEL_FILE) {
        struct lab_file *f = lab_file_by_hash(org, v);
        if (f == NULL)
            return NULL;
        v = f->sha256;
    }
    for (int i = 0; i < org->nintel; i++)
        if (org->intel[i].kind == k && strcasecmp(org->intel[i].value, v) == 0)
            return &org->intel[i];
    return NULL;
}

struct lab_user *lab_user_find(struct lab_org *org, const char *id)
{
    if (id == NULL)
        return NULL;
    for (int i = 0; i < LAB_USERS; i++) {
        struct lab_user *u = &org->users[i];
        if (strcmp(u->okta_id, id) == 0 || strcasecmp(u->graph_id, id) == 0 ||
            strcasecmp(u->login, id) == 0)
            return u;
    }
    return NULL;
}

/* --- the state summary ---------------------------------------------------------------------------
 */

json_t *lab_org_state(const struct lab_org *org)
{
    json_t *hosts = json_array(), *users = json_array(), *deleted = json_array();
    json_t *contained = json_array();
    for (int i = 0; i < LAB_HOSTS; i++) {
        const struct lab_host *h = &org->hosts[i];
        json_array_append_new(
            hosts,
            json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:b},s:{s:I,s:b},s:{s:s,s:b,s:s},s:{s:s,s:b}}",
                      "name", h->name, "ip", h->ip, "os", h->os, "user", org->users[h->user].login,
                      "crowdstrike", "device_id", h->cs_id, "contained", h->cs_contained,
                      "carbonblack", "device_id", (json_int_t)h->cb_id, "quarantined",
                      h->cb_quarantined, "cylance", "device_id", h->cy_id, "lockdown",
                      h->cy_lockdown, "policy", h->cy_policy, "defender", "machine_id", h->mde_id,
                      "isolated", h->mde_isolated));
        if (h->cs_contained || h->cb_quarantined || h->cy_lockdown || h->mde_isolated)
            json_array_append_new(contained, json_string(h->name));
    }
    for (int i = 0; i < LAB_USERS; i++) {
        const struct lab_user *u = &org->users[i];
        json_array_append_new(
            users, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:b}", "login", u->login, "name",
                             "", "okta_id", u->okta_id, "graph_id", u->graph_id, "okta_status",
                             u->okta_status, "okta_sessions_cleared", u->okta_sessions_cleared,
                             "okta_password_resets", u->okta_resets, "graph_sessions_revoked",
                             u->graph_revocations, "graph_password_changes",
                             u->graph_password_changes, "graph_enabled", u->graph_enabled));
        char name[40];
        snprintf(name, sizeof(name), "%s %s", u->first, u->last);
        json_object_set_new(json_array_get(users, (size_t)i), "name", json_string(name));
    }
    int live = 0, phish_live = 0;
    json_t *phish_boxes = json_array();
    for (int i = 0; i < org->nmsgs; i++) {
        const struct lab_msg *m = &org->msgs[i];
        if (m->phish)
            json_array_append_new(phish_boxes, json_string(org->users[m->user].login));
        if (m->deleted) {
            json_array_append_new(
                deleted, json_pack("{s:s,s:s,s:s,s:s}", "mailbox", org->users[m->user].login, "id",
                                   m->id, "internetMessageId", m->imid, "subject", m->subject));
        } else {
            live++;
            phish_live += m->phish;
        }
    }
    json_t *dets = json_array();
    for (int i = 0; i < LAB_DETECTIONS; i++) {
        const struct lab_det *d = &org->dets[i];
        json_array_append_new(
            dets, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "name", d->name,
                            "host", org->hosts[d->host].name, "user", org->users[d->user].login,
                            "sha256", org->files[d->file].sha256, "crowdstrike", d->cs_status,
                            "carbonblack", d->cb_status, "defender", d->mde_status, "elastic",
                            d->es_status, "splunk_status", d->splunk_status, "splunk_id",
                            d->splunk_id, "elastic_id", d->es_id));
    }
    json_t *iocs = json_array(), *inds = json_array(), *gq = json_array(), *misp = json_array(),
           *hooks = json_array(), *intel = json_array();
    for (int i = 0; i < org->ncs_iocs; i++)
        json_array_append_new(iocs, json_pack("{s:s,s:s,s:s,s:s}", "id", org->cs_iocs[i].id, "type",
                                              org->cs_iocs[i].type, "value", org->cs_iocs[i].value,
                                              "action", org->cs_iocs[i].action));
    for (int i = 0; i < org->nmde_iocs; i++)
        json_array_append_new(inds,
                              json_pack("{s:s,s:s,s:s,s:s}", "id", org->mde_iocs[i].id,
                                        "indicatorType", org->mde_iocs[i].type, "indicatorValue",
                                        org->mde_iocs[i].value, "action", org->mde_iocs[i].action));
    for (int i = 0; i < org->ngq; i++)
        json_array_append_new(gq,
                              json_pack("{s:s,s:s,s:s}", "sha256", org->gq[i].sha256, "list_type",
                                        org->gq[i].list == 0 ? "GlobalQuarantine" : "GlobalSafe",
                                        "reason", org->gq[i].reason));
    for (int i = 0; i < org->nmisp; i++) {
        const struct lab_misp_attr *a = &org->misp[i];
        if (a->sightings > 0 || a->id >= 2000)
            json_array_append_new(misp, json_pack("{s:i,s:i,s:s,s:s,s:i}", "id", a->id, "event",
                                                  a->event, "type", a->type, "value", a->value,
                                                  "sightings", a->sightings));
    }
    for (int i = 0; i < org->nhooks; i++)
        json_array_append_new(hooks, json_pack("{s:s,s:s,s:O}", "kind", org->hooks[i].kind, "path",
                                               org->hooks[i].path, "body", org->hooks[i].body));
    static const char *const kn[] = {"file", "url", "domain", "ip"};
    for (int i = 0; i < org->nintel; i++)
        json_array_append_new(intel,
                              json_pack("{s:s,s:s,s:b}", "kind", kn[org->intel[i].kind], "value",
                                        org->intel[i].value, "malicious", org->intel[i].malicious));
    const struct lab_file *pf = &org->files[org->phish_file];
    return json_pack(
        "{s:I,s:o,s:o,s:o,s:o,s:{s:i,s:i,s:o},s:{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:i},s:o,s:o,s:o,"
        "s:o,s:o,s:o}",
        "seed", (json_int_t)org->seed, "hosts", hosts, "contained", contained, "users", users,
        "detections", dets, "mailboxes", "messages", org->nmsgs, "live", live, "deleted", deleted,
        "phish", "internetMessageId", org->phish_imid, "from", org->phish_from, "subject",
        org->phish_subject, "url", org->phish_url, "attachment_name", pf->name, "attachment_sha256",
        pf->sha256, "mailboxes", phish_boxes, "live", phish_live, "intel", intel,
        "crowdstrike_iocs", iocs, "defender_indicators", inds, "cylance_global_lists", gq,
        "misp_changed", misp, "webhooks", hooks);
}
