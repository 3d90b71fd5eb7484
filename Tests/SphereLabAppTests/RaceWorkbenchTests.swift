import Testing
import Foundation
import Engine
import TUI
@testable import SphereLabApp

/// A contender's telemetry: the sample run renamed, with its own loss level and test accuracy.
func raceRun(_ name: String, variant: ConvVariant, lossScale: Double, test: Double, steps: Int = 40) -> RunTelemetry {
    var t = sampleTelemetry(steps: steps)
    t.runName = name
    t.hyper.variant = variant
    t.history.trainLoss = MetricSeries((1...steps).map { MetricPoint(step: $0, value: lossScale * 2.3 / Double($0).squareRoot(), seconds: Double($0) * lossScale) })
    t.history.testAccuracy = MetricSeries([MetricPoint(step: 20, value: test - 0.05, seconds: 20), MetricPoint(step: 40, value: test, seconds: 40)])
    t.history.bestTestAccuracy = MetricPoint(step: 40, value: test)
    return RunTelemetry(name: name, telemetry: t)
}

/// A workbench state showing a race of conv and cosine (cosine ahead on test accuracy).
func raceState(_ runs: [RunTelemetry]? = nil) -> AppState {
    let runs = runs ?? [raceRun("conv", variant: .conv, lossScale: 1.2, test: 0.81), raceRun("cosine", variant: .cosine, lossScale: 0.8, test: 0.86)]
    var s = AppState(telemetry: runs[0].telemetry)
    s.race = RaceBoard(base: RunRequest())
    _ = s.update(.race(runs))
    return s
}

extension AppState {
    mutating func type(_ text: String) { for c in text { _ = update(.key(.char(c))) } }
}

@Suite struct RaceAppStateTests {
    @Test func numberKeysFocusARunAndThePanelsFollowIt() {
        var s = raceState()
        #expect(s.race?.focused == 0 && s.telemetry.runName == "conv")
        _ = s.update(.key(.char("2")))
        #expect(s.race?.focused == 1)
        #expect(s.telemetry.runName == "cosine", "the single-run panels show the focused run")
        #expect(s.telemetry.hyper.variant == .cosine)
        #expect(s.smoothedLoss.count == 40, "the focused run's smoothing starts over")
        _ = s.update(.key(.char("5")))
        #expect(s.race?.focused == 1, "no run 5: focus stays")
        #expect(s.status?.contains("1–2") == true)
        // New telemetry keeps the focus on its run, even when the order of runs changes.
        let r = s.race!.runs
        _ = s.update(.race([RunTelemetry(name: "cosine", telemetry: r[1].telemetry), RunTelemetry(name: "conv", telemetry: r[0].telemetry)]))
        #expect(s.race?.focusedName == "cosine" && s.race?.focused == 0)
    }

    @Test func changesGoToTheFocusedRunOrToAll() {
        var s = raceState()
        _ = s.update(.key(.char("2")))
        #expect(s.update(.key(.char("+"))) == [.sendTo(.scaleLearningRate(2), runs: ["cosine"])])
        #expect(s.update(.key(.char("v"))) == [.sendTo(.setVariant(ConvVariant.cosine.next), runs: ["cosine"])])
        _ = s.update(.key(.char("A")))
        #expect(s.race?.applyToAll == true)
        #expect(s.update(.key(.char("-"))) == [.sendTo(.scaleLearningRate(0.5), runs: nil)])
        _ = s.update(.key(.char("A")))
        // A control edited in the panel goes where the keys go.
        s.focus = .controls
        s.selectedControl = Control.learningRate.rawValue
        _ = s.update(.key(.enter))
        s.editText = ""
        s.type("0.004")
        #expect(s.update(.key(.enter)) == [.sendTo(.setLearningRate(0.004), runs: ["cosine"])])
        // Pause, step and evaluate act on every run.
        s.focus = .charts
        #expect(s.update(.key(.char(" "))) == [.sendTo(.pause, runs: nil)], "a running race pauses as a whole")
        #expect(s.update(.key(.char("e"))) == [.sendTo(.evaluateNow, runs: nil)])
        var paused = s.race!.runs.map { RunTelemetry(name: $0.name, telemetry: $0.telemetry) }
        for i in paused.indices { paused[i].telemetry.state = .paused }
        _ = s.update(.race(paused))
        #expect(s.update(.key(.char("n"))) == [.sendTo(.stepOnce, runs: nil)])
        #expect(s.update(.key(.char(" "))) == [.sendTo(.resume, runs: nil)])
        // The evaluation interval stays shared, so the runs keep evaluating together.
        #expect(s.race!.recipients(of: .setEvalEvery(100)) == nil)
    }

