import Testing
@testable import Engine

/// Every buffer starts on a 64-byte cache line and every worker's fused Winograd scratch is a
/// whole number of lines, so the kernels' 16-float vectors never straddle two lines (with
/// malloc's 16-byte alignment every one of them did).
@Suite struct BufferAlignmentTests {
    @Test func buffersStartOnACacheLineWhenCreatedAndWhenGrown() {
        for count in [0, 1, 3, 17, 1000, 1 << 20] {
            let b = FloatBuffer(count: count)
            #expect(Int(bitPattern: b.pointer) % FloatBuffer.alignment == 0, "new buffer of \(count)")
            #expect((0..<count).allSatisfy { b.pointer[$0] == 0 }, "new buffer of \(count) not zeroed")
            b.ensure(count: count * 3 + 5)
            #expect(Int(bitPattern: b.pointer) % FloatBuffer.alignment == 0, "grown buffer of \(count * 3 + 5)")
        }
    }

    @Test(arguments: [2, 4])
    func fusedScratchIsWholeCacheLines(tile: Int) {
        for (ic, oc, w) in [(1, 5, 3), (9, 13, 7), (64, 64, 28), (96, 96, 14), (128, 120, 7), (16, 8, 35)] {
            let n = WinogradConvolution.fusedScratch(inChannels: ic, outChannels: oc, width: w, tile: tile)
            #expect(n % 16 == 0 && n > 0, "\(ic)→\(oc) width \(w) tile \(tile): \(n) floats")
        }
    }
}
