import Foundation
import Testing
@testable import SessionStore

@Suite("safetensors encode/decode round trips")
struct SafeTensorsRoundTripTests {
    @Test("float32 and int64 tensors, scalars, empty tensors, unicode names and metadata survive a round trip")
    func roundTrip() throws {
        let tensors = [
            NamedTensor(name: "features.0.weight", shape: [2, 3], floats: [1, -2, 3.5, 0, 1e-30, -7e20]),
            NamedTensor(name: "features.1.num_batches_tracked", shape: [], integers: [12345]),
            NamedTensor(name: "scalar.float", shape: [], floats: [0.125]),
            NamedTensor(name: "empty.vector", shape: [0], floats: []),
            NamedTensor(name: "empty.matrix", shape: [2, 0, 3], integers: []),
            NamedTensor(name: "extremes", shape: [4], integers: [.min, .max, -1, 0]),
            NamedTensor(name: "couche.φ.权重 🧠", shape: [1], floats: [42]),
            NamedTensor(name: "quote\"back\\slash\nnewline\u{1}", shape: [1, 1], floats: [-1]),
        ]
        let metadata = ["format": "pt", "note": "ünïcödé \"quoted\" \\ and\ttab", "": "empty key"]
        let bytes = try SafeTensors.encode(tensors, metadata: metadata)
        let decoded = try SafeTensors.decode(bytes)
        #expect(decoded.tensors == sortedByName(tensors))
        #expect(decoded.metadata == metadata)
    }

    @Test("special float values keep their exact bit patterns")
    func specialFloatsBitExact() throws {
        let values: [Float] = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                               Float(bitPattern: 0x7FC0_1234)]
        let bytes = try SafeTensors.encode([NamedTensor(name: "x", shape: [values.count], floats: values)])
        guard case .float32(let back) = try SafeTensors.decode(bytes).tensors.first?.values else {
            Issue.record("expected one float32 tensor")
            return
        }
        #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test("layout: 8-byte aligned data, space padding, name order, contiguous offsets, no metadata block when empty")
    func layout() throws {
        let tensors = [
            NamedTensor(name: "b", shape: [3], floats: [1, 2, 3]),
            NamedTensor(name: "a", shape: [1], integers: [9]),
            NamedTensor(name: "c", shape: [0], floats: []),
        ]
        let bytes = try SafeTensors.encode(tensors)
        let index = try bytes.withUnsafeBytes { try SafeTensors.parseIndex(fileStart: $0, fileSize: bytes.count, path: "mem") }
        #expect(index.dataStart % 8 == 0)
        #expect(index.entries.map(\.name) == ["a", "b", "c"])
        #expect(index.entries.map(\.dataOffsets) == [0..<8, 8..<20, 20..<20])
        #expect(index.entries.map(\.dtype) == ["I64", "F32", "F32"])
        #expect(bytes.count == index.dataStart + 20)
        let header = String(decoding: bytes[8..<index.dataStart], as: UTF8.self)
        #expect(header.hasPrefix("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}"))
        #expect(!header.contains("__metadata__"))
        // Padding is spaces only, after the closing brace.
        let closing = try #require(header.lastIndex(of: "}"))
        #expect(header[header.index(after: closing)...].allSatisfy { $0 == " " })
        // The 1.0 of "b" sits little-endian right after the 8-byte int64 of "a".
        #expect(Array(bytes[(index.dataStart + 8)..<(index.dataStart + 12)]) == [0x00, 0x00, 0x80, 0x3F])
    }

    @Test("encoding is deterministic and independent of input order")
    func deterministic() throws {
        let tensors = sampleWeights()
        let first = try SafeTensors.encode(tensors, metadata: ["k": "v", "a": "b"])
        let second = try SafeTensors.encode(tensors.reversed(), metadata: ["a": "b", "k": "v"])
        #expect(first == second)
    }

    @Test("no tensors at all is a valid file")
    func emptyFile() throws {
        let bytes = try SafeTensors.encode([])
        #expect(bytes.count == 16)
        #expect(Array(bytes[8...]) == Array("{}      ".utf8))
        let decoded = try SafeTensors.decode(bytes)
        #expect(decoded.tensors.isEmpty)
        #expect(decoded.metadata.isEmpty)
    }

    @Test("encode refuses shape/value mismatches, negative dimensions, duplicates and the reserved name")
    func encodeValidation() {
        expectStoreError(.shapeMismatch) { try SafeTensors.encode([NamedTensor(name: "w", shape: [2, 2], floats: [1, 2, 3])]) }
        expectStoreError(.shapeMismatch) { try SafeTensors.encode([NamedTensor(name: "s", shape: [], floats: [])]) }
        expectStoreError(.invalidShape) { try SafeTensors.encode([NamedTensor(name: "w", shape: [-1], floats: [])]) }
        expectStoreError(.elementCountOverflow) {
            try SafeTensors.encode([NamedTensor(name: "w", shape: [Int.max, 2], floats: [])])
        }
        expectStoreError(.duplicateTensorName) {
            try SafeTensors.encode([NamedTensor(name: "w", shape: [1], floats: [1]), NamedTensor(name: "w", shape: [1], floats: [2])])
        }
        expectStoreError(.invalidTensorName) { try SafeTensors.encode([NamedTensor(name: "__metadata__", shape: [1], floats: [1])]) }
    }

    @Test("read(path:) and readIndex(path:) agree with decode")
    func readFromDisk() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let bytes = try SafeTensors.encode(sampleWeights(), metadata: ["format": "pt"])
        try scratch.write(bytes, to: "w.safetensors")
        let path = scratch.path + "/w.safetensors"
        let read = try SafeTensors.read(path: path)
        #expect(read.tensors == sortedByName(sampleWeights()))
        #expect(read.metadata == ["format": "pt"])
        let index = try SafeTensors.readIndex(path: path)
        #expect(index.entries.map(\.name) == read.tensors.map(\.name))
        #expect(index.entries.map(\.shape) == read.tensors.map(\.shape))
        #expect(index.dataStart + index.dataLength == bytes.count)
    }
}