    @Test func addDialogChecksTheSpecWithRaceSpecsWords() {
        var s = raceState()
        _ = s.update(.key(.char("r")))
        guard case .runSpec(let d) = s.overlay else { Issue.record("no add dialog"); return }
        #expect(d.kind == .add)
        s.type("name=x lr=oops")
        #expect(s.update(.key(.enter)).isEmpty)
        guard case .runSpec(let refused) = s.overlay else { Issue.record("the dialog closed on a bad spec"); return }
        #expect(refused.error?.contains("run spec 'name=x lr=oops': lr=oops") == true, "\(refused.error ?? "")")
        for _ in 0..<4 { _ = s.update(.key(.backspace)) }
        s.type("0.002 variant=sigmoid")
        #expect(s.update(.key(.enter)) == [.addRun(spec: "name=x lr=0.002 variant=sigmoid")])
        #expect(s.overlay == .none)
        // A name already in the race is refused.
        _ = s.update(.key(.char("r")))
        s.type("name=conv variant=linear")
        _ = s.update(.key(.enter))
        guard case .runSpec(let dup) = s.overlay else { Issue.record("a duplicate name was accepted"); return }
        #expect(dup.error?.contains("already has a run named 'conv'") == true)
        _ = s.update(.key(.escape))
        #expect(s.overlay == .none)
    }

    @Test func branchDialogKeepsTheModelAndNamesTheFocusedRun() {
        var s = raceState()
        _ = s.update(.key(.char("2")))
        _ = s.update(.key(.char("b")))
        guard case .runSpec(let d) = s.overlay else { Issue.record("no branch dialog"); return }
        #expect(d.kind == .branch(of: "cosine", step: 40))
        s.type("width=0.5")
        _ = s.update(.key(.enter))
        guard case .runSpec(let refused) = s.overlay else { Issue.record("a model change was accepted"); return }
        #expect(refused.error?.contains("a branch keeps its model") == true)
        for _ in 0..<9 { _ = s.update(.key(.backspace)) }
        s.type("variant=sigmoid")
        #expect(s.update(.key(.enter)) == [.branchRun(of: "cosine", spec: "variant=sigmoid")])
        // No changes: a branch that repeats its source.
        _ = s.update(.key(.char("b")))
        #expect(s.update(.key(.enter)) == [.branchRun(of: "cosine", spec: "")])
        let text = WorkbenchView.render(raceStateWithBranchDialog(), width: 120, height: 36).lines.joined(separator: "\n")
        #expect(text.contains("Branch cosine at step 40"))
    }

    /// The branch dialog lists only the keys a branch takes (it keeps its model: `model`,
    /// `depth`, `width`, `normalization` are refused) and says what enter does. Failed before:
    /// it listed every key and offered "enter add".
    @Test func branchDialogListsTheKeysABranchTakes() {
        let branch = WorkbenchView.render(raceStateWithBranchDialog(), width: 120, height: 36).lines.joined(separator: "\n")
        #expect(branch.contains("keys: name variant optimizer lr") && branch.contains("enter branch · esc cancel"), "\(branch)")
        #expect(!branch.contains(" width ") && !branch.contains(" model ") && !branch.contains("normalization"))
        var s = raceState()
        _ = s.update(.key(.char("r")))
        let add = WorkbenchView.render(s, width: 120, height: 36).lines.joined(separator: "\n")
        #expect(add.contains("keys: name model depth width normalization variant") && add.contains("enter add · esc cancel"), "\(add)")
    }

    func raceStateWithBranchDialog() -> AppState {
        var s = raceState()
        _ = s.update(.key(.char("2")))
        _ = s.update(.key(.char("b")))
        return s
    }

