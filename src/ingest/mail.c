/*
 * mail.c: one raw mail (RFC 5322 / MIME) as a phishing alert. The contract is
 * in mail.h; what each field holds, the severity heuristic and the limits are
 * in docs/mail.md.
 *
 * GMime 3 parses the bytes (read in place through a memory stream, never from
 * a path) into a tree. One bounded walk over the tree decodes every text and
 * HTML body to UTF-8 (transfer encoding by GMime, charset by GMime's iconv
 * filter, Windows-1252 for what is left undecodable), lists and hashes the
 * attachments with a sniffed type from their first bytes, opens attached
 * messages, and finds the URLs: a small scanner in plain text, and a tolerant
 * tag scanner in HTML that pairs each link's target with its visible text.
 * The headers give the senders, the Received chain and the authentication
 * results. A mail that a user forwarded with the suspicious mail attached is
 * turned around: the attached mail is the alert's subject and the forwarding
 * user its reporter.
 *
 * Why a tag scanner of our own rather than libxml2's HTML parser: we need three
 * things from HTML (link targets, their visible text, the visible text), a
 * forward scan gives them in one pass without building a DOM, it keeps
 * Outlook's conditional comments (where VML buttons hide their links) that a
 * parser drops, and it has no global state to initialise. It never recurses.
 *
 * Threads: any. GMime is initialised once (pthread_once); the parser options
 * and digests are made then and only read afterwards; the list of charset
 * converters kept open is under a mutex. Everything else is per call.
 * Memory: the GMime tree (about twice the mail), the decoded text of one part
 * at a time and the alert, all bounded by RP_MAIL_MAX_BYTES and the RP_MAIL_*
 * limits. Failures: RP_E_INVALID for input that is no mail or breaks a
 * structural limit (size, header count, depth, part count), saying where or
 * which limit; RP_E_NOMEM. Lists that reach their limit keep their first
 * entries and say how many were left out in extra.truncated.
 */
#include "ingest/mail.h"

#include "core/buf.h"
#include "core/limits.h"
#include "model/observable.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <libpsl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Every URL and attachment becomes observables; their limits are chosen so
 * that a mail can never exceed the alert's observable limit (three senders:
 * from, reply_to, return_path). */
_Static_assert(RP_MAIL_URLS_MAX + 4 * RP_MAIL_ATTACHMENTS_MAX + 3 <= RP_OBSERVABLES_MAX,
               "mail URLs and attachments must fit the observables of one alert");
_Static_assert(RP_MAIL_LINKS_MAX <= RP_ARRAY_MAX && RP_MAIL_URLS_MAX <= RP_ARRAY_MAX &&
                   RP_MAIL_RECEIVED_MAX <= RP_ARRAY_MAX && RP_MAIL_RECIPIENTS_MAX <= RP_ARRAY_MAX,
               "mail lists must fit the alert's arrays");
_Static_assert(RP_MAIL_URL_MAX_BYTES <= RP_FIELD_MAX_BYTES, "a URL must fit a field");

/* Bytes of a header value kept in headers{}, received[] and the name fields. */
#define MAIL_LINE_MAX RP_NAME_MAX_BYTES

/* Bytes of the reporter's own words kept in extra.report.comment. */
#define MAIL_COMMENT_MAX 2048

/* --- GMime, once ------------------------------------------------------------ */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *parser_opts;
/* Digests fetched once: OpenSSL 3 looks an algorithm up (under a lock) on every
 * EVP_Digest() given the legacy EVP_md5() handles. NULL when the provider
 * refuses one (MD5 under FIPS): that hash is then left out. */
static EVP_MD *md_md5, *md_sha1, *md_sha256;

/* Undeclared 8-bit header text is tried as UTF-8, then Windows-1252 (which
 * reads any byte). Loose RFC 2047 and address parsing: phishing mail is
 * rarely well-formed, and what it says is still what we must see. */
static void gmime_setup(void)
{
    static const char *fallback[] = {"utf-8", "windows-1252", NULL};
    g_mime_init();
    parser_opts = g_mime_parser_options_new();
    g_mime_parser_options_set_fallback_charsets(parser_opts, fallback);
    g_mime_parser_options_set_rfc2047_compliance_mode(parser_opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(parser_opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(parser_opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_allow_addresses_without_domain(parser_opts, TRUE);
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* --- text to clean UTF-8 ------------------------------------------------------ */

/* Windows-1252 0x80-0x9F; the rest of the high half is Latin-1. */
static const uint16_t CP1252_HIGH[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

/* Length of the valid UTF-8 sequence at p (shortest form, no surrogates), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
        return 0;
    if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
        return 0;
    return 4;
}

static size_t utf8_put(uint32_t cp, char out[4])
{
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF)
        return utf8_put(0xFFFD, out);
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

enum clean {
    CLEAN_TEXT, /* multi-line text: only NUL is dropped */
    CLEAN_LINE, /* one line: controls and whitespace runs become one space, no leading space */
};

struct sink {
    struct buf *out;
    bool cut; /* something did not fit in out->max */
};

/* Appends n bytes that are valid UTF-8 (whole characters) unless they do not
 * fit: then as many whole characters as fit, and the sink is marked cut. */
static rp_status sink_put(struct sink *k, const char *s, size_t n)
{
    if (k->cut)
        return RP_OK;
    size_t room = k->out->max - k->out->len;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        k->cut = true;
    }
    return n > 0 ? buf_append(k->out, s, n) : RP_OK;
}

static bool sink_ends_space(const struct sink *k)
{
    return k->out->len == 0 || k->out->data[k->out->len - 1] == ' ';
}

/* Appends s (n bytes in any encoding) as valid UTF-8: valid UTF-8 is copied
 * (unless latin is set), every other byte is read as Windows-1252. */
static rp_status clean_append(struct sink *k, const char *s, size_t n, enum clean mode, bool latin)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    rp_status st = RP_OK;
    while (i < n && st == RP_OK && !k->cut) {
        /* the longest run that is copied as it is: printable ASCII (any ASCII
         * but NUL in text, eight bytes at a time) and valid UTF-8 */
        size_t j = i;
        for (;;) {
            if (mode == CLEAN_TEXT) {
                while (n - j >= 8) {
                    uint64_t w;
                    memcpy(&w, u + j, 8);
                    if ((w & 0x8080808080808080ULL) != 0 ||
                        ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0)
                        break; /* a high bit or a NUL in these eight */
                    j += 8;
                }
            }
            if (j >= n)
                break;
            unsigned ch = u[j];
            if (mode == CLEAN_LINE ? (ch > 0x20 && ch < 0x7F) : (ch != 0 && ch < 0x80)) {
                j++;
                continue;
            }
            size_t l = ch >= 0x80 && !latin ? utf8_seq(u + j, n - j) : 0;
            if (l == 0)
                break;
            j += l;
        }
        if (j > i) {
            st = sink_put(k, s + i, j - i);
            i = j;
            continue;
        }
        unsigned c = u[i];
        if (c == 0) {
            i++;
            continue;
        }
        if (c < 0x80) { /* CLEAN_LINE: a control or a space */
            if (!sink_ends_space(k))
                st = sink_put(k, " ", 1);
            i++;
            continue;
        }
        size_t l = latin ? 0 : utf8_seq(u + i, n - i);
        if (l > 0) {
            st = sink_put(k, s + i, l);
            i += l;
            continue;
        }
        char enc[4];
        uint32_t cp = c < 0xA0 ? CP1252_HIGH[c - 0x80] : c;
        st = sink_put(k, enc, utf8_put(cp, enc));
        i++;
    }
    return st;
}

/* Drops trailing spaces (CLEAN_LINE output). */
static void rtrim(struct buf *b)
{
    while (b->len > 0 && b->data[b->len - 1] == ' ')
        b->data[--b->len] = '\0';
}

/* --- JSON helpers ---------------------------------------------------------------- */

static rp_status jset(json_t *o, const char *key, json_t *v)
{
    if (v == NULL)
        return RP_E_NOMEM;
    return json_object_set_new(o, key, v) == 0 ? RP_OK : RP_E_NOMEM;
}

static rp_status jpush(json_t *a, json_t *v)
{
    if (v == NULL)
        return RP_E_NOMEM;
    return json_array_append_new(a, v) == 0 ? RP_OK : RP_E_NOMEM;
}

/* A JSON string of what clean_append() (through line_of() or a sink) wrote
 * into b: valid UTF-8 by construction, so jansson's check of every byte is
 * skipped (fuzz_mail reads every alert back through json_loads()). */
static json_t *json_clean(const struct buf *b)
{
    return json_stringn_nocheck(b->data ? b->data : "", b->len);
}

/* The text s (any encoding) as one clean line of at most max bytes, in tmp.
 * *cut (may be NULL) tells whether it was cut. */
static rp_status line_of(struct buf *tmp, const char *s, size_t n, size_t max, bool *cut)
{
    buf_reset(tmp);
    size_t saved = tmp->max;
    tmp->max = max < saved ? max : saved;
    struct sink k = {tmp, false};
    rp_status st = clean_append(&k, s, n, CLEAN_LINE, false);
    tmp->max = saved;
    rtrim(tmp);
    if (cut != NULL)
        *cut = k.cut;
    return st;
}

/* Sets o[key] to s as one clean line of at most max bytes; nothing when empty. */
static rp_status set_line(json_t *o, const char *key, const char *s, size_t max, struct buf *tmp)
{
    if (s == NULL)
        return RP_OK;
    rp_status st = line_of(tmp, s, strlen(s), max, NULL);
    if (st != RP_OK || tmp->len == 0)
        return st;
    return jset(o, key, json_clean(tmp));
}

/* --- sniffing --------------------------------------------------------------------- */

/* How dangerous a kind of file is to open, for the severity heuristic. */
enum risk {
    RISK_NONE,
    RISK_CONTAINER, /* can carry something else: archives, OLE2 documents, RTF */
    RISK_ACTIVE,    /* runs code when opened: executables, scripts, HTML, shortcuts */
};

struct magic {
    uint32_t off;
    uint8_t len;
    const char *bytes;
    const char *type;
    enum risk risk;
};

/* Signatures at fixed offsets, first match wins. ZIP is refined afterwards
 * (OOXML, macro-enabled OOXML, Java archives). */
static const struct magic MAGIC[] = {
    {0, 5, "%PDF-", "application/pdf", RISK_NONE},
    {0, 4, "PK\x03\x04", "application/zip", RISK_CONTAINER},
    {0, 4, "PK\x05\x06", "application/zip", RISK_CONTAINER},
    {0, 8, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "application/x-ole-storage", RISK_CONTAINER},
    {0, 2, "MZ", "application/x-dosexec", RISK_ACTIVE},
    {0, 4,
     "\x7F"
     "ELF",
     "application/x-executable", RISK_ACTIVE},
    {0, 4, "\xCF\xFA\xED\xFE", "application/x-mach-binary", RISK_ACTIVE},
    {0, 4, "\xCE\xFA\xED\xFE", "application/x-mach-binary", RISK_ACTIVE},
    {0, 6, "Rar!\x1A\x07", "application/vnd.rar", RISK_CONTAINER},
    {0, 6, "7z\xBC\xAF\x27\x1C", "application/x-7z-compressed", RISK_CONTAINER},
    {0, 2, "\x1F\x8B", "application/gzip", RISK_CONTAINER},
    {0, 4, "MSCF", "application/vnd.ms-cab-compressed", RISK_CONTAINER},
    {0, 5, "{\\rtf", "application/rtf", RISK_CONTAINER},
    {0, 8, "\x4C\x00\x00\x00\x01\x14\x02\x00", "application/x-ms-shortcut", RISK_ACTIVE},
    {0, 16, "\xE4\x52\x5C\x7B\x8C\xD8\xA7\x4D\xAE\xB1\x53\x78\xD0\x29\x96\xD3",
     "application/onenote", RISK_ACTIVE},
    {0x8001, 5, "CD001", "application/x-iso9660-image", RISK_ACTIVE},
    {0, 8, "\x89PNG\r\n\x1A\n", "image/png", RISK_NONE},
    {0, 3, "\xFF\xD8\xFF", "image/jpeg", RISK_NONE},
    {0, 6, "GIF87a", "image/gif", RISK_NONE},
    {0, 6, "GIF89a", "image/gif", RISK_NONE},
    {0, 2, "#!", "text/x-shellscript", RISK_ACTIVE},
    {0, 15, "BEGIN:VCALENDAR", "text/calendar", RISK_NONE},
};

static bool has_at(const unsigned char *p, size_t n, size_t off, const char *s, size_t l)
{
    return n >= off + l && memcmp(p + off, s, l) == 0;
}

static bool has_in(const unsigned char *p, size_t n, const char *s)
{
    return memmem(p, n, s, strlen(s)) != NULL;
}

/* Case-insensitive prefix. */
static bool prefix_ci(const unsigned char *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    return n >= l && strncasecmp((const char *)p, s, l) == 0;
}

static bool contains_ci(const unsigned char *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (tolower(p[i]) == s[0] && strncasecmp((const char *)p + i, s, l) == 0)
            return true;
    return false;
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What a ZIP's member names say, from its central directory. */
enum zip_has { ZIP_VBA = 1, ZIP_WORD = 2, ZIP_XL = 4, ZIP_PPT = 8, ZIP_MANIFEST = 16 };

/* Reads the member names of the central directory that the end record (in
 * the last 64 KiB) points to, into a ZIP_ mask. False when there is no
 * whole directory (a cut or damaged file, ZIP64): the caller then searches
 * the bytes. The names alone are read: never a byte of compressed data,
 * where "xl/" turns up by chance in one large file in thirty. */
static bool zip_directory(const unsigned char *p, size_t n, unsigned *has)
{
    if (n < 22)
        return false;
    size_t lo = n - 22 > 65535 ? n - 22 - 65535 : 0, e = n - 22 + 1;
    do /* the end record, last first: a comment may follow it */
        e--;
    while (e > lo && !has_at(p, n, e, "PK\x05\x06", 4));
    if (!has_at(p, n, e, "PK\x05\x06", 4))
        return false;
    size_t count = le16(p + e + 10), size = le32(p + e + 12), off = le32(p + e + 16);
    if (off > e || size > e - off)
        return false;
    *has = 0;
    size_t i = off, end = off + size;
    for (size_t k = 0; k < count; k++) {
        if (end - i < 46 || !has_at(p, n, i, "PK\x01\x02", 4))
            return false;
        size_t nl = le16(p + i + 28), skip = 46 + nl + le16(p + i + 30) + le16(p + i + 32);
        if (end - i < skip)
            return false;
        const unsigned char *name = p + i + 46;
        if (memmem(name, nl, "vbaProject.bin", 14) != NULL)
            *has |= ZIP_VBA;
        if (nl >= 5 && memcmp(name, "word/", 5) == 0)
            *has |= ZIP_WORD;
        if (nl >= 3 && memcmp(name, "xl/", 3) == 0)
            *has |= ZIP_XL;
        if (nl >= 4 && memcmp(name, "ppt/", 4) == 0)
            *has |= ZIP_PPT;
        if (nl == 20 && memcmp(name, "META-INF/MANIFEST.MF", 20) == 0)
            *has |= ZIP_MANIFEST;
        i += skip;
    }
    return true;
}

/* Member names searched for in the bytes of a ZIP without a whole central
 * directory: they sit in the local headers (spread through the file) and in
 * what is left of the directory (at the end), so both ends of a large file
 * are searched. */
static unsigned zip_search(const unsigned char *p, size_t n)
{
    const size_t span = 256u * 1024u;
    const unsigned char *tail = n > span ? p + n - span : p;
    size_t head_n = n > span ? span : n, tail_n = n > span ? span : n;
#define ZIP_HAS(s) (has_in(p, head_n, s) || has_in(tail, tail_n, s))
    if (ZIP_HAS("vbaProject.bin"))
        return ZIP_VBA;
    if (ZIP_HAS("word/"))
        return ZIP_WORD;
    if (ZIP_HAS("xl/"))
        return ZIP_XL;
    if (ZIP_HAS("ppt/"))
        return ZIP_PPT;
    if (ZIP_HAS("META-INF/MANIFEST.MF"))
        return ZIP_MANIFEST;
#undef ZIP_HAS
    return 0;
}

/* A ZIP's kind from its member names: those of the central directory, or,
 * when it has none whole, any name written in its first and last bytes. */
static const char *sniff_zip(const unsigned char *p, size_t n, enum risk *risk)
{
    unsigned has = 0;
    if (!zip_directory(p, n, &has))
        has = zip_search(p, n);
    if (has & ZIP_VBA) {
        *risk = RISK_ACTIVE;
        return "application/vnd.ms-office.macroEnabled";
    }
    if (has & ZIP_WORD)
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    if (has & ZIP_XL)
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    if (has & ZIP_PPT)
        return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
    if (has & ZIP_MANIFEST) {
        *risk = RISK_ACTIVE;
        return "application/java-archive";
    }
    return "application/zip";
}

/* The type of content from its first bytes: a signature, else markup, a mail,
 * text or application/octet-stream. */
static const char *sniff(const unsigned char *p, size_t n, enum risk *risk)
{
    *risk = RISK_NONE;
    if (n == 0)
        return "application/x-empty";
    for (size_t i = 0; i < sizeof(MAGIC) / sizeof(MAGIC[0]); i++) {
        const struct magic *m = &MAGIC[i];
        if (has_at(p, n, m->off, m->bytes, m->len)) {
            *risk = m->risk;
            if (m->bytes[0] == 'P' && m->bytes[1] == 'K')
                return sniff_zip(p, n, risk);
            return m->type;
        }
    }
    if (has_at(p, n, 0, "RIFF", 4) && has_at(p, n, 8, "WEBP", 4))
        return "image/webp";
    size_t head = n < 1024 ? n : 1024;
    if (has_in(p, head, "%PDF-")) /* readers accept junk before the header */
        return "application/pdf";
    size_t i = has_at(p, n, 0, "\xEF\xBB\xBF", 3) ? 3 : 0;
    while (i < head && isspace(p[i]))
        i++;
    const unsigned char *t = p + i;
    size_t tn = head - i;
    if (prefix_ci(t, tn, "<!doctype html") || prefix_ci(t, tn, "<html") ||
        prefix_ci(t, tn, "<head") || prefix_ci(t, tn, "<body") || prefix_ci(t, tn, "<script") ||
        prefix_ci(t, tn, "<iframe") || prefix_ci(t, tn, "<meta") ||
        (tn > 0 && t[0] == '<' && (contains_ci(t, tn, "<html") || contains_ci(t, tn, "<script")))) {
        *risk = RISK_ACTIVE;
        if (prefix_ci(t, tn, "<?xml") && contains_ci(t, tn, "<svg"))
            return "image/svg+xml";
        return "text/html";
    }
    if (prefix_ci(t, tn, "<svg")) {
        *risk = RISK_ACTIVE;
        return "image/svg+xml";
    }
    if (prefix_ci(t, tn, "<?xml")) {
        if (contains_ci(t, tn, "<svg")) {
            *risk = RISK_ACTIVE;
            return "image/svg+xml";
        }
        return "application/xml";
    }
    if (mail_detect((const char *)p, n))
        return "message/rfc822";
    size_t look = n < 4096 ? n : 4096;
    bool text = look > 0;
    for (size_t k = 0; k < look && text;) {
        if (p[k] == 0) {
            text = false;
            break;
        }
        size_t l = utf8_seq(p + k, look - k);
        if (l == 0 && look - k >= 4) /* a sequence cut by the window is fine */
            text = false;
        k += l ? l : 1;
    }
    return text ? "text/plain" : "application/octet-stream";
}

/* Lower-case extension of a file name ("" when none), into ext[16]. */
static void file_ext(const char *name, char ext[16])
{
    ext[0] = '\0';
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot == NULL)
        return;
    size_t l = strlen(dot + 1);
    if (l == 0 || l >= 16)
        return;
    for (size_t i = 0; i <= l; i++)
        ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    while (l > 0 && isspace((unsigned char)ext[l - 1]))
        ext[--l] = '\0';
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* Extensions that run code or render as active content when opened. */
static const char *const ACTIVE_EXT[] = {
    "exe",  "scr",   "com",  "pif",  "bat",  "cmd", "js",          "jse", "vbs",  "vbe",
    "wsf",  "wsh",   "hta",  "ps1",  "lnk",  "iso", "img",         "vhd", "vhdx", "htm",
    "html", "shtml", "svg",  "one",  "jar",  "msi", "dll",         "cpl", "reg",  "xll",
    "docm", "xlsm",  "pptm", "dotm", "xlam", "url", "application", NULL,
};

/* Extensions of documents and pictures people open without a second thought. */
static const char *const DOC_EXT[] = {
    "pdf", "doc",  "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "txt", "csv", "odt",
    "jpg", "jpeg", "png",  "gif", "bmp",  "tif", "tiff", "mp3", "mp4", "wav", NULL,
};

static const char *const ARCHIVE_EXT[] = {"zip", "rar", "7z",  "gz", "tgz",
                                          "cab", "arj", "ace", NULL};

/* --- the per-mail state ----------------------------------------------------------- */

/* Outer fields read beside GMime (outer_filtered()) at most: an Exchange
 * Online mail has 5-10 of them; more go through GMime, read as before. */
#define MAIL_SIDE_MAX 32

/* Where one such field is in the mail: its name and its raw value (after the
 * colon, folds and the last line's end included, as GMime's raw value). */
struct side_field {
    size_t start, name_off, name_len, val_off, val_len;
};

struct mctx {
    struct rp_error *err;
    size_t parts;          /* MIME entities walked */
    struct buf text, html; /* email.body_text, email.body_html */
    size_t text_dropped, html_dropped;
    struct buf scratch; /* the decoded UTF-8 of the part being read */
    struct buf canon, canon2, tmp, key;
    json_t *urls, *url_set, *links, *link_set, *attachments;
    json_t *memo; /* URL as written -> canonical form, or null: not a URL we keep */
    size_t urls_dropped, links_dropped, attachments_dropped, long_urls;
    /* severity signals */
    bool deceptive_link, ip_url, active_att, container_att, mismatch_att;
    /* an inline forward (docs/mail.md): the bodies are searched for a forward
     * block when fwd_mode is set; once one is read, fwd holds its header fields
     * and fwd_comment the forwarder's words before it */
    bool fwd_mode, fwd_found;
    json_t *fwd;
    struct buf fwd_comment;
    struct buf *visible; /* when set, html_scan leaves a document's visible text here */
    /* the outer message, and its bytes when outer_filtered() read some of
     * its fields beside GMime (NULL: GMime read them all) */
    GMimeMessage *outer;
    const char *outer_base;
    /* the outer Received fields, left out of what GMime parses (one object
     * less each, 5 a mail): their raw values as offsets into outer_base, the
     * first RP_MAIL_RECEIVED_MAX of received_all */
    struct {
        size_t off, len;
    } received[RP_MAIL_RECEIVED_MAX];
    size_t received_all;
    /* the outer fields of SIDE_FIELDS with a plain ASCII value, read beside
     * GMime the same way (those past MAIL_SIDE_MAX go to GMime as before) */
    struct side_field side[MAIL_SIDE_MAX];
    size_t nside;
    bool side_mail;      /* one of them is a field only mail has */
    struct buf side_val; /* the value of the one being read, NUL-terminated */
};

static rp_status note_dropped(json_t *truncated, const char *what, size_t n)
{
    return n == 0 ? RP_OK : jset(truncated, what, json_integer((json_int_t)n));
}

/* --- URLs ------------------------------------------------------------------------------ */

/* The host of a canonical URL (lower case already), without user or port. */
static void url_host(const char *u, size_t n, const char **h, size_t *hl)
{
    const char *p = memmem(u, n, "://", 3);
    const char *s = p ? p + 3 : u;
    const char *end = u + n;
    const char *e = s;
    while (e < end && *e != '/' && *e != '?' && *e != '#')
        e++;
    const char *at = memrchr(s, '@', (size_t)(e - s));
    if (at != NULL)
        s = at + 1;
    const char *c = s < e && *s == '[' ? memchr(s, ']', (size_t)(e - s)) : NULL;
    if (c != NULL) {
        e = c + 1;
    } else {
        const char *colon = memchr(s, ':', (size_t)(e - s));
        if (colon != NULL)
            e = colon;
    }
    *h = s;
    *hl = (size_t)(e - s);
}

static bool host_is_ip(const char *h, size_t n)
{
    if (n > 0 && h[0] == '[')
        return true;
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        if (h[i] == '.')
            dot = true;
        else if (!isdigit((unsigned char)h[i]))
            return false;
    }
    return dot;
}

/* Entries of the canonical-form memo of one mail: a mail repeats its links
 * (logo, button, footer), and refanging costs per byte. */
#define MAIL_MEMO_MAX 4096

/* When u is made only of RFC 3986 characters (no brackets, parentheses,
 * braces, spaces, controls or non-ASCII) and has no "hxxp", the length of its
 * "scheme://authority" part; else 0. */
static size_t plain_url_prefix(const char *u, size_t n)
{
    static const char extra[] = "-._~:/?#@!$&'*+,;=%";
    size_t auth = 0, end = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)u[i];
        if (!isalnum(ch) && (ch == 0 || strchr(extra, ch) == NULL))
            return 0;
        if ((ch == 'h' || ch == 'H') && n - i >= 4 && strncasecmp(u + i, "hxxp", 4) == 0)
            return 0;
        if (auth == 0 && ch == ':' && n - i >= 3 && u[i + 1] == '/' && u[i + 2] == '/')
            auth = i + 3;
        else if (auth > 0 && end == 0 && i >= auth && (ch == '/' || ch == '?' || ch == '#'))
            end = i;
    }
    if (auth == 0)
        return 0;
    return end > 0 ? end : n;
}

