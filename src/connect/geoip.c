/* placeholder: being written */
#include "connect/connect_internal.h"

static rp_status geoip_create(const char *instance, json_t *conf, const struct connector_env *env,
                              void **out, struct rp_error *err)
{
    (void)conf;
    (void)env;
    *out = NULL;
    return rp_error_set(err, RP_E_USAGE, "connectors.%s: the geoip module is not built yet",
                        instance);
}

const struct connector_type connector_geoip = {.name = "geoip", .create = geoip_create};
