// Tests of CKernels: the fast SphereConv kernels against their double-precision twins, on every
// instruction set this machine runs, plus the accuracy of the vectorised acos/exp/tanh, the
// spherenet.md check values and finite-difference checks of the reference derivatives.
import CKernels
import Foundation
import Testing

// MARK: - Shared helpers


fileprivate let ckCosine = Int32(SL_VARIANT_COSINE)
fileprivate let ckLinear = Int32(SL_VARIANT_LINEAR)
fileprivate let ckSigmoid = Int32(SL_VARIANT_SIGMOID)

/// Every instruction set whose kernels this build and CPU can run.
fileprivate let ckISAs: [Int32] = [Int32(SL_ISA_PORTABLE), Int32(SL_ISA_AVX2_FMA), Int32(SL_ISA_AVX512)]
    .filter { sl_kernels_table($0) != nil }

/// The k values the paper and the learnable variant use, from a near-step 0.05 to a near-linear 2.
fileprivate let ckKs: [Float] = [0.05, 0.1, 0.3, 0.7, 2.0]

/// (ISA, variant, k) combinations: k only varies for the sigmoid.
fileprivate let ckKernelCases: [(Int32, Int32, Float)] = ckISAs.flatMap { isa in
    [(isa, ckCosine, Float(1)), (isa, ckLinear, Float(1))] + ckKs.map { (isa, ckSigmoid, $0) }
}

fileprivate func ckTable(_ isa: Int32) throws -> sl_kernel_table {
    try #require(sl_kernels_table(isa), "no kernels for ISA \(isa)").pointee
}

/// A value kernels must never write: it marks memory outside the column range.
fileprivate let ckSentinel: Float = 12345.5

// MARK: - A SphereConv problem and its checks

/// One SphereConv layer's element-wise inputs: u (oc × ld, row-major), inv_w (oc), inv_x (ld),
/// k (oc), processed on columns [m0, m1).
fileprivate struct CKSphereCase {
    var oc: Int, ld: Int, m0: Int, m1: Int
    var u: [Float], invW: [Float], invX: [Float], k: [Float]

    /// Cosines spread over [−1.2, 1.2] (so some clamp), with row 0 holding the edge cases at
    /// inv_w = inv_x = 1: exactly ±1, the clamp bound, just inside it, 0, tiny, around 0.5.
    static func make(oc: Int, ld: Int, m0: Int, m1: Int, k: Float, seed: UInt64) -> CKSphereCase {
        var rng = TestRandom(state: seed)
        let invW = (0..<oc).map { $0 == 0 ? Float(1) : rng.uniform(0.25, 2) }
        var invX = (0..<ld).map { _ in rng.uniform(0.25, 2) }
        var u = [Float](repeating: 0, count: oc * ld)
        for r in 0..<oc {
            for m in 0..<ld {
                u[r * ld + m] = rng.uniform(-1.2, 1.2) / (invW[r] * invX[m])
            }
        }
        let cosMax = Float(1) - SL_COS_DELTA
        let half: Float = 0.5
        let edges: [Float] = [1, -1, cosMax, -cosMax, cosMax.nextDown, (-cosMax).nextUp, 0.99999, -0.99999,
                              0, -0.0, 1e-30, -1e-30, half, half.nextUp, -half, (-half).nextDown, 1.5, -3]
        for (j, c) in edges.enumerated() where m0 + j < m1 {
            invX[m0 + j] = 1
            u[m0 + j] = c
        }
        return CKSphereCase(oc: oc, ld: ld, m0: m0, m1: m1, u: u, invW: invW, invX: invX,
                            k: [Float](repeating: k, count: oc))
    }

    func inRange(_ i: Int) -> Bool { (m0..<m1).contains(i % ld) }
}

/// Absolute tolerance of g. The cosine is c itself. Linear and sigmoid g are at most 1 in
/// magnitude, and the float evaluation keeps them within 2 ulp of 1 (measured: linear 1.2e-7,
/// sigmoid 2.4e-7 for every k from 0.05 to 2), so 3–4 ulp of 1 is allowed.
fileprivate func ckForwardTolerance(_ variant: Int32, _ k: Float) -> Float {
    switch variant {
    case ckCosine: return 0
    case ckLinear: return 2.5e-7
    default: return 4e-7
    }
}

/// Relative tolerance of dc (so of du): a few ulp for sqrt(1 − c²) and the products; for the
/// sigmoid, e = exp(−|φ|/k) also inherits φ's error divided by k and the rounding of its exponent
/// (up to 45 at k = 0.05), hence the 1/k term (measured: 3.6e-6 at k = 0.05, 3.6e-7 at k = 2).
fileprivate func ckBackwardRelativeTolerance(_ variant: Int32, _ k: Float) -> Float {
    switch variant {
    case ckCosine: return 2.5e-7
    case ckLinear: return 5e-7
    default: return 4e-7 + 3e-7 / k
    }
}

fileprivate struct CKForwardResult {
    var out: [Float], cos: [Float]
}

fileprivate func ckForward(_ fn: CKForwardFunction, _ variant: Int32, _ p: CKSphereCase,
                           useK: Bool = true) -> CKForwardResult {
    var out = [Float](repeating: ckSentinel, count: p.oc * p.ld)
    var cos = out
    p.u.withUnsafeBufferPointer { u in
        p.invW.withUnsafeBufferPointer { iw in
            p.invX.withUnsafeBufferPointer { ix in
                p.k.withUnsafeBufferPointer { k in
                    out.withUnsafeMutableBufferPointer { o in
                        cos.withUnsafeMutableBufferPointer { c in
                            fn(variant, u.baseAddress, iw.baseAddress, ix.baseAddress, useK ? k.baseAddress : nil,
                               Int32(p.oc), Int32(p.ld), Int32(p.m0), Int32(p.m1), o.baseAddress, c.baseAddress)
                        }
                    }
                }
            }
        }
    }
    return CKForwardResult(out: out, cos: cos)
}

