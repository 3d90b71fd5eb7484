import Testing
import Engine
import TUI
@testable import SphereLabApp

func sampleTelemetry(steps: Int = 40, unsaved: Int = 0) -> Telemetry {
    var t = Telemetry()
    t.runName = "spherenet9-cosine-fashion-mnist"
    t.dataset = "fashion-mnist"
    t.model = "SphereNet-9 ×0.25"
    t.state = .running
    t.step = steps
    t.stepsPerEpoch = 469
    t.learningRate = 1e-3
    t.imagesPerSecond = 512
    for i in 1...max(1, steps) {
        t.history.trainLoss.append(MetricPoint(step: i, value: 2.3 / Double(i).squareRoot()))
        t.history.trainAccuracy.append(MetricPoint(step: i, value: min(0.95, 0.1 + Double(i) / 50)))
    }
    t.history.testLoss = MetricSeries([MetricPoint(step: 20, value: 0.6), MetricPoint(step: 40, value: 0.45)])
    t.history.testAccuracy = MetricSeries([MetricPoint(step: 20, value: 0.78), MetricPoint(step: 40, value: 0.84)])
    t.history.bestTestAccuracy = MetricPoint(step: 40, value: 0.84)
    for (i, name) in ["features.0", "features.3"].enumerated() {
        var h = [Int](repeating: 0, count: LayerAngles.bins)
        for b in 10..<38 { h[b] = 5 + (b % 7) * (i + 1) }
        let a = LayerAngles(layer: name, variant: "cosine", step: steps, patchAngles: h, kernelAngles: h.reversed(),
                            percentiles: [1.0, 1.3, 1.57, 1.8, 2.1])
        t.angles.append(a)
        var history = AngleHistory()
        for _ in 0..<5 { history.append(a) }
        t.history.angleHistory[name] = history
    }
    t.history.replaceEvents([RunEvent(step: 0, text: "started"), RunEvent(step: 20, text: "step 20: test accuracy 78.00%")])
    t.unsavedSteps = unsaved
    return t
}

@Suite struct AppStateTests {
    @Test func keysBecomeTrainerCommands() {
        var s = AppState(telemetry: sampleTelemetry())
        #expect(s.update(.key(.char(" "))) == [.send(.togglePause)])
        #expect(s.update(.key(.char("+"))) == [.send(.scaleLearningRate(2))])
        #expect(s.update(.key(.char("-"))) == [.send(.scaleLearningRate(0.5))])
        #expect(s.update(.key(.char("v"))) == [.send(.setVariant(.linear))])
        #expect(s.update(.key(.char("e"))) == [.send(.evaluateNow)])
        #expect(s.update(.key(.char("x"))) == [])
        // n only steps while paused.
        #expect(s.update(.key(.char("n"))) == [])
        s.telemetry.state = .paused
        #expect(s.update(.key(.char("n"))) == [.send(.stepOnce)])
    }

    @Test func focusAndLayerSelectionWrap() {
        var s = AppState(telemetry: sampleTelemetry())
        #expect(s.focus == .charts)
        _ = s.update(.key(.tab)); #expect(s.focus == .angles)
        _ = s.update(.key(.char("j"))); #expect(s.selectedLayer == 1)
        _ = s.update(.key(.char("j"))); #expect(s.selectedLayer == 0)
        _ = s.update(.key(.char("["))); #expect(s.selectedLayer == 1)
        _ = s.update(.key(.char("]"))); #expect(s.selectedLayer == 0)
        _ = s.update(.key(.tab)); #expect(s.focus == .controls)
        _ = s.update(.key(.tab)); #expect(s.focus == .charts)
        _ = s.update(.key(.backTab)); #expect(s.focus == .controls)
    }

    @Test func editingRefusesBadValuesAndKeepsTheOldOne() {
        var s = AppState(telemetry: sampleTelemetry())
        s.focus = .controls
        s.selectedControl = Control.learningRate.rawValue
        _ = s.update(.key(.enter))
        #expect(s.editText == "0.001")
        for _ in 0..<5 { _ = s.update(.key(.backspace)) }
        for c in "fast" { _ = s.update(.key(.char(c))) }
        #expect(s.update(.key(.enter)) == [])
        #expect(s.editError?.contains("learning rate 'fast' is not a number; give a value in (0.0, 10.0]") == true)
        #expect(Control.learningRate.value(in: s) == "0.001")
        for _ in 0..<4 { _ = s.update(.key(.backspace)) }
        for c in "0.01" { _ = s.update(.key(.char(c))) }
        #expect(s.update(.key(.enter)) == [.send(.setLearningRate(0.01))])
        #expect(s.editText == nil && s.editError == nil)
        // Escape abandons an edit.
        _ = s.update(.key(.enter)); _ = s.update(.key(.char("9"))); #expect(s.update(.key(.escape)) == [])
        #expect(s.editText == nil)
    }

