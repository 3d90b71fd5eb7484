// The fused Winograd convolution (CKernels sl_wino_fused.h, 2×2 tiles, and sl_wino4_fused.h, 4×4
// tiles) against its slow obvious twin, direct 3×3 'same' loops in Double, on every instruction set
// this machine runs: sides that leave partial tiles, channel counts that leave row tails in the
// 4-row kernel, tile counts that leave column padding, rows of tiles run scalar, by vectors of
// four and of eight (the last overlapping), several blocks per call; and bit-identical results
// however the tile rows are split.
import CKernels
import Foundation
import Testing

fileprivate let fusedISAs: [Int32] = [Int32(SL_ISA_PORTABLE), Int32(SL_ISA_AVX2_FMA), Int32(SL_ISA_AVX512)]
    .filter { sl_kernels_table($0) != nil }

struct FusedWinogradCase: CustomStringConvertible, Sendable {
    var ic: Int, oc: Int, h: Int, w: Int, batch: Int
    /// Output tile side: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3)).
    var tile = 2
    var description: String { "\(ic)→\(oc) \(h)×\(w) N\(batch) \(tile)×\(tile)" }
    var transforms: Int { (tile + 2) * (tile + 2) }
    var tileRows: Int { batch * ((h + tile - 1) / tile) }
    /// Tolerances against Double loops: F(4×4, 3×3)'s constants (up to 8, down to 1/24) round more,
    /// and the rounding of a sum over more input channels grows with their number (7.5e-5 at 128
    /// channels without FMA).
    var forwardTolerance: Double { tile == 4 ? 6e-5 * max(1, Double(ic) / 96) : 2e-5 }
    var gradientTolerance: Double { tile == 4 ? 1e-5 : 2e-6 }
}

fileprivate let fusedCases: [FusedWinogradCase] = [
    .init(ic: 1, oc: 5, h: 3, w: 3, batch: 1),
    .init(ic: 8, oc: 9, h: 5, w: 6, batch: 3),
    .init(ic: 9, oc: 13, h: 7, w: 7, batch: 2),
    .init(ic: 32, oc: 32, h: 28, w: 28, batch: 2),   // six blocks of five tile rows, the last partial
    .init(ic: 48, oc: 64, h: 7, w: 7, batch: 5),
    .init(ic: 64, oc: 48, h: 14, w: 13, batch: 2),
    .init(ic: 8, oc: 12, h: 9, w: 8, batch: 3),               // four tiles a row: pairs of tile rows across images
    .init(ic: 8, oc: 9, h: 5, w: 6, batch: 3, tile: 4),       // two tiles a row: scalar
    .init(ic: 9, oc: 13, h: 13, w: 13, batch: 2, tile: 4),    // four a row: one vector of four
    .init(ic: 32, oc: 32, h: 28, w: 28, batch: 2, tile: 4),   // seven: two overlapping vectors of four
    .init(ic: 16, oc: 8, h: 17, w: 35, batch: 2, tile: 4),    // nine: two overlapping vectors of eight
    .init(ic: 48, oc: 64, h: 7, w: 7, batch: 5, tile: 4),
    .init(ic: 64, oc: 48, h: 14, w: 13, batch: 2, tile: 4),
    .init(ic: 96, oc: 80, h: 14, w: 14, batch: 1, tile: 4),   // the widest fused layers (fmnist-w0.5)
    .init(ic: 8, oc: 12, h: 15, w: 16, batch: 3, tile: 4),    // four a row, no partial tile: pairs of tile rows
    .init(ic: 16, oc: 8, h: 13, w: 14, batch: 3, tile: 4),    // pairs across images, a spill past the 14th column
    .init(ic: 128, oc: 120, h: 7, w: 7, batch: 2),            // the widest fused 2×2-tile layers (fmnist-w0.5)
    .init(ic: 128, oc: 128, h: 7, w: 7, batch: 5, tile: 4),   // two tiles a row: quads of tile rows, two blocks
    .init(ic: 16, oc: 8, h: 7, w: 5, batch: 7, tile: 4),      // quads across images, two rows left over
]

/// y (oc, batch, h, w) = x ⋆ g, 3×3, stride 1, padding 1, summed in Double.
fileprivate func directConvolution(_ x: [Float], _ g: [Float], _ c: FusedWinogradCase) -> [Double] {
    var y = [Double](repeating: 0, count: c.oc * c.batch * c.h * c.w)
    for o in 0..<c.oc { for n in 0..<c.batch { for oy in 0..<c.h { for ox in 0..<c.w {
        var sum = 0.0
        for ch in 0..<c.ic { for kh in 0..<3 { for kw in 0..<3 {
            let iy = oy - 1 + kh, ix = ox - 1 + kw
            guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
            sum += Double(g[((o * c.ic + ch) * 3 + kh) * 3 + kw]) * Double(x[((ch * c.batch + n) * c.h + iy) * c.w + ix])
        } } }
        y[((o * c.batch + n) * c.h + oy) * c.w + ox] = sum
    } } } }
    return y
}

