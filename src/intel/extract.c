/*
 * extract.c: indicators of compromise in free text (intel/extract.h).
 *
 * One forward pass, hand-written. At each byte a table lookup says which
 * scanners may start there (a word start for URLs, emails and names, a digit
 * run for IPv4, a hex run for hashes and IPv6, "CVE-"), and each scanner reads
 * forward from that byte only, a bounded distance, so the whole scan is linear
 * in the text and needs no backtracking. Scanners report at their start byte and
 * the start only moves forward, so indicators come out in order of first
 * appearance without sorting; a hash set drops repeats.
 *
 * The defangs are part of the grammar: between the labels of a name the
 * scanner accepts a separator run ("[.]", "(.)", "[dot]", "\.", "10[[[.]]]10",
 * "example [.] com", "myuser[at]example[dot]com", ...), so it knows where an
 * indicator begins and ends; each separator run stands for the one character it
 * hides. Every value then goes through observable_canonical() (which refangs
 * with observable_refang(), the project's one defang table: hxxp, [.], [/], [:]
 * in URL paths and schemes) and is reported in that canonical form; SHA-512 and
 * CVE ids, which have no observable type, are lower-cased hex and upper-cased
 * ids. The rules against false hits (docs/ioc-extraction.md) are checked on the
 * canonical value wherever they concern the value, so that every reported value
 * is found again, unchanged, when it is extracted on its own; rules about the
 * surroundings (a path before a file name, a JSON key) look at the raw text.
 *
 * Domains need a top-level domain listed in the ICANN section of the public
 * suffix list (libpsl, loaded once: the system's list when it is newer than the
 * built-in one) and a registrable part left of the public suffix, so "co.uk" or
 * "invoice.pdf" are not domains but "user.github.io" is (the private section
 * names hosting services whose subdomains are real hosts).
 *
 * Pure; any thread: the suffix list and the character table are read-only after
 * a pthread_once(); everything else lives in the call. Memory: two hash sets
 * (the values reported, and the raw spans already reported so that a repeated
 * URL is not canonicalised again) each grow up to RP_IOC_MAX entries and
 * RP_IOC_BYTES_MAX bytes, freed on return. Fails with RP_E_NOMEM, RP_E_IO when no public suffix
 * list can be loaded, and RP_E_LIMIT when a limit cut the scan short (after reporting what came
 * before).
 */
#include "intel/extract.h"

#include "core/buf.h"
#include "core/limits.h"
#include "model/observable.h"

#include <libpsl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Grammar bounds from the RFCs, not tunable limits: a DNS name is at most 253
 * characters in at most 127 labels of at most 63 (RFC 1035), the local part of
 * an address at most 64 (RFC 5321), an IPv6 address at most 45 characters of
 * text (RFC 4291 with an embedded IPv4), a CVE number at most 7 digits today
 * (the format allows more; 7 is what MITRE has issued). */
#define NAME_MAX_LEN   253
#define NAME_MAX_LABEL 63
#define NAME_MAX_PARTS 127
#define LOCAL_MAX      64
#define IPV6_TEXT_MAX  45
#define CVE_DIGITS_MAX 7

static const char *const TYPE_NAMES[IOC_TYPE_COUNT] = {
    "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "sha512", "cve",
};

const char *ioc_type_name(enum ioc_type t)
{
    return ((int)t >= 0 && t < IOC_TYPE_COUNT) ? TYPE_NAMES[t] : "unknown";
}

/* --- character classes and the suffix list (set up once) --------------------- */

enum {
    C_DIGIT = 1 << 0,
    C_HEX = 1 << 1,
    C_ALPHA = 1 << 2,
    C_LABEL = 1 << 3,   /* [A-Za-z0-9_-]: inside a DNS label */
    C_WORD = 1 << 4,    /* [A-Za-z0-9_]: may start a label */
    C_LOCAL = 1 << 5,   /* [A-Za-z0-9._%+-]: inside the local part of an address */
    C_OPEN = 1 << 6,    /* [ ( { */
    C_CLOSE = 1 << 7,   /* ] ) } */
    C_SPACE = 1 << 8,   /* space and tab: allowed inside a separator run */
    C_URLSTOP = 1 << 9, /* ends a URL: ASCII space and controls, " < > ` \ */
    C_TRIM = 1 << 10,   /* dropped from the end of a URL: sentence punctuation */
};

static uint16_t CC[256];
static const psl_ctx_t *PSL;
static pthread_once_t INIT_ONCE = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    for (int c = 0; c < 256; c++) {
        uint16_t v = 0;
        bool digit = c >= '0' && c <= '9';
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (digit)
            v |= C_DIGIT;
        if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            v |= C_HEX;
        if (alpha)
            v |= C_ALPHA;
        if (digit || alpha || c == '_')
            v |= C_WORD | C_LABEL | C_LOCAL;
        if (c == '-')
            v |= C_LABEL | C_LOCAL;
        if (c == '.' || c == '%' || c == '+')
            v |= C_LOCAL;
        if (c == '[' || c == '(' || c == '{')
            v |= C_OPEN;
        if (c == ']' || c == ')' || c == '}')
            v |= C_CLOSE;
        if (c == ' ' || c == '\t')
            v |= C_SPACE;
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '`' || c == '\\')
            v |= C_URLSTOP;
        if (c != 0 && strchr(".,;:!?')]}*", c) != NULL)
            v |= C_TRIM;
        CC[c] = v;
    }
    /* The newer of the system's list and the one built into libpsl. Loaded for
     * the life of the process, never freed. */
    PSL = psl_latest(NULL);
    if (PSL == NULL)
        PSL = psl_builtin();
}

static inline bool cls(unsigned char c, unsigned bits)
{
    return (CC[c] & bits) != 0;
}

/* Top-level domains that are also file extensions seen far more often as file
 * names in alerts and mail than as domains: "invoice.zip", "setup.py",
 * "Scan.one", "id_rsa.pub", "README.md", "install.sh", "update.cab", "clip.mov".
 * A bare name ending in one of them is not reported as a domain (a URL or email
 * with such a host still is). Sorted. */
static const char *const FILE_TLDS[] = {"cab", "md", "mov", "one", "pub", "py", "sh", "zip"};

static bool is_file_tld(const char *tld, size_t n)
{
    for (size_t k = 0; k < sizeof(FILE_TLDS) / sizeof(FILE_TLDS[0]); k++)
        if (strlen(FILE_TLDS[k]) == n && memcmp(FILE_TLDS[k], tld, n) == 0)
            return true;
    return false;
}

/* File extensions that are no top-level domain but end names shaped like a
 * mail domain ("icon@2x.png", "logo@home.svg"): an address outside the public
 * suffix list must not end in one. */
