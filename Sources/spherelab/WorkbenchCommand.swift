import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI
import SessionStore

struct Workbench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open the workbench: train live in the terminal and steer the run (the default).")
    @OptionGroup var options: RunOptions
    @Option(parsing: .unconditional, help: "Stop after this many steps (default: train until you quit).") var steps: String?
    @Option(help: "Open this snapshot folder and continue it (paused).") var resume: String?
    @Option(name: .customLong("sessions-dir"), help: "Where snapshots are saved and listed.") var sessionsDir = "Sessions"
    @OptionGroup var display: GlyphOptions
    @Option(name: .customLong("autosave-minutes"), help: "Autosave unsaved progress every N minutes (0: off).") var autosaveMinutes = 10.0
    @Option(name: .customLong("autosave-keep"), help: "Autosaves of a run to keep.") var autosaveKeep = 3
    @Option(help: "Race: one run per variant, side by side (e.g. conv,cosine,sigmoid); the other options set what they share.") var race: String?
    @Option(name: .customLong("run"), help: "Race: a contender as key=value words, e.g. 'name=fast variant=cosine lr=0.004' (repeatable).") var runs: [String] = []

    /// Whether the workbench opens a race (`--race` or `--run` given).
    var isRace: Bool { race != nil || !runs.isEmpty }

    func validate() throws {
        _ = try checkedSteps
        _ = try options.checkedThreads()
        _ = try options.checkedEvaluationLimit()
        if resume != nil, !options.identityOptionsGiven.isEmpty {
            throw ValidationError("\(options.identityOptionsGiven.joined(separator: ", ")) cannot change when resuming: the snapshot fixes them")
        }
        guard autosaveMinutes >= 0, autosaveMinutes <= 24 * 60 else { throw ValidationError("--autosave-minutes must be in 0…1440") }
        guard autosaveKeep >= 1 else { throw ValidationError("--autosave-keep must be at least 1") }
        if isRace {
            if resume != nil { throw ValidationError("--race/--run start a new race; to reopen a saved one give only --resume Sessions/NAME") }
            _ = try RaceCommand.contenders(options: options, variants: race, runs: runs, steps: try checkedSteps, variantsFlag: "--race")
        }
    }

    var checkedSteps: Int? { get throws { try steps.map { s in try options.checked { try Settings.steps.parse(s) } } } }

    func run() throws {
        guard Terminal.isInteractive else {
            throw failure("the workbench needs a terminal (stdin and stdout a TTY); for scripts use `spherelab train`")
        }
        let steps = try checkedSteps
        let request = try options.request(steps: steps)
        options.applyThreads()
        let archive = SessionArchive(root: sessionsDir, datasetsDirectory: options.datasetsDir)
        // Leftovers of killed saves, in every sessions folder in use (reported before the screen opens).
        reportCleanUp(archive)
        if let resume, (resume as NSString).deletingLastPathComponent != archive.store.root {
            reportCleanUp(SessionArchive(root: (resume as NSString).deletingLastPathComponent))
        }
        enum Opened { case single(OpenedRun), race(Race) }
        let opened: Opened
        do {
            if isRace {
                let contenders = try RaceCommand.contenders(options: options, variants: race, runs: runs, steps: steps, variantsFlag: "--race")
                FileHandle.standardError.write(Data(display.glyphs.text("loading \(request.dataset.rawValue) for \(contenders.map(\.name).joined(separator: ", "))…\n").utf8))
                let race = Race()
                for c in contenders {
                    try MachineMemory.check(try ModelPlan(spec: try c.request.modelSpec()), batchSize: c.request.hyper.batchSize)
                    try race.add(name: c.name, request: c.request)
                }
                if let steps { try race.run(steps: steps) }
                opened = .race(race)
            } else if let resume, SessionArchive.isRace(path: resume) {
                if options.evalLimit != nil {
                    throw ValidationError("--eval-limit applies when resuming one run; a saved race reopens with its runs' own evaluation limits")
                }
                FileHandle.standardError.write(Data(display.glyphs.text("opening race \(resume)…\n").utf8))
                var changes: [String] = []
                let race = try archive.restoreRace(path: resume) { h in changes = try options.applyHyperparameters(to: &h) }
                if !changes.isEmpty {
                    for c in race.contenders {
                        c.session.note("resumed \(resume); command line overrides the saved race: " + changes.joined(separator: ", "), marker: "resumed")
                    }
                }
                if let steps { try race.run(steps: steps); race.applyToAll(.pause) }
                opened = .race(race)
            } else if let resume {
                FileHandle.standardError.write(Data(display.glyphs.text("opening \(resume)…\n").utf8))
                // Like `train --resume`: identity options were refused; hyperparameters apply.
                var changes: [String] = []
                let limit = try options.checkedEvaluationLimit()
                let (restored, manifest) = try archive.restore(path: resume, evaluationLimit: limit) { h in changes = try options.applyHyperparameters(to: &h) }
                if let limit { changes.append("evaluation on \(limit) test images") }
                let run = restored
                opened = .single(run)
                if !changes.isEmpty {
                    run.session.note("resumed \(resume) at step \(manifest.step); command line overrides the snapshot: " + changes.joined(separator: ", "), marker: "resumed")
                }
                if let steps { try run.session.run(steps: steps); run.session.apply(.pause) }
            } else {
                FileHandle.standardError.write(Data(display.glyphs.text("loading \(request.dataset.rawValue)…\n").utf8))
                opened = .single(try request.open(totalSteps: steps))
            }
        } catch {
            throw failure("\(error)")
        }
        let sessions = archive.isUsable ? archive : nil
        let runner: WorkbenchRunner
        switch opened {
        case .single(let run): runner = WorkbenchRunner(run: run, sessions: sessions, glyphs: display.glyphs)
        case .race(let race): runner = WorkbenchRunner(race: race, base: isRace ? request : nil, sessions: sessions, glyphs: display.glyphs)
        }
        runner.autosaveInterval = autosaveMinutes > 0 ? autosaveMinutes * 60 : nil
        runner.autosaveKeep = autosaveKeep
        do {
            try runner.run()
        } catch {
            throw failure("\(error)")
        }
        if let note = runner.emergencyNote { FileHandle.standardError.write(Data(display.glyphs.text("\(note)\n").utf8)) }
        if let signal = runner.exitSignal { throw ExitCode(128 + signal) }
        // Last, under the summary: where save-and-quit put the run and how to reopen it.
        defer { if let path = runner.savedOnQuit { print(WorkbenchRunner.savedNote(path: path, race: runner.raceRuns != nil)) } }
        if let runs = runner.raceRuns {
            for r in runs {
                let t = r.telemetry
                print("\(r.name): stopped at step \(t.step)" + (t.bestTestAccuracy.map { String(format: ", best test accuracy %.2f%%", 100 * $0) } ?? ""))
            }
            return
        }
        let t = runner.telemetry
        print("stopped at step \(t.step)" + (t.bestTestAccuracy.map { String(format: ", best test accuracy %.2f%%", 100 * $0) } ?? ""))
    }
}
