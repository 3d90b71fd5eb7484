// The kernels compiled a third time for x86-64 CPUs with AVX-512 (F, VL, BW, DQ) besides AVX2 and
// FMA, for the Winograd convolutions: the product kernel of the fused blocks (sl_wino_block_gemm)
// takes 16-float vectors there, eight rows by sixteen columns per step, each FMA with its weight
// broadcast from memory. The AVX-512 table (dispatch.c) takes its Winograd entries from this copy
// and every other entry from the AVX2 copy: compiled here, the SphereConv backward's row sums
// came out in another order (the compiler splits them into one partial sum per vector lane). On the reference CPU (whose 512-bit FMAs run at
// the 256-bit pipes' rate) that kernel ran at 117 GFLOP/s on one core, the core's measured FMA
// peak, against 110 for the AVX2 one (every element the same chain of FMAs: the same bits).
// Only called after the dispatcher has checked the CPU and the OS (sl_kernels_table).
#include <math.h>
#include <stddef.h>

#include "sl_tables.h"

#if defined(__x86_64__) && defined(__clang__)

#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq"))), apply_to = function)

#define SL_KERNEL_TABLE sl_kernel_table_avx512_compiled
#define SL_KERNEL_AVX512 1
#include "sl_kernels_body.h"

#pragma clang attribute pop

#endif
