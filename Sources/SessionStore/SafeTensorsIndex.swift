/// One tensor's entry in a safetensors header, after validation.
public struct SafeTensorsEntry: Sendable, Equatable {
    public var name: String
    /// The dtype as written in the file ("F32", "BF16", ...).
    public var dtype: String
    public var shape: [Int]
    /// Byte range relative to the start of the data buffer.
    public var dataOffsets: Range<Int>
}

/// The validated table of contents of a safetensors file: everything but the tensor data.
public struct SafeTensorsIndex: Sendable, Equatable {
    /// N, the length of the JSON header in bytes (padding included).
    public var headerLength: Int
    /// Length of the data buffer that follows the header.
    public var dataLength: Int
    /// Entries in name order (by UTF-8 bytes).
    public var entries: [SafeTensorsEntry]
    public var metadata: [String: String]

    /// Absolute file offset of the data buffer.
    public var dataStart: Int { 8 + headerLength }
}

extension SafeTensors {
    /// Largest header accepted. Real headers are kilobytes; the cap stops a corrupt length field
    /// from making the reader allocate or read gigabytes.
    public static let maximumHeaderLength = 100_000_000

    /// Largest number of JSON values (every number, string, array and object) in a header. A
    /// tensor's entry takes about ten, so this allows some 100 000 tensors — far beyond any real
    /// model — while keeping the parsed header's memory bounded (tens of MB) however the header
    /// is built.
    public static let maximumHeaderValues = 1_000_000

    /// Checks the 8-byte length prefix against the file size and the cap, before anything is
    /// allocated for the header. Returns N.
    static func checkFraming(lengthField: UInt64, fileSize: Int, path: String) throws -> Int {
        let available = UInt64(fileSize - 8)
        guard lengthField <= available else {
            throw SessionStoreError(.headerLengthExceedsFile,
                                    "header length field says \(lengthField) bytes but only \(available) bytes follow it",
                                    path: path, offset: 0, hint: SessionStoreError.damagedFileHint)
        }
        guard lengthField <= UInt64(maximumHeaderLength) else {
            throw SessionStoreError(.headerTooLarge,
                                    "header length \(lengthField) bytes is over the \(maximumHeaderLength)-byte limit",
                                    path: path, offset: 0, hint: SessionStoreError.damagedFileHint)
        }
        return Int(lengthField)
    }

    static func readLengthField(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    }

    /// Validates the header found in `fileStart` (which holds at least the first 8 + N bytes of a
    /// file of `fileSize` bytes) and returns the table of contents. Every rule of the format is
    /// checked here, so the data buffer can afterwards be read without further bounds doubts.
    static func parseIndex(fileStart: UnsafeRawBufferPointer, fileSize: Int, path: String) throws -> SafeTensorsIndex {
        guard fileSize >= 8, fileStart.count >= 8 else {
            throw SessionStoreError(.fileTooShort, "file is \(fileSize) bytes, shorter than the 8-byte header length field",
                                    path: path, hint: SessionStoreError.damagedFileHint)
        }
        let headerLength = try checkFraming(lengthField: readLengthField(fileStart), fileSize: fileSize, path: path)
        let header = UnsafeBufferPointer(rebasing: fileStart.bindMemory(to: UInt8.self)[8..<(8 + headerLength)])
        if let bad = firstInvalidUTF8Offset(header) {
            throw SessionStoreError(.headerNotUTF8, "header is not valid UTF-8", path: path, offset: 8 + bad,
                                    hint: SessionStoreError.damagedFileHint)
        }
        guard headerLength > 0 else {
            throw SessionStoreError(.headerNotJSON, "header is empty (length field is 0)", path: path, offset: 0,
                                    hint: SessionStoreError.damagedFileHint)
        }
        guard header.first == UInt8(ascii: "{") else {
            throw SessionStoreError(.headerNotObject, "header must be a JSON object starting with '{'", path: path, offset: 8,
                                    hint: SessionStoreError.damagedFileHint)
        }
        let json: JSONValue
        do {
            json = try StrictJSON.parse(header, maximumValues: maximumHeaderValues)
        } catch {
            throw SessionStoreError(.headerNotJSON, "header is not valid JSON: \(error.message)", path: path,
                                    offset: 8 + error.offset, hint: SessionStoreError.damagedFileHint)
        }
        guard case .object(let members) = json else {
            throw SessionStoreError(.headerNotObject, "header is \(json.kindName), not a JSON object", path: path, offset: 8,
                                    hint: SessionStoreError.damagedFileHint)
        }
        let dataLength = fileSize - 8 - headerLength
        var parser = HeaderEntryParser(path: path, dataLength: dataLength)
        for member in members {
            try parser.add(member)
        }
        try checkCoverage(parser.entries, dataLength: dataLength, dataStart: 8 + headerLength, path: path)
        let entries = parser.entries.sorted { precedesInNameOrder($0.name, $1.name) }
        return SafeTensorsIndex(headerLength: headerLength, dataLength: dataLength, entries: entries,
                                metadata: parser.metadata ?? [:])
    }

