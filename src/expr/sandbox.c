/* placeholder: being written (compiling stand-ins so the tree links) */
#include "expr/expr.h"

rp_status expr_check(struct expr_env *env, const char *src, struct rp_error *err)
{
    (void)env;
    (void)src;
    (void)err;
    return RP_OK;
}

rp_status expr_template_check(struct expr_env *env, const char *tmpl, struct rp_error *err)
{
    (void)env;
    (void)tmpl;
    (void)err;
    return RP_OK;
}

rp_status expr_render_json_check(struct expr_env *env, json_t *in, struct rp_error *err)
{
    (void)env;
    (void)in;
    (void)err;
    return RP_OK;
}

rp_status expr_env_new(struct expr_env **out, struct rp_error *err)
{
    *out = NULL;
    return rp_error_set(err, RP_E_INVALID, "expressions: not built yet");
}

void expr_env_free(struct expr_env *env)
{
    (void)env;
}
