/// A trainable tensor with its gradient, named as PyTorch would name it
/// (`features.3.weight`) so snapshots load in PyTorch and back.
public final class Parameter {
    public let name: String
    /// PyTorch shape (conv weights OIHW).
    public let shape: [Int]
    public let value: FloatBuffer
    public let grad: FloatBuffer
    /// Whether coupled L2 weight decay applies. Set by the owning layer: SphereConv weights,
    /// learnable k and the orthogonality-regularised kernels get none (spherenet.md §4).
    public var decays: Bool

    public init(name: String, shape: [Int], decays: Bool) {
        self.name = name
        self.shape = shape
        let count = shape.reduce(1, *)
        value = FloatBuffer(count: count)
        grad = FloatBuffer(count: count)
        self.decays = decays
    }

    public var count: Int { value.count }
}

/// A non-trainable tensor saved with the model (BatchNorm running statistics).
public final class StateBuffer {
    public let name: String
    public let shape: [Int]
    public let value: FloatBuffer
    /// Stored as int64 in PyTorch (`num_batches_tracked`).
    public let isInteger: Bool
    public init(name: String, shape: [Int], isInteger: Bool = false) {
        self.name = name; self.shape = shape; self.isInteger = isInteger
        value = FloatBuffer(count: shape.reduce(1, *))
    }
}
