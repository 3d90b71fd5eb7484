/// Step schedule: lr = base · factor^(number of milestones ≤ step). The authors' run uses
/// 1e-3, ÷10 at 34k and 54k iterations.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public var base: Float
    public var milestones: [Int]
    public var factor: Float

    public init(base: Float, milestones: [Int] = [], factor: Float = 0.1) {
        self.base = base; self.milestones = milestones.sorted(); self.factor = factor
    }

    public func rate(at step: Int) -> Float {
        let passed = milestones.filter { $0 <= step }.count
        return base * pow(factor, Float(passed))
    }

    /// Makes the rate at `step` equal `rate`; later milestones still apply.
    public mutating func setRate(_ rate: Float, at step: Int) {
        let passed = milestones.filter { $0 <= step }.count
        base = rate / pow(factor, Float(passed))
    }
}

import Foundation
