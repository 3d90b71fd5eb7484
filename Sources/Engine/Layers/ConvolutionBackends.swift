import CKernels

/// How a convolution computes the inner products u = W ⊛ x and their gradients. Conv2D keeps
/// everything around them (SphereConv norms, the angle function and its backward); a backend
/// only does the linear part, in one of two ways chosen per layer shape.
protocol ConvolutionBackend: AnyObject {
    /// u (OC, N·OH·OW) = W ⊛ x, written (not added), then `fold` applied per channel when given
    /// (evaluation: the BatchNorm after this convolution).
    func forward(_ x: Activation, geometry: ConvGeometry, weight: Parameter, fold: FoldedNormalization?,
                 into u: UnsafeMutablePointer<Float>)
    /// weight.grad += du ⊛ x (the trainer zeroed it); when `dx` is given, dx (C, N, H, W) =
    /// the input gradient, written (not added), less `correction` where the backend
    /// `appliesCorrections` (otherwise the caller subtracts it).
    func backward(_ x: Activation, geometry: ConvGeometry, du: UnsafeMutablePointer<Float>, weight: Parameter,
                  dx: UnsafeMutablePointer<Float>?, correction: InputGradientCorrection?)
    /// Whether `backward` subtracts a correction from dx itself, as it writes each row.
    var appliesCorrections: Bool { get }
}

/// A SphereConv's ‖x‖ term of the input gradient: dx[c, pixel] −= input[c, pixel] · spread[pixel]
/// (spread: (N, H, W), the column sums spread over every window holding the pixel).
struct InputGradientCorrection {
    let input: UnsafePointer<Float>    // (C, N, H, W), the forward's input
    let spread: UnsafePointer<Float>   // (N, H, W)

    /// The subtraction as a separate pass over dx (C, N, H, W), for backends that cannot fold it.
    func apply(to dx: UnsafeMutablePointer<Float>, channels: Int, plane: Int) {
        let (xs, spread) = (input, self.spread)
        Parallel.forEach(plane, minimumPerWorker: 4096) { r in
            for c in 0..<channels {
                let d = dx + c * plane, v = xs + c * plane
                for i in r { d[i] -= v[i] * spread[i] }
            }
        }
    }
}

/// im2col + GEMM, in chunks of images so the patch matrix stays under the workspace bound;
/// a 1×1 stride-1 convolution reads its input as the patch matrix directly.
final class Im2colBackend: ConvolutionBackend {
    private let workspace: Workspace
    private let outChannels: Int

    init(workspace: Workspace, outChannels: Int) {
        self.workspace = workspace; self.outChannels = outChannels
    }

    func forward(_ x: Activation, geometry: ConvGeometry, weight: Parameter, fold: FoldedNormalization?,
                 into u: UnsafeMutablePointer<Float>) {
        let k = geometry.patchSize, oc = outChannels
        let m = x.shape.batch * geometry.outHeight * geometry.outWidth
        forEachChunk(of: x, geometry: geometry) { _, _, m0, mc, cols, ld in
            parallelSgemm(transA: false, transB: false, m: oc, n: mc, k: k,
                          a: weight.value.pointer, lda: k, b: cols, ldb: ld,
                          beta: 0, c: u + m0, ldc: m)
            // The chunk's columns are still in cache.
            if let fold { Parallel.forEach(oc) { rows in fold.apply(to: u, rows: rows, ld: m, columns: m0..<(m0 + mc)) } }
        }
    }

    var appliesCorrections: Bool { false }

    func backward(_ x: Activation, geometry: ConvGeometry, du: UnsafeMutablePointer<Float>, weight: Parameter,
                  dx: UnsafeMutablePointer<Float>?, correction: InputGradientCorrection?) {
        let s = x.shape, m = s.batch * geometry.outHeight * geometry.outWidth, k = geometry.patchSize, oc = outChannels
        if let dx, !geometry.isPointwise { dx.update(repeating: 0, count: s.count) }   // col2im adds into it
        forEachChunk(of: x, geometry: geometry) { first, count, m0, mc, cols, ld in
            // dW (OC × K) += du_chunk (OC × mc) · colsᵀ (mc × K)
            parallelSgemm(transA: false, transB: true, m: oc, n: k, k: mc,
                          a: du + m0, lda: m, b: cols, ldb: ld,
                          beta: 1, c: weight.grad.pointer, ldc: k)
            guard let dx else { return }
            let (dcols, dld): (UnsafeMutablePointer<Float>, Int)
            if geometry.isPointwise {
                (dcols, dld) = (dx + first * geometry.inHeight * geometry.inWidth, m)
            } else {
                workspace.columnGradients.ensure(count: k * mc)
                (dcols, dld) = (workspace.columnGradients.pointer, mc)
            }
            // dcols (K × mc) = Wᵀ (K × OC) · du_chunk (OC × mc)
            parallelSgemm(transA: true, transB: false, m: k, n: mc, k: oc,
                          a: weight.value.pointer, lda: k, b: du + m0, ldb: m,
                          beta: 0, c: dcols, ldc: dld)
            if !geometry.isPointwise {
                col2im(dcols, batch: s.batch, geometry: geometry, firstImage: first, count: count, dx: dx)
            }
        }
    }

