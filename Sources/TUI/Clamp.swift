extension Int {
    /// `value` rounded toward zero and clamped to `range`; NaN gives the lower bound.
    /// Converting a huge Double straight to Int traps, and chart inputs can be anything.
    init(clamping value: Double, to range: ClosedRange<Int>) {
        guard !value.isNaN else { self = range.lowerBound; return }
        if value <= Double(range.lowerBound) { self = range.lowerBound; return }
        if value >= Double(range.upperBound) { self = range.upperBound; return }
        self = Int(value)
    }
}
