import Testing
@testable import TUI

@Suite struct BrailleTests {
    @Test(arguments: [
        (0, 0, "⠁"), (0, 1, "⠂"), (0, 2, "⠄"), (0, 3, "⡀"),
        (1, 0, "⠈"), (1, 1, "⠐"), (1, 2, "⠠"), (1, 3, "⢀"),
    ] as [(Int, Int, Character)])
    func eachDotPositionMapsToItsCodePoint(dx: Int, dy: Int, expected: Character) {
        var canvas = DotCanvas(columns: 1, rows: 1, glyphs: .unicode)
        canvas.plot(dx, dy, series: 0)
        #expect(Braille.character(canvas.bits[0]) == expected)
    }

    @Test func allDotsAndNoDots() {
        #expect(Braille.character(0xFF) == "⣿")
        #expect(Braille.character(0) == "\u{2800}")
        #expect(Braille.bit(dx: 2, dy: 0) == 0 && Braille.bit(dx: 0, dy: 4) == 0)
    }

    @Test func dotsLandInTheRightCellAndOutsideDotsAreIgnored() {
        var canvas = DotCanvas(columns: 2, rows: 2, glyphs: .unicode)
        canvas.plot(3, 7, series: 1)  // right cell, bottom row, lower-right dot
        canvas.plot(4, 0, series: 0)
        canvas.plot(-1, 0, series: 0)
        #expect(canvas.bits == [0, 0, 0, 0x80])
        #expect(canvas.owner == [-1, -1, -1, 1])
    }

    @Test func lineIncludesBothEnds() {
        var canvas = DotCanvas(columns: 4, rows: 1, glyphs: .ascii)
        canvas.line(from: (0, 0), to: (3, 0), series: 0)
        #expect(canvas.bits == [1, 1, 1, 1])
    }
}

@Suite struct LineChartTests {
    let falling = ChartSeries(label: "loss", role: .series(0),
                              points: points((0...10).map { Double(10 - $0) / 10 }, xStep: 100))

