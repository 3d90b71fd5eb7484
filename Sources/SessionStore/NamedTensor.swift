/// The values of one tensor, in row-major order. Floating-point files of any width are read
/// into `.float32`; integer files into `.int64` (so BatchNorm's `num_batches_tracked` survives).
public enum TensorValues: Sendable, Equatable {
    case float32([Float])
    case int64([Int64])

    public var count: Int {
        switch self {
        case .float32(let values): return values.count
        case .int64(let values): return values.count
        }
    }
}

/// One tensor as the store sees it: a name (PyTorch-style dotted, e.g. `features.3.weight`),
/// a shape (`[]` for a scalar) and its values.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: TensorValues

    public init(name: String, shape: [Int], values: TensorValues) {
        self.name = name
        self.shape = shape
        self.values = values
    }

    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(name: name, shape: shape, values: .float32(floats))
    }

    public init(name: String, shape: [Int], integers: [Int64]) {
        self.init(name: name, shape: shape, values: .int64(integers))
    }
}

/// Name order used everywhere in the store: by UTF-8 bytes, so that the order in a file does
/// not depend on Unicode collation rules and matches what other languages produce.
func precedesInNameOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
