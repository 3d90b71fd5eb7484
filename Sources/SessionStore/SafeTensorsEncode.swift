extension SafeTensors {
    /// Encodes tensors as a safetensors file: `.float32` as F32, `.int64` as I64, in name order
    /// (UTF-8 byte order), packed back to back. The header is padded with spaces so that the data
    /// buffer starts at a multiple of 8, which lets readers map the file and use it in place.
    public static func encode(_ tensors: [NamedTensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        try validateForEncoding(tensors)
        let ordered = tensors.sorted { precedesInNameOrder($0.name, $1.name) }

        var header: [UInt8] = [UInt8(ascii: "{")]
        var needsComma = false
        if !metadata.isEmpty {
            appendJSONString("__metadata__", to: &header)
            header.append(contentsOf: Array(":{".utf8))
            let keys = metadata.keys.sorted(by: precedesInNameOrder)
            for (i, key) in keys.enumerated() {
                if i > 0 { header.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &header)
                header.append(UInt8(ascii: ":"))
                appendJSONString(metadata[key] ?? "", to: &header)
            }
            header.append(UInt8(ascii: "}"))
            needsComma = true
        }
        var dataLength = 0
        for tensor in ordered {
            let byteCount = tensor.values.count * elementSize(of: tensor.values)
            if needsComma { header.append(UInt8(ascii: ",")) }
            needsComma = true
            appendJSONString(tensor.name, to: &header)
            let dtype = dtypeName(of: tensor.values)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            header.append(contentsOf: Array(":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(dataLength),\(dataLength + byteCount)]}".utf8))
            dataLength += byteCount
        }
        header.append(UInt8(ascii: "}"))
        while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }

        let total = 8 + header.count + dataLength
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            UnsafeMutableRawBufferPointer(rebasing: raw[8..<(8 + header.count)]).copyBytes(from: header)
            var offset = 8 + header.count
            for tensor in ordered {
                switch tensor.values {
                case .float32(let values):
                    offset += storeLittleEndian(values, into: raw, at: offset) { $0.bitPattern.littleEndian }
                case .int64(let values):
                    offset += storeLittleEndian(values, into: raw, at: offset) { $0.littleEndian }
                }
            }
            initialized = total
        }
    }

    /// Copies values into the file image in little-endian order and returns the bytes written.
    /// On little-endian hosts memory already has that layout, so it is one block copy (which
    /// keeps saves of large models fast even in debug builds).
    private static func storeLittleEndian<T, Bits>(_ values: [T], into raw: UnsafeMutableRawBufferPointer, at offset: Int,
                                                   _ wire: (T) -> Bits) -> Int {
        let byteCount = values.count * MemoryLayout<T>.size
        #if _endian(little)
        values.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + byteCount)]).copyMemory(from: source)
        }
        #else
        for (i, value) in values.enumerated() {
            raw.storeBytes(of: wire(value), toByteOffset: offset + i * MemoryLayout<T>.size, as: Bits.self)
        }
        #endif
        return byteCount
    }

    static func dtypeName(of values: TensorValues) -> String {
        switch values {
        case .float32: return SafeTensorsDType.f32.rawValue
        case .int64: return SafeTensorsDType.i64.rawValue
        }
    }

    static func elementSize(of values: TensorValues) -> Int {
        switch values {
        case .float32: return 4
        case .int64: return 8
        }
    }

    /// Refuses what would make an invalid file: duplicate or reserved names, negative
    /// dimensions, and shapes whose element count differs from the number of values.
    static func validateForEncoding(_ tensors: [NamedTensor]) throws {
        var names: Set<String> = []
        for tensor in tensors {
            guard tensor.name != "__metadata__" else {
                throw SessionStoreError(.invalidTensorName, "\"__metadata__\" is reserved by the safetensors format",
                                        tensor: tensor.name, hint: "Rename the tensor.")
            }
            guard names.insert(tensor.name).inserted else {
                throw SessionStoreError(.duplicateTensorName, "two tensors have the same name", tensor: tensor.name,
                                        hint: "Give every tensor a unique name.")
            }
            var count = 1
            for dimension in tensor.shape {
                guard dimension >= 0 else {
                    throw SessionStoreError(.invalidShape, "shape \(shapeText(tensor.shape)) has a negative dimension", tensor: tensor.name,
                                            hint: "Dimensions must be zero or positive.")
                }
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow else {
                    throw SessionStoreError(.elementCountOverflow, "shape \(shapeText(tensor.shape)) overflows a 64-bit count",
                                            tensor: tensor.name, hint: "Check the shape.")
                }
                count = product
            }
            guard count == tensor.values.count else {
                throw SessionStoreError(.shapeMismatch,
                                        "shape \(shapeText(tensor.shape)) holds \(count) elements but \(tensor.values.count) values were given",
                                        tensor: tensor.name, hint: "Make the shape match the values (a scalar has shape [] and one value).")
            }
        }
    }
}
