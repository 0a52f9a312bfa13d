#include "datolite.h"
int dt_header_c99_probe(void) { return DT_OK; }