    @Test func brailleLineWithAxesAndLegend() {
        let lines = rendered(width: 24, height: 7) { LineChart(series: [falling]).render(into: &$0, in: $0.bounds) }
        #expect(lines == [
            "── loss",
            "  1┤⠑⠢⢄⡀",
            "   │   ⠈⠑⠢⢄⡀",
            "0.5┤       ⠈⠑⠢⠤⣀",
            "   │            ⠉⠒⠤⣀",
            "  0┤                ⠉⠒⠤⣀",
            "   └0                 1k",
        ])
    }

    @Test func asciiModeUsesOneMarkerPerSeries() {
        let rising = ChartSeries(label: "test", role: .series(1), points: [ChartPoint(x: 0, y: 0.2), ChartPoint(x: 1000, y: 0.6)])
        let lines = rendered(width: 30, height: 8) {
            LineChart(series: [falling, rising], glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "** loss  oo test",
            "  1+****",
            "   |    ***",
            "   |       *****       ooooooo",
            "0.5+       oooooooooooo",
            "   |ooooooo          *****",
            "  0+                      ****",
            "   +0           500         1k",
        ])
    }

    @Test func seriesKeepTheirColourRoles() {
        let g = grid(width: 24, height: 7) { LineChart(series: [falling]).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 4, y: 1)?.role == .series(0))
        #expect(g.styleAt(x: 3, y: 1)?.role == .axis)
        #expect(g.styleAt(x: 0, y: 0)?.role == .series(0))
    }

    @Test func emptySeriesSayNoDataYet() {
        let lines = rendered(width: 20, height: 5) {
            LineChart(series: [ChartSeries(label: "a", role: .series(0), points: [])]).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == ["", "", "    no data yet", "", ""])
    }

    @Test func onePointSitsAtTheLeftInsideAnOpenedRange() {
        let lines = rendered(width: 20, height: 6) {
            LineChart(series: [ChartSeries(label: "a", role: .series(0), points: [ChartPoint(x: 0, y: 2.3)])])
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "── a",
            "  3┤",
            "   │",
            "2.5┤⡀",
            "  2┤",
            "   └0              1",
        ])
    }

    @Test func allEqualValuesDrawAFlatLineInTheMiddle() {
        let lines = rendered(width: 20, height: 6) {
            LineChart(series: [ChartSeries(label: "a", role: .series(0), points: points([0, 0, 0, 0, 0]))])
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "── a",
            " 1┤",
            "  │",
            " 0┤⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉",
            "-1┤",
            "  └0               4",
        ])
    }

    @Test func nonFinitePointsAreSkippedAndCounted() {
        let series = ChartSeries(label: "a", role: .series(0), points: points([1, .nan, 3, .infinity]))
        let lines = rendered(width: 30, height: 6) {
            LineChart(series: [series], glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "** a  (2 non-finite skipped)",
            "3+                       *****",
            " |              *********",
            "2+     *********",
            "1+*****",
            " +0             1            2",
        ])
    }

    @Test func onlyNonFinitePointsSaySo() {
        let series = ChartSeries(label: "a", role: .series(0), points: points([.nan, -.infinity]))
        let lines = rendered(width: 30, height: 5) { LineChart(series: [series]).render(into: &$0, in: $0.bounds) }
        #expect(lines == ["", "", " no finite values (2 skipped)", "", ""])
    }

    @Test func hugeRangesGetCompactLabels() {
        let series = ChartSeries(label: "a", role: .series(0), points: points([1e-8, 1e8]))
        let lines = rendered(width: 30, height: 8) {
            LineChart(series: [series], glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "** a",
            "100M+                      ***",
            "    |                 *****",
            "    |            *****",
            " 50M+        ****",
            "    |   *****",
            "   0+***",
            "    +0                       1",
        ])
    }

    @Test func moreSamplesThanColumnsKeepEverySpike() {
        let spike = ChartSeries(label: "s", role: .series(0), points: points((0..<1000).map { $0 == 537 ? 10 : 0 }))
        let lines = rendered(width: 20, height: 6) {
            LineChart(series: [spike], glyphs: .ascii, showLegend: false).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "10+         *",
            "  |         *",
            " 5+         *",
            "  |         *",
            " 0+*****************",
            "  +0             999",
        ])
    }

    @Test func valuesOutsideAFixedRangeArePinnedToTheEdges() {
        let series = ChartSeries(label: "acc", role: .series(0), points: points([2, -1, 1e300, -.greatestFiniteMagnitude]))
        let lines = rendered(width: 12, height: 4) {
            LineChart(series: [series], yRange: 0...1, glyphs: .ascii, showLegend: false).render(into: &$0, in: $0.bounds)
        }
        // x = 0, 1, 2, 3 land on plot columns 0, 3, 6, 9, joined by straight lines.
        #expect(lines == [
            "1+^     ^",
            " | ** ** **",
            "0+   v     v",
            " +0        3",
        ], "values above 1 sit on the top row, values below 0 on the bottom row, marked with arrows")
    }

    @Test func tinyRectsNeverDrawOutsideOrTrap() {
        let series = [falling, ChartSeries(label: "b", role: .series(1), points: points([.nan, 1e300, -1e300]))]
        for width in 0...12 {
            for height in 0...8 {
                var g = CellGrid(width: 16, height: 12)
                let rect = Rect(x: 2, y: 2, width: width, height: height)
                LineChart(series: series).render(into: &g, in: rect)
                for y in 0..<g.height {
                    for x in 0..<g.width where !rect.contains(x: x, y: y) {
                        #expect(g.characterAt(x: x, y: y) == " ", "drew outside \(rect) at (\(x), \(y))")
                    }
                }
            }
        }
    }

    @Test func tooSmallForAnAxisShowsAShortNotice() {
        let lines = rendered(width: 5, height: 1) { LineChart(series: [falling]).render(into: &$0, in: $0.bounds) }
        #expect(lines == ["too …"])
    }
}
