/// (step, value) of one series, with the run's compute time at that step when known.
public struct MetricPoint: Sendable, Equatable, Codable {
    public var step: Int
    public var value: Double
    /// Seconds of training and evaluation the run had spent when the point was taken (the
    /// wall-clock x axis: SphereConv variants cost differently per step).
    public var seconds: Double?
    public init(step: Int, value: Double, seconds: Double? = nil) { self.step = step; self.value = value; self.seconds = seconds }
}

/// Consecutive points folded into one: their step span, count, and min / mean / max, so a
/// downsampled history still shows its spikes.
public struct MetricBucket: Sendable, Equatable, Codable {
    public var firstStep: Int
    public var lastStep: Int
    public var count: Int
    public var min: Double
    public var mean: Double
    public var max: Double
    /// Compute seconds at `lastStep`.
    public var seconds: Double?

    init(_ p: MetricPoint) {
        firstStep = p.step; lastStep = p.step; count = 1
        min = p.value; mean = p.value; max = p.value; seconds = p.seconds
    }

    /// `self` followed by `later`. NaN stays visible: it poisons the mean and both bounds.
    mutating func absorb(_ later: MetricBucket) {
        let total = count + later.count
        mean = (mean * Double(count) + later.mean * Double(later.count)) / Double(total)
        min = (min.isNaN || later.min.isNaN) ? .nan : Swift.min(min, later.min)
        max = (max.isNaN || later.max.isNaN) ? .nan : Swift.max(max, later.max)
        count = total
        lastStep = later.lastStep
        seconds = later.seconds ?? seconds
    }

    /// The bucket drawn as one point: its mean at its last step.
    public var point: MetricPoint { MetricPoint(step: lastStep, value: mean, seconds: seconds) }
}

/// A metric over a whole run in bounded memory: the newest `recentCapacity` points at full
/// resolution, everything before them in at most `bucketCapacity` min/mean/max buckets of
/// `pointsPerBucket` points each. When the buckets fill up, neighbours merge pairwise and the
/// bucket size doubles — the same scheme as `AngleHistory` — so the whole run stays drawn.
///
/// Appending costs O(1) amortised; a copy shared with the UI costs at most the bounded
/// size to detach, whatever the run length. Deterministic: a series saved and restored
/// continues exactly as one that was never interrupted.
public struct MetricSeries: Sendable, Equatable {
    public static let recentCapacity = 1024
    public static let bucketCapacity = 256
    static let firstBucketSize = 4

    public private(set) var buckets: [MetricBucket] = []
    public private(set) var recent: [MetricPoint] = []
    /// Points per bucket for the buckets being made now (older ones may hold fewer).
    public private(set) var pointsPerBucket = MetricSeries.firstBucketSize
    /// Points ever appended.
    public private(set) var total = 0

    public init() {}

    public init(_ points: [MetricPoint]) {
        for p in points { append(p) }
    }

    public var last: MetricPoint? { recent.last ?? buckets.last?.point }
    public var isEmpty: Bool { total == 0 }

    public mutating func append(_ p: MetricPoint) {
        recent.append(p)
        total += 1
        guard recent.count >= MetricSeries.recentCapacity + pointsPerBucket else { return }
        // Fold the oldest `pointsPerBucket` recent points into one bucket.
        var b = MetricBucket(recent[0])
        for i in 1..<pointsPerBucket { b.absorb(MetricBucket(recent[i])) }
        recent.removeFirst(pointsPerBucket)
        buckets.append(b)
        if buckets.count > MetricSeries.bucketCapacity {
            var merged: [MetricBucket] = []
            merged.reserveCapacity(buckets.count / 2 + 1)
            var i = 0
            while i + 1 < buckets.count {
                var m = buckets[i]
                m.absorb(buckets[i + 1])
                merged.append(m)
                i += 2
            }
            if i < buckets.count { merged.append(buckets[i]) }
            buckets = merged
            pointsPerBucket *= 2
        }
    }

    /// The series as drawable points: each bucket's mean, then every recent point.
    public var points: [MetricPoint] { buckets.map(\.point) + recent }

    /// Every value in the series' memory as (step, min, mean, max): buckets with their span,
    /// recent points with min = mean = max.
    public var spans: [(step: Int, min: Double, mean: Double, max: Double, seconds: Double?)] {
        buckets.map { ($0.lastStep, $0.min, $0.mean, $0.max, $0.seconds) } + recent.map { ($0.step, $0.value, $0.value, $0.value, $0.seconds) }
    }

    /// The highest value (NaN ignored) and the step it was reached.
    public var maximum: MetricPoint? {
        var best: MetricPoint?
        for b in buckets where !b.max.isNaN && b.max > (best?.value ?? -.infinity) {
            best = MetricPoint(step: b.lastStep, value: b.max, seconds: b.seconds)
        }
        for p in recent where !p.value.isNaN && p.value > (best?.value ?? -.infinity) { best = p }
        return best
    }
}

extension MetricSeries: Codable {
    enum CodingKeys: String, CodingKey { case buckets, recent, pointsPerBucket, total }

    /// Reads the bounded form, or a plain array of points (snapshots written before it).
    public init(from decoder: any Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var points: [MetricPoint] = []
            while !list.isAtEnd { points.append(try list.decode(MetricPoint.self)) }
            self.init(points)
            return
        }
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        buckets = try c.decode([MetricBucket].self, forKey: .buckets)
        recent = try c.decode([MetricPoint].self, forKey: .recent)
        pointsPerBucket = try c.decode(Int.self, forKey: .pointsPerBucket)
        total = try c.decode(Int.self, forKey: .total)
        let size = MetricSeries.firstBucketSize
        guard buckets.count <= MetricSeries.bucketCapacity, recent.count < MetricSeries.recentCapacity + pointsPerBucket,
              pointsPerBucket >= size, pointsPerBucket <= size << 40, pointsPerBucket & (pointsPerBucket - 1) == 0,
              total >= recent.count + buckets.count, buckets.allSatisfy({ $0.count >= 1 && $0.firstStep <= $0.lastStep }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath,
                debugDescription: "a metric series must hold at most \(MetricSeries.bucketCapacity) buckets and \(MetricSeries.recentCapacity) recent points, with a power-of-two bucket size"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(buckets, forKey: .buckets)
        try c.encode(recent, forKey: .recent)
        try c.encode(pointsPerBucket, forKey: .pointsPerBucket)
        try c.encode(total, forKey: .total)
    }
}
