import Foundation
import CKernels

/// Winograd F(2×2, 3×3) convolution for 3×3, stride-1, padding-1 layers. Each 2×2 output tile
/// costs 16 multiply-adds per input channel instead of 36. Narrow layers (`fuses`) run fused per
/// block of tile rows in CKernels/sl_wino_fused.h, the workers splitting the rows. Wider layers
/// run in passes (CKernels/winograd.c): transform a chunk of images, 16 independent GEMMs which
/// the workers split between them (OpenBLAS single-threaded inside each), transform back.
///
/// Transformed arrays live in the shared workspace — [16][rows][tiles] per chunk of images in
/// passes, a few hundred KB per worker fused — so memory stays bounded by the workspace's chunk
/// size rather than growing with the batch.
struct WinogradConvolution {
    let inChannels: Int, outChannels: Int
    let batch: Int, height: Int, width: Int

    /// Whether a convolution of this shape goes through Winograd: 3×3, stride 1, padding 1,
    /// and enough channels that the 16 GEMMs (inner dimension = input channels) run at speed.
    static func applies(kernel: Int, stride: Int, padding: Int, inChannels: Int, outChannels: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && inChannels >= minimumChannels && outChannels >= minimumChannels
    }
    /// Below this the im2col GEMM (inner dimension 9·C) is faster than 16 GEMMs of inner dimension C.
    static let minimumChannels = 8

    var tilesPerImage: Int { ((height + 1) / 2) * ((width + 1) / 2) }

    private func imagesPerChunk(limit: Int, tiles: Int) -> Int {
        let perImage = 16 * max(inChannels, outChannels) * tilesPerImage
        let wanted = (tiles + tilesPerImage - 1) / tilesPerImage
        return max(1, min(batch, wanted, limit / perImage))
    }
    /// About 2048 tiles per chunk measured fastest on fmnist-w0.5 (1024 and 4096 were 10–20 %
    /// slower) and as fast as 1024 on fmnist-w0.25 (4096 about 20 % slower): big enough for
    /// efficient GEMMs, small enough for the transformed arrays to stay in cache.
    static let tilesPerChunk = 2048
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
    /// [16][outC][inC] (`sl_wino_weights`). Every output pixel is written. Narrow layers run
    /// fused per block of tile rows (`sl_wino_fused_rows`), wide ones as separate passes.
    func convolve(_ x: UnsafePointer<Float>, transformedWeights u: UnsafePointer<Float>,
                  into y: UnsafeMutablePointer<Float>, workspace: Workspace) {
        if WinogradConvolution.fuses(inChannels: inChannels, outChannels: outChannels) {
            convolveFused(x, transformedWeights: u, into: y, workspace: workspace)
        } else {
            convolveInPasses(x, transformedWeights: u, into: y, workspace: workspace)
        }
    }

    /// Whether a convolution runs fused: the transforms of a block of tile rows, its 16 products
    /// (a register-tiled kernel) and the inverse transform while all stay in L2. Measured on
    /// fmnist-w0.25 (32–64 channels) against the separate passes; wider layers keep OpenBLAS,
    /// whose packed GEMMs win once the products themselves dominate.
    static func fuses(inChannels: Int, outChannels: Int) -> Bool {
        max(inChannels, outChannels) <= fusedMaximumChannels
    }
    /// The widest layer (channels) that runs fused. Developer switch for measurements:
    /// SPHERELAB_WINOGRAD_FUSED_UP_TO=<channels> in the environment (0: never), read once per process.
    static let fusedMaximumChannels: Int = {
        if let v = ProcessInfo.processInfo.environment["SPHERELAB_WINOGRAD_FUSED_UP_TO"], let n = Int(v) { return n }
        return 64
    }()

    /// `convolve` fused per block of tile rows: workers take contiguous ranges of the N·⌈H/2⌉
    /// tile rows, each with its own scratch (a few hundred KB) in the shared workspace.
    private func convolveFused(_ x: UnsafePointer<Float>, transformedWeights u: UnsafePointer<Float>,
                               into y: UnsafeMutablePointer<Float>, workspace: Workspace) {
        checkIndexRange()
        let (ic, oc, b, h, w) = (Int32(inChannels), Int32(outChannels), Int32(batch), Int32(height), Int32(width))
        let rows = batch * ((height + 1) / 2)
        let scratch = sl_wino_fused_scratch(ic, oc, w)
        let workers = Parallel.workers
        workspace.columns.ensure(count: workers * scratch)
        let base = workspace.columns.pointer
        Parallel.forEachWorker(rows, workers: workers, minimumPerWorker: 8) { r, worker in
            sl_wino_fused_rows(x, b, h, w, ic, oc, u, Int32(r.lowerBound), Int32(r.upperBound), base + worker * scratch, y)
        }
    }

