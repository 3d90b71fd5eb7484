import Foundation
import CKernels

/// Winograd convolution for 3×3, stride-1, padding-1 layers, with output tiles of 2×2
/// (F(2×2, 3×3): 16 products per tile per input channel, 2.25× fewer multiply-adds than direct)
/// or 4×4 (F(4×4, 3×3): 36 products per 16 outputs, 4× fewer, somewhat larger rounding error).
/// Narrow layers (`fuses`) run fused per block of tile rows in CKernels/sl_wino_fused.h and
/// sl_wino4_fused.h, the workers splitting the rows. Wider layers run in passes
/// (CKernels/winograd.c): transform a chunk of images, one GEMM per transform index which the
/// workers split between them (OpenBLAS single-threaded inside each), transform back.
///
/// Transformed arrays live in the shared workspace — [T][rows][tiles] per chunk of images in
/// passes (T = 16 or 36), a few hundred KB per worker fused — so memory stays bounded by the
/// workspace's chunk size rather than growing with the batch.
struct WinogradConvolution {
    let inChannels: Int, outChannels: Int
    let batch: Int, height: Int, width: Int
    /// Side of the output tile: 2 or 4.
    let tile: Int

    init(inChannels: Int, outChannels: Int, batch: Int, height: Int, width: Int, tile: Int) {
        precondition(tile == 2 || tile == 4, "Winograd tiles are 2×2 or 4×4")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.batch = batch; self.height = height; self.width = width; self.tile = tile
    }

    /// Whether a convolution of this shape goes through Winograd: 3×3, stride 1, padding 1,
    /// and enough channels that the GEMMs (inner dimension = input channels) run at speed.
    static func applies(kernel: Int, stride: Int, padding: Int, inChannels: Int, outChannels: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && inChannels >= minimumChannels && outChannels >= minimumChannels
    }
    /// Below this the im2col GEMM (inner dimension 9·C) is faster than GEMMs of inner dimension C.
    static let minimumChannels = 8

    /// The tile side for a layer on images of height × width (its forward, input gradient and
    /// weight gradient alike). 4×4 tiles once an image row holds at least four of them (width
    /// ≥ 13): the F(4×4, 3×3) transforms run on vectors of four or eight tiles of a row. Measured per
    /// layer on fmnist-w0.25 (README, "4×4 Winograd tiles"). Images 5–7 wide (two tiles a row)
    /// take 4×4 tiles too when the layer runs fused: four tile rows then run as one vector of eight
    /// (`sl_wino4_input_row_quad`), and a 7×7 image needs 4 tiles of 36 products against 16 of 16
    /// with 2×2 tiles (44 % fewer). Other widths under 13 keep 2×2 tiles, whose rows of four or
    /// more tiles run as vectors.
    static func tile(height: Int, width: Int, inChannels: Int, outChannels: Int) -> Int {
        if let forced = forcedTile { return forced }
        if width >= 13 && height >= 13 { return 4 }
        if smallImagesTakeFourByFour, (5...7).contains(width), height >= 5,
           max(inChannels, outChannels) <= fusedMaximumChannelsSmall { return 4 }
        return 2
    }
    /// Developer switch for measurements: SPHERELAB_WINOGRAD_TILE=2 or 4 in the environment forces
    /// one tile size for every Winograd layer; read once per process.
    static let forcedTile: Int? = {
        guard let v = ProcessInfo.processInfo.environment["SPHERELAB_WINOGRAD_TILE"], let n = Int(v), n == 2 || n == 4 else { return nil }
        return n
    }()
    /// Developer switch for measurements: SPHERELAB_WINOGRAD_SMALL_TILE=2 gives images 5–7 wide
    /// 2×2 tiles again (as before the quads of tile rows); read once per process.
    static let smallImagesTakeFourByFour = ProcessInfo.processInfo.environment["SPHERELAB_WINOGRAD_SMALL_TILE"] != "2"

    /// Transform indices per tile: 16 for 2×2 tiles, 36 for 4×4.
    var transforms: Int { (tile + 2) * (tile + 2) }
    var tileRows: Int { (height + tile - 1) / tile }
    var tileColumns: Int { (width + tile - 1) / tile }
    var tilesPerImage: Int { tileRows * tileColumns }