/* The canonical form of the URL u as written (refanged; http, https or ftp) in
 * c->canon2; RP_E_NOTFOUND when it is no URL we keep. Remembered per mail. */
static rp_status canonical_url(struct mctx *c, const char *u, size_t n)
{
    buf_reset(&c->key);
    rp_status st = buf_append(&c->key, u, n);
    if (st != RP_OK)
        return st == RP_E_LIMIT ? RP_E_NOTFOUND : st;
    json_t *m = json_object_get(c->memo, c->key.data);
    if (m != NULL) {
        if (json_is_null(m))
            return RP_E_NOTFOUND;
        buf_reset(&c->canon2);
        return buf_append(&c->canon2, json_string_value(m), json_string_length(m));
    }
    struct rp_error e;
    /* One pass is the normalizer's result too: refanging and the URL's
     * lower-casing are idempotent. A URL made only of plain URL characters
     * holds no defang (every defang uses brackets, parentheses, braces or the
     * misspelt scheme "hxxp"), so canonicalisation changes only its scheme and
     * authority: only they go through observable_canonical(), which refangs
     * byte by byte, and the path, query and fragment follow as they are. */
    size_t auth_end = plain_url_prefix(u, n);
    if (auth_end > 0) {
        st = observable_canonical(OBS_URL, u, auth_end, &c->canon2, NULL, &e);
        if (st == RP_OK && auth_end < n)
            st = buf_append(&c->canon2, u + auth_end, n - auth_end);
    } else {
        st = observable_canonical(OBS_URL, u, n, &c->canon2, NULL, &e);
    }
    if (st == RP_E_NOMEM)
        return st;
    const char *v = c->canon2.data;
    bool keep = st == RP_OK && c->canon2.len <= RP_MAIL_URL_MAX_BYTES &&
                (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0 ||
                 strncmp(v, "ftp://", 6) == 0);
    if (json_object_size(c->memo) < MAIL_MEMO_MAX &&
        json_object_set_new(c->memo, c->key.data,
                            keep ? json_stringn(v, c->canon2.len) : json_null()) != 0)
        return RP_E_NOMEM;
    return keep ? RP_OK : RP_E_NOTFOUND;
}

/* Adds a URL (refanged, canonical, http/https/ftp) to email.urls unless it is
 * there; on RP_OK its canonical form is in c->canon2 until the next call.
 * RP_E_NOTFOUND: not a URL kept (not one, another scheme, too long, or the list
 * is full). */
static rp_status add_url(struct mctx *c, const char *u, size_t n)
{
    while (n > 0 && isspace((unsigned char)*u)) {
        u++;
        n--;
    }
    if (n > RP_MAIL_URL_MAX_BYTES) {
        c->long_urls++;
        return RP_E_NOTFOUND;
    }
    rp_status st = canonical_url(c, u, n);
    if (st != RP_OK)
        return st;
    const char *v = c->canon2.data;
    if (json_object_get(c->url_set, v) != NULL)
        return RP_OK;
    if (json_array_size(c->urls) >= RP_MAIL_URLS_MAX) {
        c->urls_dropped++;
        return RP_E_NOTFOUND;
    }
    json_t *s = json_stringn(v, c->canon2.len);
    if (s == NULL)
        return RP_E_NOMEM;
    if (json_array_append(c->urls, s) != 0 || json_object_set(c->url_set, v, json_true()) != 0) {
        json_decref(s);
        return RP_E_NOMEM;
    }
    json_decref(s);
    const char *h;
    size_t hl;
    url_host(v, c->canon2.len, &h, &hl);
    if (host_is_ip(h, hl))
        c->ip_url = true;
    return RP_OK;
}

/* Length of a URL scheme and separator at p ("https://", "hxxp[://]"), or 0. */
static size_t url_scheme(const char *p, size_t n)
{
    static const char *const schemes[] = {"https", "http", "hxxps", "hxxp", "ftp", NULL};
    static const char *const seps[] = {"://", "[://]", "[:]//", NULL};
    for (size_t i = 0; schemes[i]; i++) {
        size_t l = strlen(schemes[i]);
        if (n < l || strncasecmp(p, schemes[i], l) != 0)
            continue;
        for (size_t j = 0; seps[j]; j++) {
            size_t sl = strlen(seps[j]);
            if (n >= l + sl && memcmp(p + l, seps[j], sl) == 0)
                return l + sl;
        }
    }
    return 0;
}

/* Bytes of a character that ends a URL in text at p: ASCII space, controls and
 * delimiters, and the Unicode spaces, quotes and brackets mail text puts
 * around links. 0 when p continues the URL. */
static size_t url_stop(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == '"' || c == '`' || c == '{' ||
        c == '}' || c == '|' || c == '\\' || c == '^')
        return 1;
    if (c == 0xC2 && n >= 2 && (p[1] == 0xA0 || p[1] == 0xAB || p[1] == 0xBB))
        return 2;
    if (c == 0xE2 && n >= 3 && p[1] == 0x80 &&
        ((p[2] >= 0x80 && p[2] <= 0x8F) || (p[2] >= 0x98 && p[2] <= 0x9F) || p[2] == 0xA8 ||
         p[2] == 0xA9 || p[2] == 0xAF || p[2] == 0xB9 || p[2] == 0xBA))
        return 3;
    if (c == 0xE3 && n >= 3 && p[1] == 0x80 && (p[2] == 0x80 || p[2] == 0x81 || p[2] == 0x82))
        return 3;
    if (c == 0xEF && n >= 3 && ((p[1] == 0xBB && p[2] == 0xBF) || (p[1] == 0xBC && p[2] == 0x89)))
        return 3;
    return 0;
}

/* Finds the URLs written out in text (UTF-8) and adds them. Linear: each run
 * of URL characters is read once, and a run too long to be kept is skipped. */
static rp_status find_urls(struct mctx *c, const char *t, size_t n)
{
    const unsigned char *u = (const unsigned char *)t;
    for (size_t i = 0; i + 6 < n; i++) {
        unsigned ch = u[i] | 0x20;
        if (ch != 'h' && ch != 'f')
            continue;
        if (i > 0 && isalnum(u[i - 1]))
            continue;
        size_t k = url_scheme(t + i, n - i);
        if (k == 0)
            continue;
        size_t j = i + k;
        long paren = 0, bracket = 0; /* opening minus closing */
        while (j < n && url_stop(u + j, n - j) == 0) {
            paren += t[j] == '(' ? 1 : t[j] == ')' ? -1 : 0;
            bracket += t[j] == '[' ? 1 : t[j] == ']' ? -1 : 0;
            j++;
        }
        if (j - i > RP_MAIL_URL_MAX_BYTES + 64) { /* longer than any kept URL */
            c->long_urls++;
            i = j - 1;
            continue;
        }
        /* sentence punctuation after a URL is not part of it, nor a closing
         * bracket that opened before it ("(see https://x.example/a)") */
        size_t end = j;
        while (end > i + k) {
            char e = t[end - 1];
            if (e != '\0' && strchr(".,;:!?'*", e) != NULL) {
                end--;
            } else if (e == ')' && paren < 0) {
                paren++;
                end--;
            } else if (e == ']' && bracket < 0) {
                bracket++;
                end--;
            } else {
                break;
            }
        }
        if (end > i + k) {
            rp_status st = add_url(c, t + i, end - i);
            if (st == RP_E_NOMEM)
                return st;
        }
        i = j > i ? j - 1 : i;
    }
    return RP_OK;
}

/* --- HTML ---------------------------------------------------------------------------------- */

/* Named character references: the markup ones, those phishing uses to hide
 * URLs (&sol; &colon; &period; &commat;), typographic ones, and Latin-1's
 * (named in order from U+00A0, so their code point is their index + 0xA0). */
static const struct {
    const char *name;
    uint32_t cp;
} ENTITIES[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},
    {"sol", '/'},      {"colon", ':'},    {"period", '.'},    {"commat", '@'},   {"lpar", '('},
    {"rpar", ')'},     {"trade", 0x2122}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"bull", 0x2022},
    {"euro", 0x20AC},  {"zwnj", 0x200C},  {"zwj", 0x200D},
};
static const char *const LATIN1_ENTITIES[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
};

/* Decodes the character reference at s[0] == '&'. Returns the bytes it takes
 * (0: no reference, the '&' stands for itself) and the code point in *cp. */
static size_t entity(const char *s, size_t n, uint32_t *cp)
{
    size_t i = 1;
    if (i < n && s[i] == '#') {
        i++;
        bool hex = i < n && (s[i] == 'x' || s[i] == 'X');
        if (hex)
            i++;
        uint32_t v = 0;
        size_t digits = 0;
        while (i < n && digits < 8 &&
               (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i]))) {
            unsigned d = isdigit((unsigned char)s[i])
                             ? (unsigned)(s[i] - '0')
                             : (unsigned)(tolower((unsigned char)s[i]) - 'a' + 10);
            v = v * (hex ? 16u : 10u) + d;
            i++;
            digits++;
        }
        if (digits == 0)
            return 0;
        if (i < n && s[i] == ';')
            i++;
        if (v >= 0x80 && v < 0xA0)
            v = CP1252_HIGH[v - 0x80];
        if (v == 0 || v > 0x10FFFF)
            v = 0xFFFD;
        *cp = v;
        return i;
    }
    size_t ns = i;
    while (i < n && i - ns < 8 && isalnum((unsigned char)s[i]))
        i++;
    size_t nl = i - ns;
    if (nl == 0)
        return 0;
    for (size_t k = 0; k < sizeof(ENTITIES) / sizeof(ENTITIES[0]); k++) {
        if (strlen(ENTITIES[k].name) == nl && memcmp(ENTITIES[k].name, s + ns, nl) == 0) {
            *cp = ENTITIES[k].cp;
            return i < n && s[i] == ';' ? i + 1 : i;
        }
    }
    for (size_t k = 0; k < 96; k++) {
        if (strlen(LATIN1_ENTITIES[k]) == nl && memcmp(LATIN1_ENTITIES[k], s + ns, nl) == 0) {
            *cp = 0xA0 + (uint32_t)k;
            return i < n && s[i] == ';' ? i + 1 : i;
        }
    }
    return 0;
}

