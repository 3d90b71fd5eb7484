// The row-wise Winograd F(4×4, 3×3) tile transforms: a 4×4 block of outputs ("tile") from a
// 6×6 block of input, 36 multiply-adds per input channel for 16 outputs instead of 144 (4× fewer;
// F(2×2, 3×3) saves 2.25×). Shared by the fused per-block convolution (sl_wino_fused.h) and the
// separate passes (winograd.c). Interpolation points 0, ±1, ±2 and ∞:
//     Bᵀ = [4  0 −5  0 1 0;  0 −4 −4  1 1 0;  0 4 −4 −1 1 0;
//           0 −2 −1  2 1 0;  0  2 −1 −2 1 0;  0 4  0 −5 0 1]
//     G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
//     Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
// Transform index i = 6·a + b: a along the image's rows (vertical), b along its columns.
// Every transform is applied vertically over whole rows first (contiguous, vectorised by the
// compiler), then horizontally per tile with the four columns of a tile row de-interleaved into
// vectors of 8 (or 4) tiles. A tile is always computed by the same code for a given layer shape
// (vector code when a row has at least four tiles, scalar code otherwise), so results do not
// depend on how the caller splits its tile rows.
#pragma once

#include <string.h>

#include "sl_wino_rows.h"

// o[0..5] = Bᵀ (d0 … d5); scalars or vectors alike.
#define SL_W4_BT(d0, d1, d2, d3, d4, d5, o)                                        \
    do {                                                                           \
        const __typeof__(d0) a_ = (d4) - 4.0f * (d2), b_ = (d3) - 4.0f * (d1);     \
        const __typeof__(d0) c_ = (d4) - (d2), e_ = 2.0f * ((d3) - (d1));          \
        (o)[0] = 4.0f * ((d0) - (d2)) + c_;                                        \
        (o)[1] = a_ + b_;                                                          \
        (o)[2] = a_ - b_;                                                          \
        (o)[3] = c_ + e_;                                                          \
        (o)[4] = c_ - e_;                                                          \
        (o)[5] = 4.0f * ((d1) - (d3)) + ((d5) - (d3));                             \
    } while (0)

// y[0..3] = Aᵀ (m0 … m5).
#define SL_W4_AT(m0, m1, m2, m3, m4, m5, y)                                        \
    do {                                                                           \
        const __typeof__(m0) p_ = (m1) + (m2), q_ = (m1) - (m2);                   \
        const __typeof__(m0) r_ = (m3) + (m4), s_ = (m3) - (m4);                   \
        (y)[0] = (m0) + p_ + r_;                                                   \
        (y)[1] = q_ + 2.0f * s_;                                                   \
        (y)[2] = p_ + 4.0f * r_;                                                   \
        (y)[3] = q_ + 8.0f * s_ + (m5);                                            \
    } while (0)

// z[0..5] = A (g0 … g3), the adjoint of Aᵀ.
#define SL_W4_A(g0, g1, g2, g3, z)                                                 \
    do {                                                                           \
        const __typeof__(g0) e_ = (g0) + (g2), o_ = (g1) + (g3);                   \
        const __typeof__(g0) e4_ = (g0) + 4.0f * (g2), o8_ = 2.0f * (g1) + 8.0f * (g3); \
        (z)[0] = (g0);                                                             \
        (z)[1] = e_ + o_;                                                          \
        (z)[2] = e_ - o_;                                                          \
        (z)[3] = e4_ + o8_;                                                        \
        (z)[4] = e4_ - o8_;                                                        \
        (z)[5] = (g3);                                                             \
    } while (0)

// Columns c = 0..3 of 4·N consecutive floats at p (N tiles of four) de-interleaved into x0..x3.
#define SL_W4_SPLIT(T, N, EVEN, ODD, p, x0, x1, x2, x3)                            \
    do {                                                                           \
        const T a_ = SL_WV_LOAD(T, (p)), b_ = SL_WV_LOAD(T, (p) + (N));            \
        const T c_ = SL_WV_LOAD(T, (p) + 2 * (N)), d_ = SL_WV_LOAD(T, (p) + 3 * (N)); \
        const T e1_ = EVEN(a_, b_), o1_ = ODD(a_, b_), e2_ = EVEN(c_, d_), o2_ = ODD(c_, d_); \
        x0 = EVEN(e1_, e2_); x2 = ODD(e1_, e2_); x1 = EVEN(o1_, o2_); x3 = ODD(o1_, o2_); \
    } while (0)

