#include "datolite.h"
int dt_header_cxx_probe() { return DT_OK; }
