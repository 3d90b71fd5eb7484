import CKernels
import Foundation

/// A 2-D convolution without bias, either plain (u = Σ w·x) or SphereConv (g(θ) of the
/// angle between kernel and patch, spherenet.md §1). The variant can change between steps;
/// the weights stay. Learnable-sigmoid k (one per output channel) is created on demand.
///
/// The inner products go through one `ConvolutionBackend` (ConvolutionBackends.swift): 3×3
/// stride-1 'same' convolutions with enough channels run as Winograd (`WinogradBackend`), with
/// at most four input channels (first layers) as a direct kernel (`DirectBackend`); every other
/// shape works per chunk of images (`Im2colBackend`): im2col
/// into the shared workspace, one sgemm per chunk into the output (OC × M, M = N·OH·OW),
/// backward recomputing the patches rather than keeping them. SphereConv's patch norms come from the
/// input either way: per-pixel Σ_c x², summed over each window (`windowSums`), one pass over
/// C·N·H·W; backward takes the ‖x‖ term the same way (`windowSpread`). The angle function runs
/// as one fused pass over the convolution output (CKernels).
public final class Conv2D: Layer {
    /// dL/du is computed over dL/d(output). A sphere-capable layer may switch to cosine at any
    /// step, and cosine keeps cos θ in its output for backward, so it declares that read.
    public var bufferUse: BufferUse { BufferUse(overwritesOutputGradient: true, readsOutputInBackward: sphereCapable) }
    public let name: String
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    /// Whether this convolution may be a SphereConv (shortcuts and score layers stay plain).
    public let sphereCapable: Bool
    public var needsInputGradient = true

    public let weight: Parameter                 // (OC, IC, KH, KW) = row-major (OC, K)
    public private(set) var kRaw: Parameter?     // (OC): learnable-sigmoid k before |·| + 0.05

    public var variant: ConvVariant {
        didSet { configureForVariant() }
    }

    /// Decay applies to plain-conv weights only; learnable k is created the first time it is
    /// needed and kept (dormant) when the layer switches away.
    private func configureForVariant() {
        precondition(sphereCapable || variant == .conv, "\(name) cannot be a SphereConv")
        weight.decays = !variant.isSphere
        if variant == .learnableSigmoid && kRaw == nil {
            let k = Parameter(name: "\(name).k", shape: [outChannels], decays: false)
            k.value.fill(Conv2D.initialLearnableK)
            kRaw = k
        }
    }
    /// Raw learnable k at creation; the k used is |k_raw| + 0.05 (0.75 at start).
    public static let initialLearnableK: Float = 0.7
    static let learnableKOffset: Float = 0.05

    private var workspace: Workspace
    /// The last forward pass's input (kept for backward). When it is a BatchNorm's output in
    /// the shared buffer, `inputSource` writes it back there before backward reads it.
    private(set) var input: Activation?
    /// The BatchNorm whose shared output is this layer's input (`Network.recomputeNormalizedOutputs`).
    var inputSource: BatchNorm2D?
    /// Patches sampled for the angle probe in the last training forward, (samples, K) row-major
    /// (`AngleProbe.capture`): backward may overwrite the input, and a shared input is
    /// overwritten by the next layers' forward, so the probe cannot read it after the step.
    let angleSamples: FloatBuffer
    private(set) var angleSampleCount = 0
    /// Output positions to sample per training forward; 0 takes none (`Trainer.capturesAngles`).
    var angleSamplePositions = 0
    private(set) var geometry = ConvGeometry(inChannels: 0, inHeight: 0, inWidth: 0, kernel: 1, stride: 1, padding: 0)
    // Per-step buffers of batch size live in the workspace (shared by a race's contenders);
    // the per-channel ones are the layer's own.
    private let output: FloatBuffer             // (OC, N, OH, OW): u, then g(θ) in place
    private let cosine: FloatBuffer             // (OC, M) clamped cos θ (aliases `output` for cosine)
    private let inverseInputNorm: FloatBuffer   // (M) 1/‖x‖ per output position
    private let pixelValues: FloatBuffer        // (N, H, W) Σ_c x² (forward), spread ‖x‖ term (backward)
    private let inverseWeightNorm = FloatBuffer()  // (OC) 1/‖w‖
    private let effectiveK = FloatBuffer()         // (OC) k per output channel (sigmoid variants)
    private let rowAccumulator = FloatBuffer()     // (OC) Σ_m dc·c
    private let columnAccumulator: FloatBuffer  // (M) Σ_oc dc·c
    private let kGradient = FloatBuffer()          // (OC) ∂L/∂k
    private var inputGradient: FloatBuffer      // (C, N, H, W); may be one `Network` shares