    @Test func clickOnAScoreboardRowFocusesItsRun() {
        var s = raceState()
        _ = s.update(.resize(width: 120, height: 36))
        guard let board = WorkbenchView.layout(s, width: 120, height: 36).scoreboard else { Issue.record("no scoreboard at 120×36"); return }
        _ = s.update(.key(.mouse(MouseEvent(action: .press(.left), x: board.x + 5, y: board.y + 3))))
        #expect(s.race?.focused == 1 && s.telemetry.runName == "cosine")
    }

    @Test func removeAsksFirstAndTheLastRunStays() {
        var s = raceState()
        _ = s.update(.key(.char("2")))
        _ = s.update(.key(.char("x")))
        #expect(s.overlay == .confirmRemove(name: "cosine"))
        #expect(s.update(.key(.char("n"))).isEmpty && s.overlay == .none)
        _ = s.update(.key(.char("x")))
        #expect(s.update(.key(.char("y"))) == [.removeRun("cosine")])
        // The trainer removes it; the next picture has one run, which keeps its colour slot.
        let conv = s.race!.runs[0]
        _ = s.update(.race([RunTelemetry(name: "conv", telemetry: conv.telemetry)]))
        #expect(s.race?.runs.count == 1 && s.race?.focused == 0 && s.telemetry.runName == "conv")
        #expect(s.race?.runs[0].slot == 0)
        _ = s.update(.key(.char("x")))
        #expect(s.overlay == .none && s.status?.contains("last run") == true)
        // A new run takes the lowest free slot.
        _ = s.update(.race([RunTelemetry(name: "conv", telemetry: conv.telemetry), raceRun("sig", variant: .sigmoid(k: 0.3), lossScale: 1, test: 0.8)]))
        #expect(s.race?.runs.map(\.slot) == [0, 1])
    }

    @Test func raceKeysInOneRunSayHowToStartARace() {
        var s = AppState(telemetry: sampleTelemetry())
        #expect(s.update(.key(.char("2"))).isEmpty)
        #expect(s.status?.contains("--race") == true)
        #expect(s.update(.key(.char("r"))).isEmpty && s.overlay == .none)
        #expect(s.update(.key(.char("+"))) == [.send(.scaleLearningRate(2))], "one run: commands as before")
    }

    @Test func thresholdsAreEditableAndChecked() throws {
        #expect(try RaceBoard.parseThresholds("80 85 88") == [0.80, 0.85, 0.88])
        #expect(try RaceBoard.parseThresholds("90,70%") == [0.70, 0.90])
        #expect(throws: EngineError.self) { try RaceBoard.parseThresholds("120") }
        #expect(throws: EngineError.self) { try RaceBoard.parseThresholds("") }
        var s = raceState()
        _ = s.update(.key(.char("%")))
        for _ in 0..<8 { _ = s.update(.key(.backspace)) }
        s.type("70 82")
        _ = s.update(.key(.enter))
        #expect(s.race?.thresholds == [0.70, 0.82])
        let text = WorkbenchView.render(s, width: 120, height: 36).lines.joined(separator: "\n")
        #expect(text.contains("to 70%") && text.contains("to 82%") && !text.contains("to 88%"))
    }

