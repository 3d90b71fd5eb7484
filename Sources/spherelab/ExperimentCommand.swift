import ArgumentParser
import Foundation
import Engine
import SphereLabApp

/// `spherelab experiment run FILE.json | --preset NAME`, `experiment show`, `experiment presets`.
struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a grid of training runs (variants × seeds × …) into Sessions/experiments/NAME, resumably.",
        subcommands: [ExperimentRun.self, ExperimentShow.self, ExperimentPresetList.self])
}

struct ExperimentSource: ParsableArguments {
    @Argument(help: "An experiment file (JSON; see README \"Experiments\").") var file: String?
    @Option(help: "A built-in experiment: \(ExperimentPresets.names.joined(separator: ", ")).") var preset: String?

    func validate() throws {
        if (file == nil) == (preset == nil) { throw ValidationError("give an experiment file or --preset NAME (one of them)") }
    }

    func load() throws -> ExperimentSpec {
        if let preset { return try ExperimentPresets.spec(preset) }
        let path = file!
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError("cannot read the experiment file \(path): no such file or not readable")
        }
        return try ExperimentSpec.parse(data, origin: path)
    }
}

struct ExperimentRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run (or continue) an experiment: finished runs are kept, an interrupted one resumes from its last snapshot.")
    @OptionGroup var source: ExperimentSource
    @Option(help: "Folder the experiment goes under (as <root>/experiments/NAME).") var sessions = "Sessions"
    @Option(name: .customLong("datasets-dir"), help: "Folder searched first for datasets.") var datasetsDir = DatasetsFolder.defaultPath
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object per line (events, evaluations).") var json = false
    @Flag(name: .customLong("no-estimate"), help: "Start at once, without measuring each configuration's speed first.") var noEstimate = false
    @Flag(name: .customLong("estimate-only"), help: "Measure, print the estimate and stop.") var estimateOnly = false
    @OptionGroup var display: GlyphOptions

    func validate() throws {
        if estimateOnly && noEstimate { throw ValidationError("--estimate-only measures the estimate that --no-estimate skips; give one of them") }
        try DatasetsFolder.check(datasetsDir)
    }

    func run() throws {
        if let t = threads {
            guard (1...256).contains(t) else { throw ValidationError("--threads must be in 1…256") }
            BLASThreads.set(t)
        }
        // Ctrl-C, SIGTERM and SIGHUP stop between steps: the run in progress is saved and the
        // runner says how to continue.
        StopSignals.install()
        do {
            let spec = try source.load()
            let style: ExperimentRunner.OutputStyle = json ? .json : (isatty(STDERR_FILENO) == 1 ? .progressBar : .plain)
            let runner = ExperimentRunner(spec: spec, sessionsRoot: sessions, datasetsDirectory: datasetsDir, style: style)
            runner.command = (["spherelab"] + CommandLine.arguments.dropFirst().map(ShellWords.quote)).joined(separator: " ")
            runner.measureEstimate = !noEstimate
            runner.glyphs = display.glyphs
            runner.estimateOnly = estimateOnly
            let outcome = try runner.run()
            if let i = outcome.interruption { throw ExitCode(128 + i.signal) }
            if estimateOnly && outcome.stopped {
                FileHandle.standardError.write(Data("stopped after the estimate (--estimate-only); run the same command without it to start\n".utf8))
            }
        } catch let e as ValidationError {
            throw e
        } catch let e as ExitCode {
            throw e
        } catch {
            throw failure("\(error)")
        }
    }
}

struct ExperimentShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print an experiment file (e.g. a preset's) and its expanded grid.")
    @OptionGroup var source: ExperimentSource

    func run() throws {
        do {
            let spec = try source.load()
            if let preset = source.preset, let text = ExperimentPresets.text(preset) { print(text) }
            let grid = try spec.grid()
            print("\(grid.count) runs, \(spec.steps) steps each, evaluation every \(spec.evalEvery) steps:")
            for p in grid {
                let base = spec.baselineConfig(of: p, in: grid).map { "  (vs \($0))" } ?? ""
                print("  \(p.id)\(base)")
            }
        } catch let e as ValidationError { throw e } catch { throw failure("\(error)") }
    }
}

struct ExperimentPresetList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "presets", abstract: "List the built-in experiments.")
    func run() throws {
        for name in ExperimentPresets.names {
            let spec = try ExperimentPresets.spec(name)
            print("\(name): \(spec.description)")
        }
    }
}
