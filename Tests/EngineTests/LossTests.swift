import Foundation
import Testing
import Engine

/// One configuration of the score head under test.
struct LossTestCase: Sendable, CustomStringConvertible {
    let kind: HeadKind
    let options: CrossEntropyOptions
    let training: Bool

    var description: String {
        "\(kind) \(options == .authors ? "authors" : "plain") \(training ? "training" : "evaluation")"
    }

    static let operators: [AngularOperator] = [.cosine, .linear, .sigmoid(k: 0.3)]
    static let kinds: [HeadKind] = [.linear, .weightNormalized]
        + (1...4).flatMap { m in operators.map { HeadKind.generalizedAngular(margin: m, op: $0) } }

    /// Every kind × {plain, authors}, in training; GA kinds with a margin also in evaluation.
    static let all: [LossTestCase] = kinds.flatMap { kind in
        [CrossEntropyOptions.plain, .authors].flatMap { options in
            var cases = [LossTestCase(kind: kind, options: options, training: true)]
            if case let .generalizedAngular(m, _) = kind, m > 1 {
                cases.append(LossTestCase(kind: kind, options: options, training: false))
            }
            return cases
        }
    }
}

/// A batch in double precision: f (n, d), w (c, d), labels (n).
private struct LossBatch {
    var f: [Double]
    var w: [Double]
    var labels: [Int32]
    let n: Int, d: Int, c: Int
}

/// Random batch; example 0 lies near its class weight and example 1 near the opposite of it,
/// so GA-Softmax targets visit the first and last branches of ψ as well as the middle ones.
private func makeBatch(seed: UInt64, n: Int = 5, d: Int = 7, c: Int = 4) -> LossBatch {
    var random = TestRandom(state: seed)
    let w = (0..<(c * d)).map { _ in random.signedUnit() }
    let labels = (0..<n).map { _ in Int32.random(in: 0..<Int32(c), using: &random) }
    var f = (0..<(n * d)).map { _ in random.signedUnit() }
    for (example, sign) in [(0, 1.0), (1, -1.0)] where example < n {
        let y = Int(labels[example])
        for k in 0..<d { f[example * d + k] = sign * w[y * d + k] + 0.2 * random.signedUnit() }
    }
    return LossBatch(f: f, w: w, labels: labels, n: n, d: d, c: c)
}

private struct HeadRun<S> {
    var loss: Double
    var correct: Int
    var logits: [S]
    var dF: [S]
    var dW: [S]
}

/// Forward (and backward, into zeroed dW) on `batch` converted to `S`.
private func runHead<S: BinaryFloatingPoint & Sendable>(
    _: S.Type, _ testCase: LossTestCase, _ batch: LossBatch, backward: Bool = true
) throws -> HeadRun<S> {
    var head = try ScoreHead<S>(
        kind: testCase.kind, options: testCase.options,
        maxBatch: batch.n, features: batch.d, classes: batch.c)
    let f = batch.f.map { S($0) }, w = batch.w.map { S($0) }
    var run = HeadRun<S>(
        loss: 0, correct: 0, logits: [S](repeating: 0, count: batch.n * batch.c),
        dF: [S](repeating: 0, count: batch.n * batch.d), dW: [S](repeating: 0, count: batch.c * batch.d))
    (run.loss, run.correct) = try head.forward(
        features: f, weights: w, labels: batch.labels, batch: batch.n,
        training: testCase.training, logits: &run.logits)
    if backward {
        try head.backward(features: f, weights: w, batch: batch.n, dFeatures: &run.dF, dWeights: &run.dW)
    }
    return run
}