    /// Thresholds changed with `%` (and runs added, branched or removed) are part of what a
    /// race save holds: quitting or opening after such a change asks to save, though no step is
    /// unsaved. Failed before: `q` quit at once and the new thresholds were lost.
    @Test func changedThresholdsOrRunsAreUnsavedUntilTheRaceIsSaved() {
        var s = raceState()
        #expect(s.unsavedSteps == 0 && !s.hasUnsavedChanges)
        var untouched = s
        #expect(untouched.update(.key(.char("q"))) == [.quit], "nothing changed: quits at once")
        _ = s.update(.key(.char("%")))
        for _ in 0..<8 { _ = s.update(.key(.backspace)) }
        s.type("70 75")
        _ = s.update(.key(.enter))
        #expect(s.hasUnsavedChanges && s.unsavedParts == ["the scoreboard's thresholds"])
        var quitting = s
        #expect(quitting.update(.key(.char("q"))) == [] && quitting.overlay == .confirmQuit)
        let dialog = WorkbenchView.render(quitting, width: 80, height: 24).lines.joined(separator: "\n")
        #expect(dialog.contains("The scoreboard's thresholds are not saved.") && dialog.contains("Save the race before quitting?"), "\(dialog)")
        #expect(quitting.update(.key(.char("y"))).count == 1, "y saves the race, then quits")
        var opening = s
        #expect(opening.update(.key(.char("o"))) == [.listSnapshots])
        _ = opening.update(.snapshots([SnapshotEntry(name: "a", path: "Sessions/a", detail: "")]))
        #expect(opening.update(.key(.enter)) == [] && opening.overlay == .confirmOpen(path: "Sessions/a"))
        // Setting them back is no change; a save of the new ones (as the runner records it) neither.
        var back = s
        _ = back.update(.key(.char("%")))
        for _ in 0..<8 { _ = back.update(.key(.backspace)) }
        back.type("80 85 88")
        _ = back.update(.key(.enter))
        #expect(!back.hasUnsavedChanges)
        s.race?.saved = RaceBoard.SavedPart(thresholds: [0.70, 0.75], runs: ["conv", "cosine"])
        #expect(!s.hasUnsavedChanges && s.update(.key(.char("q"))) == [.quit])
        // A run added (or a branch) with no step of its own, or a run removed.
        var grown = raceState()
        _ = grown.update(.race([raceRun("conv", variant: .conv, lossScale: 1.2, test: 0.81), raceRun("cosine", variant: .cosine, lossScale: 0.8, test: 0.86),
                                raceRun("cosine-b40", variant: .cosine, lossScale: 0.8, test: 0.86)]))
        #expect(grown.unsavedParts == ["the race's runs (added, branched or removed)"])
        let both = WorkbenchView.notSaved(grown, quitting: true)
        #expect(both == "The race's runs (added, branched or removed) are not saved.")
        var shrunk = raceState()
        _ = shrunk.update(.race([raceRun("conv", variant: .conv, lossScale: 1.2, test: 0.81)]))
        #expect(shrunk.hasUnsavedChanges)
    }

    @Test func ghostsComeFromAPickListAndClear() {
        var s = AppState(telemetry: sampleTelemetry())
        #expect(s.update(.key(.char("g"))) == [.listGhosts])
        _ = s.update(.ghostChoices([SnapshotEntry(name: "old", path: "/x/old", detail: "step 300")]))
        #expect(s.update(.key(.enter)) == [.loadGhost(path: "/x/old")])
        var h = RunHistory()
        h.trainLoss = MetricSeries((1...30).map { MetricPoint(step: $0, value: 3.0 / Double($0)) })
        _ = s.update(.ghosts([Ghost(name: "old", history: h)]))
        #expect(s.ghosts.count == 1)
        let text = WorkbenchView.render(s, width: 120, height: 36).lines.joined(separator: "\n")
        #expect(text.contains("ghost old"), "the ghost is named in the single-run legend")
        _ = s.update(.key(.char("G")))
        #expect(s.ghosts.isEmpty)
    }
}

@Suite struct RaceViewTests {
    // A run that has not measured a rate (a race just reopened) shows "–", not 0 img/s; the
    // header of the focused run too. Failed before: "0" until the runs moved.
    @Test func imagesPerSecondIsADashUntilMeasured() {
        var runs = [raceRun("conv", variant: .conv, lossScale: 1.2, test: 0.81), raceRun("cosine", variant: .cosine, lossScale: 0.8, test: 0.86)]
        runs[0].telemetry.imagesPerSecond = 0
        runs[1].telemetry.imagesPerSecond = 64.4
        let lines = WorkbenchView.render(raceState(runs), width: 200, height: 60).lines
        #expect(lines[0].contains("step 40") && lines[0].contains(" – img/s"), "\(lines[0])")
        guard let h = lines.firstIndex(where: { $0.contains(" img/s ") && $0.contains(" run ") }) else { Issue.record("no scoreboard"); return }
        let end = lines[h].distance(from: lines[h].startIndex, to: lines[h].range(of: "img/s")!.upperBound)
        func cell(_ run: String) -> String {
            let row = Array(lines[(h + 1)...(h + 2)].first { $0.contains(" \(run) ") } ?? "")
            return row.count >= end ? String(row[(end - 5)..<end]) : ""
        }
        #expect(cell("conv") == "    –", "\(cell("conv"))")
        #expect(cell("cosine") == "   64", "\(cell("cosine"))")
    }

