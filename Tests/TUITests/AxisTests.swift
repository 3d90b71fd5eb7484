import Testing
@testable import TUI

@Suite struct NumberFormatTests {
    @Test(arguments: [
        (0.5, 0.5, "0.5"), (1.0, 0.5, "1"), (-0.25, 0.25, "-0.25"), (2.0, 1, "2"),
        (0.001, 0.001, "1e-3"), (0.0025, 0.0005, "2.5e-3"), (0.0, 0.1, "0"), (1e-17, 0.5, "0"),
        (1000, 500, "1k"), (1500, 500, "1.5k"), (12000, 2000, "12k"), (1e8, 5e7, "100M"), (250, 50, "250"),
    ])
    func compactWithStep(value: Double, step: Double, expected: String) {
        #expect(NumberFormat.compact(value, step: step) == expected)
    }

    @Test(arguments: [
        (3.14159, "3.14"), (123.456, "123"), (0.0123, "0.0123"), (2.5e9, "2.5G"), (999_960, "1M"),
        (1e20, "1e20"), (-4.2e-5, "-4.2e-5"), (Double.nan, "nan"), (Double.infinity, "inf"),
        (-Double.infinity, "-inf"),
    ])
    func compactWithoutStepKeepsThreeSignificantDigits(value: Double, expected: String) {
        #expect(NumberFormat.compact(value) == expected)
    }

    @Test func fixedDecimals() {
        #expect(NumberFormat.fixed(2.5, decimals: 0) == "3")
        #expect(NumberFormat.fixed(0.1, decimals: 3) == "0.100")
        #expect(NumberFormat.fixed(0.1, decimals: 3, trimZeros: true) == "0.1")
        #expect(NumberFormat.fixed(-0.04, decimals: 1) == "0.0", "no minus sign on a rounded zero")
        #expect(NumberFormat.fixed(-12.3456, decimals: 2) == "-12.35")
        #expect(NumberFormat.fixed(.nan, decimals: 2) == "nan")
    }
}

@Suite struct AxisTicksTests {
    func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) }
    }

    @Test func niceSteps() {
        #expect(AxisTicks.niceStep(span: 10, maxTicks: 6) == 2)
        #expect(AxisTicks.niceStep(span: 7, maxTicks: 2) == 10)
        #expect(abs(AxisTicks.niceStep(span: 0.79, maxTicks: 5) - 0.2) < 1e-12)
        #expect(AxisTicks.niceStep(span: 0, maxTicks: 5) == 1)
    }

    @Test func autoWidensToNiceEnds() {
        let scale = AxisTicks.auto(lo: 0.13, hi: 0.92, maxTicks: 5)
        #expect(close(scale.ticks, [0, 0.5, 1]), "step 0.2 would need 6 ticks")
        #expect(scale.lo == 0 && abs(scale.hi - 1) < 1e-12)
        #expect(scale.labels == ["0", "0.5", "1"])
    }

    @Test func autoCoversHugeRanges() {
        let scale = AxisTicks.auto(lo: 1e-8, hi: 1e8, maxTicks: 5)
        #expect(close(scale.ticks, [0, 5e7, 1e8]))
        #expect(scale.labels == ["0", "50M", "100M"])
    }

    @Test func autoOpensASingleValue() {
        let scale = AxisTicks.auto(lo: 2.3, hi: 2.3, maxTicks: 5)
        #expect(close(scale.ticks, [2.0, 2.2, 2.4, 2.6]))
        #expect(scale.labels == ["2", "2.2", "2.4", "2.6"])
        let zero = AxisTicks.auto(lo: 0, hi: 0, maxTicks: 2)
        #expect(close(zero.ticks, [-1, 0, 1]), "three ticks are allowed so 0 stays inside")
    }

    @Test func autoSurvivesNonFiniteAndExtremeInput() {
        #expect(close(AxisTicks.auto(lo: .nan, hi: 1, maxTicks: 5).ticks, [0, 0.5, 1]))
        let extreme = AxisTicks.auto(lo: -1e308, hi: 1e308, maxTicks: 5)
        #expect(!extreme.ticks.isEmpty && extreme.ticks.count <= 5)
        #expect(extreme.ticks.allSatisfy { $0.isFinite })
        let tiny = AxisTicks.auto(lo: Double.leastNonzeroMagnitude, hi: Double.leastNonzeroMagnitude, maxTicks: 5)
        #expect(!tiny.ticks.isEmpty && tiny.ticks.allSatisfy { $0.isFinite })
    }

    @Test func fixedKeepsTheRange() {
        let angles = AxisTicks.fixed(lo: 0, hi: Double.pi, maxTicks: 5)
        #expect(angles.lo == 0 && angles.hi == Double.pi)
        #expect(close(angles.ticks, [0, 1, 2, 3]))
        #expect(close(AxisTicks.fixed(lo: 0, hi: 7, maxTicks: 10, minimumStep: 1).ticks, [0, 1, 2, 3, 4, 5, 6, 7]))
        #expect(close(AxisTicks.fixed(lo: 0, hi: 0.3, maxTicks: 10, minimumStep: 1).ticks, [0]))
        #expect(close(AxisTicks.fixed(lo: 37, hi: 1234, maxTicks: 3).ticks, [1000]))
        #expect(AxisTicks.fixed(lo: 0, hi: 1000, maxTicks: 2).labels == ["0", "1k"])
    }
}
