import Testing
import Foundation
import Engine
import TUI
@testable import SphereLabApp

@Suite struct WorkbenchViewTests {
    @Test(arguments: [(100, 30), (80, 24), (140, 45)])
    func screenShowsEveryPanel(_ size: (Int, Int)) {
        let grid = WorkbenchView.render(AppState(telemetry: sampleTelemetry()), width: size.0, height: size.1)
        let lines = grid.lines
        #expect(lines.count == size.1)
        #expect(lines.allSatisfy { $0.count <= size.0 })
        let text = lines.joined(separator: "\n")
        #expect(lines[0].hasPrefix(" SphereLab  spherenet9-cosine-fashion-mnist"))
        #expect(lines[0].hasSuffix(" RUNNING"))
        #expect(lines[0].contains("step 40"))
        for needle in ["Loss", "Accuracy", "Angles [1/2]", "features.0 · cosine", "θ(w, x)", "kernel↔kernel", "Controls",
                       "optimizer", "Events", "test accuracy 78.00%", "90°", "space pause"] {
            #expect(text.contains(needle), "\(size): missing \(needle)")
        }
        if size.0 >= 100 { #expect(text.contains("learning rate")) }
        // Braille from the charts.
        #expect(text.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) })
    }

    @Test func tooSmallTerminalGetsANotice() {
        let lines = WorkbenchView.render(AppState(telemetry: sampleTelemetry()), width: 60, height: 20).lines
        #expect(lines.joined().contains("terminal too small"))
        #expect(WorkbenchView.render(AppState(telemetry: sampleTelemetry()), width: 0, height: 0).lines.isEmpty)
    }

    @Test func asciiFallbackUsesSevenBitCharacters() {
        var s = AppState(telemetry: sampleTelemetry())
        s.glyphs = .ascii
        let text = WorkbenchView.render(s, width: 100, height: 30).lines.joined()
        // Labels too: θ is spelled theta, ↔ <->, · . (every view and size: `AsciiScreenTests`).
        let drawing = text.unicodeScalars.filter { $0.value > 127 }
        #expect(drawing.isEmpty, "non-ASCII characters: \(String(String.UnicodeScalarView(drawing.prefix(10))))")
        #expect(text.contains("theta(w, x) median") && text.contains("kernel<->kernel"))
    }

    // After `v` the angle view's histograms are still the old variant's until the next
    // measurement (none while paused): they are marked so at once, never labelled with the new
    // variant. Failed before: "features.0 · cosine" stayed, unmarked, beside a header saying linear.
    @Test func angleViewMarksAnglesMeasuredBeforeAVariantSwitch() {
        var s = AppState(telemetry: sampleTelemetry())   // angles measured under cosine
        func angleLine(_ w: Int, _ h: Int) -> (text: String, style: Style?) {
            let grid = WorkbenchView.render(s, width: w, height: h)
            guard let y = grid.lines.firstIndex(where: { $0.contains("Angles [") }) else { return ("", nil) }
            let line = grid.lines[y + 1]
            let start = line.range(of: "features.0").map { line.distance(from: line.startIndex, to: $0.lowerBound) }
            return (line, start.flatMap { grid.styleAt(x: $0, y: y + 1) })
        }
        #expect(angleLine(200, 60).text.contains("features.0 · cosine") && !angleLine(200, 60).text.contains("before"))
        _ = s.update(.key(.char("v")))   // → linear, sent to the trainer
        #expect(angleLine(200, 60).text.contains("features.0 · cosine (before switch to linear)"), "\(angleLine(200, 60).text)")
        #expect(angleLine(200, 60).style?.role == .warn)
        #expect(angleLine(160, 50).text.contains("features.0 · cosine (before switch)"), "\(angleLine(160, 50).text)")
        #expect(angleLine(120, 36).text.contains("features.0 · before switch"), "\(angleLine(120, 36).text)")
        #expect(angleLine(80, 24).text.contains("features.0 · befor"), "\(angleLine(80, 24).text)")
        // The trainer applies it; no measurement yet (paused): still the old variant's angles.
        var t = s.telemetry
        t.sequence += 1
        t.hyper.variant = .linear
        t.state = .paused
        _ = s.update(.telemetry(t))
        #expect(angleLine(200, 60).text.contains("features.0 · cosine (before switch to linear)"))
        // The next measurement is the new variant's.
        t.sequence += 1
        t.angles = t.angles.map { var a = $0; a.variant = "linear"; a.step += 1; return a }
        _ = s.update(.telemetry(t))
        #expect(angleLine(200, 60).text.contains("features.0 · linear") && !angleLine(200, 60).text.contains("before"))
        #expect(angleLine(200, 60).style?.role == .accent)
    }

    @Test func pausedAndDivergedStatesAreShown() {
        var t = sampleTelemetry()
        t.state = .diverged
        t.history.log(RunEvent(step: 41, level: .error, text: "diverged at step 41: loss is nan"))
        let grid = WorkbenchView.render(AppState(telemetry: t), width: 100, height: 30)
        #expect(grid.lines[0].hasSuffix(" DIVERGED"))
        #expect(grid.lines.joined().contains("diverged at step 41"))
    }

    @Test func savingShowsInTheHeader() {
        var s = AppState(telemetry: sampleTelemetry())
        s.saving = true
        #expect(WorkbenchView.render(s, width: 100, height: 30).lines[0].hasSuffix(" SAVING"))
    }

    @Test func emptyRunRendersWithoutData() {
        var t = Telemetry()
        t.runName = "fresh"
        let text = WorkbenchView.render(AppState(telemetry: t), width: 100, height: 30).lines.joined(separator: "\n")
        #expect(text.contains("waiting for the first step"))
        #expect(text.contains("no SphereConv"), "\(text)")
    }

    @Test func dialogsDrawOverTheScreen() {
        var s = AppState(telemetry: sampleTelemetry(unsaved: 5))
        _ = s.update(.key(.char("q")))
        #expect(WorkbenchView.render(s, width: 100, height: 30).lines.joined().contains("5 steps are not saved"))
        s.overlay = .help
        let help = WorkbenchView.render(s, width: 100, height: 30).lines.joined()
        #expect(help.contains("learning rate ×2") && help.contains("one step while paused"))
    }
}


/// `SPHERELAB_DUMP=dir swift test --filter dumpScreens` writes the sample screens as text, for looking at.
@Suite struct ScreenDump {
    @Test func dumpScreens() throws {
        guard let dir = ProcessInfo.processInfo.environment["SPHERELAB_DUMP"] else { return }
        for (w, h) in [(80, 24), (120, 36), (200, 60)] {
            var s = AppState(telemetry: richTelemetry())
            _ = s.update(.resize(width: w, height: h))
            try WorkbenchView.render(s, width: w, height: h).text.write(toFile: "\(dir)/screen-\(w)x\(h).txt", atomically: true, encoding: .utf8)
            s.showClasses = true
            try WorkbenchView.render(s, width: w, height: h).text.write(toFile: "\(dir)/classes-\(w)x\(h).txt", atomically: true, encoding: .utf8)
            s.showClasses = false
            s.overlay = .help
            try WorkbenchView.render(s, width: w, height: h).text.write(toFile: "\(dir)/help-\(w)x\(h).txt", atomically: true, encoding: .utf8)
            s.overlay = .none
            s.allLayersView = true
            s.glyphs = .ascii
            try WorkbenchView.render(s, width: w, height: h).text.write(toFile: "\(dir)/ascii-\(w)x\(h).txt", atomically: true, encoding: .utf8)
        }
    }
}
