// The separate Winograd passes (layers wider than the fused blocks take): input tiles, output
// tiles and the output gradient's tiles over ranges of channels and images, tile row by tile
// row with the row transforms of sl_wino_rows.h and sl_wino4_rows.h. Included by
// sl_kernels_body.h, so they are compiled for each instruction set like the fused blocks (they
// were baseline-only, SSE, in winograd.c: about a fifth of a cifar-w1 training step).
#pragma once

#include "sl_epilogue.h"
#include "sl_wino_rows.h"
#include "sl_wino4_rows.h"

static void sl_wino_input_impl(const float *x, int batch, int h, int w, int first, int count, int c0, int c1,
                   int channels, float *v) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2, pw = 2 * tw + 2;
    const long tiles = (long)count * th * tw, mstride = sl_wino_spread((long)channels * tiles);
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

static void sl_wino_output_impl(const float *m, int batch, int h, int w, int first, int count, int o0, int o1,
                    int outc, const sl_output_epilogue *post, float *y) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    const long tiles = (long)count * th * tw, mstride = sl_wino_spread((long)outc * tiles);
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

static void sl_wino_output_grad_impl(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1,
                         int outc, float *dm) {
    const int th = (h + 1) / 2, tw = (w + 1) / 2;
    const long tiles = (long)count * th * tw, mstride = sl_wino_spread((long)outc * tiles);
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

static void sl_wino4_input_impl(const float *x, int batch, int h, int w, int first, int count, int c0, int c1,
                    int channels, float *v) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4, pw = sl_wino4_row_width(w);
    const long tiles = (long)count * th * tw, mstride = sl_wino_spread((long)channels * tiles);
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

static void sl_wino4_output_impl(const float *m, int batch, int h, int w, int first, int count, int o0, int o1,
                     int outc, const sl_output_epilogue *post, float *y) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4;
    const long tiles = (long)count * th * tw, mstride = sl_wino_spread((long)outc * tiles);
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

static void sl_wino4_output_grad_impl(const float *dy, int batch, int h, int w, int first, int count, int o0, int o1,
                          int outc, float *dm) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4, pw = sl_wino4_row_width(w);
    const long tiles = (long)count * th * tw, mstride = sl_wino_spread((long)outc * tiles);
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

