import Testing
@testable import SessionStore

/// Files written byte by byte from the public description of the format, independent of the
/// encoder, so that encoder and decoder cannot agree on a private mistake.
@Suite("safetensors files built by hand from the spec")
struct SafeTensorsHandMadeTests {
    @Test("F32 and I64 with an unpadded header (data not aligned) and metadata")
    func floatAndInt() throws {
        let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}"#
        let data: [UInt8] = [
            0x00, 0x00, 0x80, 0x3F,  // 1.0
            0x00, 0x00, 0x00, 0xC0,  // -2.0
            0x07, 0, 0, 0, 0, 0, 0, 0,  // 7
        ]
        let file = handMadeFile(header: header, data: data)
        #expect((8 + Array(header.utf8).count) % 8 != 0, "the point is an unaligned data start")
        let decoded = try SafeTensors.decode(file)
        #expect(decoded.metadata == ["format": "pt"])
        #expect(decoded.tensors == [
            NamedTensor(name: "n", shape: [], integers: [7]),
            NamedTensor(name: "w", shape: [2], floats: [1, -2]),
        ])
    }

    @Test("F16, BF16, F64 and I32 are widened exactly")
    func otherDtypes() throws {
        let header = #"{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},"d":{"dtype":"F64","shape":[1],"data_offsets":[18,26]},"i":{"dtype":"I32","shape":[2],"data_offsets":[26,34]}}"#
        let data: [UInt8] = [
            0x00, 0x3C,  // F16 1.0
            0x00, 0xC0,  // F16 -2.0
            0xFF, 0x7B,  // F16 65504 (largest finite)
            0x01, 0x00,  // F16 2^-24 (smallest subnormal)
            0x00, 0x7C,  // F16 +inf
            0x00, 0x80,  // F16 -0.0
            0x80, 0x3F,  // BF16 1.0
            0x60, 0xC0,  // BF16 -3.5
            0x80, 0x43,  // BF16 256.0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F,  // F64 1.5
            0xFF, 0xFF, 0xFF, 0xFF,  // I32 -1
            0xFF, 0xFF, 0xFF, 0x7F,  // I32 2147483647
        ]
        let decoded = try SafeTensors.decode(handMadeFile(header: header, data: data))
        let byName = Dictionary(uniqueKeysWithValues: decoded.tensors.map { ($0.name, $0) })
        guard case .float32(let half)? = byName["h"]?.values else {
            Issue.record("F16 tensor missing")
            return
        }
        #expect(half.map(\.bitPattern) == [Float(1), -2, 65504, 0x1p-24, .infinity, -0.0].map(\.bitPattern))
        #expect(byName["b"]?.values == .float32([1, -3.5, 256]))
        #expect(byName["d"]?.values == .float32([1.5]))
        #expect(byName["i"]?.values == .int64([-1, 2_147_483_647]))
        #expect(byName["i"]?.shape == [2])
    }

    @Test("half-precision NaN stays NaN and subnormals scale correctly")
    func halfEdgeCases() {
        #expect(floatFromHalfBits(0x7E00).isNaN)
        #expect(floatFromHalfBits(0x03FF) == 1023 * 0x1p-24)
        #expect(floatFromHalfBits(0x0400) == 0x1p-14)
        #expect(floatFromHalfBits(0x8001) == -0x1p-24)
        #expect(floatFromHalfBits(0x3555) == Float(0x1.554p-2))
    }

    @Test("whitespace inside the header and space padding are accepted")
    func whitespace() throws {
        let header = "{ \"x\" : {\"shape\": [1], \"dtype\": \"F32\",\n \"data_offsets\": [0, 4]} }    "
        let decoded = try SafeTensors.decode(handMadeFile(header: header, data: [0, 0, 0x40, 0x40]))
        #expect(decoded.tensors == [NamedTensor(name: "x", shape: [1], floats: [3])])
    }

    @Test("escaped names and a \\u surrogate pair decode to the right text")
    func escapedNames() throws {
        let header = #"{"a\u00e9\ud83e\udde0\"q":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#
        let decoded = try SafeTensors.decode(handMadeFile(header: header, data: [0, 0, 0x80, 0x3F]))
        #expect(decoded.tensors.map(\.name) == ["aé🧠\"q"])
    }
}