// The inverse: x0..x3 (column c of N tiles) interleaved into 4·N consecutive floats at p.
#define SL_W4_JOIN(T, N, ZIPLO, ZIPHI, p, x0, x1, x2, x3)                          \
    do {                                                                           \
        const T e1_ = ZIPLO(x0, x2), e2_ = ZIPHI(x0, x2), o1_ = ZIPLO(x1, x3), o2_ = ZIPHI(x1, x3); \
        SL_WV_STORE((p), ZIPLO(e1_, o1_));                                         \
        SL_WV_STORE((p) + (N), ZIPHI(e1_, o1_));                                   \
        SL_WV_STORE((p) + 2 * (N), ZIPLO(e2_, o2_));                               \
        SL_WV_STORE((p) + 3 * (N), ZIPHI(e2_, o2_));                               \
    } while (0)

// Floats per row of the transforms' row scratch for an image of width w: the ⌈w/4⌉ tiles' 4·tw
// columns (at least eight tiles' worth: a row of five to seven tiles runs as one vector of eight),
// one padding column on the left (input) and room for the vector loads to read four floats beyond
// the last tile.
static inline int sl_wino4_row_width(int w) {
    const int tw = (w + 3) / 4;
    return 4 * (tw > 8 ? tw : 8) + 4;
}

// Whether a row of tw tiles runs as one vector of eight tiles whose last lanes compute nothing
// of use: five to seven tiles, when `room` tile slots (≥ 8) may be written from the row's first.
// The caller guarantees that the slots past the row are rewritten afterwards or are padding.
// Lanes are independent, so every tile gets the same bits as from vectors of four.
static inline int sl_wino4_one_vector(int tw, long room) { return tw >= 5 && tw < 8 && room >= 8; }

// Clears the row scratch `t` (rows × pw floats): padding columns must read as 0 throughout.
static inline void sl_wino4_clear_rows(float *t, int rows, int pw) {
    for (long q = 0; q < (long)rows * pw; q++) t[q] = 0.0f;
}

// Bᵀ d over the six input rows of tile row `ty` into columns 1..w of the six rows of `t`.
static inline __attribute__((always_inline)) void sl_wino4_input_vertical(const float *plane, int h, int w, int ty,
                                                                        float *t, int pw, const float *zeros) {
    const float *r[6];
    for (int k = 0; k < 6; k++) {
        const int iy = 4 * ty - 1 + k;
        r[k] = (iy >= 0 && iy < h) ? plane + (long)iy * w : zeros;
    }
    const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4], *r5 = r[5];
    float *t0 = t + 1, *t1 = t + pw + 1, *t2 = t + 2 * pw + 1, *t3 = t + 3 * pw + 1, *t4 = t + 4 * pw + 1,
          *t5 = t + 5 * pw + 1;
#define SL_W4_INPUT_COLUMNS(T, q)                                                                 \
    {                                                                                             \
        const T d0 = SL_WV_LOAD(T, r0 + (q)), d1 = SL_WV_LOAD(T, r1 + (q)), d2 = SL_WV_LOAD(T, r2 + (q)); \
        const T d3 = SL_WV_LOAD(T, r3 + (q)), d4 = SL_WV_LOAD(T, r4 + (q)), d5 = SL_WV_LOAD(T, r5 + (q)); \
        T o[6];                                                                                   \
        SL_W4_BT(d0, d1, d2, d3, d4, d5, o);                                                      \
        SL_WV_STORE(t0 + (q), o[0]); SL_WV_STORE(t1 + (q), o[1]); SL_WV_STORE(t2 + (q), o[2]);    \
        SL_WV_STORE(t3 + (q), o[3]); SL_WV_STORE(t4 + (q), o[4]); SL_WV_STORE(t5 + (q), o[5]);    \
    }
    SL_WINO_COLUMNS(w, SL_W4_INPUT_COLUMNS);
#undef SL_W4_INPUT_COLUMNS
}

