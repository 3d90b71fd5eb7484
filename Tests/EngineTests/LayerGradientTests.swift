import Foundation
import Testing
@testable import Engine

/// Runs forward + backward of `layer` on `x` with L = Σ r·out, then finite-differences the
/// input and every parameter. Float32 engine, so steps are ~1e-2 and tolerances match.
func gradientCheck(_ layer: Layer, input: [Float], shape: Shape, seed: UInt64 = 7, step: Float = 1e-2,
                   absolute: Double = 2e-3, relative: Double = 2e-2) -> [GradientMismatch] {
    var rng = TestRandom(seed)
    let xBuffer = FloatBuffer(input)
    let out = layer.forward(Activation(xBuffer, shape), training: true)
    let r = rng.gaussians(out.shape.count)
    let dy = FloatBuffer(r)
    let dx = layer.backward(Activation(dy, out.shape))?.buffer.array
    let paramGrads = layer.parameters.map { $0.grad.array }
    let loss = { projected(layer.forward(Activation(xBuffer, shape), training: true), r) }
    var bad: [GradientMismatch] = []
    if let dx {
        bad += checkGradient("input", values: xBuffer, analytic: dx, indices: sampleIndices(xBuffer.count), step: step,
                             absolute: absolute, relative: relative, loss: loss)
    }
    for (p, g) in zip(layer.parameters, paramGrads) {
        bad += checkGradient(p.name, values: p.value, analytic: g, indices: sampleIndices(p.count), step: step,
                             absolute: absolute, relative: relative, loss: loss)
    }
    return bad
}

let variantsUnderTest: [ConvVariant] = [.conv, .cosine, .linear, .sigmoid(k: 0.3), .sigmoid(k: 0.7), .learnableSigmoid]

struct ConvGeometryCase: CustomStringConvertible, Sendable {
    var inC: Int, outC: Int, kernel: Int, stride: Int, padding: Int, h: Int, w: Int, batch: Int
    var description: String { "\(inC)→\(outC) k\(kernel) s\(stride) p\(padding) \(h)×\(w) N\(batch)" }
}
let convCases: [ConvGeometryCase] = [
    .init(inC: 2, outC: 3, kernel: 3, stride: 1, padding: 1, h: 5, w: 4, batch: 3),
    .init(inC: 3, outC: 4, kernel: 3, stride: 2, padding: 1, h: 7, w: 6, batch: 2),
    .init(inC: 3, outC: 2, kernel: 1, stride: 2, padding: 0, h: 5, w: 5, batch: 2),
    .init(inC: 4, outC: 3, kernel: 1, stride: 1, padding: 0, h: 3, w: 3, batch: 2),
    .init(inC: 2, outC: 5, kernel: 4, stride: 1, padding: 0, h: 4, w: 4, batch: 3),
    // Winograd shapes (≥ 8 channels): odd and even sides, so edge tiles are half out. Images 5–7
    // wide take 4×4 tiles, four tile rows per vector (quads); 3 wide keeps 2×2 tiles.
    .init(inC: 8, outC: 9, kernel: 3, stride: 1, padding: 1, h: 5, w: 6, batch: 2),
    .init(inC: 9, outC: 8, kernel: 3, stride: 1, padding: 1, h: 4, w: 3, batch: 3),
    // Quads with the fused weight gradient (16 input channels), a quad and two rows left over.
    .init(inC: 16, outC: 8, kernel: 3, stride: 1, padding: 1, h: 7, w: 7, batch: 3),
    // Up to 96 channels Winograd runs fused (WinogradConvolution.fuses); wider layers in passes,
    // and the 4-row product kernel leaves a row tail at 33.
    .init(inC: 33, outC: 9, kernel: 3, stride: 1, padding: 1, h: 9, w: 17, batch: 2),
    .init(inC: 98, outC: 8, kernel: 3, stride: 1, padding: 1, h: 3, w: 4, batch: 2),
    // Fused weight gradient (input channels a multiple of 8), several groups and blocks.
    .init(inC: 16, outC: 12, kernel: 3, stride: 1, padding: 1, h: 11, w: 10, batch: 3),
    // Images at least 13 wide take 4×4 tiles (F(4×4, 3×3)): fused with a partial last tile row
    // and column and four tiles a row (vectors of four); nine tiles a row (vectors of eight, the
    // last overlapping) with the weight gradient in passes (9 input channels); and a wide layer
    // in passes.
    .init(inC: 16, outC: 8, kernel: 3, stride: 1, padding: 1, h: 14, w: 13, batch: 2),
    .init(inC: 9, outC: 16, kernel: 3, stride: 1, padding: 1, h: 13, w: 33, batch: 1),
    .init(inC: 100, outC: 8, kernel: 3, stride: 1, padding: 1, h: 16, w: 15, batch: 1),
    // Two 4×4 tiles a row (quads), the weight gradient in passes (9 input channels), and four
    // 2×2 tiles a row in a layer wider than the fused limit, wholly in passes.
    .init(inC: 9, outC: 8, kernel: 3, stride: 1, padding: 1, h: 8, w: 7, batch: 2),
    .init(inC: 130, outC: 8, kernel: 3, stride: 1, padding: 1, h: 7, w: 8, batch: 1),
    // Four 2×2 tiles a row, fused: pairs of tile rows as vectors of eight.
    .init(inC: 8, outC: 8, kernel: 3, stride: 1, padding: 1, h: 9, w: 8, batch: 2),
]

