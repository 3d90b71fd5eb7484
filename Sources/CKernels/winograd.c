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

void sl_wino_weights(const float *w, int oc, int ic, int flip_transpose, float *u) {
    const long plane = (long)oc * ic;
    for (int o = 0; o < oc; o++) {
        for (int c = 0; c < ic; c++) {
            const float *g = w + ((long)o * ic + c) * 9;
            if (flip_transpose) {
                float f[9];
                for (int k = 0; k < 9; k++) f[k] = g[8 - k];   // rotate by 180°
                sl_wino_kernel(f, u + (long)c * oc + o, plane);
            } else {
                sl_wino_kernel(g, u + (long)o * ic + c, plane);
            }
        }
    }
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
    float zeros[w], t[4][pw];   // zeros: rows above and below the image (padding)
    for (int q = 0; q < w; q++) zeros[q] = 0.0f;
    for (int j = 0; j < 4; j++) {
        // t[j][q] holds column q − 1 of the image; the padding columns stay 0 throughout.
        t[j][0] = 0.0f;
        for (int q = w + 1; q < pw; q++) t[j][q] = 0.0f;
    }
    for (int c = c0; c < c1; c++) {
        for (int n = 0; n < count; n++) {
            const float *plane = x + ((long)c * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                const float *r[4];
                for (int k = 0; k < 4; k++) {
                    const int iy = 2 * ty - 1 + k;
                    r[k] = (iy >= 0 && iy < h) ? plane + (long)iy * w : zeros;
                }
                float *t0 = t[0] + 1, *t1 = t[1] + 1, *t2 = t[2] + 1, *t3 = t[3] + 1;
                for (int q = 0; q < w; q++) {   // Bᵀ d over the four rows
                    t0[q] = r[0][q] - r[2][q];
                    t1[q] = r[1][q] + r[2][q];
                    t2[q] = r[2][q] - r[1][q];
                    t3[q] = r[1][q] - r[3][q];
                }
                float *dst = v + (long)c * tiles + ((long)n * th + ty) * tw;
                for (int j = 0; j < 4; j++) {    // (Bᵀ d) B along each row
                    float *o0 = dst + (4 * j + 0) * mstride, *o1 = dst + (4 * j + 1) * mstride;
                    float *o2 = dst + (4 * j + 2) * mstride, *o3 = dst + (4 * j + 3) * mstride;
                    const float *s = t[j];
                    for (int tx = 0; tx < tw; tx++) {
                        const float a = s[2 * tx], b = s[2 * tx + 1], cc = s[2 * tx + 2], d = s[2 * tx + 3];
                        o0[tx] = a - cc;
                        o1[tx] = b + cc;
                        o2[tx] = cc - b;
                        o3[tx] = b - d;
                    }
                }
            }
        }
    }
}

// ---- output tiles: Y = Aᵀ M A, and its adjoint dM = A dY Aᵀ ----

// The output transform of one tile row: full 2×2 tiles in a branch-free loop the compiler
// vectorises, then the half tile of an odd width. `row1` may be a scratch row (odd height).
static inline void sl_wino_output_row(const float *src, long mstride, int tw, int w, float *row0, float *row1) {
    const int full = w / 2;
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
    if (full < tw) {   // odd width: the right column of the last tile lies outside
        float s[16];
        for (int i = 0; i < 16; i++) s[i] = src[i * mstride + full];
        row0[2 * full] = (s[0] + s[4] + s[8]) + (s[1] + s[5] + s[9]) + (s[2] + s[6] + s[10]);
        row1[2 * full] = (s[4] - s[8] - s[12]) + (s[5] - s[9] - s[13]) + (s[6] - s[10] - s[14]);
    }
}

void sl_wino_output(const float *m, int batch, int h, int w, int first, int count, int o0, int o1,
                    int outc, float *y) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    const long tiles = (long)count * th * tw, mstride = (long)outc * tiles;
    float discard[w + 1];   // receives the bottom row of the last tile row of an odd height
    for (int o = o0; o < o1; o++) {
        for (int n = 0; n < count; n++) {
            float *plane = y + ((long)o * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                const float *src = m + (long)o * tiles + ((long)n * th + ty) * tw;
                float *row0 = plane + (long)(2 * ty) * w;
                float *row1 = 2 * ty + 1 < h ? row0 + w : discard;
                sl_wino_output_row(src, mstride, tw, w, row0, row1);
            }
        }
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

void sl_wino_output_grad(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1,
                         int outc, float *dm) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2, full = w / 2;
    const long tiles = (long)count * th * tw, mstride = (long)outc * tiles;
    float zeros[w + 1];   // stands in for the missing bottom row of an odd height
    for (int i = 0; i <= w; i++) zeros[i] = 0.0f;
    for (int o = o0; o < o1; o++) {
        for (int n = 0; n < count; n++) {
            const float *plane = dy + ((long)o * batch + first + n) * h * w;
            for (int ty = 0; ty < th; ty++) {
                float *dst = dm + (long)o * tiles + ((long)n * th + ty) * tw;
                const float *row0 = plane + (long)(2 * ty) * w;
                const float *row1 = 2 * ty + 1 < h ? row0 + w : zeros;
                // dm and dy never overlap (the header's contract), so the loop may be vectorised.
#if defined(__clang__)
#pragma clang loop vectorize(enable)
#endif
                for (int tx = 0; tx < full; tx++) {
                    sl_wino_grad_tile(row0[2 * tx], row0[2 * tx + 1], row1[2 * tx], row1[2 * tx + 1], dst + tx, mstride);
                }
                if (full < tw) sl_wino_grad_tile(row0[2 * full], 0.0f, row1[2 * full], 0.0f, dst + full, mstride);
            }
        }
    }
}