// Input tiles V = Bᵀ d B of tile row `ty` of one image plane (h × w): tile tx goes to
// dst[i·mstride + tx] for the 36 transform indices i. `t` holds 6 rows of pw = sl_wino4_row_width(w)
// floats, cleared once by the caller (only columns 1..w are written here); `zeros` holds w zeros.
static inline __attribute__((always_inline)) void sl_wino4_input_row(const float *plane, int h, int w, int ty, float *t,
                                                                   int pw, const float *zeros, float *dst, long mstride,
                                                                   long room) {
    const int tw = (w + 3) / 4;
    sl_wino4_input_vertical(plane, h, w, ty, t, pw, zeros);
    for (int j = 0; j < 6; j++) {   // (Bᵀ d) B along each row: six columns per tile, step four
        float *o = dst + (long)(6 * j) * mstride;
        const float *s = t + (long)j * pw;
        // Vectors read s[4·tx .. 4·tx + 4N + 3], inside the row's pw = 4·tw + 4 floats.
#define SL_W4_INPUT_VECTOR(T, N, EVEN, ODD, tx)                                           \
        {                                                                                 \
            T x0, x1, x2, x3, x4, x5, unused1_, unused2_;                                 \
            SL_W4_SPLIT(T, N, EVEN, ODD, s + 4 * (tx), x0, x1, x2, x3);                   \
            SL_W4_SPLIT(T, N, EVEN, ODD, s + 4 * (tx) + 4, x4, x5, unused1_, unused2_);   \
            (void)unused1_; (void)unused2_;                                               \
            T out[6];                                                                     \
            SL_W4_BT(x0, x1, x2, x3, x4, x5, out);                                        \
            for (int i = 0; i < 6; i++) SL_WV_STORE(o + i * mstride + (tx), out[i]);      \
        }
#define SL_W4_INPUT_V8(tx) SL_W4_INPUT_VECTOR(sl_wv8, 8, SL_WV8_EVEN, SL_WV8_ODD, tx)
#define SL_W4_INPUT_V4(tx) SL_W4_INPUT_VECTOR(sl_wv4, 4, SL_WV4_EVEN, SL_WV4_ODD, tx)
        if (tw >= 8) { SL_WINO_VECTOR_STARTS(tw, 8, SL_W4_INPUT_V8); continue; }
        if (sl_wino4_one_vector(tw, room)) { SL_W4_INPUT_V8(0); continue; }
        if (tw >= 4) { SL_WINO_VECTOR_STARTS(tw, 4, SL_W4_INPUT_V4); continue; }
        for (int tx = 0; tx < tw; tx++) {
            const float *d = s + 4 * tx;
            float out[6];
            SL_W4_BT(d[0], d[1], d[2], d[3], d[4], d[5], out);
            for (int i = 0; i < 6; i++) o[i * mstride + tx] = out[i];
        }
    }
}

// SL_W4_JOIN for vectors of eight tiles of which only the first `valid` (5–7) exist: the tiles'
// 4·valid floats are stored at p and nothing beyond.
#define sl_wino4_join8_first(p, x0, x1, x2, x3, valid)                                    \
    do {                                                                                  \
        const sl_wv8 e1_ = SL_WV8_ZIPLO(x0, x2), e2_ = SL_WV8_ZIPHI(x0, x2);              \
        const sl_wv8 o1_ = SL_WV8_ZIPLO(x1, x3), o2_ = SL_WV8_ZIPHI(x1, x3);              \
        const sl_wv8 q2_ = SL_WV8_ZIPLO(e2_, o2_), q3_ = SL_WV8_ZIPHI(e2_, o2_);          \
        SL_WV_STORE((p), SL_WV8_ZIPLO(e1_, o1_));                                         \
        SL_WV_STORE((p) + 8, SL_WV8_ZIPHI(e1_, o1_));                                     \
        if ((valid) >= 6) SL_WV_STORE((p) + 16, q2_);                                     \
        else SL_WV_STORE((p) + 16, __builtin_shufflevector(q2_, q2_, 0, 1, 2, 3));        \
        if ((valid) == 7) SL_WV_STORE((p) + 24, __builtin_shufflevector(q3_, q3_, 0, 1, 2, 3)); \
    } while (0)