/* Appends HTML text s (clean UTF-8: a document that went through to_utf8(), or
 * a piece of one cut at ASCII delimiters) with its character references
 * decoded. */
static rp_status html_text_append(struct sink *k, const char *s, size_t n, enum clean mode)
{
    size_t i = 0;
    rp_status st = RP_OK;
    while (i < n && st == RP_OK && !k->cut) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t run = amp ? (size_t)(amp - (s + i)) : n - i;
        if (run > 0) {
            /* the document is clean UTF-8 already (to_utf8) and cut only at
             * ASCII delimiters: text is copied, a line still collapsed */
            st = mode == CLEAN_TEXT ? sink_put(k, s + i, run)
                                    : clean_append(k, s + i, run, mode, false);
            i += run;
            continue;
        }
        uint32_t cp;
        size_t used = entity(s + i, n - i, &cp);
        if (used == 0) {
            st = clean_append(k, "&", 1, mode, false);
            i++;
            continue;
        }
        char enc[4];
        size_t el = utf8_put(cp, enc);
        if (mode == CLEAN_LINE && (cp == 0xA0 || cp < 0x20)) {
            if (!sink_ends_space(k))
                st = sink_put(k, " ", 1);
        } else {
            st = clean_append(k, enc, el, mode, false);
        }
        i += used;
    }
    return st;
}

struct html {
    struct mctx *c;
    int level;       /* 0: the document; 1: markup a script writes (not decoded again) */
    struct buf text; /* the visible text, for the URL finder */
    struct sink text_sink;
    bool in_link;
    struct buf href, ltext, attr;
    struct sink ltext_sink;
};

/* Lower-case ASCII compare of a bounded name with a C string. */
static bool name_is(const char *s, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

/* Adds the URL in an attribute value (entities decoded, tabs and newlines
 * removed as browsers do). With link set, keeps it as the current link. */
static rp_status html_attr_url(struct html *h, const char *v, size_t n, bool link)
{
    struct buf *b = link ? &h->href : &h->attr;
    buf_reset(b);
    if (n > RP_MAIL_URL_MAX_BYTES) {
        h->c->long_urls++;
        return RP_OK;
    }
    struct sink k = {b, false};
    rp_status st = html_text_append(&k, v, n, CLEAN_TEXT);
    if (st != RP_OK)
        return st;
    size_t w = 0;
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] != '\t' && b->data[i] != '\n' && b->data[i] != '\r')
            b->data[w++] = b->data[i];
    b->len = w;
    if (b->data != NULL)
        b->data[w] = '\0';
    if (link)
        return RP_OK; /* added when the link closes, with its text */
    st = add_url(h->c, b->data ? b->data : "", b->len);
    return st == RP_E_NOTFOUND ? RP_OK : st;
}

/* "a.b.example.com" -> its registrable domain ("example.com") by the public
 * suffix list; the host itself when the list does not know it. */
static const char *registrable(const char *host)
{
    const char *r = psl_registrable_domain(psl_builtin(), host);
    return r ? r : host;
}

/* A host name shown as link text ("www.bank.com", "https://bank.com/login"),
 * lower-cased into out; false when the text is no URL or host name. */
static bool text_host(const char *t, size_t n, char *out, size_t cap)
{
    const char *p = memmem(t, n, "://", 3);
    if (p != NULL) {
        n -= (size_t)(p + 3 - t);
        t = p + 3;
    }
    size_t e = 0;
    while (e < n && t[e] != '/' && t[e] != '?' && t[e] != '#' && t[e] != ':')
        e++;
    if (e == 0 || e >= cap)
        return false;
    bool dot = false;
    for (size_t i = 0; i < e; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch == '.')
            dot = true;
        else if (!isalnum(ch) && ch != '-')
            return false;
        out[i] = (char)tolower(ch);
    }
    out[e] = '\0';
    size_t last = e;
    while (last > 0 && out[last - 1] != '.')
        last--;
    return dot && e - last >= 2 && isalpha((unsigned char)out[last]) && out[e - 1] != '.';
}

/* Link text that says the same as the target: equal once lower-cased and
 * stripped of scheme, "www." and a trailing slash. */
static bool same_target(const char *t, size_t tn, const char *u, size_t un)
{
    const char *s[2] = {t, u};
    size_t l[2] = {tn, un};
    for (int k = 0; k < 2; k++) {
        const char *p = memmem(s[k], l[k], "://", 3);
        if (p != NULL) {
            l[k] -= (size_t)(p + 3 - s[k]);
            s[k] = p + 3;
        }
        if (l[k] >= 4 && strncasecmp(s[k], "www.", 4) == 0) {
            s[k] += 4;
            l[k] -= 4;
        }
        while (l[k] > 0 && s[k][l[k] - 1] == '/')
            l[k]--;
    }
    return l[0] == l[1] && strncasecmp(s[0], s[1], l[0]) == 0;
}

/* Ends the current link: adds its URL, and the link with its visible text when
 * that text differs from the target. A text that names another site than the
 * target's is a deceptive link. */
static rp_status html_link_close(struct html *h)
{
    if (!h->in_link)
        return RP_OK;
    h->in_link = false;
    struct mctx *c = h->c;
    rp_status st = add_url(c, h->href.data ? h->href.data : "", h->href.len);
    if (st == RP_E_NOTFOUND)
        return RP_OK;
    if (st != RP_OK)
        return st;
    rtrim(&h->ltext);
    const char *u = c->canon2.data;
    size_t un = c->canon2.len;
    const char *t = h->ltext.data ? h->ltext.data : "";
    size_t tn = h->ltext.len;
    bool differs = tn > 0 && !same_target(t, tn, u, un);
    char th[256], uh[256];
    const char *hp;
    size_t hl;
    url_host(u, un, &hp, &hl);
    if (differs && text_host(t, tn, th, sizeof(th)) && hl > 0 && hl < sizeof(uh) &&
        !host_is_ip(hp, hl)) {
        memcpy(uh, hp, hl);
        uh[hl] = '\0';
        if (strcmp(registrable(th), registrable(uh)) != 0)
            c->deceptive_link = true;
    } else if (differs && text_host(t, tn, th, sizeof(th)) && host_is_ip(hp, hl)) {
        c->deceptive_link = true;
    }
    /* one entry per (url, text) */
    buf_reset(&c->tmp);
    st = buf_append(&c->tmp, u, un);
    if (st == RP_OK && differs)
        st = buf_printf(&c->tmp, "\n%s", t);
    if (st == RP_E_LIMIT)
        return RP_OK;
    if (st != RP_OK)
        return st;
    if (json_object_get(c->link_set, c->tmp.data) != NULL)
        return RP_OK;
    if (json_array_size(c->links) >= RP_MAIL_LINKS_MAX) {
        c->links_dropped++;
        return RP_OK;
    }
    json_t *l = json_object();
    if (l == NULL)
        return RP_E_NOMEM;
    st = jset(l, "url", json_stringn(u, un));
    if (st == RP_OK && differs)
        st = jset(l, "text", json_stringn(t, tn));
    if (st == RP_OK)
        st = jpush(c->links, l);
    else
        json_decref(l);
    if (st == RP_OK && json_object_set(c->link_set, c->tmp.data, json_true()) != 0)
        st = RP_E_NOMEM;
    return st;
}

/* Appends visible text to the document's text and the open link's. */
static rp_status html_visible(struct html *h, const char *s, size_t n)
{
    rp_status st = html_text_append(&h->text_sink, s, n, CLEAN_TEXT);
    if (st == RP_OK && h->in_link)
        st = html_text_append(&h->ltext_sink, s, n, CLEAN_LINE);
    return st;
}

static rp_status html_space(struct html *h)
{
    rp_status st = sink_put(&h->text_sink, "\n", 1);
    if (st == RP_OK && h->in_link && !sink_ends_space(&h->ltext_sink))
        st = sink_put(&h->ltext_sink, " ", 1);
    return st;
}

/* Case-insensitive search for s in t[0..n); its offset, or n. */
static size_t find_ci(const char *t, size_t n, const char *s)
{
    size_t l = strlen(s);
    if (isalpha((unsigned char)s[0])) {
        for (size_t i = 0; i + l <= n; i++)
            if (tolower((unsigned char)t[i]) == s[0] && strncasecmp(t + i, s, l) == 0)
                return i;
        return n;
    }
    for (const char *p = t; (p = memchr(p, s[0], n - (size_t)(p - t))) != NULL; p++) {
        if ((size_t)(t + n - p) < l)
            break;
        if (strncasecmp(p, s, l) == 0)
            return (size_t)(p - t);
    }
    return n;
}

/* find_ci() of each of count (at most FIND_CI_EACH_MAX) lower-case needles in
 * one pass over t: pos[k] is the first offset of needles[k], n when it is
 * absent. */
#define FIND_CI_EACH_MAX 32
static void find_ci_each(const char *t, size_t n, const char *const *needles, size_t count,
                         size_t *pos)
{
    bool first[256] = {false};
    size_t len[FIND_CI_EACH_MAX];
    count = count < FIND_CI_EACH_MAX ? count : FIND_CI_EACH_MAX; /* callers stay under it */
    for (size_t k = 0; k < count; k++) {
        pos[k] = n;
        len[k] = strlen(needles[k]);
        first[(unsigned char)needles[k][0]] = true;
    }
    for (size_t i = 0; i < n; i++) {
        int ch = tolower((unsigned char)t[i]);
        if (!first[ch])
            continue;
        for (size_t k = 0; k < count; k++)
            if (pos[k] == n && needles[k][0] == ch && n - i >= len[k] &&
                strncasecmp(t + i, needles[k], len[k]) == 0)
                pos[k] = i;
    }
}

/* The elements the scan acts on; any other name is TAG_OTHER. TAG_BLOCK: the
 * text after the tag reads as a new word. */
enum tag_kind {
    TAG_OTHER,
    TAG_A,
    TAG_AREA,
    TAG_LINK,  /* <link> and <base>: their href is no link of the mail */
    TAG_FRAME, /* iframe, frame, embed: src is fetched */
    TAG_SCRIPT,
    TAG_STYLE,
    TAG_FORM,
    TAG_META,
    TAG_IMG,
    TAG_BLOCK,
};

static const struct {
    const char *name;
    unsigned char len, kind;
} TAGS[] = {
    {"a", 1, TAG_A},          {"area", 4, TAG_AREA},         {"link", 4, TAG_LINK},
    {"base", 4, TAG_LINK},    {"iframe", 6, TAG_FRAME},      {"frame", 5, TAG_FRAME},
    {"embed", 5, TAG_FRAME},  {"script", 6, TAG_SCRIPT},     {"style", 5, TAG_STYLE},
    {"form", 4, TAG_FORM},    {"meta", 4, TAG_META},         {"img", 3, TAG_IMG},
    {"br", 2, TAG_BLOCK},     {"p", 1, TAG_BLOCK},           {"div", 3, TAG_BLOCK},
    {"tr", 2, TAG_BLOCK},     {"td", 2, TAG_BLOCK},          {"th", 2, TAG_BLOCK},
    {"li", 2, TAG_BLOCK},     {"h1", 2, TAG_BLOCK},          {"h2", 2, TAG_BLOCK},
    {"h3", 2, TAG_BLOCK},     {"h4", 2, TAG_BLOCK},          {"h5", 2, TAG_BLOCK},
    {"h6", 2, TAG_BLOCK},     {"table", 5, TAG_BLOCK},       {"ul", 2, TAG_BLOCK},
    {"ol", 2, TAG_BLOCK},     {"hr", 2, TAG_BLOCK},          {"title", 5, TAG_BLOCK},
    {"center", 6, TAG_BLOCK}, {"blockquote", 10, TAG_BLOCK},
};

/* The kind of a lower-cased element name of len bytes (the length is
 * compared first: most names are told apart without a byte compare). */
static enum tag_kind tag_kind(const char *name, size_t len)
{
    for (size_t k = 0; k < sizeof(TAGS) / sizeof(TAGS[0]); k++)
        if (TAGS[k].len == len && memcmp(TAGS[k].name, name, len) == 0)
            return (enum tag_kind)TAGS[k].kind;
    return TAG_OTHER;
}

struct attr {
    const char *v;
    size_t n;
};

/* A tag or attribute name, lower-cased into out; "" when it does not fit. */
static void lower_name(const char *s, size_t n, char *out, size_t cap)
{
    if (n >= cap)
        n = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
}

static rp_status html_script(struct html *h, const char *t, size_t n);

/* Reads the tag at t[i] == '<' (an element, a comment, a declaration) and acts
 * on it. Returns the offset after it. */
static size_t html_tag(struct html *h, const char *t, size_t n, size_t i, rp_status *st)
{
    size_t p = i + 1;
    if (p < n && t[p] == '!') {
        /* Outlook's conditional comments keep their content (VML buttons carry
         * links); other comments are skipped whole. */
        if (n - p >= 3 && memcmp(t + p, "!--", 3) == 0 && !(n - p >= 4 && t[p + 3] == '[')) {
            const char *e = memmem(t + p + 3, n - p - 3, "-->", 3);
            return e ? (size_t)(e - t) + 3 : n;
        }
        const char *e = memchr(t + p, '>', n - p);
        return e ? (size_t)(e - t) + 1 : n;
    }
    if (p < n && t[p] == '?') {
        const char *e = memchr(t + p, '>', n - p);
        return e ? (size_t)(e - t) + 1 : n;
    }
    bool close = p < n && t[p] == '/';
    if (close)
        p++;
    if (p >= n || !isalpha((unsigned char)t[p])) { /* a '<' in text */
        *st = html_visible(h, "<", 1);
        return i + 1;
    }
    /* the name, lower-cased; a longer one is no tag we act on ("") */
    char name[16];
    size_t ns = p;
    while (p < n && (isalnum((unsigned char)t[p]) || t[p] == ':' || t[p] == '-'))
        p++;
    lower_name(t + ns, p - ns, name, sizeof(name));
    enum tag_kind kind = tag_kind(name, strlen(name));
    struct attr href = {0}, src = {0}, action = {0}, alt = {0}, equiv = {0}, content = {0};
    while (p < n && t[p] != '>') {
        if (isspace((unsigned char)t[p]) || t[p] == '/') {
            p++;
            continue;
        }
        size_t as = p;
        while (p < n && !isspace((unsigned char)t[p]) && t[p] != '=' && t[p] != '>')
            p++;
        size_t al = p - as;
        while (p < n && isspace((unsigned char)t[p]))
            p++;
        struct attr v = {NULL, 0};
        if (p < n && t[p] == '=') {
            p++;
            while (p < n && isspace((unsigned char)t[p]))
                p++;
            if (p < n && (t[p] == '"' || t[p] == '\'')) {
                const char *e = memchr(t + p + 1, t[p], n - p - 1);
                v.v = t + p + 1;
                v.n = e ? (size_t)(e - v.v) : n - p - 1;
                p = e ? (size_t)(e - t) + 1 : n;
            } else {
                v.v = t + p;
                while (p < n && !isspace((unsigned char)t[p]) && t[p] != '>')
                    p++;
                v.n = (size_t)(t + p - v.v);
            }
        } else if (al == 0) {
            p++; /* a stray character: step over it */
            continue;
        }
        if (v.v == NULL)
            continue;
        /* the six names read, told apart by their length first */
        if (al != 3 && al != 4 && al != 6 && al != 7 && al != 10)
            continue;
        char an[16];
        lower_name(t + as, al, an, sizeof(an));
        if (al == 4 && memcmp(an, "href", 4) == 0)
            href = v;
        else if (al == 3 && memcmp(an, "src", 3) == 0)
            src = v;
        else if (al == 6 && memcmp(an, "action", 6) == 0)
            action = v;
        else if (al == 3 && memcmp(an, "alt", 3) == 0)
            alt = v;
        else if (al == 10 && memcmp(an, "http-equiv", 10) == 0)
            equiv = v;
        else if (al == 7 && memcmp(an, "content", 7) == 0)
            content = v;
    }
    if (p < n)
        p++; /* the '>' */

    if (close) {
        if (kind == TAG_A)
            *st = html_link_close(h);
        else if (kind == TAG_BLOCK)
            *st = html_space(h);
        return p;
    }
    if (kind == TAG_A || kind == TAG_AREA) {
        *st = html_link_close(h);
        if (*st != RP_OK || href.v == NULL)
            return p;
        *st = html_attr_url(h, href.v, href.n, true);
        if (*st != RP_OK)
            return p;
        buf_reset(&h->ltext);
        h->ltext_sink.cut = false;
        h->in_link = true;
        if (kind == TAG_AREA) { /* no content: its text is its alt */
            if (alt.v != NULL)
                *st = html_text_append(&h->ltext_sink, alt.v, alt.n, CLEAN_LINE);
            if (*st == RP_OK)
                *st = html_link_close(h);
        }
        return p;
    }
    if (href.v != NULL && kind != TAG_LINK) {
        *st = html_attr_url(h, href.v, href.n, false); /* v:roundrect and friends */
    } else if (src.v != NULL && (kind == TAG_FRAME || kind == TAG_SCRIPT)) {
        *st = html_attr_url(h, src.v, src.n, false);
    } else if (action.v != NULL && kind == TAG_FORM) {
        *st = html_attr_url(h, action.v, action.n, false);
    } else if (kind == TAG_META && equiv.v != NULL && content.v != NULL &&
               name_is(equiv.v, equiv.n, "refresh")) {
        size_t at = find_ci(content.v, content.n, "url=");
        if (at < content.n) {
            const char *u = content.v + at + 4;
            size_t un = content.n - at - 4;
            while (un > 0 && (*u == '\'' || *u == '"')) {
                u++;
                un--;
            }
            while (un > 0 && (u[un - 1] == '\'' || u[un - 1] == '"'))
                un--;
            *st = html_attr_url(h, u, un, false);
        }
    } else if (kind == TAG_IMG && h->in_link && alt.v != NULL) {
        *st = html_text_append(&h->ltext_sink, alt.v, alt.n, CLEAN_LINE);
    }
    if (*st != RP_OK)
        return p;
    if (kind == TAG_BLOCK)
        *st = html_space(h);
    /* raw text elements: scripts are searched for URLs (redirects), styles skipped */
    bool script = kind == TAG_SCRIPT;
    if (script || kind == TAG_STYLE) {
        size_t e = p + find_ci(t + p, n - p, script ? "</script" : "</style");
        if (script && *st == RP_OK)
            *st = html_script(h, t + p, e - p);
        const char *gt = e < n ? memchr(t + e, '>', n - e) : NULL;
        return gt ? (size_t)(gt - t) + 1 : n;
    }
    return p;
}

