// The row-wise Winograd F(2×2, 3×3) tile transforms (see winograd.c for the matrices), shared by
// the separate transform passes (winograd.c) and the fused per-block convolution
// (sl_wino_fused.h, compiled once per instruction set). Everything here is static.
#pragma once

#include <stddef.h>
#include <string.h>

#include "CKernels.h"

// The stride-2 tile loops are written with vectors of 8 (and 4) tiles: loads deinterleaved into
// even and odd columns, outputs interleaved back (the compiler kept them scalar). A row of tw
// tiles runs in vectors from the left, the last one overlapping its neighbour (it rewrites the
// same values), so every width from 4 tiles up runs vectorised; each element still gets exactly
// the scalar code's operations, in the same order.
typedef float sl_wv8 __attribute__((vector_size(32)));
typedef float sl_wv4 __attribute__((vector_size(16)));
#define SL_WV_LOAD(T, p) ({ T v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define SL_WV_STORE(p, v) do { const __typeof__(v) s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)
#define SL_WV8_EVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define SL_WV8_ODD(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#define SL_WV8_ZIPLO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define SL_WV8_ZIPHI(a, b) __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15)
#define SL_WV4_EVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6)
#define SL_WV4_ODD(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7)
#define SL_WV4_ZIPLO(a, b) __builtin_shufflevector(a, b, 0, 4, 1, 5)
#define SL_WV4_ZIPHI(a, b) __builtin_shufflevector(a, b, 2, 6, 3, 7)

// Columns (tiles) per panel of the passes' products (sl_wino_pass_gemm, sl_wino_pass_weight_grad):
// a 256-channel panel of 256 tiles is 256 KB, which stays in L2 while the row groups go over it.
#ifndef SL_PASS_PANEL
#define SL_PASS_PANEL 256
#endif

// Runs BODY(tx) for vector starts tx covering [0, n) with vectors of N, the last start n − N.
#define SL_WINO_VECTOR_STARTS(n, N, BODY)                                   \
    do {                                                                    \
        for (int tx_ = 0;; tx_ += (N)) {                                    \
            const int start_ = tx_ + (N) <= (n) ? tx_ : (n) - (N);          \
            BODY(start_);                                                   \
            if (start_ + (N) >= (n)) break;                                 \
        }                                                                   \
    } while (0)

// The evaluation epilogue's fold (sl_output_epilogue) on one finished output row of channel o:
// the multiply and the add rounded apart (no contraction into a fused multiply-add), as
// BatchNorm2D's Swift code computes them, so folding a BatchNorm into the convolution keeps its bits.
static inline void sl_affine_row(float *y, int n, const sl_output_epilogue *post, int o) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    const float scale = post->scale[o], shift = post->shift[o];
    if (post->relu) {
        for (int i = 0; i < n; i++) {
            const float v = y[i] * scale + shift;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    } else {
        for (int i = 0; i < n; i++) y[i] = y[i] * scale + shift;
    }
}

// 2×2 max pooling of two finished output rows (r1 = r0 for the last row of an odd height) into one
// pooled row of ⌈w/2⌉, a last odd column pooled with itself: sl_maxpool2x2's comparisons in its
// order (a tie or a comparison with NaN keeps the first tap), so the values are bit for bit the
// separate pass's.
// Whole windows run as vectors of eight (or four) windows, the last vector overlapping its
// neighbour; the compare-and-select keeps the scalar code's choice lane by lane.
#define SL_POOL_PICK(T, M, a, b) ({ const M m_ = (M)((b) > (a)); (T)(((M)(b) & m_) | ((M)(a) & ~m_)); })
static inline void sl_pool_row_pair(const float *r0, const float *r1, int w, float *out) {
    typedef int sl_wm8 __attribute__((vector_size(32)));
    typedef int sl_wm4 __attribute__((vector_size(16)));
    const int ow = (w + 1) / 2, whole = w / 2;
#define SL_POOL_VECTOR(T, M, N, EVEN, ODD, ox)                                                    \
    {                                                                                             \
        const T a0_ = SL_WV_LOAD(T, r0 + 2 * (ox)), a1_ = SL_WV_LOAD(T, r0 + 2 * (ox) + (N));     \
        const T b0_ = SL_WV_LOAD(T, r1 + 2 * (ox)), b1_ = SL_WV_LOAD(T, r1 + 2 * (ox) + (N));     \
        const T va_ = EVEN(a0_, a1_), vb_ = ODD(a0_, a1_), vc_ = EVEN(b0_, b1_), vd_ = ODD(b0_, b1_); \
        const T v1_ = SL_POOL_PICK(T, M, va_, vb_), v2_ = SL_POOL_PICK(T, M, vc_, vd_);           \
        SL_WV_STORE(out + (ox), SL_POOL_PICK(T, M, v1_, v2_));                                    \
    }
#define SL_POOL_V8(ox) SL_POOL_VECTOR(sl_wv8, sl_wm8, 8, SL_WV8_EVEN, SL_WV8_ODD, ox)
#define SL_POOL_V4(ox) SL_POOL_VECTOR(sl_wv4, sl_wm4, 4, SL_WV4_EVEN, SL_WV4_ODD, ox)
    int ox = 0;
    if (whole >= 8) {
        SL_WINO_VECTOR_STARTS(whole, 8, SL_POOL_V8);
        ox = whole;
    } else if (whole >= 4) {
        SL_WINO_VECTOR_STARTS(whole, 4, SL_POOL_V4);
        ox = whole;
    }
    for (; ox < ow; ox++) {
        const int x0 = 2 * ox, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
        const float va = r0[x0], vb = r0[x1], vc = r1[x0], vd = r1[x1];
        const float v1 = vb > va ? vb : va, v2 = vd > vc ? vd : vc;
        out[ox] = v2 > v1 ? v2 : v1;
    }
}

