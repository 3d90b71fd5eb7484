import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI
import SessionStore

struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List and inspect snapshots.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Snapshots in the sessions folder, newest first.")
        @Option(name: .customLong("sessions-dir"), help: "The sessions folder.") var sessionsDir = "Sessions"
        @OptionGroup var display: GlyphOptions
        func run() throws {
            func print(_ text: String, terminator: String = "\n") { Swift.print(display.glyphs.text(text), terminator: terminator) }
            do {
                let archive = SessionArchive(root: sessionsDir)
                reportCleanUp(archive)
                let listings = try archive.listings()
                guard !listings.isEmpty else { print("no snapshots in \(sessionsDir)/"); return }
                var races: [String: (detail: String, damaged: Bool)] = [:]
                for l in listings { if let race = archive.raceDetail(path: l.summary.path) { races[l.summary.path] = race } }
                print(SessionTable.render(listings, races: races), terminator: "")
            } catch { throw failure("\(error)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything a snapshot holds.")
        @Argument(help: "The snapshot folder.") var path: String
        @OptionGroup var display: GlyphOptions
        func run() throws {
            func print(_ text: String) { Swift.print(display.glyphs.text(text)) }
            do {
                let archive = SessionArchive(root: (path as NSString).deletingLastPathComponent)
                reportCleanUp(archive)
                // A saved race has no session.json of its own: its runs, each a snapshot.
                if SessionArchive.isRace(path: path) {
                    for line in try archive.raceDescription(path: path) { print(line) }
                    return
                }
                try archive.preflight(path: path)
                let contents = try archive.store.load(path: path)
                let m = try archive.readManifest(contents, path: path)
                print("snapshot    \(path)")
                print("run         \(m.runName), saved \(m.summary?.savedAt ?? "(time unknown)")")
                print("model       \(m.setup.model.displayName) (\(m.setup.model.modelName)), \(m.setup.model.inputChannels)×\(m.setup.model.inputHeight)×\(m.setup.model.inputWidth), \(m.setup.model.classes) classes, BN \(m.setup.model.batchNormStatistics.rawValue)")
                print("dataset     \(m.setup.dataset.rawValue) (fingerprint \(m.datasetFingerprint)), seed \(m.setup.seed)")
                print("progress    step \(m.step), epoch \(m.epoch + 1), data position \(m.dataPosition.index) in epoch \(m.dataPosition.epoch)")
                let h = m.hyper
                print("training    \(h.variant) · \(h.optimizer) · lr \(h.schedule.base) (drops at \(h.schedule.milestones)) · \(LossChoice(head: h.head, crossEntropy: h.crossEntropy).name) · batch \(h.batchSize) · weight decay \(h.weightDecay) · orthogonality \(h.orthogonality)")
                if let best = m.metrics.bestTestAccuracy { print(String(format: "best test   %.2f%%", 100 * best)) }
                if let last = m.metrics.testAccuracy.last { print(String(format: "last test   %.2f%% at step %d", 100 * last.value, last.step)) }
                print("weights     \(contents.weights.count) tensors, \(contents.weights.reduce(0) { $0 + $1.values.count }) values")
                for t in contents.weights.prefix(60) { print("  \(t.name) \(t.shape)") }
                if contents.weights.count > 60 { print("  … \(contents.weights.count - 60) more") }
                print("optimizer   \(contents.optimizer.count) tensors")
                print("events      \(m.events.count); last: \(m.events.last.map { "[\($0.step)] \($0.text)" } ?? "–")")
            } catch { throw failure("\(error)") }
        }
    }
}

/// Says on stderr what the start-up clean-up removed (never on stdout, which may be JSON).
func reportCleanUp(_ archive: SessionArchive) {
    for line in archive.cleanUpStaleFolders() { FileHandle.standardError.write(Data("note: \(line)\n".utf8)) }
}
