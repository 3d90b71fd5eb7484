// Max pooling's backward without stored indices (CKernels sl_pool_backward.h) against its slow
// obvious twin: the winner of each window picked by the forward's comparisons in plain Swift,
// the gradient scattered into a cleared buffer. Bit for bit, on every instruction set this
// machine runs: sides with whole groups of four windows, tails, odd sides (edge windows that
// repeat a tap), ties, NaN and signed zeros, the plain input and a BatchNorm's output rebuilt
// from its input (with and without the ReLU).
import CKernels
import Testing
@testable import Engine

fileprivate let poolISAs: [Int32] = [Int32(SL_ISA_PORTABLE), Int32(SL_ISA_AVX2_FMA), Int32(SL_ISA_AVX512)]
    .filter { sl_kernels_table($0) != nil }

@Suite struct PoolBackwardKernelTests {
    enum Input: CaseIterable { case plain, affine, affineReLU }

    /// The reference: taps as BatchNorm2D.scaleAndShift computes them, the winner by
    /// sl_maxpool2x2's comparisons (first in reading order on ties), dx cleared then += dy.
    static func reference(_ x: [Float], h: Int, w: Int, planes: Int, batch: Int, scale: [Float]?, shift: [Float]?,
                          relu: Bool, dy: [Float]) -> [Float] {
        let (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
        var dx = [Float](repeating: 0, count: x.count)
        for p in 0..<planes {
            func tap(_ i: Int) -> Float {
                guard let scale, let shift else { return x[i] }
                let y = x[i] * scale[p / batch] + shift[p / batch]
                return relu ? (y > 0 ? y : 0) : y
            }
            for oy in 0..<oh { for ox in 0..<ow {
                let (y0, x0) = (2 * oy, 2 * ox)
                let (y1, x1) = (min(y0 + 1, h - 1), min(x0 + 1, w - 1))
                let base = p * h * w
                let (ia, ib, ic, id) = (base + y0 * w + x0, base + y0 * w + x1, base + y1 * w + x0, base + y1 * w + x1)
                let i1 = tap(ib) > tap(ia) ? ib : ia, i2 = tap(id) > tap(ic) ? id : ic
                let winner = tap(i2) > tap(i1) ? i2 : i1
                dx[winner] += dy[p * oh * ow + oy * ow + ox]
            } }
        }
        return dx
    }

    @Test(arguments: poolISAs, [(28, 28), (14, 14), (7, 7), (5, 9), (1, 1), (2, 3), (12, 18)])
    func matchesTheSlowTwin(isa: Int32, side: (Int, Int)) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        let (h, w) = side
        let (channels, batch) = (3, 2)
        let planes = channels * batch
        var rng = TestRandom(UInt64(h * 31 + w))
        // Values on a coarse grid so windows hold ties; a few NaN and signed zeros.
        var x = (0..<(planes * h * w)).map { _ in Float(Int(rng.uniform(-4, 4))) / 2 }
        for i in stride(from: 5, to: x.count, by: 17) { x[i] = .nan }
        for i in stride(from: 3, to: x.count, by: 13) { x[i] = -0.0 }
        let (oh, ow) = ((h + 1) / 2, (w + 1) / 2)
        let dy = (0..<(planes * oh * ow)).map { i in i % 11 == 0 ? -0.0 : rng.uniform(-1, 1) }
        for input in Input.allCases {
            let scale: [Float]? = input == .plain ? nil : [0.7, -1.3, 2.1]
            let shift: [Float]? = input == .plain ? nil : [0.25, -0.5, 0.1]
            let relu = input == .affineReLU
            let expected = Self.reference(x, h: h, w: w, planes: planes, batch: batch, scale: scale, shift: shift, relu: relu, dy: dy)
            // Stale values in dx must not survive: every value is written.
            var dx = [Float](repeating: 42, count: x.count)
            let affine = FloatBuffer(count: 2 * channels)
            for c in 0..<channels { affine[c] = scale?[c] ?? 0; affine[channels + c] = shift?[c] ?? 0 }
            let (sp, tp) = input == .plain ? (nil, nil) : (UnsafePointer(affine.pointer), UnsafePointer(affine.pointer + channels))
            x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
                // Two calls over plane ranges, as the workers split them.
                for (p0, p1) in [(0, 2), (2, planes)] {
                    table.maxpool2x2_backward(xp.baseAddress, Int32(h), Int32(w), p0, p1, batch, sp, tp, relu ? 1 : 0,
                                              gp.baseAddress, dp.baseAddress)
                }
            } } }
            let mismatches = (0..<x.count).filter { dx[$0].bitPattern != expected[$0].bitPattern }
            #expect(mismatches.isEmpty, "\(input) \(h)×\(w): \(mismatches.prefix(5).map { "\($0): \(dx[$0]) vs \(expected[$0])" })")
        }
    }
}
