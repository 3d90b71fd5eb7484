/// One stage of a network in the channel-major layout (see `Shape`).
///
/// A layer owns its output and input-gradient buffers and keeps what backward needs from the
/// last forward pass. Forward and backward are called in strict alternation by the trainer.
public protocol Layer: AnyObject {
    var name: String { get }
    /// The output shape for an input shape, or an error naming the layer if it does not fit.
    func outputShape(for input: Shape) throws -> Shape
    func forward(_ x: Activation, training: Bool) -> Activation
    /// Takes dL/d(output) — the layer may overwrite that buffer — and returns dL/d(input),
    /// or nil when `needsInputGradient` is false (the first layer of a network). Parameter
    /// gradients are overwritten, not accumulated.
    func backward(_ dy: Activation) -> Activation?
    var needsInputGradient: Bool { get set }
    /// Parameters trained at the current configuration.
    var parameters: [Parameter] { get }
    /// Parameters a snapshot keeps (a superset: e.g. a dormant learnable k).
    var savedParameters: [Parameter] { get }
    var stateBuffers: [StateBuffer] { get }
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var savedParameters: [Parameter] { parameters }
    public var stateBuffers: [StateBuffer] { [] }
}

/// A source of standard normal samples (the seeded generator in DataLoaders is one).
public protocol NormalSource {
    mutating func nextGaussian() -> Float
}

/// Scratch memory shared by all layers of one network (they run one after another): the
/// patch matrix of a chunk of images and its gradient.
public final class Workspace {
    /// Upper bound for one patch-matrix chunk, in floats (16 MiB): keeps im2col data in the
    /// last-level cache's neighbourhood and memory flat for wide networks.
    public var chunkElements: Int
    let columns = FloatBuffer()
    let columnGradients = FloatBuffer()
    public init(chunkElements: Int = 1 << 22) { self.chunkElements = chunkElements }
}