    /// The format wants the data buffer covered exactly: tensors back to back from offset 0 to
    /// the end, no gaps (which could hide data) and no sharing (which would alias tensors).
    static func checkCoverage(_ entries: [SafeTensorsEntry], dataLength: Int, dataStart: Int, path: String) throws {
        let ordered = entries.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }
        var covered = 0
        var previousName: String?
        for entry in ordered {
            let begin = entry.dataOffsets.lowerBound
            if begin < covered {
                throw SessionStoreError(.overlappingTensors,
                                        "data_offsets \(begin)..<\(entry.dataOffsets.upperBound) overlap tensor \"\(abbreviated(previousName ?? "?", limit: 100))\" which ends at \(covered)",
                                        path: path, tensor: entry.name, offset: dataStart + begin,
                                        hint: SessionStoreError.damagedFileHint)
            }
            if begin > covered {
                throw SessionStoreError(.holeInData,
                                        "bytes \(covered)..<\(begin) of the data buffer belong to no tensor",
                                        path: path, tensor: entry.name, offset: dataStart + covered,
                                        hint: SessionStoreError.damagedFileHint)
            }
            covered = entry.dataOffsets.upperBound
            previousName = entry.name
        }
        if covered < dataLength {
            throw SessionStoreError(.trailingBytes,
                                    "\(dataLength - covered) bytes after the last tensor belong to no tensor",
                                    path: path, offset: dataStart + covered,
                                    hint: SessionStoreError.damagedFileHint)
        }
    }

    /// Offset of the first byte that is not part of a valid UTF-8 sequence, or nil.
    static func firstInvalidUTF8Offset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}

/// Turns header members into validated entries, one at a time, remembering names for the
/// duplicate check and the metadata block.
private struct HeaderEntryParser {
    let path: String
    let dataLength: Int
    var entries: [SafeTensorsEntry] = []
    var metadata: [String: String]?
    var seenNames: Set<String> = []

    init(path: String, dataLength: Int) {
        self.path = path
        self.dataLength = dataLength
    }

    func error(_ kind: SessionStoreError.Kind, _ message: String, tensor: String?, headerOffset: Int) -> SessionStoreError {
        SessionStoreError(kind, message, path: path, tensor: tensor, offset: 8 + headerOffset, hint: SessionStoreError.damagedFileHint)
    }

    mutating func add(_ member: JSONMember) throws {
        let name = member.key
        guard seenNames.insert(name).inserted else {
            throw error(.duplicateTensorName, "the name appears twice in the header", tensor: name, headerOffset: member.offset)
        }
        if name == "__metadata__" {
            metadata = try parseMetadata(member)
            return
        }
        entries.append(try parseEntry(member))
    }

    func parseMetadata(_ member: JSONMember) throws -> [String: String] {
        guard case .object(let fields) = member.value else {
            throw error(.invalidMetadata, "__metadata__ is \(member.value.kindName), not an object of strings",
                        tensor: nil, headerOffset: member.offset)
        }
        var result: [String: String] = [:]
        for field in fields {
            guard case .string(let text) = field.value else {
                throw error(.invalidMetadata, "__metadata__ value for \"\(abbreviated(field.key))\" is \(field.value.kindName), not a string",
                            tensor: nil, headerOffset: field.offset)
            }
            guard result.updateValue(text, forKey: field.key) == nil else {
                throw error(.invalidMetadata, "__metadata__ key \"\(abbreviated(field.key))\" appears twice", tensor: nil, headerOffset: field.offset)
            }
        }
        return result
    }

