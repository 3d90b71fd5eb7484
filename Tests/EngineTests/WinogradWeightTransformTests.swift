// The Winograd weight transform G g Gᵀ, eight kernels per vector and split into ranges of u's
// rows (CKernels winograd.c, sl_wino_weights_part), against its slow twin that transforms one
// kernel at a time in scalar code (sl_wino…_weights_reference): the same bits for 2×2 and 4×4
// tiles, plain and flipped (rotated and transposed), whole or cut into ranges that split a
// vector, and channel counts that leave a partial last vector.
import CKernels
import Testing

struct WinogradWeightTransformTests {
    struct KernelShape: CustomStringConvertible, Sendable {
        var oc: Int, ic: Int
        var description: String { "\(oc)×\(ic)" }
    }

    static let shapes: [KernelShape] = [.init(oc: 1, ic: 1), .init(oc: 3, ic: 5), .init(oc: 7, ic: 9), .init(oc: 16, ic: 8),
                                       .init(oc: 13, ic: 1), .init(oc: 32, ic: 48)]

    /// Weights with a spread of magnitudes and signs, signed zeros and a subnormal among them.
    static func weights(_ count: Int) -> [Float] {
        var rng = TestRandom(UInt64(count))
        var w = (0..<count).map { _ in rng.uniform(-1, 1) * (rng.uniform() < 0.1 ? 100 : 1) }
        if count > 3 { w[1] = -0.0; w[2] = 0.0; w[3] = Float.leastNonzeroMagnitude }
        return w
    }

    /// Elements whose bits differ between a and b (counted: a failing comparison of whole arrays
    /// would print them all).
    static func differingBits(_ a: [Float], _ b: [Float]) -> Int {
        zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }

    @Test(arguments: shapes, [2, 4])
    func vectorsGiveTheScalarBits(shape: KernelShape, tile: Int) {
        let (oc, ic) = (shape.oc, shape.ic)
        let t = (tile + 2) * (tile + 2), plane = oc * ic
        let w = Self.weights(oc * ic * 9)
        for flip: Int32 in [0, 1] {
            var reference = [Float](repeating: .nan, count: t * plane)
            if tile == 4 {
                sl_wino4_weights_reference(w, Int32(oc), Int32(ic), flip, &reference)
            } else {
                sl_wino_weights_reference(w, Int32(oc), Int32(ic), flip, &reference)
            }
            var whole = [Float](repeating: .nan, count: t * plane)
            if tile == 4 {
                sl_wino4_weights(w, Int32(oc), Int32(ic), flip, &whole)
            } else {
                sl_wino_weights(w, Int32(oc), Int32(ic), flip, &whole)
            }
            #expect(Self.differingBits(whole, reference) == 0, "whole, flip \(flip)")
            // Ranges of 3, 5 and 11 elements: cuts inside vectors and partial last vectors.
            for step in [3, 5, 11] {
                var parts = [Float](repeating: .nan, count: t * plane)
                var d = 0
                while d < plane {
                    sl_wino_weights_part(w, Int32(oc), Int32(ic), flip, Int32(tile), d, min(d + step, plane), &parts)
                    d += step
                }
                #expect(Self.differingBits(parts, reference) == 0, "ranges of \(step), flip \(flip)")
            }
        }
    }

    /// The slow twin itself against G g Gᵀ in Double for one kernel (the matrices of winograd.c).
    @Test(arguments: [2, 4])
    func referenceIsGgGt(tile: Int) {
        let g: [Float] = [0.3, -1.2, 0.7, 2.5, 0.01, -0.4, 1.1, -2.2, 0.9]
        let sixth = 1.0 / 6, twelfth = 1.0 / 12, twentyFourth = 1.0 / 24
        let g2: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        let g4: [[Double]] = [[0.25, 0, 0], [-sixth, -sixth, -sixth], [-sixth, sixth, -sixth],
                              [twentyFourth, twelfth, sixth], [twentyFourth, -twelfth, sixth], [0, 0, 1]]
        let G = tile == 2 ? g2 : g4
        let n = tile + 2
        var u = [Float](repeating: .nan, count: n * n)
        if tile == 4 { sl_wino4_weights_reference(g, 1, 1, 0, &u) } else { sl_wino_weights_reference(g, 1, 1, 0, &u) }
        for a in 0..<n {
            for b in 0..<n {
                var sum = 0.0
                for r in 0..<3 { for c in 0..<3 { sum += G[a][r] * Double(g[3 * r + c]) * G[b][c] } }
                #expect(abs(Double(u[a * n + b]) - sum) <= 1e-6 * max(1, abs(sum)), "u[\(a)][\(b)]")
            }
        }
    }
}
