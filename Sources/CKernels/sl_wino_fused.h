// Winograd F(2×2, 3×3) convolution fused per block of tile rows (included by sl_kernels_body.h,
// once per instruction set). The separate passes (transform the whole chunk, 16 GEMMs, transform
// back) wrote and re-read [16][channels][tiles] arrays of megabytes: at 32 channels the
// transforms were store-bound and took as long as the GEMMs. Here a block of a few tile rows is
// transformed into V [16][ic][ld], multiplied into M [16][oc][ld] by a register-tiled kernel and
// transformed back while both stay in L2 (each of the 16 products in L1).
//
// Every output element is the same sequence of operations whatever the block or the caller's
// split of rows: V and M of a tile depend only on that tile, and each M element is a sum over
// input channels in order 0..ic−1. Results therefore do not depend on thread count or timing.
#include "sl_epilogue.h"
#include "sl_wino_rows.h"

typedef float sl_v8 __attribute__((vector_size(32)));

// Macros rather than functions: a 32-byte vector passed or returned by value changes the ABI on
// the baseline build (a -Wpsabi warning), although the calls would be inlined anyway.
#define sl_v8_load(p) ({ sl_v8 v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define sl_v8_store(p, v) do { const sl_v8 s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)
#define sl_v8_splat(s) ({ const float f_ = (s); (sl_v8){f_, f_, f_, f_, f_, f_, f_, f_}; })

// m (rows × cols, row stride ld) (+)= u (rows × k, row stride ldu) · v (k × cols, row stride ld);
// cols a multiple of 8; with `accumulate` the product is added to m (its old value starts each
// FMA chain). Four rows by
// sixteen columns per step (eight accumulators: enough independent chains for two FMA pipes);
// a last group of eight columns eight rows at a time (four rows by eight were latency-bound at
// half speed and took a tenth of the time); leftover rows by eight columns. Every element is
// the same chain of FMAs over c = 0..k−1 whichever kernel computes it.
static void sl_wino_block_gemm_v8(const float *u, int rows, int k, long ldu, const float *v, int ld, int cols,
                                  int accumulate, float *m) {
    const int wide = cols / 16 * 16, rows4 = rows / 4 * 4;
    for (int o = 0; o < rows4; o += 4) {
        const float *u0 = u + (long)o * ldu, *u1 = u0 + ldu, *u2 = u1 + ldu, *u3 = u2 + ldu;
        float *m0 = m + (long)o * ld, *m1 = m0 + ld, *m2 = m1 + ld, *m3 = m2 + ld;
        for (int t = 0; t < wide; t += 16) {
            sl_v8 a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
            if (accumulate) {
                a0 = sl_v8_load(m0 + t); b0 = sl_v8_load(m0 + t + 8);
                a1 = sl_v8_load(m1 + t); b1 = sl_v8_load(m1 + t + 8);
                a2 = sl_v8_load(m2 + t); b2 = sl_v8_load(m2 + t + 8);
                a3 = sl_v8_load(m3 + t); b3 = sl_v8_load(m3 + t + 8);
            }
            const float *vp = v + t;
            for (int c = 0; c < k; c++, vp += ld) {
                const sl_v8 x0 = sl_v8_load(vp), x1 = sl_v8_load(vp + 8);
                const sl_v8 w0 = sl_v8_splat(u0[c]), w1 = sl_v8_splat(u1[c]);
                const sl_v8 w2 = sl_v8_splat(u2[c]), w3 = sl_v8_splat(u3[c]);
                a0 += w0 * x0; b0 += w0 * x1;
                a1 += w1 * x0; b1 += w1 * x1;
                a2 += w2 * x0; b2 += w2 * x1;
                a3 += w3 * x0; b3 += w3 * x1;
            }
            sl_v8_store(m0 + t, a0); sl_v8_store(m0 + t + 8, b0);
            sl_v8_store(m1 + t, a1); sl_v8_store(m1 + t + 8, b1);
            sl_v8_store(m2 + t, a2); sl_v8_store(m2 + t + 8, b2);
            sl_v8_store(m3 + t, a3); sl_v8_store(m3 + t + 8, b3);
        }
    }
    if (wide < cols) {   // the last eight columns of the first rows4 rows
        const int t = wide;
        int o = 0;
        for (; o + 8 <= rows4; o += 8) {
            sl_v8 a[8] = {{0}};
            if (accumulate) for (int r = 0; r < 8; r++) a[r] = sl_v8_load(m + (long)(o + r) * ld + t);
            const float *vp = v + t, *ur = u + (long)o * ldu;
            for (int c = 0; c < k; c++, vp += ld) {
                const sl_v8 x0 = sl_v8_load(vp);
                for (int r = 0; r < 8; r++) a[r] += sl_v8_splat(ur[(long)r * ldu + c]) * x0;
            }
            for (int r = 0; r < 8; r++) sl_v8_store(m + (long)(o + r) * ld + t, a[r]);
        }
        for (; o < rows4; o += 4) {
            sl_v8 a[4] = {{0}};
            if (accumulate) for (int r = 0; r < 4; r++) a[r] = sl_v8_load(m + (long)(o + r) * ld + t);
            const float *vp = v + t, *ur = u + (long)o * ldu;
            for (int c = 0; c < k; c++, vp += ld) {
                const sl_v8 x0 = sl_v8_load(vp);
                for (int r = 0; r < 4; r++) a[r] += sl_v8_splat(ur[(long)r * ldu + c]) * x0;
            }
            for (int r = 0; r < 4; r++) sl_v8_store(m + (long)(o + r) * ld + t, a[r]);
        }
    }
    for (int o = rows4; o < rows; o++) {
        const float *ur = u + (long)o * ldu;
        for (int t = 0; t < cols; t += 8) {
            sl_v8 a = {0};
            if (accumulate) a = sl_v8_load(m + (long)o * ld + t);
            const float *vp = v + t;
            for (int c = 0; c < k; c++, vp += ld) a += sl_v8_splat(ur[c]) * sl_v8_load(vp);
            sl_v8_store(m + (long)o * ld + t, a);
        }
    }
}

