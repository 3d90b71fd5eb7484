import Foundation
import Engine
import SessionStore

/// What `race.json` in a saved race folder says: the runs and the snapshot folder of each.
public struct RaceManifest: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        /// The run's snapshot folder inside the race folder (opens alone in `train --resume`).
        public var folder: String
        public var step: Int
        public var forkedFrom: String?
        public var forkStep: Int?
    }

    public var format = "spherelab-race"
    public var version = 1
    public var savedAt: String
    public var runs: [Entry]
    /// The workbench scoreboard's accuracy thresholds (fractions) when the race was saved; absent
    /// in races saved before they were kept, and by the headless `race` (its defaults).
    public var thresholds: [Double]?

    public static let fileName = "race.json"

    /// `thresholds` if they are what the scoreboard takes (1 to 4 accuracies in (0, 1]).
    func checkedThresholds(path: String) throws -> [Double]? {
        guard let t = thresholds else { return nil }
        guard (1...4).contains(t.count), t.allSatisfy({ $0.isFinite && $0 > 0 && $0 <= 1 }) else {
            throw EngineError("\(path)/\(RaceManifest.fileName): 'thresholds' must hold 1 to 4 accuracies in (0, 1], found \(t); "
                              + "the race folder is damaged (remove the key to reopen it with the default 0.8, 0.85, 0.88)")
        }
        return t
    }
}

extension SessionArchive {
    /// Saves the race as a unit, `<root>/<name>/`: one snapshot folder per run plus
    /// `race.json`, swapped in at once (a crash leaves the whole previous race or the whole new
    /// one). Returns the folder's path.
    @discardableResult
    public func write(race: Race, name: String) throws -> String {
        try write(captureRace(race), name: name)
    }

    /// A race copied between steps (on the queue that drives it), to be written elsewhere.
    public struct RaceCapture: Sendable {
        public var members: [(folder: String, capture: Capture)]
        public var entries: [RaceManifest.Entry]
        /// The workbench scoreboard's thresholds, kept in `race.json` (nil: not written).
        public var thresholds: [Double]?
    }

    /// Copies every contender's snapshot state and the manifest entries; cheap next to writing.
    /// `thresholds`: the scoreboard's, to reopen with.
    public func captureRace(_ race: Race, thresholds: [Double]? = nil) -> RaceCapture {
        var members: [(folder: String, capture: Capture)] = []
        var entries: [RaceManifest.Entry] = []
        var used: Set<String> = [RaceManifest.fileName]
        for c in race.contenders {
            let folder = SessionArchive.folderName(for: c.name, avoiding: used)
            used.insert(folder)
            members.append((folder, capture(c.session, identity: c.run.identity)))
            entries.append(.init(name: c.name, folder: folder, step: c.session.step, forkedFrom: c.fork?.from, forkStep: c.fork?.step))
        }
        return RaceCapture(members: members, entries: entries, thresholds: thresholds)
    }

