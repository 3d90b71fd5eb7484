import Foundation
import Testing
@testable import Engine

@Suite struct SeededGeneratorTests {
    /// SplitMix64 from seed 0 gives the published first outputs; they become the state.
    @Test func seedingUsesSplitMix64() {
        let generator = SeededGenerator(seed: 0)
        #expect(generator.state == [0xe220_a839_7b1d_cdaf, 0x6e78_9e6a_a1b9_65f4,
                                    0x06c4_5d18_8009_454f, 0xf88b_b8a8_724c_81ec])
    }

    /// xoshiro256** from state (1, 2, 3, 4), worked by hand from the reference algorithm.
    @Test func xoshiroKnownAnswers() throws {
        var generator = try SeededGenerator(state: [1, 2, 3, 4])
        #expect(generator.next() == 11_520)
        #expect(generator.next() == 0)
        #expect(generator.next() == 1_509_978_240)
        #expect(generator.next() == 1_215_971_899_390_074_240)
    }

    @Test func sameSeedSameStreamDifferentSeedDifferentStream() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        var c = SeededGenerator(seed: 43)
        let streamA = (0..<100).map { _ in a.next() }
        let streamB = (0..<100).map { _ in b.next() }
        let streamC = (0..<100).map { _ in c.next() }
        #expect(streamA == streamB)
        #expect(streamA != streamC)
    }

    @Test func stateRoundTripContinuesExactly() throws {
        var original = SeededGenerator(seed: 7)
        for _ in 0..<13 { _ = original.nextGaussian() }
        var resumed = try SeededGenerator(state: original.state)
        #expect(resumed == original)
        for _ in 0..<50 {
            #expect(resumed.next() == original.next())
            #expect(resumed.nextGaussian() == original.nextGaussian())
            #expect(resumed.nextUnitFloat() == original.nextUnitFloat())
            #expect(resumed.nextInt(below: 1000) == original.nextInt(below: 1000))
        }
    }

    @Test func codableIsTheStateArray() throws {
        var generator = SeededGenerator(seed: 99)
        _ = generator.next()
        let json = try JSONEncoder().encode(generator)
        let words = try JSONDecoder().decode([UInt64].self, from: json)
        #expect(words == generator.state)
        #expect(try JSONDecoder().decode(SeededGenerator.self, from: json) == generator)
        #expect(throws: (any Error).self) {
            _ = try JSONDecoder().decode(SeededGenerator.self, from: Data("[0,0,0,0]".utf8))
        }
    }

    @Test(arguments: [[UInt64](), [1, 2, 3], [1, 2, 3, 4, 5], [0, 0, 0, 0]])
    func invalidStateIsRefused(words: [UInt64]) {
        #expect {
            _ = try SeededGenerator(state: words)
        } throws: { error in
            (error as? EngineError)?.message.hasPrefix("generator state:") == true
        }
    }

    @Test func unitFloatStaysInRangeWithMeanOneHalf() {
        var generator = SeededGenerator(seed: 1)
        var sum = 0.0
        let n = 100_000
        for _ in 0..<n {
            let u = generator.nextUnitFloat()
            #expect(u >= 0 && u < 1)
            sum += Double(u)
        }
        // Standard error of the mean is 0.29/√n ≈ 0.0009; allow ~5σ.
        #expect(abs(sum / Double(n) - 0.5) < 0.005)
    }

    @Test func gaussianHasMeanZeroVarianceOne() {
        var generator = SeededGenerator(seed: 2)
        let n = 200_000
        var sum = 0.0, squares = 0.0
        for _ in 0..<n {
            let g = Double(generator.nextGaussian())
            #expect(g.isFinite)
            sum += g
            squares += g * g
        }
        let mean = sum / Double(n)
        let variance = squares / Double(n) - mean * mean
        // σ(mean) ≈ 0.0022, σ(variance) ≈ 0.0032; allow ~5σ.
        #expect(abs(mean) < 0.011)
        #expect(abs(variance - 1) < 0.016)
    }

    @Test func intBelowIsUniform() {
        var generator = SeededGenerator(seed: 3)
        var counts = [Int](repeating: 0, count: 6)
        let n = 60_000
        for _ in 0..<n { counts[generator.nextInt(below: 6)] += 1 }
        // Each count is binomial(60000, 1/6): mean 10000, σ ≈ 91; allow ~5σ.
        for count in counts { #expect(abs(count - 10_000) < 460) }
        for _ in 0..<100 { #expect(generator.nextInt(below: 1) == 0) }
    }

    /// n = 0.4·2⁶⁴: multiply-shift without rejection would give every even result 3 of
    /// the 2⁶⁴ inputs and every odd one 2, so P(even) = 0.6. Rejection must bring it to 0.5.
    @Test func intBelowHugeBoundIsUnbiased() {
        var generator = SeededGenerator(seed: 4)
        let n = 7_378_697_629_483_820_646
        var even = 0
        let draws = 30_000
        for _ in 0..<draws {
            let value = generator.nextInt(below: n)
            #expect(value >= 0 && value < n)
            if value % 2 == 0 { even += 1 }
        }
        // σ ≈ 87 over 30000 draws; allow ~5σ (the biased figure would be 18000).
        #expect(abs(even - draws / 2) < 435)
    }
}
