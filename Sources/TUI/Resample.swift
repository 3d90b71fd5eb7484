/// Changing the number of bins of a histogram-like vector for display.
public enum Resample {
    /// How merged bins combine.
    public enum Merge: Sendable {
        /// Counts: the merged value is the sum, so the total is conserved.
        case sum
        /// Intensities: the merged value is the mean.
        case mean
    }

    /// Resamples `values` to `count` entries. Shrinking merges neighbouring bins, splitting a bin
    /// that straddles two outputs in proportion to the overlap (every input contributes, and
    /// with `.sum` the total is conserved). Growing repeats each bin over the outputs whose
    /// centre falls in it, so heights stay what they were. Non-finite inputs count as 0.
    public static func bins(_ values: [Double], to count: Int, merge: Merge = .sum) -> [Double] {
        let n = values.count
        guard count > 0 else { return [] }
        guard n > 0 else { return [Double](repeating: 0, count: count) }
        if n == count { return values.map { $0.isFinite ? $0 : 0 } }
        var result = [Double](repeating: 0, count: count)
        if n < count {
            for i in 0..<count {
                let v = values[min(n - 1, (2 * i + 1) * n / (2 * count))]
                result[i] = v.isFinite ? v : 0
            }
            return result
        }
        // Output i covers input positions [i·n/count, (i+1)·n/count), in units of input bins.
        let width = Double(n) / Double(count)
        for i in 0..<count {
            let start = Double(i) * width, end = Double(i + 1) * width
            var first = Int(start), total = 0.0
            while first < n && Double(first) < end {
                let overlap = min(end, Double(first + 1)) - max(start, Double(first))
                let v = values[first]
                if overlap > 0 && v.isFinite { total += v * overlap }
                first += 1
            }
            result[i] = merge == .sum ? total : total / width
        }
        return result
    }

    /// Which time samples each display column averages: column c takes samples
    /// [⌊c·n/count⌋, ⌊(c+1)·n/count⌋), so every sample lands in exactly one column and, when
    /// n ≥ count, every column gets at least one. Fewer samples than columns: one column each.
    static func groups(sampleCount n: Int, columns count: Int) -> [Range<Int>] {
        guard n > 0, count > 0 else { return [] }
        if n <= count { return (0..<n).map { $0..<($0 + 1) } }
        return (0..<count).map { c in (c * n / count)..<((c + 1) * n / count) }
    }
}
