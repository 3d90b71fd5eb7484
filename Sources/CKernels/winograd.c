// Winograd F(2×2, 3×3) transforms for 3×3, stride-1, padding-1 convolutions in SphereLab's
// channel-major layout. A 2×2 block of outputs ("tile") comes from a 4×4 block of input:
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// so each tile costs 16 multiply-adds per input channel instead of 36 (2.25× fewer): the 16
// element-wise products over channels become 16 independent GEMMs done by the caller.
//     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//     Aᵀ = [1 1 1 0; 0 1 −1 −1]
// Transformed arrays are [16][rows][tiles] (index i = 4·row-transform + column-transform), so
// that matrix i of each is an ordinary row-major GEMM operand.
#include <stddef.h>

#include "CKernels.h"
#include "sl_wino_rows.h"
#include "sl_wino4_rows.h"

// ---- weights ----

// (G g Gᵀ) for one 3×3 kernel g (row-major), written to out[i·stride].
static void sl_wino_kernel(const float g[9], float *out, long stride) {
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        const float a = g[j], b = g[3 + j], c = g[6 + j];
        t[0][j] = a;
        t[1][j] = 0.5f * (a + b + c);
        t[2][j] = 0.5f * (a - b + c);
        t[3][j] = c;
    }
    for (int r = 0; r < 4; r++) {
        const float a = t[r][0], b = t[r][1], c = t[r][2];
        out[(4 * r + 0) * stride] = a;
        out[(4 * r + 1) * stride] = 0.5f * (a + b + c);
        out[(4 * r + 2) * stride] = 0.5f * (a - b + c);
        out[(4 * r + 3) * stride] = c;
    }
}

// Applies `kernel` (one 3×3 kernel → its T transformed values at out[i·stride]) to every kernel
// of w (oc, ic, 3, 3): u [T][oc][ic], or rotated by 180° and transposed, u [T][ic][oc].
static void sl_wino_each_kernel(const float *w, int oc, int ic, int flip_transpose, float *u,
                                void (*kernel)(const float g[9], float *out, long stride)) {
    const long plane = (long)oc * ic;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            const float *g = w + ((long)o * ic + c) * 9;
            if (flip_transpose) {
                float f[9];
                for (int k = 0; k < 9; k++) f[k] = g[8 - k];   // rotate by 180°
                kernel(f, u + (long)c * oc + o, plane);
            } else {
                kernel(g, u + (long)o * ic + c, plane);
            }
        }
    }
}

void sl_wino_weights(const float *w, int oc, int ic, int flip_transpose, float *u) {
    sl_wino_each_kernel(w, oc, ic, flip_transpose, u, sl_wino_kernel);
}

void sl_wino_weight_grad(const float *du, int oc, int ic, float *dw) {
    // dg = Gᵀ dU G, Gᵀ u = (u0 + ½u1 + ½u2, ½u1 − ½u2, ½u1 + ½u2 + u3).
    const long plane = (long)oc * ic;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            const float *s = du + (long)o * ic + c;
            float t[3][4];
            for (int j = 0; j < 4; j++) {
                const float u0 = s[(0 + j) * plane], u1 = s[(4 + j) * plane];
                const float u2 = s[(8 + j) * plane], u3 = s[(12 + j) * plane];
                t[0][j] = u0 + 0.5f * (u1 + u2);
                t[1][j] = 0.5f * (u1 - u2);
                t[2][j] = 0.5f * (u1 + u2) + u3;
            }
            float *g = dw + ((long)o * ic + c) * 9;
            for (int r = 0; r < 3; r++) {
                const float u0 = t[r][0], u1 = t[r][1], u2 = t[r][2], u3 = t[r][3];
                g[3 * r + 0] += u0 + 0.5f * (u1 + u2);
                g[3 * r + 1] += 0.5f * (u1 - u2);
                g[3 * r + 2] += 0.5f * (u1 + u2) + u3;
            }
        }
    }
}

// ---- input tiles: V = Bᵀ d B ----