fileprivate typealias CKForwardFunction = @convention(c) (
    Int32, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
    Int32, Int32, Int32, Int32, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?
) -> Void

fileprivate typealias CKBackwardFunction = @convention(c) (
    Int32, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
    UnsafePointer<Float>?, Int32, Int32, Int32, Int32, UnsafeMutablePointer<Float>?,
    UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?
) -> Void

fileprivate typealias CKMapFunction = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

fileprivate struct CKBackwardResult {
    var du: [Float], rowAcc: [Float], colAcc: [Float], dk: [Float]
}

/// Accumulators start from non-zero values to check that the kernels add rather than overwrite.
fileprivate func ckBackward(_ fn: CKBackwardFunction, _ variant: Int32, _ p: CKSphereCase, dout: [Float],
                            cos: [Float], withDk: Bool = true) -> CKBackwardResult {
    var result = CKBackwardResult(du: [Float](repeating: ckSentinel, count: p.oc * p.ld),
                                  rowAcc: (0..<p.oc).map { Float($0) * 0.25 - 0.5 },
                                  colAcc: (0..<p.ld).map { Float($0 % 7) * 0.125 },
                                  dk: (0..<p.oc).map { Float($0) * 0.01 + 0.3 })
    dout.withUnsafeBufferPointer { d in
        cos.withUnsafeBufferPointer { c in
            p.invW.withUnsafeBufferPointer { iw in
                p.invX.withUnsafeBufferPointer { ix in
                    p.k.withUnsafeBufferPointer { k in
                        result.du.withUnsafeMutableBufferPointer { du in
                            result.rowAcc.withUnsafeMutableBufferPointer { ra in
                                result.colAcc.withUnsafeMutableBufferPointer { ca in
                                    result.dk.withUnsafeMutableBufferPointer { dk in
                                        fn(variant, d.baseAddress, c.baseAddress, iw.baseAddress, ix.baseAddress,
                                           k.baseAddress, Int32(p.oc), Int32(p.ld), Int32(p.m0), Int32(p.m1),
                                           du.baseAddress, ra.baseAddress, ca.baseAddress,
                                           withDk ? dk.baseAddress : nil)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return result
}

fileprivate func ckRandomDout(count: Int, seed: UInt64) -> [Float] {
    var rng = TestRandom(state: seed)
    return (0..<count).map { _ in rng.uniform(-2, 2) }
}

fileprivate func ckBitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

// MARK: - Instruction-set selection

@Suite("CKernels ISA selection")
struct CKernelsISASelectionTests {
    @Test func portableTableAlwaysExistsAndUnknownIsasDoNot() {
        #expect(sl_kernels_table(Int32(SL_ISA_PORTABLE)) != nil)
        #expect(sl_kernels_table(-1) == nil)
        #expect(sl_kernels_table(7) == nil)
    }

    @Test func avx2TableExistsExactlyWhenTheCpuHasAvx2AndFma() throws {
        #if arch(x86_64) && os(Linux)
        let flags = try cpuFlags()
        let cpuHasIt = flags.contains("avx2") && flags.contains("fma")
        #expect((sl_kernels_table(Int32(SL_ISA_AVX2_FMA)) != nil) == cpuHasIt)
        #elseif arch(x86_64)
        #expect(sl_kernels_choose_isa("avx2") == Int32(sl_kernels_table(Int32(SL_ISA_AVX2_FMA)) != nil ? 1 : 0))
        #else
        #expect(sl_kernels_table(Int32(SL_ISA_AVX2_FMA)) == nil)
        #endif
    }

    @Test func avx512TableExistsExactlyWhenTheCpuHasItsFourExtensions() throws {
        #if arch(x86_64) && os(Linux)
        let flags = try cpuFlags()
        let cpuHasIt = ["avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"].allSatisfy(flags.contains)
        #expect((sl_kernels_table(Int32(SL_ISA_AVX512)) != nil) == cpuHasIt)
        #elseif !arch(x86_64)
        #expect(sl_kernels_table(Int32(SL_ISA_AVX512)) == nil)
        #endif
    }

    #if os(Linux)
    private func cpuFlags() throws -> Set<String> {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        return Set(flagsLine.split(separator: " ").map(String.init))
    }
    #endif

    @Test func overrideForcesPortableOrAvx2AndOtherwiseBestIsChosen() {
        let avx2 = sl_kernels_table(Int32(SL_ISA_AVX2_FMA)) != nil ? Int32(SL_ISA_AVX2_FMA) : Int32(SL_ISA_PORTABLE)
        let best = sl_kernels_table(Int32(SL_ISA_AVX512)) != nil ? Int32(SL_ISA_AVX512) : avx2
        #expect(sl_kernels_choose_isa("portable") == Int32(SL_ISA_PORTABLE))
        #expect(sl_kernels_choose_isa("avx2") == avx2)
        #expect(sl_kernels_choose_isa(nil) == best)
        #expect(sl_kernels_choose_isa("") == best)
        #expect(sl_kernels_choose_isa("avx512") == best)
        // The active choice follows the environment of this process.
        #expect(sl_kernels_isa() == sl_kernels_choose_isa(getenv("SPHERELAB_ISA")))
    }

    @Test func publicEntryPointsRunTheActiveTable() throws {
        let table = try ckTable(sl_kernels_isa())
        let p = CKSphereCase.make(oc: 3, ld: 70, m0: 1, m1: 69, k: 0.3, seed: 11)
        let viaTable = ckForward(try #require(table.sphere_forward), ckSigmoid, p)
        let viaPublic = ckForward(sl_sphere_forward, ckSigmoid, p)
        #expect(ckBitwiseEqual(viaTable.out, viaPublic.out))
        #expect(ckBitwiseEqual(viaTable.cos, viaPublic.cos))
        let dout = ckRandomDout(count: p.oc * p.ld, seed: 12)
        let backTable = ckBackward(try #require(table.sphere_backward), ckSigmoid, p, dout: dout,
                                   cos: viaTable.cos)
        let backPublic = ckBackward(sl_sphere_backward, ckSigmoid, p, dout: dout, cos: viaTable.cos)
        #expect(ckBitwiseEqual(backTable.du, backPublic.du))
        #expect(ckBitwiseEqual(backTable.dk, backPublic.dk))
        let x: [Float] = (0..<100).map { Float($0) / 50 - 1 }
        let pairs: [(CKMapFunction?, CKMapFunction)] = [
            (table.acos, sl_acos), (table.exp, sl_exp), (table.tanh, sl_tanh),
        ]
        for (tableFn, publicFn) in pairs {
            let fn = try #require(tableFn)
            #expect(ckBitwiseEqual(ckApply(fn, x), ckApply(publicFn, x)))
        }
    }
}

// MARK: - Element-wise maths

fileprivate func ckApply(_ fn: CKMapFunction, _ x: [Float]) -> [Float] {
    var y = [Float](repeating: ckSentinel, count: x.count)
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in fn(xp.baseAddress, yp.baseAddress, x.count) }
    }
    return y
}

/// n + 1 evenly spaced floats from lo to hi, plus the given edge values.
fileprivate func ckGrid(_ lo: Double, _ hi: Double, _ n: Int, edges: [Float] = []) -> [Float] {
    (0...n).map { Float(lo + (hi - lo) * Double($0) / Double(n)) } + edges
}

@Suite("CKernels element-wise maths")
struct CKernelsElementwiseTests {
    @Test(arguments: ckISAs)
    func acosIsWithin5e7OnMinusOneToOne(isa: Int32) throws {
        let fn = try #require(try ckTable(isa).acos)
        let half: Float = 0.5
        let x = ckGrid(-1, 1, 2_000_000, edges: [1, -1, Float(1).nextDown, Float(-1).nextUp, 0, -0.0, 1e-30, -1e-30,
                                                Float.leastNonzeroMagnitude, half, half.nextUp, half.nextDown,
                                                -half, (-half).nextUp, (-half).nextDown])
        let y = ckApply(fn, x)
        var worst = 0.0
        for (xi, yi) in zip(x, y) { worst = max(worst, abs(Double(yi) - Foundation.acos(Double(xi)))) }
        #expect(worst <= 5e-7, "max abs error \(worst)")
        let outside = ckApply(fn, [Float(1).nextUp, -1.0000002, 2, -7, .infinity, -.infinity, .nan])
        #expect(outside.allSatisfy { $0.isNaN }, "acos outside [-1, 1] gave \(outside)")
    }

    @Test(arguments: ckISAs)
    func expIsWithin3e7RelativeOnMinus80To80(isa: Int32) throws {
        let fn = try #require(try ckTable(isa).exp)
        let x = ckGrid(-80, 80, 2_000_000, edges: [0, -0.0, 1e-30, -1e-30, 1, -1, 0.34657359, -0.34657359])
        let y = ckApply(fn, x)
        var worst = 0.0
        for (xi, yi) in zip(x, y) {
            let exact = Foundation.exp(Double(xi))
            worst = max(worst, abs(Double(yi) - exact) / exact)
        }
        #expect(worst <= 3e-7, "max rel error \(worst)")
        #expect(ckApply(fn, [0]) == [1])
    }

    @Test(arguments: ckISAs)
    func expCoversTheWholeFloatRange(isa: Int32) throws {
        let fn = try #require(try ckTable(isa).exp)
        // The rest of the normal range keeps the same accuracy.
        let normal = ckGrid(-87.3, 88.72, 200_000)
        var worst = 0.0
        for (xi, yi) in zip(normal, ckApply(fn, normal)) {
            let exact = Foundation.exp(Double(xi))
            worst = max(worst, abs(Double(yi) - exact) / exact)
        }
        #expect(worst <= 3e-7, "max rel error on the normal range \(worst)")
        // Gradual underflow: within one subnormal step plus the relative error.
        let subnormal = ckGrid(-103.9, -87.4, 20_000)
        var worstSub = 0.0
        for (xi, yi) in zip(subnormal, ckApply(fn, subnormal)) {
            let exact = Foundation.exp(Double(xi))
            worstSub = max(worstSub, abs(Double(yi) - exact) / (Double(Float.leastNonzeroMagnitude) + 3e-7 * exact))
        }
        #expect(worstSub <= 1, "subnormal results off by \(worstSub) of the allowed error")
        let special = ckApply(fn, [88.8, 89, 1000, .infinity, -104, -1000, -.infinity])
        #expect(special == [.infinity, .infinity, .infinity, .infinity, 0, 0, 0])
        #expect(ckApply(fn, [.nan])[0].isNaN)
    }

    @Test(arguments: ckISAs)
    func tanhIsWithin5e7AndRelativelyAccurateNearZero(isa: Int32) throws {
        let fn = try #require(try ckTable(isa).tanh)
        let x = ckGrid(-20, 20, 2_000_000, edges: [0.5493, -0.5493, 9, -9, 43.6, -43.6])
        var worst = 0.0
        for (xi, yi) in zip(x, ckApply(fn, x)) { worst = max(worst, abs(Double(yi) - Foundation.tanh(Double(xi)))) }
        #expect(worst <= 5e-7, "max abs error \(worst)")
        // Relative accuracy for small |x| (g near 0 keeps its digits): 1e-30 … 1, both signs.
        let small = (0...6000).map { Float(Foundation.pow(10, -30 + Double($0) / 200)) }
        var worstRel = 0.0
        for (xi, yi) in zip(small + small.map { -$0 }, ckApply(fn, small + small.map { -$0 })) {
            let exact = Foundation.tanh(Double(xi))
            worstRel = max(worstRel, abs(Double(yi) - exact) / abs(exact))
        }
        #expect(worstRel <= 5e-7, "max rel error near 0: \(worstRel)")
        let special = ckApply(fn, [0, 50, -50, 1e30, -1e30, .infinity, -.infinity])
        #expect(special == [0, 1, -1, 1, -1, 1, -1])
        #expect(ckApply(fn, [-0.0])[0].sign == .minus)
        #expect(ckApply(fn, [.nan])[0].isNaN)
    }

    @Test(arguments: ckISAs)
    func mapsRunInPlaceAndOnAnyLength(isa: Int32) throws {
        let table = try ckTable(isa)
        for fn in [table.acos, table.exp, table.tanh] {
            let f = try #require(fn)
            for n in [0, 1, 7, 8, 9, 1001] {
                var rng = TestRandom(state: UInt64(n) + 5)
                let x = (0..<n).map { _ in rng.uniform(-1, 1) }
                let separate = ckApply(f, x)
                var inPlace = x + [ckSentinel]
                inPlace.withUnsafeMutableBufferPointer { p in f(p.baseAddress, p.baseAddress, n) }
                #expect(ckBitwiseEqual(Array(inPlace.prefix(n)), separate))
                #expect(inPlace[n] == ckSentinel, "wrote past the end for n = \(n)")
            }
        }
    }
}

// MARK: - SphereConv kernels against their twins

@Suite("CKernels SphereConv kernels")
struct CKernelsSphereTests {
    /// 5 rows, columns 5 ..< 4360 of 4403: an odd start, a length that is no multiple of a vector,
    /// a row stride past the range, and two of the kernels' 4096-column panels.
    fileprivate static func standardCase(k: Float) -> CKSphereCase {
        CKSphereCase.make(oc: 5, ld: 4403, m0: 5, m1: 4360, k: k, seed: 42)
    }

    @Test(arguments: ckISAs)
    func manyRowsEachWithItsOwnK(isa: Int32) throws {
        // 70 rows cross the kernels' 64-row groups; a different k per row (the learnable sigmoid)
        // catches any mix-up of the per-row constants.
        let table = try ckTable(isa)
        var p = CKSphereCase.make(oc: 70, ld: 45, m0: 1, m1: 44, k: 1, seed: 77)
        p.k = (0..<p.oc).map { 0.05 + 0.03 * Float($0) }
        let fast = ckForward(try #require(table.sphere_forward), ckSigmoid, p)
        let ref = ckForward(sl_sphere_forward_reference, ckSigmoid, p)
        var worst: Float = 0
        for i in 0..<(p.oc * p.ld) where p.inRange(i) { worst = max(worst, abs(fast.out[i] - ref.out[i])) }
        #expect(worst <= ckForwardTolerance(ckSigmoid, 0.05), "max abs error of g \(worst)")
        let dout = ckRandomDout(count: p.oc * p.ld, seed: 78)
        let fastBack = ckBackward(try #require(table.sphere_backward), ckSigmoid, p, dout: dout, cos: ref.cos)
        let refBack = ckBackward(sl_sphere_backward_reference, ckSigmoid, p, dout: dout, cos: ref.cos)
        var worstDu: Float = 0
        for i in 0..<(p.oc * p.ld) where p.inRange(i) {
            let rtol = ckBackwardRelativeTolerance(ckSigmoid, p.k[i / p.ld])
            worstDu = max(worstDu, abs(fastBack.du[i] - refBack.du[i]) / (rtol * abs(refBack.du[i]) + 1e-30))
        }
        #expect(worstDu <= 1, "du off by \(worstDu) × its tolerance")
        for r in 0..<p.oc {
            // Loose enough for 43 float terms, tight enough to catch a k from the wrong row.
            let allowed = 1e-4 * (abs(Double(refBack.dk[r]) - (Double(r) * 0.01 + 0.3)) + 1e-2)
            #expect(abs(Double(fastBack.dk[r]) - Double(refBack.dk[r])) <= allowed, "dk[\(r)]")
        }
    }

    @Test(arguments: ckKernelCases)
    func forwardMatchesReference(isa: Int32, variant: Int32, k: Float) throws {
        let p = Self.standardCase(k: k)
        let fast = ckForward(try #require(try ckTable(isa).sphere_forward), variant, p)
        let ref = ckForward(sl_sphere_forward_reference, variant, p)
        var worst: Float = 0, cosMismatches = 0, outside = 0
        for i in 0..<(p.oc * p.ld) {
            if p.inRange(i) {
                if fast.cos[i].bitPattern != ref.cos[i].bitPattern { cosMismatches += 1 }
                worst = max(worst, abs(fast.out[i] - ref.out[i]))
                if !fast.out[i].isFinite { worst = .infinity }
            } else if fast.out[i] != ckSentinel || fast.cos[i] != ckSentinel {
                outside += 1
            }
        }
        let tol = ckForwardTolerance(variant, k)
        #expect(cosMismatches == 0, "clamped cosines differ from the reference's in \(cosMismatches) places")
        #expect(worst <= tol, "max abs error of g \(worst) > \(tol)")
        #expect(outside == 0, "\(outside) elements outside the column range were written")
        let cosMax = Float(1) - SL_COS_DELTA
        #expect(fast.cos.enumerated().allSatisfy { !p.inRange($0.offset) || abs($0.element) <= cosMax })
    }

    @Test(arguments: ckKernelCases)
    func backwardMatchesReference(isa: Int32, variant: Int32, k: Float) throws {
        let p = Self.standardCase(k: k)
        let cos = ckForward(sl_sphere_forward_reference, variant, p).cos
        let dout = ckRandomDout(count: p.oc * p.ld, seed: 7)
        let table = try ckTable(isa)
        let fast = ckBackward(try #require(table.sphere_backward), variant, p, dout: dout, cos: cos)
        let ref = ckBackward(sl_sphere_backward_reference, variant, p, dout: dout, cos: cos)
        let rtol = ckBackwardRelativeTolerance(variant, k)
        let cosMax = Float(1) - SL_COS_DELTA
        var worstDu: Float = 0, clampedNonZero = 0, outside = 0
        var rowScale = [Double](repeating: 0, count: p.oc), colScale = [Double](repeating: 0, count: p.ld)
        var dkScale = [Double](repeating: 0, count: p.oc)
        for r in 0..<p.oc {
            for m in 0..<p.ld {
                let i = r * p.ld + m
                guard p.inRange(i) else {
                    if fast.du[i] != ckSentinel { outside += 1 }
                    continue
                }
                if abs(cos[i]) >= cosMax && fast.du[i] != 0 { clampedNonZero += 1 }
                // |du| ≤ rtol·|du_ref| plus a floor far below any gradient that matters.
                let err = abs(fast.du[i] - ref.du[i]) / (rtol * abs(ref.du[i]) + 1e-30)
                worstDu = max(worstDu, fast.du[i].isFinite ? err : .infinity)
                // Scales of the sums: Σ|dc·c| recovered from the reference du, Σ|dout·∂g/∂k|.
                let dcc = abs(Double(ref.du[i]) / (Double(p.invW[r]) * Double(p.invX[m])) * Double(cos[i]))
                rowScale[r] += dcc
                colScale[m] += dcc
                dkScale[r] += abs(Double(dout[i]) * sl_reference_dg_dk(variant, Foundation.acos(Double(cos[i])),
                                                                        Double(p.k[r])))
            }
        }
        #expect(worstDu <= 1, "du off by \(worstDu) × its tolerance (rtol \(rtol))")
        #expect(clampedNonZero == 0, "\(clampedNonZero) clamped elements passed a gradient")
        #expect(outside == 0, "\(outside) elements outside the column range were written")
        // Sums: the per-element error plus float summation error, relative to the sums' scale.
        let sumTol = Double(rtol) + 2e-6
        for r in 0..<p.oc {
            let allowed = sumTol * rowScale[r] + 1e-6
            #expect(abs(Double(fast.rowAcc[r]) - Double(ref.rowAcc[r])) <= allowed, "row_acc[\(r)]")
            if variant == ckSigmoid {
                #expect(abs(Double(fast.dk[r]) - Double(ref.dk[r])) <= sumTol * dkScale[r] + 1e-6, "dk[\(r)]")
            } else {
                #expect(fast.dk[r] == Float(r) * 0.01 + 0.3, "dk[\(r)] changed for a variant without k")
            }
        }
        var colFailures = 0
        for m in 0..<p.ld {
            let allowed = sumTol * colScale[m] + 1e-6
            if abs(Double(fast.colAcc[m]) - Double(ref.colAcc[m])) > allowed { colFailures += 1 }
            if !(p.m0..<p.m1).contains(m) && fast.colAcc[m] != Float(m % 7) * 0.125 { colFailures += 1 }
        }
        #expect(colFailures == 0, "\(colFailures) columns of col_acc are wrong")
    }

    @Test(arguments: ckKernelCases)
    func inPlaceCallsGiveTheSameBits(isa: Int32, variant: Int32, k: Float) throws {
        let table = try ckTable(isa)
        let forward = try #require(table.sphere_forward)
        let p = CKSphereCase.make(oc: 3, ld: 301, m0: 2, m1: 299, k: k, seed: 5)
        let separate = ckForward(forward, variant, p)
        // cos_out = u (the engine's usual call), out separate.
        var u = p.u
        var out = [Float](repeating: ckSentinel, count: u.count)
        u.withUnsafeMutableBufferPointer { up in
            out.withUnsafeMutableBufferPointer { op in
                forward(variant, up.baseAddress, p.invW, p.invX, p.k, Int32(p.oc), Int32(p.ld), Int32(p.m0),
                        Int32(p.m1), op.baseAddress, up.baseAddress)
            }
        }
        let rangeOnly = { (a: [Float]) in a.enumerated().filter { p.inRange($0.offset) }.map(\.element) }
        #expect(ckBitwiseEqual(rangeOnly(u), rangeOnly(separate.cos)))
        #expect(ckBitwiseEqual(rangeOnly(out), rangeOnly(separate.out)))
        // out = u, cos_out separate.
        u = p.u
        var cos = [Float](repeating: ckSentinel, count: u.count)
        u.withUnsafeMutableBufferPointer { up in
            cos.withUnsafeMutableBufferPointer { cp in
                forward(variant, up.baseAddress, p.invW, p.invX, p.k, Int32(p.oc), Int32(p.ld), Int32(p.m0),
                        Int32(p.m1), up.baseAddress, cp.baseAddress)
            }
        }
        #expect(ckBitwiseEqual(rangeOnly(u), rangeOnly(separate.out)))
        #expect(ckBitwiseEqual(rangeOnly(cos), rangeOnly(separate.cos)))
        if variant == ckCosine {
            u = p.u
            u.withUnsafeMutableBufferPointer { up in
                forward(variant, up.baseAddress, p.invW, p.invX, nil, Int32(p.oc), Int32(p.ld), Int32(p.m0),
                        Int32(p.m1), up.baseAddress, up.baseAddress)
            }
            #expect(ckBitwiseEqual(rangeOnly(u), rangeOnly(separate.out)))
        }
        // du = dout.
        let backward = try #require(table.sphere_backward)
        let dout = ckRandomDout(count: u.count, seed: 9)
        let separateBack = ckBackward(backward, variant, p, dout: dout, cos: separate.cos)
        var d = dout
        var rowAcc = [Float](repeating: 0, count: p.oc), colAcc = [Float](repeating: 0, count: p.ld)
        var dk = [Float](repeating: 0, count: p.oc)
        d.withUnsafeMutableBufferPointer { dp in
            backward(variant, dp.baseAddress, separate.cos, p.invW, p.invX, p.k, Int32(p.oc), Int32(p.ld),
                     Int32(p.m0), Int32(p.m1), dp.baseAddress, &rowAcc, &colAcc, &dk)
        }
        #expect(ckBitwiseEqual(rangeOnly(d), rangeOnly(separateBack.du)))
    }

    @Test(arguments: ckKernelCases)
    func splittingTheColumnsChangesNothing(isa: Int32, variant: Int32, k: Float) throws {
        // What the engine does with threads: [m0, mid) and [mid, m1) in two calls.
        let table = try ckTable(isa)
        let forward = try #require(table.sphere_forward)
        let backward = try #require(table.sphere_backward)
        let p = Self.standardCase(k: k)
        let whole = ckForward(forward, variant, p)
        var first = p, second = p
        first.m1 = 613
        second.m0 = 613
        let a = ckForward(forward, variant, first), b = ckForward(forward, variant, second)
        let merged = (0..<(p.oc * p.ld)).map { first.inRange($0) ? a.out[$0] : b.out[$0] }
        #expect(ckBitwiseEqual(merged, whole.out))
        let dout = ckRandomDout(count: p.oc * p.ld, seed: 3)
        let wholeBack = ckBackward(backward, variant, p, dout: dout, cos: whole.cos)
        let aBack = ckBackward(backward, variant, first, dout: dout, cos: whole.cos)
        let bBack = ckBackward(backward, variant, second, dout: dout, cos: whole.cos)
        let mergedDu = (0..<(p.oc * p.ld)).map { first.inRange($0) ? aBack.du[$0] : bBack.du[$0] }
        #expect(ckBitwiseEqual(mergedDu, wholeBack.du))
        let mergedCol = (0..<p.ld).map { (p.m0..<613).contains($0) ? aBack.colAcc[$0] : bBack.colAcc[$0] }
        #expect(ckBitwiseEqual(mergedCol, wholeBack.colAcc))
    }

    @Test(arguments: ckISAs)
    func sigmoidWithoutDkLeavesDkAloneAndChangesNothingElse(isa: Int32) throws {
        let backward = try #require(try ckTable(isa).sphere_backward)
        let p = CKSphereCase.make(oc: 4, ld: 90, m0: 3, m1: 87, k: 0.3, seed: 21)
        let cos = ckForward(sl_sphere_forward_reference, ckSigmoid, p).cos
        let dout = ckRandomDout(count: p.oc * p.ld, seed: 22)
        let with = ckBackward(backward, ckSigmoid, p, dout: dout, cos: cos)
        let without = ckBackward(backward, ckSigmoid, p, dout: dout, cos: cos, withDk: false)
        #expect(ckBitwiseEqual(with.du, without.du))
        #expect(ckBitwiseEqual(with.colAcc, without.colAcc))
        #expect(without.dk == (0..<p.oc).map { Float($0) * 0.01 + 0.3 })
        #expect(with.dk != without.dk)
    }

    @Test(arguments: ckISAs)
    func steepSigmoidStaysFiniteAndAccurateNearTheClamp(isa: Int32) throws {
        // k = 0.05 puts z = (π/2 − θ)/(2k) up to 15.7: tanh saturates, sech² z ≈ 1e-13.
        let table = try ckTable(isa)
        let cosMax = Float(1) - SL_COS_DELTA
        let cs: [Float] = [cosMax, -cosMax, 0.999998, -0.999998, 0.9999, 0.99, 0.9, -0.9, 0.5, 0.05, 0, -0.05]
        let p = CKSphereCase(oc: 1, ld: cs.count, m0: 0, m1: cs.count, u: cs,
                             invW: [1], invX: [Float](repeating: 1, count: cs.count), k: [0.05])
        let fast = ckForward(try #require(table.sphere_forward), ckSigmoid, p)
        let ref = ckForward(sl_sphere_forward_reference, ckSigmoid, p)
        #expect(fast.out.allSatisfy { $0.isFinite })
        for i in cs.indices {
            #expect(abs(fast.out[i] - ref.out[i]) <= ckForwardTolerance(ckSigmoid, 0.05), "g at c = \(cs[i])")
        }
        let dout = [Float](repeating: 1, count: cs.count)
        let fastBack = ckBackward(try #require(table.sphere_backward), ckSigmoid, p, dout: dout, cos: fast.cos)
        let refBack = ckBackward(sl_sphere_backward_reference, ckSigmoid, p, dout: dout, cos: fast.cos)
        let rtol = ckBackwardRelativeTolerance(ckSigmoid, 0.05)
        for i in cs.indices {
            #expect(fastBack.du[i].isFinite)
            #expect(abs(fastBack.du[i] - refBack.du[i]) <= rtol * abs(refBack.du[i]), "dc at c = \(cs[i])")
        }
        #expect(fastBack.du[0] == 0 && fastBack.du[1] == 0, "clamped cosines must pass no gradient")
        #expect(fastBack.du[2] > 0 && fastBack.du[2] < 1e-9, "dc inside the clamp is tiny, not lost: \(fastBack.du[2])")
        #expect(fastBack.dk[0].isFinite)
    }

    @Test(arguments: ckISAs)
    func misuseIsLoudNotSilent(isa: Int32) throws {
        // An unknown variant, or the sigmoid without k: NaN outputs on the range, nothing else.
        let table = try ckTable(isa)
        let p = CKSphereCase.make(oc: 2, ld: 20, m0: 4, m1: 15, k: 0.3, seed: 1)
        for (variant, useK) in [(Int32(3), true), (Int32(-1), true), (ckSigmoid, false)] {
            let r = ckForward(try #require(table.sphere_forward), variant, p, useK: useK)
            for i in 0..<(p.oc * p.ld) {
                if p.inRange(i) {
                    #expect(r.out[i].isNaN && r.cos[i].isNaN)
                } else {
                    #expect(r.out[i] == ckSentinel && r.cos[i] == ckSentinel)
                }
            }
        }
        let back = ckBackward(try #require(table.sphere_backward), 9, p, dout: p.u, cos: p.u)
        #expect((0..<(p.oc * p.ld)).allSatisfy { p.inRange($0) ? back.du[$0].isNaN : back.du[$0] == ckSentinel })
        #expect(back.rowAcc.allSatisfy { $0.isNaN })
        // NaN input (a diverged layer) comes out as NaN, not as a clamped cosine.
        var bad = p
        bad.u[4] = .nan
        let r = ckForward(try #require(table.sphere_forward), ckLinear, bad)
        #expect(r.out[4].isNaN && r.cos[4].isNaN)
    }

    @Test(arguments: ckISAs)
    func emptyRangesTouchNothing(isa: Int32) throws {
        let table = try ckTable(isa)
        let p = CKSphereCase.make(oc: 2, ld: 10, m0: 5, m1: 5, k: 0.3, seed: 2)
        let r = ckForward(try #require(table.sphere_forward), ckSigmoid, p)
        #expect(r.out.allSatisfy { $0 == ckSentinel } && r.cos.allSatisfy { $0 == ckSentinel })
        let b = ckBackward(try #require(table.sphere_backward), ckSigmoid, p, dout: p.u, cos: p.u)
        #expect(b.du.allSatisfy { $0 == ckSentinel })
        #expect(b.rowAcc == [-0.5, -0.25])
    }
}

// MARK: - Column sums of squares

@Suite("CKernels column sums of squares")
struct CKernelsColumnSumsqTests {
    @Test(arguments: ckISAs)
    func columnSumsMatchDoublePrecision(isa: Int32) throws {
        let fn = try #require(try ckTable(isa).column_sumsq)
        for (k, ld, m0, m1) in [(37, 1203, 5, 1160), (1, 9, 0, 9), (3, 40, 39, 40), (0, 16, 2, 14)] {
            var rng = TestRandom(state: UInt64(k * 1000 + m1))
            let a = (0..<(k * ld)).map { _ in rng.uniform(-3, 3) }
            var out = [Float](repeating: ckSentinel, count: ld)
            fn(a, Int32(k), Int32(ld), Int32(m0), Int32(m1), &out)
            var worst = 0.0, outside = 0
            for m in 0..<ld {
                guard (m0..<m1).contains(m) else {
                    if out[m] != ckSentinel { outside += 1 }
                    continue
                }
                let exact = (0..<k).reduce(0.0) { $0 + Double(a[$1 * ld + m]) * Double(a[$1 * ld + m]) }
                // Sequential float summation of k positive terms: at most k ulp of the sum.
                worst = max(worst, abs(Double(out[m]) - exact) / (Double(max(k, 1)) * 6e-8 * exact + 1e-30))
            }
            #expect(worst <= 1, "k = \(k): error \(worst) × the allowed")
            #expect(outside == 0, "k = \(k): wrote outside the range")
        }
    }
}

// MARK: - The spherenet.md formulas

/// θ = 0, π/6, π/4, π/3, π/2, 2π/3, π and the values spherenet.md §1 lists there.
fileprivate let ckTableThetas: [Double] = [0, .pi / 6, .pi / 4, .pi / 3, .pi / 2, 2 * .pi / 3, .pi]
fileprivate let ckSigmoidK03G: [Double] = [1, 0.950909, 0.873266, 0.710245, 0, -0.710245, -1]
fileprivate let ckSigmoidK03DgDtheta: [Double] = [-0.03548, -0.19341, -0.42697, -0.85266, -1.6845, -0.85266, -0.03548]
fileprivate let ckLinearG: [Double] = [1, 0.666667, 0.5, 0.333333, 0, -0.333333, -1]

@Suite("CKernels spherenet.md formulas")
struct CKernelsFormulaTests {
    @Test func referenceMatchesTheCheckTable() {
        for (i, theta) in ckTableThetas.enumerated() {
            // The table rounds to 6 (g) and 5 (dg/dθ) decimals.
            #expect(abs(sl_reference_g(ckSigmoid, theta, 0.3) - ckSigmoidK03G[i]) <= 5.1e-7, "g at θ[\(i)]")
            #expect(abs(sl_reference_dg_dtheta(ckSigmoid, theta, 0.3) - ckSigmoidK03DgDtheta[i]) <= 5.1e-6,
                    "dg/dθ at θ[\(i)]")
            #expect(abs(sl_reference_g(ckLinear, theta, 0) - ckLinearG[i]) <= 5.1e-7, "linear g at θ[\(i)]")
            #expect(abs(sl_reference_dg_dtheta(ckLinear, theta, 0) + 2 / Double.pi) <= 1e-15)
            #expect(abs(sl_reference_g(ckCosine, theta, 0) - cos(theta)) <= 1e-15)
        }
    }

    @Test func sigmoidEqualsTheExponentialForm() {
        // g = C(k)·(1 − e)/(1 + e), e = exp(θ/k − π/(2k)), C(k) = (1 + e^{−π/(2k)})/(1 − e^{−π/(2k)}).
        let c03 = (1 + exp(-Double.pi / 0.6)) / (1 - exp(-Double.pi / 0.6))
        #expect(abs(c03 - 1.010700) <= 5e-7)
        for k in ckKs.map(Double.init) {
            let ck = (1 + exp(-Double.pi / (2 * k))) / (1 - exp(-Double.pi / (2 * k)))
            for theta in stride(from: 0.0, through: Double.pi, by: 0.05) {
                let e = exp(theta / k - Double.pi / (2 * k))
                #expect(abs(sl_reference_g(ckSigmoid, theta, k) - ck * (1 - e) / (1 + e)) <= 1e-12)
            }
        }
    }

    @Test func dgDkVanishesAtZeroHalfPiAndPi() {
        for k in ckKs.map(Double.init) {
            for theta in [0, Double.pi / 2, Double.pi] {
                #expect(abs(sl_reference_dg_dk(ckSigmoid, theta, k)) <= 1e-12, "k \(k) θ \(theta)")
            }
        }
    }

    @Test func referenceDerivativesMatchFiniteDifferences() {
        // Central differences in double: truncation h²·g'''/6 and rounding 1e-16/h both stay far
        // below the tolerance, even at k = 0.05 where g''' ~ (1/2k)³ = 1000.
        let h = 1e-6
        for k in ckKs.map(Double.init) {
            for theta in stride(from: 0.01, through: Double.pi - 0.01, by: 0.0371) {
                for variant in [ckCosine, ckLinear, ckSigmoid] {
                    let fd = (sl_reference_g(variant, theta + h, k) - sl_reference_g(variant, theta - h, k)) / (2 * h)
                    let exact = sl_reference_dg_dtheta(variant, theta, k)
                    #expect(abs(fd - exact) <= 1e-7 * max(1, abs(exact)), "dg/dθ v\(variant) k \(k) θ \(theta)")
                }
                let fdK = (sl_reference_g(ckSigmoid, theta, k + h) - sl_reference_g(ckSigmoid, theta, k - h))
                    / (2 * h)
                let exactK = sl_reference_dg_dk(ckSigmoid, theta, k)
                #expect(abs(fdK - exactK) <= 1e-7 * max(1, abs(exactK)), "∂g/∂k k \(k) θ \(theta)")
            }
        }
    }

    @Test(arguments: ckISAs)
    func kernelsReproduceTheCheckTable(isa: Int32) throws {
        let table = try ckTable(isa)
        let cs = ckTableThetas.map { Float(cos($0)) }
        let p = CKSphereCase(oc: 2, ld: cs.count, m0: 0, m1: cs.count, u: cs + cs, invW: [1, 1],
                             invX: [Float](repeating: 1, count: cs.count), k: [0.3, 0.3])
        let sigmoid = ckForward(try #require(table.sphere_forward), ckSigmoid, p)
        let linear = ckForward(try #require(table.sphere_forward), ckLinear, p)
        for i in 1..<(cs.count - 1) {
            // Interior points: the table's rounding plus float input and evaluation error.
            #expect(abs(Double(sigmoid.out[i]) - ckSigmoidK03G[i]) <= 1.2e-6, "sigmoid g at θ[\(i)]")
            #expect(abs(Double(linear.out[i]) - ckLinearG[i]) <= 1e-6, "linear g at θ[\(i)]")
        }
        // θ = 0 and π are clamped to θ = acos(1 − δ) ≈ 1.4e-3: g moves by |dg/dθ|·1.4e-3.
        #expect(abs(Double(sigmoid.out[0]) - 1) <= 0.03548 * 1.5e-3 && sigmoid.out[0] < 1)
        #expect(abs(Double(linear.out[6]) + 1) <= 2 / Double.pi * 1.5e-3 && linear.out[6] > -1)
        // dc · (−sin θ) = dg/dθ: back through the kernel with dout = 1.
        let dout = [Float](repeating: 1, count: 2 * cs.count)
        let back = ckBackward(try #require(table.sphere_backward), ckSigmoid, p, dout: dout, cos: sigmoid.cos)
        for i in 1..<(cs.count - 1) {
            let dc = Double(back.du[i])  // inv_w = inv_x = 1
            let dgdtheta = -dc * sqrt(1 - Double(cs[i]) * Double(cs[i]))
            #expect(abs(dgdtheta - ckSigmoidK03DgDtheta[i]) <= 5.1e-6 + 1e-6 * abs(dgdtheta), "dg/dθ at θ[\(i)]")
        }
    }
}
