// Floating-point constants shared by the fast kernels and their reference twins.
#pragma once

// Clamp bound for c: the float nearest 1 − 1e-6 (0.99999898672). Shared with the references so
// both sides clamp, and detect clamping, at exactly the same value.
#define SL_COS_MAX (1.0f - 1e-6f)

// π/2 and π split into a float head and the rounding error of that head, so that sums such as
// π − 2r keep the digits lost by rounding π to float (used where the result is near π).
#define SL_PIO2_HI 1.5707963705e+00f
#define SL_PIO2_LO (-4.3711388287e-08f)
#define SL_PI_HI 3.1415927410e+00f
#define SL_PI_LO (-8.7422776573e-08f)
#define SL_TWO_OVER_PI 6.3661974669e-01f

// ln 2 split so that n·SL_LN2_HI is exact for |n| < 256 (the head has 16 significant bits).
#define SL_LN2_HI 0.693145751953125f
#define SL_LN2_LO 1.4286067653e-06f
#define SL_LOG2E 1.4426950216e+00f

// 1.5·2^23: adding it to a float of magnitude < 2^22 rounds to an integer that then sits in the
// low mantissa bits, giving round-to-nearest without a float→int conversion (which would be
// undefined for NaN and unvectorisable on baseline x86-64 in some forms).
#define SL_ROUND_MAGIC 12582912.0f