/// The head written straight from spherenet.md §3 with acos, floor and cos(mθ): an
/// independent twin of the forward. Returns the loss and the decision scores.
private func referenceForward(_ testCase: LossTestCase, _ batch: LossBatch) -> (loss: Double, logits: [Double]) {
    let (n, d, c) = (batch.n, batch.d, batch.c)
    func response(_ op: AngularOperator, _ theta: Double, _ m: Int) -> Double {
        switch op {
        case .cosine:
            let branch = min(Int((Double(m) * theta / .pi).rounded(.down)), m - 1)
            return (branch % 2 == 0 ? 1 : -1) * cos(Double(m) * theta) - 2 * Double(branch)
        case .linear:
            return 1 - 2 * Double(m) * theta / .pi
        case let .sigmoid(k):
            return tanh((.pi / 2 - Double(m) * theta) / (2 * k)) / tanh(.pi / (4 * k))
        }
    }
    var total = 0.0
    var decisions = [Double]()
    for i in 0..<n {
        let fi = Array(batch.f[(i * d)..<((i + 1) * d)])
        let b = (fi.reduce(0) { $0 + $1 * $1 } + 1e-4).squareRoot()
        let label = Int(batch.labels[i])
        var lossLogits = [Double]()
        for j in 0..<c {
            let wj = Array(batch.w[(j * d)..<((j + 1) * d)])
            let u = zip(fi, wj).reduce(0) { $0 + $1.0 * $1.1 }
            let a = (wj.reduce(0) { $0 + $1 * $1 } + 1e-4).squareRoot()
            var decision = u, lossLogit = u
            switch testCase.kind {
            case .linear: break
            case .weightNormalized:
                decision = u / a
                lossLogit = decision
            case let .generalizedAngular(m, op):
                let theta = acos(min(max(u / (a * b), -1 + 1e-6), 1 - 1e-6))
                decision = b * response(op, theta, 1)
                lossLogit = testCase.training && j == label ? b * response(op, theta, m) : decision
            }
            decisions.append(decision)
            lossLogits.append(lossLogit)
        }
        let top = lossLogits.max() ?? 0
        let sum = lossLogits.reduce(0) { $0 + exp($1 - top) }
        let smoothing = testCase.options.labelSmoothing
        for j in 0..<c {
            let p = exp(lossLogits[j] - top) / sum
            let y = (j == label ? 1 - smoothing : 0) + smoothing / Double(c)
            if y > 0 { total -= y * log(p + testCase.options.probabilityFloor) }
        }
    }
    return (total / Double(n), decisions)
}

/// True when every cosine is at least 1e-3 from the clamp and every GA target angle at least
/// 1e-3 from a joint kπ/m of ψ, so the loss is smooth around the batch.
private func isAwayFromKinks(_ kind: HeadKind, _ batch: LossBatch) -> Bool {
    guard case let .generalizedAngular(m, _) = kind else { return true }
    let d = batch.d
    for i in 0..<batch.n {
        let fi = batch.f[(i * d)..<((i + 1) * d)]
        let b = (fi.reduce(0) { $0 + $1 * $1 } + 1e-4).squareRoot()
        for j in 0..<batch.c {
            let wj = batch.w[(j * d)..<((j + 1) * d)]
            let a = (wj.reduce(0) { $0 + $1 * $1 } + 1e-4).squareRoot()
            let cosine = zip(fi, wj).reduce(0) { $0 + $1.0 * $1.1 } / (a * b)
            if abs(cosine) > 1 - 1e-3 { return false }
            if j == Int(batch.labels[i]) {
                let theta = acos(cosine)
                for k in stride(from: 1, to: m, by: 1) where abs(theta - Double(k) * .pi / Double(m)) < 1e-3 {
                    return false
                }
            }
        }
    }
    return true
}

/// Largest violation of |analytic − numeric| ≤ 1e-6 + 1e-5·|numeric| over f and W (≤ 0 passes),
/// with central differences of step 1e-6, plus the largest analytic magnitude.
private func finiteDifferenceViolation(_ testCase: LossTestCase, _ batch: LossBatch) throws -> (violation: Double, where: String, largest: Double) {
    let analytic = try runHead(Double.self, testCase, batch)
    let step = 1e-6
    var worst = -Double.infinity, worstAt = "", largest = 0.0
    func loss(_ probe: LossBatch) throws -> Double { try runHead(Double.self, testCase, probe, backward: false).loss }
    for (name, count) in [("f", batch.f.count), ("W", batch.w.count)] {
        for k in 0..<count {
            var plus = batch, minus = batch
            if name == "f" { plus.f[k] += step; minus.f[k] -= step } else { plus.w[k] += step; minus.w[k] -= step }
            let numeric = (try loss(plus) - loss(minus)) / (2 * step)
            let exact = name == "f" ? analytic.dF[k] : analytic.dW[k]
            let violation = abs(exact - numeric) - (1e-6 + 1e-5 * abs(numeric))
            largest = max(largest, abs(exact))
            if violation > worst || violation.isNaN {
                worst = violation
                worstAt = "\(name)[\(k)]: analytic \(exact), numeric \(numeric)"
            }
        }
    }
    return (worst, worstAt, largest)
}

