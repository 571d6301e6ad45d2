/*
 * geoip.c: the `geoip` connector module (connector.h): where an address is.
 *
 *   connectors:
 *     geo:
 *       type: geoip
 *       database: /usr/share/libloc-location/location.db   # the default
 *       maxmind: /var/lib/GeoIP/GeoLite2-City.mmdb          # optional, city level
 *
 * One action, INSTANCE.lookup (effect read): {ip} -> {ip, reserved, network,
 * country_code, country, asn, as_name, anycast, source} and, with a MaxMind
 * database, city, latitude and longitude. The country and the AS come from
 * IPFire's libloc database, which Debian ships (package libloc-database); a
 * MaxMind City database adds the city. Addresses of the private, loopback,
 * link-local, documentation, multicast and other special-purpose ranges
 * (RFC 6890) are answered {reserved: true, range} without a lookup: no
 * database knows where they are. An address that is not an IPv4 or IPv6
 * address fails the step with the reason.
 *
 * Both databases are opened once per instance at load (memory-mapped) and only
 * read afterwards. A lookup is a few tree steps in memory, so it completes
 * inside start() on the engine's loop thread; nothing here blocks.
 */
#include "connect/connect_internal.h"

#include "engine/action.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libloc/as.h>
#include <libloc/country.h>
#include <libloc/database.h>
#include <libloc/libloc.h>
#include <libloc/network.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEOIP_DEFAULT_DB "/usr/share/libloc-location/location.db"

/* The longest text an address can be (IPv6 with an embedded IPv4), with room
 * to notice a longer input. */
#define GEOIP_IP_TEXT_MAX 64

struct geoip {
    char *action_name; /* "INSTANCE.lookup" */
    struct action_def def;
    struct loc_ctx *ctx;
    struct loc_database *db;
    FILE *dbf;
    bool have_mmdb;
    MMDB_s mmdb;
};

/* --- special-purpose ranges ------------------------------------------------------------- */

struct reserved_range {
    int family;
    const char *prefix; /* the network's first address */
    unsigned bits;
    const char *what;
};

/* RFC 6890 and its updates: the ranges no geolocation applies to. IPv4 ranges
 * are matched on the IPv4 address, IPv6 ones on the 128 bits. */
static const struct reserved_range RESERVED[] = {
    {AF_INET, "0.0.0.0", 8, "0.0.0.0/8 (this network)"},
    {AF_INET, "10.0.0.0", 8, "10.0.0.0/8 (private)"},
    {AF_INET, "100.64.0.0", 10, "100.64.0.0/10 (shared address space, carrier-grade NAT)"},
    {AF_INET, "127.0.0.0", 8, "127.0.0.0/8 (loopback)"},
    {AF_INET, "169.254.0.0", 16, "169.254.0.0/16 (link-local)"},
    {AF_INET, "172.16.0.0", 12, "172.16.0.0/12 (private)"},
    {AF_INET, "192.0.0.0", 24, "192.0.0.0/24 (IETF protocol assignments)"},
    {AF_INET, "192.0.2.0", 24, "192.0.2.0/24 (documentation, TEST-NET-1)"},
    {AF_INET, "192.168.0.0", 16, "192.168.0.0/16 (private)"},
    {AF_INET, "198.18.0.0", 15, "198.18.0.0/15 (benchmarking)"},
    {AF_INET, "198.51.100.0", 24, "198.51.100.0/24 (documentation, TEST-NET-2)"},
    {AF_INET, "203.0.113.0", 24, "203.0.113.0/24 (documentation, TEST-NET-3)"},
    {AF_INET, "224.0.0.0", 4, "224.0.0.0/4 (multicast)"},
    {AF_INET, "240.0.0.0", 4, "240.0.0.0/4 (reserved, and broadcast)"},
    {AF_INET6, "::", 128, "::/128 (unspecified)"},
    {AF_INET6, "::1", 128, "::1/128 (loopback)"},
    {AF_INET6, "64:ff9b::", 96, "64:ff9b::/96 (NAT64 translation)"},
    {AF_INET6, "64:ff9b:1::", 48, "64:ff9b:1::/48 (local NAT64 translation)"},
    {AF_INET6, "100::", 64, "100::/64 (discard)"},
    {AF_INET6, "2001:db8::", 32, "2001:db8::/32 (documentation)"},
    {AF_INET6, "2001:10::", 28, "2001:10::/28 (ORCHID)"},
    {AF_INET6, "2001:20::", 28, "2001:20::/28 (ORCHIDv2)"},
    {AF_INET6, "fc00::", 7, "fc00::/7 (unique local)"},
    {AF_INET6, "fe80::", 10, "fe80::/10 (link-local)"},
    {AF_INET6, "ff00::", 8, "ff00::/8 (multicast)"},
    {AF_INET6, "::", 8, "::/8 (reserved by the IETF)"},
};