/* Scans an HTML document (UTF-8): links with their text, other URL-bearing
 * attributes, and URLs written in its visible text. */
static rp_status html_scan(struct mctx *c, const char *t, size_t n, int level);

/* Hex digit value, or -1. */
static int hexval(unsigned char ch)
{
    return isdigit(ch) ? ch - '0' : isxdigit(ch) ? tolower(ch) - 'a' + 10 : -1;
}

/* A script that writes percent-encoded markup (document.write(unescape(
 * "%3Chtml..."))), the usual disguise of phishing pages sent as attachments:
 * its markup is decoded and scanned once more. Only from the document itself,
 * so this never nests. */
static rp_status html_script(struct html *h, const char *t, size_t n)
{
    rp_status st = find_urls(h->c, t, n);
    if (st != RP_OK || h->level > 0 ||
        (memmem(t, n, "%3C", 3) == NULL && memmem(t, n, "%3c", 3) == NULL))
        return st;
    struct buf dec;
    buf_init(&dec, n + 1);
    st = buf_reserve(&dec, n + 1);
    if (st == RP_OK) {
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            int hi, lo;
            if (t[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)t[i + 1])) >= 0 &&
                (lo = hexval((unsigned char)t[i + 2])) >= 0) {
                dec.data[w++] = (char)(hi * 16 + lo);
                i += 2;
            } else {
                dec.data[w++] = t[i];
            }
        }
        dec.len = w;
        dec.data[w] = '\0';
        /* the decoded bytes are UTF-8 again only if the encoder made them so */
        struct buf clean;
        buf_init(&clean, 3 * w + 16);
        struct sink k = {&clean, false};
        st = clean_append(&k, dec.data, w, CLEAN_TEXT, false);
        if (st == RP_OK)
            st = html_scan(h->c, clean.data ? clean.data : "", clean.len, h->level + 1);
        buf_fini(&clean);
    }
    buf_fini(&dec);
    return st;
}

static rp_status html_scan(struct mctx *c, const char *t, size_t n, int level)
{
    struct html h;
    memset(&h, 0, sizeof(h));
    h.c = c;
    h.level = level;
    buf_init(&h.text, n + 16);
    rp_status st = buf_reserve(&h.text, n + 1); /* the visible text is never longer */
    buf_init(&h.href, RP_MAIL_URL_MAX_BYTES * 4);
    buf_init(&h.attr, RP_MAIL_URL_MAX_BYTES * 4);
    buf_init(&h.ltext, RP_MAIL_LINK_TEXT_MAX);
    h.text_sink.out = &h.text;
    h.ltext_sink.out = &h.ltext;
    size_t i = 0;
    while (i < n && st == RP_OK) {
        const char *lt = memchr(t + i, '<', n - i);
        size_t run = lt ? (size_t)(lt - (t + i)) : n - i;
        if (run > 0) {
            st = html_visible(&h, t + i, run);
            i += run;
            continue;
        }
        size_t next = html_tag(&h, t, n, i, &st);
        i = next > i ? next : i + 1;
    }
    if (st == RP_OK)
        st = html_link_close(&h);
    if (st == RP_OK && h.text.len > 0)
        st = find_urls(c, h.text.data, h.text.len);
    if (st == RP_OK && level == 0 && c->visible != NULL) {
        buf_reset(c->visible);
        st = h.text.len > 0 ? buf_append(c->visible, h.text.data, h.text.len) : RP_OK;
        c->visible = NULL;
    }
    buf_fini(&h.text);
    buf_fini(&h.href);
    buf_fini(&h.attr);
    buf_fini(&h.ltext);
    return st;
}

/* --- decoding parts ------------------------------------------------------------------ */

/* The content of a leaf part with its transfer encoding undone, through
 * GMime's streams: a data wrapper, a filter stream and a decoding filter. */
static GByteArray *part_bytes_streamed(GMimeDataWrapper *w, gint64 enc)
{
    /* sized for the encoded length up front: decoding only shrinks, and the
     * array does not grow by doubling through every step */
    guint reserve = enc > 0 && enc <= (gint64)RP_MAIL_MAX_BYTES ? (guint)enc : 0;
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(g_byte_array_sized_new(reserve));
    if (w != NULL)
        (void)g_mime_data_wrapper_write_to_stream(w, mem);
    GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    g_object_unref(mem);
    return b;
}

/* The content of a leaf part with its transfer encoding undone. The caller
 * frees it (g_byte_array_free(b, TRUE)). The encoded bytes are read in one
 * go and decoded in one g_mime_encoding_step() (no stream, filter or buffer
 * objects a part); a stream of no known length goes the streamed way. */
static GByteArray *part_bytes(GMimePart *part)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    GMimeStream *src = w != NULL ? g_mime_data_wrapper_get_stream(w) : NULL;
    gint64 enc = src != NULL ? g_mime_stream_length(src) : 0;
    if (src == NULL || enc < 0 || enc > (gint64)RP_MAIL_MAX_BYTES || g_mime_stream_reset(src) != 0)
        return part_bytes_streamed(w, enc);
    char *in = g_malloc((gsize)enc + 1);
    size_t got = 0;
    while (got < (size_t)enc) {
        ssize_t r = g_mime_stream_read(src, in + got, (size_t)enc - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    GMimeEncoding state;
    g_mime_encoding_init_decode(&state, g_mime_data_wrapper_get_encoding(w));
    size_t cap = g_mime_encoding_outlen(&state, got) + g_mime_encoding_outlen(&state, 0) + 16;
    GByteArray *b = g_byte_array_sized_new((guint)cap);
    size_t n = g_mime_encoding_step(&state, in, got, (char *)b->data);
    n += g_mime_encoding_flush(&state, NULL, 0, (char *)b->data + n);
    g_byte_array_set_size(b, (guint)n);
    g_free(in);
    return b;
}

/* glibc unloads a charset's gconv module when its last descriptor is closed
 * and loads it again (a dlopen) at the next iconv_open(): once per mail part,
 * the largest cost of a conversion. One descriptor kept open for each charset
 * seen keeps its module loaded. Bounded: mail uses a few dozen charsets. */
#define MAIL_PINNED_CHARSETS 64
static pthread_mutex_t pin_lock = PTHREAD_MUTEX_INITIALIZER;
static char pinned[MAIL_PINNED_CHARSETS][32];
/* open for the life of the process; volatile: written only, and must stay */
static iconv_t volatile pinned_cd[MAIL_PINNED_CHARSETS];
static size_t npinned;

static void pin_charset(const char *cs)
{
    const char *name = g_mime_charset_iconv_name(cs);
    if (name == NULL || strlen(name) >= sizeof(pinned[0]))
        return;
    pthread_mutex_lock(&pin_lock);
    bool found = false;
    for (size_t i = 0; i < npinned && !found; i++)
        found = strcmp(pinned[i], name) == 0;
    if (!found && npinned < MAIL_PINNED_CHARSETS) {
        iconv_t cd = iconv_open("UTF-8", name);
        if (cd != (iconv_t)-1) {
            memcpy(pinned[npinned], name, strlen(name) + 1);
            pinned_cd[npinned++] = cd;
        }
    }
    pthread_mutex_unlock(&pin_lock);
}

static bool charset_is(const char *cs, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcasecmp(cs, names[i]) == 0)
            return true;
    return false;
}

/* Converts n bytes in charset cs (NULL: undeclared) to clean UTF-8 in out
 * (reset first; its max bounds it). UTF-8 and ASCII are checked and kept;
 * Latin-1 and Windows-1252 are read as Windows-1252 (as browsers do); other
 * charsets go through GMime's iconv filter; whatever remains invalid is read
 * as Windows-1252, so every byte yields a character. */
static rp_status to_utf8(const char *cs, const unsigned char *p, size_t n, struct buf *out)
{
    static const char *const plain[] = {"utf-8", "utf8",           "us-ascii",
                                        "ascii", "ansi_x3.4-1968", NULL};
    static const char *const latin[] = {"iso-8859-1",   "iso8859-1", "latin1",   "latin-1",
                                        "windows-1252", "cp1252",    "x-cp1252", NULL};
    buf_reset(out);
    if (n == 0) /* an empty part (its bytes may be NULL, which GMime's streams refuse) */
        return RP_OK;
    struct sink k = {out, false};
    rp_status st = buf_reserve(out, n + n / 8 + 16); /* most text grows little */
    if (st != RP_OK && st != RP_E_LIMIT)
        return st;
    if (cs == NULL || *cs == '\0' || charset_is(cs, plain))
        return clean_append(&k, (const char *)p, n, CLEAN_TEXT, false);
    if (charset_is(cs, latin))
        return clean_append(&k, (const char *)p, n, CLEAN_TEXT, true);
    pin_charset(cs);
    GMimeFilter *f = g_mime_filter_charset_new(cs, "UTF-8");
    if (f == NULL) /* a charset iconv does not know (or garbage) */
        return clean_append(&k, (const char *)p, n, CLEAN_TEXT, false);
    GMimeStream *mem = g_mime_stream_mem_new();
    GMimeStream *fs = g_mime_stream_filter_new(mem);
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
    g_object_unref(f);
    (void)g_mime_stream_write(fs, (const char *)p, n);
    (void)g_mime_stream_flush(fs);
    GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    st = clean_append(&k, (const char *)b->data, b->len, CLEAN_TEXT, false);
    g_object_unref(fs);
    g_object_unref(mem);
    return st;
}

/* Appends one body's text to body_text or body_html, a blank line between
 * bodies; what does not fit is counted. */
static rp_status body_append(struct buf *body, size_t *dropped, const char *s, size_t n)
{
    rp_status st = RP_OK;
    if (body->len > 0 && n > 0) {
        if (body->max - body->len < 2) {
            *dropped += n;
            return RP_OK;
        }
        st = buf_append(body, "\n\n", 2);
    }
    struct sink k = {body, false};
    size_t before = body->len;
    if (st == RP_OK)
        st = sink_put(&k, s, n);
    if (k.cut)
        *dropped += n - (body->len - before);
    return st;
}

/* --- the walk ---------------------------------------------------------------------- */

/* Parses a message from n bytes at p. With borrow NULL the bytes are copied
 * into the stream. Otherwise the stream reads them in place, through a
 * GByteArray that borrows them (GLib writes into an array only when it grows,
 * which a stream that is only read never asks): *borrow receives that array,
 * which the caller releases with g_byte_array_free(*borrow, FALSE) once the
 * message and everything taken from it are unreferenced, and p must stay valid
 * until then. Saves a copy of the whole mail. */
static GMimeMessage *parse_bytes(const char *p, size_t n, GByteArray **borrow)
{
    GMimeStream *s;
    if (borrow != NULL) {
        *borrow = g_byte_array_new_take((guint8 *)(uintptr_t)p, n);
        s = g_mime_stream_mem_new_with_byte_array(*borrow);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    } else {
        s = g_mime_stream_mem_new_with_buffer(p, n);
    }
    GMimeParser *ps = g_mime_parser_new_with_stream(s);
    g_mime_parser_set_format(ps, GMIME_FORMAT_MESSAGE);
    GMimeMessage *m = g_mime_parser_construct_message(ps, parser_opts);
    g_object_unref(ps);
    g_object_unref(s);
    return m;
}

static rp_status check_headers(struct mctx *c, GMimeObject *o)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(o);
    int n = hl ? g_mime_header_list_get_count(hl) : 0;
    if (n > RP_MAIL_HEADERS_MAX)
        return rp_error_set(c->err, RP_E_INVALID, "a header block has %d fields, over the %d limit",
                            n, RP_MAIL_HEADERS_MAX);
    return RP_OK;
}

static rp_status walk(struct mctx *c, GMimeObject *o, int depth, bool nested);

static rp_status hex_digest(const EVP_MD *md, const unsigned char *p, size_t n, json_t *att,
                            const char *key)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (md == NULL || EVP_Digest(p, n, d, &dl, md, NULL) != 1)
        return RP_OK; /* a digest the crypto policy forbids (MD5 under FIPS) is left out */
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < dl; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * dl] = '\0';
    return jset(att, key, json_string(hex));
}

/* Lists one attachment: name, declared type, sniffed type, size and hashes;
 * and notes the severity signals of its kind. */
static rp_status add_attachment(struct mctx *c, const char *name, const char *declared,
                                const unsigned char *p, size_t n, const char *sniffed,
                                enum risk risk)
{
    char ext[16];
    file_ext(name, ext);
    if (risk == RISK_ACTIVE || in_list(ext, ACTIVE_EXT))
        c->active_att = true;
    if (risk == RISK_CONTAINER || in_list(ext, ARCHIVE_EXT))
        c->container_att = true;
    if (risk == RISK_ACTIVE && in_list(ext, DOC_EXT))
        c->mismatch_att = true;
    if (json_array_size(c->attachments) >= RP_MAIL_ATTACHMENTS_MAX) {
        c->attachments_dropped++;
        return RP_OK;
    }
    json_t *a = json_object();
    if (a == NULL)
        return RP_E_NOMEM;
    rp_status st = set_line(a, "name", name, RP_NAME_MAX_BYTES, &c->tmp);
    if (st == RP_OK)
        st = set_line(a, "type", declared, RP_NAME_MAX_BYTES, &c->tmp);
    if (st == RP_OK)
        st = jset(a, "sniffed_type", json_string(sniffed));
    if (st == RP_OK)
        st = jset(a, "size", json_integer((json_int_t)n));
    if (st == RP_OK)
        st = hex_digest(md_md5, p, n, a, "md5");
    if (st == RP_OK)
        st = hex_digest(md_sha1, p, n, a, "sha1");
    if (st == RP_OK)
        st = hex_digest(md_sha256, p, n, a, "sha256");
    if (st == RP_OK)
        return jpush(c->attachments, a);
    json_decref(a);
    return st;
}

static bool ends_ci(const char *s, const char *suffix)
{
    size_t l = s ? strlen(s) : 0, sl = strlen(suffix);
    return l >= sl && strcasecmp(s + l - sl, suffix) == 0;
}

/* Lowercase "type/subtype" of an object into out[128]. */
static void mime_type_of(GMimeObject *o, char out[128])
{
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    const char *t = ct ? g_mime_content_type_get_media_type(ct) : NULL;
    const char *s = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
    rp_fmt(out, 128, "%s/%s", t ? t : "text", s ? s : "plain");
    for (char *q = out; *q; q++)
        *q = (char)tolower((unsigned char)*q);
}

/* An attached message (message/rfc822): listed with the hashes of its bytes,
 * then opened. */
static rp_status message_part(struct mctx *c, GMimeMessagePart *mp, int depth)
{
    GMimeMessage *m = g_mime_message_part_get_message(mp);
    if (m == NULL)
        return RP_OK;
    GMimeStream *mem = g_mime_stream_mem_new();
    (void)g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem);
    GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    const char *name =
        g_mime_object_get_content_disposition_parameter(GMIME_OBJECT(mp), "filename");
    if (name == NULL)
        name = g_mime_object_get_content_type_parameter(GMIME_OBJECT(mp), "name");
    rp_status st =
        add_attachment(c, name, "message/rfc822", b->data, b->len, "message/rfc822", RISK_NONE);
    g_object_unref(mem);
    if (st == RP_OK)
        st = check_headers(c, GMIME_OBJECT(m));
    if (st == RP_OK)
        st = walk(c, g_mime_message_get_mime_part(m), depth + 1, true);
    return st;
}

/* --- inline forwards --------------------------------------------------------------------- */

/* A user who forwards a mail inline puts the original below a marker line
 * ("---------- Forwarded message ---------", "-----Original Message-----",
 * "Begin forwarded message:", "-------- Forwarded Message --------", Outlook's
 * line of underscores) and a block of the original's header fields as the
 * client writes them ("From: ...", "Sent: ...", "To: ...", "Subject: ...", or
 * in the user's language). The block is read line by line; the text after it
 * is the original's body. Linear in the text: each marker's block is at most
 * MAIL_FWD_LINES_MAX lines. */