void sl_wino_input(const float *x, int batch, int h, int w, int first, int count, int c0, int c1,
                   int channels, float *v) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2, pw = 2 * tw + 2;
    const long tiles = (long)count * th * tw, mstride = (long)channels * tiles;
    float zeros[w], t[4 * pw], t2[4 * pw];   // zeros: rows above and below the image (padding)
    for (int q = 0; q < w; q++) zeros[q] = 0.0f;
    sl_wino_input_row_scratch(t, pw, w);
    sl_wino_input_row_scratch(t2, pw, w);
    const int pairs = sl_wino_pairs_rows(w);
    for (int c = c0; c < c1; c++) {
        for (int n = 0; n < count; n++) {
            const float *plane = x + ((long)c * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                float *dst = v + (long)c * tiles + ((long)n * th + ty) * tw;
                if (pairs && ty + 1 < th) {   // tile rows ty and ty + 1 as vectors of eight
                    sl_wino_input_row_pair(plane, ty, plane, ty + 1, h, w, t, t2, pw, zeros, dst, mstride);
                    ty++;
                    continue;
                }
                sl_wino_input_row(plane, h, w, ty, t, pw, zeros, dst, mstride);
            }
        }
    }
}

// ---- output tiles: Y = Aᵀ M A, and its adjoint dM = A dY Aᵀ ----

void sl_wino_output(const float *m, int batch, int h, int w, int first, int count, int o0, int o1,
                    int outc, const sl_output_epilogue *post, float *y) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    const long tiles = (long)count * th * tw, mstride = (long)outc * tiles;
    float discard[w + 1];   // receives the bottom row of the last tile row of an odd height
    float stage[4 * tw];    // the two rows of a tile row that is pooled
    const int pools = post != NULL && post->pooled != NULL;
    const int pairs = !pools && sl_wino_pairs_rows(w);
    for (int o = o0; o < o1; o++) {
        for (int n = 0; n < count; n++) {
            float *plane = y + ((long)o * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                const float *src = m + (long)o * tiles + ((long)n * th + ty) * tw;
                if (pairs && ty + 1 < th) {   // tile rows ty and ty + 1 from vectors of eight
                    float *a0 = plane + (long)(2 * ty) * w, *b0 = a0 + 2 * w;
                    float *b1 = 2 * ty + 3 < h ? b0 + w : discard;
                    sl_wino_output_row_pair(src, mstride, w, a0, a0 + w, b0, b1);
                    if (post != NULL) {
                        float *const ra[2] = {a0, a0 + w}, *const rb[2] = {b0, b1};
                        sl_epilogue_tile_row(ra, 2, w, h, 2 * ty, batch, first + n, post, o);
                        sl_epilogue_tile_row(rb, 2, w, h, 2 * ty + 2, batch, first + n, post, o);
                    }
                    ty++;
                    continue;
                }
                float *row0 = pools ? stage : plane + (long)(2 * ty) * w;
                float *row1 = 2 * ty + 1 < h ? (pools ? stage + 2 * tw : row0 + w) : discard;
                sl_wino_output_row(src, mstride, tw, w, row0, row1);
                if (post != NULL) {
                    float *const rows[2] = {row0, row1};
                    sl_epilogue_tile_row(rows, 2, w, h, 2 * ty, batch, first + n, post, o);
                }
            }
        }
    }
}

void sl_wino_output_grad(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1,
                         int outc, float *dm) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    const long tiles = (long)count * th * tw, mstride = (long)outc * tiles;
    float zeros[w + 1];   // stands in for the missing bottom row of an odd height
    for (int i = 0; i <= w; i++) zeros[i] = 0.0f;
    const int pairs = sl_wino_pairs_rows(w);
    for (int o = o0; o < o1; o++) {
        for (int n = 0; n < count; n++) {
            const float *plane = dy + ((long)o * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                float *dst = dm + (long)o * tiles + ((long)n * th + ty) * tw;
                if (pairs && ty + 1 < th) {   // tile rows ty and ty + 1 as vectors of eight
                    const float *a0 = plane + (long)(2 * ty) * w, *b0 = a0 + 2 * w;
                    sl_wino_output_grad_row_pair(a0, a0 + w, b0, 2 * ty + 3 < h ? b0 + w : zeros, w, dst, mstride);
                    ty++;
                    continue;
                }
                const float *row0 = plane + (long)(2 * ty) * w;
                const float *row1 = 2 * ty + 1 < h ? row0 + w : zeros;
                sl_wino_output_grad_row(row0, row1, tw, w, dst, mstride);
            }
        }
    }
}

// ---- F(4×4, 3×3) (sl_wino4_rows.h for the matrices) ----

