/*
 * cacao_internal.h: what cacao_import.c and cacao_export.c share: the name of
 * Riposte's CACAO extension and the identifier of its definition.
 */
#ifndef RP_PLAYBOOK_CACAO_INTERNAL_H
#define RP_PLAYBOOK_CACAO_INTERNAL_H

/* The extension's definition id is "extension-definition--" + the UUIDv5 of
 * this name; steps carry the original Riposte step under that key in
 * step_extensions, the playbook its own fields in playbook_extensions. */
#define CACAO_EXT_NAME "riposte-playbook"

/* "extension-definition--" + 36 + NUL */
#define CACAO_EXT_ID_LEN 59

/* Fills out with the extension definition's id. */
void cacao_ext_id(char out[CACAO_EXT_ID_LEN]);

/* The name given to nested lists' terminal no-op steps and to variables: the
 * Riposte variable of the CACAO variable `__name__` is `name`. */

#endif