// row[q] −= x[q]·s[q], the product and the difference rounded apart (no fused multiply-add), as
// Conv2D's Swift loop computes the ‖x‖ term.
static inline void sl_subtract_product_row(float *row, const float *x, const float *s, int n) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    for (int i = 0; i < n; i++) row[i] = row[i] - x[i] * s[i];
}


// The distance in floats between consecutive transform indices i of a block's [16 or 36][channels]
// [ld] arrays: at least n = channels·ld, and an odd number of 64-byte lines. The transforms touch
// the same column of all 16 or 36 arrays at once; at a distance of a multiple of 1 KB (32
// channels × 56 tiles is 7 KB) those lines fell into 4 of L1's 64 sets and evicted each other
// on every tile row. An odd number of lines spreads them over all sets.
static inline long sl_wino_spread(long n) {
    const long lines = (n + 15) / 16;
    return 16 * (lines | 1);
}

// Prefetches slice k of `parts` of the floats [first, end) of p into the caches, a line at a time.
// A block reads each channel's rows as a short run of a few KB, too short for the hardware
// prefetcher to catch before it ends; the next channel's run is fetched while this one is
// transformed, in as many slices as the block has tile rows.
static inline void sl_prefetch_slice(const float *p, long first, long end, int k, int parts) {
    const long n = end - first, a = first + n * k / parts, b = first + n * (k + 1) / parts;
    for (long q = a; q < b; q += 16) __builtin_prefetch(p + q, 0, 3);
}

// sl_prefetch_slice for lines about to be written (an output channel's rows).
static inline void sl_prefetch_slice_for_writing(float *p, long first, long end, int k, int parts) {
    const long n = end - first, a = first + n * k / parts, b = first + n * (k + 1) / parts;
    for (long q = a; q < b; q += 16) __builtin_prefetch(p + q, 1, 3);
}

// Clears the n < 8 padding columns at the end of one row of a block's transformed array. A plain
// loop became a call to memset per row (36 rows per channel per block: about 2 % of a training
// step on fmnist-w0.5, whose blocks of 28 tiles leave four columns); stores of constant size
// stay inline.
static inline void sl_clear_padding(float *p, int n) {
    if (n & 4) { p[0] = 0.0f; p[1] = 0.0f; p[2] = 0.0f; p[3] = 0.0f; p += 4; }
    if (n & 2) { p[0] = 0.0f; p[1] = 0.0f; p += 2; }
    if (n & 1) p[0] = 0.0f;
}

// Runs BODY(T, q) over the columns [0, n) of a row: vectors of eight (T = sl_wv8) from the left,
// the last one ending at n and overlapping its neighbour (it rewrites the same values); rows of
// four to seven columns as two vectors of four; shorter rows column by column (T = float). The
// vertical passes ran as compiler-vectorised loops whose remainder went scalar: four of a 28-pixel
// row's columns and six of a 14-pixel row's, a third of the pass.
#define SL_WINO_COLUMNS(n, BODY)                                            \
    do {                                                                    \
        if ((n) >= 8) {                                                     \
            for (int q_ = 0;; q_ += 8) {                                    \
                const int c_ = q_ + 8 <= (n) ? q_ : (n) - 8;                \
                BODY(sl_wv8, c_);                                           \
                if (c_ + 8 >= (n)) break;                                   \
            }                                                               \
        } else if ((n) >= 4) {                                              \
            BODY(sl_wv4, 0);                                                \
            BODY(sl_wv4, (n) - 4);                                          \
        } else {                                                            \
            for (int q_ = 0; q_ < (n); q_++) BODY(float, q_);               \
        }                                                                   \
    } while (0)

