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

    /// Makes the rate from `step` on equal `rate`; milestones after `step` still apply.
    /// Milestones already passed are dropped and `rate` becomes the base: scaling the base up
    /// past the passed drops instead could leave the learning rate's range (1e-5 after two
    /// drops set to 0.5 would need a base of 50), and the earlier rates are history.
    public mutating func setRate(_ rate: Float, at step: Int) {
        milestones.removeAll { $0 <= step }
        base = rate
    }
}

import Foundation
