// The compiled copies of the kernels, one per instruction set (defined by sl_kernels_body.h).
#pragma once

#include "CKernels.h"

extern const sl_kernel_table sl_kernel_table_portable;
#if defined(__x86_64__)
extern const sl_kernel_table sl_kernel_table_avx2;
#if defined(__clang__)
extern const sl_kernel_table sl_kernel_table_avx512_compiled;
#define SL_HAS_AVX512_TABLE 1
#endif
#endif