// Input tiles V = Bᵀ d B of one tile row `ty` of one image plane (h × w): tile tx goes to
// dst[i·mstride + tx] for the 16 transform indices i. `t` is scratch of 4 rows of pw = 2·tw + 2
// floats whose first and last columns (the padding) the caller keeps at 0; `zeros` holds w zeros
// (the padding rows above and below the image).
// Bᵀ d over the four input rows of tile row `ty` into columns 1..w of the four rows of `t`.
static inline __attribute__((always_inline)) void sl_wino_input_vertical(const float *plane, int h, int w, int ty, float *t,
                                                                       int pw, const float *zeros) {
    const float *r[4];
    for (int k = 0; k < 4; k++) {
        const int iy = 2 * ty - 1 + k;
        r[k] = (iy >= 0 && iy < h) ? plane + (long)iy * w : zeros;
    }
    float *t0 = t + 1, *t1 = t + pw + 1, *t2 = t + 2 * pw + 1, *t3 = t + 3 * pw + 1;
    const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
#define SL_WINO_INPUT_COLUMNS(T, q)                                                               \
    {                                                                                             \
        const T d0 = SL_WV_LOAD(T, r0 + (q)), d1 = SL_WV_LOAD(T, r1 + (q));                       \
        const T d2 = SL_WV_LOAD(T, r2 + (q)), d3 = SL_WV_LOAD(T, r3 + (q));                       \
        SL_WV_STORE(t0 + (q), d0 - d2);                                                           \
        SL_WV_STORE(t1 + (q), d1 + d2);                                                           \
        SL_WV_STORE(t2 + (q), d2 - d1);                                                           \
        SL_WV_STORE(t3 + (q), d1 - d3);                                                           \
    }
    SL_WINO_COLUMNS(w, SL_WINO_INPUT_COLUMNS);
#undef SL_WINO_INPUT_COLUMNS
}

static inline __attribute__((always_inline)) void sl_wino_input_row(const float *plane, int h, int w, int ty, float *t, int pw,
                                     const float *zeros, float *dst, long mstride) {
    const int tw = (w + 1) / 2;
    sl_wino_input_vertical(plane, h, w, ty, t, pw, zeros);
    for (int j = 0; j < 4; j++) {    // (Bᵀ d) B along each row
        float *o0 = dst + (4 * j + 0) * mstride, *o1 = dst + (4 * j + 1) * mstride;
        float *o2 = dst + (4 * j + 2) * mstride, *o3 = dst + (4 * j + 3) * mstride;
        const float *s = t + j * pw;
        // Vectors read s[2·tx .. 2·tx + 2N + 1], inside the row's pw = 2·tw + 2 floats.
#define SL_WINO_INPUT_VECTOR(T, N, EVEN, ODD, tx)                                      \
        {                                                                              \
            const T lo = SL_WV_LOAD(T, s + 2 * (tx)), hi = SL_WV_LOAD(T, s + 2 * (tx) + (N));          \
            const T lo2 = SL_WV_LOAD(T, s + 2 * (tx) + 2), hi2 = SL_WV_LOAD(T, s + 2 * (tx) + 2 + (N)); \
            const T a = EVEN(lo, hi), b = ODD(lo, hi), cc = EVEN(lo2, hi2), d = ODD(lo2, hi2);          \
            SL_WV_STORE(o0 + (tx), a - cc);                                            \
            SL_WV_STORE(o1 + (tx), b + cc);                                            \
            SL_WV_STORE(o2 + (tx), cc - b);                                            \
            SL_WV_STORE(o3 + (tx), b - d);                                             \
        }
#define SL_WINO_INPUT_V8(tx) SL_WINO_INPUT_VECTOR(sl_wv8, 8, SL_WV8_EVEN, SL_WV8_ODD, tx)
#define SL_WINO_INPUT_V4(tx) SL_WINO_INPUT_VECTOR(sl_wv4, 4, SL_WV4_EVEN, SL_WV4_ODD, tx)
        if (tw >= 8) { SL_WINO_VECTOR_STARTS(tw, 8, SL_WINO_INPUT_V8); continue; }
        if (tw >= 4) { SL_WINO_VECTOR_STARTS(tw, 4, SL_WINO_INPUT_V4); continue; }
        for (int tx = 0; tx < tw; tx++) {
            const float a = s[2 * tx], b = s[2 * tx + 1], cc = s[2 * tx + 2], d = s[2 * tx + 3];
            o0[tx] = a - cc;
            o1[tx] = b + cc;
            o2[tx] = cc - b;
            o3[tx] = b - d;
        }
    }
}

