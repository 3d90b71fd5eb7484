/// What the engine needs to know of a dataset: the shape of one example and the number of
/// classes. Everything else (file formats, folders, augmentation) belongs to the app layer.
public struct ImageFormat: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var classes: Int

    public init(channels: Int, height: Int, width: Int, classes: Int) {
        self.channels = channels; self.height = height; self.width = width; self.classes = classes
    }

    /// Floats per example.
    public var imageSize: Int { channels * height * width }
    public var description: String { "\(channels)×\(height)×\(width) images in \(classes) classes" }
}

/// Where a training stream stands: enough to continue it exactly. Saved in snapshots as
/// `dataPosition` (`seed`, `epoch`, `index`, `rng`).
public struct DataPosition: Sendable, Codable, Equatable {
    public var seed: UInt64
    /// Epoch of the next example handed out (0-based).
    public var epoch: Int
    /// Place of the next example in that epoch's order.
    public var index: Int
    /// State words of the stream's augmentation generator.
    public var rng: [UInt64]

    public init(seed: UInt64, epoch: Int, index: Int, rng: [UInt64]) {
        self.seed = seed; self.epoch = epoch; self.index = index; self.rng = rng
    }
}

/// The training data stream a `Trainer` draws from: full batches in the engine's (C, N, H, W)
/// layout, deterministic and exactly resumable from `position`. DataLoaders' `BatchIterator`
/// is the real one; tests use small fakes.
public protocol BatchSource: Sendable {
    var format: ImageFormat { get }
    /// Examples in one epoch.
    var count: Int { get }
    /// Epoch of the next example (0-based).
    var epoch: Int { get }
    var position: DataPosition { get }
    /// Continues from `position`; throws (changing nothing) when it cannot belong to this stream.
    mutating func restore(_ position: DataPosition) throws
    /// Fills `images` (≥ batchSize · imageSize floats, (C, N, H, W)) and `labels[0..<batchSize]`
    /// with the next `batchSize` examples. Allocates nothing.
    mutating func next(batchSize: Int, images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>)
}

/// A fixed set of examples read in order (the test set).
public protocol ExampleSource: Sendable {
    var format: ImageFormat { get }
    var count: Int { get }
    /// Examples `start..<start+count` into `images` ((C, count, H, W)) and `labels[0..<count]`.
    func fill(start: Int, count: Int, images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>)
}