// (G g Gᵀ) 6×6 for one 3×3 kernel g, written to out[i·stride].
static void sl_wino4_kernel(const float g[9], float *out, long stride) {
    float t[6][3];   // G g: the six rows of G over each kernel column
    for (int j = 0; j < 3; j++) {
        const float a = g[j], b = g[3 + j], c = g[6 + j];
        t[0][j] = 0.25f * a;
        t[1][j] = -(a + b + c) / 6.0f;
        t[2][j] = -(a - b + c) / 6.0f;
        t[3][j] = a / 24.0f + b / 12.0f + c / 6.0f;
        t[4][j] = a / 24.0f - b / 12.0f + c / 6.0f;
        t[5][j] = c;
    }
    for (int r = 0; r < 6; r++) {
        const float a = t[r][0], b = t[r][1], c = t[r][2];
        out[(6 * r + 0) * stride] = 0.25f * a;
        out[(6 * r + 1) * stride] = -(a + b + c) / 6.0f;
        out[(6 * r + 2) * stride] = -(a - b + c) / 6.0f;
        out[(6 * r + 3) * stride] = a / 24.0f + b / 12.0f + c / 6.0f;
        out[(6 * r + 4) * stride] = a / 24.0f - b / 12.0f + c / 6.0f;
        out[(6 * r + 5) * stride] = c;
    }
}

void sl_wino4_weights(const float *w, int oc, int ic, int flip_transpose, float *u) {
    sl_wino_each_kernel(w, oc, ic, flip_transpose, u, sl_wino4_kernel);
}

// Gᵀ applied to six values (the adjoint of the rows of G above).
#define SL_W4_GT(u0, u1, u2, u3, u4, u5, v)                                     \
    do {                                                                        \
        (v)[0] = 0.25f * (u0) - ((u1) + (u2)) / 6.0f + ((u3) + (u4)) / 24.0f;   \
        (v)[1] = ((u2) - (u1)) / 6.0f + ((u3) - (u4)) / 12.0f;                  \
        (v)[2] = ((u3) + (u4) - (u1) - (u2)) / 6.0f + (u5);                     \
    } while (0)

void sl_wino4_weight_grad(const float *du, int oc, int ic, float *dw) {
    // dg = Gᵀ dU G.
    const long plane = (long)oc * ic;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            const float *s = du + (long)o * ic + c;
            float t[3][6];
            for (int j = 0; j < 6; j++) {
                float v[3];
                SL_W4_GT(s[(0 + j) * plane], s[(6 + j) * plane], s[(12 + j) * plane], s[(18 + j) * plane],
                         s[(24 + j) * plane], s[(30 + j) * plane], v);
                for (int r = 0; r < 3; r++) t[r][j] = v[r];
            }
            float *g = dw + ((long)o * ic + c) * 9;
            for (int r = 0; r < 3; r++) {
                float v[3];
                SL_W4_GT(t[r][0], t[r][1], t[r][2], t[r][3], t[r][4], t[r][5], v);
                for (int k = 0; k < 3; k++) g[3 * r + k] += v[k];
            }
        }
    }
}

void sl_wino4_input(const float *x, int batch, int h, int w, int first, int count, int c0, int c1,
                    int channels, float *v) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4, pw = sl_wino4_row_width(w);
    const long tiles = (long)count * th * tw, mstride = (long)channels * tiles;
    float zeros[w], t[6 * pw], t2[6 * pw];
    for (int q = 0; q < w; q++) zeros[q] = 0.0f;
    sl_wino4_clear_rows(t, 6, pw);
    sl_wino4_clear_rows(t2, 6, pw);
    const int pairs = sl_wino4_pairs_rows(w);
    for (int c = c0; c < c1; c++) {
        for (int n = 0; n < count; n++) {
            const float *plane = x + ((long)c * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                float *dst = v + (long)c * tiles + ((long)n * th + ty) * tw;
                if (pairs && ty + 1 < th) {   // tile rows ty and ty + 1 as vectors of eight
                    sl_wino4_input_row_pair(plane, ty, plane, ty + 1, h, w, t, t2, pw, zeros, dst, mstride);
                    ty++;
                    continue;
                }
                // The slots past a row: the next row's, written next, within this channel's row.
                sl_wino4_input_row(plane, h, w, ty, t, pw, zeros, dst, mstride, tiles - ((long)n * th + ty) * tw);
            }
        }
    }
}

