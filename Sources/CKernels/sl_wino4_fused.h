// Winograd F(4×4, 3×3) convolution fused per block of tile rows (included by sl_kernels_body.h
// after sl_wino_fused.h, whose product kernel and transpose it shares). The same plan as the
// F(2×2, 3×3) blocks: a block's input tiles V [36][ic][ld], the 36 products M [36][oc][ld] and the
// output transform while both stay in L2. Per output a 4×4 tile needs 36/16 = 2.25 products per
// input channel against 4 for 2×2 tiles, and its transforms move about half as many floats.
//
// As there, every output element is the same sequence of operations whatever the block or the
// caller's split of rows, so results do not depend on thread count or timing.
#include "sl_epilogue.h"
#include "sl_wino4_rows.h"

// V and M of a block take 36·(ic + oc)·ld floats: about 3 600 tiles' worth per channel pair (500 KB
// at 32 + 32 channels, more than L2, although each product's Vᵢ and Mᵢ fit L1) measured faster on
// the 28×28 and 14×14 layers of fmnist-w0.25 than 1 500, 2 300 or 5 100; blocks are whole tile rows.
#ifndef SL_WINO4_TILE_BUDGET
#define SL_WINO4_TILE_BUDGET 3584
#endif
static int sl_wino4_fused_block_rows_impl(int ic, int oc, int w) {
    const int tw = (w + 3) / 4;
    const int tiles = SL_WINO4_TILE_BUDGET / (ic + oc);
    if (sl_wino4_quads_rows(w)) {
        // Two tiles a row: whole groups of four tile rows, and at least 16 tiles so that the
        // products run on 16-float vectors (the budget gives 14 at 128 + 128 channels; V and M of
        // 16 tiles are then 590 KB).
        const int rows = tiles / tw / 8 * 8;
        return rows > 8 ? rows : 8;
    }
    return sl_wino_whole_vector_rows(tiles / tw, tw);
}

static long sl_wino4_ldmax(int ic, int oc, int w) {
    return ((long)sl_wino4_fused_block_rows_impl(ic, oc, w) * ((w + 3) / 4) + 7) / 8 * 8;
}

static long sl_wino4_fused_scratch_impl(int ic, int oc, int w) {
    const long ld = sl_wino4_ldmax(ic, oc, w), pw = sl_wino4_row_width(w), tw = (w + 3) / 4;
    return 36 * (sl_wino_spread((long)ic * ld) + sl_wino_spread((long)oc * ld)) + 12 * pw + w + 16 * tw + (long)ic * ld + 16 * tw   // as sl_wino4_scratch_carve
           + 12 * pw + 16 * tw + 16 * tw;
}

// The scratch of one call: V, the product side (M forward, D for the weight gradient), the input
// rows' vertical transform (6 rows of pw), the output gradient's (6 rows of pw), w zeros (rows
// outside the image), the output rows of a width that is not a multiple of 4 (4 × 4·tw), Vᵀ of
// one product (weight gradient) and the four output rows of a tile row that is pooled (4 × 4·tw);
// then a second input row scratch, output-gradient row scratch, output row tmp and pooled stage
// for the second tile row of a pair (sl_wino4_pairs_rows).
typedef struct sl_wino4_scratch {
    float *v, *product, *t, *tg, *zeros, *tmp, *vt, *stage, *t2, *tg2, *tmp2, *stage2;
    int block, pw;
} sl_wino4_scratch;

static sl_wino4_scratch sl_wino4_scratch_carve(float *scratch, int ic, int oc, int w) {
    const long ldmax = sl_wino4_ldmax(ic, oc, w), tw = (w + 3) / 4;
    sl_wino4_scratch s;
    s.block = sl_wino4_fused_block_rows_impl(ic, oc, w);
    s.pw = sl_wino4_row_width(w);
    s.v = scratch;
    s.product = s.v + 36 * sl_wino_spread((long)ic * ldmax);
    s.t = s.product + 36 * sl_wino_spread((long)oc * ldmax);
    s.tg = s.t + 6 * (long)s.pw;
    s.zeros = s.tg + 6 * (long)s.pw;
    s.tmp = s.zeros + w;
    s.vt = s.tmp + 16 * tw;
    s.stage = s.vt + (long)ic * ldmax;
    s.t2 = s.stage + 16 * tw;
    s.tg2 = s.t2 + 6 * (long)s.pw;
    s.tmp2 = s.tg2 + 6 * (long)s.pw;
    s.stage2 = s.tmp2 + 16 * tw;
    sl_wino4_clear_rows(s.t, 12, s.pw);   // t and tg: their padding columns stay 0
    sl_wino4_clear_rows(s.t2, 12, s.pw);  // t2 and tg2 likewise
    for (int q = 0; q < w; q++) s.zeros[q] = 0.0f;
    return s;
}