static const char *const FILE_EXTS[] = {
    "7z",   "apk",  "asp", "aspx", "avi", "bak",  "bat",  "bin",  "bmp",  "cfg",  "cmd",
    "css",  "csv",  "dat", "dll",  "doc", "docm", "docx", "eml",  "exe",  "gif",  "gz",
    "htm",  "html", "ico", "img",  "ini", "iso",  "jar",  "jpeg", "jpg",  "js",   "json",
    "log",  "lnk",  "mp3", "mp4",  "msg", "msi",  "odt",  "pdf",  "php",  "png",  "ppt",
    "pptx", "ps1",  "rar", "rtf",  "scr", "svg",  "sys",  "tar",  "tif",  "tiff", "tmp",
    "txt",  "vbs",  "wav", "webp", "xls", "xlsm", "xlsx", "xml",  "yaml", "yml",
};

static bool is_file_ext(const char *ext, size_t n)
{
    for (size_t k = 0; k < sizeof(FILE_EXTS) / sizeof(FILE_EXTS[0]); k++)
        if (strlen(FILE_EXTS[k]) == n && memcmp(FILE_EXTS[k], ext, n) == 0)
            return true;
    return false;
}

/* Schemes whose URLs are reported; defanged spellings are refanged by
 * observable_refang (hxxp, hxxps, any case). */
static const char *const SCHEMES[] = {
    "http", "https", "hxxp", "hxxps", "ftp",  "ftps",  "sftp", "tcp", "udp",    "ws",
    "wss",  "ssh",   "smb",  "rdp",   "ldap", "ldaps", "tftp", "irc", "telnet",
};
#define SCHEME_MAX_LEN 6

/* --- the scan ---------------------------------------------------------------- */

/* A set of (type, bytes) with the bytes kept in an arena: the indicators
 * reported so far, and the raw spans already turned into one of them. */
struct set_slot {
    uint64_t hash;
    uint32_t off; /* the bytes, in arena */
    uint32_t len;
    uint8_t type;
    uint8_t used;
};

struct set {
    struct set_slot *slots;
    size_t cap, count; /* cap is 0 or a power of two, at least twice count */
    struct buf arena;
};

static uint64_t hash_bytes(unsigned type, const char *v, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)type;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)v[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool set_has(const struct set *set, unsigned type, const char *v, size_t n, uint64_t h)
{
    if (set->cap == 0)
        return false;
    for (size_t j = (size_t)h & (set->cap - 1); set->slots[j].used; j = (j + 1) & (set->cap - 1)) {
        const struct set_slot *e = &set->slots[j];
        if (e->hash == h && e->type == type && e->len == n &&
            memcmp(set->arena.data + e->off, v, n) == 0)
            return true;
    }
    return false;
}

/* Adds (type, v), known to be absent, NUL-terminated in the arena; RP_E_LIMIT
 * past RP_IOC_MAX entries or the arena's maximum. *at: where v now is. */
static rp_status set_add(struct set *set, unsigned type, const char *v, size_t n, uint64_t h,
                         const char **at)
{
    if (set->count >= RP_IOC_MAX)
        return RP_E_LIMIT;
    if ((set->count + 1) * 2 > set->cap) {
        size_t ncap = set->cap == 0 ? 64 : set->cap * 2;
        struct set_slot *ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL)
            return RP_E_NOMEM;
        for (size_t k = 0; k < set->cap; k++) {
            if (!set->slots[k].used)
                continue;
            size_t j = (size_t)set->slots[k].hash & (ncap - 1);
            while (ns[j].used)
                j = (j + 1) & (ncap - 1);
            ns[j] = set->slots[k];
        }
        free(set->slots);
        set->slots = ns;
        set->cap = ncap;
    }
    size_t off = set->arena.len;
    if (set->arena.len + n + 1 > set->arena.max)
        return RP_E_LIMIT;
    rp_status st = buf_append(&set->arena, v, n);
    if (st == RP_OK)
        st = buf_append(&set->arena, "", 1);
    if (st != RP_OK)
        return st;
    size_t j = (size_t)h & (set->cap - 1);
    while (set->slots[j].used)
        j = (j + 1) & (set->cap - 1);
    set->slots[j] = (struct set_slot){h, (uint32_t)off, (uint32_t)n, (uint8_t)type, 1};
    set->count++;
    *at = set->arena.data + off;
    return RP_OK;
}

static void set_fini(struct set *set)
{
    free(set->slots);
    buf_fini(&set->arena);
}

struct scan {
    const unsigned char *t;
    size_t n;
    ioc_fn fn;
    void *arg;
    bool stop;
    rp_status st;
    size_t name_end;         /* name scanning skips bytes before this (a consumed run) */
    size_t url_end;          /* URL scanning skips bytes before this */
    size_t ui_start, ui_end; /* the userinfo of the last URL: not an address */
    struct buf val;          /* a candidate put together from its parts */
    struct buf canon;
    struct set seen; /* (type, value) reported */
    struct set done; /* (type, raw span) already reported: not canonicalised again */
};

/* Reports (type, v) unless seen before. Sets s->stop when the callback asks to
 * or a limit is reached (s->st says which). */
static void report(struct scan *s, enum ioc_type type, const char *v, size_t n, size_t offset)
{
    if (s->stop)
        return;
    uint64_t h = hash_bytes(type, v, n);
    if (set_has(&s->seen, type, v, n, h))
        return;
    const char *at;
    rp_status st = set_add(&s->seen, type, v, n, h, &at);
    if (st != RP_OK) {
        s->st = st;
        s->stop = true;
        return;
    }
    if (s->fn(s->arg, type, at, n, offset) != 0)
        s->stop = true;
}

/* Whether the raw span [a, b) was already reported as an indicator of type
 * (then it need not be put together and canonicalised again: the value only
 * depends on the span once its surroundings have been checked). */
static bool span_done(const struct scan *s, enum ioc_type type, size_t a, size_t b)
{
    const char *v = (const char *)s->t + a;
    return set_has(&s->done, type, v, b - a, hash_bytes(type, v, b - a));
}

/* Remembers a reported span; when the memo is full it just stops growing. */
static void span_remember(struct scan *s, enum ioc_type type, size_t a, size_t b)
{
    const char *v = (const char *)s->t + a, *at;
    if (s->stop)
        return;
    rp_status st = set_add(&s->done, type, v, b - a, hash_bytes(type, v, b - a), &at);
    if (st == RP_E_NOMEM) {
        s->st = st;
        s->stop = true;
    }
}

/* Records an allocation failure (the only way building a candidate fails: the
 * buffers' maxima exceed every candidate that reaches them). */
static bool ok(struct scan *s, rp_status st)
{
    if (st == RP_OK)
        return true;
    if (st == RP_E_LIMIT)
        return false; /* a candidate too long to be an indicator */
    s->st = st;
    s->stop = true;
    return false;
}

