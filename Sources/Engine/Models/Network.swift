import Foundation

/// A network body (layers producing D features per image) plus the score layer's weights.
/// The trainer owns it; nothing else touches it while a run is going.
public final class Network {
    public let spec: ModelSpec
    public let layers: [Layer]
    /// Feature size D entering the score layer.
    public let featureDimension: Int
    /// The 1×1 score layer, (classes, D, 1, 1) as PyTorch stores it.
    public let scoreWeight: Parameter
    public let workspace: Workspace
    /// Every convolution, in order; the sphere-capable ones switch variant together.
    public let convolutions: [Conv2D]

    /// `workspace` holds every per-step buffer (activations, their gradients, patch matrices);
    /// networks used one at a time (a race's contenders) may share one. The network itself
    /// keeps parameters, their gradients and BatchNorm running statistics.
    ///
    /// `reusesActivations` (the default unless SPHERELAB_KEEP_ACTIVATIONS=1) trades one pass
    /// per BatchNorm in backward for memory: BatchNorm outputs share one buffer and are written
    /// again in backward, and each convolution writes its input gradient over its own output.
    /// The results keep their bits either way (ActivationReuseTests).
    public init(spec: ModelSpec, variant: ConvVariant, seed: UInt64, workspace: Workspace = Workspace(),
                reusesActivations: Bool = Network.reusesActivationsByDefault) throws {
        // The plan names and sizes every layer; the saved-tensor table and the memory
        // estimate come from the same plan, so they describe exactly this network.
        let plan = try ModelPlan(spec: spec)
        self.spec = spec
        let ws = workspace
        self.workspace = ws
        let stats = spec.batchNormStatistics
        let layers: [Layer] = plan.steps.map { step -> Layer in
            switch step {
            case .conv(let name, let i, let o, let k, let pad):
                return Conv2D(name: name, inChannels: i, outChannels: o, kernel: k, padding: pad, variant: variant, workspace: ws)
            case .batchNorm(let name, let c): return BatchNorm2D(name: name, channels: c, statistics: stats, workspace: ws)
            case .affine(let name, let c): return ChannelAffine(name: name, channels: c, workspace: ws)
            case .relu(let name): return ReLU(name: name)
            case .maxPool(let name): return MaxPool2x2(name: name, workspace: ws)
            case .residual(let name, let i, let o, let stride):
                return ResidualUnit(name: name, inChannels: i, outChannels: o, stride: stride, variant: variant, statistics: stats, workspace: ws)
            case .globalPool(let name): return GlobalAveragePool(name: name, workspace: ws)
            }
        }
        featureDimension = plan.featureDimension
        try BufferUse.check(layers)
        for case let unit as ResidualUnit in layers { try BufferUse.check(unit.mainBranch) }
        fuseBatchNormReLU(layers)   // residual units fuse their own main branch
        if reusesActivations { Network.recomputeNormalizedOutputs(layers, workspace: ws) }
        Network.shareInputGradients(layers, workspace: ws, convolutionsReuseOutputs: reusesActivations)
        self.layers = layers
        layers.first?.needsInputGradient = false
        scoreWeight = Parameter(name: "score.weight", shape: [spec.classes, featureDimension, 1, 1], decays: true)
        convolutions = layers.flatMap { layer -> [Conv2D] in
            if let c = layer as? Conv2D { return [c] }
            if let r = layer as? ResidualUnit { return [r.conv1, r.conv2] + (r.shortcutConv.map { [$0] } ?? []) }
            return []
        }
        sphereCapable = convolutions.filter(\.sphereCapable)
        // Shapes are checked once here, so forward passes cannot meet a mismatch.
        var shape = Shape(channels: spec.inputChannels, batch: 1, height: spec.inputHeight, width: spec.inputWidth)
        for layer in layers { shape = try layer.outputShape(for: shape) }
        guard shape.height == 1, shape.width == 1, shape.channels == featureDimension else {
            throw EngineError("the network ends in \(shape), expected \(featureDimension) features of 1×1")
        }
        // Weights come from the project's one generator, on a stream of their own (the data
        // order and augmentation draw from others), so they depend on the seed alone.
        var rng = SeededGenerator(seed: SeededGenerator.mix(seed ^ Network.weightStream))
        for conv in convolutions { conv.initialize(using: &rng) }
        let std = (2.0 / Float(featureDimension)).squareRoot()
        for i in 0..<scoreWeight.count { scoreWeight.value[i] = rng.nextGaussian() * std }
    }

    /// Developer switch for measurements: SPHERELAB_KEEP_ACTIVATIONS=1 gives every BatchNorm
    /// its own output buffer and every convolution an input gradient apart from its output, as
    /// before session 7. Read once per process.
    public static let reusesActivationsByDefault = ProcessInfo.processInfo.environment["SPHERELAB_KEEP_ACTIVATIONS"] == nil

