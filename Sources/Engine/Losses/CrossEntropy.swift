import Foundation

/// The two tweaks of the authors' softmax cross-entropy (spherenet.md §3).
/// Targets are y = (1 − ε)·onehot + ε/C and the loss is −Σ_j y_j·log(p_j + φ),
/// p = softmax(logits).
public struct CrossEntropyOptions: Sendable, Codable, Equatable {
    /// ε; 0 gives one-hot targets. The authors use 0.01 (0.991 / 0.001 for 10 classes).
    public var labelSmoothing: Double
    /// φ added to every probability before the log; 0 for none, the authors use 1e-4.
    /// With both tweaks the loss cannot fall below ≈ 0.0701 for 10 classes.
    public var probabilityFloor: Double

    public init(labelSmoothing: Double = 0, probabilityFloor: Double = 0) {
        self.labelSmoothing = labelSmoothing
        self.probabilityFloor = probabilityFloor
    }

    /// Textbook cross-entropy.
    public static let plain = CrossEntropyOptions()
    /// The settings of the authors' runs.
    public static let authors = CrossEntropyOptions(labelSmoothing: 0.01, probabilityFloor: 1e-4)

    /// Throws if a field is outside [0, 1] or not a number.
    public func validate() throws(HeadError) {
        guard (0...1).contains(labelSmoothing) else {
            throw .invalidOption(field: "labelSmoothing", value: labelSmoothing, allowed: "0...1")
        }
        guard (0...1).contains(probabilityFloor) else {
            throw .invalidOption(field: "probabilityFloor", value: probabilityFloor, allowed: "0...1")
        }
    }
}

/// Cross-entropy on logits that are already computed.
public enum CrossEntropy {
    /// Mean loss over the batch and the number of examples whose highest logit (first on ties)
    /// is the label. Cheap: no gradient state, no allocation.
    /// - Parameters: logits (n, classes) row-major; labels (n).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func evaluate<Scalar: BinaryFloatingPoint>(
        logits: UnsafePointer<Scalar>, labels: UnsafePointer<Int32>, batch n: Int, classes: Int,
        options: CrossEntropyOptions
    ) throws(HeadError) -> (loss: Double, correct: Int) {
        try options.validate()
        guard n >= 1 else { throw .invalidSize(field: "batch", value: n, allowed: "1 or more") }
        guard classes >= 2 else { throw .invalidSize(field: "classes", value: classes, allowed: "2 or more") }
        try checkLabels(labels, batch: n, classes: classes)
        var total = 0.0
        var correct = 0
        for i in 0..<n {
            let row = logits + i * classes
            let label = Int(labels[i])
            total += rowLoss(logits: row, classes: classes, label: label, options: options, probabilities: nil)
            if argmax(row, classes) == label { correct += 1 }
        }
        return (total / Double(n), correct)
    }

    /// Throws for the first label outside 0..<classes.
    static func checkLabels(_ labels: UnsafePointer<Int32>, batch n: Int, classes: Int) throws(HeadError) {
        for i in 0..<n where !(0..<classes).contains(Int(labels[i])) {
            throw .labelOutOfRange(example: i, label: labels[i], classes: classes)
        }
    }

    /// −Σ_j y_j·log(p_j + φ) for one example, with a max-shifted log-sum-exp so large logits
    /// cannot overflow. Writes p into `probabilities` when given (the backward reads it).
    /// A NaN or infinite logit yields a NaN loss, so divergence stays visible.
    @inline(__always)
    static func rowLoss<T: BinaryFloatingPoint>(
        logits z: UnsafePointer<T>, classes c: Int, label: Int, options: CrossEntropyOptions,
        probabilities: UnsafeMutablePointer<Double>?
    ) -> Double {
        var largest = -Double.infinity
        var nonFinite = false
        for j in 0..<c {
            let value = Double(z[j])
            nonFinite = nonFinite || !value.isFinite
            largest = max(largest, value)
        }
        if nonFinite { largest = .nan }
        var sum = 0.0
        for j in 0..<c { sum += exp(Double(z[j]) - largest) }
        let logNormaliser = largest + log(sum)
        let offTarget = options.labelSmoothing / Double(c)
        let onTarget = 1 - options.labelSmoothing + offTarget
        let floor = options.probabilityFloor
        var loss = 0.0
        for j in 0..<c {
            let logP = Double(z[j]) - logNormaliser
            let p = exp(logP)
            probabilities?[j] = p
            let y = j == label ? onTarget : offTarget
            // Skipping y = 0 avoids 0·(−∞) when a probability underflows in the plain loss.
            guard y != 0 else { continue }
            loss -= y * (floor > 0 ? log(p + floor) : logP)
        }
        return loss
    }

    /// ∂loss/∂logits for one example, from the probabilities `rowLoss` stored, times `scale`
    /// (1/N for a batch mean). With q = p + φ and r = p/q (r = 1 when φ = 0, which keeps
    /// an underflowed p from giving 0·∞): ∂/∂z_k = p_k·Σ_j y_j r_j − y_k r_k.
    @inline(__always)
    static func rowGradient(
        probabilities p: UnsafePointer<Double>, classes c: Int, label: Int,
        options: CrossEntropyOptions, scale: Double, into gradient: UnsafeMutablePointer<Double>
    ) {
        let offTarget = options.labelSmoothing / Double(c)
        let onTarget = 1 - options.labelSmoothing + offTarget
        let floor = options.probabilityFloor
        var weighted = 0.0
        for j in 0..<c {
            let y = j == label ? onTarget : offTarget
            weighted += y * (floor > 0 ? p[j] / (p[j] + floor) : 1)
        }
        for j in 0..<c {
            let y = j == label ? onTarget : offTarget
            let ratio = floor > 0 ? p[j] / (p[j] + floor) : 1
            gradient[j] = scale * (p[j] * weighted - y * ratio)
        }
    }

    /// Index of the largest entry, the first one on ties; NaN entries never win.
    @inline(__always)
    static func argmax<T: BinaryFloatingPoint>(_ row: UnsafePointer<T>, _ count: Int) -> Int {
        var best = 0
        for j in 1..<max(count, 1) where row[j] > row[best] || row[best].isNaN {
            best = j
        }
        return best
    }
}