func makeConv(_ c: ConvGeometryCase, variant: ConvVariant, chunk: Int = 1 << 22, seed: UInt64 = 3) -> Conv2D {
    let conv = Conv2D(name: "features.0", inChannels: c.inC, outChannels: c.outC, kernel: c.kernel, stride: c.stride,
                      padding: c.padding, variant: variant, workspace: Workspace(chunkElements: chunk))
    var rng = TestRandom(seed)
    conv.initialize(using: &rng)
    if let k = conv.kRaw {   // spread learnable k so per-channel handling is exercised
        for i in 0..<k.count { k.value[i] = (i % 2 == 0 ? 1 : -1) * (0.3 + 0.2 * Float(i)) }
    }
    return conv
}

/// The slow obvious twin of the convolution: direct loops in Double.
func referenceConv(_ conv: Conv2D, x: [Float], shape s: Shape) -> [Double] {
    let k = conv.kernel, st = conv.stride, p = conv.padding
    let oh = (s.height + 2 * p - k) / st + 1, ow = (s.width + 2 * p - k) / st + 1
    var out = [Double](repeating: 0, count: conv.outChannels * s.batch * oh * ow)
    let w = conv.weight.value.array
    for o in 0..<conv.outChannels { for n in 0..<s.batch { for y in 0..<oh { for xo in 0..<ow {
        var u = 0.0, xx = 0.0, ww = 0.0
        for c in 0..<conv.inChannels { for kh in 0..<k { for kw in 0..<k {
            let iy = y * st - p + kh, ix = xo * st - p + kw
            let wv = Double(w[((o * conv.inChannels + c) * k + kh) * k + kw])
            ww += wv * wv
            guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
            let xv = Double(x[((c * s.batch + n) * s.height + iy) * s.width + ix])
            u += wv * xv; xx += xv * xv
        } } }
        let c = min(1 - 1e-6, max(-1 + 1e-6, u / ((ww + 1e-4).squareRoot() * (xx + 1e-4).squareRoot())))
        let theta = acos(c)
        var g: Double
        switch conv.variant {
        case .conv: g = u
        case .cosine: g = c
        case .linear: g = 1 - 2 * theta / .pi
        case .sigmoid(let kk):
            g = tanh((Double.pi / 2 - theta) / (2 * Double(kk))) / tanh(Double.pi / (4 * Double(kk)))
        case .learnableSigmoid:
            let kk = Double(abs(conv.kRaw!.value[o]) + 0.05)
            g = tanh((Double.pi / 2 - theta) / (2 * kk)) / tanh(Double.pi / (4 * kk))
        }
        out[((o * s.batch + n) * oh + y) * ow + xo] = g
    } } } }
    return out
}

@Suite struct ConvolutionTests {
    @Test(arguments: convCases)
    func forwardMatchesDirectLoops(_ c: ConvGeometryCase) {
        for variant in variantsUnderTest {
            for chunk in [1 << 22, 1] {   // one chunk, and one image per chunk
                let conv = makeConv(c, variant: variant, chunk: chunk)
                var rng = TestRandom(11)
                let shape = Shape(channels: c.inC, batch: c.batch, height: c.h, width: c.w)
                let x = rng.gaussians(shape.count)
                let y = conv.forward(activation(x, shape), training: true)
                let twin = referenceConv(conv, x: x, shape: shape)
                #expect(y.shape.count == twin.count)
                var worst = 0.0
                for i in 0..<twin.count { worst = max(worst, abs(Double(y.buffer[i]) - twin[i])) }
                // 4×4 Winograd tiles (images ≥ 13 a side) round more: constants up to 8 and down to 1/24.
                let tolerance = c.kernel == 3 && c.stride == 1 && c.h >= 13 && c.w >= 13 ? 6e-5 : 2e-5
                #expect(worst < tolerance, "\(c) \(variant) chunk \(chunk): max |fast − twin| = \(worst)")
            }
        }
    }