    /// Runs `body` for each chunk of images with its patch matrix: (first image, image count,
    /// first output column m0, columns mc, patches, their leading dimension).
    private func forEachChunk(of x: Activation, geometry: ConvGeometry,
                              _ body: (Int, Int, Int, Int, UnsafeMutablePointer<Float>, Int) -> Void) {
        let batch = x.shape.batch
        let columnsPerImage = geometry.outHeight * geometry.outWidth
        let chunk = max(1, min(batch, workspace.chunkElements / max(1, geometry.patchSize * columnsPerImage)))
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            let (cols, ld) = patches(of: x, geometry: geometry, first: first, count: count)
            body(first, count, first * columnsPerImage, count * columnsPerImage, cols, ld)
            first += count
        }
    }

    /// The patch matrix for images first..<first+count: the input itself for a pointwise
    /// convolution (already (C, N·H·W)), otherwise im2col into the workspace.
    private func patches(of x: Activation, geometry: ConvGeometry, first: Int, count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        if geometry.isPointwise {
            let perImage = geometry.inHeight * geometry.inWidth
            return (x.buffer.slice(from: first * perImage, count: count * perImage), x.shape.plane)
        }
        let mc = count * geometry.outHeight * geometry.outWidth
        workspace.columns.ensure(count: geometry.patchSize * mc)
        im2col(x.buffer.pointer, batch: x.shape.batch, geometry: geometry, firstImage: first, count: count,
               col: workspace.columns.pointer)
        return (workspace.columns.pointer, mc)
    }
}

/// Winograd for 3×3 stride-1 'same' layers (see `WinogradConvolution`): the forward in the
/// transformed domain, the weight gradient through the transposed transforms, the input gradient
/// as the 180°-rotated, channel-swapped convolution, all three with the tile size (2×2 or 4×4)
/// of the layer's image size.
final class WinogradBackend: ConvolutionBackend {
    private let workspace: Workspace
    private let inChannels: Int, outChannels: Int
    // Scratch of one call, made again from the weights at every forward and backward, so every
    // Winograd layer uses the same two workspace buffers (on cifar-w1 they were 61 MB apiece).
    private let transformedWeights: FloatBuffer          // [T][OC][IC] G g Gᵀ (forward), [T][IC][OC] flipped (backward)
    private let transformedWeightGradient: FloatBuffer   // [T][OC][IC]

    init(workspace: Workspace, inChannels: Int, outChannels: Int) {
        self.workspace = workspace; self.inChannels = inChannels; self.outChannels = outChannels
        transformedWeights = workspace.buffer("winograd", "transformedWeights")
        transformedWeightGradient = workspace.buffer("winograd", "transformedWeightGradient")
    }

    private func plan(inChannels ic: Int, outChannels oc: Int, _ s: Shape) -> WinogradConvolution {
        WinogradConvolution(inChannels: ic, outChannels: oc, batch: s.batch, height: s.height, width: s.width,
                            tile: WinogradConvolution.tile(height: s.height, width: s.width, inChannels: ic, outChannels: oc))
    }

    func forward(_ x: Activation, geometry: ConvGeometry, weight: Parameter, fold: FoldedNormalization?,
                 into u: UnsafeMutablePointer<Float>) {
        let (ic, oc) = (inChannels, outChannels)
        let p = plan(inChannels: ic, outChannels: oc, x.shape)
        transformedWeights.ensure(count: p.transforms * oc * ic)
        WinogradConvolution.transformWeights(weight.value.pointer, outChannels: oc, inChannels: ic, flipped: false,
                                             tile: p.tile, into: transformedWeights.pointer)
        guard let fold else {
            p.convolve(x.buffer.pointer, transformedWeights: transformedWeights.pointer, into: u, workspace: workspace)
            return
        }
        fold.withKernelForm { post in
            p.convolve(x.buffer.pointer, transformedWeights: transformedWeights.pointer, into: u, post: post, workspace: workspace)
        }
    }

    /// The correction rides on the input gradient's output transform (`sl_output_epilogue`).
    var appliesCorrections: Bool { true }

