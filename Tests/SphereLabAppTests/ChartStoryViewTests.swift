import Testing
import Foundation
import Engine
import TUI
@testable import SphereLabApp

/// The screen tells the story of the run: changes marked where they happened, numbers to read,
/// axes that follow the data, angles that show change, a log that can be read, space used well.
@Suite struct ChartStoryViewTests {
    func screen(_ s: AppState, _ w: Int, _ h: Int) -> [String] { WorkbenchView.render(s, width: w, height: h).lines }

    func state(_ t: Telemetry = richTelemetry(), _ w: Int = 120, _ h: Int = 36) -> AppState {
        var s = AppState(telemetry: t)
        _ = s.update(.resize(width: w, height: h))
        return s
    }

    /// Column of `needle` in `line` counted in characters.
    func column(of needle: String, in line: String) -> Int? {
        line.range(of: needle).map { line.distance(from: line.startIndex, to: $0.lowerBound) }
    }

    @Test func changeMarkerSitsAtItsStepWithItsLabel() throws {
        let s = state()
        let lines = screen(s, 120, 36)
        let loss = try #require(WorkbenchView.layout(s, width: 120, height: 36).loss)
        let panel = Array(lines[loss.y..<loss.maxY])
        let labelRow = try #require(panel.firstIndex { $0.contains("lr×2") })
        let labelColumn = try #require(column(of: "lr×2", in: panel[labelRow]))
        // The plot starts right of the y axis (┤ on a tick row); steps 1…600 span its dots.
        let axisColumn = try #require(panel.compactMap { column(of: "┤", in: $0) }.first)
        let plotX = axisColumn + 1, plotWidth = loss.maxX - 1 - plotX
        let expected = plotX + Int((Double(155 - 1) / Double(600 - 1) * Double(2 * plotWidth - 1)).rounded()) / 2
        #expect(labelColumn == expected || labelColumn == expected + 1, "label at \(labelColumn), rule expected at \(expected)")
        // The rule runs down the plot at that column, and the variant switch is labelled beside it.
        let rule = Array(panel[labelRow + 3])[expected]
        #expect(rule == "│" || (0x2800...0x28FF).contains(rule.unicodeScalars.first!.value))
        #expect(panel.contains { $0.contains("→linear") })
        // In ASCII the labels are ASCII.
        var ascii = s; ascii.glyphs = .ascii
        let text = screen(ascii, 120, 36).joined(separator: "\n")
        #expect(text.contains("lr*2") && text.contains("->linear"))
    }

    @Test func markersSurviveDownsamplingAndTheTimeAxis() {
        var t = richTelemetry(steps: 3000)
        #expect(t.history.trainLoss.buckets.count > 0)
        t.history.log(RunEvent(step: 3000, text: "resumed", marker: "resumed"))
        var s = state(t)
        var text = screen(s, 120, 36).joined(separator: "\n")
        #expect(text.contains("lr×2") && text.contains("resumed"))
        // Bucketed points carry their span.
        let spans = WorkbenchView.spanPoints(t.history.trainLoss, s)
        #expect(spans.contains { $0.low != nil && $0.high != nil && $0.low! < $0.high! })
        // Wall-clock x axis: ticks read as durations (3000 steps × 0.25 s = 12:30).
        _ = s.update(.key(.char("t")))
        text = screen(s, 120, 36).joined(separator: "\n")
        #expect(text.contains("Loss · time") && text.contains("10:00") && text.contains("lr×2"))
    }

    @Test func legendsCarryLatestSmoothedAndBestNumbers() throws {
        let s = state()
        let lines = screen(s, 120, 36)
        let legend = try #require(lines.first { $0.contains("── train 0.361") })
        #expect(legend.contains("≈0.36") && legend.contains("─● test 0.38"))
        #expect(lines.contains { $0.contains("── train 90.0% ≈89.9%  ─● test 86.0%") })
        #expect(lines.contains { $0.contains("Accuracy · best 86.0% @600") })
        #expect(lines.contains { $0.contains("test  86.0% @600") })
        // Per layer median θ in degrees.
        #expect(lines.contains { $0.contains("θ(w, x) median 83.4°") })
        #expect(lines.contains { $0.contains("L1 83.4°") } && lines.contains { $0.contains("L3 70.1°") })
    }