    @Test(arguments: convCases)
    func gradientsMatchFiniteDifferences(_ c: ConvGeometryCase) {
        for variant in variantsUnderTest {
            let conv = makeConv(c, variant: variant, chunk: 64)
            var rng = TestRandom(5)
            let shape = Shape(channels: c.inC, batch: c.batch, height: c.h, width: c.w)
            let bad = gradientCheck(conv, input: rng.gaussians(shape.count), shape: shape)
            #expect(bad.isEmpty, "\(c) \(variant): \(bad.prefix(5))")
        }
    }

    /// Layers wider than the fused limit run in chunks of images; the weight gradient's sums run
    /// on from chunk to chunk in tile order (sl_wino_pass_weight_grad), so one image per chunk
    /// and the whole batch in one chunk give the same bits, output and gradients alike (10×10:
    /// 25 tiles an image, so chunks end inside a vector of eight and the scalar tail runs).
    @Test(arguments: [ConvGeometryCase(inC: 104, outC: 16, kernel: 3, stride: 1, padding: 1, h: 16, w: 16, batch: 3),
                      ConvGeometryCase(inC: 136, outC: 8, kernel: 3, stride: 1, padding: 1, h: 10, w: 10, batch: 3)])
    func passesGiveTheSameBitsWhateverTheChunk(_ c: ConvGeometryCase) {
        let shape = Shape(channels: c.inC, batch: c.batch, height: c.h, width: c.w)
        var rng = TestRandom(17)
        let x = rng.gaussians(shape.count)
        func run(chunk: Int) -> (y: [Float], dx: [Float], dw: [Float]) {
            let conv = makeConv(c, variant: .conv, chunk: chunk)
            conv.needsInputGradient = true
            let y = conv.forward(activation(x, shape), training: true)
            let out = y.buffer.array
            var g = TestRandom(19)
            let dy = g.gaussians(y.shape.count)
            let dx = conv.backward(activation(dy, y.shape))?.buffer.array ?? []
            return (out, dx, conv.weight.grad.array)
        }
        let whole = run(chunk: 1 << 22), single = run(chunk: 1)
        func differing(_ a: [Float], _ b: [Float]) -> Int {
            a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
        }
        #expect(!whole.dw.isEmpty && !whole.dx.isEmpty)
        #expect(differing(whole.y, single.y) == 0, "\(c): output")
        #expect(differing(whole.dx, single.dx) == 0, "\(c): input gradient")
        #expect(differing(whole.dw, single.dw) == 0, "\(c): weight gradient")
    }

    @Test func zeroPatchGivesRightAngleAndZeroOutput() {
        let c = ConvGeometryCase(inC: 1, outC: 2, kernel: 3, stride: 1, padding: 1, h: 3, w: 3, batch: 1)
        for variant in variantsUnderTest where variant.isSphere {
            let conv = makeConv(c, variant: variant)
            let y = conv.forward(activation([Float](repeating: 0, count: 9), Shape(channels: 1, batch: 1, height: 3, width: 3)), training: true)
            #expect(y.buffer.array.allSatisfy { abs($0) < 1e-6 }, "\(variant)")
        }
    }

    @Test func switchingVariantKeepsWeightsAndCreatesK() {
        let conv = makeConv(convCases[0], variant: .cosine)
        let before = conv.weight.value.array
        #expect(conv.kRaw == nil && conv.parameters.count == 1 && !conv.weight.decays)
        conv.variant = .learnableSigmoid
        #expect(conv.kRaw?.value.array == [Float](repeating: 0.7, count: 3))
        #expect(conv.parameters.count == 2)
        conv.variant = .conv
        #expect(conv.parameters.count == 1 && conv.savedParameters.count == 2 && conv.weight.decays)
        #expect(conv.weight.value.array == before)
    }

    @Test func variantNamesParse() throws {
        #expect(try ConvVariant(parsing: "sigmoid:0.1") == .sigmoid(k: 0.1))
        #expect(try ConvVariant(parsing: "lr-sigmoid") == .learnableSigmoid)
        #expect(throws: EngineError.self) { try ConvVariant(parsing: "sigmoid:-1") }
        #expect(throws: EngineError.self) { try ConvVariant(parsing: "cosh") }
        #expect(ConvVariant.conv.next == .cosine && ConvVariant.learnableSigmoid.next == .conv)
    }
}

