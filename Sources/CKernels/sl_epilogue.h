// The epilogue of the Winograd output transforms (fused blocks and passes), applied to each tile
// row's output rows as they are written: evaluation's SphereConv angle, BatchNorm fold and max
// pooling, training's ‖x‖ term of a SphereConv's input gradient. sl_kernels_body.h includes it
// after the SphereConv forward, whose arithmetic it shares.
#pragma once

#include "sl_sphere_forward.h"
#include "sl_wino_rows.h"

// A cosine SphereConv's forward on one finished output row of channel o (n pixels from output
// position m0): sl_forward_impl's arithmetic element by element, so an evaluation that applies it
// in the output transform keeps the bits of the separate pass.
static inline void sl_cosine_row(float *y, int n, const sl_output_epilogue *post, int o, long m0) {
    const float iw = post->inv_w[o];
    const float *ix = post->inv_x + m0;
    SL_ELEMENTWISE_LOOP
    for (int i = 0; i < n; i++) y[i] = sl_clamp_cos(y[i] * iw * ix[i]);
}

// The epilogue of one tile row of channel o, image n: `rows` are its `tile` output rows (image rows
// first, first + 1, …; NULL or a scratch row past the image's height h), each w wide, already
// written. Applies a cosine SphereConv's angle (evaluation), folds them, then pools them when the
// epilogue pools (ph × ⌈w/2⌉ pooled rows per image).
static inline void sl_epilogue_tile_row(float *const *rows, int tile, int w, int h, int first, int batch, int n,
                                        const sl_output_epilogue *post, int o) {
    // Rows that follow each other in memory (an image's rows, or staged rows w wide) run as one
    // row: the element-wise loops then run on whole vectors, not on 7- to 28-float remainders.
    const int inside = h - first < tile ? h - first : tile;
    int contiguous = 1;
    for (int k = 1; k < inside; k++) contiguous &= rows[k] == rows[0] + (long)k * w;
    if (post->inv_x != NULL) {
        if (contiguous) sl_cosine_row(rows[0], inside * w, post, o, ((long)n * h + first) * w);
        else for (int k = 0; k < inside; k++) sl_cosine_row(rows[k], w, post, o, ((long)n * h + first + k) * w);
    }
    if (post->scale != NULL) {
        if (contiguous) sl_affine_row(rows[0], inside * w, post, o);
        else for (int k = 0; k < inside; k++) sl_affine_row(rows[k], w, post, o);
    }
    if (post->minus_x != NULL) {
        for (int k = 0; k < inside; k++) {
            const long y = first + k;
            sl_subtract_product_row(rows[k], post->minus_x + (((long)o * batch + n) * h + y) * w,
                                    post->spread + ((long)n * h + y) * w, w);
        }
    }
    if (post->pooled != NULL) {
        const int ph = (h + 1) / 2, pw = (w + 1) / 2;
        float *plane = post->pooled + ((long)o * batch + n) * ph * pw;
        for (int k = 0; k < inside; k += 2) {
            sl_pool_row_pair(rows[k], k + 1 < inside ? rows[k + 1] : rows[k], w, plane + (long)((first + k) / 2) * pw);
        }
    }
}