    @Test func axesFollowTheDataAndTheWindow() throws {
        var s = state()
        var lines = screen(s, 120, 36)
        // The first steps' loss of 4 clips (▲) instead of squashing the curve: the axis tops out below 1.
        #expect(lines.contains { $0.contains("0.8┤▲") })
        #expect(!lines.contains { $0.contains(" 4┤") })
        _ = s.update(.key(.char("w"))); _ = s.update(.key(.char("w")))   // last 500 steps
        lines = screen(s, 120, 36)
        #expect(lines.contains { $0.contains("Loss · last 500") })
        // Steps 100…600: the axis no longer starts at step 1, the change at 155 is still marked.
        #expect(!lines.contains { $0.contains("└1 ") } && lines.contains { $0.contains("lr×2") })
        _ = s.update(.key(.char("y")))
        lines = screen(s, 120, 36)
        #expect(lines.contains { $0.contains("Loss · log · last 500") })
    }

    @Test func angleViewZoomsInDegreesAndShowsEveryLayer() throws {
        var s = state()
        let lines = screen(s, 120, 36)
        let angles = try #require(WorkbenchView.layout(s, width: 120, height: 36).angles)
        let panel = lines[angles.y..<angles.maxY].map { String(Array($0)[angles.x..<angles.maxX]) }
        // The θ(w, x) histogram shows 71°…97° with the 90° marker, not 0…π.
        #expect(panel.contains { $0.contains("│71°") && $0.contains("90°") && $0.contains("97°│") })
        #expect(!panel.contains { $0.contains("π") })
        #expect(panel.contains { $0.contains("θ percentiles 10/25/50/75/90") })
        #expect(panel.contains { $0.contains("80°│") })          // band chart y axis in degrees
        #expect(panel.contains { $0.contains("20") && $0.contains("600") })   // and a step axis
        _ = s.update(.key(.char("a")))
        let all = screen(s, 120, 36).joined(separator: "\n")
        #expect(all.contains("Angles · all 3 layers") && all.contains("L2 76.7°"))
    }

    @Test func reopenedSnapshotShowsItsAngleHistoryAtOnce() {
        var t = richTelemetry()
        t.angles = []   // nothing measured since the snapshot was opened
        let text = screen(state(t), 120, 36).joined(separator: "\n")
        #expect(text.contains("Angles [1/3]") && text.contains("features.0 · cosine"))
        #expect(!text.contains("no SphereConv-capable layer measured yet"))
    }

    @Test func eventLogGrowsToSixtyRowsAndScrolls() throws {
        var s = state(richTelemetry(), 120, 60)
        var lines = screen(s, 120, 60)
        let log = try #require(WorkbenchView.layout(s, width: 120, height: 60).log)
        #expect(log.height >= 12)
        let panel = Array(lines[log.y..<log.maxY])
        #expect(panel[1].contains("[0] started"))
        #expect(panel.contains { $0.contains("[155] learning rate → 0.002") })
        #expect(panel.contains { $0.contains("[159] variant → linear (weights kept)") })
        #expect(panel.contains { $0.contains("[600] step 600: test accuracy 86.00%") })
        // At 120×36 it holds five lines, and scrolls back.
        s = state(richTelemetry(), 120, 36)
        _ = s.update(.key(.pageUp))
        lines = screen(s, 120, 36)
        #expect(lines.contains { $0.contains("Events · scrolled back") })
        #expect(lines.contains { $0.contains("↓ 3 newer") })
    }