@Suite("Score heads and cross-entropy")
struct LossTests {
    @Test("backward equals central finite differences of the loss (N 5, D 7, C 4)", arguments: LossTestCase.all)
    func gradientMatchesFiniteDifferences(_ testCase: LossTestCase) throws {
        let seeds = (UInt64(1)...50).lazy.map { makeBatch(seed: $0) }
        let batch = try #require(seeds.first { isAwayFromKinks(testCase.kind, $0) },
                                 "no seed in 1...50 gives a batch away from kinks")
        let check = try finiteDifferenceViolation(testCase, batch)
        #expect(check.violation <= 0, "worst at \(check.where)")
        #expect(check.largest > 1e-3, "gradient is suspiciously small: \(check.largest)")
    }

    @Test("forward matches an independent reference written from the formulas", arguments: LossTestCase.all)
    func forwardMatchesReference(_ testCase: LossTestCase) throws {
        for seed: UInt64 in 1...5 {
            let batch = makeBatch(seed: seed)
            let run = try runHead(Double.self, testCase, batch, backward: false)
            let reference = referenceForward(testCase, batch)
            #expect(abs(run.loss - reference.loss) <= 1e-12 + 1e-10 * abs(reference.loss), "seed \(seed)")
            let logitError = zip(run.logits, reference.logits).map { abs($0 - $1) }.max() ?? .nan
            #expect(logitError <= 1e-10, "seed \(seed)")
            let correct = (0..<batch.n).filter { i in
                let row = reference.logits[(i * batch.c)..<((i + 1) * batch.c)]
                return row.firstIndex(of: row.max() ?? 0) == i * batch.c + Int(batch.labels[i])
            }.count
            #expect(run.correct == correct, "seed \(seed)")
        }
    }

    @Test("the gradient stays exact with a clamped cosine, where it does not flow through the angle",
          arguments: [AngularOperator.cosine, .linear, .sigmoid(k: 0.3)])
    func clampedCosine(_ op: AngularOperator) throws {
        var batch = makeBatch(seed: 7)
        // ‖w‖ ≈ 200 and f = 2·w make 1 − cos θ ≈ 6e-9 even with the 1e-4 inside both norms.
        let y = Int(batch.labels[0]), d = batch.d
        for k in 0..<d {
            batch.w[y * d + k] *= 200
            batch.f[k] = 2 * batch.w[y * d + k]
        }
        let testCase = LossTestCase(kind: .generalizedAngular(margin: 2, op: op), options: .authors, training: true)
        let run = try runHead(Double.self, testCase, batch)
        #expect(run.loss.isFinite)
        let finite = (run.dF + run.dW).allSatisfy { $0.isFinite }
        #expect(finite)
        let check = try finiteDifferenceViolation(testCase, batch)
        #expect(check.violation <= 0, "worst at \(check.where)")
    }

    @Test("Float and Double agree to 1e-4 relative (N 32, D 64, C 10)", arguments: [
        HeadKind.linear, .weightNormalized, .generalizedAngular(margin: 4, op: .cosine),
        .generalizedAngular(margin: 2, op: .linear), .generalizedAngular(margin: 3, op: .sigmoid(k: 0.3)),
    ])
    func floatMatchesDouble(_ kind: HeadKind) throws {
        let batch = makeBatch(seed: 11, n: 32, d: 64, c: 10)
        let testCase = LossTestCase(kind: kind, options: .authors, training: true)
        let double = try runHead(Double.self, testCase, batch)
        let single = try runHead(Float.self, testCase, batch)
        #expect(abs(single.loss - double.loss) <= 1e-4 * abs(double.loss))
        #expect(single.correct == double.correct)
        for (name, a, b) in [("logits", single.logits, double.logits), ("dF", single.dF, double.dF), ("dW", single.dW, double.dW)] {
            let scale = b.map(abs).max() ?? 0
            let error = zip(a, b).map { abs(Double($0) - $1) }.max() ?? .nan
            #expect(scale > 0 && error <= 1e-4 * scale, "\(name): error \(error), scale \(scale)")
        }
    }

    @Test("dWeights is accumulated and dFeatures overwritten")
    func backwardAccumulatesWeightGradient() throws {
        let batch = makeBatch(seed: 3)
        let testCase = LossTestCase(kind: .generalizedAngular(margin: 3, op: .cosine), options: .authors, training: true)
        let fresh = try runHead(Double.self, testCase, batch)
        var head = try ScoreHead<Double>(kind: testCase.kind, options: testCase.options, maxBatch: 8, features: 7, classes: 4)
        var logits = [Double](repeating: 0, count: 5 * 4)
        var dF = [Double](repeating: 7, count: 5 * 7)
        var dW = [Double](repeating: 1, count: 4 * 7)
        _ = try head.forward(features: batch.f, weights: batch.w, labels: batch.labels, batch: 5, training: true, logits: &logits)
        try head.backward(features: batch.f, weights: batch.w, batch: 5, dFeatures: &dF, dWeights: &dW)
        #expect(zip(dF, fresh.dF).allSatisfy { abs($0 - $1) <= 1e-15 })
        #expect(zip(dW, fresh.dW).allSatisfy { abs($0 - 1 - $1) <= 1e-14 })
    }

    @Test("uniform logits give log C with plain options", arguments: [2, 4, 10, 100])
    func uniformLogits(_ classes: Int) throws {
        let batch = LossBatch(
            f: (0..<(3 * 5)).map { Double($0) }, w: [Double](repeating: 0, count: classes * 5),
            labels: [0, 1, Int32(classes - 1)], n: 3, d: 5, c: classes)
        let run = try runHead(Double.self, LossTestCase(kind: .linear, options: .plain, training: true), batch)
        #expect(abs(run.loss - log(Double(classes))) <= 1e-12)
        let logits = [Float](repeating: 3.7, count: 3 * classes)
        let evaluated = try CrossEntropy.evaluate(logits: logits, labels: batch.labels, batch: 3, classes: classes, options: .plain)
        #expect(abs(evaluated.loss - log(Double(classes))) <= 1e-6)
        #expect(evaluated.correct == 1, "ties go to class 0, the first label")
    }

    @Test("the authors' options bound the loss below by ≈ 0.0701 for C = 10")
    func authorsFloor() throws {
        let labels: [Int32] = [3]
        func loss(_ logits: [Double], _ options: CrossEntropyOptions) throws -> Double {
            try CrossEntropy.evaluate(logits: logits, labels: labels, batch: 1, classes: 10, options: options).loss
        }
        var confident = [Double](repeating: 0, count: 10)
        confident[3] = 60
        // Huge target logit: −0.991·log(1 + 1e-4) − 9·0.001·log(1e-4) = 0.082794.
        #expect(abs(try loss(confident, .authors) - 0.0827940) <= 1e-6)
        #expect(try loss(confident, .plain) <= 1e-24)
        // The infimum sits where p + 1e-4 ∝ y, i.e. p_target = 0.991891, p_other = 0.000901:
        // −Σ y·log(1.001·y) = 0.0701297.
        var best = [Double](repeating: log(0.000901), count: 10)
        best[3] = log(0.991891)
        let floor = try loss(best, .authors)
        #expect(abs(floor - 0.0701297) <= 1e-6)
        var random = TestRandom(state: 5)
        for _ in 0..<200 {
            let nearby = best.map { $0 + 0.5 * random.signedUnit() }
            #expect(try loss(nearby, .authors) >= floor - 1e-12)
        }
    }

    @Test("ψ is continuous, C¹ and strictly decreasing on [0, π]; ψ(0) = 1, ψ(π) = 1 − 2m", arguments: 1...4)
    func cosineExtension(_ m: Int) {
        func psi(_ theta: Double) -> (value: Double, slope: Double) {
            AngularOperator.cosine.response(cosine: cos(theta), margin: m)
        }
        #expect(abs(psi(0).value - 1) <= 1e-12)
        #expect(abs(psi(.pi).value - Double(1 - 2 * m)) <= 1e-12)
        for k in stride(from: 1, to: m, by: 1) {
            let joint = Double(k) * .pi / Double(m)
            let before = psi(joint - 1e-9), after = psi(joint + 1e-9)
            #expect(abs(before.value - after.value) <= 1e-8, "value jumps at \(k)π/\(m)")
            #expect(abs(before.slope) <= 1e-6 && abs(after.slope) <= 1e-6, "slope at \(k)π/\(m)")
        }
        let grid = (0...4000).map { psi(Double($0) * .pi / 4000).value }
        #expect(zip(grid, grid.dropFirst()).allSatisfy { $0 > $1 })
    }

    // Past mθ = π the sigmoid saturates at −1 to double precision, so only "never rises" holds there.
    @Test("linear and sigmoid responses with a margin decrease in θ, strictly while mθ ≤ π",
          arguments: [AngularOperator.linear, .sigmoid(k: 0.3), .sigmoid(k: 0.1)])
    func otherResponsesDecrease(_ op: AngularOperator) {
        for m in 1...4 {
            let angles = (0...4000).map { Double($0) * .pi / 4000 }
            let values = angles.map { op.response(cosine: cos($0), margin: m).value }
            for k in 1..<angles.count {
                let strict = Double(m) * angles[k] <= .pi
                #expect(strict ? values[k] < values[k - 1] : values[k] <= values[k - 1],
                        "m = \(m), θ = \(angles[k])")
            }
        }
    }

    @Test("response slopes equal finite differences in cos θ", arguments: [AngularOperator.cosine, .linear, .sigmoid(k: 0.3)])
    func responseSlopes(_ op: AngularOperator) {
        let step = 1e-6
        for m in 1...4 {
            for c in stride(from: -0.95, through: 0.95, by: 0.0625) {
                let numeric = (op.response(cosine: c + step, margin: m).value
                    - op.response(cosine: c - step, margin: m).value) / (2 * step)
                let slope = op.response(cosine: c, margin: m).slope
                #expect(abs(slope - numeric) <= 1e-6 + 1e-6 * abs(numeric), "m \(m), c \(c)")
            }
        }
    }

    @Test("operators match spherenet.md's check values")
    func operatorCheckValues() {
        let angles: [Double] = [0, .pi / 6, .pi / 4, .pi / 3, .pi / 2, 2 * .pi / 3, .pi]
        let sigmoid: [Double] = [1, 0.950909, 0.873266, 0.710245, 0, -0.710245, -1]
        let sigmoidSlope: [Double] = [-0.03548, -0.19341, -0.42697, -0.85266, -1.6845, -0.85266, -0.03548]
        let linear: [Double] = [1, 0.666667, 0.5, 0.333333, 0, -0.333333, -1]
        for (index, theta) in angles.enumerated() {
            // Unclamped: the values are finite at c = ±1 (only the slopes are not).
            let s = AngularOperator.sigmoid(k: 0.3).response(cosine: cos(theta), margin: 1)
            let l = AngularOperator.linear.response(cosine: cos(theta), margin: 1)
            #expect(abs(s.value - sigmoid[index]) <= 1e-6, "sigmoid at θ = \(theta)")
            #expect(abs(l.value - linear[index]) <= 1e-6, "linear at θ = \(theta)")
            // dg/dθ = slope·dc/dθ = −slope·sin θ; at θ = 0 and π it is 0·∞, so those are skipped.
            if index != 0 && index != 6 {
                #expect(abs(-s.slope * sin(theta) - sigmoidSlope[index]) <= 5e-5, "sigmoid slope at θ = \(theta)")
                #expect(abs(-l.slope * sin(theta) + 2 / Double.pi) <= 1e-12)
            }
        }
    }

    @Test("GA-Softmax with m = 1 and cosine is a plain softmax over ‖f‖·cos θ_j")
    func angularMarginOneIsNormalizedSoftmax() throws {
        let batch = makeBatch(seed: 21, n: 6, d: 9, c: 5)
        var scaled = [Double]()
        for i in 0..<batch.n {
            let fi = batch.f[(i * 9)..<((i + 1) * 9)]
            for j in 0..<batch.c {
                let wj = batch.w[(j * 9)..<((j + 1) * 9)]
                let a = (wj.reduce(0) { $0 + $1 * $1 } + 1e-4).squareRoot()
                scaled.append(zip(fi, wj).reduce(0) { $0 + $1.0 * $1.1 } / a)
            }
        }
        for options in [CrossEntropyOptions.plain, .authors] {
            for training in [true, false] {
                let testCase = LossTestCase(kind: .generalizedAngular(margin: 1, op: .cosine), options: options, training: training)
                let run = try runHead(Double.self, testCase, batch, backward: false)
                let softmax = try CrossEntropy.evaluate(
                    logits: scaled, labels: batch.labels, batch: batch.n, classes: batch.c, options: options)
                #expect(abs(run.loss - softmax.loss) <= 1e-12)
                #expect(run.correct == softmax.correct)
                #expect(zip(run.logits, scaled).allSatisfy { abs($0 - $1) <= 1e-12 })
            }
        }
    }

    @Test("evaluation mode returns the un-margined loss; the margin only raises the training loss",
          arguments: [AngularOperator.cosine, .linear, .sigmoid(k: 0.3)])
    func evaluationDropsMargin(_ op: AngularOperator) throws {
        let batch = makeBatch(seed: 4)
        let withoutMargin = try runHead(Double.self, LossTestCase(kind: .generalizedAngular(margin: 1, op: op), options: .authors, training: true), batch)
        let evaluation = try runHead(Double.self, LossTestCase(kind: .generalizedAngular(margin: 3, op: op), options: .authors, training: false), batch)
        let training = try runHead(Double.self, LossTestCase(kind: .generalizedAngular(margin: 3, op: op), options: .authors, training: true), batch)
        #expect(abs(evaluation.loss - withoutMargin.loss) <= 1e-14)
        #expect(evaluation.dF == withoutMargin.dF && evaluation.dW == withoutMargin.dW)
        #expect(training.loss > evaluation.loss + 1e-3)
        #expect(training.logits == evaluation.logits && training.correct == evaluation.correct)
    }

    @Test("predictions use the un-margined scores even when the margin makes the target lose")
    func predictionsIgnoreMargin() throws {
        // θ_target = 0.5 and θ_other = π/2: the margined target ψ(4·0.5) = cos 2 < 0 loses to the
        // other classes' cos(π/2) = 0, but the decision score ‖f‖·cos 0.5 wins.
        let angle = 0.5, length = 3.0
        let w: [Double] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
        let f = [length * cos(angle), 0, 0, length * sin(angle)]
        let batch = LossBatch(f: f, w: w, labels: [0], n: 1, d: 4, c: 3)
        let run = try runHead(Double.self, LossTestCase(kind: .generalizedAngular(margin: 4, op: .cosine), options: .plain, training: true), batch)
        #expect(run.correct == 1)
        #expect(run.loss > log(3.0), "the margined target should be below uniform")
        let b = (length * length + 1e-4).squareRoot(), a = (1 + 1e-4).squareRoot()
        #expect(abs(run.logits[0] - length * cos(angle) / a) <= 1e-12)
        #expect(abs(run.logits[0] - b * cos(angle)) <= 3e-4, "the 1e-4 inside the norms moves the score only slightly")
        #expect(abs(run.logits[1]) <= 1e-12 && abs(run.logits[2]) <= 1e-12)
    }

    @Test("bad configuration and input are reported as errors that name the field")
    func errorsAreValues() throws {
        #expect(throws: HeadError.invalidMargin(0)) {
            _ = try ScoreHead<Float>(kind: .generalizedAngular(margin: 0, op: .cosine), maxBatch: 4, features: 3, classes: 2)
        }
        #expect(throws: HeadError.invalidMargin(65)) { try HeadKind.generalizedAngular(margin: 65, op: .linear).validate() }
        #expect(throws: HeadError.invalidSigmoidSlope(0)) { try HeadKind.generalizedAngular(margin: 1, op: .sigmoid(k: 0)).validate() }
        #expect(throws: HeadError.self) { try HeadKind.generalizedAngular(margin: 1, op: .sigmoid(k: .nan)).validate() }
        #expect(throws: HeadError.invalidOption(field: "labelSmoothing", value: 1.5, allowed: "0...1")) {
            try CrossEntropyOptions(labelSmoothing: 1.5).validate()
        }
        #expect(throws: HeadError.invalidOption(field: "probabilityFloor", value: -1, allowed: "0...1")) {
            try CrossEntropyOptions(probabilityFloor: -1).validate()
        }
        #expect(throws: HeadError.self) { _ = try ScoreHead<Float>(kind: .linear, maxBatch: 4, features: 3, classes: 1) }

        var head = try ScoreHead<Double>(kind: .weightNormalized, maxBatch: 4, features: 2, classes: 3)
        let f = [Double](repeating: 0.5, count: 10), w = [Double](repeating: 0.25, count: 6)
        var logits = [Double](repeating: 0, count: 15), dF = [Double](repeating: 0, count: 10), dW = w
        #expect(throws: HeadError.backwardWithoutForward(batch: 4, lastForwardBatch: nil)) {
            try head.backward(features: f, weights: w, batch: 4, dFeatures: &dF, dWeights: &dW)
        }
        #expect(throws: HeadError.labelOutOfRange(example: 2, label: 3, classes: 3)) {
            _ = try head.forward(features: f, weights: w, labels: [0, 1, 3, 0], batch: 4, training: true, logits: &logits)
        }
        #expect(throws: HeadError.labelOutOfRange(example: 0, label: -1, classes: 3)) {
            _ = try head.forward(features: f, weights: w, labels: [-1], batch: 1, training: true, logits: &logits)
        }
        #expect(throws: HeadError.invalidSize(field: "batch", value: 5, allowed: "1...4 (the head's maxBatch)")) {
            _ = try head.forward(features: f, weights: w, labels: [0, 0, 0, 0, 0], batch: 5, training: true, logits: &logits)
        }
        _ = try head.forward(features: f, weights: w, labels: [0, 1, 2, 0], batch: 4, training: true, logits: &logits)
        #expect(throws: HeadError.backwardWithoutForward(batch: 3, lastForwardBatch: 4)) {
            try head.backward(features: f, weights: w, batch: 3, dFeatures: &dF, dWeights: &dW)
        }
        try head.setKind(.linear)
        #expect(throws: HeadError.backwardWithoutForward(batch: 4, lastForwardBatch: nil)) {
            try head.backward(features: f, weights: w, batch: 4, dFeatures: &dF, dWeights: &dW)
        }
        #expect(throws: HeadError.labelOutOfRange(example: 1, label: 7, classes: 3)) {
            _ = try CrossEntropy.evaluate(logits: logits, labels: [0, 7], batch: 2, classes: 3, options: .authors)
        }

        let message = HeadError.labelOutOfRange(example: 2, label: 3, classes: 3).description
        #expect(message.contains("example 2") && message.contains("0..<3"))
        #expect(HeadError.invalidMargin(0).description.contains("margin"))
    }

    @Test("a NaN feature gives a NaN loss, not a crash or a finite number")
    func nonFiniteInputStaysVisible() throws {
        var batch = makeBatch(seed: 9)
        batch.f[3] = .nan
        for kind in LossTestCase.kinds {
            let run = try runHead(Double.self, LossTestCase(kind: kind, options: .authors, training: true), batch)
            #expect(run.loss.isNaN, "\(kind)")
        }
    }

    @Test("head kinds and options survive a JSON round trip")
    func codableRoundTrip() throws {
        let kinds = LossTestCase.kinds
        let decodedKinds = try JSONDecoder().decode([HeadKind].self, from: JSONEncoder().encode(kinds))
        #expect(decodedKinds == kinds)
        let options = [CrossEntropyOptions.plain, .authors]
        #expect(try JSONDecoder().decode([CrossEntropyOptions].self, from: JSONEncoder().encode(options)) == options)
    }
}
