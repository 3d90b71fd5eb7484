import Foundation
import CKernels

/// The layers a `ModelSpec` builds, as names and sizes only — nothing allocated. `Network`
/// builds its layers from this plan, so the saved-tensor table (`tensors`) and the memory
/// estimate (`memoryEstimate`) describe exactly the network that would be built, and a
/// snapshot or a command line can be judged before a byte of weights is allocated.
public struct ModelPlan: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case conv(name: String, inChannels: Int, outChannels: Int, kernel: Int, padding: Int)
        case batchNorm(name: String, channels: Int)
        case affine(name: String, channels: Int)
        case relu(name: String)
        case maxPool(name: String)
        case residual(name: String, inChannels: Int, outChannels: Int, stride: Int)
        case globalPool(name: String)
    }

    public let spec: ModelSpec
    public let steps: [Step]
    /// Feature size D entering the score layer.
    public let featureDimension: Int

    public init(spec: ModelSpec) throws {
        try spec.validate()
        self.spec = spec
        var steps: [Step] = []
        switch spec.architecture {
        case .sphereNet:
            var index = 0
            func next() -> String { defer { index += 1 }; return "features.\(index)" }
            var channels = spec.inputChannels
            for base in [128, 192, 256] {
                let width = spec.scaled(base)
                for _ in 0..<spec.depthPerStage {
                    steps.append(.conv(name: next(), inChannels: channels, outChannels: width, kernel: 3, padding: 1))
                    ModelPlan.appendNormalization(to: &steps, spec: spec, channels: width, names: next)
                    steps.append(.relu(name: next()))
                    channels = width
                }
                steps.append(.maxPool(name: next()))
            }
            // fc6: a 'valid' convolution over the whole remaining map (4×4 for 28 and 32 pixels).
            let h = ModelPlan.pooledSize(spec.inputHeight, times: 3), w = ModelPlan.pooledSize(spec.inputWidth, times: 3)
            guard h == w else { throw EngineError("fc6 needs a square map; the input gives \(h)×\(w)") }
            let fc = spec.scaled(256)
            steps.append(.conv(name: "fc6.0", inChannels: channels, outChannels: fc, kernel: h, padding: 0))
            if spec.fc6BatchNorm { steps.append(.batchNorm(name: "fc6.1", channels: fc)) }
            featureDimension = fc
        case .sphereResNet:
            let stem = spec.scaled(96)
            steps.append(.conv(name: "stem.0", inChannels: spec.inputChannels, outChannels: stem, kernel: 3, padding: 1))
            steps.append(.batchNorm(name: "stem.1", channels: stem))
            steps.append(.relu(name: "stem.2"))
            var channels = stem
            for (stage, base) in [96, 192, 384].enumerated() {
                let width = spec.scaled(base)
                for unit in 0..<spec.depthPerStage {
                    let stride = (unit == 0 && stage > 0) ? 2 : 1
                    steps.append(.residual(name: "layer\(stage + 1).\(unit)", inChannels: channels, outChannels: width, stride: stride))
                    channels = width
                }
            }
            steps.append(.globalPool(name: "pool"))
            featureDimension = channels
        }
        self.steps = steps
    }

    static func appendNormalization(to steps: inout [Step], spec: ModelSpec, channels: Int, names: () -> String) {
        switch spec.normalization {
        case .batchNorm:
            steps.append(.batchNorm(name: names(), channels: channels))
        case .sphereNorm:
            steps.append(.affine(name: names(), channels: channels))
        case .sphereNormBatchNorm:
            steps.append(.affine(name: names(), channels: channels))
            steps.append(.batchNorm(name: names(), channels: channels))
        }
    }

    static func pooledSize(_ n: Int, times: Int) -> Int {
        var s = n
        for _ in 0..<times { s = (s + 1) / 2 }
        return s
    }

    /// Whether a residual unit has a projection shortcut (the same rule `ResidualUnit` uses).
    public static func hasShortcut(inChannels: Int, outChannels: Int, stride: Int) -> Bool {
        stride != 1 || inChannels != outChannels
    }

    // MARK: the saved-tensor table

    /// What `weights.safetensors` holds for this model.
    public struct TensorTable: Sendable, Equatable {
        /// Every parameter and buffer that must be present: name → shape.
        public var required: [String: [Int]]
        /// Tensors that may be present (a learnable-sigmoid layer's raw k): name → shape.
        public var optional: [String: [Int]]
    }

    /// The weights a network of this plan saves. A conv layer's `k` is optional: it exists
    /// once the layer has been a learnable sigmoid.
    public var tensors: TensorTable {
        var required: [String: [Int]] = [:], optional: [String: [Int]] = [:]
        func conv(_ name: String, _ i: Int, _ o: Int, _ k: Int, sphere: Bool = true) {
            required["\(name).weight"] = [o, i, k, k]
            if sphere { optional["\(name).k"] = [o] }
        }
        func bn(_ name: String, _ c: Int) {
            required["\(name).weight"] = [c]; required["\(name).bias"] = [c]
            required["\(name).running_mean"] = [c]; required["\(name).running_var"] = [c]
            required["\(name).num_batches_tracked"] = []
        }
        for step in steps {
            switch step {
            case .conv(let name, let i, let o, let k, _): conv(name, i, o, k)
            case .batchNorm(let name, let c): bn(name, c)
            case .affine(let name, let c): required["\(name).weight"] = [c]; required["\(name).bias"] = [c]
            case .residual(let name, let i, let o, let stride):
                conv("\(name).conv1", i, o, 3); bn("\(name).bn1", o)
                conv("\(name).conv2", o, o, 3); bn("\(name).bn2", o)
                if ModelPlan.hasShortcut(inChannels: i, outChannels: o, stride: stride) {
                    conv("\(name).shortcut.0", i, o, 1, sphere: false); bn("\(name).shortcut.1", o)
                }
            case .relu, .maxPool, .globalPool: break
            }
        }
        required["score.weight"] = [spec.classes, featureDimension, 1, 1]
        return TensorTable(required: required, optional: optional)
    }

    /// Compares a snapshot's weight table (name → shape) with this plan's; nil when it fits,
    /// else what is missing, extra or of the wrong shape (at most a few names each).
    public func mismatch(weights: [String: [Int]]) -> String? {
        let table = tensors
        var problems: [String] = []
        let missing = table.required.keys.filter { weights[$0] == nil }.sorted()
        if !missing.isEmpty {
            problems.append("weights lack " + missing.prefix(3).map { "\($0) \(table.required[$0]!)" }.joined(separator: ", ")
                            + (missing.count > 3 ? " and \(missing.count - 3) more" : ""))
        }
        let extra = weights.keys.filter { table.required[$0] == nil && table.optional[$0] == nil }.sorted()
        if !extra.isEmpty {
            problems.append("weights hold tensors this model does not have: " + extra.prefix(3).joined(separator: ", ")
                            + (extra.count > 3 ? " and \(extra.count - 3) more" : ""))
        }
        let wrong = weights.compactMap { name, shape -> String? in
            guard let want = table.required[name] ?? table.optional[name], want != shape else { return nil }
            return "\(name) has shape \(shape), the model needs \(want)"
        }.sorted()
        if !wrong.isEmpty { problems.append(wrong.prefix(3).joined(separator: "; ") + (wrong.count > 3 ? " and \(wrong.count - 3) more" : "")) }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    // MARK: memory

    /// What training this model would take, estimated from the plan alone.
    public struct MemoryEstimate: Sendable, Equatable {
        public var parameters: Int
        /// Weights, gradients and two optimizer moments: each run's own.
        public var parameterBytes: Int
        /// Layer outputs, gradients and saved intermediates for one batch, plus patch buffers:
        /// the `Workspace`, which runs computing one at a time share.
        public var activationBytes: Int
        public var totalBytes: Int { parameterBytes + activationBytes }

        /// Runs sharing one workspace (a race): every run's parameters, the largest workspace.
        public static func shared(_ runs: [MemoryEstimate]) -> MemoryEstimate {
            var e = MemoryEstimate(parameters: 0, parameterBytes: 0, activationBytes: 0)
            for r in runs {
                e.parameters = min(Int.max / 4, e.parameters + r.parameters)
                e.parameterBytes = min(Int.max / 4, e.parameterBytes + r.parameterBytes)
                e.activationBytes = max(e.activationBytes, r.activationBytes)
            }
            return e
        }
    }

    /// Parameters and activation memory for training at `batchSize` (saturating: absurd
    /// models give huge numbers, never an overflow). Evaluation goes through the same buffers
    /// in chunks of at most the batch size, so it adds nothing.
    public func memoryEstimate(batchSize: Int) -> MemoryEstimate {
        trainingEstimate(batchSize: batchSize)
    }

    func trainingEstimate(batchSize: Int) -> MemoryEstimate {
        func mul(_ xs: Int...) -> Int {
            var r = 1
            for x in xs {
                let (p, o) = r.multipliedReportingOverflow(by: max(0, x))
                if o { return Int.max / 4 }
                r = p
            }
            return r
        }
        func add(_ a: inout Int, _ b: Int) { a = a > Int.max / 4 - b ? Int.max / 4 : a + b }
        var parameters = 0
        for shape in tensors.required.values { add(&parameters, shape.reduce(1) { mul($0, $1) }) }
        let n = max(1, batchSize)
        var (c, h, w) = (spec.inputChannels, spec.inputHeight, spec.inputWidth)
        var activations = 0           // floats
        // floats of the workspace's two scratch buffers: the largest im2col / Winograd chunk, or
        // for a fused Winograd layer every worker's block scratch and the weight gradient's
        // partial sums per group.
        var columns = 0, columnGradients = 0, transformedWeights = 0
        var transposedTiles = 0   // floats: the passes' weight gradient, a panel per worker
        let chunk = 1 << 22
        func convOut(_ size: Int, _ k: Int, _ pad: Int, _ stride: Int) -> Int { max(1, (size + 2 * pad - k) / stride + 1) }
        // The input gradients of top-level pooling (and convolutions, unless they write theirs
        // over their outputs) share two buffers (Network.shareInputGradients): the largest one,
        // twice, at the end. So do BatchNorm outputs read only by the next convolution or
        // pooling (Network.recomputeNormalizedOutputs): the largest one, once.
        let reuses = Network.reusesActivationsByDefault
        var sharedGradient = 0, sharedNormalized = 0
        func conv(_ i: Int, _ o: Int, _ k: Int, _ pad: Int, _ stride: Int, sharesGradient: Bool = false) {
            let (oh, ow) = (convOut(h, k, pad, stride), convOut(w, k, pad, stride))
            // Output, pre-activation/norm terms kept for backward, input gradient.
            add(&activations, mul(3, o, n, oh, ow))
            if sharesGradient {
                if reuses { add(&activations, max(0, mul(i, n, h, w) - mul(o, n, oh, ow))) }   // what outgrows the output
                else { sharedGradient = max(sharedGradient, mul(i, n, h, w)) }
            } else { add(&activations, mul(i, n, h, w)) }
            if DirectBackend.applies(kernel: k, stride: stride, padding: pad, inChannels: i) {
                add(&activations, mul(i, n, h + 2, w + 2))   // the zero-bordered input copy
            }
            let patches = min(chunk, mul(i, k, k, oh, ow, n))
            columns = max(columns, patches); columnGradients = max(columnGradients, patches)
            if WinogradConvolution.applies(kernel: k, stride: stride, padding: pad, inChannels: i, outChannels: o),
               WinogradConvolution.fuses(inChannels: i, outChannels: o, width: ow) {
                // Forward and weight gradient (i → o) and input gradient (channels swapped).
                let tile = WinogradConvolution.tile(height: oh, width: ow, inChannels: i, outChannels: o)
                for (a, b) in [(i, o), (o, i)] {
                    let scratch = WinogradConvolution.fusedScratch(inChannels: a, outChannels: b, width: ow, tile: tile)
                    columns = max(columns, mul(max(1, Parallel.workers), scratch))
                }
                columnGradients = max(columnGradients, mul(WinogradConvolution.weightGradientGroups, (tile + 2) * (tile + 2), i, o))
            }
            if WinogradConvolution.applies(kernel: k, stride: stride, padding: pad, inChannels: i, outChannels: o) {
                // The transformed weights and their gradient, two buffers every Winograd layer shares.
                let tile = WinogradConvolution.tile(height: oh, width: ow, inChannels: i, outChannels: o)
                transformedWeights = max(transformedWeights, mul((tile + 2) * (tile + 2), i, o))
                if !WinogradConvolution.fuses(inChannels: i, outChannels: o, width: ow) && i % 8 == 0 {
                    transposedTiles = max(transposedTiles, mul(max(1, Parallel.workers), Int(sl_wino_pass_weight_grad_scratch(Int32(i)))))
                }
            }
            (c, h, w) = (o, oh, ow)
        }
        /// Whether the BatchNorm at `index` gets the shared output buffer.
        func sharesOutput(_ index: Int) -> Bool {
            guard reuses else { return false }
            var j = index + 1
            while j < steps.count, case .relu = steps[j] { j += 1 }
            guard j < steps.count else { return false }
            switch steps[j] {
            case .conv, .maxPool: return true
            default: return false
            }
        }
        for (index, step) in steps.enumerated() {
            switch step {
            case .conv(_, let i, let o, let k, let pad): conv(i, o, k, pad, 1, sharesGradient: true)
            case .batchNorm(_, let ch) where sharesOutput(index):
                sharedNormalized = max(sharedNormalized, mul(ch, n, h, w))
            case .batchNorm(_, let ch), .affine(_, let ch): add(&activations, mul(3, ch, n, h, w))
            case .relu: add(&activations, mul(2, c, n, h, w))
            case .maxPool:
                let (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
                add(&activations, mul(2, c, n, oh, ow)); sharedGradient = max(sharedGradient, mul(c, n, h, w))
                (h, w) = (oh, ow)
            case .residual(_, let i, let o, let stride):
                let (h0, w0) = (h, w)
                conv(i, o, 3, 1, stride); add(&activations, mul(5, o, n, h, w))   // bn1, relu1
                conv(o, o, 3, 1, 1); add(&activations, mul(6, o, n, h, w))        // bn2, sum, relu
                if ModelPlan.hasShortcut(inChannels: i, outChannels: o, stride: stride) {
                    let (h1, w1) = (h, w); (h, w) = (h0, w0)
                    conv(i, o, 1, 0, stride); add(&activations, mul(3, o, n, h, w))
                    (h, w) = (h1, w1)
                }
            case .globalPool:
                add(&activations, mul(2, c, n)); sharedGradient = max(sharedGradient, mul(c, n, h, w))
                (h, w) = (1, 1)
            }
        }
        add(&activations, mul(2, sharedGradient)); add(&activations, sharedNormalized)
        add(&activations, columns); add(&activations, columnGradients); add(&activations, mul(2, transformedWeights))
        add(&activations, transposedTiles)
        add(&activations, mul(4, spec.classes, n))
        let parameterBytes = mul(parameters, 5, 4)    // value, gradient, 2 moments, a snapshot copy
        return MemoryEstimate(parameters: parameters, parameterBytes: parameterBytes, activationBytes: mul(activations, 4))
    }
}

/// The machine's physical memory, read once.
public enum MachineMemory {
    /// Bytes of physical memory (MemTotal of /proc/meminfo, else sysconf), nil when unknown.
    public static let physicalBytes: Int? = {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
                let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
                if let kb = digits { return kb * 1024 }
            }
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : nil
    }()

    /// The share of physical memory one run may plan to use (the rest: dataset, system, UI).
    public static let usableFraction = 0.75

    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 1e15 { return String(format: "%.3g PB", b / 1e15) }
        if b >= 1e9 { return String(format: "%.1f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.0f MB", b / 1e6) }
        return String(format: "%.0f kB", b / 1e3)
    }

    /// Refuses a model whose estimate does not fit, with the estimate and the limit.
    public static func check(_ plan: ModelPlan, batchSize: Int, limitBytes: Int? = MachineMemory.physicalBytes.map { Int(Double($0) * usableFraction) }) throws {
        guard let limit = limitBytes else { return }
        let e = plan.memoryEstimate(batchSize: batchSize)
        guard e.totalBytes <= limit else {
            throw EngineError("\(plan.spec.displayName) at batch \(batchSize) needs about \(format(e.totalBytes)) (\(e.parameters) parameters: \(format(e.parameterBytes)); activations: \(format(e.activationBytes))), more than the \(format(limit)) this machine can give a run (\(Int(usableFraction * 100))% of \(format(physicalBytes ?? limit)) physical memory); choose a smaller --width, a shallower model or a smaller --batch")
        }
    }
}
