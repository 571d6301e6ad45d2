/*
 * extract.h: indicators of compromise in free text: IPv4, IPv6, domains (a known
 * public suffix, through libpsl), URLs, email addresses, MD5, SHA-1, SHA-256,
 * SHA-512 and CVE ids, refanging the usual defangs (hxxp, [.], (.), [dot], [@],
 * [:], [://]) first. No hits on version numbers (1.2.3.4 in "version 1.2.3.4"
 * is still an IP; "v2.10.1" is not), file names that look like domains
 * ("invoice.pdf": not a public suffix), or hex runs that are not a whole hash.
 * Values are canonical (model/observable.h). Pure; any thread.
 */
#ifndef RP_INTEL_EXTRACT_H
#define RP_INTEL_EXTRACT_H

#include "core/status.h"

#include <stddef.h>

enum ioc_type {
    IOC_IPV4,
    IOC_IPV6,
    IOC_DOMAIN,
    IOC_URL,
    IOC_EMAIL,
    IOC_MD5,
    IOC_SHA1,
    IOC_SHA256,
    IOC_SHA512,
    IOC_CVE,
    IOC_TYPE_COUNT
};

/* "ipv4", ..., "sha512", "cve" */
const char *ioc_type_name(enum ioc_type t);

/* Called once per distinct (type, value) in order of first appearance; offset
 * is where it starts in the text. Return non-zero to stop. */
typedef int (*ioc_fn)(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset);

/* Scans text (len bytes, any bytes; invalid UTF-8 is skipped) and reports each
 * indicator. RP_OK; RP_E_LIMIT after reporting the first RP_IOC_MAX indicators
 * (or when the distinct values fill their bounded set); RP_E_IO when no public
 * suffix list can be loaded; RP_E_NOMEM. */
rp_status extract_iocs(const char *text, size_t len, ioc_fn fn, void *arg) RP_MUST_CHECK;

#endif