// The output transform Y = Aᵀ M A of one tile row: tile tx of src[i·mstride + tx] becomes
// columns 4·tx .. 4·tx + 3 of rows[0..3]. A row that lies below the image is NULL. When w is not a
// multiple of 4 a row is written 4·tw − w floats too long: directly when one vector covers the row
// and the row below it in the same tile row exists (that row is stored next and rewrites the
// spill), otherwise through `tmp` (4 rows of 4·tw floats) with the w columns that exist copied out.
static inline __attribute__((always_inline)) void sl_wino4_output_row(const float *src, long mstride, int tw, int w,
                                                                    float *const rows[4], float *tmp) {
    float *o[4];
    const int direct = 4 * tw == w, one_vector = tw >= 4 && tw <= 8;
    for (int k = 0; k < 4; k++) {
        const int spills_below = one_vector && k < 3 && rows[k + 1] != NULL;
        o[k] = rows[k] != NULL && (direct || spills_below) ? rows[k] : tmp + (long)k * 4 * tw;
    }
#define SL_W4_OUTPUT_VECTOR(T, STORE, tx)                                                 \
    {                                                                                     \
        T v[4][6];                                                                        \
        for (int b = 0; b < 6; b++) {   /* Aᵀ M down each column of the 6 × 6 tile */     \
            T y[4];                                                                       \
            SL_W4_AT(SL_WV_LOAD(T, src + (b) * mstride + (tx)),                           \
                     SL_WV_LOAD(T, src + (6 + b) * mstride + (tx)),                       \
                     SL_WV_LOAD(T, src + (12 + b) * mstride + (tx)),                      \
                     SL_WV_LOAD(T, src + (18 + b) * mstride + (tx)),                      \
                     SL_WV_LOAD(T, src + (24 + b) * mstride + (tx)),                      \
                     SL_WV_LOAD(T, src + (30 + b) * mstride + (tx)), y);                  \
            for (int k = 0; k < 4; k++) v[k][b] = y[k];                                   \
        }                                                                                 \
        for (int k = 0; k < 4; k++) {   /* (Aᵀ M) A along each output row */              \
            T y[4];                                                                       \
            SL_W4_AT(v[k][0], v[k][1], v[k][2], v[k][3], v[k][4], v[k][5], y);            \
            STORE(o[k] + 4 * (tx), y[0], y[1], y[2], y[3]);                               \
        }                                                                                 \
    }
#define SL_W4_STORE8(p, y0, y1, y2, y3) SL_W4_JOIN(sl_wv8, 8, SL_WV8_ZIPLO, SL_WV8_ZIPHI, p, y0, y1, y2, y3)
#define SL_W4_STORE4(p, y0, y1, y2, y3) SL_W4_JOIN(sl_wv4, 4, SL_WV4_ZIPLO, SL_WV4_ZIPHI, p, y0, y1, y2, y3)
#define SL_W4_STORE_FIRST(p, y0, y1, y2, y3) sl_wino4_join8_first(p, y0, y1, y2, y3, tw)
#define SL_W4_OUTPUT_V8(tx) SL_W4_OUTPUT_VECTOR(sl_wv8, SL_W4_STORE8, tx)
#define SL_W4_OUTPUT_V4(tx) SL_W4_OUTPUT_VECTOR(sl_wv4, SL_W4_STORE4, tx)
    if (tw >= 8) {
        SL_WINO_VECTOR_STARTS(tw, 8, SL_W4_OUTPUT_V8);
    } else if (tw >= 5) {   // one vector of eight tiles; only the tw that exist are stored
        SL_W4_OUTPUT_VECTOR(sl_wv8, SL_W4_STORE_FIRST, 0)
    } else if (tw >= 4) {
        SL_WINO_VECTOR_STARTS(tw, 4, SL_W4_OUTPUT_V4);
    } else {
        for (int tx = 0; tx < tw; tx++) {
            float v[4][6];
            for (int b = 0; b < 6; b++) {
                const float *s = src + tx;
                float y[4];
                SL_W4_AT(s[b * mstride], s[(6 + b) * mstride], s[(12 + b) * mstride], s[(18 + b) * mstride],
                         s[(24 + b) * mstride], s[(30 + b) * mstride], y);
                for (int k = 0; k < 4; k++) v[k][b] = y[k];
            }
            for (int k = 0; k < 4; k++) {
                SL_W4_AT(v[k][0], v[k][1], v[k][2], v[k][3], v[k][4], v[k][5], o[k] + 4 * tx);
            }
        }
    }
    for (int k = 0; k < 4; k++) {
        if (rows[k] != NULL && o[k] != rows[k]) memcpy(rows[k], o[k], (size_t)w * sizeof(float));
    }
}