#if defined(SL_KERNEL_AVX512)
typedef float sl_v16 __attribute__((vector_size(64)));
#define sl_v16_load(p) ({ sl_v16 v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define sl_v16_store(p, v) do { const sl_v16 s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)
#define sl_v16_splat(s) ({ const float f_ = (s); (sl_v16){f_, f_, f_, f_, f_, f_, f_, f_, f_, f_, f_, f_, f_, f_, f_, f_}; })
#endif

// m (rows × cols) (+)= u (rows × k, row stride ldu) · v (k × cols), v and m of row stride ld, cols a
// multiple of 8 (as sl_wino_block_gemm_v8; sl_wino_block_gemm: cols = ld, ldu = k). With AVX-512, eight rows by sixteen columns per step in 16-float vectors (eight
// accumulators, each FMA taking its weight as a broadcast memory operand), the rest by the
// 8-float kernel: every element is still one chain of FMAs over c = 0..k−1.
static void sl_wino_block_gemm_cols(const float *u, int rows, int k, long ldu, const float *v, int ld, int cols,
                                    int accumulate, float *m) {
#if defined(SL_KERNEL_AVX512)
    const int rows8 = rows / 8 * 8, wide = cols / 16 * 16;
    for (int o = 0; o < rows8; o += 8) {
        const float *ur = u + (long)o * ldu;
        float *mr = m + (long)o * ld;
        for (int t = 0; t < wide; t += 16) {
            sl_v16 a[8];
            for (int r = 0; r < 8; r++) a[r] = accumulate ? sl_v16_load(mr + (long)r * ld + t) : (sl_v16){0};
            const float *vp = v + t;
            for (int c = 0; c < k; c++, vp += ld) {
                const sl_v16 x = sl_v16_load(vp);
                for (int r = 0; r < 8; r++) a[r] += sl_v16_splat(ur[(long)r * ldu + c]) * x;
            }
            for (int r = 0; r < 8; r++) sl_v16_store(mr + (long)r * ld + t, a[r]);
        }
    }
    if (rows8 > 0 && wide < cols) sl_wino_block_gemm_v8(u, rows8, k, ldu, v + wide, ld, cols - wide, accumulate, m + wide);
    if (rows8 < rows) sl_wino_block_gemm_v8(u + (long)rows8 * ldu, rows - rows8, k, ldu, v, ld, cols, accumulate, m + (long)rows8 * ld);
#else
    sl_wino_block_gemm_v8(u, rows, k, ldu, v, ld, cols, accumulate, m);
#endif
}

