// Loop shape shared by the kernels (included by sl_kernels_body.h, once per instruction set).
//
// Rows go in groups of SL_ROW_GROUP (per-row constants computed once per group), columns in
// panels of SL_PANEL (the panel's inv_x and column accumulators stay in L1/L2 while the group's
// rows stream through), then one plain loop along a row's columns that the compiler vectorises.
#pragma once

#include "sl_elementwise.h"

#define SL_PANEL 4096
#define SL_ROW_GROUP 64

// Element-wise loops may run in place (out == u, du == dout, y == x). The compiler cannot prove
// the pointers distinct, and in place they are not, so its run-time overlap check would send such
// calls down the scalar path. Every iteration reads and writes only its own index, so vector
// execution is safe; this tells the compiler so, and also lets it vectorise the row sums.
// Interleaving four vectors keeps four independent copies of the long polynomial / sqrt /
// division chains in flight; with one, the sigmoid ran at about 60% of the speed.
#if defined(__clang__)
// Instrumented builds (e.g. -fsanitize=undefined) cannot vectorise these loops; they stay correct,
// so the "requested transformation failed" note is noise there.
#pragma clang diagnostic ignored "-Wpass-failed"
#define SL_ELEMENTWISE_LOOP _Pragma("clang loop vectorize(assume_safety) interleave_count(4)")
#elif defined(__GNUC__)
#define SL_ELEMENTWISE_LOOP _Pragma("GCC ivdep")
#else
#define SL_ELEMENTWISE_LOOP
#endif

SL_INLINE int sl_min_int(int a, int b) { return a < b ? a : b; }

SL_INLINE float sl_clamp_cos(float c) {
    // Written so that NaN passes through: a diverged layer must not look like a clamped one.
    c = c > SL_COS_MAX ? SL_COS_MAX : c;
    return c < -SL_COS_MAX ? -SL_COS_MAX : c;
}