// A dY over the four output-gradient rows into columns 0..w−1 of the six rows of `t`.
static inline __attribute__((always_inline)) void sl_wino4_output_grad_vertical(const float *const rows[4], int w,
                                                                              float *t, int pw) {
    const float *g0 = rows[0], *g1 = rows[1], *g2 = rows[2], *g3 = rows[3];
    float *t0 = t, *t1 = t + pw, *t2 = t + 2 * pw, *t3 = t + 3 * pw, *t4 = t + 4 * pw, *t5 = t + 5 * pw;
#define SL_W4_GRAD_COLUMNS(T, q)                                                                  \
    {                                                                                             \
        const T e0 = SL_WV_LOAD(T, g0 + (q)), e1 = SL_WV_LOAD(T, g1 + (q));                       \
        const T e2 = SL_WV_LOAD(T, g2 + (q)), e3 = SL_WV_LOAD(T, g3 + (q));                       \
        T z[6];                                                                                   \
        SL_W4_A(e0, e1, e2, e3, z);                                                               \
        SL_WV_STORE(t0 + (q), z[0]); SL_WV_STORE(t1 + (q), z[1]); SL_WV_STORE(t2 + (q), z[2]);    \
        SL_WV_STORE(t3 + (q), z[3]); SL_WV_STORE(t4 + (q), z[4]); SL_WV_STORE(t5 + (q), z[5]);    \
    }
    SL_WINO_COLUMNS(w, SL_W4_GRAD_COLUMNS);
#undef SL_W4_GRAD_COLUMNS
}

// dM = A dY Aᵀ of one tile row: rows[0..3] of the output gradient (a row below the image points
// at zeros), tile tx to dst[i·mstride + tx]. `t` holds 6 rows of pw = sl_wino4_row_width(w)
// floats, cleared once by the caller (only columns 0..w−1 are written here, so the columns of
// a last partial tile read 0).
static inline __attribute__((always_inline)) void sl_wino4_output_grad_row(const float *const rows[4], int w,
                                                                         float *t, int pw, float *dst, long mstride,
                                                                         long room) {
    const int tw = (w + 3) / 4;
    sl_wino4_output_grad_vertical(rows, w, t, pw);
    for (int j = 0; j < 6; j++) {   // (A dY) Aᵀ along each row: four columns per tile
        float *o = dst + (long)(6 * j) * mstride;
        const float *s = t + (long)j * pw;
#define SL_W4_GRAD_VECTOR(T, N, EVEN, ODD, tx)                                            \
        {                                                                                 \
            T x0, x1, x2, x3;                                                             \
            SL_W4_SPLIT(T, N, EVEN, ODD, s + 4 * (tx), x0, x1, x2, x3);                   \
            T out[6];                                                                     \
            SL_W4_A(x0, x1, x2, x3, out);                                                 \
            for (int i = 0; i < 6; i++) SL_WV_STORE(o + i * mstride + (tx), out[i]);      \
        }
#define SL_W4_GRAD_V8(tx) SL_W4_GRAD_VECTOR(sl_wv8, 8, SL_WV8_EVEN, SL_WV8_ODD, tx)
#define SL_W4_GRAD_V4(tx) SL_W4_GRAD_VECTOR(sl_wv4, 4, SL_WV4_EVEN, SL_WV4_ODD, tx)
        if (tw >= 8) { SL_WINO_VECTOR_STARTS(tw, 8, SL_W4_GRAD_V8); continue; }
        if (sl_wino4_one_vector(tw, room)) { SL_W4_GRAD_V8(0); continue; }
        if (tw >= 4) { SL_WINO_VECTOR_STARTS(tw, 4, SL_W4_GRAD_V4); continue; }
        for (int tx = 0; tx < tw; tx++) {
            const float *d = s + 4 * tx;
            float out[6];
            SL_W4_A(d[0], d[1], d[2], d[3], out);
            for (int i = 0; i < 6; i++) o[i * mstride + tx] = out[i];
        }
    }
}

// ---- Two tile rows of four tiles as vectors of eight ----------------------------------------
// Images 13–16 pixels wide have four tiles per row, which the single-row code runs as vectors
// of four. Two tile rows that are consecutive in a block's arrays (tiles 0–3 of row a, then 0–3 of
// row b) run together as vectors of eight: the loads of row b take the places that tiles 4–7
// of a wider row would, the stores of row b go to its own rows. Lanes never mix, so every tile
// gets the bits the single-row code gives it.

