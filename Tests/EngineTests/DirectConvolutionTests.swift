// The direct 3×3 convolution for inputs with few channels (CKernels sl_direct3x3.h) against its
// slow obvious twin, direct loops in Double, on every instruction set this machine runs: rows of
// a multiple of eight, with a tail (the last vector overlapping), narrower than eight (scalar),
// output channels in fours with and without leftovers; the fold applied as it writes; the
// weight gradient summed over image ranges; and the layer's gradients by finite differences.
import CKernels
import Testing
@testable import Engine

fileprivate let directISAs: [Int32] = [Int32(SL_ISA_PORTABLE), Int32(SL_ISA_AVX2_FMA), Int32(SL_ISA_AVX512)]
    .filter { sl_kernels_table($0) != nil }

struct DirectCase: CustomStringConvertible, Sendable {
    var ic: Int, oc: Int, h: Int, w: Int, batch: Int
    var description: String { "\(ic)→\(oc) \(h)×\(w) N\(batch)" }
}

fileprivate let directCases: [DirectCase] = [
    .init(ic: 1, oc: 8, h: 28, w: 28, batch: 3),   // Fashion-MNIST: a tail of four
    .init(ic: 3, oc: 6, h: 32, w: 32, batch: 2),   // CIFAR: whole vectors, two channels left over
    .init(ic: 1, oc: 5, h: 14, w: 14, batch: 2),
    .init(ic: 4, oc: 4, h: 9, w: 9, batch: 2),     // a tail of one
    .init(ic: 2, oc: 7, h: 8, w: 8, batch: 1),     // one vector a row
    .init(ic: 3, oc: 4, h: 5, w: 7, batch: 3),     // narrower than a vector: scalar
]

fileprivate struct DirectProblem {
    let c: DirectCase
    let x: [Float], weights: [Float], padded: [Float]

    init(_ c: DirectCase, seed: UInt64) {
        self.c = c
        var rng = TestRandom(seed)
        x = rng.gaussians(c.ic * c.batch * c.h * c.w)
        weights = rng.gaussians(c.oc * c.ic * 9, scale: 0.4)
        var p = [Float](repeating: .nan, count: c.ic * c.batch * (c.h + 2) * (c.w + 2))
        sl_direct_pad(x, Int32(c.batch), Int32(c.h), Int32(c.w), 0, Int32(c.ic), &p)
        padded = p
    }

    func input(_ ch: Int, _ n: Int, _ y: Int, _ x0: Int) -> Double {
        guard y >= 0, y < c.h, x0 >= 0, x0 < c.w else { return 0 }
        return Double(x[((ch * c.batch + n) * c.h + y) * c.w + x0])
    }

    func reference() -> [Double] {
        var y = [Double](repeating: 0, count: c.oc * c.batch * c.h * c.w)
        for o in 0..<c.oc { for n in 0..<c.batch { for oy in 0..<c.h { for ox in 0..<c.w {
            var s = 0.0
            for ch in 0..<c.ic { for kh in 0..<3 { for kw in 0..<3 {
                s += Double(weights[((o * c.ic + ch) * 3 + kh) * 3 + kw]) * input(ch, n, oy - 1 + kh, ox - 1 + kw)
            } } }
            y[((o * c.batch + n) * c.h + oy) * c.w + ox] = s
        } } } }
        return y
    }

    func referenceGradient(_ dy: [Float], images: Range<Int>) -> [Double] {
        var g = [Double](repeating: 0, count: c.oc * c.ic * 9)
        for o in 0..<c.oc { for ch in 0..<c.ic { for kh in 0..<3 { for kw in 0..<3 {
            var s = 0.0
            for n in images { for oy in 0..<c.h { for ox in 0..<c.w {
                s += Double(dy[((o * c.batch + n) * c.h + oy) * c.w + ox]) * input(ch, n, oy - 1 + kh, ox - 1 + kw)
            } } }
            g[((o * c.ic + ch) * 3 + kh) * 3 + kw] = s
        } } } }
        return g
    }
}

@Suite struct DirectConvolutionTests {
    @Test func paddingPutsZerosAroundEachImage() {
        let p = DirectProblem(DirectCase(ic: 2, oc: 1, h: 3, w: 4, batch: 2), seed: 1)
        let pw = 6, ph = 5
        for ch in 0..<2 { for n in 0..<2 { for y in 0..<ph { for x in 0..<pw {
            let v = p.padded[((ch * 2 + n) * ph + y) * pw + x]
            #expect(Float(p.input(ch, n, y - 1, x - 1)) == v, "channel \(ch) image \(n) at \(y), \(x)")
        } } } }
    }

