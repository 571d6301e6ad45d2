/*
 * connect_internal.h: the modules connector.c knows (each file of
 * src/connect/ that implements a module defines one of these), and what the
 * mail modules (smtp.c, imap.c) share about reaching their server through
 * libcurl (implemented in connector.c).
 */
#ifndef RP_CONNECT_CONNECT_INTERNAL_H
#define RP_CONNECT_CONNECT_INTERNAL_H

#include "connect/connector.h"

#include <curl/curl.h>

extern const struct connector_type connector_pack;  /* pack.c: vendor packs over http */
extern const struct connector_type connector_http;  /* http.c: templated requests */
extern const struct connector_type connector_smtp;  /* smtp.c */
extern const struct connector_type connector_imap;  /* imap.c */
extern const struct connector_type connector_ldap;  /* ldap.c */
extern const struct connector_type connector_exec;  /* exec.c */
extern const struct connector_type connector_lua;   /* lua_action.c */
extern const struct connector_type connector_geoip; /* geoip.c */
extern const struct connector_type connector_dns;   /* dns.c */

/* How smtp.c and imap.c reach their server: the keys starttls, tls_verify,
 * ca_file, connect_timeout and timeout of their section. Part of the
 * instance, which frees ca_file. */
struct connector_mail_link {
    char *ca_file; /* NULL: the system's CAs; read by the module (connector_string) */
    bool starttls; /* require STARTTLS on a plain smtp:// or imap:// url */
    bool verify;   /* check the server's certificate (false for test servers only) */
    long connect_timeout_ms;
    long timeout_ms;
};

/* Reads starttls (default false), tls_verify (true), connect_timeout
 * (RP_MAIL_CONNECT_TIMEOUT_S) and timeout (RP_MAIL_TIMEOUT_S) of conf into l,
 * in that order; the timeouts within d's bounds, a null value an error. err as
 * connector_bool and connector_duration say. Main thread. */
rp_status connector_mail_link_read(const char *instance, json_t *conf,
                                   const struct connector_duration_spec *d,
                                   struct connector_mail_link *l,
                                   struct rp_error *err) RP_MUST_CHECK;

/* Puts l on handle c with the protocols curl may speak ("smtp,smtps") and
 * errbuf (CURL_ERROR_SIZE bytes) for curl's reason; no signals, for the
 * thread pool. Any thread; l is only read. */
void connector_mail_link_apply(const struct connector_mail_link *l, CURL *c, const char *protocols,
                               char *errbuf);

#endif