    @Test(arguments: [(80, 24), (120, 36), (200, 60)])
    func everyRunIsInTheLegendAndOnTheScoreboard(_ size: (Int, Int)) {
        let s = raceState()
        let lines = WorkbenchView.render(s, width: size.0, height: size.1).lines
        #expect(lines.count == size.1 && lines.allSatisfy { $0.count <= size.0 })
        let text = lines.joined(separator: "\n")
        #expect(text.contains("Loss · all runs") && text.contains("Accuracy · all runs"))
        #expect(text.contains("▸1 conv") && text.contains("2 cosine"), "legend:\n\(text)")
        #expect(text.contains("Scoreboard"), "\(size): no scoreboard\n\(text)")
        #expect(lines.contains { $0.contains("step") && $0.contains("run") && $0.contains("test") })
        #expect(lines.contains { $0.contains("▸1") && $0.contains("conv") && $0.contains("81.0%") })
        #expect(lines.contains { $0.contains(" 2") && $0.contains("cosine") && $0.contains("86.0%") })
        #expect(text.contains("1-8 focus") || size.0 < 100)
    }

    @Test func legendGivesEachRunsLatestAndSmoothedValue() {
        let text = WorkbenchView.render(raceState(), width: 200, height: 60).lines.joined(separator: "\n")
        let s = raceState()
        let conv = s.race!.runs[0]
        let latest = ValueFormat.number.readout(conv.telemetry.history.trainLoss.last!.value)
        let smoothed = ValueFormat.number.readout(conv.smoother.loss.last!.value)
        #expect(text.contains("▸1 conv \(latest) ≈\(smoothed)"), "\(latest) ≈\(smoothed) not in:\n\(text)")
    }

    @Test func scoreboardShowsThresholdCrossingsAndSorts() {
        var s = raceState()
        var lines = WorkbenchView.render(s, width: 160, height: 40).lines
        let convRow = lines.first { $0.hasPrefix("│▸1  conv") } ?? ""
        let cosineRow = lines.first { $0.hasPrefix("│ 2  cosine") } ?? ""
        // conv reached 80 % at step 40 (76 % at 20); cosine 80 % at 20 and 85 % at 40; nobody 88 %.
        #expect(convRow.contains("40 / 0:40") && !convRow.contains("20 / 0:20"), "\(convRow)")
        #expect(cosineRow.contains("20 / 0:20") && cosineRow.contains("40 / 0:40"), "\(cosineRow)")
        func order(_ lines: [String]) -> [String] {
            lines.compactMap { l in ["conv", "cosine"].first { l.contains("│") && l.contains(" \($0) ") && l.contains("%") } }
        }
        #expect(order(lines).suffix(2) == ["conv", "cosine"])
        // > cycles: run, step, loss≈ (cosine's is lower: it comes first).
        _ = s.update(.key(.char(">")))
        _ = s.update(.key(.char(">")))
        _ = s.update(.key(.char(">")))
        #expect(s.race?.sort == .loss)
        lines = WorkbenchView.render(s, width: 160, height: 40).lines
        #expect(order(lines).suffix(2) == ["cosine", "conv"], "\(lines.joined(separator: "\n"))")
        #expect(lines.joined().contains("sorted by loss"))
    }

    @Test func sortKeepsMissingValuesLastAndTiesInOrder() {
        func row(_ n: Int, _ test: Double?) -> ScoreRow {
            var score = RaceScore(name: "r\(n)", thresholds: 0)
            score.lastTestAccuracy = test
            return ScoreRow(number: n, slot: n - 1, score: score, theta: nil)
        }
        let rows = [row(1, nil), row(2, 0.8), row(3, 0.9), row(4, 0.8)]
        #expect(RaceBoard.sorted(rows, by: .lastTest).map(\.number) == [3, 2, 4, 1])
        #expect(RaceBoard.sorted(rows, by: .order).map(\.number) == [1, 2, 3, 4])
    }