// Clears the padding columns of the input-row scratch (4 rows of pw floats, image width w).
static inline void sl_wino_input_row_scratch(float *t, int pw, int w) {
    for (int j = 0; j < 4; j++) {
        // t[j·pw + q] holds column q − 1 of the image; the padding columns stay 0 throughout.
        t[j * pw] = 0.0f;
        for (int q = w + 1; q < pw; q++) t[j * pw + q] = 0.0f;
    }
}

// The output transform Y = Aᵀ M A of one tile row: full 2×2 tiles in a branch-free loop the
// compiler vectorises, then the half tile of an odd width. `row1` may be a scratch row (odd height).
static inline void sl_wino_output_row(const float *src, long mstride, int tw, int w, float *row0, float *row1) {
    const int full = w / 2;
#define SL_WINO_OUTPUT_VECTOR(T, ZIPLO, ZIPHI, N, tx)                                   \
    {                                                                                   \
        T s[16];                                                                        \
        for (int i = 0; i < 16; i++) s[i] = SL_WV_LOAD(T, src + i * mstride + (tx));    \
        T r0[4], r1[4];                                                                 \
        for (int j = 0; j < 4; j++) {                                                   \
            r0[j] = s[j] + s[4 + j] + s[8 + j];                                         \
            r1[j] = s[4 + j] - s[8 + j] - s[12 + j];                                    \
        }                                                                               \
        const T e0 = r0[0] + r0[1] + r0[2], d0 = r0[1] - r0[2] - r0[3];                 \
        const T e1 = r1[0] + r1[1] + r1[2], d1 = r1[1] - r1[2] - r1[3];                 \
        SL_WV_STORE(row0 + 2 * (tx), ZIPLO(e0, d0)); SL_WV_STORE(row0 + 2 * (tx) + (N), ZIPHI(e0, d0)); \
        SL_WV_STORE(row1 + 2 * (tx), ZIPLO(e1, d1)); SL_WV_STORE(row1 + 2 * (tx) + (N), ZIPHI(e1, d1)); \
    }
#define SL_WINO_OUTPUT_V8(tx) SL_WINO_OUTPUT_VECTOR(sl_wv8, SL_WV8_ZIPLO, SL_WV8_ZIPHI, 8, tx)
#define SL_WINO_OUTPUT_V4(tx) SL_WINO_OUTPUT_VECTOR(sl_wv4, SL_WV4_ZIPLO, SL_WV4_ZIPHI, 4, tx)
    if (full >= 8) {
        SL_WINO_VECTOR_STARTS(full, 8, SL_WINO_OUTPUT_V8);
    } else if (full >= 4) {
        SL_WINO_VECTOR_STARTS(full, 4, SL_WINO_OUTPUT_V4);
    } else if (tw == 4) {
        // w = 7 (the last stage of 28-pixel nets): three full tiles and the half one as one vector
        // of four, the half tile's missing column not stored. The same sums as the scalar code.
        float *const y0 = row0, *const y1 = row1;
        float out0[8], out1[8];
        {
            float *row0 = out0, *row1 = out1;   // the vector code's stores land here
            SL_WINO_OUTPUT_V4(0);
        }
        for (int q = 0; q < 7; q++) { y0[q] = out0[q]; y1[q] = out1[q]; }
        return;
    } else {
        for (int tx = 0; tx < full; tx++) {
            float s[16];
        for (int i = 0; i < 16; i++) s[i] = src[i * mstride + tx];
        float r0[4], r1[4];   // Aᵀ M: two rows of four
        for (int j = 0; j < 4; j++) {
            r0[j] = s[j] + s[4 + j] + s[8 + j];
            r1[j] = s[4 + j] - s[8 + j] - s[12 + j];
        }
        row0[2 * tx] = r0[0] + r0[1] + r0[2];
        row0[2 * tx + 1] = r0[1] - r0[2] - r0[3];
        row1[2 * tx] = r1[0] + r1[1] + r1[2];
        row1[2 * tx + 1] = r1[1] - r1[2] - r1[3];
        }
    }
    if (full < tw) {   // odd width: the right column of the last tile lies outside
        float s[16];
        for (int i = 0; i < 16; i++) s[i] = src[i * mstride + full];
        row0[2 * full] = (s[0] + s[4] + s[8]) + (s[1] + s[5] + s[9]) + (s[2] + s[6] + s[10]);
        row1[2 * full] = (s[4] - s[8] - s[12]) + (s[5] - s[9] - s[13]) + (s[6] - s[10] - s[14]);
    }
}

