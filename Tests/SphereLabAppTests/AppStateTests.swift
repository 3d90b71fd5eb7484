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
    @Test func quickPressesAdvanceFromThePendingChoice() {
        var s = AppState(telemetry: sampleTelemetry())
        s.telemetry.sequence = 10
        #expect(s.update(.key(.char("v"))) == [.send(.setVariant(.linear))])
        #expect(s.update(.key(.char("v"))) == [.send(.setVariant(.sigmoid(k: ConvVariant.defaultSigmoidK)))])
        #expect(Control.variant.value(in: s).hasPrefix("sigmoid"))
        // The trainer confirms the first press: the second stays pending.
        var t = s.telemetry; t.sequence = 11; t.hyper.variant = .linear
        _ = s.update(.telemetry(t))
        #expect(s.currentVariant.name == "sigmoid")
        #expect(s.update(.key(.char("v"))) == [.send(.setVariant(.learnableSigmoid))])
        t.sequence = 12; t.hyper.variant = .learnableSigmoid
        _ = s.update(.telemetry(t))
        #expect(s.pendingVariant == nil)
        // A refused value is dropped once enough telemetry went by after the first one read
        // after sending (even when that one was far ahead of the state's when the key came).
        _ = s.update(.key(.char("v")))
        t.sequence = 40; _ = s.update(.telemetry(t)); #expect(s.pendingVariant != nil)
        t.sequence = 42; _ = s.update(.telemetry(t)); #expect(s.pendingVariant != nil)
        t.sequence = 43; _ = s.update(.telemetry(t)); #expect(s.pendingVariant == nil)
    }

    @Test func lossArrowsAdvanceFromThePendingChoiceAndUseTheUsersNames() {
        var s = AppState(telemetry: sampleTelemetry())
        s.focus = .controls
        s.selectedControl = Control.loss.rawValue
        #expect(s.update(.key(.right)) == [.send(.setHead(.linear, .authors, label: "softmax-authors"))])
        #expect(s.update(.key(.right)) == [.send(.setHead(.weightNormalized, .plain, label: "w-softmax"))])
        #expect(Control.loss.value(in: s) == "w-softmax")
    }

    @Test func namesFollowTheVariantInUse() {
        var s = AppState(telemetry: sampleTelemetry())
        #expect(s.defaultSnapshotName == "spherenet9-cosine-fashion-mnist-step40")
        _ = s.update(.key(.char("v")))
        #expect(s.displayRunName == "spherenet9-linear-fashion-mnist")
        #expect(s.defaultSnapshotName == "spherenet9-linear-fashion-mnist-step40")
        #expect(AppState.runName("bench-fmnist-w0.25-sigmoid", variant: .cosine) == "bench-fmnist-w0.25-cosine")
        #expect(AppState.runName("myrun", variant: .cosine) == "myrun")
        let header = WorkbenchView.render(s, width: 120, height: 36).lines[0]
        #expect(header.contains("spherenet9-linear-fashion-mnist"))
    }

    @Test func viewKeysToggleChartSettings() {
        var s = AppState(telemetry: sampleTelemetry())
        _ = s.update(.key(.char("w"))); #expect(s.chartWindow == .last2000)
        _ = s.update(.key(.char("w"))); #expect(s.chartWindow == .last500)
        _ = s.update(.key(.char("w"))); #expect(s.chartWindow == .all)
        _ = s.update(.key(.char("y"))); #expect(s.logScaleLoss)
        _ = s.update(.key(.char("t"))); #expect(s.timeAxis)
        _ = s.update(.key(.char("a"))); #expect(s.allLayersView)
        _ = s.update(.key(.char("c"))); #expect(s.showClasses)
        // Every action has a key, and the help lists them all.
        let bound = Set(KeyMap.bindings.map(\.action))
        #expect(Action.allCases.allSatisfy(bound.contains))
    }

    @Test func logScrollsByKeysAndWheelAndHoldsItsPlace() {
        var t = richTelemetry()
        var s = AppState(telemetry: t)
        _ = s.update(.resize(width: 120, height: 36))
        #expect(s.logHeight == 5)
        _ = s.update(.key(.pageUp))
        #expect(s.logScroll == 3)
        s.focus = .log
        _ = s.update(.key(.up)); #expect(s.logScroll == 4)
        _ = s.update(.key(.end)); #expect(s.logScroll == 0)
        // The wheel over the log scrolls it; over the charts it zooms the step range.
        let layout = WorkbenchView.layout(s, width: 120, height: 36)
        let log = try! #require(layout.log), loss = try! #require(layout.loss)
        _ = s.update(.key(.mouse(MouseEvent(action: .wheelUp, x: log.x + 5, y: log.y + 2))))
        #expect(s.logScroll == 3)
        _ = s.update(.key(.mouse(MouseEvent(action: .wheelUp, x: loss.x + 5, y: loss.y + 3))))
        #expect(s.chartWindow == .last2000)
        _ = s.update(.key(.mouse(MouseEvent(action: .wheelDown, x: loss.x + 5, y: loss.y + 3))))
        #expect(s.chartWindow == .all)
        // New lines arrive while scrolled back: the same lines stay in view.
        t.history.log(RunEvent(step: 601, text: "new"))
        _ = s.update(.telemetry(t))
        #expect(s.logScroll == 4)
    }

    @Test func clickFocusesThePanelUnderIt() {
        var s = AppState(telemetry: sampleTelemetry())
        _ = s.update(.resize(width: 120, height: 36))
        let layout = WorkbenchView.layout(s, width: 120, height: 36)
        let controls = try! #require(layout.controls), angles = try! #require(layout.angles)
        _ = s.update(.key(.mouse(MouseEvent(action: .press(.left), x: controls.x + 3, y: controls.y + 1 + Control.optimizer.rawValue))))
        #expect(s.focus == .controls && s.selectedControl == Control.optimizer.rawValue)
        _ = s.update(.key(.mouse(MouseEvent(action: .press(.left), x: angles.x + 3, y: angles.y + 3))))
        #expect(s.focus == .angles)
    }

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
        _ = s.update(.key(.tab)); #expect(s.focus == .log)
        _ = s.update(.key(.tab)); #expect(s.focus == .charts)
        _ = s.update(.key(.backTab)); #expect(s.focus == .log)
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
        // ← goes back from the value → chose, before the trainer confirmed it.
        #expect(s.update(.key(.left)) == [.send(.setVariant(.cosine))])
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

