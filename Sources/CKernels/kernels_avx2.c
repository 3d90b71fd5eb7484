// The kernels compiled a second time for x86-64 CPUs with AVX2 and FMA. Only called after the
// dispatcher has checked the CPU (sl_kernels_table), so the rest of the build stays baseline.
#include <math.h>
#include <stddef.h>

#include "sl_tables.h"

#if defined(__x86_64__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#define SL_KERNEL_TABLE sl_kernel_table_avx2
#include "sl_kernels_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