    func backward(_ x: Activation, geometry: ConvGeometry, du: UnsafeMutablePointer<Float>, weight: Parameter,
                  dx: UnsafeMutablePointer<Float>?, correction: InputGradientCorrection?) {
        let (ic, oc, s) = (inChannels, outChannels, x.shape)
        let gradientPlan = plan(inChannels: ic, outChannels: oc, s)
        transformedWeightGradient.ensure(count: gradientPlan.transforms * oc * ic)
        gradientPlan.transformedWeightGradient(input: x.buffer.pointer, outputGradient: du,
                                               into: transformedWeightGradient.pointer, workspace: workspace)
        WinogradConvolution.addWeightGradient(transformedWeightGradient.pointer, outChannels: oc, inChannels: ic,
                                              tile: gradientPlan.tile, into: weight.grad.pointer)
        guard let dx else { return }
        // dx = du ⋆ (kernels rotated 180°, channels swapped), itself a 3×3 'same' convolution.
        let inputPlan = plan(inChannels: oc, outChannels: ic, s)
        transformedWeights.ensure(count: inputPlan.transforms * oc * ic)
        WinogradConvolution.transformWeights(weight.value.pointer, outChannels: oc, inChannels: ic, flipped: true,
                                             tile: inputPlan.tile, into: transformedWeights.pointer)
        guard let correction else {
            inputPlan.convolve(du, transformedWeights: transformedWeights.pointer, into: dx, workspace: workspace)
            return
        }
        var post = sl_output_epilogue(scale: nil, shift: nil, relu: 0, pooled: nil, minus_x: correction.input, spread: correction.spread,
                                      inv_w: nil, inv_x: nil)
        withUnsafePointer(to: &post) { p in
            inputPlan.convolve(du, transformedWeights: transformedWeights.pointer, into: dx, post: p, workspace: workspace)
        }
    }
}

/// Direct 3×3 stride-1 'same' convolution for inputs with few channels (the first layer: 1 or 3),
/// where Winograd does not apply and im2col + GEMM (K = 9 or 27) spent longer writing patches and
/// clearing its output than multiplying. The input is copied once per forward with a zero border
/// (kept for backward's weight gradient); workers take contiguous ranges of images. It computes
/// no input gradient: a layer that needs one takes the im2col path backward (`Conv2D`).
final class DirectBackend: ConvolutionBackend {
    private let inChannels: Int, outChannels: Int
    private let padded: FloatBuffer          // (IC, N, H + 2, W + 2), in the workspace
    private let partialGradients = FloatBuffer()   // [groups][OC][IC][3][3]

    static func applies(kernel: Int, stride: Int, padding: Int, inChannels: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && inChannels <= maximumChannels
    }
    /// Up to this many input channels a direct kernel beats im2col + GEMM (from 8 Winograd applies).
    static let maximumChannels = 4
    /// Image groups of the weight gradient, fixed so the sum's order (and bits) does not depend
    /// on the number of workers.
    static let gradientGroups = 4

    init(workspace: Workspace, name: String, inChannels: Int, outChannels: Int) {
        self.inChannels = inChannels; self.outChannels = outChannels
        padded = workspace.buffer(name, "paddedInput")
    }

    func forward(_ x: Activation, geometry: ConvGeometry, weight: Parameter, fold: FoldedNormalization?,
                 into u: UnsafeMutablePointer<Float>) {
        let s = x.shape
        let (b, h, w, ic, oc) = (Int32(s.batch), Int32(s.height), Int32(s.width), Int32(inChannels), Int32(outChannels))
        padded.ensure(count: inChannels * s.batch * (s.height + 2) * (s.width + 2))
        let (src, xp, weights) = (x.buffer.pointer, padded.pointer, weight.value.pointer)
        Parallel.forEach(inChannels) { r in sl_direct_pad(src, b, h, w, Int32(r.lowerBound), Int32(r.upperBound), xp) }
        func run(_ post: UnsafePointer<sl_output_epilogue>?) {
            Parallel.forEach(s.batch) { images in
                sl_direct3x3_forward(xp, b, h, w, ic, oc, weights, Int32(images.lowerBound), Int32(images.upperBound), post, u)
            }
        }
        if let fold { fold.withKernelForm { run($0) } } else { run(nil) }
    }

    var appliesCorrections: Bool { false }

    func backward(_ x: Activation, geometry: ConvGeometry, du: UnsafeMutablePointer<Float>, weight: Parameter,
                  dx: UnsafeMutablePointer<Float>?, correction: InputGradientCorrection?) {
        precondition(dx == nil, "the direct convolution computes no input gradient")
        let s = x.shape
        let (b, h, w, ic, oc) = (Int32(s.batch), Int32(s.height), Int32(s.width), Int32(inChannels), Int32(outChannels))
        let groups = min(DirectBackend.gradientGroups, s.batch), size = outChannels * inChannels * 9
        partialGradients.ensure(count: groups * size)
        let (xp, parts) = (padded.pointer, partialGradients.pointer)
        Parallel.forEach(groups) { r in
            for g in r {
                let (n0, n1) = (g * s.batch / groups, (g + 1) * s.batch / groups)
                sl_direct3x3_weight_grad(xp, du, b, h, w, ic, oc, Int32(n0), Int32(n1), parts + g * size)
            }
        }
        let grad = weight.grad.pointer
        for g in 0..<groups {
            let part = parts + g * size
            for i in 0..<size { grad[i] += part[i] }
        }
    }
}