    func parseEntry(_ member: JSONMember) throws -> SafeTensorsEntry {
        let name = member.key
        guard case .object(let fields) = member.value else {
            throw error(.malformedEntry, "entry is \(member.value.kindName), not an object", tensor: name, headerOffset: member.offset)
        }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for field in fields {
            switch field.key {
            case "dtype" where dtypeValue == nil: dtypeValue = field.value
            case "shape" where shapeValue == nil: shapeValue = field.value
            case "data_offsets" where offsetsValue == nil: offsetsValue = field.value
            case "dtype", "shape", "data_offsets":
                throw error(.malformedEntry, "field \"\(abbreviated(field.key))\" appears twice", tensor: name, headerOffset: field.offset)
            default:
                throw error(.malformedEntry, "unexpected field \"\(abbreviated(field.key))\" (allowed: dtype, shape, data_offsets)",
                            tensor: name, headerOffset: field.offset)
            }
        }
        guard let dtypeValue, let shapeValue, let offsetsValue else {
            let missing = [("dtype", dtypeValue), ("shape", shapeValue), ("data_offsets", offsetsValue)]
                .filter { $0.1 == nil }.map(\.0).joined(separator: ", ")
            throw error(.malformedEntry, "missing field(s): \(missing)", tensor: name, headerOffset: member.offset)
        }
        let dtype = try parseDtype(dtypeValue, name: name, at: member.offset)
        guard let elementSize = dtype.readableSize else {
            throw error(.unsupportedDtype,
                        "dtype \(dtype.rawValue) is valid safetensors but SphereLab reads only F32, F64, F16, BF16, I64 and I32",
                        tensor: name, headerOffset: member.offset)
        }
        let shape = try parseShape(shapeValue, name: name, at: member.offset)
        let offsets = try parseOffsets(offsetsValue, name: name, at: member.offset)

        var byteCount = elementSize
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw error(.elementCountOverflow, "shape \(shapeText(shape)) × \(elementSize) bytes overflows a 64-bit size",
                            tensor: name, headerOffset: member.offset)
            }
            byteCount = product
        }
        guard offsets.upperBound <= dataLength else {
            throw SessionStoreError(.offsetsBeyondData,
                                    "data_offsets [\(offsets.lowerBound), \(offsets.upperBound)] end beyond the \(dataLength)-byte data buffer",
                                    path: path, tensor: name, offset: 8 + member.offset, hint: SessionStoreError.damagedFileHint)
        }
        guard offsets.count == byteCount else {
            throw error(.byteLengthMismatch,
                        "data_offsets [\(offsets.lowerBound), \(offsets.upperBound)] span \(offsets.count) bytes but shape \(shapeText(shape)) of \(dtype.rawValue) needs \(byteCount)",
                        tensor: name, headerOffset: member.offset)
        }
        return SafeTensorsEntry(name: name, dtype: dtype.rawValue, shape: shape, dataOffsets: offsets)
    }

    func parseDtype(_ value: JSONValue, name: String, at offset: Int) throws -> SafeTensorsDType {
        guard case .string(let text) = value else {
            throw error(.malformedEntry, "dtype is \(value.kindName), not a string", tensor: name, headerOffset: offset)
        }
        guard let dtype = SafeTensorsDType(rawValue: text) else {
            throw error(.unknownDtype, "unknown dtype \"\(abbreviated(text))\"", tensor: name, headerOffset: offset)
        }
        return dtype
    }

    func parseShape(_ value: JSONValue, name: String, at offset: Int) throws -> [Int] {
        guard case .array(let items) = value else {
            throw error(.malformedEntry, "shape is \(value.kindName), not an array", tensor: name, headerOffset: offset)
        }
        return try items.map { item in
            guard case .number(let number) = item else {
                throw error(.invalidShape, "shape holds \(item.kindName), not an integer", tensor: name, headerOffset: offset)
            }
            guard number.isIntegerLiteral else {
                throw error(.invalidShape, "shape value \(abbreviated(number.text)) is not an integer", tensor: name, headerOffset: offset)
            }
            guard !number.isNegative else {
                throw error(.invalidShape, "shape value \(abbreviated(number.text)) is negative", tensor: name, headerOffset: offset)
            }
            guard let dimension = number.uint64.flatMap({ Int(exactly: $0) }) else {
                throw error(.elementCountOverflow, "shape value \(abbreviated(number.text)) does not fit in 64 bits", tensor: name, headerOffset: offset)
            }
            return dimension
        }
    }

    func parseOffsets(_ value: JSONValue, name: String, at offset: Int) throws -> Range<Int> {
        guard case .array(let items) = value, items.count == 2 else {
            throw error(.invalidOffsets, "data_offsets must be an array of two integers [begin, end]", tensor: name, headerOffset: offset)
        }
        var bounds: [Int] = []
        for item in items {
            guard case .number(let number) = item, number.isIntegerLiteral, !number.isNegative else {
                throw error(.invalidOffsets, "data_offsets must hold non-negative integers", tensor: name, headerOffset: offset)
            }
            guard let bound = number.uint64.flatMap({ Int(exactly: $0) }) else {
                throw SessionStoreError(.offsetsBeyondData, "data_offsets value \(abbreviated(number.text)) is beyond any data buffer",
                                        path: path, tensor: name, offset: 8 + offset, hint: SessionStoreError.damagedFileHint)
            }
            bounds.append(bound)
        }
        guard bounds[0] <= bounds[1] else {
            throw error(.invalidOffsets, "data_offsets [\(bounds[0]), \(bounds[1])] have begin after end", tensor: name, headerOffset: offset)
        }
        return bounds[0]..<bounds[1]
    }
}
