import Testing
@testable import TUI

@Suite struct ChartMarkerTests {
    let falling = ChartSeries(label: "loss", role: .series(0),
                              points: points((0...10).map { Double(10 - $0) / 10 }, xStep: 100))
    let changes = [ChartMarker(x: 300, label: "lr×2"), ChartMarker(x: 350, label: "→linear"),
                   ChartMarker(x: 0, label: "sgd"), ChartMarker(x: 1000, label: "end", role: .error),
                   ChartMarker(x: 2000, label: "out")]

    @Test func rulesAndStaggeredLabelsInBraille() {
        let lines = rendered(width: 30, height: 8) {
            LineChart(series: [falling], markers: changes).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "── loss",
            "  1┤⠉sgd   │lr×2          end│",
            "   ││   ⠉⠒⠤⣀⡀│→linear        │",
            "   ││      │⠈⠑⠢⢄⡀            │",
            "0.5┤│      │ │  ⠈⠉⠒⠤⢄⡀       │",
            "   ││      │ │       ⠈⠉⠒⠤⣀   │",
            "  0┤│      │ │            ⠉⠒⠤⣀",
            "   └0           500         1k",
        ], "x = 300 and 350 share a row of labels by moving →linear down; the marker at 2000 is outside")
        let g = grid(width: 30, height: 8) { LineChart(series: [falling], markers: changes).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 12, y: 1) == Style(.warn, bold: true), "label in the marker's role")
        #expect(g.styleAt(x: 11, y: 4) == Style(.warn), "rule in the marker's role")
        #expect(g.styleAt(x: 29, y: 1)?.role == .error, "the marker at the last column keeps its own role")
        #expect(g.characterAt(x: 26, y: 1) == "e", "a label at the right edge sits left of its rule")
    }

    @Test func asciiRulesArePipes() {
        let lines = rendered(width: 30, height: 8) {
            LineChart(series: [falling], glyphs: .ascii, markers: changes.map {
                ChartMarker(x: $0.x, label: String($0.label.map { $0 == "×" ? "*" : $0 }), role: $0.role)
            }).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "** loss",
            "  1+*sgd    |lr*2         end|",
            "   ||   *** ||->linear       |",   // ASCII spells the arrow
            "   ||      *****             |",
            "0.5+|       ||  *****        |",
            "   ||       ||       *****   |",
            "  0+|       ||            ****",
            "   +0           500         1k",
        ])
    }

    @Test func markersWithoutDataOrOutsideTheRangeDrawNothing() {
        let empty = rendered(width: 20, height: 4) {
            LineChart(series: [], markers: [ChartMarker(x: 1, label: "lr")]).render(into: &$0, in: $0.bounds)
        }
        #expect(empty == ["", "    no data yet", "", ""])
        let outside = rendered(width: 20, height: 4) {
            LineChart(series: [falling], xRange: 500...1000, glyphs: .ascii, showLegend: false,
                      markers: [ChartMarker(x: 499, label: "a"), ChartMarker(x: 1001, label: "b"),
                                ChartMarker(x: .nan, label: "c")])
                .render(into: &$0, in: $0.bounds)
        }
        #expect(outside == ["0.5+*****", "   |     ******", "  0+           *****", "   +500           1k"],
                "499 and 1001 fall just outside 500…1000, NaN nowhere: no rule, no label")
    }

    @Test func labelsAreCutWhenEveryLaneIsTaken() {
        let placed = MarkerLabels.place([(0, "alpha"), (2, "beta"), (4, "gamma")], width: 12, lanes: 2, glyphs: .unicode)
        #expect(placed == [
            MarkerLabels.Placed(start: 1, lane: 0, text: "alpha"),
            MarkerLabels.Placed(start: 3, lane: 1, text: "beta"),
            nil,
        ], "gamma has no room before alpha ends on lane 0, nor before beta on lane 1")
        let cut = MarkerLabels.place([(0, "ab"), (5, "longlabel"), (6, "xyz")], width: 12, lanes: 1, glyphs: .ascii)
        #expect(cut == [
            MarkerLabels.Placed(start: 1, lane: 0, text: "ab"),
            MarkerLabels.Placed(start: 6, lane: 0, text: "long.."),
            nil,
        ], "longlabel does not fit on either side whole, so it is cut at the right edge; xyz finds no room")
        let shortened = MarkerLabels.place([(8, "late"), (1, "early-long")], width: 12, lanes: 1, glyphs: .ascii)
        #expect(shortened == [MarkerLabels.Placed(start: 4, lane: 0, text: "late"), nil],
                "late moves left of its rule at the edge; early-long would have only one cell before it")
        #expect(MarkerLabels.place([(0, "x")], width: 0, lanes: 1, glyphs: .ascii) == [nil])
    }
}

