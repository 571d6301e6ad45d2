/*
 * expr.h: the expressions of playbooks. `when:` conditions, `switch:` and
 * `for_each:` values and the `{{ … }}` parts of templates are Lua 5.4
 * expressions evaluated in a sandbox (docs/expressions.md).
 *
 * The sandbox: the globals are `alert`, `case`, `steps`, `vars`, `inputs`,
 * `item` and `index` (inside for_each), and the helper table `fn` (string,
 * time, IOC and JSON helpers), plus Lua's string, table, math and utf8
 * libraries and the harmless base functions (type, tostring, tonumber, pairs,
 * ipairs, select, next, error, pcall, assert). There is no io, os, package,
 * debug, require, load, loadstring, dofile, collectgarbage, setmetatable on
 * strings, or bytecode: chunks are compiled in text mode only. Every
 * evaluation runs under an instruction limit (RP_EXPR_INSTRUCTIONS_MAX) and a
 * memory limit (RP_EXPR_MEMORY_MAX); passing either is an error, not a crash.
 *
 * JSON reaches Lua as a lazy view: `alert.host.name` walks the jansson tree
 * one key at a time; nothing is copied but the scalars read. Arrays are
 * 1-based as Lua expects; `#alert.observables` is the array's size; JSON null
 * reads as nil. A value returned to the engine is converted back to JSON (a
 * view returns the very json_t it wraps).
 *
 * Templates: a string without `{{` is a literal. A string that is exactly one
 * `{{ expr }}` (spaces around allowed) yields the expression's value with its
 * type (a number stays a number, a table becomes JSON). Otherwise each part is
 * rendered as text (nil as "", tables as compact JSON) and the parts joined.
 *
 * Threads: a struct expr_env is one Lua state and belongs to one thread; the
 * engine's loop has one, each worker its own. Compiled expressions are cached
 * inside the env by their source text (RP_EXPR_CACHE_MAX entries).
 *
 * Errors say what failed and quote the expression: `expression "steps.x.y >":
 * [expr]:1: unexpected symbol near <eof>`. The engine prefixes the playbook
 * and step.
 */
#ifndef RP_EXPR_EXPR_H
#define RP_EXPR_EXPR_H

#include "core/status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct expr_env;

/* The globals of one evaluation. Every pointer is borrowed for the call and may
 * be NULL (the global is nil). */
struct expr_scope {
    json_t *alert;
    json_t *case_; /* the global `case` */
    json_t *steps; /* object: step id -> that step's output */
    json_t *vars;
    json_t *inputs;
    json_t *item;  /* for_each: the current element */
    json_t *index; /* for_each: its 1-based position (an integer) */
};

/* A new sandboxed state. The caller owns *out. */
rp_status expr_env_new(struct expr_env **out, struct rp_error *err) RP_MUST_CHECK;

/* Accepts NULL. */
void expr_env_free(struct expr_env *env);

/* Compiles one expression and reports a syntax error; does not run it. */
rp_status expr_check(struct expr_env *env, const char *src, struct rp_error *err) RP_MUST_CHECK;

/* Checks every {{ }} part of a template (an unclosed `{{` is an error too). */
rp_status expr_template_check(struct expr_env *env, const char *tmpl,
                              struct rp_error *err) RP_MUST_CHECK;

/* True when s contains a template part. */
bool expr_is_template(const char *s);

/* Evaluates an expression; *out is a new reference (json null for nil). */
rp_status expr_eval(struct expr_env *env, const char *src, const struct expr_scope *scope,
                    json_t **out, struct rp_error *err) RP_MUST_CHECK;

/* Evaluates a condition: Lua truth (only nil and false are false). */
rp_status expr_eval_bool(struct expr_env *env, const char *src, const struct expr_scope *scope,
                         bool *out, struct rp_error *err) RP_MUST_CHECK;

/* Renders one template string; *out is a new reference (see above for types). */
rp_status expr_render(struct expr_env *env, const char *tmpl, const struct expr_scope *scope,
                      json_t **out, struct rp_error *err) RP_MUST_CHECK;

/* Renders every string inside a JSON value (objects and arrays, recursively; keys
 * are not templates); other values are kept. *out is a new value the caller
 * owns; in is not changed. */
rp_status expr_render_json(struct expr_env *env, json_t *in, const struct expr_scope *scope,
                           json_t **out, struct rp_error *err) RP_MUST_CHECK;

/* Checks every template inside a JSON value (for the loader). */
rp_status expr_render_json_check(struct expr_env *env, json_t *in,
                                 struct rp_error *err) RP_MUST_CHECK;

/* A string of a rendered value as a template part would show it: strings as
 * they are, null as "", numbers and booleans as JSON text, objects and arrays
 * as compact JSON. The caller frees the result; NULL on allocation failure. */
char *expr_value_text(json_t *v);

#endif
