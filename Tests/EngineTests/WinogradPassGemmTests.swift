// The products of the Winograd passes (CKernels sl_wino_pass_gemm: column panels by the fused
// blocks' register-tiled kernel, scalar chains for the last 1–7 columns) against a slow obvious
// twin summed in Double, on every instruction set this machine runs: row counts that leave a
// remainder below 8, column counts that leave 16-, 8- and 1–7-column tails and cross panels,
// a row stride wider than the columns. AVX-512 and AVX2 give the same bits (one FMA chain per
// element), and m is written without being read (it starts as NaN). The same for the weight
// gradient's products (sl_wino_pass_weight_grad: du (+)= d · vᵀ through transposed panels of v):
// tile counts that cross panels and leave a scalar tail, written fresh or added to du.
import CKernels
import Testing

struct WinogradPassGemmTests {
    struct Case: CustomStringConvertible, Sendable {
        var rows: Int, k: Int, cols: Int, ld: Int
        var description: String { "\(rows)×\(k) · \(k)×\(cols) (ld \(ld))" }
    }

    static let cases: [Case] = [
        .init(rows: 1, k: 1, cols: 1, ld: 1),
        .init(rows: 7, k: 5, cols: 13, ld: 16),       // rows and columns below one group
        .init(rows: 9, k: 33, cols: 40, ld: 40),      // 16 + 16 + 8 columns, a ninth row
        .init(rows: 16, k: 64, cols: 300, ld: 312),   // two panels, a 44-column second one
        .init(rows: 24, k: 128, cols: 517, ld: 517),  // three panels, a 5-column scalar tail
    ]

    static let isas: [Int32] = [Int32(SL_ISA_PORTABLE), Int32(SL_ISA_AVX2_FMA), Int32(SL_ISA_AVX512)]
        .filter { sl_kernels_table($0) != nil }

    static func operands(_ c: Case) -> (u: [Float], v: [Float]) {
        var rng = TestRandom(UInt64(c.rows * 1000 + c.cols))
        return (rng.gaussians(c.rows * c.k), rng.gaussians(c.k * c.ld))
    }

    static func run(_ table: sl_kernel_table, _ c: Case, u: [Float], v: [Float]) -> [Float] {
        var m = [Float](repeating: .nan, count: c.rows * c.ld)
        table.wino_pass_gemm(u, Int32(c.rows), Int32(c.k), v, Int32(c.ld), Int32(c.cols), &m)
        return m
    }

    @Test(arguments: isas, cases)
    func matchesDoubleSums(isa: Int32, c: Case) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        let (u, v) = Self.operands(c)
        let m = Self.run(table, c, u: u, v: v)
        var worst = 0.0, bad = 0
        for r in 0..<c.rows {
            for t in 0..<c.ld {
                let got = Double(m[r * c.ld + t])
                if t >= c.cols {   // beyond cols: never written
                    if !got.isNaN { bad += 1 }
                    continue
                }
                if !got.isFinite {   // unwritten (NaN) or overflowed
                    bad += 1
                    continue
                }
                var sum = 0.0, scale = 0.0
                for i in 0..<c.k {
                    let p = Double(u[r * c.k + i]) * Double(v[i * c.ld + t])
                    sum += p; scale += abs(p)
                }
                worst = max(worst, abs(got - sum) / max(scale, 1e-30))
            }
        }
        #expect(bad == 0, "\(c): \(bad) elements unwritten, or written past the columns")
        // One float rounding per multiply-add, relative to the sum of magnitudes.
        #expect(worst <= Double(c.k) * 1.2e-7, "\(c): worst relative error \(worst)")
    }

    struct GradientCase: CustomStringConvertible, Sendable {
        var oc: Int, ic: Int, tiles: Int, ld: Int
        var description: String { "\(oc)×\(tiles) · (\(ic)×\(tiles))ᵀ (ld \(ld))" }
    }

    static let gradientCases: [GradientCase] = [
        .init(oc: 3, ic: 8, tiles: 5, ld: 5),          // the scalar tail alone
        .init(oc: 9, ic: 16, tiles: 40, ld: 48),       // one panel, a ninth row
        .init(oc: 16, ic: 24, tiles: 600, ld: 600),    // three panels, the last of 88
        .init(oc: 20, ic: 32, tiles: 517, ld: 520),    // three panels and a 5-tile tail
    ]

    static func gradient(_ table: sl_kernel_table, _ c: GradientCase, d: [Float], v: [Float], start: [Float]?) -> [Float] {
        var du = start ?? [Float](repeating: .nan, count: c.oc * c.ic)
        var vt = [Float](repeating: .nan, count: Int(sl_wino_pass_weight_grad_scratch(Int32(c.ic))))
        table.wino_pass_weight_grad(d, Int32(c.oc), Int32(c.tiles), v, Int32(c.ic), Int32(c.ld), start == nil ? 0 : 1, &vt, &du)
        return du
    }

    @Test(arguments: isas, gradientCases)
    func weightGradientMatchesDoubleSums(isa: Int32, c: GradientCase) throws {
        let table = try #require(sl_kernels_table(isa)).pointee
        var rng = TestRandom(UInt64(c.oc * 100 + c.tiles))
        let d = rng.gaussians(c.oc * c.ld), v = rng.gaussians(c.ic * c.ld), start = rng.gaussians(c.oc * c.ic)
        for accumulate in [false, true] {
            let du = Self.gradient(table, c, d: d, v: v, start: accumulate ? start : nil)
            var worst = 0.0, bad = 0
            for o in 0..<c.oc {
                for i in 0..<c.ic {
                    let got = Double(du[o * c.ic + i])
                    if !got.isFinite { bad += 1; continue }
                    var sum = accumulate ? Double(start[o * c.ic + i]) : 0, scale = abs(sum)
                    for t in 0..<c.tiles {
                        let p = Double(d[o * c.ld + t]) * Double(v[i * c.ld + t])
                        sum += p; scale += abs(p)
                    }
                    worst = max(worst, abs(got - sum) / max(scale, 1e-30))
                }
            }
            #expect(bad == 0, "\(c), accumulate \(accumulate): \(bad) elements unwritten")
            #expect(worst <= Double(c.tiles + 1) * 1.2e-7, "\(c), accumulate \(accumulate): worst relative error \(worst)")
        }
    }

    @Test(arguments: gradientCases)
    func weightGradientAVX512GivesTheAVX2Bits(c: GradientCase) {
        guard let wide = sl_kernels_table(Int32(SL_ISA_AVX512)), let narrow = sl_kernels_table(Int32(SL_ISA_AVX2_FMA))
        else { return }
        var rng = TestRandom(UInt64(c.ic * 7 + c.tiles))
        let d = rng.gaussians(c.oc * c.ld), v = rng.gaussians(c.ic * c.ld)
        let a = Self.gradient(narrow.pointee, c, d: d, v: v, start: nil), b = Self.gradient(wide.pointee, c, d: d, v: v, start: nil)
        #expect(zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count == 0, "\(c)")
    }

    @Test(arguments: cases)
    func avx512GivesTheAVX2Bits(c: Case) {
        guard let wide = sl_kernels_table(Int32(SL_ISA_AVX512)), let narrow = sl_kernels_table(Int32(SL_ISA_AVX2_FMA))
        else { return }   // this CPU runs no AVX-512: nothing to compare
        let (u, v) = Self.operands(c)
        let a = Self.run(narrow.pointee, c, u: u, v: v), b = Self.run(wide.pointee, c, u: u, v: v)
        let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern && !($0.isNaN && $1.isNaN) }.count
        #expect(differing == 0, "\(c): \(differing) elements differ")
    }
}
