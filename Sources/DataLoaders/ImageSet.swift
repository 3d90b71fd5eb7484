/// One split of an image-classification dataset, held in memory as bytes.
///
/// Pixels are stored per image in CHW order (channel planes, then rows, then columns),
/// images one after another: byte (i, c, y, x) sits at `((i*channels + c)*height + y)*width + x`.
/// The batch functions turn this into the engine's (C, N, H, W) float layout.
///
/// A value type whose data never changes after `init`, so copies share storage and it
/// crosses threads freely.
public struct ImageSet: Sendable {
    /// Human-readable name, e.g. "fashion-mnist/train".
    public let name: String
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int
    public let classes: Int
    /// `count * channels * height * width` bytes, layout (count, channels, height, width).
    public let pixels: [UInt8]
    /// `count` class ids, each in `0..<classes`.
    public let labels: [UInt8]
    /// FNV-1a 64 digest (16 lower-case hex digits) of the dimensions, pixels and labels
    /// — not of the name — so the same data read from another folder matches. Sessions
    /// store it to notice a resume on different data.
    public let fingerprint: String

    /// Bytes per image (`channels * height * width`).
    public var imageSize: Int { channels * height * width }

    /// Checks every size and label, then computes the fingerprint.
    /// Throws `DataError` naming the set when sizes disagree or a label is out of range.
    public init(name: String, count: Int, channels: Int, height: Int, width: Int, classes: Int,
                pixels: [UInt8], labels: [UInt8]) throws {
        let subject = "image set '\(name)'"
        func fail(_ expected: String, _ found: String) -> DataError {
            DataError(file: subject, expected: expected, found: found,
                      remedy: "The data given to ImageSet does not describe a valid image set; fix the caller or the source file.")
        }
        guard count >= 1 else { throw fail("at least 1 example", "\(count)") }
        guard channels >= 1, height >= 1, width >= 1 else {
            throw fail("positive channels, height and width", "\(channels)×\(height)×\(width)")
        }
        guard (1...256).contains(classes) else {
            throw fail("between 1 and 256 classes (labels are bytes)", "\(classes)")
        }
        guard let perImage = checkedProduct([channels, height, width]),
              let total = checkedProduct([count, perImage]) else {
            throw fail("a size that fits in memory", "\(count)×\(channels)×\(height)×\(width) overflows")
        }
        guard pixels.count == total else {
            throw fail("\(total) pixel bytes (\(count)×\(channels)×\(height)×\(width))", "\(pixels.count)")
        }
        guard labels.count == count else {
            throw fail("\(count) labels (one per image)", "\(labels.count)")
        }
        if let bad = firstLabel(in: labels, atLeast: classes) {
            throw fail("labels below \(classes)", "label \(labels[bad]) at example \(bad)")
        }
        self.name = name
        self.count = count
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        self.pixels = pixels
        self.labels = labels
        self.fingerprint = Self.digest(count: count, channels: channels, height: height, width: width,
                                       classes: classes, pixels: pixels, labels: labels)
    }

    /// FNV-1a 64 over the five dimensions (each as 8 little-endian bytes), then pixels,
    /// then labels.
    static func digest(count: Int, channels: Int, height: Int, width: Int, classes: Int,
                       pixels: [UInt8], labels: [UInt8]) -> String {
        var hash = FNV1a64()
        for dimension in [count, channels, height, width, classes] {
            var word = UInt64(truncatingIfNeeded: dimension).littleEndian
            withUnsafeBytes(of: &word) { hash.add($0) }
        }
        pixels.withUnsafeBytes { hash.add($0) }
        labels.withUnsafeBytes { hash.add($0) }
        return hash.hexDigest
    }
}

/// The training and test splits of one dataset.
public struct DatasetPair: Sendable {
    public let kind: DatasetKind
    public let train: ImageSet
    public let test: ImageSet

    public init(kind: DatasetKind, train: ImageSet, test: ImageSet) {
        self.kind = kind
        self.train = train
        self.test = test
    }
}

/// 64-bit FNV-1a: tiny, stable across platforms and releases, and enough to tell
/// datasets apart (it is not meant to resist deliberate collisions).
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for byte in bytes {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        value = h
    }

    var hexDigest: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Product of non-negative factors, or nil when it overflows `Int`.
func checkedProduct(_ factors: [Int]) -> Int? {
    var product = 1
    for factor in factors {
        let (next, overflow) = product.multipliedReportingOverflow(by: factor)
        if overflow || factor < 0 { return nil }
        product = next
    }
    return product
}

/// Index of the first label `>= limit`, or nil when all are in range.
func firstLabel(in labels: [UInt8], atLeast limit: Int) -> Int? {
    guard limit <= 255 else { return nil }
    let bound = UInt8(limit)
    return labels.withUnsafeBufferPointer { buffer in
        buffer.firstIndex { $0 >= bound }
    }
}