/* Do the first bits of a and b (len bytes each) agree? */
static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* The special-purpose range addr (family AF_INET: 4 bytes; AF_INET6: 16) is
 * in, or NULL. */
static const char *reserved_range(int family, const unsigned char *addr)
{
    for (size_t i = 0; i < sizeof RESERVED / sizeof RESERVED[0]; i++) {
        const struct reserved_range *r = &RESERVED[i];
        if (r->family != family)
            continue;
        unsigned char net[16];
        if (inet_pton(family, r->prefix, net) != 1)
            continue; /* the table is ours: cannot happen */
        if (prefix_match(addr, net, r->bits))
            return r->what;
    }
    return NULL;
}

/* --- a lookup ---------------------------------------------------------------------------- */

/* Sets o[key] to a string, or null when s is NULL or empty. */
static bool set_str(json_t *o, const char *key, const char *s)
{
    return json_object_set_new(o, key, s != NULL && s[0] != '\0' ? json_string(s) : json_null()) ==
           0;
}

/* The country, AS and network of addr from libloc into o. */
static bool libloc_fill(struct geoip *g, const struct in6_addr *addr, json_t *o)
{
    struct loc_network *net = NULL;
    const char *cc = NULL, *cname = NULL, *asname = NULL, *netstr = NULL;
    struct loc_country *country = NULL;
    struct loc_as *as = NULL;
    uint32_t asn = 0;
    bool anycast = false;
    if (loc_database_lookup(g->db, addr, &net) == 0 && net != NULL) {
        netstr = loc_network_str(net);
        cc = loc_network_get_country_code(net);
        asn = loc_network_get_asn(net);
        anycast = loc_network_has_flag(net, LOC_NETWORK_FLAG_ANYCAST) != 0;
        if (cc != NULL && cc[0] != '\0' && loc_database_get_country(g->db, &country, cc) == 0 &&
            country != NULL)
            cname = loc_country_get_name(country);
        if (asn != 0 && loc_database_get_as(g->db, &as, asn) == 0 && as != NULL)
            asname = loc_as_get_name(as);
    }
    bool ok = set_str(o, "network", netstr) && set_str(o, "country_code", cc) &&
              set_str(o, "country", cname) &&
              json_object_set_new(o, "asn", asn != 0 ? json_integer(asn) : json_null()) == 0 &&
              set_str(o, "as_name", asname) &&
              json_object_set_new(o, "anycast", json_boolean(anycast)) == 0;
    if (as != NULL)
        loc_as_unref(as);
    if (country != NULL)
        loc_country_unref(country);
    if (net != NULL)
        loc_network_unref(net);
    return ok;
}

/* City and coordinates from the MaxMind database into o (nothing when the
 * address is not in it); the country too when libloc had none. */
