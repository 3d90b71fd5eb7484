/// What network to build. Saved in snapshots; everything else (variant, loss, optimizer)
/// may change during a run.
public struct ModelSpec: Codable, Sendable, Equatable {
    public enum Architecture: String, Codable, Sendable {
        /// Plain stacks: 3 stages × n conv3×3-BN-ReLU, 2×2 max pool after each, 4×4 'valid'
        /// fc6, 1×1 score. n = 3 is SphereNet-9 (CNN-9 with the conv variant).
        case sphereNet = "spherenet"
        /// Residual: stem, 3 stages × n basic units (stride 2 into stages 2, 3), global
        /// average pool, 1×1 score. n = 5 is SphereResNet-32.
        case sphereResNet = "sphereresnet"
    }
    /// What follows each SphereConv (spherenet.md §2).
    public enum Normalization: String, Codable, Sendable, CaseIterable {
        case batchNorm = "bn"
        case sphereNorm = "spherenorm"
        case sphereNormBatchNorm = "spherenorm+bn"
    }

    public var architecture: Architecture
    /// Width multiplier applied to every stage width (0.25 → 32/48/64 for SphereNet).
    public var width: Double
    /// Conv layers per stage (plain) or residual units per stage (residual).
    public var depthPerStage: Int
    public var inputChannels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var classes: Int
    public var normalization: Normalization = .batchNorm
    /// BatchNorm after fc6 (on in the authors' released logs).
    public var fc6BatchNorm: Bool = true
    public var batchNormStatistics: BatchNormStatistics = .pytorch

    public init(architecture: Architecture, width: Double, depthPerStage: Int, inputChannels: Int,
                inputHeight: Int, inputWidth: Int, classes: Int) {
        self.architecture = architecture; self.width = width; self.depthPerStage = depthPerStage
        self.inputChannels = inputChannels; self.inputHeight = inputHeight; self.inputWidth = inputWidth
        self.classes = classes
    }

    public static func sphereNet9(width: Double = 1, channels: Int = 3, size: Int = 32, classes: Int = 10) -> ModelSpec {
        ModelSpec(architecture: .sphereNet, width: width, depthPerStage: 3, inputChannels: channels,
                  inputHeight: size, inputWidth: size, classes: classes)
    }

    /// Total weighted layers as in the model's usual name (9 for SphereNet-9, 32 for ResNet-32).
    public var depth: Int {
        switch architecture {
        case .sphereNet: return 3 * depthPerStage
        case .sphereResNet: return 6 * depthPerStage + 2
        }
    }

    public var displayName: String {
        let w = width == width.rounded() ? String(Int(width)) : String(width)
        switch architecture {
        case .sphereNet: return "SphereNet-\(depth) ×\(w)"
        case .sphereResNet: return "SphereResNet-\(depth) ×\(w)"
        }
    }

    /// The command-line name: spherenet9, spherenet18, sphereresnet32, …
    public var modelName: String { "\(architecture.rawValue)\(depth)" }

    /// Parses `spherenet9`, `spherenetN` (N a multiple of 3), `cnn9`, `sphereresnet32`,
    /// `resnetN` (N = 6n+2) into (architecture, depthPerStage).
    public static func parseModelName(_ text: String) throws -> (Architecture, Int) {
        let t = text.lowercased()
        for (prefix, arch) in [("sphereresnet", Architecture.sphereResNet), ("resnet", .sphereResNet),
                               ("spherenet", .sphereNet), ("cnn", .sphereNet)] where t.hasPrefix(prefix) {
            guard let n = Int(t.dropFirst(prefix.count)) else { break }
            switch arch {
            case .sphereNet where n % 3 == 0 && Settings.plainDepth.contains(n): return (arch, n / 3)
            case .sphereResNet where (n - 2) % 6 == 0 && Settings.residualDepth.contains(n): return (arch, (n - 2) / 6)
            default: break
            }
        }
        throw EngineError("unknown model '\(text)': use spherenet9 (or spherenetN, N a multiple of 3 — deeper plain nets), cnn9, sphereresnet32 (or sphereresnetN, N = 6n+2), resnet32")
    }

    func scaled(_ base: Int) -> Int { max(1, Int((Double(base) * width).rounded())) }

    public func validate() throws {
        try Settings.width.check(width)
        guard depthPerStage >= 1 else { throw EngineError("depth per stage must be at least 1") }
        guard (1...16).contains(inputChannels), inputHeight >= 8, inputWidth >= 8, inputHeight <= 512, inputWidth <= 512 else {
            throw EngineError("input \(inputChannels)×\(inputHeight)×\(inputWidth) is not supported (1–16 channels, 8–512 pixels a side)")
        }
        guard classes >= 2 else { throw EngineError("need at least 2 classes, got \(classes)") }
    }
}
