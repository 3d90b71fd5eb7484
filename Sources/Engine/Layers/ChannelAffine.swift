/// γ·x + β per channel: with a SphereConv before it this is SphereNorm (spherenet.md §2) —
/// the bounded g(θ) rescaled by learnable per-channel parameters (γ = 1, β = 0 at start).
public final class ChannelAffine: Layer {
    public var bufferUse: BufferUse { BufferUse(overwritesOutputGradient: true) }
    public let name: String
    public let channels: Int
    public var needsInputGradient = true
    public let weight: Parameter   // γ (C)
    public let bias: Parameter     // β (C)
    private let output: FloatBuffer   // (C, N, H, W), in the workspace
    private var input: Activation?

    public init(name: String, channels: Int, workspace: Workspace = Workspace()) {
        self.name = name; self.channels = channels
        output = workspace.buffer(name, "output")
        weight = Parameter(name: "\(name).weight", shape: [channels], decays: true)
        bias = Parameter(name: "\(name).bias", shape: [channels], decays: true)
        weight.value.fill(1)
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func outputShape(for s: Shape) throws -> Shape {
        guard s.channels == channels else { throw EngineError("\(name): expects \(channels) channels, got \(s.channels)") }
        return s
    }

    public func forward(_ x: Activation, training: Bool) -> Activation {
        let s = x.shape, p = s.plane
        input = x
        output.ensure(count: s.count)
        let src = x.buffer.pointer, dst = output.pointer
        for c in 0..<channels {
            let g = weight.value[c], b = bias.value[c]
            for i in 0..<p { dst[c * p + i] = g * src[c * p + i] + b }
        }
        return Activation(output, s)
    }

    /// dγ = Σ dy·x, dβ = Σ dy, dx = γ·dy (in place over dy).
    public func backward(_ dy: Activation) -> Activation? {
        guard let x = input else { preconditionFailure("\(name): backward before forward") }
        let p = dy.shape.plane, g = dy.buffer.pointer
        for c in 0..<channels {
            let (dg, db) = planeDotAndSum(dy.buffer.slice(from: c * p, count: p), x.buffer.slice(from: c * p, count: p), count: p)
            weight.grad[c] += dg; bias.grad[c] += db
            let gamma = weight.value[c]
            for i in 0..<p { g[c * p + i] *= gamma }
        }
        return needsInputGradient ? dy : nil
    }
}
