import Engine

/// The training data stream: examples in a fresh random order each epoch, augmented, in
/// fixed-size batches, laid out (C, N, H, W) for the engine. Deterministic from the seed
/// and exactly resumable from `position`.
///
/// Order: epoch `e` visits the examples in a permutation drawn by Fisher–Yates from a
/// generator seeded by (seed, e) alone, so restoring needs only the epoch number, never
/// the history. Augmentation draws come from a separate generator whose four state words
/// travel in `Position.rng`.
///
/// Epoch boundary: batches always hold exactly `batchSize` examples. A batch that runs
/// past the last example of epoch e is completed with the first examples of epoch e+1's
/// permutation. So every example appears exactly once per epoch, and `epoch` switches to
/// e+1 as soon as the last example of epoch e has been handed out.
///
/// Per example the augmentation draws are, in this order: when `padCrop` p > 0, the row
/// shift then the column shift, each `nextInt(below: 2p+1) − p`; then, when
/// `horizontalFlip`, `nextInt(below: 2) == 1` decides the mirror.
public struct BatchIterator: Sendable {
    /// Everything needed to continue the stream exactly: store it in a snapshot and pass
    /// it to `restore`.
    public typealias Position = DataPosition

    public let set: ImageSet
    public let augmentation: Augmentation
    public private(set) var seed: UInt64
    public private(set) var epoch: Int
    /// Place of the next example in the current epoch's permutation.
    public private(set) var index: Int
    private var augmentationRNG: SeededGenerator
    /// Permutation of `0..<set.count` for `epoch`; reshuffled in place at each epoch end.
    private var order: [Int]

    /// Starts at epoch 0, example 0. `augmentation` must be valid (`isValid`).
    public init(set: ImageSet, seed: UInt64, augmentation: Augmentation) {
        precondition(augmentation.isValid, "padCrop must be in 0...\(Augmentation.maximumPadCrop)")
        self.set = set
        self.augmentation = augmentation
        self.seed = seed
        epoch = 0
        index = 0
        augmentationRNG = SeededGenerator(seed: Self.augmentationSeed(seed))
        order = Array(0..<set.count)
        Self.shuffle(&order, seed: seed, epoch: 0)
    }

    public var position: Position {
        Position(seed: seed, epoch: epoch, index: index, rng: augmentationRNG.state)
    }

    /// Continues from `p`, e.g. one read from a snapshot. Throws `DataError` (and changes
    /// nothing) when the position cannot belong to this set.
    public mutating func restore(_ p: Position) throws {
        let remedy = "The saved data position does not fit \(set.name) (\(set.count) examples); "
            + "resume with the dataset the session was trained on."
        guard p.epoch >= 0 else {
            throw DataError(file: "data position", expected: "an epoch ≥ 0", found: "epoch \(p.epoch)", remedy: remedy)
        }
        guard (0..<set.count).contains(p.index) else {
            throw DataError(file: "data position", expected: "an index in 0..<\(set.count)",
                            found: "index \(p.index)", remedy: remedy)
        }
        let generator: SeededGenerator
        do { generator = try SeededGenerator(state: p.rng) } catch {
            throw DataError(file: "data position", expected: "4 generator state words, not all zero",
                            found: "\(p.rng.count) words", remedy: remedy)
        }
        seed = p.seed
        epoch = p.epoch
        index = p.index
        augmentationRNG = generator
        Self.shuffle(&order, seed: seed, epoch: epoch)
    }

    /// Batches needed to see one epoch's worth of examples, rounded up.
    public func batchesPerEpoch(batchSize: Int) -> Int {
        precondition(batchSize > 0, "batch size must be positive")
        return (set.count + batchSize - 1) / batchSize
    }

    /// Fills `images` with the next `batchSize` examples, augmented and normalised to
    /// (p − 127.5)/128, in (C, N, H, W) layout with N = `batchSize` — element (c, n, y, x)
    /// at `((c*N + n)*H + y)*W + x` — and `labels[0..<batchSize]` with their class ids.
    /// Batches are always full (see the type's note on epoch ends).
    /// Allocates nothing.
    public mutating func next(batchSize: Int, images: UnsafeMutableBufferPointer<Float>,
                              labels: UnsafeMutableBufferPointer<Int32>) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(images.count >= batchSize * set.imageSize && labels.count >= batchSize,
                     "buffers too small for a batch of \(batchSize) × \(set.channels)×\(set.height)×\(set.width)")
        guard let output = images.baseAddress else { return }
        let geometry = BatchGeometry(set: set, slots: batchSize)
        let pad = augmentation.padCrop
        let (pixels, classes, imageSize) = (set.pixels, set.labels, set.imageSize)
        pixels.withUnsafeBufferPointer { pixelBuffer in
            guard let source = pixelBuffer.baseAddress else { return }
            for n in 0..<batchSize {
                let example = order[index]
                var (shiftY, shiftX, flip) = (0, 0, false)
                if pad > 0 {
                    shiftY = augmentationRNG.nextInt(below: 2 * pad + 1) - pad
                    shiftX = augmentationRNG.nextInt(below: 2 * pad + 1) - pad
                }
                if augmentation.horizontalFlip {
                    flip = augmentationRNG.nextInt(below: 2) == 1
                }
                geometry.write(source + example * imageSize, into: output, slot: n,
                               shiftY: shiftY, shiftX: shiftX, flip: flip,
                               mirrorPad: augmentation.mirrorPad)
                labels[n] = Int32(classes[example])
                index += 1
                if index == order.count {
                    epoch += 1
                    index = 0
                    Self.shuffle(&order, seed: seed, epoch: epoch)
                }
            }
        }
    }

    /// Resets `order` to the identity, then applies epoch `epoch`'s Fisher–Yates shuffle.
    static func shuffle(_ order: inout [Int], seed: UInt64, epoch: Int) {
        var generator = SeededGenerator(seed: SeededGenerator.mix(seed &+ SeededGenerator.mix(UInt64(truncatingIfNeeded: epoch) ^ orderStream)))
        order.withUnsafeMutableBufferPointer { slots in
            for i in slots.indices { slots[i] = i }
            var i = slots.count - 1
            while i > 0 {
                slots.swapAt(i, generator.nextInt(below: i + 1))
                i -= 1
            }
        }
    }

    /// Seed of the augmentation generator, kept apart from the order generators.
    static func augmentationSeed(_ seed: UInt64) -> UInt64 {
        SeededGenerator.mix(seed ^ augmentationStream)
    }

    // Arbitrary distinct constants that separate the order and augmentation streams.
    private static let orderStream: UInt64 = 0x6f72_6465_725f_7374
    private static let augmentationStream: UInt64 = 0x6175_676d_656e_7421
}
