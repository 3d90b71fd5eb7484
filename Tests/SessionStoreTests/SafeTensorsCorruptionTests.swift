import Foundation
import Testing
@testable import SessionStore

@Suite("safetensors validation: every damage gets its named error")
struct SafeTensorsCorruptionTests {
    /// One valid entry with a given body, for header-level damage.
    func file(_ header: String, data: [UInt8] = [0, 0, 0x80, 0x3F]) -> [UInt8] {
        handMadeFile(header: header, data: data)
    }

    @Test("truncation at every offset: short file, header beyond file, or offsets beyond data")
    func truncatedEverywhere() throws {
        let bytes = try SafeTensors.encode(sampleWeights(), metadata: ["format": "pt"])
        let headerEnd = bytes.withUnsafeBytes { 8 + Int(SafeTensors.readLengthField($0)) }
        for length in 0..<bytes.count {
            let expected: SessionStoreError.Kind =
                length < 8 ? .fileTooShort : length < headerEnd ? .headerLengthExceedsFile : .offsetsBeyondData
            let error = expectStoreError(expected) { try SafeTensors.decode(Array(bytes[..<length]), path: "cut.safetensors") }
            #expect(error?.path == "cut.safetensors")
        }
        #expect(try SafeTensors.decode(bytes).tensors.count == 4)
    }