@Suite struct LegendTests {
    func series(_ label: String, _ readout: Readout?, style: SeriesStyle = .line) -> ChartSeries {
        ChartSeries(label: label, role: .series(0), points: [], style: style, readout: readout)
    }

    @Test func fullLegendThenSmoothedDroppedThenNamesCutThenEntriesDropped() {
        let legend = ChartLegend(series: [series("train", Readout(latest: 0.4123, smoothed: 0.43)),
                                          series("test", Readout(latest: "0.398"), style: .markers)],
                                 glyphs: .unicode)
        func line(_ width: Int) -> String {
            rendered(width: width, height: 1) { legend.render(into: &$0, row: $0.bounds) }[0]
        }
        #expect(line(40) == "── train 0.412 ≈0.43  ─● test 0.398")
        #expect(line(34) == "── train 0.412  ─● test 0.398")
        #expect(line(28) == "── tra… 0.412  ─● test 0.398")
        #expect(line(26) == "── tr… 0.412  ─● te… 0.398")
        #expect(line(20) == "── train 0.412 ≈0.43", "with one entry fewer the name and smoothed value fit again")
        #expect(line(11) == "── t… 0.412")
        #expect(line(5) == "")
    }

    @Test func asciiSamplesAndNumbersInTheSeriesRole() {
        let chart = LineChart(series: [
            ChartSeries(label: "acc", role: .series(0), points: points([0.5, 0.9]),
                        readout: Readout(latest: 0.9, smoothed: 0.85, format: .percent)),
            ChartSeries(label: "test", role: .series(1), points: points([0.6]), style: .markers),
        ], glyphs: .ascii)
        let g = grid(width: 40, height: 6) { chart.render(into: &$0, in: $0.bounds) }
        #expect(g.lines[0] == "** acc 90.0% ~85.0%  .O test")
        #expect(g.styleAt(x: 7, y: 0) == Style(.series(0), bold: true))
        #expect(g.styleAt(x: 14, y: 0)?.role == .dim)
    }
}

@Suite struct AxesThatFollowTheDataTests {
    /// Falls from 4 to about 0.15: the first two values are spikes a robust fit should clip.
    let loss = ChartSeries(label: "loss", role: .series(0), points: points(
        [4, 3.5] + (0..<48).map { (i: Int) -> Double in 0.5 * Double(48 - i) / 48 + 0.15 }, xStep: 10))

