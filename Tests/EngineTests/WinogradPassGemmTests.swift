// The products of the Winograd passes (CKernels sl_wino_pass_gemm: column panels by the fused
// blocks' register-tiled kernel, scalar chains for the last 1–7 columns) against a slow obvious
// twin summed in Double, on every instruction set this machine runs: row counts that leave a
// remainder below 8, column counts that leave 16-, 8- and 1–7-column tails and cross panels,
// a row stride wider than the columns. AVX-512 and AVX2 give the same bits (one FMA chain per
// element), and m is written without being read (it starts as NaN).
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
