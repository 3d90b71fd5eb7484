import Testing
@testable import TUI

@Suite struct HistogramZoomTests {
    /// 64 bins over 0…π with all the mass in bins 29…34 (about 82°–96°).
    let counts: [Double] = (0..<64).map { i in i >= 29 && i <= 34 ? [1, 5, 20, 30, 10, 2][i - 29] : 0 }

    @Test func occupiedRangeHoldsTheMassWithAMargin() throws {
        let view = try #require(Histogram.occupiedRange(counts: counts, range: 0...Double.pi))
        let degrees = (view.lowerBound * 180 / Double.pi, view.upperBound * 180 / Double.pi)
        #expect(abs(degrees.0 - 80.6625) < 1e-3 && abs(degrees.1 - 100.29375) < 1e-3)
        #expect(Histogram.occupiedRange(counts: [0, 0], range: 0...1) == nil)
        #expect(Histogram.occupiedRange(counts: [], range: 0...1) == nil)
        #expect(Histogram.occupiedRange(counts: [5], range: 0...1) == 0...1, "one bin: the whole range")
        let one = Histogram.occupiedRange(counts: [.nan, 1, 0, 0], range: 0...4)
        #expect(one.map { abs($0.lowerBound - 0.01) < 1e-9 && abs($0.upperBound - 2.99) < 1e-9 } == true,
                "NaN counts as empty; the 1st–99th percentile 1.01…1.99 widened by one bin")
    }

    @Test func zoomedHistogramPrintsItsRangeInDegreesAndTheMarker() {
        let view = Histogram.occupiedRange(counts: counts, range: 0...Double.pi)
        let unicode = rendered(width: 24, height: 5) {
            Histogram(counts: counts, range: 0...Double.pi, marker: Double.pi / 2, view: view, axisFormat: .degrees)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(unicode == [
            "            ███",
            "         ▅▅▅███",
            "         ██████▃▃▃",
            "   ▁▁▁▅▅▅█████████▂▂▂",
            "79°        90°      101°",
        ], "bins 28…35 (78.75°–101.25°) fill the width; the spike is now eight columns wide")
        let ascii = rendered(width: 24, height: 5) {
            Histogram(counts: counts, range: 0...Double.pi, marker: Double.pi / 2, glyphs: .ascii, view: view,
                      axisFormat: .degrees).render(into: &$0, in: $0.bounds)
        }
        #expect(ascii.last == "79d        90d      101d")
        let whole = rendered(width: 24, height: 3) {
            Histogram(counts: counts, range: 0...Double.pi, marker: Double.pi / 2, axisFormat: .degrees)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(whole.last == "0°         90°      180°", "without a view: the whole range")
        let tiny = rendered(width: 6, height: 2) {
            Histogram(counts: counts, range: 0...Double.pi, view: view, axisFormat: .degrees).render(into: &$0, in: $0.bounds)
        }
        #expect(tiny == ["▁▁▅█▂▁", "79°"], "no room for both ends: the left one only")
        let markerOutside = rendered(width: 24, height: 2) {
            Histogram(counts: counts, range: 0...Double.pi, marker: 0.1, view: view, axisFormat: .degrees)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(markerOutside.last == "79°                 101°")
    }
}

@Suite struct BandAndHeatAxesTests {
    let samples = (0..<40).map { t in
        Percentiles(p10: 1.50 - Double(t) * 0.001, p25: 1.53, p50: 1.56 + Double(t) * 0.0005, p75: 1.59, p90: 1.62)
    }

    @Test func bandChartZoomsToTheDataWithDegreeLabelsAndAStepAxis() {
        let steps = (0..<40).map { Double($0 * 25) }
        let unicode = rendered(width: 30, height: 8) {
            BandChart(samples: samples, yRange: 0...Double.pi, steps: steps, zoomFormat: .degrees)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(unicode == [
            "   │",
            "   │░░░░░░░░░░░░░░░░░░░░░░░░░░",
            "90°│━━━━━━━━━━━━━━━━━━━━━━━━━━",
            "   │▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒",
            "   │░░░░░░░░░░░░░░░░░░░░░░░░░░",
            "85°│          ░░░░░░░░░░░░░░░░",
            "   │",
            "    0           500",
        ], "over 0…π the bands would be one row; zoomed, the 10th percentile's slow fall shows")
        let ascii = rendered(width: 30, height: 8) {
            BandChart(samples: samples, yRange: 0...Double.pi, glyphs: .ascii, steps: steps, zoomFormat: .degrees)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(ascii[2] == "90d|==========================" && ascii[7] == "    0           500")
        let mismatched = rendered(width: 30, height: 8) {
            BandChart(samples: samples, yRange: 0...Double.pi, steps: [1, 2], zoomFormat: .degrees).render(into: &$0, in: $0.bounds)
        }
        #expect(mismatched[7] == "   │", "steps that do not match the samples: no x axis")
        let empty = rendered(width: 16, height: 3) {
            BandChart(samples: [], yRange: 0...1, steps: [], zoomFormat: .degrees).render(into: &$0, in: $0.bounds)
        }
        #expect(empty == ["", "  no data yet", ""])
    }

    @Test func heatRowsOnePerLayerWithAStepAxisAndALegend() {
        let rows = [HeatRow(label: "conv1", values: (0..<30).map { 1.2 + Double($0) * 0.01 }),
                    HeatRow(label: "conv2", values: (0..<30).map { $0 == 3 ? .nan : 1.3 }),
                    HeatRow(label: "fc6", values: (0..<30).map { 1.57 - Double($0) * 0.002 })]
        let steps = (0..<30).map { Double($0 * 10) }
        let unicode = rendered(width: 30, height: 6) {
            HeatRows(rows: rows, steps: steps, format: .degrees).render(into: &$0, in: $0.bounds)
        }
        #expect(unicode == [
            "conv1 ░░░░░░░░▒▒▒▒▒▒▒▒▓▓▓▓▓▓▓█",
            "conv2 ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒",
            "fc6   ████████████████████████",
            "      0              200",
            "      ░ 68.8° … █ 90.0°",
            "",
        ])
        let g = grid(width: 30, height: 6) { HeatRows(rows: rows, steps: steps, format: .degrees).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 6, y: 0)?.role == .heat(0) && g.styleAt(x: 6, y: 2)?.role == .heat(4))
        #expect(g.styleAt(x: 6, y: 4)?.role == .heat(0) && g.styleAt(x: 16, y: 4)?.role == .heat(4))
        let ascii = rendered(width: 30, height: 3) {
            HeatRows(rows: rows, steps: steps, format: .degrees, glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(ascii == ["conv1 ........::::::::=======#", "conv2 ::::::::::::::::::::::::", "fc6   ########################"],
                "three rows in three lines: no room for axis or legend")
        let flat = rendered(width: 12, height: 2) {
            HeatRows(rows: [HeatRow(label: "a", values: [2, 2])], glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(flat == ["a ==", "  . 2 to # 2"], "all-equal values sit mid-ramp")
        #expect(rendered(width: 14, height: 2) { HeatRows(rows: [HeatRow(label: "a", values: [.nan])]).render(into: &$0, in: $0.bounds) }
            == [" no data yet", ""])
    }

    @Test func heatStripWithBinLabelsAndAStepAxis() {
        let frames: [[Double]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0.5, 0.5]]
        let lines = rendered(width: 20, height: 5) {
            HeatStrip(frames: frames, steps: [0, 100, 200, 300], binLabels: [AxisLabel(0, "0"), AxisLabel(3, "3")],
                      binRange: 0...3).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == ["3│   ▒", " │  █▒", " │ █", "0│█", "  0 300"])
        let ascii = rendered(width: 20, height: 5) {
            HeatStrip(frames: frames, glyphs: .ascii, steps: [0, 100, 200, 300]).render(into: &$0, in: $0.bounds)
        }
        #expect(ascii == ["   +", "  @+", " @", "@", "0 300"])
    }
}

@Suite struct ConfusionMatrixTests {
    let names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    var counts: [[Int]] { (0..<10).map { t in (0..<10).map { p in p == t ? 900 - t * 20 : (p + t) % 4 == 0 ? 7 * (t + 1) : 0 } } }

    @Test func matrixWithAbbreviatedHeadsAndAccuracy() {
        let lines = rendered(width: 80, height: 12) { ConfusionMatrix(classes: names, counts: counts).render(into: &$0, in: $0.bounds) }
        #expect(lines == [
            "            T-shi Trous Pullo Dress  Coat Sanda Shirt Sneak   Bag Ankle    acc",
            "T-shirt/top   900     ·     ·     ·     7     ·     ·     ·     7     ·  98.5%",
            "Trouser         ·   880     ·    14     ·     ·     ·    14     ·     ·  96.9%",
            "Pullover        ·     ·   860     ·     ·     ·    21     ·     ·     ·  97.6%",
            "Dress           ·    28     ·   840     ·    28     ·     ·     ·    28  90.9%",
            "Coat           35     ·     ·     ·   820     ·     ·     ·    35     ·  92.1%",
            "Sandal          ·     ·     ·    42     ·   800     ·    42     ·     ·  90.5%",
            "Shirt           ·     ·    49     ·     ·     ·   780     ·     ·     ·  94.1%",
            "Sneaker         ·    56     ·     ·     ·    56     ·   760     ·    56  81.9%",
            "Bag            63     ·     ·     ·    63     ·     ·     ·   740     ·  85.5%",
            "Ankle boot      ·     ·     ·    70     ·     ·     ·    70     ·   720  83.7%",
            "",
        ])
        let g = grid(width: 80, height: 12) { ConfusionMatrix(classes: names, counts: counts).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 15, y: 1) == Style(.ok, bold: true), "the diagonal")
    }

    @Test func narrowShowsAccuraciesOnlyAndAsciiWorks() {
        let lines = rendered(width: 30, height: 4) {
            ConfusionMatrix(classes: names, counts: counts, glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == ["T-shi..  98.5%", "Trouser  96.9%", "Pullo..  97.6%", "Dress    90.9%"])
        #expect(ConfusionMatrix(classes: ["a", "b"], counts: [[3, 1], [0, 0]]).accuracies == [0.75, nil])
        #expect(rendered(width: 20, height: 1) { ConfusionMatrix(classes: names, counts: []).render(into: &$0, in: $0.bounds) }
            == [" no evaluation yet"])
    }
}