static void sl_wino_block_gemm(const float *u, int rows, int k, const float *v, int ld, int accumulate, float *m) {
    sl_wino_block_gemm_cols(u, rows, k, k, v, ld, ld, accumulate, m);
}

// The products of the Winograd passes: m (rows × cols) = u (rows × k) · v (k × cols), v and m
// with row stride ld. They went to OpenBLAS, which first needed m cleared (a pass over megabytes)
// and, where OPENBLAS_CORETYPE pins its AVX2 kernels on an AVX-512 CPU, ran at half the FMA
// rate. Here: column panels of SL_PASS_PANEL (v's panel stays in L2 while every row group
// goes over it) by the fused blocks' register-tiled kernel, which writes m without reading it;
// a last 1–7 columns by scalar chains. Every element is one chain of FMAs over c = 0..k−1.
static void sl_wino_pass_gemm_impl(const float *u, int rows, int k, const float *v, int ld, int cols, float *m) {
    for (int p0 = 0; p0 < cols; p0 += SL_PASS_PANEL) {
        const int pc = cols - p0 < SL_PASS_PANEL ? cols - p0 : SL_PASS_PANEL, whole = pc / 8 * 8;
        if (whole > 0) sl_wino_block_gemm_cols(u, rows, k, k, v + p0, ld, whole, 0, m + p0);
        for (int r = 0; r < rows; r++) {
            const float *ur = u + (long)r * k;
            for (int t = p0 + whole; t < p0 + pc; t++) {
                float sum = 0.0f;
                for (int c = 0; c < k; c++) sum = __builtin_fmaf(ur[c], v[(long)c * ld + t], sum);
                m[(long)r * ld + t] = sum;
            }
        }
    }
}

// The tile rows of a block: `rows` (at least one), or down to half as many, or else up to twice
// as many, if that makes the block's tiles fill whole vectors of eight. Padding columns cost
// clearing (at 14-pixel images a thousand tiny memsets per block) and products: 4 rows of 7
// tiles (64 + 64 channels at 28 pixels) multiplied 32 columns for 28 tiles, and 8 rows ran that
// layer 5–10 % faster although V and M then outgrow L2. Per-tile results do not depend on the
// block; a weight gradient's sum is grouped by block.
static int sl_wino_whole_vector_rows(int rows, int tw) {
    if (rows < 1) return 1;
    for (int r = rows; r >= (rows + 1) / 2; r--) {
        if ((r * tw) % 8 == 0) return r;
    }
    for (int r = rows + 1; r <= 2 * rows; r++) {
        if ((r * tw) % 8 == 0) return r;
    }
    return rows;
}

static int sl_wino_fused_block_rows_impl(int ic, int oc, int w) {
    // V and M of a block take 16·(ic + oc)·ld floats; about 320 KB keeps both in a 512 KB L2
    // with room for the input rows and the output being written.
    const int tw = (w + 1) / 2;
    const int tiles = 5120 / (ic + oc);
    return sl_wino_whole_vector_rows(tiles / tw, tw);
}

