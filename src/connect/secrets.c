/* placeholder: being written */
#include "connect/secrets.h"

#include <stdlib.h>

rp_status secrets_get(struct secrets *s, const char *name, char **value, size_t *len,
                      struct rp_error *err)
{
    (void)s;
    (void)len;
    *value = NULL;
    return rp_error_set(err, RP_E_NOTFOUND, "secret %s: the secret store is not built yet", name);
}

void secrets_value_free(char *value)
{
    free(value);
}
