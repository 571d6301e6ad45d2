/*
 * connect_internal.h: the modules connector.c knows. Each file of
 * src/connect/ that implements a module defines one of these.
 */
#ifndef RP_CONNECT_CONNECT_INTERNAL_H
#define RP_CONNECT_CONNECT_INTERNAL_H

#include "connect/connector.h"

extern const struct connector_type connector_pack;  /* pack.c: vendor packs over http */
extern const struct connector_type connector_http;  /* http.c: templated requests */
extern const struct connector_type connector_smtp;  /* smtp.c */
extern const struct connector_type connector_imap;  /* imap.c */
extern const struct connector_type connector_ldap;  /* ldap.c */
extern const struct connector_type connector_exec;  /* exec.c */
extern const struct connector_type connector_lua;   /* lua_action.c */
extern const struct connector_type connector_geoip; /* geoip.c */
extern const struct connector_type connector_dns;   /* dns.c */

#endif
