/// A growable block of Float32 owned by one layer or optimizer.
///
/// The handle that fences raw memory: outside the Engine a buffer is reached only through
/// checked operations (`subscript`, `array`, `copy(from:)`, `fill`); the raw `pointer` is
/// internal to the Engine's kernels, and `slice(from:count:)` hands them sub-ranges with a
/// debug bounds check.
///
/// Buffers are sized on the first step and reused afterwards: `ensure(count:)` only allocates
/// when the requested size exceeds the capacity, so the training loop allocates nothing once
/// the batch shape is stable. The trainer owns every buffer through its model; buffers never
/// cross threads while in use (the type is not `Sendable`).
public final class FloatBuffer {
    /// Raw storage for the Engine's kernels (not public: other modules use checked access).
    private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var count: Int
    public private(set) var capacity: Int

    public init(count: Int = 0) {
        precondition(count >= 0, "negative buffer size")
        capacity = max(count, 1)
        pointer = FloatBuffer.allocateAligned(capacity)
        pointer.initialize(repeating: 0, count: capacity)
        self.count = count
    }

    /// Storage starts on a 64-byte cache line: the kernels' 16-float vectors then load and store
    /// whole lines (malloc's 16-byte alignment split every one of them across two lines; the
    /// Winograd products ran about 10 % slower so, measured on their own).
    static let alignment = 64
    private static func allocateAligned(_ capacity: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: alignment)
            .bindMemory(to: Float.self, capacity: capacity)
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// Makes room for `count` elements; contents are undefined after a reallocation
    /// (zeroed), preserved otherwise.
    public func ensure(count newCount: Int) {
        precondition(newCount >= 0, "negative buffer size")
        if newCount > capacity {
            UnsafeMutableRawPointer(pointer).deallocate()
            capacity = newCount
            pointer = FloatBuffer.allocateAligned(capacity)
            pointer.initialize(repeating: 0, count: capacity)
        }
        count = newCount
    }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// Elements `offset ..< offset + n`, checked against the buffer's size in debug builds.
    func slice(from offset: Int, count n: Int) -> UnsafeMutablePointer<Float> {
        assert(offset >= 0 && n >= 0 && offset + n <= count, "slice \(offset)..<\(offset + n) of a buffer of \(count)")
        return pointer + offset
    }

    public subscript(i: Int) -> Float {
        get { assert(i >= 0 && i < count, "FloatBuffer index \(i) out of 0..<\(count)"); return pointer[i] }
        set { assert(i >= 0 && i < count, "FloatBuffer index \(i) out of 0..<\(count)"); pointer[i] = newValue }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public func copy(from values: [Float]) {
        precondition(values.count == count, "copy of \(values.count) values into a buffer of \(count)")
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: count) }
        }
    }
}