/* Canonical form of the candidate in s->val into s->canon; false if rejected. */
static bool canonical(struct scan *s, enum obs_type t)
{
    struct rp_error err;
    rp_status st = observable_canonical(t, s->val.data != NULL ? s->val.data : "", s->val.len,
                                        &s->canon, NULL, &err);
    if (st == RP_E_INVALID)
        return false;
    return ok(s, st);
}

/* Canonical address (either family) of the candidate in s->val into s->canon:
 * observable_ip(), what observable_canonical() does for an address once it is
 * refanged (the scanner's candidates have no defangs left). */
static bool canonical_ip(struct scan *s, bool *v6)
{
    struct rp_error err;
    rp_status st =
        observable_ip(s->val.data != NULL ? s->val.data : "", s->val.len, &s->canon, v6, &err);
    if (st == RP_E_INVALID)
        return false;
    return ok(s, st);
}

static inline unsigned char at(const struct scan *s, size_t i)
{
    return i < s->n ? s->t[i] : 0;
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Is the word w (lower case, wl bytes) at i, case-insensitively? */
static bool word_at(const struct scan *s, size_t i, const char *w, size_t wl)
{
    if (i + wl > s->n)
        return false;
    for (size_t k = 0; k < wl; k++)
        if (lower(s->t[i + k]) != (unsigned char)w[k])
            return false;
    return true;
}

/* --- separators ---------------------------------------------------------------
 *
 * A separator run stands for one '.' (or '@') between two labels: the character
 * or the word ("dot", "at") as core, with brackets, backslashes and spaces
 * around it. Plain "." needs nothing; anything with spaces needs a bracket, and
 * a space just before (after) a bare '.' needs an opening (closing) bracket on
 * that side, so "example . com" and "example .]com" are not separators (a
 * sentence, a typo) while "example [.] com" and "example[ . ]com" are. A run
 * without any bracket around the word ("example dot com", "user at example")
 * is loose: accepted only inside an obfuscated email address. The run must be
 * followed by a label. */

enum sep_kind { SEP_NONE, SEP_PLAIN, SEP_BRACKETED, SEP_LOOSE };

struct sep {
    size_t len;
    enum sep_kind kind;
    bool word; /* the core was spelled as a word ("dot", "at") */
};

/* Whether a dot separator may start with byte b: the common case at the end
 * of a label is a space or punctuation that cannot, decided without a call. */
static inline bool may_dot_sep(unsigned char b, bool loose)
{
    return b == '.' || cls(b, C_OPEN | C_SPACE) || b == '\\' || (loose && b == '/');
}

/* The separator at i whose core is c ('.' or '@') or the word w ("dot",
 * "at", wl bytes). loose: whether loose runs (bare words, '/' around words) count. */
static struct sep sep_at_pos(const struct scan *s, size_t i, char c, const char *w, size_t wl,
                             bool loose)
{
    struct sep r = {0, SEP_NONE, false};
    size_t lim = i + RP_IOC_SEP_MAX < s->n ? i + RP_IOC_SEP_MAX : s->n;
    size_t j = i;
    bool l_open = false, l_space = false, l_slash = false, bs = false;
    while (j < lim) {
        unsigned char b = s->t[j];
        if (cls(b, C_OPEN))
            l_open = true;
        else if (cls(b, C_SPACE))
            l_space = true;
        else if (b == '\\')
            bs = true;
        else if (b == '/' && loose)
            l_slash = true;
        else
            break;
        j++;
    }
    if (j >= lim)
        return r;
    bool word = false;
    if (s->t[j] == (unsigned char)c) {
        j++;
    } else if (j > i && word_at(s, j, w, wl) && !cls(at(s, j + wl), C_WORD)) {
        j += wl;
        word = true;
    } else {
        return r;
    }
    bool r_close = false, r_space = false, r_slash = false;
    while (j < lim) {
        unsigned char b = s->t[j];
        if (cls(b, C_CLOSE))
            r_close = true;
        else if (cls(b, C_SPACE))
            r_space = true;
        else if (b == '\\')
            bs = true;
        else if (b == '/' && loose)
            r_slash = true;
        else
            break;
        j++;
    }
    if (j >= s->n || !cls(s->t[j], C_WORD))
        return r; /* a separator joins two labels */
    bool bracketed = l_open || r_close || bs;
    if (!word && c == '.') {
        if (l_slash || r_slash)
            return r;
        if ((l_space && !l_open) || (r_space && !r_close))
            return r;
        r.kind = bracketed ? SEP_BRACKETED : SEP_PLAIN;
    } else if (!word) { /* '@': spaces around it are fine */
        if (l_slash || r_slash)
            return r;
        r.kind = bracketed ? SEP_BRACKETED : SEP_PLAIN;
    } else if (bracketed && !l_slash && !r_slash) {
        r.kind = SEP_BRACKETED;
    } else {
        /* a bare word needs a delimiter on both sides: "x at y", "x/AT/y" */
        if (!loose || !((l_space || l_slash) && (r_space || r_slash)))
            return r;
        r.kind = SEP_LOOSE;
    }
    r.len = j - i;
    r.word = word;
    return r;
}

/* --- names: the labels of a domain or host ------------------------------------ */

struct name {
    size_t start, end; /* the raw run, separators included */
    size_t nparts;
    size_t part[NAME_MAX_PARTS][2]; /* start and length of each label */
    size_t text_len;                /* labels and one '.' between each */
    bool too_long;                  /* over the DNS bounds: not a name */
    bool dot_word;                  /* some separator spelled "dot" */
};

/* Reads labels and separators from i to the end of the run. Always consumes the
 * whole run, even past the DNS bounds (then too_long), so that a caller can
 * skip it. loose: accept loose separators. */
static void name_lex(const struct scan *s, size_t i, bool loose, struct name *nm)
{
    nm->start = i;
    nm->nparts = 0;
    nm->text_len = 0;
    nm->too_long = nm->dot_word = false;
    size_t j = i;
    for (;;) {
        size_t ls = j;
        while (j < s->n && cls(s->t[j], C_LABEL))
            j++;
        size_t ll = j - ls;
        if (ll == 0)
            break;
        if (ll > NAME_MAX_LABEL || nm->nparts == NAME_MAX_PARTS)
            nm->too_long = true;
        else {
            nm->part[nm->nparts][0] = ls;
            nm->part[nm->nparts][1] = ll;
            nm->nparts++;
        }
        nm->text_len += ll + (nm->text_len > 0);
        if (nm->text_len > NAME_MAX_LEN)
            nm->too_long = true;
        if (j >= s->n || !may_dot_sep(s->t[j], loose))
            break;
        struct sep sp = sep_at_pos(s, j, '.', "dot", 3, loose);
        if (sp.kind == SEP_NONE)
            break;
        nm->dot_word |= sp.word;
        j += sp.len;
    }
    /* a hyphen or underscore after the last label belongs to the sentence */
    while (!nm->too_long && nm->nparts > 0 && (s->t[j - 1] == '-' || s->t[j - 1] == '_')) {
        size_t *last = nm->part[nm->nparts - 1];
        if (last[1] <= 1)
            break;
        last[1]--;
        j--;
        nm->text_len--;
    }
    nm->end = j;
}

/* Puts the labels of nm, joined by '.', into s->val. */
static bool name_text(struct scan *s, const struct name *nm)
{
    buf_reset(&s->val);
    for (size_t k = 0; k < nm->nparts; k++) {
        if (k > 0 && !ok(s, buf_append(&s->val, ".", 1)))
            return false;
        if (!ok(s, buf_append(&s->val, s->t + nm->part[k][0], nm->part[k][1])))
            return false;
    }
    return true;
}

/* Whether the labels of nm make a domain (its canonical form is then left in
 * s->canon): the top-level domain is in the ICANN section of the public suffix
 * list, the name is longer than its public suffix, and the registrable part is
 * letters, digits and hyphens. The raw top-level label must be in one case:
 * "Thanks.Best" is two words. bare: a name on its own, not the host of a URL
 * or an address, which must not end in a file-extension TLD. */
static bool domain_ok(struct scan *s, const struct name *nm, bool bare)
{
    if (nm->nparts < 2 || nm->too_long)
        return false;
    const unsigned char *tld = s->t + nm->part[nm->nparts - 1][0];
    size_t tl = nm->part[nm->nparts - 1][1];
    bool up = false, low = false;
    for (size_t k = 0; k < tl; k++) {
        up |= tld[k] >= 'A' && tld[k] <= 'Z';
        low |= tld[k] >= 'a' && tld[k] <= 'z';
    }
    if (up && low)
        return false;
    /* the suffix list first: it turns away most dotted words cheaply */
    char tl_low[NAME_MAX_LABEL + 1];
    for (size_t k = 0; k < tl; k++)
        tl_low[k] = (char)lower(tld[k]);
    tl_low[tl] = '\0';
    if (!psl_is_public_suffix2(PSL, tl_low, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE))
        return false;
    if (!name_text(s, nm) || !canonical(s, OBS_DOMAIN))
        return false;
    const char *d = s->canon.data;
    const char *dot = strrchr(d, '.');
    if (dot == NULL)
        return false;
    if (!psl_is_public_suffix2(PSL, dot + 1, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE))
        return false;
    if (psl_is_public_suffix2(PSL, d, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE))
        return false;
    const char *reg = psl_registrable_domain(PSL, d);
    if (reg == NULL || strchr(reg, '_') != NULL)
        return false;
    if (bare && is_file_tld(dot + 1, strlen(dot + 1)))
        return false;
    return true;
}

/* The domain of an address outside the public suffix list ("user@corp.local"): mail is
 * delivered inside organisations to names no public suffix covers, and a SOC
 * wants those addresses too. Two labels at least, and a last label of 2-24
 * letters that is no file extension ("icon@2x.png" is a file name). */
static bool mail_domain_ok(struct scan *s, const struct name *nm)
{
    if (nm->nparts < 2 || nm->too_long)
        return false;
    const unsigned char *tld = s->t + nm->part[nm->nparts - 1][0];
    size_t tl = nm->part[nm->nparts - 1][1];
    if (tl < 2 || tl > 24)
        return false;
    char low[32];
    for (size_t k = 0; k < tl; k++) {
        if (!((tld[k] >= 'a' && tld[k] <= 'z') || (tld[k] >= 'A' && tld[k] <= 'Z')))
            return false;
        low[k] = (char)lower(tld[k]);
    }
    low[tl] = '\0';
    if (is_file_tld(low, tl) || is_file_ext(low, tl))
        return false;
    return name_text(s, nm) && canonical(s, OBS_DOMAIN);
}

/* Whether a name run at start..end is a file name or a key rather than a host:
 * after a single '/' or '\' (a path), before '@' (a local part), a JSON key
 * ("user.name":), a key=value key, or a call ("os.system("). */
static bool name_context_bad(const struct scan *s, size_t start, size_t end)
{
    unsigned char p = start > 0 ? s->t[start - 1] : 0;
    unsigned char pp = start > 1 ? s->t[start - 2] : 0;
    if ((p == '/' || p == '\\') && pp != p)
        return true;
    size_t j = end;
    while (j < s->n && cls(s->t[j], C_SPACE))
        j++;
    if (at(s, j) == '@')
        return true;
    unsigned char q = at(s, end);
    if (q == '=' || q == '(')
        return true;
    if (p == '"' && q == '"' && at(s, end + 1) == ':')
        return true;
    return false;
}

static void try_name(struct scan *s, size_t i, bool email_here)
{
    struct name nm;
    name_lex(s, i, false, &nm);
    s->name_end = nm.end > i ? nm.end : i + 1;
    if (email_here || nm.nparts < 2 || name_context_bad(s, nm.start, nm.end))
        return;
    if (span_done(s, IOC_DOMAIN, nm.start, nm.end) || !domain_ok(s, &nm, true))
        return;
    report(s, IOC_DOMAIN, s->canon.data, s->canon.len, i);
    span_remember(s, IOC_DOMAIN, nm.start, nm.end);
}

/* --- email addresses ----------------------------------------------------------- */

/* Looks for an address whose local part starts at i. True when one was
 * reported (the name scanner then leaves the local part alone). */
static bool try_email(struct scan *s, size_t i)
{
    if (s->t[i] == '.')
        return false;
    if ((i >= 2 && s->t[i - 1] == '/' && s->t[i - 2] == '/') || (i >= s->ui_start && i < s->ui_end))
        return false; /* userinfo of a URL */
    size_t j = i;
    while (j < s->n && j - i <= LOCAL_MAX && cls(s->t[j], C_LOCAL))
        j++;
    size_t ll = j - i;
    if (ll > LOCAL_MAX || j >= s->n)
        return false;
    unsigned char b = s->t[j];
    if (b != '@' && !cls(b, C_SPACE | C_OPEN) && b != '/')
        return false; /* the common case: no at-separator follows */
    struct sep sp = sep_at_pos(s, j, '@', "at", 2, true);
    if (sp.kind == SEP_NONE)
        return false;
    if (s->t[j - 1] == '.')
        return false;
    for (size_t k = i; k + 1 < j; k++)
        if (s->t[k] == '.' && s->t[k + 1] == '.')
            return false;
    /* Bare words ("dot") in the domain only when the '@' was hidden too, and a
     * bare "at" only with a domain that spells out "dot": "look at example.com"
     * is a sentence, "user at example dot com" an address. */
    struct name nm;
    name_lex(s, j + sp.len, sp.kind != SEP_PLAIN, &nm);
    if (sp.kind == SEP_LOOSE && !nm.dot_word)
        return false;
    if (span_done(s, IOC_EMAIL, i, nm.end))
        return true;
    if (!domain_ok(s, &nm, false) && !mail_domain_ok(s, &nm))
        return false;
    /* local part + '@' + the canonical domain */
    size_t dl = s->canon.len;
    buf_reset(&s->val);
    if (!ok(s, buf_append(&s->val, s->t + i, ll)) || !ok(s, buf_append(&s->val, "@", 1)) ||
        !ok(s, buf_append(&s->val, s->canon.data, dl)))
        return false;
    if (!canonical(s, OBS_EMAIL))
        return false;
    report(s, IOC_EMAIL, s->canon.data, s->canon.len, i);
    span_remember(s, IOC_EMAIL, i, nm.end);
    return true;
}

/* --- URLs ---------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at i (0: invalid): no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const struct scan *s, size_t i)
{
    const unsigned char *p = s->t + i;
    size_t left = s->n - i;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (left >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (left < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (left < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

static uint32_t utf8_cp(const unsigned char *p, size_t l)
{
    if (l == 2)
        return ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
    if (l == 3)
        return ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
           ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
}

/* Unicode spaces end a URL as ASCII ones do. */
static bool cp_space(uint32_t cp)
{
    return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200b) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

/* Closing quotes and punctuation that end a sentence, not a URL. */
static bool cp_trim(uint32_t cp)
{
    switch (cp) {
    case 0xbb:   /* » */
    case 0x2019: /* ’ */
    case 0x201d: /* ” */
    case 0x2026: /* … */
    case 0x203a: /* › */
    case 0x3001: /* 、 */
    case 0x3002: /* 。 */
    case 0x300d: /* 」 */
    case 0x300f: /* 』 */
    case 0x3011: /* 】 */
    case 0xff01: /* ！ */
    case 0xff09: /* ） */
    case 0xff0c: /* ， */
    case 0xff1a: /* ： */
    case 0xff1b: /* ； */
    case 0xff1c: /* ＜ */
    case 0xff1e: /* ＞ */
    case 0xff1f: /* ？ */
        return true;
    default:
        return false;
    }
}

/* New end of u[from..end) once the punctuation of the sentence around it is
 * dropped: . , ; : ! ? ' ) ] } * and closing quotes. A closing bracket stays
 * when the part has as many opening ones ("/wiki/Foo_(bar)"). */
static size_t url_trim(const char *u, size_t from, size_t end)
{
    static const char OPENS[] = "([{", CLOSES[] = ")]}";
    long depth[3] = {0, 0, 0}; /* opened minus closed: () [] {} */
    for (size_t k = from; k < end; k++) {
        for (int d = 0; d < 3; d++) {
            depth[d] += u[k] == OPENS[d];
            depth[d] -= u[k] == CLOSES[d];
        }
    }
    while (end > from) {
        unsigned char c = (unsigned char)u[end - 1];
        if (c < 0x80) {
            if (!cls(c, C_TRIM))
                break;
            for (int d = 0; d < 3; d++) {
                if (c == (unsigned char)CLOSES[d]) {
                    if (depth[d] >= 0)
                        return end; /* balanced: part of the URL */
                    depth[d]++;
                }
            }
            end--;
            continue;
        }
        /* a multi-byte character: find its start */
        size_t b = end - 1;
        while (b > from && ((unsigned char)u[b] & 0xc0) == 0x80 && end - b < 4)
            b--;
        size_t l = end - b;
        if (l < 2 || l > 4 || !cp_trim(utf8_cp((const unsigned char *)u + b, l)))
            break;
        end = b;
    }
    return end;
}

static bool scheme_known(const struct scan *s, size_t i, size_t len)
{
    for (size_t k = 0; k < sizeof(SCHEMES) / sizeof(SCHEMES[0]); k++)
        if (strlen(SCHEMES[k]) == len && word_at(s, i, SCHEMES[k], len))
            return true;
    return false;
}

/* Matches "://" and its defangs "[://]", "[:]//", "(:)//" at j; its end or 0. */
static size_t colon_slashes(const struct scan *s, size_t j)
{
    if (cls(at(s, j), C_OPEN))
        j++;
    if (at(s, j) != ':')
        return 0;
    j++;
    if (cls(at(s, j), C_CLOSE))
        j++;
    if (at(s, j) != '/' || at(s, j + 1) != '/')
        return 0;
    j += 2;
    if (cls(at(s, j), C_CLOSE))
        j++;
    return j;
}

/* Whether a port follows at j (":443", "[:]443"); its end in *end. */
static bool port_at(const struct scan *s, size_t j, size_t *end)
{
    size_t k = j;
    if (at(s, k) == ':')
        k++;
    else if (at(s, k) == '[' && at(s, k + 1) == ':' && at(s, k + 2) == ']')
        k += 3;
    else
        return false;
    size_t d = k;
    while (k < s->n && k - d < 5 && cls(s->t[k], C_DIGIT))
        k++;
    if (k == d || cls(at(s, k), C_DIGIT))
        return false;
    *end = k;
    return true;
}

/* A URL whose scheme starts at i. Whatever the outcome, URL scanning resumes
 * after the run of URL characters, so nested URLs are not reported (their
 * hosts are, by the name scanner). */
static void try_url(struct scan *s, size_t i)
{
    size_t j = i;
    while (j < s->n && j - i <= SCHEME_MAX_LEN && cls(s->t[j], C_ALPHA))
        j++;
    size_t sl = j - i;
    if (sl > SCHEME_MAX_LEN)
        return;
    size_t k = colon_slashes(s, j); /* rare after a word: checked first */
    if (k == 0 || !scheme_known(s, i, sl))
        return;
    for (int sp = 0; sp < 4 && at(s, k) == ' '; sp++)
        k++;

    /* userinfo: up to an '@' before the first '/', '?', '#'; RFC 3986's
     * characters without the brackets, so that no defang ("[at]", "(@)")
     * can hide in it and turn into a second '@' once refanged */
    size_t host = k, m = k;
    while (
        m < s->n && m - k < 256 &&
        (cls(s->t[m], C_WORD) || (s->t[m] != '\0' && strchr("-._~%!$&'*+,;=:", s->t[m]) != NULL)))
        m++;
    if (at(s, m) == '@' && m > k) {
        host = m + 1;
        s->ui_start = k;
        s->ui_end = host;
    }

    /* the host: [IPv6], or labels (an IPv4 address or a domain) */
    size_t hend;
    struct name nm;
    nm.nparts = 0;
    if (at(s, host) == '[') {
        const unsigned char *close = memchr(s->t + host, ']', s->n - host < 48 ? s->n - host : 48);
        if (close == NULL)
            return;
        hend = (size_t)(close - s->t) + 1;
    } else {
        name_lex(s, host, false, &nm);
        hend = nm.end;
        if (nm.nparts < 2)
            return;
    }
    size_t pend = hend;
    size_t port_end;
    if (port_at(s, hend, &port_end))
        pend = port_end;

    /* the path, query and fragment: up to a space, a quote, an angle bracket,
     * a backslash, a control character or invalid UTF-8 */
    size_t path = pend, e = pend;
    unsigned char c = at(s, pend);
    bool has_path = c == '/' || c == '?' || c == '#' ||
                    (c == '[' && at(s, pend + 1) == '/' && at(s, pend + 2) == ']');
    bool too_long = false;
    if (has_path) {
        while (e < s->n) {
            unsigned char b = s->t[e];
            if (b < 0x80) {
                if (cls(b, C_URLSTOP))
                    break;
                e++;
            } else {
                size_t l = utf8_len(s, e);
                if (l == 0 || cp_space(utf8_cp(s->t + e, l)))
                    break;
                e += l;
            }
            if (e - i > RP_IOC_URL_MAX)
                too_long = true;
        }
    }
    s->url_end = e > i ? e : i + 1;
    if (too_long || span_done(s, IOC_URL, i, e))
        return;

    /* the host must be an address or a domain */
    if (nm.nparts == 0) {
        bool v6 = false;
        struct rp_error err;
        rp_status st =
            observable_ip((const char *)s->t + host + 1, hend - host - 2, &s->canon, &v6, &err);
        if (st != RP_OK || !v6)
            return;
    } else {
        bool numeric = true;
        for (size_t p = 0; p < nm.nparts && numeric; p++)
            for (size_t q = 0; q < nm.part[p][1]; q++)
                numeric &= cls(s->t[nm.part[p][0] + q], C_DIGIT);
        if (numeric) {
            bool v6 = false;
            if (nm.nparts != 4 || !name_text(s, &nm) || !canonical_ip(s, &v6) || v6)
                return;
        } else if (!domain_ok(s, &nm, false)) {
            return;
        }
    }

    /* scheme "://" userinfo@ host :port path, without the spaces and separator
     * runs; observable_canonical refangs what is left */
    buf_reset(&s->val);
    if (!ok(s, buf_append(&s->val, s->t + i, sl)) || !ok(s, buf_append(&s->val, "://", 3)))
        return;
    if (host > k && !ok(s, buf_append(&s->val, s->t + k, host - k)))
        return;
    if (nm.nparts > 0) {
        for (size_t p = 0; p < nm.nparts; p++)
            if ((p > 0 && !ok(s, buf_append(&s->val, ".", 1))) ||
                !ok(s, buf_append(&s->val, s->t + nm.part[p][0], nm.part[p][1])))
                return;
    } else if (!ok(s, buf_append(&s->val, s->t + host, hend - host))) {
        return;
    }
    if (pend > hend && !ok(s, buf_append(&s->val, s->t + hend, pend - hend)))
        return;
    size_t path_at = s->val.len;
    if (e > path && !ok(s, buf_append(&s->val, s->t + path, e - path)))
        return;
    s->val.len = url_trim(s->val.data, path_at, s->val.len);
    s->val.data[s->val.len] = '\0';
    if (!canonical(s, OBS_URL))
        return;
    /* refanging may uncover punctuation at the end ("/x[.]"): trim again, so
     * that the value is found unchanged on its own */
    const char *sep = strstr(s->canon.data, "://");
    size_t from = sep != NULL ? (size_t)(sep - s->canon.data) + 3 : 0;
    const char *slash = strpbrk(s->canon.data + from, "/?#");
    if (slash != NULL) {
        s->canon.len = url_trim(s->canon.data, (size_t)(slash - s->canon.data), s->canon.len);
        s->canon.data[s->canon.len] = '\0';
    }
    report(s, IOC_URL, s->canon.data, s->canon.len, i);
    span_remember(s, IOC_URL, i, e);
}

/* --- IP addresses --------------------------------------------------------------- */

/* An IPv4 address whose first octet starts at i (after a non-digit), with any
 * dot separator between octets. Not when it is part of a longer dotted run of
 * numbers (a version "1.2.3.4.5", an OID): a digit and '.' before it or a
 * separator and a digit after it. */
static void try_ipv4(struct scan *s, size_t i)
{
    if (i >= 2 && s->t[i - 1] == '.' && cls(s->t[i - 2], C_DIGIT))
        return;
    size_t j = i;
    size_t oct[4][2];
    for (int o = 0; o < 4; o++) {
        size_t d = j;
        while (j < s->n && j - d < 3 && cls(s->t[j], C_DIGIT))
            j++;
        if (j == d || cls(at(s, j), C_DIGIT))
            return;
        oct[o][0] = d;
        oct[o][1] = j - d;
        if (o == 3)
            break;
        if (j >= s->n || !may_dot_sep(s->t[j], false))
            return;
        struct sep sp = sep_at_pos(s, j, '.', "dot", 3, false);
        if (sp.kind == SEP_NONE || !cls(at(s, j + sp.len), C_DIGIT))
            return;
        j += sp.len;
    }
    if (j < s->n && may_dot_sep(s->t[j], false)) {
        struct sep sp = sep_at_pos(s, j, '.', "dot", 3, false);
        if (sp.kind != SEP_NONE && cls(at(s, j + sp.len), C_DIGIT))
            return;
    }
    buf_reset(&s->val);
    for (int o = 0; o < 4; o++)
        if ((o > 0 && !ok(s, buf_append(&s->val, ".", 1))) ||
            !ok(s, buf_append(&s->val, s->t + oct[o][0], oct[o][1])))
            return;
    bool v6 = false;
    if (canonical_ip(s, &v6) && !v6)
        report(s, IOC_IPV4, s->canon.data, s->canon.len, i);
}

/* Whether the text of an IPv6 address is eight two-digit groups: a MAC-style
 * EUI-64 or a Fibre Channel WWN (20:00:00:25:b5:00:00:0a), not an address. */
static bool wwn_like(const char *a, size_t n)
{
    size_t groups = 0, l = 0;
    for (size_t k = 0; k <= n; k++) {
        if (k == n || a[k] == ':') {
            if (l != 2)
                return false;
            groups++;
            l = 0;
        } else {
            l++;
        }
    }
    return groups == 8;
}

/* Whether the canonical text of an IPv6 address has at least two groups
 * written out: "::1", "::" and "2001::" are too bare to be indicators (and a
 * C++ "a::b" is not hex). */
static bool ipv6_groups_ok(const char *a)
{
    size_t groups = 0;
    for (const char *p = a;;) {
        size_t l = strcspn(p, ":");
        groups += l > 0;
        if (p[l] == '\0')
            break;
        p += l + 1;
    }
    return groups >= 2;
}

/* An IPv6 address starting at i: a run of hex digits, ':' and '.' (an
 * embedded IPv4) with a ':' in its first five characters, not glued to a word.
 * An IPv4-mapped address is reported as the IPv4 address it carries. */
static void try_ipv6(struct scan *s, size_t i)
{
    size_t j = i;
    while (j < s->n && j - i < 5 && cls(s->t[j], C_HEX))
        j++;
    if (at(s, j) != ':')
        return;
    size_t e = i;
    while (e < s->n && e - i <= IPV6_TEXT_MAX &&
           (cls(s->t[e], C_HEX) || s->t[e] == ':' || s->t[e] == '.'))
        e++;
    if (e - i > IPV6_TEXT_MAX || cls(at(s, e), C_WORD))
        return;
    while (e > i && s->t[e - 1] == '.')
        e--;
    if (e - i >= 2 && s->t[e - 1] == ':' && s->t[e - 2] != ':')
        e--;
    size_t colons = 0;
    for (size_t k = i; k < e; k++)
        colons += s->t[k] == ':';
    if (colons < 2)
        return;
    buf_reset(&s->val);
    if (!ok(s, buf_append(&s->val, s->t + i, e - i)))
        return;
    bool v6 = true;
    if (!canonical_ip(s, &v6))
        return;
    if (!v6)
        report(s, IOC_IPV4, s->canon.data, s->canon.len, i);
    else if (ipv6_groups_ok(s->canon.data) && !wwn_like(s->canon.data, s->canon.len) &&
             !wwn_like((const char *)s->t + i, e - i))
        report(s, IOC_IPV6, s->canon.data, s->canon.len, i);
}

/* --- hashes and CVE ids --------------------------------------------------------- */

/* A whole run of hex digits (from i, after a non-hex byte) of 32, 40, 64 or 128
 * digits. Not a hash: part of a longer run (the first 40 digits of a SHA-256),
 * a number written 0x..., one with mixed case (an Ethereum address), or one
 * with no digit or no letter (a real hash has both with near certainty; a run
 * of 32 decimal digits is a number). */
static void try_hash(struct scan *s, size_t i)
{
    if (i + 32 > s->n || !cls(s->t[i + 31], C_HEX))
        return; /* too short: the common case, decided with one look */
    size_t j = i;
    bool up = false, low = false, digit = false;
    while (j < s->n && cls(s->t[j], C_HEX) && j - i <= 128) {
        unsigned char c = s->t[j];
        up |= c >= 'A' && c <= 'F';
        low |= c >= 'a' && c <= 'f';
        digit |= c <= '9';
        j++;
    }
    size_t l = j - i;
    if (l != 32 && l != 40 && l != 64 && l != 128)
        return;
    if (cls(at(s, j), C_HEX))
        return;
    if (i >= 2 && lower(s->t[i - 1]) == 'x' && s->t[i - 2] == '0')
        return;
    if ((up && low) || !digit || !(up || low))
        return;
    enum ioc_type type = l == 32 ? IOC_MD5 : l == 40 ? IOC_SHA1 : l == 64 ? IOC_SHA256 : IOC_SHA512;
    buf_reset(&s->canon);
    if (!ok(s, buf_append(&s->canon, s->t + i, l)))
        return;
    for (size_t k = 0; k < l; k++)
        s->canon.data[k] = (char)lower((unsigned char)s->canon.data[k]);
    report(s, type, s->canon.data, l, i);
}

/* Length of a hyphen at j: '-', or U+2010, U+2011, U+2013 as word processors
 * write it. */
static size_t hyphen_at(const struct scan *s, size_t j)
{
    if (at(s, j) == '-')
        return 1;
    if (at(s, j) == 0xe2 && at(s, j + 1) == 0x80 &&
        (at(s, j + 2) == 0x90 || at(s, j + 2) == 0x91 || at(s, j + 2) == 0x93))
        return 3;
    return 0;
}

/* "CVE-YYYY-NNNN" (any case, 4 to 7 digits), canonical in upper case. */
static void try_cve(struct scan *s, size_t i)
{
    if (!word_at(s, i, "cve", 3))
        return;
    size_t j = i + 3, h = hyphen_at(s, j);
    if (h == 0)
        return;
    j += h;
    size_t y = j;
    while (j < s->n && j - y < 4 && cls(s->t[j], C_DIGIT))
        j++;
    if (j - y != 4 || !(s->t[y] == '1' || s->t[y] == '2'))
        return;
    h = hyphen_at(s, j);
    if (h == 0)
        return;
    size_t d = j + h;
    j = d;
    while (j < s->n && j - d <= CVE_DIGITS_MAX && cls(s->t[j], C_DIGIT))
        j++;
    if (j - d < 4 || j - d > CVE_DIGITS_MAX || cls(at(s, j), C_WORD))
        return;
    buf_reset(&s->canon);
    if (!ok(s, buf_append(&s->canon, "CVE-", 4)) || !ok(s, buf_append(&s->canon, s->t + y, 4)) ||
        !ok(s, buf_append(&s->canon, "-", 1)) || !ok(s, buf_append(&s->canon, s->t + d, j - d)))
        return;
    report(s, IOC_CVE, s->canon.data, s->canon.len, i);
}

/* --- the pass ------------------------------------------------------------------- */

/* Cheap looks that turn away most starts before a call: a hash needs 32 hex
 * digits (five of them looked at, without a branch between), an IPv4 address
 * a separator after at most three digits. */
static const unsigned char NOTHING[32]; /* read in place of a text's end: class 0 */

static inline bool hash_may_start(const struct scan *s, size_t i)
{
    const unsigned char *t = i + 32 <= s->n ? s->t + i : NOTHING;
    return (CC[t[31]] & CC[t[16]] & CC[t[8]] & CC[t[4]] & CC[t[1]] & C_HEX) != 0;
}

static inline bool ipv4_may_start(const struct scan *s, size_t i)
{
    if (i + 4 > s->n) { /* near the end: one byte at a time */
        size_t j = i + 1;
        while (j < s->n && j - i < 3 && cls(s->t[j], C_DIGIT))
            j++;
        return j < s->n && may_dot_sep(s->t[j], false);
    }
    /* the first byte after at most two more digits, found without a branch */
    unsigned d1 = (CC[s->t[i + 1]] & C_DIGIT) != 0;
    unsigned d2 = (CC[s->t[i + 2]] & C_DIGIT) != 0;
    return may_dot_sep(s->t[i + 1 + d1 + (d1 & d2)], false);
}

/* What the word starting at i can go on into, by the byte after its run of
 * label bytes: a URL only past a scheme's ':' (or a bracket around it), an
 * address past '@', a dot, a bracket, '/' or a byte of a local part, a domain
 * past a dot, a bracket or '\\'; past spaces, an address only at '@' or the
 * word "at", a domain only at '.' or "dot". try_url, try_email and try_name
 * each give up at that byte on their own; one look spares their scans over
 * the words of markup, CSS and prose, which mostly go on into nothing. A bit
 * may be set wrongly, never left out wrongly. */
enum { JOIN_URL = 1, JOIN_EMAIL = 2, JOIN_NAME = 4 };

static inline unsigned word_joins(const struct scan *s, size_t i, size_t *end, bool *hyphen)
{
    size_t j = i + 1;
    unsigned hy = 0;
    while (j < s->n && cls(s->t[j], C_LABEL))
        hy |= s->t[j++] == '-';
    *end = j;
    *hyphen = hy != 0;
    if (j >= s->n)
        return 0;
    unsigned char b = s->t[j];
    switch (b) {
    case ':':
        return JOIN_URL;
    case '.':
        return JOIN_EMAIL | JOIN_NAME;
    case '@':
    case '%':
    case '+':
    case '/':
        return JOIN_EMAIL;
    case '\\':
        return JOIN_NAME;
    default:
        break;
    }
    if (cls(b, C_OPEN))
        return JOIN_URL | JOIN_EMAIL | JOIN_NAME;
    if (!cls(b, C_SPACE))
        return 0;
    size_t lim = j + RP_IOC_SEP_MAX < s->n ? j + RP_IOC_SEP_MAX : s->n;
    while (j < lim && (cls(s->t[j], C_SPACE | C_OPEN) || s->t[j] == '\\' || s->t[j] == '/'))
        j++;
    if (j >= lim)
        return j < s->n ? JOIN_EMAIL | JOIN_NAME : 0;
    b = lower(s->t[j]);
    return b == '@' || b == 'a' ? JOIN_EMAIL : b == '.' || b == 'd' ? JOIN_NAME : 0;
}

/* Whether, in the run of label bytes [i, e) whose word start i goes on
 * into nothing (word_joins() 0), a later byte can start anything: a hash
 * needs 32 of its bytes after i, an IPv4 address (or an IPv6 group) ends at a
 * separator after the run with a digit (or ':') at e, and a CVE id starts
 * after a '-' inside it. When not, the scan goes on from e: the run's bytes
 * are not read a second time. */
static inline bool run_may_hold(const struct scan *s, size_t i, size_t e, bool hyphen)
{
    if (e - i > 32 || (e < s->n && s->t[e] == ':'))
        return true;
    if (e < s->n && cls(s->t[e - 1], C_DIGIT) && may_dot_sep(s->t[e], false))
        return true;
    const unsigned char *t = s->t;
    for (size_t k = i + 1; hyphen && k + 2 < e; k++) /* "-cv", any case, tested as one */
        if ((t[k] == '-') & ((t[k + 1] | 0x20) == 'c') & ((t[k + 2] | 0x20) == 'v'))
            return true;
    return false;
}

rp_status extract_iocs(const char *text, size_t len, ioc_fn fn, void *arg)
{
    pthread_once(&INIT_ONCE, init_once);
    if (PSL == NULL)
        return RP_E_IO; /* neither the system's nor a built-in suffix list */
    struct scan s;
    memset(&s, 0, sizeof(s));
    s.t = (const unsigned char *)text;
    s.n = text != NULL ? len : 0;
    s.fn = fn;
    s.arg = arg;
    s.st = RP_OK;
    /* a candidate is never longer than a URL; the canonical form is shorter */
    buf_init(&s.val, RP_IOC_URL_MAX + 64);
    buf_init(&s.canon, RP_IOC_URL_MAX + 64);
    buf_init(&s.seen.arena, RP_IOC_BYTES_MAX);
    buf_init(&s.done.arena, RP_IOC_BYTES_MAX);

    const unsigned char *t = s.t;
    for (size_t i = 0; i < s.n && !s.stop; i++) {
        /* Most bytes start nothing: spaces, punctuation and non-ASCII bytes,
         * and the inside of a word but where a hex run of a hash's length or
         * a number with a dot after it begins. They are passed over in a
         * tight loop carrying the previous byte's class. */
        uint16_t pc = i > 0 ? CC[t[i - 1]] : 0;
        uint16_t cc = CC[t[i]];
        for (;;) {
            if ((cc & C_LOCAL) || t[i] == ':') {
                if (!(cc & pc & C_WORD))
                    break; /* a word (or a separator) starts */
                uint16_t fresh = cc & ~pc;
                if ((fresh & C_HEX) && hash_may_start(&s, i))
                    break;
                if ((fresh & C_DIGIT) && ipv4_may_start(&s, i))
                    break;
            }
            if (++i == s.n)
                break;
            pc = cc;
            cc = CC[t[i]];
        }
        if (i == s.n)
            break;
        unsigned char c = t[i];
        unsigned char p = i > 0 ? t[i - 1] : 0;
        if ((cc & pc & C_WORD) != 0) {
            /* inside a word only a number (IPv4) or a hex run (a hash) starts */
            if ((cc & C_DIGIT) && !(pc & C_DIGIT) && ipv4_may_start(&s, i))
                try_ipv4(&s, i);
            if ((cc & C_HEX) && !(pc & C_HEX) && hash_may_start(&s, i) && !s.stop)
                try_hash(&s, i);
            continue;
        }

        size_t run_end = i + 1;
        bool hyphen = false;
        unsigned join = (cc & C_WORD) ? word_joins(&s, i, &run_end, &hyphen)
                                      : JOIN_URL | JOIN_EMAIL | JOIN_NAME;
        if ((join & JOIN_URL) && (cc & C_ALPHA) && !(pc & C_WORD) && i >= s.url_end)
            try_url(&s, i);
        bool email = false;
        if ((join & JOIN_EMAIL) && (cc & C_LOCAL) && !(pc & C_LOCAL) && !s.stop)
            email = try_email(&s, i);
        if ((join & JOIN_NAME) && (cc & C_WORD) && !(pc & C_WORD) && i >= s.name_end && !s.stop)
            try_name(&s, i, email);
        if ((cc & C_DIGIT) && !(pc & C_DIGIT) && ipv4_may_start(&s, i) && !s.stop)
            try_ipv4(&s, i);
        if (((cc & C_HEX) || c == ':') && !(pc & (C_HEX | C_WORD)) && p != ':' && !s.stop)
            try_ipv6(&s, i);
        if ((cc & C_HEX) && !(pc & C_HEX) && hash_may_start(&s, i) && !s.stop)
            try_hash(&s, i);
        if ((c == 'C' || c == 'c') && !(pc & C_WORD) && !s.stop)
            try_cve(&s, i);
        if (join == 0 && (cc & C_WORD) && !run_may_hold(&s, i, run_end, hyphen))
            i = run_end - 1; /* the loop's step lands on the byte after the run */
    }

    rp_status st = s.st;
    buf_fini(&s.val);
    buf_fini(&s.canon);
    set_fini(&s.seen);
    set_fini(&s.done);
    return st;
}