// The end of the output rows of tile rows up to re − 1 within a channel's plane (images of h rows).
static inline long sl_wino4_rows_end(int re, int th, int h, int w, long image) {
    const int last = 4 * ((re - 1) % th) + 4;
    return (long)((re - 1) / th) * image + (long)(last < h ? last : h) * w;
}

// The input tiles of one block (tile rows rb..re) into v [36][ic][ld], padding columns cleared.
SL_INLINE void sl_wino4_block_input(const float *x, int batch, int h, int w, int ic, int rb, int re, int ld,
                                    const sl_wino4_scratch *sc, float *v) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4, tiles = (re - rb) * tw;
    const long image = (long)h * w, plane = (long)batch * image;
    const int pairs = sl_wino4_pairs_rows(w), quads = sl_wino4_quads_rows(w);
    const long vs = sl_wino_spread((long)ic * ld);
    // The block's input rows of one channel: from the first tile row's top padding row to the last
    // one's bottom row, contiguous in the plane (images follow each other).
    const long span_first = (long)(rb / th) * image + (long)(4 * (rb % th) - 1) * w;
    const long span_end = (long)((re - 1) / th) * image + (long)(4 * ((re - 1) % th) + 5) * w;
    const long span0 = span_first > 0 ? span_first : 0;
    const long span1 = span_end < plane ? span_end : plane;
    for (int c = 0; c < ic; c++) {
        for (int row = rb; row < re; row++) {
            const int n = row / th, ty = row % th;
            if (c + 1 < ic) sl_prefetch_slice(x + (long)(c + 1) * plane, span0, span1, row - rb, re - rb);
            if (quads && row + 3 < re) {   // rows row … row + 3: eight consecutive tile slots
                const float *planes[4];
                int tys[4];
                for (int q = 0; q < 4; q++) {
                    if (q > 0 && c + 1 < ic) sl_prefetch_slice(x + (long)(c + 1) * plane, span0, span1, row + q - rb, re - rb);
                    planes[q] = x + c * plane + (long)((row + q) / th) * image;
                    tys[q] = (row + q) % th;
                }
                sl_wino4_input_row_quad(planes, tys, h, w, sc->t2, sc->zeros, v + (long)c * ld + (long)(row - rb) * tw, vs);
                row += 3;
                continue;
            }
            if (pairs && row + 1 < re) {   // rows row and row + 1: eight consecutive tile slots
                if (c + 1 < ic) sl_prefetch_slice(x + (long)(c + 1) * plane, span0, span1, row + 1 - rb, re - rb);
                const int n2 = (row + 1) / th, ty2 = (row + 1) % th;
                sl_wino4_input_row_pair(x + c * plane + n * image, ty, x + c * plane + n2 * image, ty2, h, w, sc->t,
                                        sc->t2, sc->pw, sc->zeros, v + (long)c * ld + (long)(row - rb) * tw, vs);
                row++;
                continue;
            }
            // Slots past a row are the next row's (written next) or the padding columns (cleared
            // below), so a row may run as one vector of eight while it stays inside ld.
            sl_wino4_input_row(x + c * plane + n * image, h, w, ty, sc->t, sc->pw, sc->zeros,
                               v + (long)c * ld + (long)(row - rb) * tw, vs, ld - (long)(row - rb) * tw);
        }
        for (int i = 0; i < 36; i++) {   // padding columns: defined values for the products
            float *pad = v + i * vs + (long)c * ld;
            sl_clear_padding(pad + tiles, ld - tiles);
        }
    }
}