    /// Writes a captured race as a unit (see `write(race:name:)`); returns the folder's path.
    @discardableResult
    public func write(_ race: RaceCapture, name: String) throws -> String {
        try SessionArchive.checkName(name)
        let members = try race.members.map { (name: $0.folder, contents: try encoded($0.capture, name: $0.folder)) }
        let manifest = RaceManifest(savedAt: ISO8601DateFormatter().string(from: Date()), runs: race.entries, thresholds: race.thresholds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = Array(try encoder.encode(manifest))
        return try store.saveGroup(members, manifest: bytes, manifestFile: RaceManifest.fileName, name: name)
    }

    /// Reads `race.json` of a saved race.
    public func readRaceManifest(path: String) throws -> RaceManifest {
        let file = path + "/" + RaceManifest.fileName
        guard let data = FileManager.default.contents(atPath: file) else {
            throw EngineError("\(file) cannot be read; is \(path) a race saved by `spherelab race --save`?")
        }
        do { return try JSONDecoder().decode(RaceManifest.self, from: data) } catch {
            // In the user's words, not the decoder's: a cut-short file is the usual case.
            let what: String
            if let e = error as? DecodingError {
                if case .dataCorrupted(let c) = e, c.codingPath.isEmpty { what = "it is not valid JSON (cut short or damaged)" }
                else { what = SessionArchive.describe(e) }
            } else { what = "\(error)" }
            throw EngineError("\(file) is damaged: \(what); restore the race folder from a copy (each run's folder in it still opens alone: spherelab --resume \(path)/RUN)")
        }
    }

    /// What `sessions show` prints for a saved race: its runs, their steps and fork points,
    /// and how to look inside one of them.
    public func raceDescription(path: String) throws -> [String] {
        let m = try readRaceManifest(path: path)
        var lines = ["race        \(path), saved \(m.savedAt)", "runs        \(m.runs.count)"]
        let width = m.runs.map(\.name.count).max() ?? 0
        for r in m.runs {
            let name = r.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let fork = r.forkedFrom.map { " · branched from \($0)" + (r.forkStep.map { " at step \($0)" } ?? "") } ?? ""
            lines.append("  \(name)  step \(r.step)  folder \(r.folder)\(fork)")
        }
        let thresholds = (try m.checkedThresholds(path: path) ?? RaceBoard.defaultThresholds).map { String(format: "%g %%", 100 * $0) }
        lines.append("thresholds  \(thresholds.joined(separator: ", "))\(m.thresholds == nil ? " (the defaults)" : "")")
        lines.append("each run:   spherelab sessions show \(path)/FOLDER")
        return lines
    }

    /// Whether `path` is a saved race (a folder holding `race.json`).
    public static func isRace(path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + RaceManifest.fileName)
    }

    /// Reopens a saved race: every run rebuilt exactly from its snapshot folder (paused), on
    /// one shared copy of the data and one workspace, with the names and fork points of
    /// `race.json`. A damaged member stops the whole open with its reason. `override` changes
    /// every run's hyperparameters (the command line's options, as for one snapshot).
    public func restoreRace(path: String, override: ((inout Hyperparameters) throws -> Void)? = nil) throws -> Race {
        let manifest = try readRaceManifest(path: path)
        guard !manifest.runs.isEmpty else { throw EngineError("\(path)/\(RaceManifest.fileName) lists no runs; the race folder is damaged") }
        let race = Race()
        race.scoreboardThresholds = try manifest.checkedThresholds(path: path)
        for entry in manifest.runs {
            guard !entry.folder.contains("/"), entry.folder != "..", entry.folder != "." else {
                throw EngineError("\(path)/\(RaceManifest.fileName): run '\(entry.name)' names folder '\(entry.folder)' outside the race; the race folder is damaged")
            }
            let member = path + "/" + entry.folder
            try preflight(path: member)
            let contents = try store.load(path: member)
            let session = try readManifest(contents, path: member)
            let data = try race.sharedData(session.setup.dataset, directory: datasetsDirectory)
            guard data.train.fingerprint == session.datasetFingerprint else {
                throw EngineError("\(member): the run was trained on a different copy of \(session.setup.dataset.rawValue) (fingerprint \(session.datasetFingerprint), found \(data.train.fingerprint)); reopening would not be exact")
            }
            let run = try SessionArchive.rebuild(contents: contents, manifest: session, data: data, path: member,
                                                 resumedFrom: (path as NSString).lastPathComponent + "/" + entry.folder,
                                                 override: override, workspace: race.workspace)
            run.session.note("opened \(member)", marker: "opened")
            let fork = entry.forkedFrom.flatMap { from in entry.forkStep.map { (from: from, step: $0) } }
            try race.adopt(name: entry.name, run: run, data: data, fork: fork)
        }
        return race
    }

    /// A snapshot folder name for a run name: characters a name may not hold become '-', and a
    /// number is added when two runs would share a folder.
    static func folderName(for runName: String, avoiding used: Set<String>) -> String {
        var base = String(runName.unicodeScalars.map { s -> Character in
            let allowed = (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "." || s == "_" || s == "-"
            return allowed ? Character(s) : "-"
        }.prefix(90))
        if base.isEmpty || base.hasPrefix(".") { base = "run" + base }
        var name = base, n = 2
        while used.contains(name) { name = "\(base)-\(n)"; n += 1 }
        return name
    }
}