    @Test func robustRangeClipsEarlySpikesWithAnArrow() {
        let lines = rendered(width: 24, height: 7) {
            LineChart(series: [loss], glyphs: .ascii, showLegend: false, yFit: .robust(trim: 0.05))
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "  1+^",
            "   | *",
            "   | ******",
            "0.5+       ********",
            "   |              ******",
            "  0+",
            "   +0                490",
        ], "4 and 3.5 are beyond the fitted range: an arrow marks their column")
        let full = rendered(width: 24, height: 7) {
            LineChart(series: [loss], glyphs: .ascii, showLegend: false).render(into: &$0, in: $0.bounds)
        }
        #expect(full[0].hasPrefix("4+"), "without the robust fit the spike sets the range")
    }

    @Test func theRangeFollowsTheVisibleWindow() {
        let lines = rendered(width: 24, height: 6) {
            LineChart(series: [loss], xRange: 250...490, glyphs: .ascii, showLegend: false)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "0.5+",
            "   |********",
            "   |        **********",
            "   |                 ***",
            "  0+",
            "   +250              490",
        ], "no round tick falls inside the window, so its ends are labelled")
    }

    @Test func logScaleTicksAtDecadesAndCountsNonPositiveValues() {
        let big = ChartSeries(label: "l", role: .series(0), points: points([100, 10, 1, 0.1, 0.01, 0, -1]))
        let lines = rendered(width: 30, height: 10) {
            LineChart(series: [big], glyphs: .ascii, logY: true).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "** l  (2 <=0 skipped)",
            " 100+**",
            "    |  ***",
            "    |     ***",
            "    |        ***",
            "   1+           ****",
            "    |               *****",
            "    |                    ***",
            "0.01+                       **",
            "    +0           2           4",
        ])
        let none = rendered(width: 40, height: 3) {
            LineChart(series: [ChartSeries(label: "l", role: .series(0), points: points([0, -2]))], logY: true)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(none == [" no positive values for a log scale (2", "                skipped)", ""])
    }

    @Test func logScaleWithinADecadeUsesOneTwoFive() {
        let scale = AxisTicks.log(lo: 0.15, hi: 0.45, maxTicks: 5)
        #expect(scale.labels == ["0.1", "0.2", "0.5"])
        #expect(AxisTicks.log(lo: 3, hi: 3, maxTicks: 5).labels == ["2", "5"], "one value: the 1-2-5 values around it")
        #expect(AxisTicks.log(lo: 1e-4, hi: 1e4, maxTicks: 5).labels == ["1e-4", "0.01", "1", "100", "10k"])
        #expect(AxisTicks.log(lo: 0, hi: 5, maxTicks: 5).labels == ["1", "10"])
    }

    @Test func wallClockTicks() {
        #expect(AxisTicks.duration(lo: 0, hi: 210, maxTicks: 5).labels(format: .duration) == ["0:00", "1:00", "2:00", "3:00"])
        #expect(AxisTicks.duration(lo: 0, hi: 50, maxTicks: 4).labels(format: .duration) == ["0s", "15s", "30s", "45s"])
        #expect(AxisTicks.duration(lo: 0, hi: 7300, maxTicks: 3).labels(format: .duration) == ["0:00", "1:00:00", "2:00:00"])
        let wall = ChartSeries(label: "l", role: .series(0), points: points([1, 0.5, 0.3, 0.2], xStep: 70))
        let lines = rendered(width: 40, height: 6) {
            LineChart(series: [wall], glyphs: .ascii, xFormat: .duration).render(into: &$0, in: $0.bounds)
        }
        #expect(lines.last == "   +0:00    1:00      2:00      3:00")
    }

    @Test(arguments: [(45.0, "45s"), (200, "3:20"), (3723, "1:02:03"), (59.6, "1:00"), (-5, "-5s"), (0.2, "0s"),
                      (Double.nan, "nan")])
    func durations(seconds: Double, expected: String) {
        #expect(NumberFormat.duration(seconds) == expected)
    }

    @Test func valueFormats() {
        #expect(ValueFormat.percent.readout(0.9123) == "91.2%")
        #expect(ValueFormat.degrees.readout(Double.pi / 2) == "90.0°")
        #expect(ValueFormat.degrees.readout(Double.pi / 2, glyphs: .ascii) == "90.0d")
        #expect(ValueFormat.degrees.tick(Double.pi / 4, step: Double.pi / 36) == "45°")
        #expect(ValueFormat.percent.tick(0.85, step: 0.05) == "85%")
        #expect(ValueFormat.number.readout(0.41234) == "0.412")
    }
}