// A dY Aᵀ for one tile with outputs a b / c d: A dY (4×2) has rows (a, b), (a + c, b + d),
// (a − c, b − d), (−c, −d), and each row (p, q) becomes (p, p + q, p − q, −q).
static inline void sl_wino_grad_tile(float a, float b, float c, float d, float *dst, long mstride) {
    const float p[4] = {a, a + c, a - c, -c}, q[4] = {b, b + d, b - d, -d};
    for (int r = 0; r < 4; r++) {
        dst[(4 * r + 0) * mstride] = p[r];
        dst[(4 * r + 1) * mstride] = p[r] + q[r];
        dst[(4 * r + 2) * mstride] = p[r] - q[r];
        dst[(4 * r + 3) * mstride] = -q[r];
    }
}

// dM = A dY Aᵀ of one tile row: rows row0 and row1 of the output gradient (row1 may be zeros for
// an odd height), tile tx to dst[i·mstride + tx]. dst and the rows never overlap.
static inline void sl_wino_output_grad_row(const float *row0, const float *row1, int tw, int w, float *dst,
                                           long mstride) {
    const int full = w / 2;
#define SL_WINO_GRAD_VECTOR(T, EVEN, ODD, N, tx)                                                  \
    {                                                                                             \
        const T l0 = SL_WV_LOAD(T, row0 + 2 * (tx)), h0 = SL_WV_LOAD(T, row0 + 2 * (tx) + (N));   \
        const T l1 = SL_WV_LOAD(T, row1 + 2 * (tx)), h1 = SL_WV_LOAD(T, row1 + 2 * (tx) + (N));   \
        const T a = EVEN(l0, h0), b = ODD(l0, h0), c = EVEN(l1, h1), d = ODD(l1, h1);             \
        const T p[4] = {a, a + c, a - c, -c}, q[4] = {b, b + d, b - d, -d};                       \
        for (int r = 0; r < 4; r++) {                                                             \
            SL_WV_STORE(dst + (4 * r + 0) * mstride + (tx), p[r]);                                \
            SL_WV_STORE(dst + (4 * r + 1) * mstride + (tx), p[r] + q[r]);                         \
            SL_WV_STORE(dst + (4 * r + 2) * mstride + (tx), p[r] - q[r]);                         \
            SL_WV_STORE(dst + (4 * r + 3) * mstride + (tx), -q[r]);                               \
        }                                                                                         \
    }
#define SL_WINO_GRAD_V8(tx) SL_WINO_GRAD_VECTOR(sl_wv8, SL_WV8_EVEN, SL_WV8_ODD, 8, tx)
#define SL_WINO_GRAD_V4(tx) SL_WINO_GRAD_VECTOR(sl_wv4, SL_WV4_EVEN, SL_WV4_ODD, 4, tx)
    if (full >= 8) {
        SL_WINO_VECTOR_STARTS(full, 8, SL_WINO_GRAD_V8);
    } else if (full >= 4) {
        SL_WINO_VECTOR_STARTS(full, 4, SL_WINO_GRAD_V4);
    } else if (tw == 4) {
        // w = 7: the rows copied with a zero eighth column, then one vector of four tiles (the
        // half tile's missing column reads 0, as the scalar code passes it).
        float in0[8], in1[8];
        for (int q = 0; q < 7; q++) { in0[q] = row0[q]; in1[q] = row1[q]; }
        in0[7] = 0.0f; in1[7] = 0.0f;
        {
            const float *row0 = in0, *row1 = in1;
            SL_WINO_GRAD_V4(0);
        }
        return;
    } else {
        for (int tx = 0; tx < full; tx++) {
            sl_wino_grad_tile(row0[2 * tx], row0[2 * tx + 1], row1[2 * tx], row1[2 * tx + 1], dst + tx, mstride);
        }
    }
    if (full < tw) sl_wino_grad_tile(row0[2 * full], 0.0f, row1[2 * full], 0.0f, dst + full, mstride);
}