fileprivate struct FusedProblem {
    let c: FusedWinogradCase
    let x: [Float], g: [Float], u: [Float]
    var rows: Int { c.tileRows }

    init(_ c: FusedWinogradCase, seed: UInt64) {
        self.c = c
        var rng = TestRandom(seed)
        x = (0..<(c.ic * c.batch * c.h * c.w)).map { _ in rng.nextGaussian() }
        let std = (2.0 / Float(9 * c.ic)).squareRoot()
        g = (0..<(c.oc * c.ic * 9)).map { _ in rng.nextGaussian() * std }
        var u = [Float](repeating: 0, count: c.transforms * c.oc * c.ic)
        if c.tile == 4 { sl_wino4_weights(g, Int32(c.oc), Int32(c.ic), 0, &u) } else { sl_wino_weights(g, Int32(c.oc), Int32(c.ic), 0, &u) }
        self.u = u
    }

    /// Runs the kernel of `table` over the tile-row ranges `splits` (each with fresh scratch)
    /// into an output prefilled with a sentinel.
    func run(_ table: sl_kernel_table, splits: [Range<Int>]) -> [Float] {
        var y = [Float](repeating: 12345.5, count: c.oc * c.batch * c.h * c.w)
        let four = c.tile == 4
        let scratchCount = Int((four ? table.wino4_fused_scratch : table.wino_fused_scratch)!(Int32(c.ic), Int32(c.oc), Int32(c.w)))
        let rows = (four ? table.wino4_fused_rows : table.wino_fused_rows)!
        for r in splits {
            var scratch = [Float](repeating: .nan, count: scratchCount)
            rows(x, Int32(c.batch), Int32(c.h), Int32(c.w), Int32(c.ic), Int32(c.oc), u,
                 Int32(r.lowerBound), Int32(r.upperBound), nil, &scratch, &y)
        }
        return y
    }
}

/// dW (oc, ic, 3, 3) = Σ over images and pixels of dy · the input under each tap, in Double.
fileprivate func directWeightGradient(_ x: [Float], _ dy: [Float], _ c: FusedWinogradCase) -> [Double] {
    var g = [Double](repeating: 0, count: c.oc * c.ic * 9)
    for o in 0..<c.oc { for ch in 0..<c.ic { for kh in 0..<3 { for kw in 0..<3 {
        var sum = 0.0
        for n in 0..<c.batch { for oy in 0..<c.h { for ox in 0..<c.w {
            let iy = oy - 1 + kh, ix = ox - 1 + kw
            guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
            sum += Double(dy[((o * c.batch + n) * c.h + oy) * c.w + ox]) * Double(x[((ch * c.batch + n) * c.h + iy) * c.w + ix])
        } } }
        g[((o * c.ic + ch) * 3 + kh) * 3 + kw] = sum
    } } } }
    return g
}

/// The fused weight gradient needs ic a multiple of 8; oc 9 and 5 leave row tails.
fileprivate let fusedGradientCases: [FusedWinogradCase] = [
    .init(ic: 8, oc: 9, h: 5, w: 6, batch: 3),
    .init(ic: 16, oc: 5, h: 13, w: 14, batch: 2),
    .init(ic: 32, oc: 32, h: 28, w: 28, batch: 2),
    .init(ic: 48, oc: 64, h: 7, w: 7, batch: 5),
    .init(ic: 8, oc: 12, h: 9, w: 8, batch: 3),               // pairs of tile rows across images
    .init(ic: 8, oc: 9, h: 5, w: 6, batch: 3, tile: 4),
    .init(ic: 16, oc: 5, h: 13, w: 14, batch: 2, tile: 4),
    .init(ic: 32, oc: 32, h: 28, w: 28, batch: 2, tile: 4),
    .init(ic: 48, oc: 64, h: 7, w: 7, batch: 5, tile: 4),
    .init(ic: 16, oc: 8, h: 17, w: 35, batch: 1, tile: 4),
    .init(ic: 96, oc: 88, h: 14, w: 14, batch: 1, tile: 4),
    .init(ic: 8, oc: 12, h: 15, w: 16, batch: 3, tile: 4),    // pairs of tile rows, across images
    .init(ic: 128, oc: 120, h: 7, w: 7, batch: 5, tile: 4),   // quads of tile rows, two blocks
    .init(ic: 16, oc: 8, h: 7, w: 5, batch: 7, tile: 4),      // quads across images, two rows left over
]