    @Test(arguments: directISAs, directCases)
    func forwardMatchesDirectLoops(isa: Int32, c: DirectCase) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        let p = DirectProblem(c, seed: 17)
        let expected = p.reference()
        var y = [Float](repeating: 12345.5, count: expected.count)
        // Two calls over image ranges, as two workers would split them.
        let half = c.batch / 2
        for r in [0..<half, half..<c.batch] {
            table.direct3x3_forward(p.padded, Int32(c.batch), Int32(c.h), Int32(c.w), Int32(c.ic), Int32(c.oc), p.weights,
                                    Int32(r.lowerBound), Int32(r.upperBound), nil, &y)
        }
        let worst = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 2e-5, "\(c): largest error \(worst)")

        // The fold: each output channel scaled, shifted and clipped exactly as BatchNorm2D does.
        var rng = TestRandom(4)
        let scale = (0..<c.oc).map { _ in rng.uniform(-1.5, 1.5) }, shift = (0..<c.oc).map { _ in rng.uniform(-0.5, 0.5) }
        var folded = [Float](repeating: 12345.5, count: expected.count)
        scale.withUnsafeBufferPointer { s in shift.withUnsafeBufferPointer { t in
            var post = sl_output_epilogue(scale: s.baseAddress, shift: t.baseAddress, relu: 1, pooled: nil, minus_x: nil, spread: nil,
                                          inv_w: nil, inv_x: nil)
            table.direct3x3_forward(p.padded, Int32(c.batch), Int32(c.h), Int32(c.w), Int32(c.ic), Int32(c.oc), p.weights,
                                    0, Int32(c.batch), &post, &folded)
        } }
        let plane = c.batch * c.h * c.w
        var apart = y
        for o in 0..<c.oc {
            apart.withUnsafeMutableBufferPointer { b in
                let row = b.baseAddress! + o * plane
                BatchNorm2D.scaleAndShift(row, into: row, count: plane, scale: scale[o], shift: shift[o], relu: true)
            }
        }
        #expect(folded.map(\.bitPattern) == apart.map(\.bitPattern), "\(c): fold differs from the separate pass")
    }

    @Test(arguments: directISAs, directCases)
    func weightGradientMatchesDirectLoops(isa: Int32, c: DirectCase) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        let p = DirectProblem(c, seed: 29)
        var rng = TestRandom(31)
        let dy = rng.gaussians(c.oc * c.batch * c.h * c.w)
        for images in [0..<c.batch, (c.batch - 1)..<c.batch] {
            var dw = [Float](repeating: .nan, count: c.oc * c.ic * 9)
            table.direct3x3_weight_grad(p.padded, dy, Int32(c.batch), Int32(c.h), Int32(c.w), Int32(c.ic), Int32(c.oc),
                                        Int32(images.lowerBound), Int32(images.upperBound), &dw)
            let expected = p.referenceGradient(dy, images: images)
            let scale = expected.map(abs).max() ?? 1
            let worst = zip(dw, expected).map { abs(Double($0) - $1) }.max() ?? .nan
            #expect(worst <= 1e-5 * max(1, scale), "\(c) images \(images): largest error \(worst) of \(scale)")
        }
    }

    /// Through the layer: a first layer (no input gradient) runs the direct kernels both ways;
    /// its weight gradient by finite differences, for plain convolution and a SphereConv.
    @Test(arguments: [ConvVariant.conv, .cosine, .sigmoid(k: 0.3)])
    func firstLayerGradientsMatchFiniteDifferences(_ variant: ConvVariant) {
        let c = ConvGeometryCase(inC: 3, outC: 5, kernel: 3, stride: 1, padding: 1, h: 9, w: 10, batch: 2)
        let conv = makeConv(c, variant: variant)
        conv.needsInputGradient = false
        var rng = TestRandom(8)
        let shape = Shape(channels: 3, batch: 2, height: 9, width: 10)
        let bad = gradientCheck(conv, input: rng.gaussians(shape.count), shape: shape)
        #expect(bad.isEmpty, "\(variant.name): \(bad.prefix(5))")
    }
}