    /// Floats of scratch one fused call needs (per worker), for the memory estimate as well;
    /// whole cache lines, so that every worker's scratch (V and M first) starts on one.
    static func fusedScratch(inChannels ic: Int, outChannels oc: Int, width w: Int, tile: Int) -> Int {
        let n = Int(tile == 4 ? sl_wino4_fused_scratch(Int32(ic), Int32(oc), Int32(w)) : sl_wino_fused_scratch(Int32(ic), Int32(oc), Int32(w)))
        return (n + 15) / 16 * 16
    }

    /// u [T][oc][ic] = G g Gᵀ of the weights (oc, ic, 3, 3), or with `flipped` the kernels
    /// rotated by 180° and transposed, u [T][ic][oc] (the input-gradient convolution).
    /// Split over the cores in runs of u's rows (eight kernels per vector in the kernel): a layer's
    /// transform had run on the calling thread alone, a tenth of an inference batch.
    static func transformWeights(_ w: UnsafePointer<Float>, outChannels oc: Int, inChannels ic: Int, flipped: Bool,
                                 tile: Int, into u: UnsafeMutablePointer<Float>) {
        Parallel.forEach(oc * ic, minimumPerWorker: 256) { r in
            sl_wino_weights_part(w, Int32(oc), Int32(ic), flipped ? 1 : 0, Int32(tile), r.lowerBound, r.upperBound, u)
        }
    }

    /// dw (oc, ic, 3, 3) += Gᵀ du G for du [T][oc][ic].
    static func addWeightGradient(_ du: UnsafePointer<Float>, outChannels oc: Int, inChannels ic: Int, tile: Int,
                                  into dw: UnsafeMutablePointer<Float>) {
        if tile == 4 {
            sl_wino4_weight_grad(du, Int32(oc), Int32(ic), dw)
        } else {
            sl_wino_weight_grad(du, Int32(oc), Int32(ic), dw)
        }
    }

    private func imagesPerChunk(limit: Int, tiles: Int) -> Int {
        let perImage = transforms * max(inChannels, outChannels) * tilesPerImage
        let wanted = (tiles + tilesPerImage - 1) / tilesPerImage
        return max(1, min(batch, wanted, limit / perImage))
    }
    /// Tiles per chunk of the passes (layers wider than the fused limit). 2048 was measured
    /// fastest with OpenBLAS's GEMMs (on fmnist-w0.5, when its layers still ran in passes); with
    /// the products on `sl_wino_pass_gemm` (panels of 256 tiles) 512 keeps a chunk's arrays in
    /// the last-level cache (36 × 128 channels × 512 tiles is 9.4 MB, against 38 MB): cifar-w1
    /// conv against 2048, alternately, training 147–157 → 179–195 img/s, inference 483–510 →
    /// 548–686 (256 as fast as 512, 768 and 1024 in between). The weight gradient's chains run
    /// on from chunk to chunk in tile order, so the chunk size does not change any bits.
    static let tilesPerChunk = 512
    /// The weight gradient's chunk in passes for layers that otherwise run fused (input channels
    /// not a multiple of 8): 512 tiles (the transformed input and output gradient then fit the
    /// 1 MB L2 of each core here) took 7 % less convolution time on fmnist-w0.25 than 2048, and
    /// 256 the same as 512, measured before the weight gradient itself was fused.
    static let weightGradientTilesPerChunk = 512