@Suite struct KernelTwinTests {
    @Test func im2colMatchesTwinAndCol2imIsItsAdjoint() {
        for c in convCases + [.init(inC: 2, outC: 1, kernel: 3, stride: 2, padding: 1, h: 1, w: 2, batch: 2),
                              .init(inC: 1, outC: 1, kernel: 5, stride: 3, padding: 2, h: 7, w: 9, batch: 3)] {
            let g = ConvGeometry(inChannels: c.inC, inHeight: c.h, inWidth: c.w, kernel: c.kernel, stride: c.stride, padding: c.padding)
            var rng = TestRandom(2)
            let x = rng.gaussians(c.inC * c.batch * c.h * c.w)
            for (first, count) in [(0, c.batch), (1, c.batch - 1)] {
                let n = g.patchSize * count * g.outHeight * g.outWidth
                var fast = [Float](repeating: .nan, count: n), slow = [Float](repeating: .nan, count: n)
                x.withUnsafeBufferPointer { xp in
                    im2col(xp.baseAddress!, batch: c.batch, geometry: g, firstImage: first, count: count, col: &fast)
                    referenceIm2col(xp.baseAddress!, batch: c.batch, geometry: g, firstImage: first, count: count, col: &slow)
                }
                #expect(fast == slow, "\(c) first \(first)")
                // <im2col(x), y> = <x, col2im(y)>
                let y = rng.gaussians(n)
                var back = [Float](repeating: 0, count: x.count)
                y.withUnsafeBufferPointer { yp in
                    col2im(yp.baseAddress!, batch: c.batch, geometry: g, firstImage: first, count: count, dx: &back)
                }
                var lhs = 0.0, rhs = 0.0
                for i in 0..<n { lhs += Double(fast[i]) * Double(y[i]) }
                for i in 0..<x.count { rhs += Double(x[i]) * Double(back[i]) }
                #expect(abs(lhs - rhs) < 1e-4 * max(1, abs(lhs)), "\(c): \(lhs) vs \(rhs)")
            }
        }
    }

    /// The patch norms SphereConv takes from the input (per-pixel Σ_c x², summed per window)
    /// equal the column sums of squares of the patch matrix, and `windowSpread` is the adjoint.
    @Test func windowSumsGiveThePatchNormsAndSpreadIsTheAdjoint() {
        for c in convCases + [.init(inC: 2, outC: 1, kernel: 3, stride: 2, padding: 1, h: 1, w: 2, batch: 2),
                              .init(inC: 1, outC: 1, kernel: 5, stride: 3, padding: 2, h: 7, w: 9, batch: 3)] {
            let g = ConvGeometry(inChannels: c.inC, inHeight: c.h, inWidth: c.w, kernel: c.kernel, stride: c.stride, padding: c.padding)
            var rng = TestRandom(5)
            let pixels = c.batch * c.h * c.w, positions = c.batch * g.outHeight * g.outWidth
            let x = rng.gaussians(c.inC * pixels)
            var perPixel = [Float](repeating: 0, count: pixels)
            for ch in 0..<c.inC { for i in 0..<pixels { perPixel[i] += x[ch * pixels + i] * x[ch * pixels + i] } }
            var sums = [Float](repeating: .nan, count: positions)
            perPixel.withUnsafeBufferPointer { windowSums($0.baseAddress!, batch: c.batch, geometry: g, into: &sums) }
            var cols = [Float](repeating: .nan, count: g.patchSize * positions)
            x.withUnsafeBufferPointer { referenceIm2col($0.baseAddress!, batch: c.batch, geometry: g, firstImage: 0, count: c.batch, col: &cols) }
            for m in 0..<positions {
                var exact = 0.0
                for r in 0..<g.patchSize { exact += Double(cols[r * positions + m]) * Double(cols[r * positions + m]) }
                // Float sums of patchSize positive terms in two orders: a few ulp per term.
                #expect(abs(Double(sums[m]) - exact) <= 1e-6 * Double(g.patchSize) * exact + 1e-30, "\(c) position \(m)")
            }
            // <windowSums(s), a> = <s, windowSpread(a)>
            let a = rng.gaussians(positions)
            var spread = [Float](repeating: .nan, count: pixels)
            a.withUnsafeBufferPointer { windowSpread($0.baseAddress!, batch: c.batch, geometry: g, into: &spread) }
            var lhs = 0.0, rhs = 0.0
            for m in 0..<positions { lhs += Double(sums[m]) * Double(a[m]) }
            for i in 0..<pixels { rhs += Double(perPixel[i]) * Double(spread[i]) }
            #expect(abs(lhs - rhs) < 1e-4 * max(1, abs(lhs)), "\(c): \(lhs) vs \(rhs)")
        }
    }