#define MAIL_FWD_LINES_MAX 40

static const char *const FWD_MARKERS[] = {
    "forwarded message",
    "original message",
    "weitergeleitete nachricht",
    "urspr\xc3\xbcngliche nachricht",
    "message transf\xc3\xa9r\xc3\xa9",
    "message d'origine",
    "mensaje reenviado",
    "mensaje original",
    "messaggio inoltrato",
    "messaggio originale",
    "doorgestuurd bericht",
    "oorspronkelijk bericht",
    NULL,
};

/* Field names of the block (any case) and the key each fills. */
static const struct {
    const char *name, *key;
} FWD_FIELDS[] = {
    {"from", "from"},       {"von", "from"},
    {"de", "from"},         {"van", "from"},
    {"da", "from"},         {"reply-to", "reply_to"},
    {"to", "to"},           {"an", "to"},
    {"\xc3\xa0", "to"},     {"a", "to"},
    {"para", "to"},         {"aan", "to"},
    {"cc", "cc"},           {"kopie", "cc"},
    {"subject", "subject"}, {"betreff", "subject"},
    {"objet", "subject"},   {"asunto", "subject"},
    {"oggetto", "subject"}, {"onderwerp", "subject"},
    {"assunto", "subject"}, {"date", "date"},
    {"sent", "date"},       {"datum", "date"},
    {"gesendet", "date"},   {"envoy\xc3\xa9", "date"},
    {"enviado", "date"},    {"data", "date"},
    {"inviato", "date"},    {"verzonden", "date"},
};

static size_t line_end(const char *t, size_t n, size_t i)
{
    const char *nl = memchr(t + i, '\n', n - i);
    return nl ? (size_t)(nl - t) : n;
}

/* Skips quote marks, white space and bold stars ("> *From:*") at a line's start. */
static size_t fwd_skip(const char *t, size_t i, size_t e)
{
    while (i < e && (t[i] == '>' || t[i] == ' ' || t[i] == '\t' || t[i] == '*'))
        i++;
    return i;
}

static size_t fwd_rtrim(const char *t, size_t i, size_t e)
{
    while (e > i && (t[e - 1] == '\r' || t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '*'))
        e--;
    return e;
}

/* Is the line t[i..e) a forward marker? */
static bool fwd_marker(const char *t, size_t i, size_t e)
{
    size_t a = i;
    while (a < e && (t[a] == '>' || t[a] == ' ' || t[a] == '\t'))
        a++;
    e = fwd_rtrim(t, a, e);
    const unsigned char *u = (const unsigned char *)t + a;
    size_t n = e - a;
    if (n == 0 || n > 120)
        return false;
    if (prefix_ci(u, n, "begin forwarded message"))
        return true;
    size_t k = 0;
    while (k < n && u[k] == '_')
        k++;
    if (k >= 10 && k == n)
        return true;
    if (u[0] != '-' || n < 4)
        return false;
    for (size_t m = 0; FWD_MARKERS[m] != NULL; m++)
        if (contains_ci(u, n, FWD_MARKERS[m]))
            return true;
    return false;
}

/* The key a field name fills, or NULL. */
static const char *fwd_field(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof(FWD_FIELDS) / sizeof(FWD_FIELDS[0]); k++)
        if (strlen(FWD_FIELDS[k].name) == n && strncasecmp(s, FWD_FIELDS[k].name, n) == 0)
            return FWD_FIELDS[k].key;
    return NULL;
}

/* Reads the header block that starts at t[i] into a new object (key -> one
 * clean line; "date_label" the name the date was written under). Returns the
 * offset where the body starts, or 0 when the block has no From. */
static size_t fwd_block(struct mctx *c, const char *t, size_t n, size_t i, json_t **out,
                        rp_status *st)
{
    json_t *h = json_object();
    *out = NULL;
    if (h == NULL) {
        *st = RP_E_NOMEM;
        return 0;
    }
    const char *last = NULL;
    size_t blank = 0;
    for (size_t lines = 0; i < n && lines < MAIL_FWD_LINES_MAX && *st == RP_OK; lines++) {
        size_t e = line_end(t, n, i), a = fwd_skip(t, i, e), z = fwd_rtrim(t, a, e);
        size_t next = e < n ? e + 1 : n;
        if (a == z) {
            if (json_object_size(h) == 0 && blank++ < 2) {
                i = next;
                continue;
            }
            i = next;
            break; /* the blank line after the block */
        }
        const char *colon = memchr(t + a, ':', z - a);
        size_t nl = colon ? fwd_rtrim(t, a, (size_t)(colon - t)) - a : 0;
        const char *key = colon && nl > 0 && nl <= 16 ? fwd_field(t + a, nl) : NULL;
        if (key != NULL) {
            size_t v = fwd_skip(t, (size_t)(colon - t) + 1, z);
            if (json_object_get(h, key) == NULL) {
                *st = line_of(&c->tmp, t + v, z - v, RP_NAME_MAX_BYTES, NULL);
                if (*st == RP_OK)
                    *st = jset(h, key, json_stringn(c->tmp.data ? c->tmp.data : "", c->tmp.len));
                if (*st == RP_OK && strcmp(key, "date") == 0)
                    *st = jset(h, "date_label", json_stringn(t + a, nl));
            }
            last = key;
        } else if (last != NULL && (t[i] == ' ' || t[i] == '\t')) {
            /* a folded value (a long To list) */
            const char *prev = json_string_value(json_object_get(h, last));
            char *joined = g_strdup_printf("%s %.*s", prev ? prev : "", (int)(z - a), t + a);
            *st = line_of(&c->tmp, joined, strlen(joined), RP_NAME_MAX_BYTES, NULL);
            g_free(joined);
            if (*st == RP_OK)
                *st = jset(h, last, json_stringn(c->tmp.data ? c->tmp.data : "", c->tmp.len));
        } else {
            break; /* the body starts without a blank line */
        }
        i = next;
    }
    if (*st != RP_OK || json_object_get(h, "from") == NULL) {
        json_decref(h);
        return 0;
    }
    *out = h;
    return i;
}

/* Finds a forward in text t (one clean UTF-8 body, or the visible text of an
 * HTML one): the offset of its marker line (*mark) and of the original's body
 * (returned), and its fields (*fields, new). 0 when there is none. With
 * at_start, a block at the very start counts without a marker (Outlook's HTML
 * has none: the block follows a rule). */
static size_t fwd_find(struct mctx *c, const char *t, size_t n, bool at_start, size_t *mark,
                       json_t **fields, rp_status *st)
{
    *fields = NULL;
    if (at_start) {
        size_t body = fwd_block(c, t, n, 0, fields, st);
        if (body > 0 || *st != RP_OK) {
            *mark = 0;
            return body;
        }
    }
    for (size_t i = 0; i < n && *st == RP_OK;) {
        size_t e = line_end(t, n, i);
        if (fwd_marker(t, i, e)) {
            size_t body = fwd_block(c, t, n, e < n ? e + 1 : n, fields, st);
            if (body > 0) {
                *mark = i;
                return body;
            }
        }
        i = e < n ? e + 1 : n;
    }
    return 0;
}

/* Keeps the fields and the forwarder's words of the first forward found. */
static rp_status fwd_keep(struct mctx *c, json_t *fields, const char *words, size_t n)
{
    if (c->fwd_found) {
        json_decref(fields);
        return RP_OK;
    }
    c->fwd_found = true;
    c->fwd = fields;
    struct sink k = {&c->fwd_comment, false};
    return words != NULL ? clean_append(&k, words, n, CLEAN_TEXT, false) : RP_OK;
}

/* A plain body (clean UTF-8 in c->scratch) of a mail that may be an inline
 * forward. *done when it was one: then only the original's part was searched
 * for URLs and kept as the body. */
static rp_status fwd_plain(struct mctx *c, bool *done)
{
    const char *t = c->scratch.data ? c->scratch.data : "";
    size_t n = c->scratch.len, mark = 0;
    json_t *fields;
    rp_status st = RP_OK;
    size_t body = fwd_find(c, t, n, false, &mark, &fields, &st);
    *done = body > 0 && st == RP_OK;
    if (!*done)
        return st;
    while (body < n && (t[body] == '\n' || t[body] == '\r'))
        body++;
    st = fwd_keep(c, fields, t, mark);
    if (st == RP_OK)
        st = find_urls(c, t + body, n - body);
    if (st == RP_OK)
        st = body_append(&c->text, &c->text_dropped, t + body, n - body);
    return st;
}

/* The same for an HTML body: the forward is located in the markup (its marker
 * text, or Outlook's divRplyFwdMsg), read from the visible text from there on,
 * and only that part of the document is searched for links. */
static rp_status fwd_html(struct mctx *c, bool *done)
{
    enum { NANCHORS = 4 };
    static const char *const ANCHORS[NANCHORS] = {"divrplyfwdmsg", "begin forwarded message",
                                                  "forwarded message", "original message"};
    const char *t = c->scratch.data ? c->scratch.data : "";
    size_t n = c->scratch.len, at = n;
    bool outlook = false;
    *done = false;
    /* the anchors, then the markers: all looked for in one pass */
    const char *needles[FIND_CI_EACH_MAX];
    size_t pos[FIND_CI_EACH_MAX], count = 0;
    for (size_t k = 0; k < NANCHORS; k++)
        needles[count++] = ANCHORS[k];
    for (size_t k = 0; FWD_MARKERS[k] != NULL && count < FIND_CI_EACH_MAX; k++)
        needles[count++] = FWD_MARKERS[k];
    find_ci_each(t, n, needles, count, pos);
    for (size_t k = 0; k < NANCHORS; k++) { /* the first anchor in the text */
        if (pos[k] < at) {
            at = pos[k];
            outlook = k == 0;
        }
    }
    for (size_t k = NANCHORS; at == n && k < count; k++) /* else the first marker listed */
        at = pos[k];
    if (at == n)
        return RP_OK;
    /* from the tag that holds the block (Outlook) or the text node of the marker */
    while (at > 0 && t[at - 1] != (outlook ? '<' : '>'))
        at--;
    if (outlook && at > 0)
        at--;
    struct buf vis;
    buf_init(&vis, n + 16);
    c->visible = &vis;
    rp_status st = html_scan(c, t + at, n - at, 0);
    c->visible = NULL;
    size_t mark = 0;
    json_t *fields = NULL;
    size_t body = st == RP_OK
                      ? fwd_find(c, vis.data ? vis.data : "", vis.len, outlook, &mark, &fields, &st)
                      : 0;
    buf_fini(&vis);
    if (st != RP_OK || body == 0)
        return st; /* not a forward after all: the caller scans the whole */
    *done = true;
    st = fwd_keep(c, fields, NULL, 0);
    if (st == RP_OK)
        st = body_append(&c->html, &c->html_dropped, t + at, n - at);
    return st;
}

/* A leaf part: a body (text or HTML, not an attachment) or an attachment. */
static rp_status leaf(struct mctx *c, GMimePart *part, int depth, bool nested)
{
    GMimeObject *o = GMIME_OBJECT(part);
    char type[128];
    mime_type_of(o, type);
    const char *fname = g_mime_part_get_filename(part);
    GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);
    bool attached = (d != NULL && g_mime_content_disposition_is_attachment(d)) ||
                    (fname != NULL && fname[0] != '\0');
    bool plain = strcmp(type, "text/plain") == 0, html = strcmp(type, "text/html") == 0;
    const char *cs = g_mime_object_get_content_type_parameter(o, "charset");
    rp_status st = RP_OK;
    GByteArray *b = part_bytes(part);

    if ((plain || html) && !attached) {
        st = to_utf8(cs, b->data, b->len, &c->scratch);
        bool fwd = false;
        if (st == RP_OK && c->fwd_mode && !nested)
            st = html ? fwd_html(c, &fwd) : fwd_plain(c, &fwd);
        if (st == RP_OK && fwd) {
            g_byte_array_free(b, TRUE);
            return st;
        }
        if (st == RP_OK)
            st = html ? html_scan(c, c->scratch.data ? c->scratch.data : "", c->scratch.len, 0)
                      : find_urls(c, c->scratch.data ? c->scratch.data : "", c->scratch.len);
        if (st == RP_OK && !nested)
            st = html ? body_append(&c->html, &c->html_dropped, c->scratch.data, c->scratch.len)
                      : body_append(&c->text, &c->text_dropped, c->scratch.data, c->scratch.len);
        g_byte_array_free(b, TRUE);
        return st;
    }
    if (strcmp(type, "application/pkcs7-signature") == 0 ||
        strcmp(type, "application/x-pkcs7-signature") == 0 ||
        strcmp(type, "application/pgp-signature") == 0) {
        g_byte_array_free(b, TRUE); /* a signature, not content */
        return RP_OK;
    }
    enum risk risk;
    const char *sniffed = sniff(b->data, b->len, &risk);
    st = add_attachment(c, fname, type, b->data, b->len, sniffed, risk);
    /* the links of HTML and text attachments (credential-phishing pages) */
    bool markup =
        html || strcmp(sniffed, "text/html") == 0 || strcmp(sniffed, "image/svg+xml") == 0;
    if (st == RP_OK && (markup || plain)) {
        st = to_utf8(cs, b->data, b->len, &c->scratch);
        const char *t = c->scratch.data ? c->scratch.data : "";
        if (st == RP_OK)
            st = markup ? html_scan(c, t, c->scratch.len, 0) : find_urls(c, t, c->scratch.len);
    }
    /* a mail attached as a file (.eml) is opened like message/rfc822 */
    bool eml = ends_ci(fname, ".eml") || strcmp(type, "message/rfc822") == 0 ||
               strcmp(sniffed, "message/rfc822") == 0;
    if (st == RP_OK && eml && mail_detect((const char *)b->data, b->len)) {
        if (depth + 1 > RP_MAIL_DEPTH_MAX) {
            st = rp_error_set(c->err, RP_E_INVALID, "MIME parts nested deeper than %d",
                              RP_MAIL_DEPTH_MAX);
        } else {
            GByteArray *borrowed = NULL;
            GMimeMessage *m = parse_bytes((const char *)b->data, b->len, &borrowed);
            if (m != NULL) {
                st = check_headers(c, GMIME_OBJECT(m));
                if (st == RP_OK)
                    st = walk(c, g_mime_message_get_mime_part(m), depth + 1, true);
                g_object_unref(m);
            }
            (void)g_byte_array_free(borrowed, FALSE); /* b keeps the bytes */
        }
    }
    g_byte_array_free(b, TRUE);
    return st;
}

/* Walks one MIME entity and what it contains, depth-first, within the depth
 * and part limits. nested: inside an attached message (its bodies are not the
 * alert's bodies, but their URLs and attachments count). */
static rp_status walk(struct mctx *c, GMimeObject *o, int depth, bool nested)
{
    if (o == NULL)
        return RP_OK;
    if (depth > RP_MAIL_DEPTH_MAX)
        return rp_error_set(c->err, RP_E_INVALID, "MIME parts nested deeper than %d",
                            RP_MAIL_DEPTH_MAX);
    if (++c->parts > RP_MAIL_PARTS_MAX)
        return rp_error_set(c->err, RP_E_INVALID, "more than %d MIME parts", RP_MAIL_PARTS_MAX);
    rp_status st = check_headers(c, o);
    if (st != RP_OK)
        return st;
    if (GMIME_IS_MULTIPART(o)) {
        GMimeMultipart *mp = GMIME_MULTIPART(o);
        /* text before the first and after the last boundary shows in no client,
         * which is why links are hidden there */
        const char *pro = g_mime_multipart_get_prologue(mp);
        const char *epi = g_mime_multipart_get_epilogue(mp);
        for (int k = 0; k < 2 && st == RP_OK; k++) {
            const char *t = k == 0 ? pro : epi;
            if (t == NULL || *t == '\0')
                continue;
            st = to_utf8(NULL, (const unsigned char *)t, strlen(t), &c->scratch);
            if (st == RP_OK)
                st = find_urls(c, c->scratch.data, c->scratch.len);
        }
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n && st == RP_OK; i++)
            st = walk(c, g_mime_multipart_get_part(mp, i), depth + 1, nested);
        return st;
    }
    if (GMIME_IS_MESSAGE_PART(o))
        return message_part(c, GMIME_MESSAGE_PART(o), depth);
    if (GMIME_IS_PART(o))
        return leaf(c, GMIME_PART(o), depth, nested);
    return RP_OK;
}

/* --- headers ------------------------------------------------------------------------ */

struct authres {
    char spf[16], dkim[16], dmarc[16];
};

/* Skips white space and (nested) comments. */
static const char *skip_cfws(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '(')
            return p;
        int depth = 0;
        do {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            p++;
        } while (*p != '\0' && depth > 0);
    }
}

static void auth_set(char dst[16], const char *r, size_t rl)
{
    if (rl == 0 || rl >= 16)
        return;
    for (size_t i = 0; i < rl; i++)
        dst[i] = (char)tolower((unsigned char)r[i]);
    dst[rl] = '\0';
}

/* Reads the spf, dkim and dmarc results of one Authentication-Results (or
 * ARC-Authentication-Results) value: "authserv-id; method=result ...; ...".
 * Microsoft's form without the authserv-id reads the same. Within one header
 * the first result of a method counts, except that any dkim=pass wins (a mail
 * signed twice, once badly, is still signed). */