    private func forEachChunk(limit: Int, tiles: Int = tilesPerChunk, _ body: (_ first: Int, _ count: Int, _ tiles: Int) -> Void) {
        let chunk = imagesPerChunk(limit: limit, tiles: tiles)
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            body(first, count, count * tilesPerImage)
            first += count
        }
    }

    private func checkIndexRange() {
        precondition(max(inChannels, outChannels) * batch * height * width <= Int(Int32.max),
                     "convolution of \(batch)×\(inChannels)×\(height)×\(width) exceeds the kernels' index range")
    }

    /// y (outC, N, H, W) = x (inC, N, H, W) ⋆ g, with `u` = the transformed kernels
    /// [T][outC][inC] (`transformWeights`). Every output pixel is written. Narrow layers run
    /// fused per block of tile rows (`sl_wino_fused_rows`), wide ones as separate passes.
    /// `post` (evaluation only) is applied to each output channel as its rows are written.
    func convolve(_ x: UnsafePointer<Float>, transformedWeights u: UnsafePointer<Float>,
                  into y: UnsafeMutablePointer<Float>, post: UnsafePointer<sl_output_epilogue>? = nil, workspace: Workspace) {
        if WinogradConvolution.fuses(inChannels: inChannels, outChannels: outChannels, width: width) {
            convolveFused(x, transformedWeights: u, into: y, post: post, workspace: workspace)
        } else {
            convolveInPasses(x, transformedWeights: u, into: y, post: post, workspace: workspace)
        }
    }

    /// Whether a convolution runs fused: the transforms of a block of tile rows, its 16 or 36
    /// products (a register-tiled kernel) and the inverse transform while all stay in L2.
    /// Measured per layer (one thread, forward and weight gradient, fused against passes): on
    /// images at least 13 wide (4×4 tiles) fused wins up to 96 channels (fmnist-w0.5's 96-channel
    /// 14×14 layers: 9.4 against 12.8 ms); from 128 (cifar-w1's 32×32 layers) the passes win once
    /// the products themselves dominate. For narrower images see `fusedMaximumChannelsSmall`.
    static func fuses(inChannels: Int, outChannels: Int, width: Int) -> Bool {
        max(inChannels, outChannels) <= (width < 13 ? fusedMaximumChannelsSmall : fusedMaximumChannels)
    }
    /// The widest layer (channels) with 4×4 tiles that runs fused. Developer switch for
    /// measurements: SPHERELAB_WINOGRAD_FUSED_UP_TO=<channels> in the environment (0: never),
    /// read once per process; it sets the 2×2-tile limit too unless that has its own.
    static let fusedMaximumChannels: Int = {
        if let v = ProcessInfo.processInfo.environment["SPHERELAB_WINOGRAD_FUSED_UP_TO"], let n = Int(v) { return n }
        return 96
    }()
    /// The widest layer on images under 13 wide that runs fused: 128 channels. fmnist-w0.5's 128-channel
    /// 7×7 layers trained 2–4 % faster fused than in passes (evaluation 1–3 %), measured
    /// alternately in one run; cifar-w1's 256-channel 8×8 layers trained 3–6 % slower fused, so
    /// they stay in passes. Switch: SPHERELAB_WINOGRAD_FUSED_SMALL_UP_TO.
    static let fusedMaximumChannelsSmall: Int = {
        let env = ProcessInfo.processInfo.environment
        if let v = env["SPHERELAB_WINOGRAD_FUSED_SMALL_UP_TO"], let n = Int(v) { return n }
        if let v = env["SPHERELAB_WINOGRAD_FUSED_UP_TO"], let n = Int(v) { return n }
        return 128
    }()

    /// `convolve` fused per block of tile rows: workers take contiguous ranges of the N·⌈H/2⌉
    /// tile rows, each with its own scratch (a few hundred KB) in the shared workspace.
    private func convolveFused(_ x: UnsafePointer<Float>, transformedWeights u: UnsafePointer<Float>,
                               into y: UnsafeMutablePointer<Float>, post: UnsafePointer<sl_output_epilogue>?, workspace: Workspace) {
        checkIndexRange()
        let (ic, oc, b, h, w) = (Int32(inChannels), Int32(outChannels), Int32(batch), Int32(height), Int32(width))
        let rows = batch * tileRows, four = tile == 4
        let scratch = WinogradConvolution.fusedScratch(inChannels: inChannels, outChannels: outChannels, width: width, tile: tile)
        let workers = Parallel.workers
        workspace.columns.ensure(count: workers * scratch)
        let base = workspace.columns.pointer
        Parallel.forEachWorker(rows, workers: workers, minimumPerWorker: four ? 4 : 8) { r, worker in
            let (r0, r1, s) = (Int32(r.lowerBound), Int32(r.upperBound), base + worker * scratch)
            if four {
                sl_wino4_fused_rows(x, b, h, w, ic, oc, u, r0, r1, post, s, y)
            } else {
                sl_wino_fused_rows(x, b, h, w, ic, oc, u, r0, r1, post, s, y)
            }
        }
    }

    /// Developer switch for measurements: SPHERELAB_PASS_GEMM=openblas sends the passes' products
    /// to OpenBLAS again (as before sl_wino_pass_gemm and sl_wino_pass_weight_grad); read once
    /// per process.
    static let passesUseOpenBLAS = ProcessInfo.processInfo.environment["SPHERELAB_PASS_GEMM"] == "openblas"

    /// `convolve` as three passes over a chunk of images: transform, T GEMMs, transform back.
    private func convolveInPasses(_ x: UnsafePointer<Float>, transformedWeights u: UnsafePointer<Float>,
                                  into y: UnsafeMutablePointer<Float>, post: UnsafePointer<sl_output_epilogue>?, workspace: Workspace) {
        checkIndexRange()
        let (ic, oc, b, h, w) = (inChannels, outChannels, Int32(batch), Int32(height), Int32(width))
        let (t, four) = (transforms, tile == 4)
        forEachChunk(limit: workspace.chunkElements) { first, count, tiles in
            let (vs, ms) = (sl_wino_transform_stride(ic * tiles), sl_wino_transform_stride(oc * tiles))
            workspace.columns.ensure(count: t * vs)
            workspace.columnGradients.ensure(count: t * ms)
            let (v, m) = (workspace.columns.pointer, workspace.columnGradients.pointer)
            let (f, n) = (Int32(first), Int32(count))
            transformInput(x, first: first, count: count, into: v)
            // M_i (oc × tiles) = U_i (oc × ic) · V_i (ic × tiles)
            Parallel.forEach(t) { matrices in
                for i in matrices {
                    if WinogradConvolution.passesUseOpenBLAS {
                        sgemm(transA: false, transB: false, m: oc, n: tiles, k: ic,
                              a: u + i * oc * ic, lda: ic, b: v + i * vs, ldb: tiles,
                              beta: 0, c: m + i * ms, ldc: tiles)
                    } else {
                        sl_wino_pass_gemm(u + i * oc * ic, Int32(oc), Int32(ic), v + i * vs, Int32(tiles), Int32(tiles), m + i * ms)
                    }
                }
            }
            Parallel.forEach(oc) { r in
                let (o0, o1) = (Int32(r.lowerBound), Int32(r.upperBound))
                if four {
                    sl_wino4_output(m, b, h, w, f, n, o0, o1, Int32(oc), post, y)
                } else {
                    sl_wino_output(m, b, h, w, f, n, o0, o1, Int32(oc), post, y)
                }
            }
        }
    }

    /// The input tiles Bᵀ d B of images first..<first+count into v [T][inC][tiles], the workers
    /// splitting the channels.
    private func transformInput(_ x: UnsafePointer<Float>, first: Int, count: Int, into v: UnsafeMutablePointer<Float>) {
        let (ic, b, h, w, f, n) = (Int32(inChannels), Int32(batch), Int32(height), Int32(width), Int32(first), Int32(count))
        let four = tile == 4
        Parallel.forEach(inChannels) { r in
            let (c0, c1) = (Int32(r.lowerBound), Int32(r.upperBound))
            if four {
                sl_wino4_input(x, b, h, w, f, n, c0, c1, ic, v)
            } else {
                sl_wino_input(x, b, h, w, f, n, c0, c1, ic, v)
            }
        }
    }

    /// ∂L/∂(transformed kernels) [T][outC][inC] = Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ d B), overwritten;
    /// `addWeightGradient` takes it back to (outC, inC, 3, 3).
    func transformedWeightGradient(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                   into du: UnsafeMutablePointer<Float>, workspace: Workspace) {
        if WinogradConvolution.fuses(inChannels: inChannels, outChannels: outChannels, width: width) && inChannels % 8 == 0 {
            transformedWeightGradientFused(input: x, outputGradient: dy, into: du, workspace: workspace)
        } else {
            transformedWeightGradientInPasses(input: x, outputGradient: dy, into: du, workspace: workspace)
        }
    }

    /// The fused weight gradient cuts the tile rows into this many fixed groups, each summing its
    /// own partial gradient, added up in group order: the bits do not depend on the worker count.
    static let weightGradientGroups = 4

    /// `transformedWeightGradient` fused per block of tile rows (`sl_wino_fused_weight_grad_rows`).
    private func transformedWeightGradientFused(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                                into du: UnsafeMutablePointer<Float>, workspace: Workspace) {
        checkIndexRange()
        let (ic, oc, b, h, w) = (Int32(inChannels), Int32(outChannels), Int32(batch), Int32(height), Int32(width))
        let rows = batch * tileRows, four = tile == 4
        let groups = min(WinogradConvolution.weightGradientGroups, rows)
        let scratch = WinogradConvolution.fusedScratch(inChannels: inChannels, outChannels: outChannels, width: width, tile: tile)
        let size = transforms * inChannels * outChannels
        let workers = Parallel.workers
        workspace.columns.ensure(count: workers * scratch)
        workspace.columnGradients.ensure(count: groups * size)
        let (base, partial) = (workspace.columns.pointer, workspace.columnGradients.pointer)
        Parallel.forEachWorker(groups, workers: workers) { range, worker in
            for g in range {
                let (r0, r1) = (Int32(rows * g / groups), Int32(rows * (g + 1) / groups))
                let (s, p) = (base + worker * scratch, partial + g * size)
                // Each group writes its partial sum (no clearing pass first).
                if four {
                    sl_wino4_fused_weight_grad_rows(x, dy, b, h, w, ic, oc, r0, r1, 0, s, p)
                } else {
                    sl_wino_fused_weight_grad_rows(x, dy, b, h, w, ic, oc, r0, r1, 0, s, p)
                }
            }
        }
        du.update(from: partial, count: size)
        for g in 1..<groups {
            let p = partial + g * size
            for i in 0..<size { du[i] += p[i] }
        }
    }

    /// `transformedWeightGradient` in passes over chunks of images: both transforms, then T
    /// OpenBLAS GEMMs accumulating over the chunks.
    private func transformedWeightGradientInPasses(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                                   into du: UnsafeMutablePointer<Float>, workspace: Workspace) {
        checkIndexRange()
        let (ic, oc, b, h, w) = (inChannels, outChannels, Int32(batch), Int32(height), Int32(width))
        var firstChunk = true
        let fused = WinogradConvolution.fuses(inChannels: ic, outChannels: oc, width: width)
        let tilesPerChunk = fused ? WinogradConvolution.weightGradientTilesPerChunk : WinogradConvolution.tilesPerChunk
        let (t, four) = (transforms, tile == 4)
        forEachChunk(limit: workspace.chunkElements, tiles: tilesPerChunk) { first, count, tiles in
            let (vs, ds) = (sl_wino_transform_stride(ic * tiles), sl_wino_transform_stride(oc * tiles))
            workspace.columns.ensure(count: t * vs)
            workspace.columnGradients.ensure(count: t * ds)
            let (v, d) = (workspace.columns.pointer, workspace.columnGradients.pointer)
            let (f, n) = (Int32(first), Int32(count))
            transformInput(x, first: first, count: count, into: v)
            Parallel.forEach(oc) { r in
                let (o0, o1) = (Int32(r.lowerBound), Int32(r.upperBound))
                if four {
                    sl_wino4_output_grad(dy, b, h, w, f, n, o0, o1, Int32(oc), d)
                } else {
                    sl_wino_output_grad(dy, b, h, w, f, n, o0, o1, Int32(oc), d)
                }
            }
            // dU_i (oc × ic) (+)= D_i (oc × tiles) · V_iᵀ (tiles × ic)
            if WinogradConvolution.passesUseOpenBLAS || ic % 8 != 0 {
                let beta: Float = firstChunk ? 0 : 1
                Parallel.forEach(t) { matrices in
                    for i in matrices {
                        sgemm(transA: false, transB: true, m: oc, n: ic, k: tiles,
                              a: d + i * ds, lda: tiles, b: v + i * vs, ldb: tiles,
                              beta: beta, c: du + i * oc * ic, ldc: ic)
                    }
                }
            } else {
                let workers = Parallel.workers, panel = sl_wino_pass_weight_grad_scratch(Int32(ic))
                workspace.transposedTiles.ensure(count: workers * panel)
                let (scratch, accumulate) = (workspace.transposedTiles.pointer, Int32(firstChunk ? 0 : 1))
                Parallel.forEachWorker(t, workers: workers) { matrices, worker in
                    for i in matrices {
                        sl_wino_pass_weight_grad(d + i * ds, Int32(oc), Int32(tiles), v + i * vs, Int32(ic), Int32(tiles),
                                                 accumulate, scratch + worker * panel, du + i * oc * ic)
                    }
                }
            }
            firstChunk = false
        }
    }
}
