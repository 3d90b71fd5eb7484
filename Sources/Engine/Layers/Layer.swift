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
    /// gradients are accumulated: one rule everywhere, the score head and the orthogonality
    /// penalty included — the trainer zeroes every trained gradient before backward.
    func backward(_ dy: Activation) -> Activation?
    var needsInputGradient: Bool { get set }
    /// Parameters trained at the current configuration.
    var parameters: [Parameter] { get }
    /// Parameters a snapshot keeps (a superset: e.g. a dormant learnable k).
    var savedParameters: [Parameter] { get }
    var stateBuffers: [StateBuffer] { get }
    /// Which buffers the layer writes that it does not own, and what it reads back later.
    /// `Network` checks these when it is built, so an unsafe neighbourhood is refused
    /// instead of silently corrupting gradients.
    var bufferUse: BufferUse { get }
}

/// A layer whose backward writes dL/d(input) into a buffer of its own (not over the gradient it
/// was given). `Network` hands these, in network order, two shared buffers in turn.
protocol WritesInputGradient: Layer {
    func useInputGradient(_ buffer: FloatBuffer)
}
extension Conv2D: WritesInputGradient {}
extension MaxPool2x2: WritesInputGradient {}
extension GlobalAveragePool: WritesInputGradient {}

/// How a layer shares memory with its neighbours (memory is saved by working in place).
public struct BufferUse: Sendable, Equatable {
    /// Forward writes its output over its input — the previous layer's output (ReLU).
    public var overwritesInput = false
    /// Backward writes dL/d(input) over the dL/d(output) it was given and returns that buffer.
    public var overwritesOutputGradient = false
    /// Backward reads the output this layer produced in forward (a cosine SphereConv keeps
    /// cos θ there; ReLU its mask), so nothing may write over that output in between.
    public var readsOutputInBackward = false

    public init(overwritesInput: Bool = false, overwritesOutputGradient: Bool = false, readsOutputInBackward: Bool = false) {
        self.overwritesInput = overwritesInput
        self.overwritesOutputGradient = overwritesOutputGradient
        self.readsOutputInBackward = readsOutputInBackward
    }

    /// Everything in buffers of the layer's own.
    public static let ownBuffers = BufferUse()

    /// Refuses a sequence where a layer writes over an output that its producer's backward
    /// still needs.
    public static func check(_ layers: [Layer]) throws {
        for (a, b) in zip(layers, layers.dropFirst()) where b.bufferUse.overwritesInput && a.bufferUse.readsOutputInBackward {
            throw EngineError("\(b.name) writes its output over \(a.name)'s, which \(a.name)'s backward reads: put a layer with its own output (BatchNorm, SphereNorm) between them")
        }
    }
}

extension Layer {
    public var bufferUse: BufferUse { .ownBuffers }
    public var parameters: [Parameter] { [] }
    public var savedParameters: [Parameter] { parameters }
    public var stateBuffers: [StateBuffer] { [] }
}

/// A source of standard normal samples (`SeededGenerator` is the one the project uses).
public protocol NormalSource {
    mutating func nextGaussian() -> Float
}
