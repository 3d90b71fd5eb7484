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
        Parallel.forEach(x.shape.count, minimumPerWorker: 1 << 15) { r in
            for i in r { p[i] = max(p[i], 0) }
        }
        output = x
        return x
    }

    public func backward(_ dy: Activation) -> Activation? {
        guard let y = output?.buffer.pointer else { preconditionFailure("\(name): backward before forward") }
        let g = dy.buffer.pointer
        // A select, not a branch, so the loop vectorises.
        Parallel.forEach(dy.shape.count, minimumPerWorker: 1 << 15) { r in
            for i in r { g[i] = y[i] > 0 ? g[i] : 0 }
        }
        return dy
    }
}
