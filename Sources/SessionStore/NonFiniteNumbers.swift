import Foundation

/// The rule for numbers that are not finite (NaN, +∞, −∞) in session.json.
///
/// JSON has no literal for them, and a run that diverged has such metrics (a NaN test loss, an
/// infinite training loss). SphereLab writes them as these three JSON **strings** wherever a
/// number is expected:
///
/// | value | written as |
/// |---|---|
/// | NaN (any payload, either sign) | `"nan"` |
/// | +∞ | `"inf"` |
/// | −∞ | `"-inf"` |
///
/// Finite numbers are ordinary JSON numbers. The store's own reader accepts the strings (they are
/// plain JSON), and listings show a non-finite `summary.bestTestAccuracy` as unknown. This is also
/// what SphereLab 1 already wrote (Foundation's `.convertToString` strategy with these strings),
/// so snapshots saved before this rule load with it.
///
/// To follow the rule, either encode and decode the whole document with
/// `SessionJSON.makeEncoder()` / `SessionJSON.makeDecoder()` (every `Float`/`Double` field
/// then round-trips, NaN included), or store individual values as `FiniteOrNot<Double>` /
/// `FiniteOrNot<Float>`, which read and write the same form with any coder.
public enum SessionJSON {
    /// The string written for NaN.
    public static let nanString = "nan"
    /// The string written for +∞.
    public static let positiveInfinityString = "inf"
    /// The string written for −∞.
    public static let negativeInfinityString = "-inf"

    /// A JSONEncoder for session.json: non-finite numbers as the rule's strings, keys sorted
    /// (stable files that diff well).
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: positiveInfinityString, negativeInfinity: negativeInfinityString, nan: nanString)
        return encoder
    }

    /// A JSONDecoder for session.json that reads the rule's strings back as NaN, +∞ and −∞.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: positiveInfinityString, negativeInfinity: negativeInfinityString, nan: nanString)
        return decoder
    }

    /// The rule's string for a non-finite value; nil for finite values (write them as numbers).
    public static func string<Value: BinaryFloatingPoint>(forNonFinite value: Value) -> String? {
        if value.isNaN { return nanString }
        if value.isInfinite { return value < 0 ? negativeInfinityString : positiveInfinityString }
        return nil
    }

    /// The value a rule string stands for; nil for any other text.
    public static func nonFiniteValue<Value: BinaryFloatingPoint>(for text: String, as type: Value.Type = Value.self) -> Value? {
        switch text {
        case nanString: return .nan
        case positiveInfinityString: return .infinity
        case negativeInfinityString: return -.infinity
        default: return nil
        }
    }
}

/// A floating-point value that may be NaN or infinite, coded by the session.json rule
/// (see `SessionJSON`): a JSON number when finite, else `"nan"`, `"inf"` or `"-inf"`.
///
/// It works with any JSONEncoder/JSONDecoder, whatever their non-conforming float strategy.
/// Decoding also accepts `null` as NaN, so hand-written files that use null are read.
public struct FiniteOrNot<Value: BinaryFloatingPoint & Codable & Sendable>: Codable, Sendable, Equatable, Hashable {
    public var value: Value

    public init(_ value: Value) { self.value = value }

    public var isFinite: Bool { value.isFinite }

    /// NaN equals NaN here, so that a decoded document compares equal to the one encoded.
    public static func == (a: Self, b: Self) -> Bool {
        (a.value.isNaN && b.value.isNaN) || a.value == b.value
    }

    public func hash(into hasher: inout Hasher) {
        if value.isNaN { hasher.combine(0 as UInt8) } else { hasher.combine(value) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = .nan
            return
        }
        if let text = try? container.decode(String.self) {
            guard let special = SessionJSON.nonFiniteValue(for: text, as: Value.self) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "expected a number or one of \"nan\", \"inf\", \"-inf\", found the string \"\(text.prefix(40))\"")
            }
            value = special
            return
        }
        value = try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let text = SessionJSON.string(forNonFinite: value) {
            try container.encode(text)
        } else {
            try container.encode(value)
        }
    }
}