static void auth_parse(const char *v, struct authres *a)
{
    const char *p = v;
    while (*p != '\0') {
        p = skip_cfws(p);
        const char *ts = p;
        while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')
            p++;
        size_t tl = (size_t)(p - ts);
        p = skip_cfws(p);
        if (tl > 0 && *p == '=') {
            p = skip_cfws(p + 1);
            const char *rs = p;
            while (isalpha((unsigned char)*p))
                p++;
            size_t rl = (size_t)(p - rs);
            if (name_is(ts, tl, "spf") && a->spf[0] == '\0')
                auth_set(a->spf, rs, rl);
            else if (name_is(ts, tl, "dmarc") && a->dmarc[0] == '\0')
                auth_set(a->dmarc, rs, rl);
            else if (name_is(ts, tl, "dkim") &&
                     (a->dkim[0] == '\0' || (rl == 4 && strncasecmp(rs, "pass", 4) == 0)))
                auth_set(a->dkim, rs, rl);
        }
        while (*p != '\0' && *p != ';') {
            if (*p == '(') {
                p = skip_cfws(p);
            } else if (*p == '"') {
                p++;
                while (*p != '\0' && *p != '"')
                    p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
                if (*p == '"')
                    p++;
            } else {
                p++;
            }
        }
        if (*p == ';')
            p++;
    }
}

/* Fills what is still empty in dst from src. */
static void auth_merge(struct authres *dst, const struct authres *src)
{
    if (dst->spf[0] == '\0')
        memcpy(dst->spf, src->spf, sizeof(dst->spf));
    if (dst->dkim[0] == '\0')
        memcpy(dst->dkim, src->dkim, sizeof(dst->dkim));
    if (dst->dmarc[0] == '\0')
        memcpy(dst->dmarc, src->dmarc, sizeof(dst->dmarc));
}

/* Headers kept in email.headers (first occurrence, decoded, one line). */
static const char *const KEPT_HEADERS[] = {
    "Sender",
    "To",
    "Cc",
    "Delivered-To",
    "X-Original-To",
    "In-Reply-To",
    "References",
    "Thread-Topic",
    "Content-Language",
    "X-Mailer",
    "User-Agent",
    "X-Originating-IP",
    "X-Sender-IP",
    "X-Originating-Email",
    "X-PHP-Originating-Script",
    "X-Priority",
    "Importance",
    "List-Unsubscribe",
    "Errors-To",
    "Authentication-Results",
    "ARC-Authentication-Results",
    "Received-SPF",
    "DKIM-Signature",
    "X-Spam-Status",
    "X-Spam-Flag",
    "X-Spam-Score",
    "X-MS-Exchange-Organization-SCL",
    "X-MS-Exchange-Organization-AuthAs",
    "X-Forefront-Antispam-Report",
    "X-Microsoft-Antispam",
    "Date",
    "MIME-Version",
    NULL,
};

/* What the header block of the subject mail says, beyond email{}. */
struct mail_ids {
    struct authres auth;
    char from_domain[256];
    char reply_domain[256];
    bool display_spoof; /* the display name shows another address than the sender's */
    bool has_message_id, has_received;
};

/* The lower-cased domain after the '@' at (host characters only), or "". */
static void domain_after(const char *at, char out[256])
{
    out[0] = '\0';
    if (at == NULL)
        return;
    size_t l = 0;
    const unsigned char *d = (const unsigned char *)at + 1;
    while (l < 255 && (isalnum(d[l]) || d[l] == '-' || d[l] == '.' || d[l] >= 0x80)) {
        out[l] = (char)tolower(d[l]);
        l++;
    }
    out[l] = '\0';
    while (l > 0 && out[l - 1] == '.')
        out[--l] = '\0';
}

static void domain_of(const char *addr, char out[256])
{
    domain_after(addr ? strrchr(addr, '@') : NULL, out);
}

/* The first mailbox of an address list (NULL when none). */
static InternetAddressMailbox *first_mailbox(InternetAddressList *l)
{
    int n = l ? internet_address_list_length(l) : 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *a = internet_address_list_get_address(l, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a))
            return INTERNET_ADDRESS_MAILBOX(a);
    }
    return NULL;
}

/* Appends one address as people read it: "Name <addr>" or "addr" (the address
 * as written, not converted to punycode: a look-alike domain stays visible),
 * a group as "name: member, member;". Members of a group are at most one level
 * deep (RFC 5322 forbids nesting; GMime does not build it). */
static rp_status address_text(InternetAddress *a, struct buf *out, int depth)
{
    const char *name = internet_address_get_name(a);
    rp_status st = RP_OK;
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
        if (name != NULL && *name != '\0')
            st = buf_printf(out, "%s <%s>", name, addr ? addr : "");
        else
            st = buf_puts(out, addr ? addr : "");
    } else if (INTERNET_ADDRESS_IS_GROUP(a) && depth == 0) {
        InternetAddressList *m = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
        int n = m ? internet_address_list_length(m) : 0;
        st = buf_printf(out, "%s:", name ? name : "");
        for (int i = 0; i < n && i < RP_MAIL_RECIPIENTS_MAX && st == RP_OK; i++) {
            st = buf_puts(out, i == 0 ? " " : ", ");
            if (st == RP_OK)
                st = address_text(internet_address_list_get_address(m, i), out, depth + 1);
        }
        if (st == RP_OK)
            st = buf_puts(out, ";");
    }
    return st;
}

/* The addresses of a list, ", " between them, as one clean line in c->tmp;
 * at most first..first+count. What does not fit the line is cut. */
static rp_status addresses_line(struct mctx *c, InternetAddressList *l, int first, int count)
{
    struct buf raw;
    buf_init(&raw, 4 * RP_NAME_MAX_BYTES);
    rp_status st = RP_OK;
    int n = internet_address_list_length(l);
    for (int i = first; i < n && i < first + count && st == RP_OK; i++) {
        if (i > first)
            st = buf_puts(&raw, ", ");
        if (st == RP_OK)
            st = address_text(internet_address_list_get_address(l, i), &raw, 0);
    }
    if (st == RP_E_LIMIT)
        st = RP_OK; /* a cut list still reads */
    if (st == RP_OK)
        st = line_of(&c->tmp, raw.data ? raw.data : "", raw.len, RP_NAME_MAX_BYTES, NULL);
    buf_fini(&raw);
    return st;
}

static rp_status set_addrlist(struct mctx *c, json_t *email, const char *key,
                              InternetAddressList *l)
{
    if (l == NULL || internet_address_list_length(l) == 0)
        return RP_OK;
    rp_status st = addresses_line(c, l, 0, RP_MAIL_RECIPIENTS_MAX);
    if (st != RP_OK || c->tmp.len == 0)
        return st;
    return jset(email, key, json_stringn(c->tmp.data, c->tmp.len));
}

/* email.to: each To recipient, bounded. */
static rp_status set_to(struct mctx *c, json_t *email, InternetAddressList *l, size_t *dropped)
{
    int n = l ? internet_address_list_length(l) : 0;
    if (n == 0)
        return RP_OK;
    json_t *to = json_array();
    rp_status st = to ? RP_OK : RP_E_NOMEM;
    for (int i = 0; i < n && st == RP_OK; i++) {
        if (json_array_size(to) >= RP_MAIL_RECIPIENTS_MAX) {
            *dropped = (size_t)(n - i);
            break;
        }
        st = addresses_line(c, l, i, 1);
        if (st == RP_OK && c->tmp.len > 0)
            st = jpush(to, json_stringn(c->tmp.data, c->tmp.len));
    }
    if (st == RP_OK && json_array_size(to) > 0)
        return jset(email, "to", to);
    json_decref(to);
    return st;
}

/* Appends the Received lines of m (newest first, one line each). */
static rp_status add_received(struct mctx *c, GMimeMessage *m, json_t *received, size_t *dropped)
{
    if (c->outer_base != NULL && m == c->outer) { /* read by outer_filtered() */
        rp_status st = RP_OK;
        size_t kept =
            c->received_all < RP_MAIL_RECEIVED_MAX ? c->received_all : RP_MAIL_RECEIVED_MAX;
        for (size_t i = 0; i < kept && st == RP_OK; i++) {
            if (json_array_size(received) >= RP_MAIL_RECEIVED_MAX) {
                (*dropped)++;
                continue;
            }
            st = line_of(&c->tmp, c->outer_base + c->received[i].off, c->received[i].len,
                         MAIL_LINE_MAX, NULL);
            if (st == RP_OK && c->tmp.len > 0)
                st = jpush(received, json_clean(&c->tmp));
        }
        *dropped += c->received_all - kept;
        return st;
    }
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    int n = g_mime_header_list_get_count(hl);
    rp_status st = RP_OK;
    for (int i = 0; i < n && st == RP_OK; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        if (strcasecmp(g_mime_header_get_name(h), "Received") != 0)
            continue;
        if (json_array_size(received) >= RP_MAIL_RECEIVED_MAX) {
            (*dropped)++;
            continue;
        }
        const char *v = g_mime_header_get_raw_value(h);
        st = line_of(&c->tmp, v ? v : "", v ? strlen(v) : 0, MAIL_LINE_MAX, NULL);
        if (st == RP_OK && c->tmp.len > 0)
            st = jpush(received, json_clean(&c->tmp));
    }
    return st;
}

/* The address in a Return-Path value ("<a@b>", "a@b"); "" for the null path. */
static void return_path_addr(const char *v, char *out, size_t cap)
{
    out[0] = '\0';
    const char *s = strchr(v, '<');
    s = s ? s + 1 : v;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t l = strcspn(s, "> \t\r\n");
    if (l > 0 && l < cap) {
        memcpy(out, s, l);
        out[l] = '\0';
    }
}

/* Whether a raw header value needs no decoding: ASCII, no encoded word. */
static bool value_plain(const unsigned char *v, size_t n)
{
    if (memmem(v, n, "=?", 2) != NULL)
        return false;
    for (size_t k = 0; k < n; k++)
        if (v[k] >= 0x80)
            return false;
    return true;
}

/* What email_headers() gathers over the header fields, one at a time. */
struct field_state {
    json_t *kept; /* email.headers */
    struct authres ar, arc, rspf;
    bool have_rp;
    const char *mid; /* the Message-ID GMime read, if any */
};

/* One header field of the subject mail: name, raw value (folded, after the
 * colon), and its GMime object (NULL for a field read beside GMime: its value
 * is then plain ASCII, outer_filtered() saw to that). */
static rp_status header_field(struct mctx *c, json_t *email, struct field_state *fs,
                              const char *name, const char *raw, GMimeHeader *h)
{
    rp_status st = RP_OK;
    if (strcasecmp(name, "Authentication-Results") == 0) {
        struct authres one = {{0}, {0}, {0}};
        auth_parse(raw, &one);
        auth_merge(&fs->ar, &one);
    } else if (strcasecmp(name, "ARC-Authentication-Results") == 0) {
        struct authres one = {{0}, {0}, {0}};
        auth_parse(raw, &one);
        auth_merge(&fs->arc, &one);
    } else if (strcasecmp(name, "Received-SPF") == 0 && fs->rspf.spf[0] == '\0') {
        const char *p = skip_cfws(raw);
        size_t l = 0;
        while (isalpha((unsigned char)p[l]))
            l++;
        auth_set(fs->rspf.spf, p, l);
    } else if (strcasecmp(name, "Return-Path") == 0 && !fs->have_rp) {
        char addr[RP_NAME_MAX_BYTES];
        return_path_addr(raw, addr, sizeof(addr));
        fs->have_rp = addr[0] != '\0';
        if (fs->have_rp)
            st = set_line(email, "return_path", addr, RP_NAME_MAX_BYTES, &c->tmp);
    } else if (strcasecmp(name, "Message-ID") == 0 && fs->mid == NULL) {
        st = set_line(email, "message_id", raw, RP_NAME_MAX_BYTES, &c->tmp);
    }
    int f0 = tolower((unsigned char)name[0]);
    for (size_t k = 0; st == RP_OK && KEPT_HEADERS[k]; k++) {
        if (tolower((unsigned char)KEPT_HEADERS[k][0]) != f0 ||
            strcasecmp(name, KEPT_HEADERS[k]) != 0 ||
            json_object_get(fs->kept, KEPT_HEADERS[k]) != NULL)
            continue;
        /* plain ASCII needs no decoding (most of these are machine-written) */
        bool plain = h == NULL || value_plain((const unsigned char *)raw, strlen(raw));
        const char *v = plain ? raw : g_mime_header_get_value(h);
        st = set_line(fs->kept, KEPT_HEADERS[k], v ? v : raw, MAIL_LINE_MAX, &c->tmp);
    }
    return st;
}

/* email{...} from the header block of m: senders, recipients, subject, date,
 * ids, Received chain, authentication results, kept headers. */
static rp_status email_headers(struct mctx *c, GMimeMessage *m, json_t *email, json_t *received,
                               size_t *received_dropped, size_t *to_dropped, struct mail_ids *ids)
{
    rp_status st = RP_OK;
    const char *mid = g_mime_message_get_message_id(m);
    if (mid != NULL && *mid != '\0') {
        char *w = g_strdup_printf("<%s>", mid);
        st = set_line(email, "message_id", w, RP_NAME_MAX_BYTES, &c->tmp);
        g_free(w);
    }

    InternetAddressList *from = g_mime_message_get_from(m);
    InternetAddressList *reply = g_mime_message_get_reply_to(m);
    if (st == RP_OK)
        st = set_addrlist(c, email, "from", from);
    if (st == RP_OK && json_object_get(email, "from") == NULL) /* no address in it: as written */
        st = set_line(email, "from", g_mime_object_get_header(GMIME_OBJECT(m), "From"),
                      RP_NAME_MAX_BYTES, &c->tmp);
    if (st == RP_OK)
        st = set_addrlist(c, email, "reply_to", reply);
    InternetAddressMailbox *fm = first_mailbox(from), *rm = first_mailbox(reply);
    if (fm != NULL) {
        domain_of(internet_address_mailbox_get_addr(fm), ids->from_domain);
        const char *dn = internet_address_get_name(INTERNET_ADDRESS(fm));
        char dd[256];
        domain_after(dn ? strchr(dn, '@') : NULL, dd);
        if (dd[0] != '\0' && ids->from_domain[0] != '\0' &&
            strcmp(registrable(dd), registrable(ids->from_domain)) != 0)
            ids->display_spoof = true;
    }
    if (rm != NULL)
        domain_of(internet_address_mailbox_get_addr(rm), ids->reply_domain);
    if (st == RP_OK)
        st = set_to(c, email, g_mime_message_get_to(m), to_dropped);

    const char *subject = g_mime_message_get_subject(m);
    if (st == RP_OK && subject != NULL) {
        st = line_of(&c->tmp, subject, strlen(subject), RP_FIELD_MAX_BYTES, NULL);
        if (st == RP_OK && c->tmp.len > 0)
            st = jset(email, "subject", json_stringn(c->tmp.data, c->tmp.len));
    }
    GDateTime *dt = g_mime_message_get_date(m);
    if (st == RP_OK && dt != NULL) {
        char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z");
        if (s != NULL)
            st = set_line(email, "date", s, RP_NAME_MAX_BYTES, &c->tmp);
        g_free(s);
    }

    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    int n = g_mime_header_list_get_count(hl);
    json_t *kept = json_object();
    if (kept == NULL)
        return RP_E_NOMEM;
    struct field_state fs = {kept, {{0}, {0}, {0}}, {{0}, {0}, {0}}, {{0}, {0}, {0}}, false, mid};
    /* the outer fields outer_filtered() kept from GMime come first: they are
     * the first of their names in the block */
    size_t nside = c->outer_base != NULL && m == c->outer ? c->nside : 0;
    for (size_t i = 0; i < nside && st == RP_OK; i++) {
        const struct side_field *f = &c->side[i];
        char name[64];
        memcpy(name, c->outer_base + f->name_off, f->name_len);
        name[f->name_len] = '\0';
        buf_reset(&c->side_val);
        st = buf_append(&c->side_val, c->outer_base + f->val_off, f->val_len);
        if (st == RP_OK)
            st = header_field(c, email, &fs, name, c->side_val.data, NULL);
    }
    for (int i = 0; i < n && st == RP_OK; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *raw = g_mime_header_get_raw_value(h);
        st = header_field(c, email, &fs, g_mime_header_get_name(h), raw ? raw : "", h);
    }
    struct authres ar = fs.ar, arc = fs.arc, rspf = fs.rspf;
    auth_merge(&ar, &arc);
    auth_merge(&ar, &rspf);
    ids->auth = ar;
    if (st == RP_OK)
        st = add_received(c, m, received, received_dropped);
    if (st == RP_OK && json_object_size(kept) > 0)
        st = jset(email, "headers", json_incref(kept));
    json_decref(kept);
    ids->has_message_id = json_object_get(email, "message_id") != NULL;
    return st;
}

static rp_status set_auth(json_t *email, const struct authres *a)
{
    if (a->spf[0] == '\0' && a->dkim[0] == '\0' && a->dmarc[0] == '\0')
        return RP_OK;
    json_t *o = json_object();
    if (o == NULL)
        return RP_E_NOMEM;
    rp_status st = RP_OK;
    if (a->spf[0])
        st = jset(o, "spf", json_string(a->spf));
    if (st == RP_OK && a->dkim[0])
        st = jset(o, "dkim", json_string(a->dkim));
    if (st == RP_OK && a->dmarc[0])
        st = jset(o, "dmarc", json_string(a->dmarc));
    if (st == RP_OK)
        return jset(email, "auth", o);
    json_decref(o);
    return st;
}

/* --- forwarded reports ---------------------------------------------------------------- */

/* What the top level of a mail carries as attached mails. */
struct attached {
    GMimeMessage *msg; /* the first attached mail (a reference we hold) */
    int count;
    bool wrapper; /* a spam filter's wrapper around the original (x-spam-type=original) */
};