// ---- Two tile rows of four 2×2 tiles as vectors of eight -------------------------------------
// Images 7 or 8 pixels wide have four tiles per row, which the single-row code runs as vectors
// of four. Two tile rows consecutive in a block's arrays (tiles 0–3 of row a, then of row b) run
// together as vectors of eight, lanes never mixing: every tile gets the single-row code's bits.

// Whether two tile rows of this width run as one vector of eight.
static inline int sl_wino_pairs_rows(int w) { return (w + 1) / 2 == 4; }

// sl_wino_input_row for tile rows (plane_a, ty_a) and (plane_b, ty_b): tiles to
// dst[i·mstride + 0..7]; ta and tb two row scratches as its `t` (pw = 10).
static inline __attribute__((always_inline)) void sl_wino_input_row_pair(const float *plane_a, int ty_a,
                                                                       const float *plane_b, int ty_b, int h, int w,
                                                                       float *ta, float *tb, int pw,
                                                                       const float *zeros, float *dst, long mstride) {
    sl_wino_input_vertical(plane_a, h, w, ty_a, ta, pw, zeros);
    sl_wino_input_vertical(plane_b, h, w, ty_b, tb, pw, zeros);
    for (int j = 0; j < 4; j++) {    // (Bᵀ d) B along each row, row a's tiles in lanes 0–3
        const float *sa = ta + j * pw, *sb = tb + j * pw;
        const sl_wv8 lo = SL_WV_LOAD(sl_wv8, sa), hi = SL_WV_LOAD(sl_wv8, sb);
        const sl_wv8 lo2 = SL_WV_LOAD(sl_wv8, sa + 2), hi2 = SL_WV_LOAD(sl_wv8, sb + 2);
        const sl_wv8 a = SL_WV8_EVEN(lo, hi), b = SL_WV8_ODD(lo, hi), cc = SL_WV8_EVEN(lo2, hi2), d = SL_WV8_ODD(lo2, hi2);
        SL_WV_STORE(dst + (4 * j + 0) * mstride, a - cc);
        SL_WV_STORE(dst + (4 * j + 1) * mstride, b + cc);
        SL_WV_STORE(dst + (4 * j + 2) * mstride, cc - b);
        SL_WV_STORE(dst + (4 * j + 3) * mstride, b - d);
    }
}

// sl_wino_output_row for two tile rows (src[i·mstride + 0..7]) into rows (a0, a1) and (b0, b1),
// w of each written (a half tile's missing column is computed and dropped, as the single-row
// vector code for w = 7 does). The single-row vector of eight tiles, its two halves' rows apart.
static inline void sl_wino_output_row_pair(const float *src, long mstride, int w, float *a0, float *a1, float *b0,
                                           float *b1) {
    float out0[16], out1[16];   // output rows 0 and 1: row a's tiles in 0–7, row b's in 8–15
    {
        float *row0 = out0, *row1 = out1;   // the vector code's stores land here
        SL_WINO_OUTPUT_V8(0);
    }
    memcpy(a0, out0, (size_t)w * sizeof(float));
    memcpy(a1, out1, (size_t)w * sizeof(float));
    memcpy(b0, out0 + 8, (size_t)w * sizeof(float));
    memcpy(b1, out1 + 8, (size_t)w * sizeof(float));
}

// sl_wino_output_grad_row for two tile rows: (a0, a1) and (b0, b1) as its rows (row 1 may be
// zeros), tiles to dst[i·mstride + 0..7]. The rows are copied side by side, zeros past w (a half
// tile's missing column reads 0, as in the single-row code), for the single-row vector of eight.
static inline void sl_wino_output_grad_row_pair(const float *a0, const float *a1, const float *b0, const float *b1,
                                                int w, float *dst, long mstride) {
    float in0[16], in1[16];   // rows 0 and 1: row a's in 0–7, row b's in 8–15
    for (int q = 0; q < 8; q++) {
        in0[q] = q < w ? a0[q] : 0.0f; in0[8 + q] = q < w ? b0[q] : 0.0f;
        in1[q] = q < w ? a1[q] : 0.0f; in1[8 + q] = q < w ? b1[q] : 0.0f;
    }
    {
        const float *row0 = in0, *row1 = in1;
        SL_WINO_GRAD_V8(0);
    }
}
