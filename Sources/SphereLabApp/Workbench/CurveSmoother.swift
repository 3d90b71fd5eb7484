import Foundation
import Engine

/// TensorBoard's debiased exponential moving average of a run's train loss and accuracy,
/// extended incrementally as telemetry brings new points: m ← w·m + (1−w)·v, shown as
/// m / (1 − wⁿ). One per run on screen (the focused run's, and each race contender's).
public struct CurveSmoother: Sendable {
    public private(set) var loss: [MetricPoint] = []
    public private(set) var accuracy: [MetricPoint] = []
    private var mean = (loss: 0.0, accuracy: 0.0)
    /// Points of the train series taken in so far.
    public private(set) var count = 0

    public init() {}

    /// Whether `new` cannot extend what was smoothed from `old` (buckets merged, history
    /// replaced): then `reset` and extend from the start.
    public func mustRestart(old: Telemetry, new: Telemetry) -> Bool {
        let o = old.history.trainLoss, n = new.history.trainLoss
        return n.total < o.total || n.buckets.count != o.buckets.count || n.pointsPerBucket != o.pointsPerBucket
            || new.trainLoss.count < count
    }

    public mutating func reset() {
        loss.removeAll(keepingCapacity: true)
        accuracy.removeAll(keepingCapacity: true)
        mean = (0, 0)
        count = 0
    }

    /// Takes in the train points of `t` not seen yet, with weight `w`.
    public mutating func extend(_ t: Telemetry, weight w: Double) {
        let lossPoints = t.trainLoss, accuracyPoints = t.trainAccuracy
        var (ml, ma) = mean
        var n = count
        while n < lossPoints.count {
            ml = w * ml + (1 - w) * lossPoints[n].value
            ma = w * ma + (1 - w) * (n < accuracyPoints.count ? accuracyPoints[n].value : 0)
            n += 1
            let debias = 1 - pow(w, Double(n))
            let scale = debias > 0 ? 1 / debias : 1
            loss.append(MetricPoint(step: lossPoints[n - 1].step, value: ml * scale, seconds: lossPoints[n - 1].seconds))
            accuracy.append(MetricPoint(step: lossPoints[n - 1].step, value: ma * scale, seconds: lossPoints[n - 1].seconds))
        }
        mean = (ml, ma)
        count = n
    }

    /// Takes `new` after `old`: extends, or starts over when it must.
    public mutating func absorb(old: Telemetry, new: Telemetry, weight: Double) {
        if mustRestart(old: old, new: new) { reset() }
        extend(new, weight: weight)
    }
}