/* Finds the mails attached at the top level of o (not inside attached mails):
 * message/rfc822 parts and .eml files. Bounded by the depth limit. */
static void find_attached(GMimeObject *o, int depth, struct attached *a)
{
    if (o == NULL || depth > RP_MAIL_DEPTH_MAX)
        return;
    if (GMIME_IS_MULTIPART(o)) {
        GMimeMultipart *mp = GMIME_MULTIPART(o);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n && i < RP_MAIL_PARTS_MAX; i++)
            find_attached(g_mime_multipart_get_part(mp, i), depth + 1, a);
        return;
    }
    GMimeMessage *m = NULL;
    bool wrapper = false;
    if (GMIME_IS_MESSAGE_PART(o)) {
        m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
        if (m != NULL)
            g_object_ref(m);
        const char *x = g_mime_object_get_content_type_parameter(o, "x-spam-type");
        wrapper = x != NULL && strcasecmp(x, "original") == 0;
    } else if (GMIME_IS_PART(o)) {
        const char *fname = g_mime_part_get_filename(GMIME_PART(o));
        if (!ends_ci(fname, ".eml"))
            return;
        GByteArray *b = part_bytes(GMIME_PART(o));
        if (mail_detect((const char *)b->data, b->len))
            m = parse_bytes((const char *)b->data, b->len, NULL); /* outlives b */
        g_byte_array_free(b, TRUE);
    }
    if (m == NULL)
        return;
    if (a->count++ == 0) {
        a->msg = m;
        a->wrapper = wrapper;
    } else {
        g_object_unref(m);
    }
}

/* True when a subject reads as a forward or a report ("Fwd:", "TR:", "WG:",
 * "phishing", "suspicious", "spam", "report"). */
static bool report_subject(const char *s)
{
    static const char *const prefixes[] = {
        "fw:", "fwd:", "tr:", "wg:", "rv:", "vs:", "enc:", "doorst:", "i:", "fs:", "pd:", NULL};
    static const char *const words[] = {"phish", "suspicious", "spam", "report", "scam", NULL};
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        int c = tolower(u[i]); /* compared first: most bytes start no candidate */
        bool word_start = i == 0 || !isalnum(u[i - 1]);
        for (size_t k = 0; word_start && prefixes[k]; k++)
            if (prefixes[k][0] == c && prefix_ci(u + i, n - i, prefixes[k]))
                return true;
        for (size_t k = 0; words[k]; k++)
            if (words[k][0] == c && prefix_ci(u + i, n - i, words[k]))
                return true;
    }
    return false;
}

/* email{} of an inline forward from its quoted block (c->fwd): the
 * addresses as the other fields show them, the subject, the date when it
 * names its zone (a client writes it in the reader's local time otherwise),
 * the block's date and Cc as written under headers, and forwarded "inline". */
static rp_status fwd_email(struct mctx *c, json_t *email, struct mail_ids *ids, size_t *to_dropped)
{
    rp_status st = RP_OK;
    static const char *const ADDR[] = {"from", "reply_to", "to"};
    for (size_t k = 0; k < 3 && st == RP_OK; k++) {
        const char *v = json_string_value(json_object_get(c->fwd, ADDR[k]));
        if (v == NULL)
            continue;
        /* Outlook writes "Name [mailto:addr]" */
        char *fixed = NULL;
        const char *mt = strstr(v, "[mailto:");
        if (mt != NULL && strchr(mt, ']') != NULL)
            fixed = g_strdup_printf("%.*s<%.*s>", (int)(mt - v), v, (int)(strchr(mt, ']') - mt - 8),
                                    mt + 8);
        if (fixed == NULL)
            fixed = g_strdup(v);
        for (char *q = fixed; k == 2 && *q; q++) /* Outlook separates recipients with ';' */
            if (*q == ';')
                *q = ',';
        InternetAddressList *l = internet_address_list_parse(parser_opts, fixed);
        if (k == 2) {
            st = set_to(c, email, l, to_dropped);
        } else {
            st = set_addrlist(c, email, ADDR[k], l);
            if (st == RP_OK && json_object_get(email, ADDR[k]) == NULL)
                st = set_line(email, ADDR[k], v, RP_NAME_MAX_BYTES, &c->tmp);
            InternetAddressMailbox *m = first_mailbox(l);
            if (m != NULL)
                domain_of(internet_address_mailbox_get_addr(m),
                          k == 0 ? ids->from_domain : ids->reply_domain);
            if (m != NULL && k == 0) {
                const char *dn = internet_address_get_name(INTERNET_ADDRESS(m));
                char dd[256];
                domain_after(dn ? strchr(dn, '@') : NULL, dd);
                if (dd[0] != '\0' && ids->from_domain[0] != '\0' &&
                    strcmp(registrable(dd), registrable(ids->from_domain)) != 0)
                    ids->display_spoof = true;
            }
        }
        if (l != NULL)
            g_object_unref(l);
        g_free(fixed);
    }
    const char *subject = json_string_value(json_object_get(c->fwd, "subject"));
    if (st == RP_OK && subject != NULL)
        st = set_line(email, "subject", subject, RP_FIELD_MAX_BYTES, &c->tmp);
    const char *date = json_string_value(json_object_get(c->fwd, "date"));
    if (st == RP_OK && date != NULL) {
        /* Gmail and Apple Mail write "... at 10:00"; the parser wants no "at" */
        char *d = g_strnfill(strlen(date) + 8, '\0');
        memcpy(d, date, strlen(date));
        char *at = strstr(d, " at ");
        if (at != NULL)
            memmove(at, at + 3, strlen(at + 3) + 1);
        /* Apple Mail's "GMT+2" is "+0200" */
        char *g = strstr(d, "GMT");
        if (g != NULL && (g[3] == '+' || g[3] == '-') && isdigit((unsigned char)g[4])) {
            int hh = g[4] - '0';
            if (isdigit((unsigned char)g[5]))
                hh = hh * 10 + (g[5] - '0');
            char z[8];
            rp_fmt(z, sizeof(z), "%c%02d00", g[3], hh > 14 ? 0 : hh);
            memcpy(g, z, 6);
            g[6] = '\0';
        }
        bool zone = false;
        for (const char *p = d; *p && !zone; p++)
            zone = (*p == '+' || *p == '-') && strlen(p) >= 5 && isdigit((unsigned char)p[1]) &&
                   isdigit((unsigned char)p[4]) && p > d && p[-1] == ' ';
        zone = zone || strstr(d, "GMT") != NULL || strstr(d, "UTC") != NULL;
        GDateTime *dt = zone ? g_mime_utils_header_decode_date(d) : NULL;
        g_free(d);
        if (dt != NULL) {
            char *f = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z");
            if (f != NULL)
                st = set_line(email, "date", f, RP_NAME_MAX_BYTES, &c->tmp);
            g_free(f);
            g_date_time_unref(dt);
        }
    }
    json_t *headers = json_object();
    if (headers == NULL)
        return RP_E_NOMEM;
    const char *label = json_string_value(json_object_get(c->fwd, "date_label"));
    if (st == RP_OK && date != NULL)
        st = set_line(headers, label && strcasecmp(label, "sent") == 0 ? "Sent" : "Date", date,
                      MAIL_LINE_MAX, &c->tmp);
    const char *cc = json_string_value(json_object_get(c->fwd, "cc"));
    if (st == RP_OK && cc != NULL)
        st = set_line(headers, "Cc", cc, MAIL_LINE_MAX, &c->tmp);
    if (st == RP_OK && json_object_size(headers) > 0)
        st = jset(email, "headers", json_incref(headers));
    json_decref(headers);
    if (st == RP_OK)
        st = jset(email, "forwarded", json_string("inline"));
    return st;
}

/* --- severity -------------------------------------------------------------------------- */

/* The first severity of a mail (docs/mail.md): 40, plus what makes it worse,
 * minus a mail that authenticates fully; 10-95. The reasons go in
 * extra.severity_reasons so that a playbook (or a person) can see and refine. */
static int mail_severity(const struct mctx *c, const struct mail_ids *ids, bool reported,
                         json_t *reasons)
{
    int s = 40;
    const struct authres *a = &ids->auth;
#define WHY(cond, pts, text)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            s += (pts);                                                                            \
            (void)json_array_append_new(reasons, json_string(text));                               \
        }                                                                                          \
    } while (0)
    WHY(reported, 10, "reported by a user");
    int auth = 0;
    if (strcmp(a->dmarc, "fail") == 0)
        auth += 20;
    if (strcmp(a->spf, "fail") == 0 || strcmp(a->spf, "softfail") == 0)
        auth += 10;
    if (strcmp(a->dkim, "fail") == 0)
        auth += 10;
    WHY(auth > 0, auth > 25 ? 25 : auth, "sender authentication failed (spf/dkim/dmarc)");
    WHY(strcmp(a->spf, "pass") == 0 && strcmp(a->dkim, "pass") == 0 &&
            strcmp(a->dmarc, "pass") == 0,
        -10, "spf, dkim and dmarc pass");
    WHY(ids->reply_domain[0] != '\0' && ids->from_domain[0] != '\0' &&
            strcmp(registrable(ids->reply_domain), registrable(ids->from_domain)) != 0,
        10, "Reply-To goes to another domain than From");
    WHY(ids->display_spoof, 10, "the From display name shows another domain");
    WHY(c->deceptive_link, 15, "a link's text shows another site than its target");
    WHY(c->ip_url, 10, "a URL with an IP address for host");
    WHY(c->active_att, 20, "an executable, script, HTML or shortcut attachment");
    WHY(c->container_att && !c->active_att, 10, "an archive or OLE document attachment");
    WHY(c->mismatch_att, 15, "an attachment's content does not match its extension");
#undef WHY
    return s < 10 ? 10 : s > 95 ? 95 : s;
}

/* --- the parser ------------------------------------------------------------------------- */

/* RFC 5322 ftext: printable ASCII but ':' (Exchange writes names with dots). */
static bool is_field_name_char(unsigned char ch)
{
    return ch > 32 && ch < 127 && ch != ':';
}

/* Length of a header field name followed by ':' at p ("Subject:"), or 0.
 * Real names are under 80 characters; 128 bounds the look. */
static size_t field_name(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && i < 128 && is_field_name_char((unsigned char)p[i]))
        i++;
    size_t nl = i;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return nl > 0 && nl < 128 && i < n && p[i] == ':' ? nl : 0;
}

/* Field names only mail has (or that every mail has): what tells a mail from
 * other "Name: value" text. */
static const char *const MAIL_FIELDS[] = {
    "received",
    "return-path",
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "delivered-to",
    "reply-to",
    "sender",
    "dkim-signature",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "authentication-results",
    "x-received",
    "received-spf",
    "x-original-to",
    "in-reply-to",
    "references",
    "x-mailer",
    "thread-topic",
    "thread-index",
    NULL,
};

static bool is_mail_field(const char *name, size_t n)
{
    for (size_t k = 0; MAIL_FIELDS[k]; k++)
        if (name_is(name, n, MAIL_FIELDS[k]))
            return true;
    return false;
}

/* Where the mail starts: after a byte-order mark, blank lines and an mbox
 * "From " line. */
static size_t mail_start(const char *d, size_t n)
{
    size_t i = n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < n && (d[i] == '\r' || d[i] == '\n'))
        i++;
    if (n - i >= 5 && memcmp(d + i, "From ", 5) == 0) {
        const char *nl = memchr(d + i, '\n', n - i);
        i = nl ? (size_t)(nl - d) + 1 : n;
    }
    return i;
}

/* Outer header fields read beyond KEPT_HEADERS and MAIL_FIELDS: what GMime's
 * message getters, the MIME structure and email_headers() look at. */
static const char *const OUTER_FIELDS[] = {
    "bcc", "message-id", "mime-version", "arc-authentication-results", NULL,
};

/* Whether the alert reads the outer header field named by n bytes at name. */
static bool outer_field_used(const char *name, size_t n)
{
    if (n > 8 && strncasecmp(name, "content-", 8) == 0)
        return true;
    int f = tolower((unsigned char)name[0]);
    const char *const *lists[] = {KEPT_HEADERS, MAIL_FIELDS, OUTER_FIELDS};
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
        for (const char *const *k = lists[l]; *k != NULL; k++)
            if (tolower((unsigned char)(*k)[0]) == f && name_is(name, n, *k))
                return true;
    return false;
}

/* Outer fields the alert reads whose plain value can be read without GMime
 * (header_field()); lower case. */
static const char *const SIDE_FIELDS[] = {
    "delivered-to",
    "x-original-to",
    "in-reply-to",
    "references",
    "thread-topic",
    "x-mailer",
    "user-agent",
    "x-originating-ip",
    "x-sender-ip",
    "x-originating-email",
    "x-php-originating-script",
    "x-priority",
    "importance",
    "list-unsubscribe",
    "errors-to",
    "authentication-results",
    "arc-authentication-results",
    "received-spf",
    "dkim-signature",
    "x-spam-status",
    "x-spam-flag",
    "x-spam-score",
    "x-ms-exchange-organization-scl",
    "x-ms-exchange-organization-authas",
    "x-forefront-antispam-report",
    "x-microsoft-antispam",
    NULL,
};

static int side_index(const char *name, size_t n)
{
    for (int k = 0; SIDE_FIELDS[k] != NULL; k++)
        if (name_is(name, n, SIDE_FIELDS[k]))
            return k;
    return -1;
}

/* The side field just read ends: kept beside GMime when its value is plain
 * ASCII, else handed to GMime (which decodes it), and so are the fields of
 * that name after it, so that the first of a name is still read first. */
static rp_status side_done(struct mctx *c, const char *p, struct buf *out, uint32_t *to_gmime)
{
    const struct side_field *f = &c->side[c->nside - 1];
    const unsigned char *v = (const unsigned char *)p + f->val_off;
    if (value_plain(v, f->val_len))
        return RP_OK;
    *to_gmime |= 1u << side_index(p + f->name_off, f->name_len);
    c->nside--;
    return buf_append(out, p + f->start, f->val_off + f->val_len - f->start);
}

/* The mail at p (n bytes) with only the outer header fields the alert reads,
 * in out: GMime makes an object of every field, and an Exchange Online mail
 * carries 60-150 of them, most of which nothing reads (X-MS-Exchange-*,
 * ARC seals, anti-spam reports): a quarter of the parse went to them
 * (bench/RESULTS-mail.md). The fields kept are the original lines, in order,
 * with their folds; the body is copied unchanged. The Received fields and the
 * plain SIDE_FIELDS are not kept but noted in c (c->received, c->side), read
 * from p by add_received() and email_headers(). Counts every field against
 * RP_MAIL_HEADERS_MAX. Returns RP_OK with out empty when the block holds a
 * line that is neither a field nor a fold: GMime then reads the mail as it
 * is, so a malformed block is read exactly as before. */
static rp_status outer_filtered(struct mctx *c, const char *p, size_t n, struct buf *out)
{
    size_t i = 0, fields = 0, kept = 0;
    /* the field being read: kept for GMime, a Received, a side field */
    bool keep = false, received = false, side = false;
    uint32_t to_gmime = 0; /* side fields GMime reads from now on, by SIDE_FIELDS index */
    rp_status st = RP_OK;
    c->received_all = c->nside = 0;
    c->side_mail = false;
    while (i < n && st == RP_OK) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) + 1 : n;
        bool fold = p[i] == ' ' || p[i] == '\t';
        if (side && !fold) { /* the side field ends here */
            side = false;
            st = side_done(c, p, out, &to_gmime);
            if (st != RP_OK)
                break;
        }
        if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
            break; /* the empty line: the body follows */
        if (fold) {
            if (fields == 0) {
                buf_reset(out);
                return RP_OK;
            }
            if (received && c->received_all <= RP_MAIL_RECEIVED_MAX)
                c->received[c->received_all - 1].len = e - c->received[c->received_all - 1].off;
            if (side)
                c->side[c->nside - 1].val_len = e - c->side[c->nside - 1].val_off;
        } else {
            size_t fl = field_name(p + i, e - i);
            if (fl == 0) {
                buf_reset(out);
                return RP_OK;
            }
            if (++fields > RP_MAIL_HEADERS_MAX)
                return rp_error_set(c->err, RP_E_INVALID,
                                    "a header block has more than %d fields, over the %d limit",
                                    RP_MAIL_HEADERS_MAX, RP_MAIL_HEADERS_MAX);
            keep = outer_field_used(p + i, fl);
            kept += keep;
            received = name_is(p + i, fl, "received");
            /* a value: after the colon, to the end of its last fold */
            size_t v = (size_t)((const char *)memchr(p + i, ':', e - i) - p) + 1;
            if (received) {
                keep = false;
                if (++c->received_all <= RP_MAIL_RECEIVED_MAX) {
                    c->received[c->received_all - 1].off = v;
                    c->received[c->received_all - 1].len = e - v;
                }
            }
            int k = keep ? side_index(p + i, fl) : -1;
            if (k >= 0 && !(to_gmime & (1u << k)) && c->nside < MAIL_SIDE_MAX) {
                keep = false;
                side = true;
                c->side[c->nside++] = (struct side_field){i, i, fl, v, e - v};
                c->side_mail |= is_mail_field(p + i, fl);
            } else if (k >= 0) {
                to_gmime |= 1u << k; /* the first of a name read by GMime: all the rest too */
            }
        }
        if (keep)
            st = buf_append(out, p + i, e - i);
        i = e;
    }
    if (st == RP_OK && side) /* a block that ends without its empty line */
        st = side_done(c, p, out, &to_gmime);
    if (st == RP_OK && kept == 0) {
        buf_reset(out); /* nothing the alert reads: let build() say why */
        return RP_OK;
    }
    c->outer_base = p; /* GMime will not see them: add_received() reads them here */
    if (st == RP_OK)
        st = buf_append(out, p + i, n - i);
    return st;
}