    @Test(arguments: [(80, 24), (120, 36), (200, 60)])
    func layoutUsesTheSpaceByPriority(_ size: (Int, Int)) throws {
        let (w, h) = size
        let s = state(richTelemetry(), w, h)
        let lines = screen(s, w, h)
        #expect(lines.count == h && lines.allSatisfy { $0.count <= w })
        let l = WorkbenchView.layout(s, width: w, height: h)
        // Help and quit always on the key bar.
        #expect(lines[h - 1].contains("? help") && lines[h - 1].contains("q quit"))
        let loss = try #require(l.loss), accuracy = try #require(l.accuracy), log = try #require(l.log)
        _ = try #require(l.controls); _ = try #require(l.angles)
        #expect(lines[0].contains("SphereLab") && lines[0].hasSuffix("RUNNING"))
        for title in ["Loss", "Accuracy", "Angles", "Controls", "Events"] {
            #expect(lines.contains { $0.contains("─ \(title)") }, "\(size): no \(title) panel")
        }
        switch w {
        case 80:
            #expect(loss.height >= 7 && log.height >= 4)
            #expect(l.results == nil)
        case 120:
            #expect(loss.width >= 50 && l.results != nil)
            #expect(lines.contains { $0.contains("─ Results") })
        default:
            // The charts take the space: most of the width, and the height the controls do not need.
            #expect(loss.width >= 90 && loss.height + accuracy.height >= 40)
            #expect(log.height >= 12)
            #expect(lines.contains { $0.contains("│Ankle bo") })   // per-class accuracies below the controls
        }
    }

    @Test func perClassViewNamesTheClasses() throws {
        var s = state()
        _ = s.update(.key(.char("c")))
        let lines = screen(s, 120, 36)
        #expect(lines.contains { $0.contains("Per-class results · step 600") })
        let row = try #require(lines.first { $0.contains("│T-shirt/top") })
        #expect(row.contains("80") && row.contains("86.0%"))
        #expect(lines.contains { $0.contains("│Ankle boot") && $0.contains("89") })
        // Without an evaluation yet, it says how to get one.
        var t = richTelemetry(); t.confusion = nil
        var empty = state(t); empty.showClasses = true
        #expect(screen(empty, 120, 36).joined().contains("press e to evaluate now"))
    }

    @Test func evaluationSaysItIsRunning() {
        var t = richTelemetry()
        t.isEvaluating = true
        let lines = screen(state(t), 120, 36)
        #expect(lines[0].contains("evaluating 1000 test images…") && lines[0].contains("EVALUATING"))
        #expect(lines.contains { $0.contains("│evaluating 1000 test images…") })
        // The ETA runs to the end of the run, evaluations included: 1400 steps × 128 / 512 s + 3 × 2 s.
        #expect(abs((t.secondsToRunEnd ?? 0) - 356) < 1e-6)
        #expect(lines.contains { $0.contains("ETA 5:56 to step 2000") })
    }
}

@Suite struct MarkerMergeTests {
    @Test func twoVariantSwitchesAtOneStepShowTheLastOne() {
        var t = richTelemetry()
        t.history.log(RunEvent(step: 400, text: "variant → linear (weights kept)", marker: "→linear"))
        t.history.log(RunEvent(step: 400, text: "variant → sigmoid (weights kept)", marker: "→sigmoid"))
        t.history.log(RunEvent(step: 400, text: "learning rate → 0.004", marker: "lr×2"))
        let labels = WorkbenchView.markers(AppState(telemetry: t)).map(\.label)
        #expect(labels == ["lr×2", "→linear", "→sigmoid", "lr×2"])
    }
}

@Suite struct HelpFitsTests {
    /// `?` lists every key of the one table, at 80×24 too (in two columns there).
    @Test(arguments: [(80, 24), (120, 36)])
    func helpListsEveryKey(_ size: (Int, Int)) {
        var s = AppState(telemetry: richTelemetry())
        s.overlay = .help
        let text = WorkbenchView.render(s, width: size.0, height: size.1).lines.joined(separator: "\n")
        for b in KeyMap.bindings {
            #expect(text.contains(b.label + " "), "\(size): key \(b.label) missing from the help")
        }
        // Keys in a column of their own: the text after each starts at the same place.
        func gap(_ key: String, _ help: String) -> Int? {
            for line in text.components(separatedBy: "\n") {
                guard let k = line.range(of: key + " "), let h = line.range(of: help), k.upperBound <= h.lowerBound else { continue }
                return line.distance(from: k.lowerBound, to: h.lowerBound)
            }
            return nil
        }
        let g = gap("space", "pause / resume")
        #expect(g != nil && gap("?/F1", "this help") == g && gap("PgUp", "event log: older") == g)
        for needle in ["loss axis: linear", "charts: whole run", "per-class accuracy", "quit (asks"] {
            #expect(text.contains(needle), "\(size): \(needle) missing")
        }
    }
}