@Suite struct BucketAndMarkerSeriesTests {
    @Test func bucketSpansShowSpikesTheMeanHides() {
        let buckets = ChartSeries(label: "b", role: .series(0), points: [
            ChartPoint(x: 0, y: 1, low: 0.5, high: 3), ChartPoint(x: 1, y: 1, low: 0.9, high: 1.1),
            ChartPoint(x: 2, y: 0.8), ChartPoint(x: 3, y: 0.7, low: 0, high: 0.9),
        ])
        let lines = rendered(width: 20, height: 8) {
            LineChart(series: [buckets], glyphs: .ascii, showLegend: false).render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "3+*",
            " |*",
            "2+*",
            " |*",
            "1+**************   *",
            " |*             ****",
            "0+                 *",
            " +0                3",
        ])
        let clipped = rendered(width: 20, height: 5) {
            LineChart(series: [buckets], yRange: 0.5...1.5, glyphs: .ascii, showLegend: false)
                .render(into: &$0, in: $0.bounds)
        }
        #expect(clipped == [
            " |^",
            " |*     *",
            "1+******************",
            " |*                v",
            " +0                3",
        ], "the spans beyond a fixed range get arrows")
    }

    @Test func testPointsAreMarkersJoinedByThinLines() {
        let train = ChartSeries(label: "train", role: .series(0), points: points([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]))
        let test = ChartSeries(label: "test", role: .series(1), points: [ChartPoint(x: 0, y: 0.8), ChartPoint(x: 3, y: 0.5), ChartPoint(x: 6, y: 0.45)], style: .markers)
        let unicode = rendered(width: 24, height: 6) {
            LineChart(series: [train, test], showLegend: true).render(into: &$0, in: $0.bounds)
        }
        #expect(unicode == [
            "── train  ─● test",
            "  1┤●⠤⠤⣀⡀",
            "   │ ⠉⠉⠒⠚⠭⠶⣒⣢⠤⠤⣀⡀",
            "0.5┤         ⠉●⠉⠉⠉⠉⠛⠛⠫⠭●",
            "  0┤",
            "   └0                  6",
        ])
        let ascii = rendered(width: 24, height: 6) {
            LineChart(series: [train, test], glyphs: .ascii).render(into: &$0, in: $0.bounds)
        }
        #expect(ascii == [
            "** train  .O test",
            "  1+**",
            "   |O....*******",
            "0.5+     .....O........O",
            "  0+",
            "   +0                  6",
        ])
        let g = grid(width: 24, height: 6) { LineChart(series: [train, test]).render(into: &$0, in: $0.bounds) }
        let dots = (1..<6).flatMap { y in (0..<24).compactMap { x in g.characterAt(x: x, y: y) == "●" ? g.styleAt(x: x, y: y) : nil } }
        #expect(dots.count == 3 && dots.allSatisfy { $0 == Style(.series(1), bold: true) })
    }

    @Test func onePointAndAllEqualValuesWithEveryFeature() {
        let one = ChartSeries(label: "a", role: .series(0), points: [ChartPoint(x: 5, y: 2, low: 1, high: 3)], style: .markers)
        let lines = rendered(width: 16, height: 6) {
            LineChart(series: [one], glyphs: .ascii, markers: [ChartMarker(x: 5, label: "go")], yFit: .robust(trim: 0.02))
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            ".O a",
            "2.5+^go",
            "   |.",
            "  2+O",
            "1.5+v",
            "   +5          6",
        ], "the bucket 1…3 is clipped both ways around its single point; the rule hides behind it")
        let flat = rendered(width: 16, height: 5) {
            LineChart(series: [ChartSeries(label: "a", role: .series(0), points: points([3, 3, 3]))], glyphs: .ascii,
                      yFit: .robust(trim: 0.1), logY: true).render(into: &$0, in: $0.bounds)
        }
        #expect(flat == ["** a", "10+", "  |*************", " 1+", "  +0           2"])
    }

    @Test func tinyRectsWithEveryFeatureNeverDrawOutside() {
        let series = [
            ChartSeries(label: "a", role: .series(0), points: [ChartPoint(x: 0, y: 1, low: -5, high: 1e300), ChartPoint(x: 1, y: .nan)], readout: Readout(latest: 1, smoothed: 2)),
            ChartSeries(label: "b", role: .series(1), points: points([1e-300, 2, 1e300]), style: .markers),
        ]
        let markers = [ChartMarker(x: 0, label: "first"), ChartMarker(x: 2, label: "last")]
        for logY in [false, true] {
            for width in 0...12 {
                for height in 0...8 {
                    var g = CellGrid(width: 16, height: 12)
                    let rect = Rect(x: 2, y: 2, width: width, height: height)
                    LineChart(series: series, markers: markers, yFit: .robust(trim: 0.4), logY: logY).render(into: &g, in: rect)
                    for y in 0..<g.height {
                        for x in 0..<g.width where !rect.contains(x: x, y: y) {
                            #expect(g.characterAt(x: x, y: y) == " ", "drew outside \(rect) at (\(x), \(y))")
                        }
                    }
                }
            }
        }
    }
}
