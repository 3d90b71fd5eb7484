extension SafeTensors {
    /// Decodes a whole file held in memory. Floating-point tensors come back as `.float32`,
    /// integer tensors as `.int64`, in name order.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws
        -> (tensors: [NamedTensor], metadata: [String: String])
    {
        try bytes.withUnsafeBytes { raw in
            let index = try parseIndex(fileStart: raw, fileSize: raw.count, path: path)
            let data = UnsafeRawBufferPointer(rebasing: raw[index.dataStart...])
            let tensors = try index.entries.map { entry in
                NamedTensor(name: entry.name, shape: entry.shape, values: try convertValues(entry, data: data, path: path))
            }
            return (tensors, index.metadata)
        }
    }

    /// Reads and decodes a file. The size is taken first and the header length checked against it
    /// and against `maximumHeaderLength`, so a corrupt length field never causes a large read.
    public static func read(path: String) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        let file = try ReadableFile(path: path)
        defer { file.close() }
        return try read(file)
    }

    static func read(_ file: ReadableFile) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        try checkPrefix(of: file)
        return try decode(try file.readAll(), path: file.path)
    }

    /// Reads and validates only the header (the first 8 + N bytes) against the file size: a cheap
    /// check that a file is complete, and the table of contents for inspection tools.
    public static func readIndex(path: String) throws -> SafeTensorsIndex {
        let file = try ReadableFile(path: path)
        defer { file.close() }
        return try readIndex(file)
    }

    static func readIndex(_ file: ReadableFile) throws -> SafeTensorsIndex {
        let headerLength = try checkPrefix(of: file)
        let start = try file.read(count: 8 + headerLength)
        return try start.withUnsafeBytes { try parseIndex(fileStart: $0, fileSize: file.size, path: file.path) }
    }

    /// Validates the length field of an open file; returns N.
    @discardableResult
    private static func checkPrefix(of file: ReadableFile) throws -> Int {
        guard file.size >= 8 else {
            throw SessionStoreError(.fileTooShort, "file is \(file.size) bytes, shorter than the 8-byte header length field",
                                    path: file.path, hint: SessionStoreError.damagedFileHint)
        }
        let prefix = try file.read(count: 8)
        let lengthField = prefix.withUnsafeBytes { readLengthField($0) }
        return try checkFraming(lengthField: lengthField, fileSize: file.size, path: file.path)
    }

    /// Converts one validated entry's bytes (little-endian) to values. The index has already
    /// proven that the byte range lies inside `data` and matches shape × dtype size.
    static func convertValues(_ entry: SafeTensorsEntry, data: UnsafeRawBufferPointer, path: String) throws -> TensorValues {
        let begin = entry.dataOffsets.lowerBound
        switch SafeTensorsDType(rawValue: entry.dtype) {
        case .f32:
            #if _endian(little)
            return .float32(copyNative(data, entry.dataOffsets))
            #else
            return .float32(convert(count: entry.dataOffsets.count / 4) { i in
                Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: begin + 4 * i, as: UInt32.self)))
            })
            #endif
        case .f64:
            return .float32(convert(count: entry.dataOffsets.count / 8) { i in
                Float(Double(bitPattern: UInt64(littleEndian: data.loadUnaligned(fromByteOffset: begin + 8 * i, as: UInt64.self))))
            })
        case .f16:
            return .float32(convert(count: entry.dataOffsets.count / 2) { i in
                floatFromHalfBits(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: begin + 2 * i, as: UInt16.self)))
            })
        case .bf16:
            return .float32(convert(count: entry.dataOffsets.count / 2) { i in
                floatFromBFloat16Bits(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: begin + 2 * i, as: UInt16.self)))
            })
        case .i64:
            #if _endian(little)
            return .int64(copyNative(data, entry.dataOffsets))
            #else
            return .int64(convert(count: entry.dataOffsets.count / 8) { i in
                Int64(littleEndian: data.loadUnaligned(fromByteOffset: begin + 8 * i, as: Int64.self))
            })
            #endif
        case .i32:
            return .int64(convert(count: entry.dataOffsets.count / 4) { i in
                Int64(Int32(littleEndian: data.loadUnaligned(fromByteOffset: begin + 4 * i, as: Int32.self)))
            })
        default:
            // parseIndex refuses every other dtype before an entry exists; kept as an error, not a trap.
            throw SessionStoreError(.unsupportedDtype, "dtype \(entry.dtype) cannot be converted", path: path,
                                    tensor: entry.name, hint: "Convert the tensor to F32 or I64 before loading it here.")
        }
    }

    /// On little-endian hosts F32 and I64 data is already in memory layout: one block copy
    /// (the source may be unaligned, which copyMemory allows).
    private static func copyNative<T>(_ data: UnsafeRawBufferPointer, _ range: Range<Int>) -> [T] {
        let count = range.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: data[range]))
            initialized = count
        }
    }

    @inline(__always)
    private static func convert<T>(count: Int, _ element: (Int) -> T) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer.initializeElement(at: i, to: element(i)) }
            initialized = count
        }
    }
}
