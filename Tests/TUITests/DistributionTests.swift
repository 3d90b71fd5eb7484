import Testing
@testable import TUI

@Suite struct ResampleTests {
    @Test func mergingSumsAndSplitsStraddlingBins() {
        #expect(Resample.bins([1, 2, 3, 4], to: 2) == [3, 7])
        #expect(Resample.bins([1, 2, 3], to: 2) == [2, 4], "the middle bin is split half and half")
        #expect(Resample.bins([1, 3], to: 1, merge: .mean) == [2])
    }

    @Test func wideningRepeatsBins() {
        #expect(Resample.bins([1, 2], to: 4) == [1, 1, 2, 2])
        #expect(Resample.bins([1, 2], to: 3) == [1, 2, 2])
        #expect(Resample.bins([5], to: 3) == [5, 5, 5])
    }

    @Test func edgeCases() {
        #expect(Resample.bins([], to: 3) == [0, 0, 0])
        #expect(Resample.bins([1, 2], to: 0) == [])
        #expect(Resample.bins([1, .nan, 2], to: 3) == [1, 0, 2])
    }

    @Test(arguments: [1, 2, 3, 7, 16, 33, 63, 64])
    func mergingConservesTheTotalCount(columns: Int) {
        // A deterministic, uneven histogram of 64 bins.
        let counts = (0..<64).map { (i: Int) -> Double in
            let uneven = Double((i * 37 + 11) % 23) * 3
            return i == 40 ? uneven + 1000 : uneven
        }
        let total = counts.reduce(0, +)
        let merged = Resample.bins(counts, to: columns)
        #expect(merged.count == columns)
        #expect(abs(merged.reduce(0, +) - total) <= 1e-9 * total)
    }

    @Test func timeGroupsCoverEverySampleOnce() {
        let groups = Resample.groups(sampleCount: 10, columns: 4)
        #expect(groups == [0..<2, 2..<5, 5..<7, 7..<10])
        #expect(Resample.groups(sampleCount: 3, columns: 5) == [0..<1, 1..<2, 2..<3])
        #expect(Resample.groups(sampleCount: 0, columns: 5).isEmpty)
    }
}

@Suite struct HistogramTests {
    let counts: [Double] = [0, 1, 2, 4, 8, 4, 2, 1]

    @Test func barsLabelsAndMarker() {
        let lines = rendered(width: 16, height: 5) {
            Histogram(counts: counts, range: 0...Double.pi,
                      labels: [AxisLabel(0, "0"), AxisLabel(Double.pi / 2, "π/2"), AxisLabel(Double.pi, "π")],
                      marker: 0.2).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            " │      ██",
            " │      ██",
            " │    ██████",
            " │▄▄██████████▄▄",
            "0      π/2     π",
        ])
    }

    @Test func markerStaysBehindBarsAndUsesTheAccentRole() {
        let g = grid(width: 16, height: 5) {
            Histogram(counts: counts, range: 0...Double.pi, marker: Double.pi / 2).render(into: &$0, in: $0.bounds)
        }
        // Column 8 is the π/2 bin (count 8): its bar fills the whole height.
        #expect((0..<5).allSatisfy { g.characterAt(x: 8, y: $0) == "█" })
        #expect(g.styleAt(x: 8, y: 0)?.role == .series(0))
        let g2 = grid(width: 16, height: 5) {
            Histogram(counts: counts, range: 0...Double.pi, marker: 2.0).render(into: &$0, in: $0.bounds)
        }
        // 2.0 falls in column 10 (count 4: 20 of 40 eighths, i.e. two and a half rows): the
        // marker fills the two empty cells above the bar.
        #expect((0..<5).map { g2.characterAt(x: 10, y: $0) } == ["│", "│", "▄", "█", "█"])
        #expect(g2.styleAt(x: 10, y: 0)?.role == .accent)
    }

    @Test func asciiFallback() {
        let lines = rendered(width: 16, height: 5) {
            Histogram(counts: counts, range: 0...Double.pi,
                      labels: [AxisLabel(0, "0"), AxisLabel(Double.pi / 2, "pi/2"), AxisLabel(Double.pi, "pi")],
                      marker: 0.2, glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            " |      ##",
            " |      ##",
            " |    ######",
            " |##############",
            "0     pi/2    pi",
        ])
    }

    @Test func mergedBinsAddUp() {
        // 8 bins in 4 columns: pairs are summed, 1+2=3, 4+8=12, 4+2=6, 1+0=1 (eighths of 12 over 2 rows).
        let lines = rendered(width: 4, height: 2) {
            Histogram(counts: [1, 2, 4, 8, 4, 2, 1, 0], range: 0...1).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [" █", "▄██▁"])
    }

    @Test func aSmallNonZeroCountStaysVisible() {
        let lines = rendered(width: 2, height: 2) {
            Histogram(counts: [1, 1000], range: 0...1).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [" █", "▁█"])
    }

    @Test func emptyOrZeroCountsSayNoDataYet() {
        for counts in [[], [0.0, 0, 0]] {
            let lines = rendered(width: 13, height: 3) {
                Histogram(counts: counts, range: 0...1, labels: [AxisLabel(0, "0"), AxisLabel(1, "1")])
                    .render(into: &$0, in: $0.bounds)
            }
            #expect(lines == [" no data yet", "", "0           1"])
        }
    }

    @Test func overlappingLabelsAreSkipped() {
        let lines = rendered(width: 6, height: 2) {
            Histogram(counts: [1], range: 0...1, labels: [AxisLabel(0, "zero"), AxisLabel(0.3, "x"), AxisLabel(1, "1")])
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == ["██████", "zero 1"])
    }
}