static void sl_wino4_fused_rows_impl(const float *x, int batch, int h, int w, int ic, int oc, const float *u,
                                     int r0, int r1, const sl_output_epilogue *post, float *scratch, float *y) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4;
    const sl_wino4_scratch sc = sl_wino4_scratch_carve(scratch, ic, oc, w);
    const long image = (long)h * w, plane = (long)batch * image;
    for (int rb = r0; rb < r1; rb += sc.block) {
        const int re = rb + sc.block < r1 ? rb + sc.block : r1;
        const int ld = ((re - rb) * tw + 7) / 8 * 8;
        const long vs = sl_wino_spread((long)ic * ld), ms = sl_wino_spread((long)oc * ld);
        sl_wino4_block_input(x, batch, h, w, ic, rb, re, ld, &sc, sc.v);
        for (int i = 0; i < 36; i++) {
            sl_wino_block_gemm(u + (long)i * oc * ic, oc, ic, sc.v + i * vs, ld, 0, sc.product + i * ms);
        }
        const int pools = post != NULL && post->pooled != NULL;
        const int pairs = sl_wino4_pairs_rows(w), quads = sl_wino4_quads_rows(w);
        const long out0 = (long)(rb / th) * image + (long)(4 * (rb % th)) * w;
        const long out1 = sl_wino4_rows_end(re, th, h, w, image);
        for (int o = 0; o < oc; o++) {
            for (int row = rb; row < re; row++) {
                const int n = row / th, ty = row % th;
                if (!pools && o + 1 < oc) sl_prefetch_slice_for_writing(y + (long)(o + 1) * plane, out0, out1, row - rb, re - rb);
                if (quads && row + 3 < re) {   // rows row … row + 3 from eight consecutive tile slots
                    sl_wv8 r[4][4];
                    sl_wino4_output_tiles8(sc.product + (long)o * ld + (long)(row - rb) * tw, ms, r);
                    for (int q = 0; q < 4; q++) {
                        const int nq = (row + q) / th, tyq = (row + q) % th;
                        if (q > 0 && !pools && o + 1 < oc)
                            sl_prefetch_slice_for_writing(y + (long)(o + 1) * plane, out0, out1, row + q - rb, re - rb);
                        // Pooled: staged in rows 4·tw wide, as the single-row code stages them.
                        float *first = pools ? sc.stage : y + o * plane + nq * image + (long)(4 * tyq) * w;
                        const int stride = pools ? 4 * tw : w;
                        float *const rows[4] = {first, 4 * tyq + 1 < h ? first + stride : NULL,
                                                4 * tyq + 2 < h ? first + 2 * stride : NULL,
                                                4 * tyq + 3 < h ? first + 3 * stride : NULL};
                        if (pools) {
                            for (int k = 0; k < 4; k++) if (rows[k] != NULL) SL_WV_STORE(rows[k], r[q][k]);
                        } else {
                            sl_wino4_store_quad_rows(r[q], rows, w, sc.tmp);
                        }
                        if (post != NULL) sl_epilogue_tile_row(rows, 4, w, h, 4 * tyq, batch, nq, post, o);
                    }
                    row += 3;
                    continue;
                }
                if (pairs && row + 1 < re) {   // rows row and row + 1 from eight consecutive tile slots
                    if (!pools && o + 1 < oc) sl_prefetch_slice_for_writing(y + (long)(o + 1) * plane, out0, out1, row + 1 - rb, re - rb);
                    const int n2 = (row + 1) / th, ty2 = (row + 1) % th;
                    // Pooled: both tile rows staged in rows 16 (4·tw) floats wide, as below.
                    const int stride = pools ? 4 * tw : w;
                    float *fa = pools ? sc.stage : y + o * plane + n * image + (long)(4 * ty) * w;
                    float *fb = pools ? sc.stage2 : y + o * plane + n2 * image + (long)(4 * ty2) * w;
                    float *const ra[4] = {fa, 4 * ty + 1 < h ? fa + stride : NULL, 4 * ty + 2 < h ? fa + 2 * stride : NULL,
                                          4 * ty + 3 < h ? fa + 3 * stride : NULL};
                    float *const rb4[4] = {fb, 4 * ty2 + 1 < h ? fb + stride : NULL, 4 * ty2 + 2 < h ? fb + 2 * stride : NULL,
                                           4 * ty2 + 3 < h ? fb + 3 * stride : NULL};
                    sl_wino4_output_row_pair(sc.product + (long)o * ld + (long)(row - rb) * tw, ms, w, ra, rb4,
                                             sc.tmp, sc.tmp2);
                    if (post != NULL) {
                        sl_epilogue_tile_row(ra, 4, w, h, 4 * ty, batch, n, post, o);
                        sl_epilogue_tile_row(rb4, 4, w, h, 4 * ty2, batch, n2, post, o);
                    }
                    row++;
                    continue;
                }
                // A pooled output is only staged, in rows 4·tw wide (whole tiles, no copy-out);
                // the pooled rows are what gets written.
                const int stride = pools ? 4 * tw : w;
                float *first = pools ? sc.stage : y + o * plane + n * image + (long)(4 * ty) * w;
                float *const rows[4] = {first, 4 * ty + 1 < h ? first + stride : NULL, 4 * ty + 2 < h ? first + 2 * stride : NULL,
                                        4 * ty + 3 < h ? first + 3 * stride : NULL};
                sl_wino4_output_row(sc.product + (long)o * ld + (long)(row - rb) * tw, ms, tw, stride, rows, sc.tmp);
                if (post != NULL) sl_epilogue_tile_row(rows, 4, w, h, 4 * ty, batch, n, post, o);
            }
        }
    }
}

