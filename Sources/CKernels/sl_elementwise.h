// Branch-free float approximations of asin, acos, exp, 2^x and 2^x − 1, and tanh, one element at
// a time.
//
// Written as scalar functions that are always inlined into plain loops, so the compiler
// vectorises them for whatever instruction set the including file targets. No libm calls and no
// float→int conversions: only +, ×, fma (by contraction), sqrt, division, selects and bit casts.
// Polynomial coefficients are weighted-minimax fits made for SphereLab; the comments give each
// fit's interval and its relative error in exact arithmetic, before float rounding (the tests
// check the accuracy reached in float).
#pragma once

#include <stdint.h>
#include <string.h>

#include "sl_constants.h"

#define SL_INLINE static inline __attribute__((always_inline))

// A sqrt that never touches errno, so it maps to the vector square-root instruction.
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define SL_SQRT(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef SL_SQRT
#define SL_SQRT(x) __builtin_sqrtf(x)
#endif

SL_INLINE uint32_t sl_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

SL_INLINE float sl_float(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

SL_INLINE float sl_abs(float x) { return __builtin_fabsf(x); }
SL_INLINE float sl_copysign(float magnitude, float sign) { return __builtin_copysignf(magnitude, sign); }

// x·sign(s) for s != 0, by flipping x's sign bit where s is negative (x keeps its own sign).
SL_INLINE float sl_mulsign(float x, float s) { return sl_float(sl_bits(x) ^ (sl_bits(s) & 0x80000000u)); }

// asin(s) = s + s·z·P(z) with z = s², for s in [0, 0.5]. Fit error 4.8e-9 relative.
SL_INLINE float sl_asin_small(float s, float z) {
    float p = 4.216632620e-02f;
    p = p * z + 2.417950518e-02f;
    p = p * z + 4.547037929e-02f;
    p = p * z + 7.495297492e-02f;
    p = p * z + 1.666675210e-01f;
    return s + (s * z) * p;
}

// asin(a) for a in [0, 1] (NaN above). For a <= 0.5 the polynomial runs on a itself; above, on
// s = sqrt((1 − a)/2) through asin(a) = π/2 − 2·asin(s), which stays accurate as a → 1 (1 − a is
// exact there). *upper says which range was used and *r holds the polynomial's asin(s).
SL_INLINE float sl_asin_nonnegative_parts(float a, int *upper, float *r_out) {
    // An integer compare (a >= 0, so bit order is value order) keeps the compare off the two
    // floating-point pipes that every multiply and fma of this code competes for.
    const int big = (int32_t)sl_bits(a) > (int32_t)sl_bits(0.5f);
    const float z = big ? 0.5f - 0.5f * a : a * a;
    // One sqrt serves both ranges: sqrt(fl(a·a)) == a for every float a in [1.1e-19, 0.5]
    // (checked exhaustively); below that, where a·a leaves the normal range, it stays within 4e-23.
    const float r = sl_asin_small(SL_SQRT(z), z);
    *upper = big;
    *r_out = r;
    // π/2 − 2r with the tail of π/2 added first, so it is not rounded away.
    return big ? SL_PIO2_HI + (SL_PIO2_LO - 2.0f * r) : r;
}

// scale·asin(a) for a in [0, 1], for callers that only want asin scaled (g of the linear operator,
// the sigmoid's exponent). asin(a) is r or π/2 − 2r, so the scale folds into the two coefficients
// of that affine map (scale_pio2 = scale·π/2, rounded once by the caller): one fma instead of the
// fma, add and multiply of computing asin(a) first.
SL_INLINE float sl_scaled_asin_nonnegative(float a, float scale_pio2, float scale) {
    int big;
    float r;
    (void)sl_asin_nonnegative_parts(a, &big, &r);
    return (big ? scale_pio2 : 0.0f) + (big ? -2.0f * scale : scale) * r;
}

// asin(x) on [−1, 1]; NaN outside.
SL_INLINE float sl_asin_el(float x) {
    int big;
    float r;
    return sl_copysign(sl_asin_nonnegative_parts(sl_abs(x), &big, &r), x);
}

// acos(x) on [−1, 1]; NaN outside.
SL_INLINE float sl_acos_el(float x) {
    int big;
    float r;
    (void)sl_asin_nonnegative_parts(sl_abs(x), &big, &r);
    // acos(x) = π/2 − asin(x) below 0.5; above, 2r for x > 0 and π − 2r for x < 0.
    const float lower = SL_PIO2_HI + (SL_PIO2_LO - sl_copysign(r, x));
    const float upper = x > 0.0f ? 2.0f * r : SL_PI_HI + (SL_PI_LO - 2.0f * r);
    return big ? upper : lower;
}

// expm1(r) = r + r²·Q(r) for |r| <= ln2/2. Fit error 1.3e-8 relative.
SL_INLINE float sl_expm1_small(float r) {
    float q = 1.388252247e-03f;
    q = q * r + 8.366513997e-03f;
    q = q * r + 4.166720062e-02f;
    q = q * r + 1.666654348e-01f;
    q = q * r + 4.999999702e-01f;
    return r + (r * r) * q;
}

// x = n·ln2 + r with n integral and |r| <= ln2/2 (Cody–Waite: the head product is exact).
// Valid for |x| < 2^21; returns r and n (as a float and as an int).
SL_INLINE float sl_exp_reduce(float x, float *n_out, int32_t *ni_out) {
    float t = x * SL_LOG2E + SL_ROUND_MAGIC;
    float n = t - SL_ROUND_MAGIC;
    *ni_out = (int32_t)(sl_bits(t) - sl_bits(SL_ROUND_MAGIC));
    *n_out = n;
    float r = x - n * SL_LN2_HI;
    return r - n * SL_LN2_LO;
}

// 2^n for n in [−126, 127], built from its exponent bits.
SL_INLINE float sl_pow2i(int32_t n) { return sl_float((uint32_t)(n + 127) << 23); }

// 2^f − 1 = f·P(f) for |f| <= 0.5. Fit error 1.1e-8 relative.
SL_INLINE float sl_exp2m1_small(float f) {
    float p = 1.540351223e-04f;
    p = p * f + 1.339073526e-03f;
    p = p * f + 9.618237615e-03f;
    p = p * f + 5.550357327e-02f;
    p = p * f + 2.402264923e-01f;
    p = p * f + 6.931471825e-01f;
    return f * p;
}

// For x in [−126, 0]: e = 2^x and em = 2^x − 1, each within a few ulp (relative).
// Base 2 lets callers fold log2(e) into a per-row constant, and the reduction x = n + f is exact,
// so this costs fewer multiplies than exp itself. em is what keeps tanh(z) = −em/(2 + em)
// accurate for small z, and e keeps sech² z = 4e/(1 + e)² accurate (not 1 − tanh², which is 0 in
// float for z > 9) for large z.
SL_INLINE void sl_exp2_exp2m1_nonpositive(float x, float *e, float *em) {
    const float t = x + SL_ROUND_MAGIC;
    const float n = t - SL_ROUND_MAGIC;
    const int32_t ni = (int32_t)(sl_bits(t) - sl_bits(SL_ROUND_MAGIC));
    const float p = sl_exp2m1_small(x - n);
    const float scale = sl_pow2i(ni);
    *em = scale * p + (scale - 1.0f);
    *e = scale * p + scale;
}

// exp(x) for every float x: +inf above ~88.72, gradual underflow below ~−87.3, NaN stays NaN.
SL_INLINE float sl_exp_el(float x) {
    // Inputs beyond these already give inf / 0; clamping keeps n inside the range handled below.
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 89.0f ? 89.0f : xc;
    float n;
    int32_t ni;
    float r = sl_exp_reduce(xc, &n, &ni);
    float p = sl_expm1_small(r);
    // n reaches −150 … 128, outside one exponent field: apply 2^n as two normal halves.
    int32_t n1 = ni >> 1;
    float s1 = sl_pow2i(n1);
    float s2 = sl_pow2i(ni - n1);
    return (p * s1 + s1) * s2;
}

// tanh(x) for every float x, accurate relative to |tanh x| (also near 0).
SL_INLINE float sl_tanh_el(float x) {
    // The clamp keeps 2^m a normal number; it acts past |x| = 43.6, where tanh is long since 1.
    float m = sl_abs(x) * (-2.0f * SL_LOG2E);
    m = m < -126.0f ? -126.0f : m;
    float e, em;
    sl_exp2_exp2m1_nonpositive(m, &e, &em);
    return sl_copysign(-em / (2.0f + em), x);
}
