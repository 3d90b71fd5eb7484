/// max(x, 0), applied in place on the previous layer's output (which no layer reads again),
/// so it costs no memory; backward masks dy in place.
/// After a BatchNorm that applies it (`fuseBatchNormReLU`), the layer is `absorbed` and passes
/// activations and gradients through untouched.
public final class ReLU: Layer {
    /// Absorbed, it writes nothing; its output (the BatchNorm's) is still read in backward.
    public var bufferUse: BufferUse { BufferUse(overwritesInput: !absorbed, overwritesOutputGradient: true, readsOutputInBackward: true) }
    public let name: String
    public var needsInputGradient = true
    /// Set by `fuseBatchNormReLU`: the BatchNorm before this layer computes the ReLU and its mask.
    public internal(set) var absorbed = false
    private var output: Activation?

    public init(name: String) { self.name = name }

    public func outputShape(for s: Shape) throws -> Shape { s }

    public func forward(_ x: Activation, training: Bool) -> Activation {
        if absorbed { return x }
        let p = x.buffer.pointer
        Parallel.forEach(x.shape.count, minimumPerWorker: 1 << 15) { r in
            ReLU.mask(values: p, by: p, range: r)
        }
        output = x
        return x
    }

    public func backward(_ dy: Activation) -> Activation? {
        if absorbed { return dy }
        guard let y = output?.buffer.pointer else { preconditionFailure("\(name): backward before forward") }
        let g = dy.buffer.pointer
        Parallel.forEach(dy.shape.count, minimumPerWorker: 1 << 15) { r in
            ReLU.mask(values: g, by: y, range: r)
        }
        return dy
    }

    /// values[i] = key[i] > 0 ? values[i] : 0, eight lanes at a time with bit masks: a plain
    /// select compiled to a branch that mispredicted on the random signs of activations.
    @inline(__always)
    static func mask(values: UnsafeMutablePointer<Float>, by key: UnsafePointer<Float>, range r: Range<Int>) {
        var i = r.lowerBound
        while i + 8 <= r.upperBound {
            let k = UnsafeRawPointer(key + i).loadUnaligned(as: SIMD8<Float>.self)
            let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self)
            let keep = unsafeBitCast(k .> SIMD8<Float>(repeating: 0), to: SIMD8<Int32>.self)   // all ones or zero
            let masked = unsafeBitCast(unsafeBitCast(v, to: SIMD8<Int32>.self) & keep, to: SIMD8<Float>.self)
            UnsafeMutableRawPointer(values + i).storeBytes(of: masked, as: SIMD8<Float>.self)
            i += 8
        }
        while i < r.upperBound {
            values[i] = key[i] > 0 ? values[i] : 0
            i += 1
        }
    }
}
