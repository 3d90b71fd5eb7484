// Backward of 2×2 max pooling without stored indices (sl_maxpool2x2_backward in CKernels.h).
// Each window's winner is found again with sl_maxpool2x2's comparisons, so the same tap wins
// (ties included), and the window is written whole: the winner gets 0 + dy (the bits of a
// cleared buffer plus the gradient), the other taps 0. Windows do not overlap and cover every
// pixel, so dx needs no clearing pass.
//
// Full windows run four at a time in vector selects; the rest of a row, and an odd last column
// or row (an edge window that repeats its last tap), take the scalar path, which writes the
// repeated tap twice, the winner last.
#pragma once

#include "sl_elementwise.h"
#if defined(__SSE2__)
#include <immintrin.h>
#endif

// g where `keep`, else +0: a bit mask, so neither the vector loop nor its scalar tail branches on
// the random signs of activations.
SL_INLINE float sl_keep_if(float g, int keep) { return sl_float(sl_bits(g) & (0u - (uint32_t)keep)); }

// A tap's value: x itself, or a BatchNorm's output rebuilt from its input x, x·s + t rounded
// apart (BatchNorm2D.scaleAndShift), then max(·, 0) when relu (a non-positive or NaN value
// becomes +0).
SL_INLINE float sl_pool_tap(float v, float s, float t, int affine, int relu) {
#pragma clang fp contract(off)
    if (!affine) return v;
    const float y = v * s + t;
    return relu ? sl_keep_if(y, y > 0.0f) : y;
}

// One output row's full windows, ox in [0, n): rows a (top) and b (bottom) of the input. Rows
// are short (14, 7, 3 windows in the standard networks), so four windows per step, in SSE
// (baseline x86-64) selects and masks: no branch on the random signs of activations. The
// product and the sum of a rebuilt tap are separate instructions, rounded apart.
SL_INLINE int sl_pool_backward_full4(const float *a, const float *b, const float *g, float *da, float *db, int n,
                                     float s, float t, int affine, int relu) {
    int ox = 0;
#if defined(__SSE2__)
    const __m128 vs = _mm_set1_ps(s), vt = _mm_set1_ps(t), zero = _mm_setzero_ps();
    for (; ox + 4 <= n; ox += 4) {
        const __m128 a0 = _mm_loadu_ps(a + 2 * ox), a1 = _mm_loadu_ps(a + 2 * ox + 4);
        const __m128 b0 = _mm_loadu_ps(b + 2 * ox), b1 = _mm_loadu_ps(b + 2 * ox + 4);
        __m128 va = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)), vb = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
        __m128 vc = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), vd = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
        if (affine) {
            va = _mm_add_ps(_mm_mul_ps(va, vs), vt); vb = _mm_add_ps(_mm_mul_ps(vb, vs), vt);
            vc = _mm_add_ps(_mm_mul_ps(vc, vs), vt); vd = _mm_add_ps(_mm_mul_ps(vd, vs), vt);
            if (relu) {
                va = _mm_and_ps(va, _mm_cmpgt_ps(va, zero)); vb = _mm_and_ps(vb, _mm_cmpgt_ps(vb, zero));
                vc = _mm_and_ps(vc, _mm_cmpgt_ps(vc, zero)); vd = _mm_and_ps(vd, _mm_cmpgt_ps(vd, zero));
            }
        }
        const __m128 b_wins = _mm_cmpgt_ps(vb, va), d_wins = _mm_cmpgt_ps(vd, vc);
        const __m128 v1 = _mm_or_ps(_mm_and_ps(b_wins, vb), _mm_andnot_ps(b_wins, va));
        const __m128 v2 = _mm_or_ps(_mm_and_ps(d_wins, vd), _mm_andnot_ps(d_wins, vc));
        const __m128 second = _mm_cmpgt_ps(v2, v1);
        const __m128 gz = _mm_add_ps(zero, _mm_loadu_ps(g + ox));
        const __m128 top = _mm_andnot_ps(second, gz), bottom = _mm_and_ps(second, gz);
        const __m128 ga = _mm_andnot_ps(b_wins, top), gb = _mm_and_ps(b_wins, top);
        const __m128 gc = _mm_andnot_ps(d_wins, bottom), gd = _mm_and_ps(d_wins, bottom);
        _mm_storeu_ps(da + 2 * ox, _mm_unpacklo_ps(ga, gb));
        _mm_storeu_ps(da + 2 * ox + 4, _mm_unpackhi_ps(ga, gb));
        _mm_storeu_ps(db + 2 * ox, _mm_unpacklo_ps(gc, gd));
        _mm_storeu_ps(db + 2 * ox + 4, _mm_unpackhi_ps(gc, gd));
    }
