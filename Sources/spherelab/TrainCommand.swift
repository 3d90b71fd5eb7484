import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI
import SessionStore

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train headless: a progress bar on a terminal, JSON lines with --json.")
    @OptionGroup var options: RunOptions
    @Option(help: "Training steps (default: one epoch; with --resume: steps to add).") var steps: Int?
    @Option(help: "Write a snapshot at the end: a name under Sessions/, or a folder path.") var save: String?
    @Option(name: .customLong("save-every"), help: "Also write the snapshot every N steps (needs --save).") var saveEvery: Int?
    @Option(help: "Continue the run saved in this snapshot folder.") var resume: String?
    @Flag(help: "Print one JSON object per line.") var json = false
    @Flag(name: .customLong("train-bn-eval"), help: "Also report test accuracy with BatchNorm in train mode.") var trainBNEval = false

    func validate() throws {
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
        if let e = saveEvery {
            guard e >= 1 else { throw ValidationError("--save-every must be at least 1") }
            guard save != nil else { throw ValidationError("--save-every needs --save NAME") }
        }
        if resume != nil, !options.identityOptionsGiven.isEmpty {
            throw ValidationError("\(options.identityOptionsGiven.joined(separator: ", ")) cannot change when resuming: the snapshot fixes them")
        }
    }

    func run() throws {
        options.applyThreads()
        let style: HeadlessTraining.OutputStyle = json ? .json : (isatty(STDERR_FILENO) == 1 ? .progressBar : .plain)
        do {
            let target = try save.map { try SessionArchive.target(for: $0, datasetsDirectory: options.datasetsDir) }
            var job = HeadlessTraining(style: style)
            let run: OpenedRun
            if let resume {
                let archive = SessionArchive(datasetsDirectory: options.datasetsDir)
                var changes: [String] = []
                let (restored, manifest) = try archive.restore(path: resume) { h in
                    changes = try options.applyHyperparameters(to: &h)
                }
                run = restored
                let note = "resumed \(resume) at step \(manifest.step)" + (changes.isEmpty ? "" : "; command line overrides the snapshot: " + changes.joined(separator: ", "))
                run.session.note(note, marker: "resumed")
                // Through the same unbuffered writer as the training lines, so it comes first.
                job.write(json ? JSONLine.object([("step", .int(manifest.step)), ("resumed", .string(resume)),
                                                  ("overrides", .string(changes.joined(separator: "; ")))]) : note)
            } else {
                run = try options.request(steps: steps).open()
            }
            job.saveTarget = target
            job.saveEvery = saveEvery
            try job.run(run, steps: steps, trainModeEvaluation: trainBNEval)
        } catch let e as ValidationError {
            throw e
        } catch {
            throw failure("\(error)")
        }
    }
}