    @Test func markersLandOnTheRunsThatChanged() {
        var runs = [raceRun("conv", variant: .conv, lossScale: 1.2, test: 0.81), raceRun("cosine", variant: .cosine, lossScale: 0.8, test: 0.86)]
        runs[1].telemetry.history.log(RunEvent(step: 30, text: "learning rate → 0.002", marker: "lr×2"))
        let text = WorkbenchView.render(raceState(runs), width: 120, height: 36).lines.joined(separator: "\n")
        #expect(text.contains("2:lr×2"))
        #expect(!text.contains("1:lr×2"))
    }

    @Test func branchesAreDrawnFromTheirForkPoint() {
        var branch = raceRun("cosine-b30", variant: .sigmoid(k: 0.3), lossScale: 0.9, test: 0.85)
        branch.forkedFrom = "cosine"
        branch.forkStep = 30
        let s = raceState([raceRun("cosine", variant: .cosine, lossScale: 0.8, test: 0.86), branch])
        let board = s.race!
        let points = RaceView.seriesPoints(board.runs[1].smoother.loss, s, fork: board.runs[1].forkStep)
        #expect(points.first?.x == 30 && points.count == 11)
        let text = WorkbenchView.render(s, width: 160, height: 40).lines.joined(separator: "\n")
        #expect(text.contains("⑂cosine@30"))
    }

    /// At 80×24 a race has no room for the event log: what a key did shows in the key bar
    /// (it showed nowhere: the status line lives in the log), `? help` and `q quit` stay.
    @Test func withoutTheEventLogTheStatusTakesTheKeyBar() {
        var s = raceState()
        #expect(WorkbenchView.layout(s, width: 80, height: 24).log == nil)
        _ = s.update(.key(.char("A")))
        var bar = WorkbenchView.render(s, width: 80, height: 24).lines.last ?? ""
        #expect(bar.hasPrefix("» changes apply to ALL runs") && bar.hasSuffix("? help  q quit"), "\(bar)")
        // With the log on screen, the status stays there and the key bar keeps its keys.
        let tall = WorkbenchView.render(s, width: 120, height: 40).lines
        #expect(tall.contains { $0.contains("» changes apply to ALL runs") } && tall.last?.hasPrefix("space pause") == true)
        // The next key's news replaces it.
        _ = s.update(.key(.char("y")))
        bar = WorkbenchView.render(s, width: 80, height: 24).lines.last ?? ""
        #expect(bar.hasPrefix("» loss axis: logarithmic"), "\(bar)")
    }

    /// Adding, branching and removing finish later on the race's queue: the status says what
    /// happened then ("adding…" stayed on screen before), and a threshold edit says what it set;
    /// the save dialog says it saves the whole race.
    @Test func raceChangesAreAnnouncedWhenTheyLand() {
        var s = raceState()
        var runs = s.race!.runs.map { RunTelemetry(name: $0.name, telemetry: $0.telemetry) }
        var branch = raceRun("cosine-b40", variant: .sigmoid(k: 0.3), lossScale: 0.8, test: 0.86)
        branch.forkedFrom = "cosine"; branch.forkStep = 40
        runs.append(branch)
        _ = s.update(.race(runs))
        #expect(s.status == "branched cosine at step 40 as cosine-b40 · race of 3", "\(s.status ?? "nil")")
        _ = s.update(.race(Array(runs.dropFirst())))
        #expect(s.status == "removed conv · race of 2", "\(s.status ?? "nil")")
        _ = s.update(.race(Array(runs.dropFirst())))
        #expect(s.status == "removed conv · race of 2", "an unchanged picture says nothing new")
        _ = s.update(.key(.char("%")))
        for _ in 0..<12 { _ = s.update(.key(.backspace)) }
        s.type("60 70")
        _ = s.update(.key(.enter))
        #expect(s.status == "scoreboard thresholds: 60 %, 70 %", "\(s.status ?? "nil")")
        s.overlay = .saveName("race-step40")
        let lines = WorkbenchView.render(s, width: 120, height: 36).lines
        #expect(lines.contains { $0.contains("Save the race (every run, one folder)") })
        s.overlay = .confirmQuit
        #expect(WorkbenchView.render(s, width: 120, height: 36).lines.contains { $0.contains("Save the race before quitting?") })
    }

