/*
 * entity.h -- the entity module's interface to later modules (entity
 * layer).  The public functions (dt_entity_*, dt_log_*) are declared in
 * include/datolite.h; this header holds the handle magic words and the
 * limits the module documents.
 */
#ifndef EN_ENTITY_H
#define EN_ENTITY_H

#include "datolite.h"

#define DT_MAGIC_ENTITY 0x6474656eu /* "dten" */
#define DT_MAGIC_LOG    0x64746c67u /* "dtlg" */

/* Components nest at most this deep in dt_entity_touch. */
#define EN_TOUCH_MAX_DEPTH 64

#endif