static long sl_wino_fused_scratch_impl(int ic, int oc, int w) {
    const int tw = (w + 1) / 2, pw = 2 * tw + 2;
    const long ld = ((long)sl_wino_fused_block_rows_impl(ic, oc, w) * tw + 7) / 8 * 8;
    return 16 * (sl_wino_spread((long)ic * ld) + sl_wino_spread((long)oc * ld)) + 4L * pw + 2L * (w + 1) + (long)ic * ld + 4L * tw   // as sl_wino_scratch_carve
           + 4L * pw;
}

// The scratch of one call, carved in one place for both kernels: V, the product side (M forward,
// D for the weight gradient), the input rows' transform (4 rows of pw, padding columns cleared),
// w + 1 zeros (padding rows of x, the missing row of dy), a w + 1 discard row (the missing
// output row of an odd height), Vᵀ of one product (weight gradient) and the two output rows of a
// tile row that is pooled (2 × 2·tw), and a second input row scratch for the second tile row
// of a pair (sl_wino_pairs_rows).
typedef struct sl_wino_scratch {
    float *v, *product, *t, *zeros, *discard, *vt, *stage, *t2;
    int block;
} sl_wino_scratch;

static sl_wino_scratch sl_wino_scratch_carve(float *scratch, int ic, int oc, int w) {
    const int tw = (w + 1) / 2, pw = 2 * tw + 2;
    sl_wino_scratch s;
    s.block = sl_wino_fused_block_rows_impl(ic, oc, w);
    const long ldmax = ((long)s.block * tw + 7) / 8 * 8;
    s.v = scratch;
    s.product = s.v + 16 * sl_wino_spread((long)ic * ldmax);
    s.t = s.product + 16 * sl_wino_spread((long)oc * ldmax);
    s.zeros = s.t + 4 * pw;
    s.discard = s.zeros + w + 1;
    s.vt = s.discard + w + 1;
    s.stage = s.vt + (long)ic * ldmax;
    s.t2 = s.stage + 4L * tw;
    for (int q = 0; q <= w; q++) s.zeros[q] = 0.0f;
    sl_wino_input_row_scratch(s.t, pw, w);
    sl_wino_input_row_scratch(s.t2, pw, w);
    return s;
}

// The end of the output rows of tile rows up to re − 1 within a channel's plane (images of h rows).
static inline long sl_wino_rows_end(int re, int th, int h, int w, long image) {
    const int last = 2 * ((re - 1) % th) + 2;
    return (long)((re - 1) / th) * image + (long)(last < h ? last : h) * w;
}

// The input tiles of one block (rows rb..re) into v [16][ic][ld], padding columns cleared.
SL_INLINE void sl_wino_block_input(const float *x, int batch, int h, int w, int ic, int rb, int re, int ld,
                                   float *t, float *t2, const float *zeros, float *v) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2, pw = 2 * tw + 2, tiles = (re - rb) * tw;
    const long image = (long)h * w, plane = (long)batch * image;
    const int pairs = sl_wino_pairs_rows(w);
    const long vs = sl_wino_spread((long)ic * ld);
    // The block's input rows of one channel, contiguous in the plane (as in sl_wino4_block_input).
    const long span_first = (long)(rb / th) * image + (long)(2 * (rb % th) - 1) * w;
    const long span_end = (long)((re - 1) / th) * image + (long)(2 * ((re - 1) % th) + 3) * w;
    const long span0 = span_first > 0 ? span_first : 0, span1 = span_end < plane ? span_end : plane;
    for (int c = 0; c < ic; c++) {
        for (int row = rb; row < re; row++) {
            const int n = row / th, ty = row % th;
            if (c + 1 < ic) sl_prefetch_slice(x + (long)(c + 1) * plane, span0, span1, row - rb, re - rb);
            if (pairs && row + 1 < re) {   // rows row and row + 1: eight consecutive tile slots
                if (c + 1 < ic) sl_prefetch_slice(x + (long)(c + 1) * plane, span0, span1, row + 1 - rb, re - rb);
                const int n2 = (row + 1) / th, ty2 = (row + 1) % th;
                sl_wino_input_row_pair(x + c * plane + n * image, ty, x + c * plane + n2 * image, ty2, h, w, t, t2, pw,
                                       zeros, v + (long)c * ld + (long)(row - rb) * tw, vs);
                row++;
                continue;
            }
            sl_wino_input_row(x + c * plane + n * image, h, w, ty, t, pw, zeros,
                              v + (long)c * ld + (long)(row - rb) * tw, vs);
        }
        for (int i = 0; i < 16; i++) {   // padding columns: defined values for the products
            float *pad = v + i * vs + (long)c * ld;
            sl_clear_padding(pad + tiles, ld - tiles);
        }
    }
}