// Columns c = 0..3 of four tiles at pa (lanes 0–3) and four at pb (lanes 4–7).
#define SL_W4_SPLIT_PAIR(pa, pb, x0, x1, x2, x3)                                   \
    do {                                                                           \
        const sl_wv8 a_ = SL_WV_LOAD(sl_wv8, (pa)), b_ = SL_WV_LOAD(sl_wv8, (pa) + 8); \
        const sl_wv8 c_ = SL_WV_LOAD(sl_wv8, (pb)), d_ = SL_WV_LOAD(sl_wv8, (pb) + 8); \
        const sl_wv8 e1_ = SL_WV8_EVEN(a_, b_), o1_ = SL_WV8_ODD(a_, b_);          \
        const sl_wv8 e2_ = SL_WV8_EVEN(c_, d_), o2_ = SL_WV8_ODD(c_, d_);          \
        x0 = SL_WV8_EVEN(e1_, e2_); x2 = SL_WV8_ODD(e1_, e2_);                     \
        x1 = SL_WV8_EVEN(o1_, o2_); x3 = SL_WV8_ODD(o1_, o2_);                     \
    } while (0)

// Whether two tile rows of this width run as one vector of eight.
static inline int sl_wino4_pairs_rows(int w) { return (w + 3) / 4 == 4; }

// sl_wino4_input_row for tile rows (plane_a, ty_a) and (plane_b, ty_b) of four tiles each: tiles
// to dst[i·mstride + 0..7]. ta and tb are two row scratches as sl_wino4_input_row's `t`.
static inline __attribute__((always_inline)) void sl_wino4_input_row_pair(const float *plane_a, int ty_a,
                                                                        const float *plane_b, int ty_b, int h, int w,
                                                                        float *ta, float *tb, int pw,
                                                                        const float *zeros, float *dst, long mstride) {
    sl_wino4_input_vertical(plane_a, h, w, ty_a, ta, pw, zeros);
    sl_wino4_input_vertical(plane_b, h, w, ty_b, tb, pw, zeros);
    for (int j = 0; j < 6; j++) {
        float *o = dst + (long)(6 * j) * mstride;
        const float *sa = ta + (long)j * pw, *sb = tb + (long)j * pw;
        sl_wv8 x0, x1, x2, x3, x4, x5, unused1, unused2;
        SL_W4_SPLIT_PAIR(sa, sb, x0, x1, x2, x3);
        SL_W4_SPLIT_PAIR(sa + 4, sb + 4, x4, x5, unused1, unused2);
        (void)unused1; (void)unused2;
        sl_wv8 out[6];
        SL_W4_BT(x0, x1, x2, x3, x4, x5, out);
        for (int i = 0; i < 6; i++) SL_WV_STORE(o + i * mstride, out[i]);
    }
}

// sl_wino4_output_grad_row for two tile rows of four tiles: rows_a and rows_b as its `rows`, ta
// and tb two row scratches as its `t`, tiles to dst[i·mstride + 0..7].
static inline __attribute__((always_inline)) void sl_wino4_output_grad_row_pair(const float *const rows_a[4],
                                                                              const float *const rows_b[4], int w,
                                                                              float *ta, float *tb, int pw,
                                                                              float *dst, long mstride) {
    sl_wino4_output_grad_vertical(rows_a, w, ta, pw);
    sl_wino4_output_grad_vertical(rows_b, w, tb, pw);
    for (int j = 0; j < 6; j++) {
        float *o = dst + (long)(6 * j) * mstride;
        sl_wv8 x0, x1, x2, x3;
        SL_W4_SPLIT_PAIR(ta + (long)j * pw, tb + (long)j * pw, x0, x1, x2, x3);
        sl_wv8 out[6];
        SL_W4_A(x0, x1, x2, x3, out);
        for (int i = 0; i < 6; i++) SL_WV_STORE(o + i * mstride, out[i]);
    }
}

