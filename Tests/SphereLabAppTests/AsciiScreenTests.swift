import Testing
import Foundation
import Engine
import TUI
@testable import SphereLabApp

/// `--ascii` draws nothing but 7-bit ASCII: every cell of the workbench's and the race's views,
/// their dialogs and their status lines, at the smallest size and a large one. Failed before:
/// θ, ×, ·, ↔, β, →, », ▏ and the `…` of the header reached the screen.
@Suite struct AsciiScreenTests {
    static let sizes = [(80, 24), (160, 50)]

    /// The first rows holding a character outside 7-bit ASCII (or a control character), for the message.
    static func offenders(_ grid: CellGrid) -> [String] {
        (0..<grid.height).compactMap { y -> String? in
            let line = grid.rawLine(y)
            let bad = line.filter { !$0.isASCII || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true }
            return bad.isEmpty ? nil : "row \(y) [\(String(bad))]: \(line)"
        }
    }

    static func expectASCII(_ s: AppState, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for (w, h) in sizes {
            var sized = s
            _ = sized.update(.resize(width: w, height: h))
            let grid = WorkbenchView.render(sized, width: w, height: h)
            let bad = offenders(grid)
            #expect(bad.isEmpty, "\(what) at \(w)×\(h):\n\(bad.prefix(6).joined(separator: "\n"))", sourceLocation: sourceLocation)
        }
    }

    /// A run that has been through everything the screen can say: changes marked on the charts,
    /// an evaluation in progress, a status line, smoothing, a resumed snapshot.
    static func busyRun() -> AppState {
        var t = richTelemetry()
        t.resumedFrom = "spherenet9-cosine-fashion-mnist-step400"
        t.unsavedSteps = 200
        t.isEvaluating = true
        t.history.log(RunEvent(step: 600, level: .warning, text: "momentum/β1 → 0.95 · θ median 86° ↔ 90°"))
        var s = AppState(telemetry: t)
        s.glyphs = .ascii
        _ = s.update(.status("⚠ smoothing must be in 0…0.999"))
        return s
    }

    @Test func workbenchViewsAreASCII() {
        let s = Self.busyRun()
        Self.expectASCII(s, "main screen")
        var v = s; v.allLayersView = true; Self.expectASCII(v, "all layers")
        v = s; v.showClasses = true; Self.expectASCII(v, "per-class results")
        v = s; v.timeAxis = true; v.logScaleLoss = true; v.chartWindow = .last500; Self.expectASCII(v, "time axis, log loss, window")
        v = s; v.focus = .controls; v.selectedControl = Control.momentum.rawValue; Self.expectASCII(v, "controls focused")
        v = s; v.focus = .controls; v.selectedControl = Control.learningRate.rawValue
        _ = v.update(.key(.enter)); v.type("x"); _ = v.update(.key(.enter))
        Self.expectASCII(v, "a refused edit")
        v = s; _ = v.update(.key(.char("v"))); Self.expectASCII(v, "variant switched, angles measured before")
        v = s; v.overlay = .help; Self.expectASCII(v, "help")
        v = s; v.overlay = .confirmQuit; Self.expectASCII(v, "quit dialog")
        v = s; v.overlay = .saveName("run-step600"); Self.expectASCII(v, "save dialog")
        v = s; v.overlay = .snapshots([SnapshotEntry(name: "a", path: "/x/a", detail: "step 10 · cosine · 80.0%")], selected: 0)
        Self.expectASCII(v, "open dialog")
        v = s; v.overlay = .confirmOpen(path: "/x/a"); Self.expectASCII(v, "open confirmation")
        var fresh = Telemetry(); fresh.runName = "fresh"
        var empty = AppState(telemetry: fresh); empty.glyphs = .ascii
        Self.expectASCII(empty, "before the first step")
    }

    @Test func raceViewsAreASCII() {
        var branch = raceRun("cosine-b20", variant: .sigmoid(k: 0.3), lossScale: 0.9, test: 0.83)
        branch.forkedFrom = "cosine"; branch.forkStep = 20
        var runs = [raceRun("conv", variant: .conv, lossScale: 1.2, test: 0.81), raceRun("cosine", variant: .cosine, lossScale: 0.8, test: 0.86), branch]
        runs[1].telemetry.history.log(RunEvent(step: 30, text: "learning rate → 0.002", marker: "lr×2"))
        runs[1].telemetry.history.log(RunEvent(step: 32, text: "variant → linear (weights kept)", marker: "→linear"))
        var s = raceState(runs)
        s.glyphs = .ascii
        Self.expectASCII(s, "race")
        var v = s; _ = v.update(.key(.char("2"))); Self.expectASCII(v, "race, focus moved (status line)")
        v = s; v.race?.sort = .theta; v.race?.applyToAll = true; Self.expectASCII(v, "race sorted by theta, changes to all")
        v = s; _ = v.update(.key(.char("r"))); v.type("name=x variant=nope"); _ = v.update(.key(.enter))
        Self.expectASCII(v, "add dialog with a refusal")
        v = s; _ = v.update(.key(.char("b"))); Self.expectASCII(v, "branch dialog")
        v = s; _ = v.update(.key(.char("%"))); v.type("x"); _ = v.update(.key(.enter)); Self.expectASCII(v, "thresholds dialog")
        v = s; _ = v.update(.key(.char("x"))); Self.expectASCII(v, "remove dialog")
        v = s; v.overlay = .ghostPicker([SnapshotEntry(name: "race-a", path: "/x/race-a", detail: "race of 3: conv, cosine · step 120")], selected: 0)
        Self.expectASCII(v, "ghost picker")
        v = s; v.ghosts = [Ghost(name: "old·run", history: runs[0].telemetry.history)]; Self.expectASCII(v, "ghosts")
    }

    @Test func spellingsAreReadable() {
        #expect(AsciiText.fold("θ(w, x) median 86.6° · kernel↔patch") == "theta(w, x) median 86.6d . kernel<->patch")
        #expect(AsciiText.fold("momentum/β1") == "momentum/beta1")
        #expect(AsciiText.fold("SphereNet-9 ×0.25 → linear") == "SphereNet-9 x0.25 -> linear")
        #expect(AsciiText.fold("café ✓ 日") == "cafe ok ?")
        // A cut text ends in `..`: `~` is the smoothed value (`loss~`) in ASCII.
        #expect(TextFit.truncate("kernel↔kernel angles", to: 10, glyphs: .ascii) == "kernel<-..")
        #expect(TextFit.truncate("abc", to: 1, glyphs: .ascii) == ".")
        #expect(TextFit.truncate("kernel↔kernel", to: 8, glyphs: .unicode) == "kernel↔…")
    }
}