/// Runs the fused weight gradient over `splits` in turn, accumulating into one [T][oc][ic].
fileprivate func fusedTransformedGradient(_ table: sl_kernel_table, _ c: FusedWinogradCase, x: [Float], dy: [Float],
                                          splits: [Range<Int>]) -> [Float] {
    var du = [Float](repeating: 0, count: c.transforms * c.oc * c.ic)
    let four = c.tile == 4
    let scratchCount = Int((four ? table.wino4_fused_scratch : table.wino_fused_scratch)!(Int32(c.ic), Int32(c.oc), Int32(c.w)))
    let gradient = (four ? table.wino4_fused_weight_grad_rows : table.wino_fused_weight_grad_rows)!
    for r in splits {
        var scratch = [Float](repeating: .nan, count: scratchCount)
        gradient(x, dy, Int32(c.batch), Int32(c.h), Int32(c.w), Int32(c.ic), Int32(c.oc),
                 Int32(r.lowerBound), Int32(r.upperBound), 1, &scratch, &du)
    }
    return du
}

@Suite("Fused Winograd weight gradient")
struct WinogradFusedGradientTests {
    @Test(arguments: fusedISAs, fusedGradientCases)
    func matchesDirectLoopsAndSplitsGiveIdenticalBits(isa: Int32, c: FusedWinogradCase) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        var rng = TestRandom(41)
        let x = (0..<(c.ic * c.batch * c.h * c.w)).map { _ in rng.nextGaussian() }
        let dy = (0..<(c.oc * c.batch * c.h * c.w)).map { _ in rng.nextGaussian() }
        let rows = c.tileRows
        let du = fusedTransformedGradient(table, c, x: x, dy: dy, splits: [0..<rows])
        var dw = [Float](repeating: 0, count: c.oc * c.ic * 9)
        if c.tile == 4 { sl_wino4_weight_grad(du, Int32(c.oc), Int32(c.ic), &dw) } else { sl_wino_weight_grad(du, Int32(c.oc), Int32(c.ic), &dw) }
        let twin = directWeightGradient(x, dy, c)
        let scale = twin.map(abs).max() ?? 1
        var worst = 0.0
        for i in 0..<twin.count { worst = max(worst, abs(Double(dw[i]) - twin[i])) }
        // Sums of up to 1 568 products of unit Gaussians: relative to the largest entry.
        #expect(worst / scale < c.gradientTolerance, "\(c) isa \(isa): max |fused − direct| = \(worst) (largest \(scale))")
        // One chain of FMAs per element in tile order, so cutting the rows anywhere gives the same bits.
        let a = rows / 3, b = min(rows, (2 * rows) / 3 + 1)
        let split = fusedTransformedGradient(table, c, x: x, dy: dy, splits: [0..<a, a..<b, b..<rows])
        #expect(du.map(\.bitPattern) == split.map(\.bitPattern), "\(c) isa \(isa)")
        // Without accumulate the call writes du: over garbage, the same bits as adding to zeros.
        var written = [Float](repeating: .nan, count: du.count)
        let four = c.tile == 4
        var scratch = [Float](repeating: .nan, count: Int((four ? table.wino4_fused_scratch : table.wino_fused_scratch)!(
            Int32(c.ic), Int32(c.oc), Int32(c.w))))
        (four ? table.wino4_fused_weight_grad_rows : table.wino_fused_weight_grad_rows)!(
            x, dy, Int32(c.batch), Int32(c.h), Int32(c.w), Int32(c.ic), Int32(c.oc), 0, Int32(rows), 0, &scratch, &written)
        #expect(du.map(\.bitPattern) == written.map(\.bitPattern), "\(c) isa \(isa): writing differs from adding to zeros")
    }
}

