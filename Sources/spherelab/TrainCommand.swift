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
    @Option(parsing: .unconditional, help: "Training steps (default: one epoch; with --resume: steps to add).") var steps: String?
    @Option(help: "Write a snapshot at the end: a name under Sessions/, or a folder path.") var save: String?
    @Option(name: .customLong("save-every"), parsing: .unconditional, help: "Also write the snapshot every N steps (needs --save).") var saveEvery: String?
    @Option(help: "Continue the run saved in this snapshot folder.") var resume: String?
    @Flag(help: "Print one JSON object per line.") var json = false
    @OptionGroup var display: GlyphOptions
    @Flag(name: .customLong("train-bn-eval"), help: "Also report test accuracy with BatchNorm in train mode.") var trainBNEval = false

    /// `--steps` and `--save-every`, through their one declared range.
    var checkedSteps: Int? { get throws { try steps.map { s in try options.checked { try Settings.steps.parse(s) } } } }
    var checkedSaveEvery: Int? { get throws { try saveEvery.map { s in try options.checked { try Settings.saveEvery.parse(s) } } } }

    func validate() throws {
        _ = try checkedSteps
        if try checkedSaveEvery != nil {
            guard save != nil else { throw ValidationError("--save-every needs --save NAME") }
        }
        if let save { _ = try options.checked { try SessionArchive.target(for: save, datasetsDirectory: options.datasetsDir) } }
        _ = try options.checkedThreads()
        if resume != nil, !options.identityOptionsGiven.isEmpty {
            throw ValidationError("\(options.identityOptionsGiven.joined(separator: ", ")) cannot change when resuming: the snapshot fixes them")
        }
    }

    func run() throws {
        options.applyThreads()
        let style: HeadlessTraining.OutputStyle = json ? .json : (isatty(STDERR_FILENO) == 1 ? .progressBar : .plain)
        StopSignals.install()
        do {
            let steps = try checkedSteps
            let target = try save.map { try SessionArchive.target(for: $0, datasetsDirectory: options.datasetsDir) }
            // Clean what killed saves left, in every sessions folder this run uses.
            var roots = [SessionArchive(datasetsDirectory: options.datasetsDir)]
            if let (archive, _) = target, archive.store.root != roots[0].store.root { roots.append(archive) }
            if let resume { roots.append(SessionArchive(root: (resume as NSString).deletingLastPathComponent)) }
            for archive in roots { reportCleanUp(archive) }
            // A target that cannot be written is found now, not after the whole run.
            try target?.0.checkWritable()
            var job = HeadlessTraining(style: style, glyphs: display.glyphs)
            let run: OpenedRun
            if let resume {
                let archive = SessionArchive(root: (resume as NSString).deletingLastPathComponent, datasetsDirectory: options.datasetsDir)
                var changes: [String] = []
                let limit = try options.checkedEvaluationLimit()
                let (restored, manifest) = try archive.restore(path: resume, evaluationLimit: limit) { h in
                    changes = try options.applyHyperparameters(to: &h)
                }
                if let limit { changes.append("evaluation on \(limit) test images") }
                run = restored
                let note = "resumed \(resume) at step \(manifest.step)" + (changes.isEmpty ? "" : "; command line overrides the snapshot: " + changes.joined(separator: ", "))
                run.session.note(note, marker: "resumed")
                // Through the same unbuffered writer as the training lines, so it comes first.
                if json {
                    job.write(JSONLine.object([("step", .int(manifest.step)), ("resumed", .string(resume)),
                                               ("overrides", .string(changes.joined(separator: "; ")))]))
                } else {
                    job.say(note)
                }
            } else {
                run = try options.request(steps: steps).open()
            }
            job.saveTarget = target
            job.saveEvery = try checkedSaveEvery
            try job.run(run, steps: steps, trainModeEvaluation: trainBNEval)
            // For the memory-estimate test: the peak resident size of this run, on stderr.
            if ProcessInfo.processInfo.environment["SPHERELAB_REPORT_PEAK_RSS"] != nil,
               let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
               let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
                let estimate = (try? ModelPlan(spec: run.trainer.model).memoryEstimate(batchSize: run.trainer.hyper.batchSize).totalBytes) ?? 0
                FileHandle.standardError.write(Data("peak \(line.split(separator: " ").dropFirst().first ?? "0") kB; estimate \(estimate / 1024) kB\n".utf8))
            }
        } catch let e as ValidationError {
            throw e
        } catch let stopped as StoppedBySignal {
            throw ExitCode(128 + stopped.signal)
        } catch {
            throw failure("\(error)")
        }
    }
}
