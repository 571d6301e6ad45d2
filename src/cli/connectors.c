/*
 * connectors.c: loading the configuration's connectors for the commands that
 * run playbooks (serve, run, plan). Main thread, before any loop starts.
 */
#include "cli/cli.h"

#include "connect/connector.h"
#include "connect/secrets.h"
#include "core/log.h"
#include "engine/action.h"

#include <stdlib.h>

bool cli_connectors_load(const struct config *cfg, const char *db_path, struct secrets **secrets,
                         struct connectors **out)
{
    *secrets = NULL;
    *out = NULL;
    action_registry_init();
    if (cfg->connectors == NULL || json_object_size(cfg->connectors) == 0)
        return true;
    /* The secret store opens only when a key exists: a configuration whose
     * connectors name no secret needs none, and one that does gets the
     * store's own reason from connector_string. */
    struct rp_error err;
    if (secrets_open(db_path, cfg->secret_key_file, false, secrets, &err) != RP_OK) {
        log_warn("secrets.unavailable",
                 "reason=\"%s\" effect=\"connectors that name a secret will not load\"", err.msg);
        *secrets = NULL;
    }
    struct connector_env env = {.secrets = *secrets,
                                .packs_dir = cfg->packs_dir != NULL ? cfg->packs_dir : "packs"};
    if (connectors_load(cfg->connectors, &env, out, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        secrets_close(*secrets);
        *secrets = NULL;
        return false;
    }
    return true;
}