static void sl_wino_fused_rows_impl(const float *x, int batch, int h, int w, int ic, int oc, const float *u,
                                    int r0, int r1, const sl_output_epilogue *post, float *scratch, float *y) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    const sl_wino_scratch sc = sl_wino_scratch_carve(scratch, ic, oc, w);
    const int block = sc.block;
    float *v = sc.v, *m = sc.product, *t = sc.t, *zeros = sc.zeros, *discard = sc.discard;
    const long image = (long)h * w, plane = (long)batch * image;
    for (int rb = r0; rb < r1; rb += block) {
        const int re = rb + block < r1 ? rb + block : r1;
        const int tiles = (re - rb) * tw;
        const int ld = (tiles + 7) / 8 * 8;
        const long vs = sl_wino_spread((long)ic * ld), ms = sl_wino_spread((long)oc * ld);
        sl_wino_block_input(x, batch, h, w, ic, rb, re, ld, t, sc.t2, zeros, v);
        for (int i = 0; i < 16; i++) {
            sl_wino_block_gemm(u + (long)i * oc * ic, oc, ic, v + i * vs, ld, 0, m + i * ms);
        }
        const int pools = post != NULL && post->pooled != NULL;
        const int pairs = !pools && sl_wino_pairs_rows(w);
        const long out0 = (long)(rb / th) * image + (long)(2 * (rb % th)) * w;
        const long out1 = sl_wino_rows_end(re, th, h, w, image);
        for (int o = 0; o < oc; o++) {
            for (int row = rb; row < re; row++) {
                const int n = row / th, ty = row % th;
                if (!pools && o + 1 < oc) sl_prefetch_slice_for_writing(y + (long)(o + 1) * plane, out0, out1, row - rb, re - rb);
                if (pairs && row + 1 < re) {   // rows row and row + 1 from eight consecutive tile slots
                    if (!pools && o + 1 < oc) sl_prefetch_slice_for_writing(y + (long)(o + 1) * plane, out0, out1, row + 1 - rb, re - rb);
                    const int n2 = (row + 1) / th, ty2 = (row + 1) % th;
                    float *a0 = y + o * plane + n * image + (long)(2 * ty) * w;
                    float *a1 = 2 * ty + 1 < h ? a0 + w : discard;
                    float *b0 = y + o * plane + n2 * image + (long)(2 * ty2) * w;
                    float *b1 = 2 * ty2 + 1 < h ? b0 + w : discard;
                    sl_wino_output_row_pair(m + (long)o * ld + (long)(row - rb) * tw, ms, w, a0, a1, b0, b1);
                    if (post != NULL) {
                        float *const ra[2] = {a0, a1}, *const rb2[2] = {b0, b1};
                        sl_epilogue_tile_row(ra, 2, w, h, 2 * ty, batch, n, post, o);
                        sl_epilogue_tile_row(rb2, 2, w, h, 2 * ty2, batch, n2, post, o);
                    }
                    row++;
                    continue;
                }
                // A pooled output is only staged: the pooled rows are what gets written.
                float *row0 = pools ? sc.stage : y + o * plane + n * image + (long)(2 * ty) * w;
                float *row1 = 2 * ty + 1 < h ? (pools ? sc.stage + 2 * tw : row0 + w) : discard;
                sl_wino_output_row(m + (long)o * ld + (long)(row - rb) * tw, ms, tw, w, row0, row1);
                if (post != NULL) {
                    float *const rows[2] = {row0, row1};
                    sl_epilogue_tile_row(rows, 2, w, h, 2 * ty, batch, n, post, o);
                }
            }
        }
    }
}

