import CKernels
import Testing
@testable import Engine

/// `sl_maxpool2x2_backward` (writes every pixel) against its slow twin, the clear-then-scatter
/// loop MaxPool2x2 used before: identical bits, every pixel of a NaN-filled dx overwritten.
@Suite struct MaxPoolBackwardTests {
    /// The twin: dx = 0, then dx[argmax[o]] += dy[o].
    func twin(_ dy: [Float], _ argmax: [Int32], count: Int) -> [Float] {
        var dx = [Float](repeating: 0, count: count)
        for (o, i) in argmax.enumerated() { dx[Int(i)] += dy[o] }
        return dx
    }

    @Test(arguments: [(1, 1), (2, 2), (5, 3), (3, 5), (7, 7), (28, 28), (14, 14)])
    func kernelMatchesTheScatterTwin(_ size: (Int, Int)) {
        let (h, w) = size
        let planes = 5, oh = (h + 1) / 2, ow = (w + 1) / 2
        var rng = TestRandom(UInt64(h * 31 + w))
        var x = rng.gaussians(planes * h * w)
        for i in stride(from: 0, to: x.count, by: 5) { x[i] = x[max(0, i - 1)] }   // ties: the first tap wins
        var y = [Float](repeating: 0, count: planes * oh * ow), argmax = [Int32](repeating: -1, count: y.count)
        sl_maxpool2x2(x, Int32(h), Int32(w), 0, planes, &y, &argmax)
        var dy = rng.gaussians(y.count)
        for i in stride(from: 0, to: dy.count, by: 3) { dy[i] = -0.0 }   // lands as +0, as 0 + (−0) does
        var dx = [Float](repeating: .nan, count: x.count)
        // Two calls over split plane ranges, as the workers run it.
        sl_maxpool2x2_backward(dy, argmax, Int32(h), Int32(w), 0, 2, &dx)
        sl_maxpool2x2_backward(dy, argmax, Int32(h), Int32(w), 2, planes, &dx)
        #expect(dx.map(\.bitPattern) == twin(dy, argmax, count: x.count).map(\.bitPattern), "\(h)×\(w)")
    }

    @Test func layerBackwardOverwritesAStaleGradient() {
        let shape = Shape(channels: 3, batch: 2, height: 7, width: 5)
        var rng = TestRandom(9)
        let x = rng.gaussians(shape.count)
        let pool = MaxPool2x2(name: "p")
        let out = pool.forward(activation(x, shape), training: true)
        let dy = rng.gaussians(out.shape.count)
        let first = pool.backward(activation(dy, out.shape))!.buffer.array
        // A second backward with another gradient into the same buffer: nothing of the first may remain.
        let second = pool.backward(activation(dy.map { $0 * 2 }, out.shape))!.buffer.array
        #expect(second == first.map { $0 * 2 })
    }
}
