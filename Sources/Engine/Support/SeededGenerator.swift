import Foundation

/// The one random number generator of SphereLab: xoshiro256** (Blackman & Vigna), with
/// its 256-bit state filled from a 64-bit seed by SplitMix64.
///
/// Its whole state is four words, so a snapshot stores `state` and a resumed run draws
/// exactly the numbers an uninterrupted run would have drawn. No method keeps hidden
/// state (in particular `nextGaussian` caches nothing) so `state` is always the complete
/// truth. Results are identical on every platform except the last bit or so of
/// `nextGaussian`, which goes through libm's `log` and `cos`.
public struct SeededGenerator: RandomNumberGenerator, NormalSource, Sendable, Codable, Equatable {
    private var s0, s1, s2, s3: UInt64

    /// Expands `seed` with SplitMix64; every seed (0 included) gives a usable state.
    public init(seed: UInt64) {
        var mixer = seed
        s0 = splitMix64(&mixer)
        s1 = splitMix64(&mixer)
        s2 = splitMix64(&mixer)
        s3 = splitMix64(&mixer)
    }

    /// The four state words, for snapshots.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// Restores a state saved from `state`. Throws unless it is four words, not all zero
    /// (the all-zero state would emit zeros forever).
    public init(state: [UInt64]) throws {
        guard state.count == 4 else {
            throw EngineError("generator state: expected 4 words, found \(state.count); the saved state is damaged — start from a seed instead")
        }
        guard state.contains(where: { $0 != 0 }) else {
            throw EngineError("generator state: all four words are zero; the saved state is damaged — start from a seed instead")
        }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// Encoded as the plain array of four state words.
    public init(from decoder: any Decoder) throws {
        try self.init(state: decoder.singleValueContainer().decode([UInt64].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(state)
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// Uniform in [0, 1): the top 24 bits, so every value is an exact multiple of 2⁻²⁴.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A standard normal sample by the Box–Muller transform, computed in Double from two
    /// 53-bit uniforms. Uses exactly two `next()` calls and keeps the partner value
    /// unused, so no extra state exists to snapshot.
    public mutating func nextGaussian() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53   // (0, 1]: log stays finite
        let u2 = Double(next() >> 11) * 0x1p-53         // [0, 1)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Uniform in `0..<n` without modulo bias (Lemire's multiply-and-reject).
    /// `n` must be positive.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below:) needs a positive bound")
        let bound = UInt64(n)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            // Values of `low` under 2⁶⁴ mod n would favour some results; draw again.
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return Int(product.high)
    }
}

extension SeededGenerator {
    /// SplitMix64's finaliser, for deriving independent stream seeds from one run seed.
    public static func mix(_ value: UInt64) -> UInt64 { mix64(value) }
}

/// One SplitMix64 step: advances `x` and returns a well-mixed word.
func splitMix64(_ x: inout UInt64) -> UInt64 {
    x &+= 0x9e37_79b9_7f4a_7c15
    return mix64(x)
}

/// SplitMix64's finaliser: a bijective scramble of one word.
func mix64(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}

@inline(__always)
private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
    (x << k) | (x >> (64 - k))
}