static bool maxmind_fill(struct geoip *g, const char *ip, json_t *o)
{
    int gai = 0, mmerr = 0;
    MMDB_lookup_result_s r = MMDB_lookup_string(&g->mmdb, ip, &gai, &mmerr);
    json_t *city = json_null(), *lat = json_null(), *lon = json_null();
    if (gai == 0 && mmerr == MMDB_SUCCESS && r.found_entry) {
        MMDB_entry_data_s d;
        if (MMDB_get_value(&r.entry, &d, "city", "names", "en", NULL) == MMDB_SUCCESS &&
            d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING) {
            json_decref(city);
            city = json_stringn(d.utf8_string, d.data_size);
        }
        if (MMDB_get_value(&r.entry, &d, "location", "latitude", NULL) == MMDB_SUCCESS &&
            d.has_data && d.type == MMDB_DATA_TYPE_DOUBLE) {
            json_decref(lat);
            lat = json_real(d.double_value);
        }
        if (MMDB_get_value(&r.entry, &d, "location", "longitude", NULL) == MMDB_SUCCESS &&
            d.has_data && d.type == MMDB_DATA_TYPE_DOUBLE) {
            json_decref(lon);
            lon = json_real(d.double_value);
        }
        if (json_is_null(json_object_get(o, "country_code")) &&
            MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS &&
            d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
            json_object_set_new(o, "country_code", json_stringn(d.utf8_string, d.data_size));
    }
    return json_object_set_new(o, "city", city) == 0 &&
           json_object_set_new(o, "latitude", lat) == 0 &&
           json_object_set_new(o, "longitude", lon) == 0;
}

static rp_status lookup_start(struct action_call *call)
{
    struct geoip *g = call->def->data;
    const char *name = call->def->name;
    json_t *p = json_object_get(call->params, "ip");
    const char *ip = json_string_value(p);
    if (ip == NULL) {
        action_fail(call, RP_E_INVALID, "%s: parameter ip (a string) is required", name);
        return RP_OK;
    }
    size_t n = json_string_length(p);
    unsigned char raw[16];
    int family = 0;
    if (n < GEOIP_IP_TEXT_MAX && strlen(ip) == n) {
        if (inet_pton(AF_INET, ip, raw) == 1)
            family = AF_INET;
        else if (inet_pton(AF_INET6, ip, raw) == 1)
            family = AF_INET6;
    }
    if (family == 0) {
        action_fail(call, RP_E_INVALID, "%s: '%.*s' is not an IPv4 or IPv6 address", name,
                    GEOIP_IP_TEXT_MAX, ip);
        return RP_OK;
    }
    /* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address. */
    static const unsigned char MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET6 && memcmp(raw, MAPPED, sizeof MAPPED) == 0) {
        memmove(raw, raw + 12, 4);
        family = AF_INET;
    }
    char canon[INET6_ADDRSTRLEN];
    inet_ntop(family, raw, canon, sizeof canon);
    json_t *o = json_object();
    bool ok = o != NULL && json_object_set_new(o, "ip", json_string(canon)) == 0;
    const char *range = reserved_range(family, raw);
    if (ok && range != NULL) {
        ok = json_object_set_new(o, "reserved", json_true()) == 0 &&
             json_object_set_new(o, "range", json_string(range)) == 0 &&
             json_object_set_new(o, "source", json_string("builtin")) == 0;
    } else if (ok) {
        struct in6_addr a;
        if (family == AF_INET) { /* libloc keeps IPv4 as IPv4-mapped IPv6 */
            memcpy(a.s6_addr, MAPPED, sizeof MAPPED);
            memcpy(a.s6_addr + 12, raw, 4);
        } else {
            memcpy(a.s6_addr, raw, 16);
        }
        ok = json_object_set_new(o, "reserved", json_false()) == 0 && libloc_fill(g, &a, o);
        if (ok && g->have_mmdb)
            ok = maxmind_fill(g, canon, o);
        ok = ok && json_object_set_new(
                       o, "source", json_string(g->have_mmdb ? "libloc+maxmind" : "libloc")) == 0;
    }
    if (!ok) {
        json_decref(o);
        return RP_E_NOMEM;
    }
    action_succeed(call, o);
    return RP_OK;
}