    /// The help lists every key of the table, Ctrl-C too (it quits, and twice quits at once,
    /// but the help only named `q`), at the smallest size and at a large one.
    @Test func helpListsEveryKeyAndCtrlC() {
        var s = raceState()
        s.overlay = .help
        for (w, h) in [(80, 24), (200, 60)] {
            let text = WorkbenchView.render(s, width: w, height: h).lines.joined(separator: "\n")
            for b in KeyMap.bindings { #expect(text.contains(b.label + " "), "\(w)×\(h): \(b.label) missing") }
            #expect(text.contains("q/^C"), "\(w)×\(h)")
        }
    }

    @Test func aNarrowLegendStillListsEveryRun() {
        let runs = ["conv", "cosine", "sig", "sig-b40"].enumerated().map { raceRun($1, variant: .cosine, lossScale: 1 + Double($0) / 4, test: 0.8) }
        let lines = WorkbenchView.render(raceState(runs), width: 80, height: 24).lines
        let legend = lines.first { $0.contains("▸1") } ?? ""
        for n in ["▸1", "2", "3", "4"] { #expect(legend.contains(n), "\(legend)") }
        #expect(legend.contains("▸1 co") && legend.contains("4 si"), "\(legend)")
    }

    /// Three runs at 80×24: the coloured names stand for the samples before any name is cut
    /// (the legend read "▸1 co…  2 cos…  3 sig…" with room for the whole names).
    @Test func aNarrowLegendDropsSamplesBeforeCuttingNames() {
        let runs = ["conv", "cosine", "sigmoid"].enumerated().map { raceRun($1, variant: .cosine, lossScale: 1 + Double($0) / 4, test: 0.8) }
        let lines = WorkbenchView.render(raceState(runs), width: 80, height: 24).lines
        let legend = lines.first { $0.contains("▸1") } ?? ""
        #expect(legend.contains("▸1 conv  2 cosine  3 sigmoid"), "\(legend)")
        var ascii = raceState(runs)
        ascii.glyphs = .ascii
        let asciiLegend = WorkbenchView.render(ascii, width: 80, height: 24).lines.first { $0.contains(">1") || $0.contains("▸1") } ?? ""
        #expect(asciiLegend.contains("**"), "ASCII keeps the glyph samples: \(asciiLegend)")
    }

    @Test func eightRunsHaveEightColours() {
        let runs = (1...8).map { raceRun("run\($0)", variant: .cosine, lossScale: Double($0) / 4, test: 0.7 + Double($0) / 100) }
        let s = raceState(runs)
        let grid = WorkbenchView.render(s, width: 200, height: 60)
        let rows = grid.lines.enumerated().filter { $0.element.contains("│") && $0.element.range(of: #"^│.\d  run\d"#, options: .regularExpression) != nil }
        #expect(rows.count == 8)
        let roles = Set(rows.compactMap { grid.styleAt(x: 4, y: $0.offset)?.role })
        #expect(roles.count == 8, "\(roles)")
        #expect(Set(s.race!.runs.map(\.slot)) == Set(0..<8))
    }

    @Test func asciiGivesEachRunItsGlyph() {
        var s = raceState()
        s.glyphs = .ascii
        let text = WorkbenchView.render(s, width: 120, height: 36).lines.joined(separator: "\n")
        #expect(text.contains("** >1 conv") && text.contains("oo 2 cosine"), "\(text)")
        #expect(text.contains("loss~") && text.contains(">1  conv"))
        // As in one run: only labels that name angles keep Greek/arrow letters.
        let drawing = text.unicodeScalars.filter { $0.value > 127 && !"θπ↔×·…»ΔβŁ–".unicodeScalars.contains($0) }
        #expect(drawing.isEmpty, "non-ASCII drawing characters: \(String(String.UnicodeScalarView(drawing.prefix(10))))")
    }
}