@Suite struct HeatStripTests {
    let frames: [[Double]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0.5, 0.5]]

    @Test func columnsAreTimeAndTheTopRowIsTheHighestBin() {
        let lines = rendered(width: 6, height: 4) { HeatStrip(frames: frames).render(into: &$0, in: $0.bounds) }
        #expect(lines == ["   ▒", "  █▒", " █", "█"])
        let g = grid(width: 6, height: 4) { HeatStrip(frames: frames).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 0, y: 3)?.role == .heat(4))
        #expect(g.styleAt(x: 3, y: 0)?.role == .heat(1))
    }

    @Test func asciiShades() {
        let lines = rendered(width: 6, height: 4) {
            HeatStrip(frames: frames, glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == ["   +", "  @+", " @", "@"])
    }

    @Test func moreFramesThanColumnsAreAveraged() {
        let strip = HeatStrip(frames: [[1, 0], [0, 1], [1, 0], [1, 0], [0, 0], [0, 0], [0, 1], [0, 1]])
        #expect(strip.columns(width: 4, height: 2) == [[0.5, 0.5], [0, 1], [0, 0], [1, 0]])
        let lines = rendered(width: 4, height: 2) { strip.render(into: &$0, in: $0.bounds) }
        #expect(lines == ["▒  █", "▒█"])
    }

    @Test func binsAreAveragedToTheHeight() {
        let strip = HeatStrip(frames: [[1, 1, 0, 0, 0, 0, 0, 0.5]])
        #expect(strip.columns(width: 3, height: 2) == [[0.125, 0.5]])
    }

    @Test func perColumnScaleNormalisesEachColumn() {
        let frames: [[Double]] = [[0.1, 0.05], [10, 0]]
        let global = rendered(width: 2, height: 2) { HeatStrip(frames: frames).render(into: &$0, in: $0.bounds) }
        let local = rendered(width: 2, height: 2) {
            HeatStrip(frames: frames, scale: .perColumn).render(into: &$0, in: $0.bounds)
        }
        #expect(global == ["░", "░█"])
        #expect(local == ["▒", "██"])
    }

    @Test func noFramesSayNoDataYet() {
        let lines = rendered(width: 13, height: 1) { HeatStrip(frames: []).render(into: &$0, in: $0.bounds) }
        #expect(lines == [" no data yet"])
    }
}

@Suite struct BandChartTests {
    let samples = (0..<8).map { t in
        Percentiles(p10: 0.5, p25: 1.0, p50: 1.5 + Double(t) * 0.1, p75: 2.0, p90: 2.5)
    }

    @Test func bandsAndMedian() {
        let lines = rendered(width: 14, height: 6) {
            BandChart(samples: samples, yRange: 0...3, yLabels: [AxisLabel(0, "0"), AxisLabel(3, "3")])
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "3│",
            " │░░░░░░━━",
            " │▒━━━━━▒▒",
            " │━▒▒▒▒▒▒▒",
            " │░░░░░░░░",
            "0│",
        ])
        let g = grid(width: 14, height: 6) { BandChart(samples: samples, yRange: 0...3).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 0, y: 3)?.role == .accent)
        #expect(g.styleAt(x: 0, y: 1)?.role == .series(0))
    }

    @Test func asciiFallback() {
        let lines = rendered(width: 14, height: 6) {
            BandChart(samples: samples, yRange: 0...3, yLabels: [AxisLabel(0, "0"), AxisLabel(3, "3")], glyphs: .ascii)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "3|",
            " |......==",
            " |#=====##",
            " |=#######",
            " |........",
            "0|",
        ])
    }

    @Test func timeIsCompressedByAveragingPercentiles() {
        // 6 samples in 3 columns: medians 0.5, 0.5, 0.5, 2.5, 2.5, 2.5 average to 0.5, 1.5, 2.5.
        let shifting = (0..<6).map { t in
            Percentiles(p10: 0, p25: 0.2, p50: t < 3 ? 0.5 : 2.5, p75: 2.8, p90: 3)
        }
        let lines = rendered(width: 3, height: 3) {
            BandChart(samples: shifting, yRange: 0...3).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == ["▒▒━", "▒━▒", "━▒▒"])
    }

    @Test func nonFiniteSamplesLeaveAGapAndEmptyDataSaysSo() {
        let lines = rendered(width: 3, height: 2) {
            BandChart(samples: [Percentiles(p10: .nan, p25: 0, p50: 0, p75: 0, p90: 0), samples[0]], yRange: 0...3)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [" ░", " ━"], "the 25–75 band covers only a third of the top cell, the 10–90 band two thirds")
        let empty = rendered(width: 12, height: 1) { BandChart(samples: [], yRange: 0...1).render(into: &$0, in: $0.bounds) }
        #expect(empty == ["no data yet"])
    }
}
