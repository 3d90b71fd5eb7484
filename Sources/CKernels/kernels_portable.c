// The kernels for the build's baseline instruction set (SSE2 on x86-64, NEON on arm64).
#include <math.h>
#include <stddef.h>

#include "sl_tables.h"

#define SL_KERNEL_TABLE sl_kernel_table_portable
#include "sl_kernels_body.h"