    /// The SIMD plane reductions against double-precision sums, including the scalar tails.
    @Test func planeReductionsMatchDoublePrecision() {
        var rng = TestRandom(21)
        for n in [0, 1, 7, 8, 9, 29, 1000, 4099] {
            let a = rng.gaussians(n).map { $0 + 0.5 }, b = rng.gaussians(n)
            var sum = 0.0, dot = 0.0, magnitude = 0.0, dotMagnitude = 0.0
            for i in 0..<n {
                sum += Double(a[i]); magnitude += abs(Double(a[i]))
                dot += Double(a[i]) * Double(b[i]); dotMagnitude += abs(Double(a[i]) * Double(b[i]))
            }
            let mean = n > 0 ? Float(sum / Double(n)) : 0
            var squares = 0.0
            for i in 0..<n { let d = Double(a[i]) - Double(mean); squares += d * d }
            // Float sums of n terms: error ≤ n·ε·Σ|terms| (a loose bound; typical errors are far smaller).
            let bound = { (scale: Double) in Double(max(n, 1)) * 1.2e-7 * scale + 1e-30 }
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                let (ab, bb) = (ap.baseAddress ?? UnsafePointer(bitPattern: 8)!, bp.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                #expect(abs(Double(planeSum(ab, count: n)) - sum) <= bound(magnitude), "sum n \(n)")
                #expect(abs(Double(planeSquaredDeviations(ab, count: n, center: mean)) - squares) <= bound(squares), "squares n \(n)")
                let (d, s) = planeDotAndSum(ab, bb, count: n)
                #expect(abs(Double(d) - dot) <= bound(dotMagnitude), "dot n \(n)")
                #expect(abs(Double(s) - sum) <= bound(magnitude), "sum of a, n \(n)")
                // Σ b·(a − mean): BatchNorm's centred dot product.
                var centred = 0.0, centredMagnitude = 0.0
                for i in 0..<n { let t = Double(b[i]) * (Double(a[i]) - Double(mean)); centred += t; centredMagnitude += abs(t) }
                let (cd, cs) = planeCentredDotAndSum(bb, ab, count: n, center: mean)
                #expect(abs(Double(cd) - centred) <= bound(centredMagnitude) * 2, "centred dot n \(n)")
                var bSum = 0.0, bMagnitude = 0.0
                for i in 0..<n { bSum += Double(b[i]); bMagnitude += abs(Double(b[i])) }
                #expect(abs(Double(cs) - bSum) <= bound(bMagnitude), "sum of b, n \(n)")
            } }
        }
    }

    @Test func parallelSgemmMatchesTwinWhicheverWayItSplits() {
        var rng = TestRandom(10)
        // (m, n, k): split along n, along m, and too small to split.
        for (m, n, k) in [(7, 300, 5), (300, 9, 4), (3, 5, 6), (130, 129, 3)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = rng.gaussians(m * k), b = rng.gaussians(k * n)
                var c1 = rng.gaussians(m * n), c2 = c1
                parallelSgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n,
                              beta: 1, c: &c1, ldc: n)
                referenceGemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n,
                              beta: 1, c: &c2, ldc: n)
                var worst: Float = 0
                for i in 0..<(m * n) { worst = max(worst, abs(c1[i] - c2[i])) }
                #expect(worst < 1e-4, "\(m)×\(n)×\(k) trans \(ta) \(tb): \(worst)")
            }
        }
    }

    @Test func sgemmMatchesTwin() {
        var rng = TestRandom(9)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = 5, n = 7, k = 6
            let a = rng.gaussians(m * k), b = rng.gaussians(k * n)
            var c1 = rng.gaussians(m * n), c2 = c1
            sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n,
                  beta: 2, c: &c1, ldc: n)
            referenceGemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n,
                          beta: 2, c: &c2, ldc: n)
            for i in 0..<(m * n) { #expect(abs(c1[i] - c2[i]) < 1e-4, "trans \(ta) \(tb) at \(i)") }
        }
    }
}
