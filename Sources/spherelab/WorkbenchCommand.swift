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
    @Option(help: "Stop after this many steps (default: train until you quit).") var steps: Int?
    @Option(help: "Open this snapshot folder and continue it (paused).") var resume: String?
    @Option(name: .customLong("sessions-dir"), help: "Where snapshots are saved and listed.") var sessionsDir = "Sessions"
    @Flag(help: "Draw with ASCII characters only (no braille or box lines).") var ascii = false
    @Option(name: .customLong("autosave-minutes"), help: "Autosave unsaved progress every N minutes (0: off).") var autosaveMinutes = 10.0
    @Option(name: .customLong("autosave-keep"), help: "Autosaves of a run to keep.") var autosaveKeep = 3

    func validate() throws {
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
        guard autosaveMinutes >= 0, autosaveMinutes <= 24 * 60 else { throw ValidationError("--autosave-minutes must be in 0…1440") }
        guard autosaveKeep >= 1 else { throw ValidationError("--autosave-keep must be at least 1") }
    }

    func run() throws {
        guard Terminal.isInteractive else {
            throw failure("the workbench needs a terminal (stdin and stdout a TTY); for scripts use `spherelab train`")
        }
        let request = try options.request(steps: steps)
        options.applyThreads()
        let archive = SessionArchive(root: sessionsDir, datasetsDirectory: options.datasetsDir)
        let run: OpenedRun
        do {
            if let resume {
                FileHandle.standardError.write(Data("opening \(resume)…\n".utf8))
                run = try archive.restore(path: resume).0
            } else {
                FileHandle.standardError.write(Data("loading \(request.dataset.rawValue)…\n".utf8))
                run = try request.open(totalSteps: steps)
            }
        } catch {
            throw failure("\(error)")
        }
        let sessions = archive.isUsable ? archive : nil
        _ = try? sessions?.store.removeStaleTemporaries(olderThan: 3600)   // leftovers of crashed saves
        let runner = WorkbenchRunner(run: run, sessions: sessions, glyphs: ascii ? .ascii : .unicode)
        runner.autosaveInterval = autosaveMinutes > 0 ? autosaveMinutes * 60 : nil
        runner.autosaveKeep = autosaveKeep
        do {
            try runner.run()
        } catch {
            throw failure("\(error)")
        }
        let t = runner.telemetry
        print("stopped at step \(t.step)" + (t.bestTestAccuracy.map { String(format: ", best test accuracy %.2f%%", 100 * $0) } ?? ""))
    }
}