    /// A BatchNorm (with the ReLU it applies) whose output only the next convolution or pooling
    /// reads writes it into one buffer shared by all such BatchNorms: the next layer reads it in
    /// forward at once, and in backward asks the BatchNorm to write it again from the input it
    /// kept anyway (`materializeOutput`, one pass). On cifar-w1 at batch 128 this is eight
    /// 25–67 MB buffers fewer.
    static func recomputeNormalizedOutputs(_ layers: [Layer], workspace: Workspace) {
        let shared = workspace.buffer("network", "normalizedOutput")
        for (i, layer) in layers.enumerated() {
            guard let bn = layer as? BatchNorm2D else { continue }
            var j = i + 1
            while j < layers.count, let relu = layers[j] as? ReLU, relu.absorbed { j += 1 }
            guard j < layers.count else { continue }
            if let conv = layers[j] as? Conv2D {
                bn.shareOutput(shared)
                conv.inputSource = bn
            } else if let pool = layers[j] as? MaxPool2x2 {
                bn.shareOutput(shared)
                pool.inputSource = bn
            }
        }
    }

    /// Where each layer that writes an input gradient of its own writes it. Backward runs from
    /// the last layer to the first, so once a top-level convolution's backward begins nothing
    /// reads its output any more (the layers after it are done; a cosine SphereConv reads its
    /// cos θ there before writing dx): with `convolutionsReuseOutputs` it writes dx there.
    /// Pooling (and convolutions otherwise) use two shared buffers, each taking the one that
    /// does not hold the gradient it is given, so a buffer is dead before it is written over.
    /// Residual units keep their own (their backward reads the given gradient twice).
    /// `ModelPlan.memoryEstimate` counts the shared two.
    static func shareInputGradients(_ layers: [Layer], workspace: Workspace, convolutionsReuseOutputs: Bool) {
        let shared = [workspace.buffer("network", "inputGradient.0"), workspace.buffer("network", "inputGradient.1")]
        var arriving: FloatBuffer?   // the buffer holding the gradient that reaches the layer from above
        for layer in layers.reversed() {
            if convolutionsReuseOutputs, let conv = layer as? Conv2D {
                conv.useInputGradient(conv.outputBuffer)
                arriving = conv.outputBuffer
            } else if let writer = layer as? WritesInputGradient {
                let buffer = shared[0] === arriving ? shared[1] : shared[0]
                writer.useInputGradient(buffer)
                arriving = buffer
            } else if !layer.bufferUse.overwritesOutputGradient {
                arriving = nil   // a buffer of the layer's own
            }
        }
    }

    /// Separates the weight stream from the data streams of the same seed (an arbitrary constant).
    static let weightStream: UInt64 = 0x7765_6967_6874_7321

    /// Convolutions that can be SphereConv (all but residual shortcuts).
    public let sphereCapable: [Conv2D]

    /// Sets the operator of every sphere-capable convolution (weights are kept).
    public func setVariant(_ v: ConvVariant) {
        for c in sphereCapable { c.variant = v }
    }

    public var variant: ConvVariant { sphereCapable.first?.variant ?? .conv }

    /// Every BatchNorm layer, residual units' included, in network order.
    public var batchNorms: [BatchNorm2D] {
        layers.flatMap { layer -> [BatchNorm2D] in
            if let bn = layer as? BatchNorm2D { return [bn] }
            if let r = layer as? ResidualUnit { return [r.bn1, r.bn2] + (r.shortcutBN.map { [$0] } ?? []) }
            return []
        }
    }

    /// Parameters trained now (body + score).
    public var parameters: [Parameter] { layers.flatMap(\.parameters) + [scoreWeight] }
    /// Every parameter a snapshot keeps.
    public var savedParameters: [Parameter] { layers.flatMap(\.savedParameters) + [scoreWeight] }
    public var stateBuffers: [StateBuffer] { layers.flatMap(\.stateBuffers) }

    /// The first parameter or buffer holding NaN or ±∞ (nil when all are finite).
    public func firstNonFiniteTensor() -> String? {
        for p in savedParameters where !Network.allFinite(p.value) { return p.name }
        for b in stateBuffers where !Network.allFinite(b.value) { return b.name }
        return nil
    }

    static func allFinite(_ buffer: FloatBuffer) -> Bool {
        let v = buffer.pointer
        var sum: Float = 0
        for i in 0..<buffer.count { sum += v[i] * 0 }   // 0·x is NaN exactly when x is NaN or ±∞
        return sum == 0
    }

    public var parameterCount: Int { savedParameters.reduce(0) { $0 + $1.count } }

    /// Runs the body; returns features (D, N, 1, 1).
    public func forwardBody(_ images: Activation, training: Bool) -> Activation {
        workspace.claim(for: self)
        if !training { return forwardFolded(images) }
        var h = images
        for layer in layers { h = layer.forward(h, training: training) }
        return h
    }

    /// Whether the workspace still holds this network's last forward pass (another network
    /// sharing the workspace may have computed since).
    public var holdsWorkspace: Bool { workspace.isHeld(by: self) }

    /// Backpropagates dL/d(features) through the body, filling parameter gradients (right
    /// after this network's forward pass: the workspace holds what backward reads).
    public func backwardBody(_ dFeatures: Activation) {
        precondition(holdsWorkspace, "backward of a network whose forward pass another network's has replaced in the shared workspace")
        var g: Activation? = dFeatures
        for layer in layers.reversed() {
            guard let d = g else { break }
            g = layer.backward(d)
        }
    }
}