// The output transform of eight consecutive tiles src[i·mstride + 0..7]: out[q][k] holds
// output row k of tiles 2q and 2q + 1 (their four columns each). For two tile rows of four
// (pairs) out[0..1] are row a's sixteen columns and out[2..3] row b's; for four tile rows of two
// (quads) out[q] is tile row q's eight.
static inline __attribute__((always_inline)) void sl_wino4_output_tiles8(const float *src, long mstride, sl_wv8 out[4][4]) {
    sl_wv8 v[4][6];
    for (int b = 0; b < 6; b++) {   // Aᵀ M down each column of the 6 × 6 tile
        sl_wv8 y[4];
        SL_W4_AT(SL_WV_LOAD(sl_wv8, src + (b) * mstride), SL_WV_LOAD(sl_wv8, src + (6 + b) * mstride),
                 SL_WV_LOAD(sl_wv8, src + (12 + b) * mstride), SL_WV_LOAD(sl_wv8, src + (18 + b) * mstride),
                 SL_WV_LOAD(sl_wv8, src + (24 + b) * mstride), SL_WV_LOAD(sl_wv8, src + (30 + b) * mstride), y);
        for (int k = 0; k < 4; k++) v[k][b] = y[k];
    }
    for (int k = 0; k < 4; k++) {   // (Aᵀ M) A along each output row
        sl_wv8 y[4];
        SL_W4_AT(v[k][0], v[k][1], v[k][2], v[k][3], v[k][4], v[k][5], y);
        const sl_wv8 e1 = SL_WV8_ZIPLO(y[0], y[2]), e2 = SL_WV8_ZIPHI(y[0], y[2]);
        const sl_wv8 o1 = SL_WV8_ZIPLO(y[1], y[3]), o2 = SL_WV8_ZIPHI(y[1], y[3]);
        out[0][k] = SL_WV8_ZIPLO(e1, o1);
        out[1][k] = SL_WV8_ZIPHI(e1, o1);
        out[2][k] = SL_WV8_ZIPLO(e2, o2);
        out[3][k] = SL_WV8_ZIPHI(e2, o2);
    }
}

// sl_wino4_output_row for two tile rows of four tiles (src[i·mstride + 0..7]) into rows_a and
// rows_b (a row below the image is NULL), each written as the single-row code writes it: a row
// of 16 floats for w < 16 spills into the row below when that row exists and is written after
// it, otherwise it goes through tmp_a or tmp_b (4 rows of 16 floats each) and w are copied out.
static inline __attribute__((always_inline)) void sl_wino4_output_row_pair(const float *src, long mstride, int w,
                                                                         float *const rows_a[4],
                                                                         float *const rows_b[4], float *tmp_a,
                                                                         float *tmp_b) {
    float *oa[4], *ob[4];
    for (int k = 0; k < 4; k++) {
        const int below_a = w == 16 || (k < 3 && rows_a[k + 1] != NULL);
        const int below_b = w == 16 || (k < 3 && rows_b[k + 1] != NULL);
        oa[k] = rows_a[k] != NULL && below_a ? rows_a[k] : tmp_a + (long)k * 16;
        ob[k] = rows_b[k] != NULL && below_b ? rows_b[k] : tmp_b + (long)k * 16;
    }
    sl_wv8 out[4][4];
    sl_wino4_output_tiles8(src, mstride, out);
    for (int k = 0; k < 4; k++) {
        SL_WV_STORE(oa[k], out[0][k]);
        SL_WV_STORE(oa[k] + 8, out[1][k]);
        SL_WV_STORE(ob[k], out[2][k]);
        SL_WV_STORE(ob[k] + 8, out[3][k]);
    }
    for (int k = 0; k < 4; k++) {
        if (rows_a[k] != NULL && oa[k] != rows_a[k]) memcpy(rows_a[k], oa[k], (size_t)w * sizeof(float));
        if (rows_b[k] != NULL && ob[k] != rows_b[k]) memcpy(rows_b[k], ob[k], (size_t)w * sizeof(float));
    }
}

// ---- Four tile rows of two tiles as vectors of eight -----------------------------------------
// Images 5–7 pixels wide (7×7 is the last stage of a 28-pixel network) have two tiles per row,
// which the single-row code transforms one tile at a time in scalar code: that cost more than
// F(4×4)'s fewer products saved. Four tile rows consecutive in a block's arrays run together as
// vectors of eight. Their vertical transforms go to four segments of eight floats of one row
// scratch (SL_WINO4_QUAD_STRIDE floats a row, zero wherever nothing is written), so the row's 32
// floats hold the eight tiles' columns at steps of four, as one tile row of eight tiles would.
// A segment is one image row's padding column and seven columns: the second tile of a tile row
// reads the next segment's first two floats where its last two columns (past the image) belong.
// The first is a padding column (0); the other is replaced by the 0 it stands for. Lanes never
// mix, so every tile gets the bits the single-row code gives it.

