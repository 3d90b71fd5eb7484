import Foundation

/// What the angle view plots for one SphereConv-capable layer (design.md §4): the
/// distribution of θ(w, x) between its kernels and the patches under them, and of the
/// pairwise angles between its kernels. Angles in radians over [0, π].
public struct LayerAngles: Sendable, Equatable, Codable {
    public var layer: String
    public var variant: String
    public var step: Int
    /// Counts of θ(w, x) in `bins` equal bins over [0, π].
    public var patchAngles: [Int]
    /// Counts of the pairwise kernel angles in the same bins.
    public var kernelAngles: [Int]
    /// θ(w, x) at the 10th, 25th, 50th, 75th and 90th percentile.
    public var percentiles: [Double]

    public init(layer: String, variant: String, step: Int, patchAngles: [Int], kernelAngles: [Int], percentiles: [Double]) {
        self.layer = layer; self.variant = variant; self.step = step
        self.patchAngles = patchAngles; self.kernelAngles = kernelAngles; self.percentiles = percentiles
    }

    public static let bins = 48
    public static let percentileLevels: [Double] = [0.10, 0.25, 0.50, 0.75, 0.90]
}

/// Measures `LayerAngles` from the last training forward pass, cheaply: θ(w, x) on an evenly spread
/// sample of output positions (every kernel against each sampled patch), kernel angles from
/// one small Gram matrix. Scratch memory is kept between calls.
public final class AngleProbe {
    public var samplePositions: Int
    private var thetas: [Float] = []
    private let gram = FloatBuffer()
    private let normalized = FloatBuffer()

    public init(samplePositions: Int = 96) { self.samplePositions = samplePositions }

    /// Copies the patches under `positions` evenly spread output positions of a forward pass
    /// over `x` into `samples` ((count, K) row-major, K = C·k·k in weight order); returns the
    /// count. Called by the convolution while its input is still there.
    static func capture(_ x: Activation, geometry g: ConvGeometry, positions wanted: Int, into samples: FloatBuffer) -> Int {
        let oh = g.outHeight, ow = g.outWidth, batch = x.shape.batch
        let positions = batch * oh * ow
        let count = min(wanted, positions)
        let k = g.inChannels * g.kernel * g.kernel
        guard count > 0 else { return 0 }
        samples.ensure(count: count * k)
        let (src, dst) = (x.buffer.pointer, samples.pointer)
        for i in 0..<count {
            let m = i * positions / count
            let n = m / (oh * ow), oy = (m / ow) % oh, ox = m % ow
            let patch = dst + i * k
            for c in 0..<g.inChannels { for kh in 0..<g.kernel { for kw in 0..<g.kernel {
                let iy = oy * g.stride - g.padding + kh, ix = ox * g.stride - g.padding + kw
                var v: Float = 0
                if iy >= 0 && iy < g.inHeight && ix >= 0 && ix < g.inWidth {
                    v = src[((c * batch + n) * g.inHeight + iy) * g.inWidth + ix]
                }
                patch[(c * g.kernel + kh) * g.kernel + kw] = v
            } } }
        }
        return count
    }

    /// The angles of `conv`'s current kernels against the patches its last training forward
    /// sampled (nil when it sampled none).
    public func measure(_ conv: Conv2D, step: Int) -> LayerAngles? {
        let samples = conv.angleSampleCount
        guard samples > 0 else { return nil }
        let oc = conv.outChannels, k = conv.patchSize
        thetas.removeAll(keepingCapacity: true)
        let w = conv.weight.value.pointer
        var weightNorms = [Float](repeating: 0, count: oc)
        for r in 0..<oc {
            var s: Float = 0
            for j in 0..<k { s += w[r * k + j] * w[r * k + j] }
            weightNorms[r] = (s + Conv2D.normEpsilon).squareRoot()
        }
        for i in 0..<samples {
            let patch = conv.angleSamples.pointer + i * k
            var norm: Float = 0
            for j in 0..<k { norm += patch[j] * patch[j] }
            let xNorm = (norm + Conv2D.normEpsilon).squareRoot()
            for r in 0..<oc {
                var u: Float = 0
                for j in 0..<k { u += w[r * k + j] * patch[j] }
                thetas.append(AngleProbe.angle(cosine: u / (weightNorms[r] * xNorm)))
            }
        }
        let patchHistogram = AngleProbe.histogram(thetas)
        thetas.sort()
        let percentiles = LayerAngles.percentileLevels.map { q -> Double in
            Double(thetas[min(thetas.count - 1, Int(q * Double(thetas.count)))])
        }
        // Pairwise kernel angles from the Gram matrix of unit kernels.
        normalized.ensure(count: oc * k)
        for r in 0..<oc { for j in 0..<k { normalized[r * k + j] = w[r * k + j] / weightNorms[r] } }
        gram.ensure(count: oc * oc)
        var kernelHistogram = [Int](repeating: 0, count: LayerAngles.bins)
        if oc > 1 {
            sgemm(transA: false, transB: true, m: oc, n: oc, k: k, a: normalized.pointer, lda: k,
                  b: normalized.pointer, ldb: k, beta: 0, c: gram.pointer, ldc: oc)
            for a in 0..<oc { for b in (a + 1)..<oc {
                kernelHistogram[AngleProbe.bin(AngleProbe.angle(cosine: gram[a * oc + b]))] += 1
            } }
        }
        return LayerAngles(layer: conv.name, variant: conv.variant.description, step: step,
                           patchAngles: patchHistogram, kernelAngles: kernelHistogram, percentiles: percentiles)
    }

    static func angle(cosine c: Float) -> Float { acos(min(1, max(-1, c.isNaN ? 0 : c))) }

    static func bin(_ theta: Float) -> Int {
        min(LayerAngles.bins - 1, max(0, Int(theta / .pi * Float(LayerAngles.bins))))
    }

    static func histogram(_ values: [Float]) -> [Int] {
        var h = [Int](repeating: 0, count: LayerAngles.bins)
        for v in values { h[bin(v)] += 1 }
        return h
    }
}