    @Test func choicesCycleWithArrows() {
        var s = AppState(telemetry: sampleTelemetry())
        s.focus = .controls
        s.selectedControl = Control.variant.rawValue
        #expect(s.update(.key(.right)) == [.send(.setVariant(.linear))])
        #expect(s.update(.key(.left)) == [.send(.setVariant(.conv))])
        s.selectedControl = Control.optimizer.rawValue
        #expect(s.update(.key(.right)) == [.send(.setOptimizer(.sgd(momentum: 0.9)))])
        s.selectedControl = Control.trainModeBN.rawValue
        #expect(s.update(.key(.right)) == [.send(.setTrainModeEvaluation(true))])
        #expect(s.trainModeBN)
        s.selectedControl = Control.margin.rawValue
        _ = s.update(.key(.enter)); _ = s.update(.key(.char("2")))
        #expect(s.update(.key(.enter)) == [])
        #expect(s.editError?.contains("ga-softmax") == true)
    }

    @Test func quitAsksToSaveOnlyWithUnsavedProgress() {
        var clean = AppState(telemetry: sampleTelemetry(unsaved: 0))
        #expect(clean.update(.key(.char("q"))) == [.quit])
        var dirty = AppState(telemetry: sampleTelemetry(unsaved: 12))
        #expect(dirty.update(.key(.char("q"))) == [])
        #expect(dirty.overlay == .confirmQuit)
        #expect(dirty.update(.key(.escape)) == [] && dirty.overlay == .none)
        _ = dirty.update(.key(.char("q")))
        #expect(dirty.update(.key(.char("n"))) == [.quit])
        _ = dirty.update(.key(.char("q")))
        let effects = dirty.update(.key(.char("y")))
        #expect(effects.count == 1)
        if case .saveAndQuit(let name)? = effects.first { #expect(name.hasPrefix("spherenet9-cosine-fashion-mnist-step40")) }
    }

    @Test func saveAndOpenDialogs() {
        var s = AppState(telemetry: sampleTelemetry(unsaved: 3))
        _ = s.update(.key(.char("s")))
        guard case .saveName(let suggested) = s.overlay else { Issue.record("no save dialog"); return }
        #expect(suggested == "spherenet9-cosine-fashion-mnist-step40")
        _ = s.update(.key(.char("/")))   // refused character
        _ = s.update(.key(.char("b")))
        #expect(s.update(.key(.enter)) == [.save(name: suggested + "b")])
        #expect(s.update(.key(.char("o"))) == [.listSnapshots])
        _ = s.update(.snapshots([SnapshotEntry(name: "a", path: "Sessions/a", detail: ""), SnapshotEntry(name: "b", path: "Sessions/b", detail: "")]))
        _ = s.update(.key(.down))
        #expect(s.update(.key(.enter)) == [])          // unsaved steps: asks first
        #expect(s.overlay == .confirmOpen(path: "Sessions/b"))
        #expect(s.update(.key(.char("n"))) == [.open(path: "Sessions/b")])
        s.sessionsAvailable = false
        #expect(s.update(.key(.char("s"))) == [] && s.status?.contains("unavailable") == true)
    }

    @Test func helpOverlayOpensAndAnyKeyCloses() {
        var s = AppState(telemetry: sampleTelemetry())
        _ = s.update(.key(.f(1)))
        #expect(s.overlay == .help)
        #expect(s.update(.key(.char(" "))) == [])   // closes, does not pause
        #expect(s.overlay == .none)
    }

    @Test func smoothingIsDebiasedAndIncremental() {
        var t = sampleTelemetry(steps: 10)
        var s = AppState(telemetry: Telemetry())
        s.smoothing = 0.6
        let full = t
        t.history.trainLoss = MetricSeries(Array(full.trainLoss.prefix(4))); t.history.trainAccuracy = MetricSeries(Array(full.trainAccuracy.prefix(4)))
        _ = s.update(.telemetry(t))
        _ = s.update(.telemetry(full))
        var m = 0.0
        for (i, p) in full.trainLoss.enumerated() {
            m = 0.6 * m + 0.4 * p.value
            let expected = m / (1 - pow(0.6, Double(i + 1)))
            #expect(abs(s.smoothedLoss[i].value - expected) < 1e-12)
        }
        #expect(abs(s.smoothedLoss[0].value - full.trainLoss[0].value) < 1e-12)   // debiased: first point is exact
        s.selectedControl = Control.smoothing.rawValue; s.focus = .controls
        _ = s.update(.key(.enter))
        for _ in 0..<4 { _ = s.update(.key(.backspace)) }
        _ = s.update(.key(.char("0")))
        #expect(s.update(.key(.enter)) == [])
        #expect(s.smoothedLoss.map(\.value) == full.trainLoss.map(\.value))
    }
}

import Foundation