// Floats per row of the quad scratch: four segments of eight and the four that the second split
// of the last tile reads past them.
#define SL_WINO4_QUAD_STRIDE 36

// Whether four tile rows of this width run as one vector of eight.
static inline int sl_wino4_quads_rows(int w) { return w >= 5 && w <= 7; }

// sl_wino4_input_row for the four tile rows (planes[q], tys[q]) of two tiles each: tiles to
// dst[i·mstride + 0..7]. `tq` holds 6 rows of SL_WINO4_QUAD_STRIDE floats, cleared once.
static inline __attribute__((always_inline)) void sl_wino4_input_row_quad(const float *const planes[4], const int tys[4],
                                                                        int h, int w, float *tq, const float *zeros,
                                                                        float *dst, long mstride) {
    for (int q = 0; q < 4; q++) sl_wino4_input_vertical(planes[q], h, w, tys[q], tq + 8 * q, SL_WINO4_QUAD_STRIDE, zeros);
    const sl_wv8 zero = {0};
    for (int j = 0; j < 6; j++) {
        float *o = dst + (long)(6 * j) * mstride;
        const float *s = tq + (long)j * SL_WINO4_QUAD_STRIDE;
        sl_wv8 x0, x1, x2, x3, x4, x5, unused1, unused2;
        SL_W4_SPLIT(sl_wv8, 8, SL_WV8_EVEN, SL_WV8_ODD, s, x0, x1, x2, x3);
        SL_W4_SPLIT(sl_wv8, 8, SL_WV8_EVEN, SL_WV8_ODD, s + 4, x4, x5, unused1, unused2);
        (void)unused1; (void)unused2;
        x5 = __builtin_shufflevector(x5, zero, 0, 9, 2, 11, 4, 13, 6, 15);   // second tiles: column 8 is padding
        sl_wv8 out[6];
        SL_W4_BT(x0, x1, x2, x3, x4, x5, out);
        for (int i = 0; i < 6; i++) SL_WV_STORE(o + i * mstride, out[i]);
    }
}

// sl_wino4_output_grad_row for four tile rows of two tiles: rows[q] as its `rows` for tile row
// q, `tq` a quad scratch as above (columns 0..w−1 of each segment written), tiles to
// dst[i·mstride + 0..7].
static inline __attribute__((always_inline)) void sl_wino4_output_grad_row_quad(const float *const rows[4][4], int w,
                                                                              float *tq, float *dst, long mstride) {
    for (int q = 0; q < 4; q++) sl_wino4_output_grad_vertical(rows[q], w, tq + 8 * q, SL_WINO4_QUAD_STRIDE);
    for (int j = 0; j < 6; j++) {
        float *o = dst + (long)(6 * j) * mstride;
        sl_wv8 x0, x1, x2, x3;
        SL_W4_SPLIT(sl_wv8, 8, SL_WV8_EVEN, SL_WV8_ODD, tq + (long)j * SL_WINO4_QUAD_STRIDE, x0, x1, x2, x3);
        sl_wv8 out[6];
        SL_W4_A(x0, x1, x2, x3, out);
        for (int i = 0; i < 6; i++) SL_WV_STORE(o + i * mstride, out[i]);
    }
}

// One tile row's four output rows r[k] (eight floats, w < 8 of them in the image) into rows[k]
// (NULL below the image), as the single-row code writes them: directly when the row below in
// the same tile row exists (stored next, it rewrites the spill), otherwise through `tmp` (eight
// floats) with the w that exist copied out.
static inline __attribute__((always_inline)) void sl_wino4_store_quad_rows(const sl_wv8 r[4], float *const rows[4], int w,
                                                                         float *tmp) {
    for (int k = 0; k < 4; k++) {
        if (rows[k] == NULL) continue;
        if (k < 3 && rows[k + 1] != NULL) {
            SL_WV_STORE(rows[k], r[k]);
        } else {
            SL_WV_STORE(tmp, r[k]);
            memcpy(rows[k], tmp, (size_t)w * sizeof(float));
        }
    }
}
