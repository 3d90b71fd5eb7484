/// max(x, 0), applied in place on the previous layer's output (which no layer reads again),
/// so it costs no memory; backward masks dy in place.
public final class ReLU: Layer {
    public let name: String
    public var needsInputGradient = true
    private var output: Activation?

    public init(name: String) { self.name = name }

    public func outputShape(for s: Shape) throws -> Shape { s }

    public func forward(_ x: Activation, training: Bool) -> Activation {
        let p = x.buffer.pointer
        for i in 0..<x.shape.count { p[i] = max(p[i], 0) }
        output = x
        return x
    }

    public func backward(_ dy: Activation) -> Activation? {
        guard let y = output?.buffer.pointer else { preconditionFailure("\(name): backward before forward") }
        let g = dy.buffer.pointer
        // A select, not a branch, so the loop vectorises.
        for i in 0..<dy.shape.count { g[i] = y[i] > 0 ? g[i] : 0 }
        return dy
    }
}