    /// `convolve` as three passes over a chunk of images: transform, 16 OpenBLAS GEMMs, transform back.
    private func convolveInPasses(_ x: UnsafePointer<Float>, transformedWeights u: UnsafePointer<Float>,
                                  into y: UnsafeMutablePointer<Float>, workspace: Workspace) {
        checkIndexRange()
        let (ic, oc, b, h, w) = (inChannels, outChannels, Int32(batch), Int32(height), Int32(width))
        forEachChunk(limit: workspace.chunkElements) { first, count, tiles in
            workspace.columns.ensure(count: 16 * ic * tiles)
            workspace.columnGradients.ensure(count: 16 * oc * tiles)
            let (v, m) = (workspace.columns.pointer, workspace.columnGradients.pointer)
            Parallel.forEach(ic) { r in
                sl_wino_input(x, b, h, w, Int32(first), Int32(count), Int32(r.lowerBound), Int32(r.upperBound), Int32(ic), v)
            }
            // M_i (oc × tiles) = U_i (oc × ic) · V_i (ic × tiles)
            Parallel.forEach(16) { matrices in
                for i in matrices {
                    sgemm(transA: false, transB: false, m: oc, n: tiles, k: ic,
                          a: u + i * oc * ic, lda: ic, b: v + i * ic * tiles, ldb: tiles,
                          beta: 0, c: m + i * oc * tiles, ldc: tiles)
                }
            }
            Parallel.forEach(oc) { r in
                sl_wino_output(m, b, h, w, Int32(first), Int32(count), Int32(r.lowerBound), Int32(r.upperBound), Int32(oc), y)
            }
        }
    }

    /// ∂L/∂(transformed kernels) [16][outC][inC] = Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ d B), overwritten;
    /// `sl_wino_weight_grad` takes it back to (outC, inC, 3, 3).
    func transformedWeightGradient(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                   into du: UnsafeMutablePointer<Float>, workspace: Workspace) {
        if WinogradConvolution.fuses(inChannels: inChannels, outChannels: outChannels) && inChannels % 8 == 0 {
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
        let rows = batch * ((height + 1) / 2)
        let groups = min(WinogradConvolution.weightGradientGroups, rows)
        let scratch = sl_wino_fused_scratch(ic, oc, w), size = 16 * inChannels * outChannels
        let workers = Parallel.workers
        workspace.columns.ensure(count: workers * scratch)
        workspace.columnGradients.ensure(count: groups * size)
        let (base, partial) = (workspace.columns.pointer, workspace.columnGradients.pointer)
        partial.update(repeating: 0, count: groups * size)
        Parallel.forEachWorker(groups, workers: workers) { range, worker in
            for g in range {
                sl_wino_fused_weight_grad_rows(x, dy, b, h, w, ic, oc, Int32(rows * g / groups), Int32(rows * (g + 1) / groups),
                                               base + worker * scratch, partial + g * size)
            }
        }
        du.update(from: partial, count: size)
        for g in 1..<groups {
            let p = partial + g * size
            for i in 0..<size { du[i] += p[i] }
        }
    }

    /// `transformedWeightGradient` in passes over chunks of images: both transforms, then 16
    /// OpenBLAS GEMMs accumulating over the chunks.
    private func transformedWeightGradientInPasses(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                                   into du: UnsafeMutablePointer<Float>, workspace: Workspace) {
        checkIndexRange()
        let (ic, oc, b, h, w) = (inChannels, outChannels, Int32(batch), Int32(height), Int32(width))
        var firstChunk = true
        let fused = WinogradConvolution.fuses(inChannels: ic, outChannels: oc)
        let tilesPerChunk = fused ? WinogradConvolution.weightGradientTilesPerChunk : WinogradConvolution.tilesPerChunk
        forEachChunk(limit: workspace.chunkElements, tiles: tilesPerChunk) { first, count, tiles in
            workspace.columns.ensure(count: 16 * ic * tiles)
            workspace.columnGradients.ensure(count: 16 * oc * tiles)
            let (v, d) = (workspace.columns.pointer, workspace.columnGradients.pointer)
            Parallel.forEach(ic) { r in
                sl_wino_input(x, b, h, w, Int32(first), Int32(count), Int32(r.lowerBound), Int32(r.upperBound), Int32(ic), v)
            }
            Parallel.forEach(oc) { r in
                sl_wino_output_grad(dy, b, h, w, Int32(first), Int32(count), Int32(r.lowerBound), Int32(r.upperBound), Int32(oc), d)
            }
            // dU_i (oc × ic) (+)= D_i (oc × tiles) · V_iᵀ (tiles × ic)
            let beta: Float = firstChunk ? 0 : 1
            Parallel.forEach(16) { matrices in
                for i in matrices {
                    sgemm(transA: false, transB: true, m: oc, n: ic, k: tiles,
                          a: d + i * oc * tiles, lda: tiles, b: v + i * ic * tiles, ldb: tiles,
                          beta: beta, c: du + i * oc * ic, ldc: ic)
                }
            }
            firstChunk = false
        }
    }
}