    @Test("every bit flip in the length field and header decodes to the same data or fails with a named error")
    func headerBitFlips() throws {
        let original = try SafeTensors.encode(sampleWeights(), metadata: ["format": "pt"])
        let headerEnd = original.withUnsafeBytes { 8 + Int(SafeTensors.readLengthField($0)) }
        let originalValues = try SafeTensors.decode(original).tensors.map(\.values)
        var decodedCount = 0
        var kindsSeen: Set<SessionStoreError.Kind> = []
        for position in 0..<headerEnd {
            for bit in 0..<8 {
                var damaged = original
                damaged[position] ^= UInt8(1) << UInt8(bit)
                do {
                    let decoded = try SafeTensors.decode(damaged)
                    decodedCount += 1
                    // The data buffer is untouched, so whatever still decodes must carry the same
                    // values (names or metadata may differ); anything else would be silent garbage.
                    #expect(decoded.tensors.map(\.values).sorted(by: valuesOrder) == originalValues.sorted(by: valuesOrder),
                            "flip at byte \(position) bit \(bit) decoded to different values")
                } catch let error as SessionStoreError {
                    kindsSeen.insert(error.kind)
                    #expect(error.kind != .ioFailed)
                } catch {
                    Issue.record("flip at byte \(position) bit \(bit): unexpected error type \(error)")
                }
            }
        }
        #expect(decodedCount > 0, "flips inside names should still decode")
        #expect(kindsSeen.isSuperset(of: [.headerLengthExceedsFile, .headerNotJSON, .headerNotUTF8, .unknownDtype, .malformedEntry]),
                "saw only \(kindsSeen)")
    }

    private func valuesOrder(_ a: TensorValues, _ b: TensorValues) -> Bool { "\(a)" < "\(b)" }

    @Test("foreign data and absurd header lengths are refused before allocating")
    func foreignAndOversized() throws {
        expectStoreError(.headerLengthExceedsFile) { try SafeTensors.decode(Array("this is not a safetensors file at all".utf8)) }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += [UInt8](repeating: 0, count: 64)
        expectStoreError(.headerLengthExceedsFile) { try SafeTensors.decode(png) }
        expectStoreError(.headerLengthExceedsFile) { try SafeTensors.decode([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B]) }
        expectStoreError(.fileTooShort) { try SafeTensors.decode([]) }
        expectStoreError(.headerNotJSON) { try SafeTensors.decode([0, 0, 0, 0, 0, 0, 0, 0]) }

        // A sparse 150 MB file whose length field claims 120 MB: refused by the cap, without
        // reading or allocating the claimed header.
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let path = scratch.path + "/huge.safetensors"
        var prefix: [UInt8] = []
        var claimed = UInt64(120_000_000)
        for _ in 0..<8 { prefix.append(UInt8(claimed & 0xFF)); claimed >>= 8 }
        try scratch.write(prefix, to: "huge.safetensors")
        #expect(truncate(path, 150_000_000) == 0)
        let error = expectStoreError(.headerTooLarge) { try SafeTensors.read(path: path) }
        #expect(error?.path == path)
        expectStoreError(.headerTooLarge) { try SafeTensors.readIndex(path: path) }
    }

    @Test("header framing: not UTF-8, not JSON, not an object")
    func headerFraming() {
        let notUTF8 = handMadeFile(header: "{\"a\u{0}\":1}", data: []).enumerated().map { $0.offset == 11 ? 0xFF : $0.element }
        let error = expectStoreError(.headerNotUTF8) { try SafeTensors.decode(notUTF8) }
        #expect(error?.offset == 11)
        expectStoreError(.headerNotJSON) { try SafeTensors.decode(file(#"{"a": {"dtype": "F32""#)) }
        expectStoreError(.headerNotJSON) { try SafeTensors.decode(file(#"{"a":1,}"#)) }
        expectStoreError(.headerNotJSON) { try SafeTensors.decode(file(#"{"a":[01]}"#)) }
        expectStoreError(.headerNotObject) { try SafeTensors.decode(file("[1, 2]")) }
        expectStoreError(.headerNotObject) { try SafeTensors.decode(file(" {}")) }
    }

    @Test("entry fields: missing, extra, wrong types, dtypes")
    func entryFields() {
        expectStoreError(.malformedEntry) { try SafeTensors.decode(file(#"{"x":{"shape":[1],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.malformedEntry) {
            try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":0}}"#))
        }
        expectStoreError(.malformedEntry) {
            try SafeTensors.decode(file(#"{"x":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#))
        }
        expectStoreError(.malformedEntry) { try SafeTensors.decode(file(#"{"x":[1]}"#)) }
        expectStoreError(.malformedEntry) { try SafeTensors.decode(file(#"{"x":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.malformedEntry) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}"#)) }
        expectStoreError(.unknownDtype) { try SafeTensors.decode(file(#"{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.unsupportedDtype) { try SafeTensors.decode(file(#"{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.invalidMetadata) { try SafeTensors.decode(file(#"{"__metadata__":{"k":1},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.invalidMetadata) { try SafeTensors.decode(file(#"{"__metadata__":"v","x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#)) }
    }

    @Test("shapes: negative, fractional, non-numeric, overflowing")
    func shapes() {
        expectStoreError(.invalidShape) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.invalidShape) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.invalidShape) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.invalidShape) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}"#)) }
        expectStoreError(.elementCountOverflow) {
            try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#))
        }
        expectStoreError(.elementCountOverflow) {
            try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}"#))
        }
    }

    @Test("offsets: reversed, malformed, beyond data, wrong length")
    func offsets() {
        expectStoreError(.invalidOffsets) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#)) }
        expectStoreError(.invalidOffsets) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4]}}"#)) }
        expectStoreError(.invalidOffsets) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#)) }
        expectStoreError(.offsetsBeyondData) { try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#)) }
        expectStoreError(.offsetsBeyondData) {
            try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}"#))
        }
        let mismatch = expectStoreError(.byteLengthMismatch) {
            try SafeTensors.decode(file(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#), path: "m.safetensors")
        }
        #expect(mismatch?.tensor == "x")
        #expect(mismatch?.description.contains("m.safetensors") == true)
    }

    @Test("coverage: overlapping tensors, holes, trailing bytes, duplicate names")
    func coverage() {
        let eight: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
        let overlap = expectStoreError(.overlappingTensors) {
            try SafeTensors.decode(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight))
        }
        #expect(overlap?.tensor == "b")
        #expect(overlap?.offset != nil)
        expectStoreError(.overlappingTensors) {
            try SafeTensors.decode(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight))
        }
        expectStoreError(.holeInData) {
            try SafeTensors.decode(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight))
        }
        expectStoreError(.trailingBytes) {
            try SafeTensors.decode(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight))
        }
        expectStoreError(.duplicateTensorName) {
            try SafeTensors.decode(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight))
        }
    }

    @Test("errors from files carry the path, the tensor and a byte offset inside the header")
    func errorLocation() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let header = #"{"good":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"bad":{"dtype":"F32","shape":[-3],"data_offsets":[4,8]}}"#
        try scratch.write(handMadeFile(header: header, data: [UInt8](repeating: 0, count: 8)), to: "bad.safetensors")
        let path = scratch.path + "/bad.safetensors"
        let error = expectStoreError(.invalidShape) { try SafeTensors.read(path: path) }
        #expect(error?.path == path)
        #expect(error?.tensor == "bad")
        let expectedOffset = 8 + (Array(header.utf8).firstRange(of: Array("\"bad\"".utf8))?.lowerBound ?? -100)
        #expect(error?.offset == expectedOffset)
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("\"bad\"") == true)
        expectStoreError(.missingFile) { try SafeTensors.read(path: scratch.path + "/nope.safetensors") }
        expectStoreError(.ioFailed) { try SafeTensors.read(path: scratch.path) }
    }
}