// out (cols × rows, row stride rows) = in (rows × cols, row stride ld)ᵀ; rows and cols multiples
// of 8: 8 × 8 blocks transposed in registers (unpack, shuffle, swap halves).
static void sl_wino_transpose8(const float *in, int rows, int cols, int ld, float *out) {
    for (int r0 = 0; r0 < rows; r0 += 8) {
        for (int c0 = 0; c0 < cols; c0 += 8) {
            sl_v8 r[8];
            for (int k = 0; k < 8; k++) r[k] = sl_v8_load(in + (long)(r0 + k) * ld + c0);
            sl_v8 t[8], s[8];
            for (int k = 0; k < 4; k++) {
                t[2 * k] = __builtin_shufflevector(r[2 * k], r[2 * k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
                t[2 * k + 1] = __builtin_shufflevector(r[2 * k], r[2 * k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
            }
            for (int k = 0; k < 2; k++) {   // k = 0: rows 0–3, k = 1: rows 4–7
                s[4 * k + 0] = __builtin_shufflevector(t[4 * k], t[4 * k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
                s[4 * k + 1] = __builtin_shufflevector(t[4 * k], t[4 * k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
                s[4 * k + 2] = __builtin_shufflevector(t[4 * k + 1], t[4 * k + 3], 0, 1, 8, 9, 4, 5, 12, 13);
                s[4 * k + 3] = __builtin_shufflevector(t[4 * k + 1], t[4 * k + 3], 2, 3, 10, 11, 6, 7, 14, 15);
            }
            for (int j = 0; j < 4; j++) {
                sl_v8_store(out + (long)(c0 + j) * rows + r0, __builtin_shufflevector(s[j], s[4 + j], 0, 1, 2, 3, 8, 9, 10, 11));
                sl_v8_store(out + (long)(c0 + 4 + j) * rows + r0, __builtin_shufflevector(s[j], s[4 + j], 4, 5, 6, 7, 12, 13, 14, 15));
            }
        }
    }
}

// The weight gradient's products in the passes: du (oc × ic) (+)= d (oc × tiles, row stride ld) ·
// vᵀ for v (ic × tiles, row stride ld), ic a multiple of 8. OpenBLAS took vᵀ as it is; here
// panels of SL_PASS_PANEL tiles of v are transposed (8 × 8 blocks in registers) into `vt`
// (SL_PASS_PANEL × ic floats) and multiplied by the register-tiled kernel, each panel's chains
// starting from the previous panel's sums: every element is one chain of FMAs over the tiles in
// order, the last 1–7 tiles added by scalar FMAs. Without `accumulate` du is written, not read.
static void sl_wino_pass_weight_grad_impl(const float *d, int oc, int tiles, const float *v, int ic, int ld,
                                          int accumulate, float *vt, float *du) {
    const int whole = tiles / 8 * 8;
    for (int p0 = 0; p0 < whole; p0 += SL_PASS_PANEL) {
        const int pc = whole - p0 < SL_PASS_PANEL ? whole - p0 : SL_PASS_PANEL;
        sl_wino_transpose8(v + p0, ic, pc, ld, vt);
        sl_wino_block_gemm_cols(d + p0, oc, pc, ld, vt, ic, ic, accumulate || p0 > 0, du);
    }
    if (whole == tiles) return;
    for (int o = 0; o < oc; o++) {
        const float *dr = d + (long)o * ld;
        for (int c = 0; c < ic; c++) {
            const float *vr = v + (long)c * ld;
            float sum = accumulate || whole > 0 ? du[(long)o * ic + c] : 0.0f;
            for (int t = whole; t < tiles; t++) sum = __builtin_fmaf(dr[t], vr[t], sum);
            du[(long)o * ic + c] = sum;
        }
    }
}

// The weight gradient fused the same way: per block, V [16][ic][ld] and D = A dY Aᵀ [16][oc][ld]
// (both with zero padding columns), then for each product Vᵢ transposed (in L1) and
// dUᵢ (oc × ic) += Dᵢ (oc × ld) · Vᵢᵀ by the forward's kernel. ic must be a multiple of 8.
static void sl_wino_fused_weight_grad_rows_impl(const float *x, const float *dy, int batch, int h, int w, int ic,
                                                int oc, int r0, int r1, int accumulate, float *scratch, float *du) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    const sl_wino_scratch sc = sl_wino_scratch_carve(scratch, ic, oc, w);
    const int block = sc.block;
    float *v = sc.v, *d = sc.product, *t = sc.t, *zeros = sc.zeros, *vt = sc.vt;
    const long image = (long)h * w, plane = (long)batch * image;
    for (int rb = r0; rb < r1; rb += block) {
        const int re = rb + block < r1 ? rb + block : r1;
        const int tiles = (re - rb) * tw;
        const int ld = (tiles + 7) / 8 * 8;
        const long vs = sl_wino_spread((long)ic * ld), ds = sl_wino_spread((long)oc * ld);
        sl_wino_block_input(x, batch, h, w, ic, rb, re, ld, t, sc.t2, zeros, v);
        const int pairs = sl_wino_pairs_rows(w);
        const long out0 = (long)(rb / th) * image + (long)(2 * (rb % th)) * w;
        const long out1 = sl_wino_rows_end(re, th, h, w, image);
        for (int o = 0; o < oc; o++) {
            for (int row = rb; row < re; row++) {
                const int n = row / th, ty = row % th;
                if (o + 1 < oc) sl_prefetch_slice(dy + (long)(o + 1) * plane, out0, out1, row - rb, re - rb);
                if (pairs && row + 1 < re) {   // rows row and row + 1 into eight consecutive tile slots
                    if (o + 1 < oc) sl_prefetch_slice(dy + (long)(o + 1) * plane, out0, out1, row + 1 - rb, re - rb);
                    const int n2 = (row + 1) / th, ty2 = (row + 1) % th;
                    const float *a0 = dy + o * plane + n * image + (long)(2 * ty) * w;
                    const float *b0 = dy + o * plane + n2 * image + (long)(2 * ty2) * w;
                    sl_wino_output_grad_row_pair(a0, 2 * ty + 1 < h ? a0 + w : zeros, b0, 2 * ty2 + 1 < h ? b0 + w : zeros, w,
                                                 d + (long)o * ld + (long)(row - rb) * tw, ds);
                    row++;
                    continue;
                }
                const float *row0 = dy + o * plane + n * image + (long)(2 * ty) * w;
                const float *row1 = 2 * ty + 1 < h ? row0 + w : zeros;
                sl_wino_output_grad_row(row0, row1, tw, w, d + (long)o * ld + (long)(row - rb) * tw, ds);
            }
            for (int i = 0; i < 16; i++) {
                float *pad = d + i * ds + (long)o * ld;
                sl_clear_padding(pad + tiles, ld - tiles);
            }
        }
        for (int i = 0; i < 16; i++) {
            sl_wino_transpose8(v + i * vs, ic, ld, ld, vt);
            // Without `accumulate` the call's first block writes du (the same bits as adding to
            // zeros), so callers need not clear it: for 96 channels that was 1.3 M floats per
            // group and layer.
            sl_wino_block_gemm(d + i * ds, oc, ld, vt, ic, accumulate || rb > r0, du + (long)i * oc * ic);
        }
    }
}