#endif
    return ox;
}

// The general window (edges): taps at flat indices ia, ib, ic, id, some of them equal.
SL_INLINE void sl_pool_backward_window(const float *x, long ia, long ib, long ic, long id, float gv, float s, float t,
                                       int affine, int relu, float *dx) {
    const float va = sl_pool_tap(x[ia], s, t, affine, relu), vb = sl_pool_tap(x[ib], s, t, affine, relu);
    const float vc = sl_pool_tap(x[ic], s, t, affine, relu), vd = sl_pool_tap(x[id], s, t, affine, relu);
    const int b_wins = vb > va, d_wins = vd > vc;
    const float v1 = b_wins ? vb : va, v2 = d_wins ? vd : vc;
    const long i1 = b_wins ? ib : ia, i2 = d_wins ? id : ic;
    const long winner = v2 > v1 ? i2 : i1;
    dx[ia] = 0.0f; dx[ib] = 0.0f; dx[ic] = 0.0f; dx[id] = 0.0f;
    dx[winner] = 0.0f + gv;
}

SL_INLINE void sl_pool_backward_planes(const float *x, int h, int w, long p0, long p1, long batch, const float *scale,
                                       const float *shift, int relu, const float *dy, float *dx, int affine) {
    const int oh = (h + 1) / 2, ow = (w + 1) / 2, full_rows = h / 2, full_cols = w / 2;
    for (long p = p0; p < p1; p++) {
        const long in_base = p * h * w, out_base = p * oh * ow;
        const float s = affine ? scale[p / batch] : 1.0f, t = affine ? shift[p / batch] : 0.0f;
        for (int oy = 0; oy < oh; oy++) {
            const int y0 = 2 * oy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
            const long r0 = in_base + (long)y0 * w, r1 = in_base + (long)y1 * w;
            const float *g = dy + out_base + (long)oy * ow;
            const int ox0 = oy < full_rows ? sl_pool_backward_full4(x + r0, x + r1, g, dx + r0, dx + r1, full_cols, s, t, affine, relu) : 0;
            int ox = ox0;
            for (; ox < ow; ox++) {
                const int x0 = 2 * ox, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
                sl_pool_backward_window(x, r0 + x0, r0 + x1, r1 + x0, r1 + x1, g[ox], s, t, affine, relu, dx);
            }
        }
    }
}

static void sl_maxpool2x2_backward_impl(const float *x, int h, int w, long p0, long p1, long batch, const float *scale,
                                        const float *shift, int relu, const float *dy, float *dx) {
    // One instantiation per case, so the loops carry no per-tap tests.
    if (scale != 0 && relu) {
        sl_pool_backward_planes(x, h, w, p0, p1, batch, scale, shift, 1, dy, dx, 1);
    } else if (scale != 0) {
        sl_pool_backward_planes(x, h, w, p0, p1, batch, scale, shift, 0, dy, dx, 1);
    } else {
        sl_pool_backward_planes(x, h, w, p0, p1, batch, scale, shift, 0, dy, dx, 0);
    }
}