/* --- the module -------------------------------------------------------------------------- */

static void geoip_destroy(void *inst)
{
    struct geoip *g = inst;
    if (g == NULL)
        return;
    if (g->have_mmdb)
        MMDB_close(&g->mmdb);
    if (g->db != NULL)
        loc_database_unref(g->db);
    if (g->dbf != NULL)
        fclose(g->dbf);
    if (g->ctx != NULL)
        loc_unref(g->ctx);
    free(g->action_name);
    free(g);
}

/* The value of an optional path key: NULL when absent; false when it is not
 * a non-empty string (err set). */
static bool conf_path(const char *instance, json_t *conf, const char *key, const char **out,
                      struct rp_error *err)
{
    json_t *v = json_object_get(conf, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        rp_error_set(err, RP_E_INVALID, "connectors.%s.%s: expected a file path", instance, key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static rp_status geoip_create(const char *instance, json_t *conf, const struct connector_env *env,
                              void **out, struct rp_error *err)
{
    (void)env;
    *out = NULL;
    static const char *const KEYS[] = {"type", "database", "maxmind", NULL};
    rp_status kst = connector_keys_check(instance, conf, KEYS, err);
    if (kst != RP_OK)
        return kst;
    const char *dbpath = NULL, *mmpath = NULL;
    if (!conf_path(instance, conf, "database", &dbpath, err) ||
        !conf_path(instance, conf, "maxmind", &mmpath, err))
        return RP_E_INVALID;
    if (dbpath == NULL)
        dbpath = GEOIP_DEFAULT_DB;

    rp_status st = RP_OK;
    struct geoip *g = calloc(1, sizeof *g);
    if (g == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    size_t an = strlen(instance) + sizeof ".lookup";
    g->action_name = malloc(an);
    if (g->action_name == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(g->action_name, an, "%s.lookup", instance);
    if (loc_new(&g->ctx) != 0) {
        st = rp_error_set(err, RP_E_NOMEM, "connectors.%s: libloc failed to initialise", instance);
        goto fail;
    }
    g->dbf = fopen(dbpath, "re");
    if (g->dbf == NULL) {
        st = rp_error_set(err, RP_E_IO,
                          "connectors.%s.database: cannot open %s: %s (Debian: apt install "
                          "libloc-database)",
                          instance, dbpath, strerror(errno));
        goto fail;
    }
    if (loc_database_new(g->ctx, &g->db, g->dbf) != 0 || g->db == NULL) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.database: %s is not a libloc database",
                          instance, dbpath);
        goto fail;
    }
    if (mmpath != NULL) {
        int rc = MMDB_open(mmpath, MMDB_MODE_MMAP, &g->mmdb);
        if (rc != MMDB_SUCCESS) {
            st = rp_error_set(err, rc == MMDB_IO_ERROR ? RP_E_IO : RP_E_INVALID,
                              "connectors.%s.maxmind: %s: %s", instance, mmpath, MMDB_strerror(rc));
            goto fail;
        }
        g->have_mmdb = true;
    }
    g->def = (struct action_def){
        .name = g->action_name,
        .effect = ACTION_EFFECT_READ,
        .honours_keys = true, /* a read: repeating it is harmless */
        .help = "country, AS (and city with MaxMind) of {ip}",
        .start = lookup_start,
        .cancel = NULL,
        .data = g,
    };
    st = action_register(&g->def);
    if (st != RP_OK) {
        rp_error_set(err, st, "connectors.%s: cannot register %s (%s)", instance, g->action_name,
                     st == RP_E_EXISTS ? "the name is taken" : "too many actions");
        goto fail;
    }
    *out = g;
    return RP_OK;
fail:
    geoip_destroy(g);
    return st;
}

const struct connector_type connector_geoip = {
    .name = "geoip",
    .create = geoip_create,
    .start_sources = NULL,
    .stop = NULL,
    .destroy = geoip_destroy,
};
