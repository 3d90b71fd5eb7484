import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import SessionStore

/// `spherelab race`: several runs side by side, headless. (Named RaceCommand so that the app
/// layer's `Race` keeps its name here.)
struct RaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "race",
        abstract: "Train several runs side by side (same seed, same batches), headless; prints a final table.",
        discussion: """
            Contenders: --variants conv,cosine (one run per variant, named as written) and/or
            --run 'name=fast variant=cosine lr=0.004' (repeatable; keys: \(RaceSpec.keys.joined(separator: ", "))).
            The train options set what every contender shares. At most \(Race.maximumContenders) contenders.
            """)
    @OptionGroup var options: RunOptions
    @Option(help: "Comma-separated variants, one contender each (e.g. conv,cosine,sigmoid).") var variants: String?
    @Option(name: .customLong("run"), help: "A contender as key=value words (repeatable).") var runs: [String] = []
    @Option(help: "Training steps of every run (default: one epoch).") var steps: Int?
    @Option(help: "Save the race at the end: every run's snapshot plus race.json, under Sessions/NAME (or a folder path).") var save: String?
    @Flag(help: "Print one JSON object per line (each with a \"run\" field).") var json = false
    @OptionGroup var display: GlyphOptions

    func validate() throws {
        if let s = steps { guard Settings.steps.contains(s) else { throw ValidationError("--steps must be in \(Settings.steps.rangeText)") } }
        if variants == nil && runs.isEmpty {
            throw ValidationError("a race needs contenders: give --variants conv,cosine and/or --run 'name=… variant=…'")
        }
        _ = try contenders()   // every spec checked before any data is read
    }

    /// The contenders' names and requests, from --variants then --run.
    func contenders() throws -> [(name: String, request: RunRequest)] {
        try RaceCommand.contenders(options: options, variants: variants, runs: runs, steps: steps)
    }

    /// The contenders of `--variants` then `--run` (shared with the workbench's `--race`/`--run`).
    static func contenders(options: RunOptions, variants: String?, runs: [String], steps: Int?,
                           variantsFlag: String = "--variants") throws -> [(name: String, request: RunRequest)] {
        var out: [(name: String, request: RunRequest)] = []
        for written in (variants ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard !written.isEmpty else { throw ValidationError("\(variantsFlag) has an empty entry; write e.g. conv,cosine") }
            var o = options
            o.variant = written
            do { out.append((written, try o.request(steps: steps))) } catch let e as ValidationError {
                throw ValidationError("\(variantsFlag) \(written): \(e.message)")
            }
        }
        let base = try options.request(steps: steps)
        for (i, spec) in runs.enumerated() {
            do {
                let (name, request) = try RaceSpec.parse(spec, base: base)
                out.append((name ?? "run\(i + 1)", request))
            } catch let e as EngineError {
                throw ValidationError("--run: \(e.message)")
            }
        }
        guard out.count <= Race.maximumContenders else {
            throw ValidationError("\(out.count) contenders given; a race holds at most \(Race.maximumContenders)")
        }
        var seen: Set<String> = []
        for c in out where !seen.insert(c.name).inserted {
            throw ValidationError("two contenders are named '\(c.name)'; name them apart with --run 'name=…'")
        }
        return out
    }

    func run() throws {
        options.applyThreads()
        let contenders = try contenders()
        StopSignals.install()
        do {
            let target = try save.map { try SessionArchive.target(for: $0, datasetsDirectory: options.datasetsDir) }
            let race = Race()
            for c in contenders { try race.add(name: c.name, request: c.request) }
            let style: HeadlessRace.OutputStyle = json ? .json : (isatty(STDERR_FILENO) == 1 ? .progressLines : .plain)
            let job = HeadlessRace(style: style, glyphs: display.glyphs)
            let board: RaceScoreboard
            do {
                board = try job.run(race, steps: steps)
            } catch let stopped as StoppedBySignal {
                // Ctrl-C, SIGTERM, SIGHUP: between steps, so every run is whole; with --save the
                // race is written as it stands (as `train --save` does), then exit 128 + signal.
                func note(_ text: String) { FileHandle.standardError.write(Data(display.glyphs.text(text + "\n").utf8)) }
                let what = "\(StopSignals.name(stopped.signal)) at step \(race.contenders.map(\.session.trainer.step).max() ?? 0)"
                if let (archive, name) = target {
                    note("\(what): saving the race before stopping")
                    let path = try archive.write(race: race, name: name)
                    if json { job.write(JSONLine.object([("saved", .string(path))])) }
                    note("saved \(path) (\(race.contenders.count) runs + \(RaceManifest.fileName)); reopen it with: spherelab --resume \(ShellWords.quote(path))")
                } else {
                    note("\(what): stopping; the race is not saved because no --save NAME was given")
                }
                throw ExitCode(128 + stopped.signal)
            }
            if let (archive, name) = target {
                let path = try archive.write(race: race, name: name)
                race.applyToAll(.markSaved(path))
                if json { job.write(JSONLine.object([("saved", .string(path))])) } else { job.say("saved \(path) (\(race.contenders.count) runs + \(RaceManifest.fileName))") }
            }
            if json { board.jsonLines().forEach(job.write) } else { job.say(board.table()) }
        } catch let e as ValidationError {
            throw e
        } catch let e as ExitCode {
            throw e
        } catch {
            throw failure("\(error)")
        }
    }
}
