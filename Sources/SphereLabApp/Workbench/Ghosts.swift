import Foundation
import Engine
import SessionStore

/// The curves of a saved run, drawn dimmed behind the live ones to compare with earlier work
/// without re-running it. Only the history is read (session.json), never the weights.
public struct Ghost: Sendable, Equatable {
    public var name: String
    public var history: RunHistory

    public init(name: String, history: RunHistory) {
        self.name = name
        self.history = history
    }

    /// The ghosts in a snapshot folder (one) or a saved race (one per run, named
    /// `race/run`). Errors say which file and why.
    public static func load(path: String) throws -> [Ghost] {
        let folder = (path as NSString).lastPathComponent
        if SessionArchive.isRace(path: path) {
            let manifest = try SessionArchive().readRaceManifest(path: path)
            return try manifest.runs.map { entry in
                Ghost(name: folder + "/" + entry.name, history: try history(of: path + "/" + entry.folder))
            }
        }
        return [Ghost(name: folder, history: try history(of: path))]
    }

    static func history(of path: String) throws -> RunHistory {
        let file = path + "/session.json"
        guard let data = FileManager.default.contents(atPath: file) else {
            throw EngineError("\(file) cannot be read; is \(path) a snapshot folder?")
        }
        return try SessionArchive.readManifest(Array(data), path: path).history
    }
}
