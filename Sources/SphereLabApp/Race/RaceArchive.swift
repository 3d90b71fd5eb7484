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

    public static let fileName = "race.json"
}

extension SessionArchive {
    /// Saves the race as a unit, `<root>/<name>/`: one snapshot folder per run plus
    /// `race.json`, swapped in at once (a crash leaves the whole previous race or the whole new
    /// one). Returns the folder's path.
    @discardableResult
    public func write(race: Race, name: String) throws -> String {
        try SessionArchive.checkName(name)
        var members: [(name: String, contents: SnapshotContents)] = []
        var entries: [RaceManifest.Entry] = []
        var used: Set<String> = [RaceManifest.fileName]
        for c in race.contenders {
            let folder = SessionArchive.folderName(for: c.name, avoiding: used)
            used.insert(folder)
            members.append((folder, try encoded(capture(c.session, identity: c.run.identity), name: folder)))
            entries.append(.init(name: c.name, folder: folder, step: c.session.step, forkedFrom: c.fork?.from, forkStep: c.fork?.step))
        }
        let manifest = RaceManifest(savedAt: ISO8601DateFormatter().string(from: Date()), runs: entries)
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
            throw EngineError("\(file) is not a SphereLab race manifest (\(error)); the race folder is damaged")
        }
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