    /// Developer switch for measurements: SPHERELAB_NO_WINOGRAD=1 in the environment sends
    /// every convolution through im2col + GEMM. Read once per process.
    public static let winogradEnabled = ProcessInfo.processInfo.environment["SPHERELAB_NO_WINOGRAD"] == nil
    /// The two ways to compute u = W ⊛ x and its gradients, made once per layer (no allocation
    /// per step): Winograd for 3×3 stride-1 'same' layers with enough channels, im2col + GEMM
    /// for every other shape.
    private let im2colBackend: Im2colBackend
    private let winogradBackend: WinogradBackend?
    private let directBackend: DirectBackend?
    private var backend: any ConvolutionBackend {
        if Conv2D.winogradEnabled, let w = winogradBackend { return w }
        if Conv2D.directEnabled, let d = directBackend { return d }
        return im2colBackend
    }
    /// Backward: the direct kernel computes no input gradient, so a layer that needs one
    /// (none of the standard networks' first layers does) goes through im2col there.
    private var backwardBackend: any ConvolutionBackend {
        if backend is DirectBackend && needsInputGradient { return im2colBackend }
        return backend
    }
    /// Developer switch for measurements: SPHERELAB_NO_DIRECT=1 sends first layers through
    /// im2col + GEMM. Read once per process.
    public static let directEnabled = ProcessInfo.processInfo.environment["SPHERELAB_NO_DIRECT"] == nil

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int,
                variant: ConvVariant = .conv, sphereCapable: Bool = true, workspace: Workspace) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0)
        self.name = name
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.sphereCapable = sphereCapable
        self.workspace = workspace
        output = workspace.buffer(name, "output")
        cosine = workspace.buffer(name, "cosine")
        inverseInputNorm = workspace.buffer(name, "inverseInputNorm")
        pixelValues = workspace.buffer(name, "pixelValues")
        columnAccumulator = workspace.buffer(name, "columnAccumulator")
        inputGradient = workspace.buffer(name, "inputGradient")
        angleSamples = workspace.buffer(name, "angleSamples")
        im2colBackend = Im2colBackend(workspace: workspace, outChannels: outChannels)
        winogradBackend = WinogradConvolution.applies(kernel: kernel, stride: stride, padding: padding, inChannels: inChannels, outChannels: outChannels)
            ? WinogradBackend(workspace: workspace, inChannels: inChannels, outChannels: outChannels) : nil
        directBackend = DirectBackend.applies(kernel: kernel, stride: stride, padding: padding, inChannels: inChannels)
            ? DirectBackend(workspace: workspace, name: name, inChannels: inChannels, outChannels: outChannels) : nil
        weight = Parameter(name: "\(name).weight", shape: [outChannels, inChannels, kernel, kernel], decays: !variant.isSphere)
        self.variant = variant
        configureForVariant()
    }

    func useInputGradient(_ buffer: FloatBuffer) { inputGradient = buffer }

    /// The buffer the output is written to: `Network` may hand it back as the input gradient's,
    /// since nothing reads the output once this layer's backward has begun (a cosine
    /// SphereConv reads its cos θ there before it writes dx).
    var outputBuffer: FloatBuffer { output }

    /// Parameters trained at the current variant.
    public var parameters: [Parameter] {
        if variant == .learnableSigmoid, let k = kRaw { return [weight, k] }
        return [weight]
    }
    /// Everything a snapshot keeps, including a dormant learnable k.
    public var savedParameters: [Parameter] { kRaw.map { [weight, $0] } ?? [weight] }

    /// Restores a learnable k read from a snapshot (created if this layer never had one).
    public func restoreLearnableK(_ values: [Float]) throws {
        guard values.count == outChannels else {
            throw EngineError("\(name).k: expected \(outChannels) values, got \(values.count)")
        }
        let k = kRaw ?? Parameter(name: "\(name).k", shape: [outChannels], decays: false)
        k.value.copy(from: values)
        kRaw = k
    }
    var patchSize: Int { inChannels * kernel * kernel }

    /// He initialisation N(0, sqrt(2 / (k·k·Cin))).
    public func initialize(using rng: inout some NormalSource) {
        let std = (2.0 / Float(patchSize)).squareRoot()
        let w = weight.value
        for i in 0..<w.count { w[i] = rng.nextGaussian() * std }
    }

    public func outputShape(for s: Shape) throws -> Shape {
        guard s.channels == inChannels else {
            throw EngineError("\(name): expects \(inChannels) input channels, got \(s.channels)")
        }
        let g = ConvGeometry(inChannels: inChannels, inHeight: s.height, inWidth: s.width, kernel: kernel, stride: stride, padding: padding)
        guard g.outHeight >= 1, g.outWidth >= 1 else {
            throw EngineError("\(name): a \(kernel)×\(kernel) kernel (padding \(padding)) does not fit a \(s.height)×\(s.width) input")
        }
        return Shape(channels: outChannels, batch: s.batch, height: g.outHeight, width: g.outWidth)
    }


    // MARK: forward

    public func forward(_ x: Activation, training: Bool) -> Activation {
        forward(x, training: training, folding: nil)
    }

    /// The forward with the eval-mode BatchNorm that follows folded in (`fold`, evaluation
    /// only): the output is then that BatchNorm's (and its ReLU's), computed while each part
    /// of it is in cache.
    /// With `pool` (a 2×2 max pooling after the BatchNorm's ReLU; only where `poolsAsItWrites`)
    /// the output transforms write only the pooled output, into the pooling layer's buffer.
    func forward(_ x: Activation, training: Bool, folding fold: FoldedNormalization?, pooling pool: MaxPool2x2? = nil) -> Activation {
        precondition(fold == nil || !training, "\(name): a BatchNorm folds into the convolution only in eval mode")
        precondition(pool == nil || (fold != nil && poolsAsItWrites), "\(name): only a folded plain Winograd convolution pools as it writes")
        let s = x.shape
        geometry = ConvGeometry(inChannels: inChannels, inHeight: s.height, inWidth: s.width, kernel: kernel, stride: stride, padding: padding)
        let out = Shape(channels: outChannels, batch: s.batch, height: geometry.outHeight, width: geometry.outWidth)
        let m = out.plane
        input = x
        if training {
            angleSampleCount = sphereCapable && angleSamplePositions > 0
                ? AngleProbe.capture(x, geometry: geometry, positions: angleSamplePositions, into: angleSamples) : 0
        }
        output.ensure(count: out.count)
        let sphere = variant.isSphere
        if sphere { inverseInputNorm.ensure(count: m) }

        if var fold, !training, appliesAngleAsItWrites {
            // The output transforms apply the angle before the fold: the norms come first.
            patchSquaredNorms(of: x)
            prepareNorms(columns: m)
            fold.cosineNorms = (UnsafePointer(inverseWeightNorm.pointer), UnsafePointer(inverseInputNorm.pointer))
            return forwardFolded(x, fold: fold, pooling: pool, out: out)
        }
        if let pool, let fold { return forwardFolded(x, fold: fold, pooling: pool, out: out) }
        // A SphereConv's fold follows g(θ), so the linear part runs without it.
        backend.forward(x, geometry: geometry, weight: weight, fold: sphere ? nil : fold, into: output.pointer)
        if sphere {
            patchSquaredNorms(of: x)
            sphereEpilogue(columns: m, training: training, fold: fold)
        }
        return Activation(output, out)
    }


    /// inverseInputNorm[m] = ‖x_patch(m)‖² for every output position (the square root and
    /// inverse follow in `sphereEpilogue`).
    private func patchSquaredNorms(of x: Activation) {
        let plane = x.shape.plane, channels = inChannels
        precondition(plane <= Int(Int32.max), "\(name): \(plane) input positions exceed the kernels' index range")
        pixelValues.ensure(count: plane)
        let (src, sums) = (x.buffer.pointer, pixelValues.pointer)
        // The input (C, N·H·W) read as a C × plane matrix: column sums of squares per pixel.
        Parallel.forEach(plane, minimumPerWorker: 4096) { r in
            sl_column_sumsq(src, Int32(channels), Int32(plane), Int32(r.lowerBound), Int32(r.upperBound), sums)
        }
        windowSums(sums, batch: x.shape.batch, geometry: geometry, into: inverseInputNorm.pointer)
    }

    /// The folded evaluation forward through the backend's output transforms, which write the
    /// pooled output instead when `pool` is given.
    private func forwardFolded(_ x: Activation, fold: FoldedNormalization, pooling pool: MaxPool2x2?, out: Shape) -> Activation {
        var fold = fold
        guard let pool else {
            backend.forward(x, geometry: geometry, weight: weight, fold: fold, into: output.pointer)
            return Activation(output, out)
        }
        let pooled = pool.inferenceOutput(for: out)
        fold.pooled = pooled.buffer.pointer
        backend.forward(x, geometry: geometry, weight: weight, fold: fold, into: output.pointer)
        return pooled
    }

    /// inverseInputNorm (‖x_patch‖² from `patchSquaredNorms`) and inverseWeightNorm become
    /// 1/√(· + ε); the effective k is refreshed.
    private func prepareNorms(columns m: Int) {
        let oc = outChannels, k = patchSize
        let invX = inverseInputNorm.pointer
        Parallel.forEach(m, minimumPerWorker: 4096) { r in
            for i in r { invX[i] = 1 / (invX[i] + Conv2D.normEpsilon).squareRoot() }
        }
        inverseWeightNorm.ensure(count: oc)
        let w = weight.value.pointer
        for r in 0..<oc {
            var sum: Float = 0
            let row = w + r * k
            for j in 0..<k { sum += row[j] * row[j] }
            inverseWeightNorm[r] = 1 / (sum + Conv2D.normEpsilon).squareRoot()
        }
        refreshEffectiveK()
    }

    /// Norms and the angle function over the whole GEMM output, in place. Evaluation keeps no
    /// cosine for backward and applies `fold` to each row's panel of columns while it is in L1.
    private func sphereEpilogue(columns m: Int, training: Bool, fold: FoldedNormalization?) {
        let oc = outChannels
        prepareNorms(columns: m)
        let savesCosine = variant != .cosine && training
        if savesCosine { cosine.ensure(count: oc * m) }
        // Without a cosine to keep, the kernel's cosine store lands where g(θ) is stored next.
        let cosOut = savesCosine ? cosine.pointer : output.pointer
        let (v, out, invW, invX, kEff) = (variant.kernelIndex, output.pointer, inverseWeightNorm.pointer, inverseInputNorm.pointer,
                                          effectiveK.pointer)
        func run(_ post: UnsafePointer<sl_output_epilogue>?) {
            Parallel.forEach(m, minimumPerWorker: 1024) { r in
                sl_sphere_forward_folded(v, out, invW, invX, kEff, Int32(oc), Int32(m), Int32(r.lowerBound), Int32(r.upperBound),
                                         out, cosOut, post)
            }
        }
        if let fold { fold.withKernelForm { run($0) } } else { run(nil) }
    }

    /// Whether an evaluation may pool in this layer's output transform: plain convolution, or a
    /// cosine SphereConv whose angle the transform applies too, through Winograd.
    var poolsAsItWrites: Bool { (!variant.isSphere || appliesAngleAsItWrites) && backend is WinogradBackend }

    /// Whether an evaluation's Winograd output transforms apply this cosine SphereConv's angle
    /// (then the fold, then the pooling) as they write each row (`sl_cosine_row`), instead of a
    /// pass over the whole output and a pooling pass of their own: fmnist-w0.5 cosine inference
    /// 2234 → 2520 and 2040 → 2314 img/s alternately. Linear measured slower so (its arcsine on
    /// rows of 7–28 floats: 1828–1933 against 2116–2156 img/s) and keeps its pass, as do the
    /// sigmoid operators.
    var appliesAngleAsItWrites: Bool { variant == .cosine && backend is WinogradBackend && Conv2D.fusesAngleInEvaluation }
    /// Developer switch for measurements: SPHERELAB_NO_ANGLE_FUSION=1 applies the cosine in its
    /// own pass again in evaluations; read once per process.
    static let fusesAngleInEvaluation = ProcessInfo.processInfo.environment["SPHERELAB_NO_ANGLE_FUSION"] == nil

    /// ε under the square roots of ‖w‖ and ‖x‖ (spherenet.md §1).
    static let normEpsilon: Float = 1e-4

    private func refreshEffectiveK() {
        effectiveK.ensure(count: outChannels)
        switch variant {
        case .sigmoid(let k): effectiveK.fill(k)
        case .learnableSigmoid:
            let raw = kRaw!.value
            for r in 0..<outChannels { effectiveK[r] = abs(raw[r]) + Conv2D.learnableKOffset }
        default: effectiveK.fill(1)
        }
    }

    // MARK: backward

    public func backward(_ dy: Activation) -> Activation? {
        guard let x = input else { preconditionFailure("\(name): backward before forward") }
        inputSource?.materializeOutput()
        let s = x.shape, m = dy.shape.plane, k = patchSize, oc = outChannels
        let sphere = variant.isSphere
        let du = dy.buffer.pointer          // dL/du, computed in place over dL/d(output)
        if sphere {
            // Column ranges go to different workers; each worker sums its own row (and k)
            // accumulators, added up afterwards.
            let workers = Parallel.workers
            rowAccumulator.ensure(count: oc * workers); rowAccumulator.zero()
            columnAccumulator.ensure(count: m); columnAccumulator.zero()
            let learnable = variant == .learnableSigmoid
            if learnable { kGradient.ensure(count: oc * workers); kGradient.zero() }
            let saved = variant == .cosine ? output.pointer : cosine.pointer
            let (v, invW, invX, kEff) = (variant.kernelIndex, inverseWeightNorm.pointer, inverseInputNorm.pointer, effectiveK.pointer)
            let (rows, cols, dk) = (rowAccumulator.pointer, columnAccumulator.pointer, kGradient.pointer)
            Parallel.forEachWorker(m, workers: workers, minimumPerWorker: 1024) { r, w in
                sl_sphere_backward(v, du, saved, invW, invX, kEff, Int32(oc), Int32(m), Int32(r.lowerBound), Int32(r.upperBound),
                                   du, rows + w * oc, cols, learnable ? dk + w * oc : nil)
                // ∂L/∂s per position (s = ‖x‖² of the patch) is −Σ dc·c / (2‖x‖²); it is folded
                // below as dpatch −= patch · colAcc · invX² (the 2 cancels).
                for i in r { cols[i] *= invX[i] * invX[i] }
            }
            for w in 1..<workers {
                for r in 0..<oc { rows[r] += rows[w * oc + r] }
                if learnable { for r in 0..<oc { dk[r] += dk[w * oc + r] } }
            }
        }
        if needsInputGradient { inputGradient.ensure(count: s.count) }
        var correction: InputGradientCorrection?
        if sphere && needsInputGradient {
            // ‖x‖ term: dpatch −= patch · colAcc per position; through col2im that is
            // dx[c, pixel] −= x[c, pixel] · (colAcc summed over every window holding the pixel).
            // The Winograd backend subtracts it as it writes dx; the others after.
            pixelValues.ensure(count: s.plane)
            windowSpread(columnAccumulator.pointer, batch: s.batch, geometry: geometry, into: pixelValues.pointer)
            correction = InputGradientCorrection(input: x.buffer.pointer, spread: pixelValues.pointer)
        }
        let backwardBackend = self.backwardBackend
        backwardBackend.backward(x, geometry: geometry, du: du, weight: weight, dx: needsInputGradient ? inputGradient.pointer : nil,
                                 correction: correction)
        if let correction, !backwardBackend.appliesCorrections {
            correction.apply(to: inputGradient.pointer, channels: inChannels, plane: s.plane)
        }
        if sphere {
            // ‖w‖ term: dW[r] −= (Σ_m dc·c) / ‖w‖² · w[r]
            let w = weight.value.pointer, g = weight.grad.pointer
            for r in 0..<oc {
                let scale = rowAccumulator[r] * inverseWeightNorm[r] * inverseWeightNorm[r]
                for j in 0..<k { g[r * k + j] -= scale * w[r * k + j] }
            }
            if variant == .learnableSigmoid, let kr = kRaw {
                for r in 0..<oc {
                    let sign: Float = kr.value[r] >= 0 ? 1 : -1
                    kr.grad[r] += kGradient[r] * sign
                }
            }
        }
        return needsInputGradient ? Activation(inputGradient, s) : nil
    }

}