void sl_wino4_output(const float *m, int batch, int h, int w, int first, int count, int o0, int o1,
                     int outc, const sl_output_epilogue *post, float *y) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4;
    const long tiles = (long)count * th * tw, mstride = (long)outc * tiles;
    float tmp[16 * tw], tmp2[16 * tw], stage[16 * tw];   // stage: the four rows of a tile row that is pooled
    const int pools = post != NULL && post->pooled != NULL, stride = pools ? 4 * tw : w;
    const int pairs = !pools && sl_wino4_pairs_rows(w);
    for (int o = o0; o < o1; o++) {
        for (int n = 0; n < count; n++) {
            float *plane = y + ((long)o * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                const float *src = m + (long)o * tiles + ((long)n * th + ty) * tw;
                if (pairs && ty + 1 < th) {   // tile rows ty and ty + 1 from vectors of eight
                    float *fa = plane + (long)(4 * ty) * w, *fb = fa + 4L * w;
                    float *const ra[4] = {fa, fa + w, fa + 2 * w, fa + 3 * w};
                    float *const rb[4] = {fb, 4 * ty + 5 < h ? fb + w : NULL, 4 * ty + 6 < h ? fb + 2 * w : NULL,
                                          4 * ty + 7 < h ? fb + 3 * w : NULL};
                    sl_wino4_output_row_pair(src, mstride, w, ra, rb, tmp, tmp2);
                    if (post != NULL) {
                        sl_epilogue_tile_row(ra, 4, w, h, 4 * ty, batch, first + n, post, o);
                        sl_epilogue_tile_row(rb, 4, w, h, 4 * ty + 4, batch, first + n, post, o);
                    }
                    ty++;
                    continue;
                }
                float *top = pools ? stage : plane + (long)(4 * ty) * w;
                float *const rows[4] = {top, 4 * ty + 1 < h ? top + stride : NULL, 4 * ty + 2 < h ? top + 2 * stride : NULL,
                                        4 * ty + 3 < h ? top + 3 * stride : NULL};
                sl_wino4_output_row(src, mstride, tw, stride, rows, tmp);
                if (post != NULL) sl_epilogue_tile_row(rows, 4, w, h, 4 * ty, batch, first + n, post, o);
            }
        }
    }
}

void sl_wino4_output_grad(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1,
                          int outc, float *dm) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4, pw = sl_wino4_row_width(w);
    const long tiles = (long)count * th * tw, mstride = (long)outc * tiles;
    float zeros[w], t[6 * pw], t2[6 * pw];   // zeros: the rows below an image whose height is not a multiple of 4
    for (int q = 0; q < w; q++) zeros[q] = 0.0f;
    sl_wino4_clear_rows(t, 6, pw);
    sl_wino4_clear_rows(t2, 6, pw);
    const int pairs = sl_wino4_pairs_rows(w);
    for (int o = o0; o < o1; o++) {
        for (int n = 0; n < count; n++) {
            const float *plane = dy + ((long)o * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                float *dst = dm + (long)o * tiles + ((long)n * th + ty) * tw;
                if (pairs && ty + 1 < th) {   // tile rows ty and ty + 1 as vectors of eight
                    const float *fa = plane + (long)(4 * ty) * w, *fb = fa + 4L * w;
                    const float *const ra[4] = {fa, fa + w, fa + 2 * w, fa + 3 * w};
                    const float *const rb[4] = {fb, 4 * ty + 5 < h ? fb + w : zeros, 4 * ty + 6 < h ? fb + 2 * w : zeros,
                                                4 * ty + 7 < h ? fb + 3 * w : zeros};
                    sl_wino4_output_grad_row_pair(ra, rb, w, t, t2, pw, dst, mstride);
                    ty++;
                    continue;
                }
                const float *top = plane + (long)(4 * ty) * w;
                const float *const rows[4] = {top, 4 * ty + 1 < h ? top + w : zeros, 4 * ty + 2 < h ? top + 2 * w : zeros,
                                              4 * ty + 3 < h ? top + 3 * w : zeros};
                sl_wino4_output_grad_row(rows, w, t, pw, dst, mstride, tiles - ((long)n * th + ty) * tw);
            }
        }
    }
}
