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

    /// `workspace` is the layers' scratch memory; networks used one at a time (a race's
    /// contenders) may share one.
    public init(spec: ModelSpec, variant: ConvVariant, seed: UInt64, workspace: Workspace = Workspace()) throws {
        try spec.validate()
        self.spec = spec
        let ws = workspace
        self.workspace = ws
        let stats = spec.batchNormStatistics
        var layers: [Layer] = []
        switch spec.architecture {
        case .sphereNet:
            var index = 0
            func add(_ l: Layer) { layers.append(l) }
            func next() -> String { defer { index += 1 }; return "features.\(index)" }
            var channels = spec.inputChannels
            for base in [128, 192, 256] {
                let width = spec.scaled(base)
                for _ in 0..<spec.depthPerStage {
                    add(Conv2D(name: next(), inChannels: channels, outChannels: width, kernel: 3, padding: 1,
                               variant: variant, workspace: ws))
                    Network.appendNormalization(to: &layers, spec: spec, channels: width, names: next)
                    add(ReLU(name: next()))
                    channels = width
                }
                add(MaxPool2x2(name: next()))
            }
            // fc6: a 'valid' convolution over the whole remaining map (4×4 for 28 and 32 pixels).
            let h = Network.pooledSize(spec.inputHeight, times: 3), w = Network.pooledSize(spec.inputWidth, times: 3)
            guard h == w else { throw EngineError("fc6 needs a square map; the input gives \(h)×\(w)") }
            let fc = spec.scaled(256)
            layers.append(Conv2D(name: "fc6.0", inChannels: channels, outChannels: fc, kernel: h, padding: 0,
                                 variant: variant, workspace: ws))
            if spec.fc6BatchNorm { layers.append(BatchNorm2D(name: "fc6.1", channels: fc, statistics: stats)) }
            featureDimension = fc
        case .sphereResNet:
            let stem = spec.scaled(96)
            layers.append(Conv2D(name: "stem.0", inChannels: spec.inputChannels, outChannels: stem, kernel: 3, padding: 1,
                                 variant: variant, workspace: ws))
            layers.append(BatchNorm2D(name: "stem.1", channels: stem, statistics: stats))
            layers.append(ReLU(name: "stem.2"))
            var channels = stem
            for (stage, base) in [96, 192, 384].enumerated() {
                let width = spec.scaled(base)
                for unit in 0..<spec.depthPerStage {
                    let stride = (unit == 0 && stage > 0) ? 2 : 1
                    layers.append(ResidualUnit(name: "layer\(stage + 1).\(unit)", inChannels: channels, outChannels: width,
                                               stride: stride, variant: variant, statistics: stats, workspace: ws))
                    channels = width
                }
            }
            layers.append(GlobalAveragePool(name: "pool"))
            featureDimension = channels
        }
        try BufferUse.check(layers)
        for case let unit as ResidualUnit in layers { try BufferUse.check(unit.mainBranch) }
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

    static func appendNormalization(to layers: inout [Layer], spec: ModelSpec, channels: Int, names: () -> String) {
        switch spec.normalization {
        case .batchNorm:
            layers.append(BatchNorm2D(name: names(), channels: channels, statistics: spec.batchNormStatistics))
        case .sphereNorm:
            layers.append(ChannelAffine(name: names(), channels: channels))
        case .sphereNormBatchNorm:
            layers.append(ChannelAffine(name: names(), channels: channels))
            layers.append(BatchNorm2D(name: names(), channels: channels, statistics: spec.batchNormStatistics))
        }
    }

    static func pooledSize(_ n: Int, times: Int) -> Int {
        var s = n
        for _ in 0..<times { s = (s + 1) / 2 }
        return s
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

    public var parameterCount: Int { savedParameters.reduce(0) { $0 + $1.count } }

    /// Runs the body; returns features (D, N, 1, 1).
    public func forwardBody(_ images: Activation, training: Bool) -> Activation {
        var h = images
        for layer in layers { h = layer.forward(h, training: training) }
        return h
    }

    /// Backpropagates dL/d(features) through the body, filling parameter gradients.
    public func backwardBody(_ dFeatures: Activation) {
        var g: Activation? = dFeatures
        for layer in layers.reversed() {
            guard let d = g else { break }
            g = layer.backward(d)
        }
    }
}