@Suite("Fused Winograd convolution")
struct WinogradFusedTests {
    @Test(arguments: fusedISAs, fusedCases)
    func matchesDirectLoops(isa: Int32, c: FusedWinogradCase) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        let p = FusedProblem(c, seed: 17)
        let y = p.run(table, splits: [0..<p.rows])
        let twin = directConvolution(p.x, p.g, c)
        var worst = 0.0
        for i in 0..<twin.count { worst = max(worst, abs(Double(y[i]) - twin[i])) }
        // Outputs are O(1) (He-scaled weights); Winograd's extra rounding stays near 1e-6.
        #expect(worst < c.forwardTolerance, "\(c) isa \(isa): max |fused − direct| = \(worst)")
    }

    @Test(arguments: fusedISAs, fusedCases)
    func rowSplitsGiveIdenticalBitsAndTouchOnlyTheirRows(isa: Int32, c: FusedWinogradCase) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        let p = FusedProblem(c, seed: 29)
        let whole = p.run(table, splits: [0..<p.rows])
        let a = p.rows / 3, b = (2 * p.rows) / 3 + 1
        let split = p.run(table, splits: [0..<a, a..<min(b, p.rows), min(b, p.rows)..<p.rows])
        #expect(whole.map(\.bitPattern) == split.map(\.bitPattern), "\(c) isa \(isa)")
        // Only the first tile row of image 0: outputs of the other rows keep the sentinel.
        let first = p.run(table, splits: [0..<1])
        for o in 0..<c.oc { for n in 0..<c.batch { for oy in 0..<c.h { for ox in 0..<c.w {
            let i = ((o * c.batch + n) * c.h + oy) * c.w + ox
            let inside = n == 0 && oy / c.tile == 0
            if inside { #expect(first[i] == whole[i]) } else if first[i] != 12345.5 {
                Issue.record("\(c) isa \(isa): row outside the range written at \(i)"); return
            }
        } } } }
    }
}

// Images 5–7 pixels wide with 4×4 tiles: four tile rows run as vectors of eight (quads), a
// tile row alone runs in scalar code, its slow obvious twin. Each tile row on its own call
// gives every output and the weight gradient the bits of the whole range in one call.
@Suite("Fused Winograd, quads of tile rows against single rows")
struct WinogradQuadTests {
    static let cases = (fusedCases + fusedGradientCases).filter { $0.tile == 4 && (5...7).contains($0.w) && $0.tileRows >= 4 }

    @Test(arguments: fusedISAs, cases)
    func quadsGiveTheSingleRowBits(isa: Int32, c: FusedWinogradCase) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        let p = FusedProblem(c, seed: 61)
        let single = (0..<p.rows).map { $0..<($0 + 1) }
        let whole = p.run(table, splits: [0..<p.rows]), alone = p.run(table, splits: single)
        #expect(whole.allSatisfy { $0.isFinite }, "\(c) isa \(isa): forward not finite")
        #expect(differingBits(whole, alone) == 0, "\(c) isa \(isa): forward")
        guard c.ic % 8 == 0 else { return }   // the fused weight gradient needs ic a multiple of 8
        var rng = TestRandom(67)
        let x = (0..<(c.ic * c.batch * c.h * c.w)).map { _ in rng.nextGaussian() }
        let dy = (0..<(c.oc * c.batch * c.h * c.w)).map { _ in rng.nextGaussian() }
        let a = fusedTransformedGradient(table, c, x: x, dy: dy, splits: [0..<p.rows])
        let b = fusedTransformedGradient(table, c, x: x, dy: dy, splits: single)
        #expect(a.allSatisfy { $0.isFinite }, "\(c) isa \(isa): weight gradient not finite")
        #expect(differingBits(a, b) == 0, "\(c) isa \(isa): weight gradient")
    }

    private func differingBits(_ a: [Float], _ b: [Float]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }
}

// The AVX-512 copy's product kernel (16-float vectors, eight rows at a time) computes each element
// as the AVX2 kernel does, one chain of FMAs over the input channels in order: forward and weight
// gradient give the AVX2 bits, over row counts that leave its 8-row and 16-column remainders.
@Suite("Fused Winograd, AVX-512 against AVX2")
struct WinogradFusedAVX512Tests {
    @Test(arguments: fusedCases.filter { $0.ic % 8 == 0 })
    func givesTheAVX2Bits(c: FusedWinogradCase) throws {
        guard let wide = sl_kernels_table(Int32(SL_ISA_AVX512)), let narrow = sl_kernels_table(Int32(SL_ISA_AVX2_FMA))
        else { return }   // this CPU runs no AVX-512: nothing to compare
        let p = FusedProblem(c, seed: 53)
        let a = p.run(narrow.pointee, splits: [0..<p.rows]), b = p.run(wide.pointee, splits: [0..<p.rows])
        // Counts, not the arrays: a failing comparison of arrays this long takes the test
        // framework minutes to describe.
        #expect(differingBits(a, b) == 0, "\(c): forward")
        var rng = TestRandom(59)
        let x = (0..<(c.ic * c.batch * c.h * c.w)).map { _ in rng.nextGaussian() }
        let dy = (0..<(c.oc * c.batch * c.h * c.w)).map { _ in rng.nextGaussian() }
        let rows = c.tileRows
        let da = fusedTransformedGradient(narrow.pointee, c, x: x, dy: dy, splits: [0..<rows])
        let db = fusedTransformedGradient(wide.pointee, c, x: x, dy: dy, splits: [0..<rows])
        #expect(differingBits(da, db) == 0, "\(c): weight gradient")
    }

    private func differingBits(_ a: [Float], _ b: [Float]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }
}