struct alert_build {
    struct mctx c;
    GMimeMessage *outer;
    GByteArray *borrowed; /* the bytes under the outer message's stream */
    struct buf filtered;  /* the mail with only the outer fields read (outer_filtered()) */
    struct attached att;
    json_t *email, *received, *extra, *truncated, *reasons;
};

/* Builds the alert of the parsed mail b->outer (len bytes). */
static rp_status build(struct alert_build *b, size_t len, json_t **alert)
{
    struct mctx *c = &b->c;
    rp_status st = check_headers(c, GMIME_OBJECT(b->outer));
    if (st != RP_OK)
        return st;
    GMimeHeaderList *ohl = g_mime_object_get_header_list(GMIME_OBJECT(b->outer));
    int nh = ohl != NULL ? g_mime_header_list_get_count(ohl) : 0;
    bool mail = c->outer_base != NULL && (c->received_all > 0 || c->side_mail);
    for (int i = 0; i < nh && !mail; i++) {
        const char *name = g_mime_header_get_name(g_mime_header_list_get_header_at(ohl, i));
        mail = is_mail_field(name, strlen(name));
    }
    if (!mail)
        return rp_error_set(c->err, RP_E_INVALID,
                            "byte 0: not a mail: no mail header field (From, To, Subject, Date, "
                            "Received, Message-ID, Content-Type, ...)");

    /* a user's report, or a spam filter's wrapper: the attached mail is the subject */
    GMimeObject *top = g_mime_message_get_mime_part(b->outer);
    char top_type[128] = "";
    if (top != NULL)
        mime_type_of(top, top_type);
    const char *rtype =
        top != NULL ? g_mime_object_get_content_type_parameter(top, "report-type") : NULL;
    bool dsn = strcmp(top_type, "multipart/report") == 0 &&
               !(rtype != NULL && strcasecmp(rtype, "feedback-report") == 0);
    bool arf = strcmp(top_type, "multipart/report") == 0 && !dsn;
    if (!dsn)
        find_attached(top, 1, &b->att);
    const char *outer_subject = g_mime_message_get_subject(b->outer);
    bool wrapper = b->att.msg != NULL && b->att.wrapper;
    bool reported = b->att.msg != NULL && !wrapper && (arf || report_subject(outer_subject));
    GMimeMessage *subj = (reported || wrapper) ? b->att.msg : b->outer;
    /* no attached mail: the original may be quoted in the body */
    c->fwd_mode = b->att.msg == NULL && !dsn && report_subject(outer_subject);

    struct mail_ids ids;
    memset(&ids, 0, sizeof(ids));
    size_t received_dropped = 0, to_dropped = 0;
    if (wrapper) /* the chain after the filter wrapped it, then the one before */
        st = add_received(c, b->outer, b->received, &received_dropped);
    if (st == RP_OK)
        st = email_headers(c, subj, b->email, b->received, &received_dropped, &to_dropped, &ids);
    if (st == RP_OK && wrapper) {
        struct mail_ids oids;
        memset(&oids, 0, sizeof(oids));
        json_t *oemail = json_object(), *orec = json_array();
        size_t od = 0;
        st =
            oemail && orec ? email_headers(c, b->outer, oemail, orec, &od, &od, &oids) : RP_E_NOMEM;
        auth_merge(&ids.auth, &oids.auth);
        static const char *const fill[] = {"message_id", "to", "date", NULL};
        for (size_t k = 0; st == RP_OK && fill[k]; k++) {
            json_t *v = json_object_get(oemail, fill[k]);
            if (v != NULL && json_object_get(b->email, fill[k]) == NULL)
                st = jset(b->email, fill[k], json_incref(v));
        }
        json_decref(oemail);
        json_decref(orec);
        if (st == RP_OK)
            st = jset(b->extra, "wrapper", json_string("spamassassin"));
    }
    if (st == RP_OK)
        st = set_auth(b->email, &ids.auth);
    if (st == RP_OK && json_array_size(b->received) > 0)
        st = jset(b->email, "received", json_incref(b->received));
    if (st == RP_OK)
        st = check_headers(c, GMIME_OBJECT(subj));
    if (st == RP_OK)
        st = walk(c, g_mime_message_get_mime_part(subj), 1, false);
    /* forwarded inline: the email fields are the quoted block's, and what only
     * the original's own header has (Received, Authentication-Results,
     * Message-ID) is not there to read */
    if (st == RP_OK && c->fwd_found) {
        reported = true;
        memset(&ids, 0, sizeof(ids));
        json_object_clear(b->email);
        json_array_clear(b->received);
        st = fwd_email(c, b->email, &ids, &to_dropped);
    }

    /* the reporter and what they said */
    json_t *reporter = NULL;
    if (st == RP_OK && reported) {
        InternetAddressMailbox *fm = first_mailbox(g_mime_message_get_from(b->outer));
        reporter = json_object();
        json_t *report = json_object();
        st = reporter && report ? RP_OK : RP_E_NOMEM;
        if (st == RP_OK && fm != NULL) {
            st = set_line(reporter, "name", internet_address_get_name(INTERNET_ADDRESS(fm)),
                          RP_NAME_MAX_BYTES, &c->tmp);
            const char *addr = internet_address_mailbox_get_addr(fm);
            struct rp_error e;
            if (st == RP_OK && addr != NULL &&
                observable_canonical(OBS_EMAIL, addr, strlen(addr), &c->canon, NULL, &e) == RP_OK)
                st = jset(reporter, "email", json_stringn(c->canon.data, c->canon.len));
        }
        if (st == RP_OK)
            st = set_line(report, "subject", outer_subject, RP_NAME_MAX_BYTES, &c->tmp);
        const char *omid = g_mime_message_get_message_id(b->outer);
        if (st == RP_OK && omid != NULL)
            st = set_line(report, "message_id", omid, RP_NAME_MAX_BYTES, &c->tmp);
        if (st == RP_OK && arf)
            st = jset(report, "format", json_string("arf"));
        if (st == RP_OK && b->att.count > 1)
            st = jset(report, "attached_mails", json_integer(b->att.count));
        /* the reporter's words: the first plain text body of the outer mail */
        GMimeObject *body = g_mime_message_get_body(b->outer);
        char btype[128] = "";
        if (body != NULL)
            mime_type_of(body, btype);
        if (st == RP_OK && c->fwd_found && c->fwd_comment.len > 0) {
            st = line_of(&c->tmp, "", 0, 0, NULL); /* reset */
            struct sink k = {&c->tmp, false};
            size_t saved = c->tmp.max;
            c->tmp.max = MAIL_COMMENT_MAX;
            if (st == RP_OK)
                st = sink_put(&k, c->fwd_comment.data, c->fwd_comment.len);
            c->tmp.max = saved;
            while (c->tmp.len > 0 && isspace((unsigned char)c->tmp.data[c->tmp.len - 1]))
                c->tmp.data[--c->tmp.len] = '\0';
            if (st == RP_OK && c->tmp.len > 0)
                st = jset(report, "comment", json_stringn(c->tmp.data, c->tmp.len));
        } else if (st == RP_OK && body != NULL && GMIME_IS_PART(body) &&
                   strcmp(btype, "text/plain") == 0 && !c->fwd_found) {
            GByteArray *bb = part_bytes(GMIME_PART(body));
            st = to_utf8(g_mime_object_get_content_type_parameter(body, "charset"), bb->data,
                         bb->len, &c->scratch);
            g_byte_array_free(bb, TRUE);
            if (st == RP_OK && c->scratch.len > 0) {
                buf_reset(&c->tmp);
                struct sink k = {&c->tmp, false};
                size_t saved = c->tmp.max;
                c->tmp.max = MAIL_COMMENT_MAX;
                st = sink_put(&k, c->scratch.data, c->scratch.len);
                c->tmp.max = saved;
                if (st == RP_OK && c->tmp.len > 0)
                    st = jset(report, "comment", json_stringn(c->tmp.data, c->tmp.len));
            }
        }
        if (st == RP_OK && json_object_size(report) > 0)
            st = jset(b->extra, "report", json_incref(report));
        json_decref(report);
    }

    /* the email object (the bodies are valid UTF-8 by construction: clean_append
     * and sink_put write whole characters only; fuzz_mail checks it) */
    if (st == RP_OK && c->text.len > 0)
        st = jset(b->email, "body_text", json_stringn_nocheck(c->text.data, c->text.len));
    if (st == RP_OK && c->html.len > 0)
        st = jset(b->email, "body_html", json_stringn_nocheck(c->html.data, c->html.len));
    if (st == RP_OK && json_array_size(c->urls) > 0)
        st = jset(b->email, "urls", json_incref(c->urls));
    if (st == RP_OK && json_array_size(c->links) > 0)
        st = jset(b->email, "links", json_incref(c->links));
    if (st == RP_OK && json_array_size(c->attachments) > 0)
        st = jset(b->email, "attachments", json_incref(c->attachments));

    if (st == RP_OK)
        st = note_dropped(b->truncated, "urls", c->urls_dropped + c->long_urls);
    if (st == RP_OK)
        st = note_dropped(b->truncated, "links", c->links_dropped);
    if (st == RP_OK)
        st = note_dropped(b->truncated, "attachments", c->attachments_dropped);
    if (st == RP_OK)
        st = note_dropped(b->truncated, "body_text_bytes", c->text_dropped);
    if (st == RP_OK)
        st = note_dropped(b->truncated, "body_html_bytes", c->html_dropped);
    if (st == RP_OK)
        st = note_dropped(b->truncated, "received", received_dropped);
    if (st == RP_OK)
        st = note_dropped(b->truncated, "to", to_dropped);
    if (st == RP_OK && json_object_size(b->truncated) > 0)
        st = jset(b->extra, "truncated", json_incref(b->truncated));

    int severity = mail_severity(c, &ids, reported, b->reasons);
    if (st == RP_OK && json_array_size(b->reasons) > 0)
        st = jset(b->extra, "severity_reasons", json_incref(b->reasons));

    /* the title: "Reported phishing: <subject>" or "Suspicious mail: <subject>" */
    const char *subject = json_string_value(json_object_get(b->email, "subject"));
    char *title = NULL;
    if (st == RP_OK) {
        title = g_strdup_printf("%s: %s", reported ? "Reported phishing" : "Suspicious mail",
                                subject ? subject : "(no subject)");
        st = line_of(&c->tmp, title, strlen(title), RP_NAME_MAX_BYTES, NULL);
        g_free(title);
    }

    json_t *a = st == RP_OK ? json_object() : NULL;
    if (st == RP_OK && a == NULL)
        st = RP_E_NOMEM;
    if (st == RP_OK)
        st = jset(a, "kind", json_string("phishing"));
    if (st == RP_OK)
        st = jset(a, "source", json_string("mail"));
    if (st == RP_OK)
        st = jset(a, "title", json_stringn(c->tmp.data, c->tmp.len));
    if (st == RP_OK)
        st = jset(a, "severity", json_integer(severity));
    if (st == RP_OK)
        st = jset(a, "email", json_incref(b->email));
    if (st == RP_OK && reporter != NULL && json_object_size(reporter) > 0)
        st = jset(a, "reporter", json_incref(reporter));
    if (st == RP_OK && json_object_size(b->extra) > 0)
        st = jset(a, "extra", json_incref(b->extra));
    if (st == RP_OK)
        st = jset(a, "raw",
                  json_pack("{s:s, s:I, s:I}", "format", "mail", "bytes", (json_int_t)len,
                            "mime_parts", (json_int_t)c->parts));
    json_decref(reporter);
    if (st != RP_OK) {
        json_decref(a);
        return st;
    }
    *alert = a;
    return RP_OK;
}

/* The contract is mail.h's. data (len bytes, any content) is only read, and
 * only during the call (GMime reads it in place); on RP_OK *alert is a new
 * object the caller owns, otherwise *alert is NULL and err says what and where.
 * Structural limits reject the mail; list limits cut it (extra.truncated). */
rp_status mail_parse_alert(const char *data, size_t len, json_t **alert, struct rp_error *err)
{
    *alert = NULL;
    if (len > RP_MAIL_MAX_BYTES)
        return rp_error_set(err, RP_E_INVALID, "a mail of %zu bytes is over the %u-byte limit", len,
                            (unsigned)RP_MAIL_MAX_BYTES);
    size_t start = mail_start(data, len);
    if (start >= len)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: empty, not a mail", start);
    if (field_name(data + start, len - start) == 0)
        return rp_error_set(err, RP_E_INVALID,
                            "byte %zu: not a mail: the first line is no header field", start);
    pthread_once(&gmime_once, gmime_setup);

    struct alert_build b;
    memset(&b, 0, sizeof(b));
    struct mctx *c = &b.c;
    c->err = err;
    buf_init(&c->text, RP_FIELD_MAX_BYTES);
    buf_init(&c->html, RP_FIELD_MAX_BYTES);
    /* any byte may become 3 bytes of UTF-8 (Windows-1252 to UTF-8) */
    buf_init(&c->scratch, 3 * (size_t)RP_MAIL_MAX_BYTES + 16);
    buf_init(&c->canon, RP_FIELD_MAX_BYTES);
    buf_init(&c->canon2, RP_FIELD_MAX_BYTES);
    buf_init(&c->key, RP_MAIL_URL_MAX_BYTES + 1);
    buf_init(&c->side_val, RP_MAIL_MAX_BYTES);
    buf_init(&c->tmp, RP_FIELD_MAX_BYTES + 64);
    c->urls = json_array();
    c->url_set = json_object();
    c->links = json_array();
    c->link_set = json_object();
    c->attachments = json_array();
    c->memo = json_object();
    buf_init(&c->fwd_comment, MAIL_COMMENT_MAX);
    b.email = json_object();
    b.received = json_array();
    b.extra = json_object();
    b.truncated = json_object();
    b.reasons = json_array();
    /* the working buffers start at the size most mails need, not at zero */
    rp_status st = buf_reserve(&c->tmp, 4096);
    if (st == RP_OK)
        st = buf_reserve(&c->canon2, 1024);
    if (st == RP_OK)
        st = buf_reserve(&c->key, 1024);
    if (st == RP_OK)
        st = buf_reserve(&c->scratch, 64u * 1024u);
    if (!c->urls || !c->url_set || !c->links || !c->link_set || !c->attachments || !c->memo ||
        !b.email || !b.received || !b.extra || !b.truncated || !b.reasons)
        st = RP_E_NOMEM;
    buf_init(&b.filtered, RP_MAIL_MAX_BYTES);
    if (st == RP_OK)
        st = buf_reserve(&b.filtered, len - start);
    if (st == RP_OK)
        st = outer_filtered(c, data + start, len - start, &b.filtered);
    if (st == RP_OK) {
        bool f = b.filtered.len > 0;
        b.outer = parse_bytes(f ? b.filtered.data : data + start, f ? b.filtered.len : len - start,
                              &b.borrowed);
        c->outer = b.outer;
        if (b.outer == NULL)
            st = rp_error_set(err, RP_E_INVALID, "byte %zu: GMime read no message", start);
    }
    if (st == RP_OK)
        st = build(&b, len, alert);
    if (st == RP_E_NOMEM)
        rp_error_set(err, st, "out of memory reading a mail");

    if (b.att.msg != NULL)
        g_object_unref(b.att.msg);
    if (b.outer != NULL)
        g_object_unref(b.outer);
    if (b.borrowed != NULL) /* after every object parsed from it */
        (void)g_byte_array_free(b.borrowed, FALSE);
    buf_fini(&b.filtered); /* after the array that borrowed it */
    json_decref(c->urls);
    json_decref(c->url_set);
    json_decref(c->links);
    json_decref(c->link_set);
    json_decref(c->attachments);
    json_decref(c->memo);
    json_decref(c->fwd);
    buf_fini(&c->fwd_comment);
    json_decref(b.email);
    json_decref(b.received);
    json_decref(b.extra);
    json_decref(b.truncated);
    json_decref(b.reasons);
    buf_fini(&c->text);
    buf_fini(&c->html);
    buf_fini(&c->scratch);
    buf_fini(&c->canon);
    buf_fini(&c->canon2);
    buf_fini(&c->key);
    buf_fini(&c->side_val);
    buf_fini(&c->tmp);
    return st;
}

/* --- detection ---------------------------------------------------------------------------- */

/* True when the first header block (after a byte-order mark, blank lines and
 * an mbox "From " line; within the first 16 KiB and 32 fields) is made of
 * "Name: value" lines and continuations only, and names at least one field only
 * mail has (MAIL_FIELDS): "CEF:0|..." or a JSON key is a name, but no mail's. */
bool mail_detect(const char *data, size_t len)
{
    size_t window = len < 16384 ? len : 16384;
    size_t i = mail_start(data, window);
    int fields = 0;
    bool known = false;
    while (i < window && fields < 32) {
        const char *line = data + i;
        const char *eol = memchr(line, '\n', window - i);
        size_t ll = eol ? (size_t)(eol - line) : window - i;
        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break; /* the end of the header block */
        if (line[0] == ' ' || line[0] == '\t') {
            if (fields == 0)
                return false;
        } else {
            size_t nl = field_name(line, ll);
            if (nl == 0)
                return false;
            fields++;
            known = known || is_mail_field(line, nl);
        }
        if (eol == NULL)
            break;
        i = (size_t)(eol - data) + 1;
    }
    return fields > 0 && known;
}