// The weight gradient fused the same way: per block V [36][ic][ld] and D = A dY Aᵀ [36][oc][ld]
// (zero padding columns), then for each product dUᵢ (oc × ic) += Dᵢ · Vᵢᵀ with Vᵢ transposed in
// L1. ic must be a multiple of 8.
static void sl_wino4_fused_weight_grad_rows_impl(const float *x, const float *dy, int batch, int h, int w, int ic,
                                                 int oc, int r0, int r1, int accumulate, float *scratch, float *du) {
    const int th = (h + 3) / 4, tw = (w + 3) / 4;
    const sl_wino4_scratch sc = sl_wino4_scratch_carve(scratch, ic, oc, w);
    const long image = (long)h * w, plane = (long)batch * image;
    for (int rb = r0; rb < r1; rb += sc.block) {
        const int re = rb + sc.block < r1 ? rb + sc.block : r1;
        const int tiles = (re - rb) * tw;
        const int ld = (tiles + 7) / 8 * 8;
        const long vs = sl_wino_spread((long)ic * ld), ds = sl_wino_spread((long)oc * ld);
        sl_wino4_block_input(x, batch, h, w, ic, rb, re, ld, &sc, sc.v);
        const int pairs = sl_wino4_pairs_rows(w), quads = sl_wino4_quads_rows(w);
        const long out0 = (long)(rb / th) * image + (long)(4 * (rb % th)) * w;
        const long out1 = sl_wino4_rows_end(re, th, h, w, image);
        for (int o = 0; o < oc; o++) {
            for (int row = rb; row < re; row++) {
                const int n = row / th, ty = row % th;
                if (o + 1 < oc) sl_prefetch_slice(dy + (long)(o + 1) * plane, out0, out1, row - rb, re - rb);
                if (quads && row + 3 < re) {   // rows row … row + 3 into eight consecutive tile slots
                    const float *rows[4][4];
                    for (int q = 0; q < 4; q++) {
                        if (q > 0 && o + 1 < oc) sl_prefetch_slice(dy + (long)(o + 1) * plane, out0, out1, row + q - rb, re - rb);
                        const int nq = (row + q) / th, tyq = (row + q) % th;
                        const float *first = dy + o * plane + nq * image + (long)(4 * tyq) * w;
                        for (int k = 0; k < 4; k++) rows[q][k] = 4 * tyq + k < h ? first + (long)k * w : sc.zeros;
                    }
                    sl_wino4_output_grad_row_quad(rows, w, sc.tg2, sc.product + (long)o * ld + (long)(row - rb) * tw, ds);
                    row += 3;
                    continue;
                }
                if (pairs && row + 1 < re) {   // rows row and row + 1 into eight consecutive tile slots
                    if (o + 1 < oc) sl_prefetch_slice(dy + (long)(o + 1) * plane, out0, out1, row + 1 - rb, re - rb);
                    const int n2 = (row + 1) / th, ty2 = (row + 1) % th;
                    const float *fa = dy + o * plane + n * image + (long)(4 * ty) * w;
                    const float *fb = dy + o * plane + n2 * image + (long)(4 * ty2) * w;
                    const float *const ra[4] = {fa, 4 * ty + 1 < h ? fa + w : sc.zeros, 4 * ty + 2 < h ? fa + 2 * w : sc.zeros,
                                                4 * ty + 3 < h ? fa + 3 * w : sc.zeros};
                    const float *const rb4[4] = {fb, 4 * ty2 + 1 < h ? fb + w : sc.zeros,
                                                 4 * ty2 + 2 < h ? fb + 2 * w : sc.zeros,
                                                 4 * ty2 + 3 < h ? fb + 3 * w : sc.zeros};
                    sl_wino4_output_grad_row_pair(ra, rb4, w, sc.tg, sc.tg2, sc.pw,
                                                  sc.product + (long)o * ld + (long)(row - rb) * tw, ds);
                    row++;
                    continue;
                }
                const float *first = dy + o * plane + n * image + (long)(4 * ty) * w;
                const float *const rows[4] = {first, 4 * ty + 1 < h ? first + w : sc.zeros,
                                              4 * ty + 2 < h ? first + 2 * w : sc.zeros,
                                              4 * ty + 3 < h ? first + 3 * w : sc.zeros};
                sl_wino4_output_grad_row(rows, w, sc.tg, sc.pw, sc.product + (long)o * ld + (long)(row - rb) * tw, ds,
                                         ld - (long)(row - rb) * tw);
            }
            for (int i = 0; i < 36; i++) {
                float *pad = sc.product + i * ds + (long)o * ld;
                sl_clear_padding(pad + tiles, ld - tiles);
            }
        }
        for (int i = 0; i < 36; i++) {
            sl_wino_transpose8(sc.v + i * vs, ic, ld, ld, sc.vt);
            sl_wino_block_gemm(sc.product + i * ds, oc, ld, sc.vt, ic, accumulate || rb > r0,   // as in sl_wino_fused.h
                               du + (long)i * oc * ic);
        }
    }
}