/// A longer run than `sampleTelemetry`: 600 steps with an early loss spike, evaluations every
/// 100 steps, a learning-rate change at 155 and a variant switch at 159, a confusion matrix.
func richTelemetry(steps: Int = 600) -> Telemetry {
    var t = sampleTelemetry(steps: 1)
    t.history = RunHistory()
    t.step = steps
    t.totalSteps = 2000
    t.evaluationExamples = 1000
    t.evaluationSecondsEach = 2
    t.classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    var events = [RunEvent(step: 0, text: "started")]
    for i in 1...steps {
        let loss = i < 5 ? 4.0 : 0.3 + 1.5 / Double(i).squareRoot()
        t.history.trainLoss.append(MetricPoint(step: i, value: loss, seconds: Double(i) * 0.25))
        t.history.trainAccuracy.append(MetricPoint(step: i, value: min(0.93, 0.6 + Double(i) / 2000), seconds: Double(i) * 0.25))
        if i % 100 == 0 {
            let acc = 0.8 + Double(i) / 10000
            t.history.testAccuracy.append(MetricPoint(step: i, value: acc, seconds: Double(i) * 0.25))
            t.history.testLoss.append(MetricPoint(step: i, value: 0.5 - Double(i) / 5000, seconds: Double(i) * 0.25))
            t.history.bestTestAccuracy = MetricPoint(step: i, value: acc)
            events.append(RunEvent(step: i, text: String(format: "step %d: test accuracy %.2f%%, loss 0.4 (1000 examples, 2.0s)", i, 100 * acc)))
        }
        if i == 155 { events.append(RunEvent(step: 155, text: "learning rate → 0.002", marker: "lr×2")) }
        if i == 159 { events.append(RunEvent(step: 159, text: "variant → linear (weights kept)", marker: "→linear")) }
    }
    t.history.replaceEvents(events)
    t.angles = []
    for (i, name) in ["features.0", "features.3", "features.7"].enumerated() {
        var history = AngleHistory()
        for k in 0..<30 {
            var h = [Int](repeating: 0, count: LayerAngles.bins)
            let centre = 24 - (k / 10) * (i + 1)
            for b in (centre - 2)...(centre + 2) { h[b] = 10 - abs(b - centre) * 3 }
            let m = Double.pi / 2 - Double(k) * 0.004 * Double(i + 1)
            history.append(LayerAngles(layer: name, variant: "cosine", step: (k + 1) * 20, patchAngles: h, kernelAngles: h.reversed(),
                                       percentiles: [m - 0.05, m - 0.02, m, m + 0.02, m + 0.05]))
        }
        t.angles.append(history.entries.last!)
        t.history.angleHistory[name] = history
    }
    var counts = [Int](repeating: 0, count: 100)
    for r in 0..<10 { for c in 0..<10 { counts[r * 10 + c] = r == c ? 80 + r : (abs(r - c) == 2 ? 5 : 1) } }
    t.confusion = ConfusionCounts(classes: 10, counts: counts)
    t.confusionStep = 600
    return t
}
