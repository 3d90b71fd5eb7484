/// Why a score head or cross-entropy call refused its input. Each message names the
/// offending field and value and says what to change.
public enum HeadError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidMargin(Int)
    case invalidSigmoidSlope(Double)
    /// A `CrossEntropyOptions` field outside its range.
    case invalidOption(field: String, value: Double, allowed: String)
    /// A size (batch, feature or class count) outside what the head was built for.
    case invalidSize(field: String, value: Int, allowed: String)
    case labelOutOfRange(example: Int, label: Int32, classes: Int)
    /// `backward` without a matching `forward` since the head was built or reconfigured.
    case backwardWithoutForward(batch: Int, lastForwardBatch: Int?)

    public var description: String {
        switch self {
        case let .invalidMargin(margin):
            return "HeadKind.generalizedAngular.margin is \(margin), outside 1...\(HeadKind.maximumMargin): "
                + "the margin multiplies the target angle and must be a whole number ≥ 1 "
                + "(1 means no margin; the paper uses 1–4). Choose a margin in that range."
        case let .invalidSigmoidSlope(k):
            return "AngularOperator.sigmoid.k is \(k): it must be a finite number > 0 "
                + "(the paper's default is 0.3). Choose a positive k."
        case let .invalidOption(field, value, allowed):
            return "CrossEntropyOptions.\(field) is \(value), outside \(allowed). "
                + "Use a value in that range (0 turns the tweak off)."
        case let .invalidSize(field, value, allowed):
            return "ScoreHead \(field) is \(value), outside \(allowed). "
                + "Build the head with sizes that match the network, or pass a batch that fits."
        case let .labelOutOfRange(example, label, classes):
            return "label \(label) of example \(example) in the batch is outside 0..<\(classes): "
                + "the dataset's labels do not match the head's class count. "
                + "Check the dataset's class count against the model's."
        case let .backwardWithoutForward(batch, last):
            let seen = last.map { "the last forward had batch \($0)" }
                ?? "no forward has run since the head was built or reconfigured"
            return "ScoreHead.backward called for batch \(batch) but \(seen). "
                + "Call forward on the same batch immediately before backward."
        }
    }
}
