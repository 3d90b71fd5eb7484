import Foundation
import Testing
@testable import SessionStore

@Suite("snapshot folders: save, load, list, rotate, clean up")
struct SnapshotStoreTests {
    @Test("save then load returns the same contents at <root>/<name>")
    func saveLoad() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path + "/Sessions/")
        let contents = sampleContents(scale: 2)
        let path = try store.save(contents, name: "run-1_step.200")
        #expect(path == scratch.path + "/Sessions/run-1_step.200")
        #expect(scratch.entries("Sessions/run-1_step.200") == ["optimizer.safetensors", "session.json", "weights.safetensors"])
        let loaded = try store.load(path: path)
        #expect(loaded.weights == sortedByName(contents.weights))
        #expect(loaded.optimizer == sortedByName(contents.optimizer))
        #expect(loaded.sessionJSON == contents.sessionJSON)
        #expect(loaded.metadata == contents.metadata)
        #expect(try store.load(name: "run-1_step.200") == loaded)
    }

    @Test("overwriting keeps only the new content and leaves no hidden folders",
          arguments: [true, false])
    func overwrite(usesExchange: Bool) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        var store = SnapshotStore(root: scratch.path)
        store.usesFolderExchange = usesExchange
        try store.save(sampleContents(scale: 1), name: "run")
        var second = sampleContents(scale: 3)
        second.weights.removeLast()  // a different tensor set, to catch files merged from both saves
        try store.save(second, name: "run")
        let loaded = try store.load(name: "run")
        #expect(loaded.weights == sortedByName(second.weights))
        #expect(loaded.optimizer == second.optimizer)
        #expect(loaded.sessionJSON == second.sessionJSON)
        #expect(scratch.entries() == ["run"])
        #expect(scratch.entries("run") == ["optimizer.safetensors", "session.json", "weights.safetensors"])
    }

    @Test("invalid names are refused before anything is written")
    func invalidNames() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path + "/S")
        for name in ["", ".hidden", ".tmp-run-1-2", "..", "a/b", "../escape", "a b", "é", "x\u{0}", String(repeating: "a", count: 101)] {
            #expect(!SnapshotStore.isValidName(name), "\(name) should be invalid")
            expectStoreError(.invalidSnapshotName) { try store.save(sampleContents(), name: name) }
        }
        for name in ["a", "run-1_step.200", "A.b-C_9", String(repeating: "z", count: 100), "a.."] {
            #expect(SnapshotStore.isValidName(name), "\(name) should be valid")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/S"))
        expectStoreError(.invalidSnapshotName) { try store.load(name: "../x") }
    }

    @Test("save refuses session JSON it could not load back, and bad tensors, leaving nothing behind")
    func saveValidatesFirst() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        var foreign = sampleContents()
        foreign.sessionJSON = Array(#"{"version": 1}"#.utf8)
        expectStoreError(.foreignSession) { try store.save(foreign, name: "x") }
        var newer = sampleContents()
        newer.sessionJSON = sessionJSON(version: 2)
        expectStoreError(.newerVersion) { try store.save(newer, name: "x") }
        var broken = sampleContents()
        broken.optimizer = [NamedTensor(name: "m", shape: [5], floats: [1])]
        let error = expectStoreError(.shapeMismatch) { try store.save(broken, name: "x") }
        #expect(error?.path?.hasPrefix("optimizer.safetensors") == true)
        #expect(scratch.entries().isEmpty)
    }

    @Test("hidden temporary folders are never listed or loadable by name")
    func temporariesIgnored() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(sampleContents(), name: "real")
        // A complete-looking snapshot under a temporary name, as a crash would leave it.
        try FileManager.default.copyItem(atPath: scratch.path + "/real", toPath: scratch.path + "/.tmp-real-99-abc")
        try FileManager.default.copyItem(atPath: scratch.path + "/real", toPath: scratch.path + "/.old-gone-99-abc")
        #expect(try store.list().map(\.name) == ["real"])
        expectStoreError(.invalidSnapshotName) { try store.load(name: ".tmp-real-99-abc") }
        expectStoreError(.invalidSnapshotName) { try store.load(path: scratch.path + "/.tmp-real-99-abc") }
        expectStoreError(.invalidSnapshotName) { try store.load(path: scratch.path + "/.old-gone-99-abc/") }
    }

    @Test("incomplete or damaged folders are not listed and load with the matching error")
    func incompleteFolders() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        for name in ["complete", "no-optimizer", "no-weights", "no-session", "bad-weights", "cut-weights"] {
            try store.save(sampleContents(), name: name)
        }
        try FileManager.default.removeItem(atPath: scratch.path + "/no-optimizer/optimizer.safetensors")
        try FileManager.default.removeItem(atPath: scratch.path + "/no-weights/weights.safetensors")
        try FileManager.default.removeItem(atPath: scratch.path + "/no-session/session.json")
        try scratch.write(Array("garbage!garbage!".utf8), to: "bad-weights/weights.safetensors")
        let weightsPath = scratch.path + "/cut-weights/weights.safetensors"
        let full = try Data(contentsOf: URL(fileURLWithPath: weightsPath))
        try full.prefix(full.count - 1).write(to: URL(fileURLWithPath: weightsPath))
        try scratch.write([], to: "not-a-snapshot/readme.txt")

        #expect(try store.list().map(\.name) == ["complete"])
        let missing = expectStoreError(.missingFile) { try store.load(name: "no-optimizer") }
        #expect(missing?.path == scratch.path + "/no-optimizer/optimizer.safetensors")
        expectStoreError(.missingFile) { try store.load(name: "no-weights") }
        expectStoreError(.missingFile) { try store.load(name: "no-session") }
        expectStoreError(.missingFile) { try store.load(name: "not-a-snapshot") }
        let bad = expectStoreError(.headerLengthExceedsFile) { try store.load(name: "bad-weights") }
        #expect(bad?.path == scratch.path + "/bad-weights/weights.safetensors")
        expectStoreError(.offsetsBeyondData) { try store.load(name: "cut-weights") }
        expectStoreError(.snapshotNotFound) { try store.load(name: "never-saved") }
    }

    @Test("session.json: foreign, newer, missing version, not JSON, not an object")
    func sessionDocumentErrors() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        let cases: [(String, [UInt8], SessionStoreError.Kind)] = [
            ("foreign", Array(#"{"format": "other-tool", "version": 1}"#.utf8), .foreignSession),
            ("no-format", Array(#"{"version": 1}"#.utf8), .foreignSession),
            ("newer", sessionJSON(version: 7), .newerVersion),
            ("string-version", Array(#"{"format": "spherelab-session", "version": "1"}"#.utf8), .sessionJSONInvalid),
            ("fraction-version", Array(#"{"format": "spherelab-session", "version": 1.5}"#.utf8), .sessionJSONInvalid),
            ("zero-version", sessionJSON(version: 0), .sessionJSONInvalid),
            ("not-json", Array("{format: spherelab}".utf8), .sessionJSONInvalid),
            ("array", Array("[1]".utf8), .sessionJSONInvalid),
            ("not-utf8", [0x7B, 0xC3, 0x28, 0x7D], .sessionJSONInvalid),
        ]
        for (name, json, kind) in cases {
            try store.save(sampleContents(), name: name)
            try FileManager.default.removeItem(atPath: scratch.path + "/\(name)/session.json")
            try scratch.write(json, to: "\(name)/session.json")
            let error = expectStoreError(kind) { try store.load(name: name) }
            #expect(error?.path == scratch.path + "/\(name)/session.json", "case \(name)")
        }
        let newer = expectStoreError(.newerVersion) { try store.load(name: "newer") }
        #expect(newer?.description.contains("written by a newer SphereLab") == true)
        #expect(newer?.description.contains("Update SphereLab") == true)
        #expect(try store.list().isEmpty)
    }

    @Test("list: newest first by savedAt, summary fields read, missing fields tolerated")
    func listing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        #expect(try SnapshotStore(root: scratch.path + "/missing").list().isEmpty)
        try store.save(sampleContents(summary: #"{"name": "mnist run", "savedAt": "2025-03-01T10:00:00Z", "step": 400, "dataset": "fashion-mnist", "model": "spherenet9", "variant": "cosine", "bestTestAccuracy": 0.9125}"#), name: "middle")
        try store.save(sampleContents(summary: #"{"savedAt": "2025-03-02T09:00:00.250Z", "step": "not a number"}"#), name: "newest")
        try store.save(sampleContents(summary: #"{"savedAt": "2024-12-31T23:59:59+01:00"}"#), name: "oldest")
        let listed = try store.list()
        #expect(listed.map(\.name) == ["newest", "middle", "oldest"])
        let middle = try #require(listed.first { $0.name == "middle" })
        #expect(middle.runName == "mnist run")
        #expect(middle.savedAt == "2025-03-01T10:00:00Z")
        #expect(middle.step == 400)
        #expect(middle.dataset == "fashion-mnist")
        #expect(middle.model == "spherenet9")
        #expect(middle.variant == "cosine")
        #expect(abs((middle.bestTestAccuracy ?? 0) - 0.9125) < 1e-12)
        #expect(middle.path == scratch.path + "/middle")
        let newest = try #require(listed.first)
        #expect(newest.step == nil)
        #expect(newest.dataset == nil)
        #expect(newest.bestTestAccuracy == nil)

        // No summary at all: listed, every field nil, ordered by file time (now: newest).
        try store.save(sampleContents(), name: "bare")
        let withBare = try store.list()
        #expect(withBare.first?.name == "bare")
        #expect(withBare.first?.savedAt == nil)
    }

    @Test("rotate keeps the newest K snapshots with the prefix and leaves others alone")
    func rotation() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        for day in 1...5 {
            try store.save(sampleContents(summary: #"{"savedAt": "2025-01-0\#(day)T12:00:00Z"}"#), name: "autosave-\(day)")
        }
        try store.save(sampleContents(summary: #"{"savedAt": "2020-01-01T00:00:00Z"}"#), name: "keeper")
        try store.rotate(prefix: "autosave-", keep: 2)
        #expect(try store.list().map(\.name) == ["autosave-5", "autosave-4", "keeper"])
        #expect(scratch.entries() == ["autosave-4", "autosave-5", "keeper"])
        try store.rotate(prefix: "autosave-", keep: 0)
        #expect(scratch.entries() == ["keeper"])
        expectStoreError(.invalidArgument) { try store.rotate(prefix: "autosave-", keep: -1) }
        expectStoreError(.invalidArgument) { try store.rotate(prefix: "", keep: 1) }
        #expect(scratch.entries() == ["keeper"])
    }

    @Test("removeStaleTemporaries deletes old .tmp/.trash folders, restores an orphaned .old folder, spares fresh ones")
    func staleTemporaries() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(sampleContents(), name: "kept")
        try store.save(sampleContents(scale: 5), name: "orphan-src")
        try scratch.write([1, 2, 3], to: ".tmp-kept-123-ff/weights.safetensors")
        try scratch.write([], to: ".trash-x-1-2/session.json")
        // A snapshot moved aside by the rename fallback whose replacement never arrived.
        try FileManager.default.moveItem(atPath: scratch.path + "/orphan-src", toPath: scratch.path + "/.old-lost-run-4242-beef")
        // A moved-aside copy of a snapshot that does exist is just garbage.
        try FileManager.default.copyItem(atPath: scratch.path + "/kept", toPath: scratch.path + "/.old-kept-1-1")
        try scratch.write([], to: ".unrelated-hidden/file")

        #expect(try store.removeStaleTemporaries(olderThan: 3600) == 0, "fresh folders may belong to a save in progress")
        #expect(try store.removeStaleTemporaries(olderThan: 0) == 4)
        #expect(scratch.entries() == [".unrelated-hidden", "kept", "lost-run"])
        #expect(try store.load(name: "lost-run").metadata["scale"] == "5.0")
        #expect(try SnapshotStore(root: scratch.path + "/none").removeStaleTemporaries(olderThan: 0) == 0)
    }

    @Test("hidden folder names map back to their snapshot name")
    func hiddenNames() {
        #expect(SnapshotStore.snapshotName(ofHiddenFolder: ".old-run-a-b-12-ff", kind: .aside) == "run-a-b")
        #expect(SnapshotStore.snapshotName(ofHiddenFolder: ".old-run", kind: .aside) == nil)
        #expect(SnapshotStore.snapshotName(ofHiddenFolder: ".tmp-x-1-2", kind: .aside) == nil)
    }

    @Test("a file where the snapshot folder should be gives an I/O error and the temporary folder is removed")
    func nameTakenByFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        try scratch.write(Array("not a folder".utf8), to: "taken")
        let store = SnapshotStore(root: scratch.path)
        expectStoreError(.ioFailed) { try store.save(sampleContents(), name: "taken") }
        #expect(scratch.entries() == ["taken"])
    }
}
