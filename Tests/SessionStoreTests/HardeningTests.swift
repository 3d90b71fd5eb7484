import Foundation
import Testing
@testable import SessionStore

/// Regression tests for what the fuzzer and issue 10 found, and for the store API the app uses
/// to avoid them: duplicate keys, absurd numbers, optional summaries, non-finite numbers,
/// checked listings, stale-folder clean-up and the snapshot naming rule.
@Suite("hardening: issue 10")
struct HardeningTests {
    // MARK: messages stay sentences

    @Test("a 10 000-dimension shape gives a short message, not the whole shape (fuzz seed 1592598565 case 788)")
    func longShapeMessage() {
        let shape = "[" + Array(repeating: "1", count: 10_000).joined(separator: ",") + "]"
        let file = handMadeFile(header: #"{"t":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
        let error = expectStoreError(.byteLengthMismatch) { try SafeTensors.decode(file) }
        #expect((error?.message.count ?? .max) < 300, "message: \(error?.message.prefix(100) ?? "")")
        #expect(error?.message.contains("10000 dimensions") == true)
        let longName = String(repeating: "n", count: 5_000)
        let named = handMadeFile(header: #"{"\#(longName)":{"dtype":"X","shape":[],"data_offsets":[0,0]}}"#, data: [])
        let unknown = expectStoreError(.unknownDtype) { try SafeTensors.decode(named) }
        #expect((unknown?.description.count ?? .max) < 600)
        #expect(unknown?.tensor == longName, "the error value keeps the whole name")
    }

    // MARK: memory of parsed JSON is capped

    @Test("a header of more than a million JSON values is refused while parsing (the tree would take ~28 bytes per file byte)")
    func headerValueCap() throws {
        // A valid-looking entry whose shape holds 1 000 000 ones: before the cap it loaded.
        let ones = Array(repeating: "1", count: SafeTensors.maximumHeaderValues).joined(separator: ",")
        let file = handMadeFile(header: #"{"t":{"dtype":"F32","shape":[\#(ones)],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        let error = expectStoreError(.headerNotJSON) { try SafeTensors.decode(file) }
        #expect(error?.message.contains("more than 1000000 values") == true, "\(error?.message ?? "")")
        // Just under the cap still loads.
        let fewer = Array(repeating: "1", count: 1_000).joined(separator: ",")
        let small = handMadeFile(header: #"{"t":{"dtype":"F32","shape":[\#(fewer)],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        #expect(try SafeTensors.decode(small).tensors.first?.shape.count == 1_000)
    }

    @Test("StrictJSON counts every value against its cap")
    func valueCap() throws {
        let text = Array("[1,[2,{\"a\":3}],\"s\"]".utf8)  // 7 values
        #expect(throws: Never.self) { try StrictJSON.parse(text, maximumValues: 7) }
        #expect(throws: JSONSyntaxError.self) { try StrictJSON.parse(text, maximumValues: 6) }
    }

    // MARK: session.json: duplicate keys, absurd numbers

    @Test("duplicate keys anywhere in session.json are refused with the key's path and offset", arguments: [
        (#"{"format": "spherelab-session", "version": 1, "version": 1}"#, "version"),
        (#"{"format": "spherelab-session", "version": 1, "summary": {"step": 1, "step": 2}}"#, "summary.step"),
        (#"{"format": "spherelab-session", "version": 1, "events": [{"a": 1}, {"t": 1, "t": 2}]}"#, "events[1].t"),
        (#"{"format": "spherelab-session", "version": 1, "hyper": {"lr x": {}, "lr x": 0}}"#, #"hyper["lr x"]"#),
    ])
    func duplicateKeys(_ text: String, path: String) throws {
        let bytes = Array(text.utf8)
        let error = expectStoreError(.duplicateKey) { try SessionDocument.validate(bytes, path: "s.json") }
        #expect(error?.message.contains(path) == true, "message: \(error?.message ?? "")")
        // The offset points at the second occurrence of the key.
        let key = "\"" + (path.split(whereSeparator: { ".[]\"".contains($0) }).last.map(String.init) ?? "") + "\""
        let second = text.range(of: key, options: .backwards).map { text.utf8.distance(from: text.startIndex, to: $0.lowerBound) }
        #expect(error?.offset == second)
        // And a snapshot holding it is not listed as loadable.
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(sampleContents(), name: "dup")
        try scratch.write(bytes, to: "dup/session.json")
        expectStoreError(.duplicateKey) { try store.load(name: "dup") }
        #expect(try store.list().isEmpty)
        guard case .damaged(let reason)? = try store.listChecked().first?.health else {
            Issue.record("expected a damaged entry")
            return
        }
        #expect(reason.contains(path))
    }

    @Test("absurd format versions are damage, not 'newer SphereLab'", arguments: [
        "99999999999999999999", "1000001", "9223372036854775807", "-9223372036854775809",
    ])
    func absurdVersions(_ version: String) {
        let bytes = Array(#"{"format": "spherelab-session", "version": \#(version)}"#.utf8)
        let error = expectStoreError(.sessionJSONInvalid) { try SessionDocument.validate(bytes, path: "s.json") }
        #expect(error?.message.contains("version") == true)
        #expect(error?.kind != .newerVersion)
    }

    @Test("a plausible newer version still says 'update SphereLab'")
    func newerVersion() {
        let bytes = sessionJSON(version: 2)
        expectStoreError(.newerVersion) { try SessionDocument.validate(bytes, path: "s.json") }
    }

    // MARK: summary: optional, every field optional

    @Test("snapshots with missing, partial, mistyped or absurd summaries are listed, ok and loadable", arguments: [
        nil, #""not an object""#, "[]", "null", "{}", #"{"step": "12", "savedAt": 5, "bestTestAccuracy": "nan", "name": null}"#,
        #"{"step": -5, "bestTestAccuracy": 7}"#, #"{"step": 1e3, "bestTestAccuracy": 1e400}"#,
        #"{"step": 99999999999999999999999, "savedAt": "2025-99-99T00:00:00Z", "dataset": ["x"]}"#,
    ] as [String?])
    func optionalSummary(_ summary: String?) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(sampleContents(summary: summary), name: "run")
        let listed = try store.list()
        #expect(listed.map(\.name) == ["run"])
        let entry = try #require(listed.first)
        #expect(entry.step == nil || entry.step! >= 0)
        #expect(entry.bestTestAccuracy == nil || (0...1).contains(entry.bestTestAccuracy!))
        #expect(try store.listChecked().first?.health == .ok)
        _ = try store.load(name: "run")
    }

    @Test("summary numbers outside what a run produces are shown as unknown")
    func implausibleSummaryNumbers() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(sampleContents(summary: #"{"step": -5, "bestTestAccuracy": 7}"#), name: "a")
        try store.save(sampleContents(summary: #"{"step": 12, "bestTestAccuracy": 0.5}"#), name: "b")
        let byName = Dictionary(uniqueKeysWithValues: try store.list().map { ($0.name, $0) })
        #expect(byName["a"]?.step == nil)
        #expect(byName["a"]?.bestTestAccuracy == nil)
        #expect(byName["b"]?.step == 12)
        #expect(byName["b"]?.bestTestAccuracy == 0.5)
    }

    // MARK: non-finite numbers

    struct Metrics: Codable, Equatable {
        var loss: [Double]
        var accuracy: Float
        var best: FiniteOrNot<Double>
        var worst: FiniteOrNot<Float>
        static func == (a: Self, b: Self) -> Bool {
            a.loss.map(\.bitPattern) == b.loss.map(\.bitPattern) && a.accuracy.bitPattern == b.accuracy.bitPattern
                && a.best == b.best && a.worst == b.worst
        }
    }

    struct Document: Codable {
        var format = "spherelab-session"
        var version = 1
        var metrics: Metrics
    }

    @Test("NaN and ±∞ written by SessionJSON's encoder are saved, loaded and decoded back")
    func nonFiniteRoundTrip() throws {
        let metrics = Metrics(loss: [1.5, .nan, .infinity, -.infinity], accuracy: .nan,
                              best: FiniteOrNot(.infinity), worst: FiniteOrNot(.nan))
        let bytes = Array(try SessionJSON.makeEncoder().encode(Document(metrics: metrics)))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"[1.5,"nan","inf","-inf"]"#), "\(text)")
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        var contents = sampleContents()
        contents.sessionJSON = bytes
        try store.save(contents, name: "diverged")
        #expect(try store.listChecked().first?.health == .ok)
        let loaded = try store.load(name: "diverged")
        let decoded = try SessionJSON.makeDecoder().decode(Document.self, from: Data(loaded.sessionJSON))
        #expect(decoded.metrics == metrics)
        // A plain JSONDecoder (what the app used) refuses the strings: that was the bug.
        #expect(throws: (any Error).self) { try JSONDecoder().decode(Document.self, from: Data(loaded.sessionJSON)) }
    }

    @Test("FiniteOrNot works with plain coders, reads null as NaN and refuses other strings")
    func finiteOrNot() throws {
        let values: [FiniteOrNot<Double>] = [.init(0.25), .init(.nan), .init(.infinity), .init(-.infinity)]
        let data = try JSONEncoder().encode(values)
        #expect(String(decoding: data, as: UTF8.self) == #"[0.25,"nan","inf","-inf"]"#)
        #expect(try JSONDecoder().decode([FiniteOrNot<Double>].self, from: data) == values)
        let null = try JSONDecoder().decode([FiniteOrNot<Float>].self, from: Data("[null, 2]".utf8))
        #expect(null[0].value.isNaN && null[1].value == 2)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([FiniteOrNot<Double>].self, from: Data(#"["NaN"]"#.utf8)) }
        #expect(SessionJSON.string(forNonFinite: -Double.nan) == "nan")
        #expect(SessionJSON.string(forNonFinite: Float(3)) == nil)
    }

    // MARK: checked listing

    /// A model check like the app's: the expected tensor table, compared by name and shape.
    static let expectedShapes: [String: [Int]] = Dictionary(uniqueKeysWithValues: sampleWeights().map { ($0.name, $0.shape) })
    static let modelCheck: SnapshotModelCheck = { input in
        guard String(decoding: input.sessionJSON, as: UTF8.self).contains("spherelab-session") else { return "no session JSON given" }
        let shapes = input.weightShapes
        if let missing = expectedShapes.keys.sorted().first(where: { shapes[$0] == nil }) { return "weights lack \(missing)" }
        if let extra = shapes.keys.sorted().first(where: { expectedShapes[$0] == nil }) { return "weights hold unknown tensor \(extra)" }
        for (name, shape) in expectedShapes.sorted(by: { $0.key < $1.key }) where shapes[name] != shape {
            return "\(name) has shape \(shapes[name] ?? []), the model needs \(shape)"
        }
        return nil
    }

    @Test("listChecked marks every damaged folder with its reason, never throws, and keeps ok ones")
    func checkedListing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        for name in ["good", "no-weights", "cut-optimizer", "bad-header", "bad-session", "extra", "missing", "wrong-shape", "empty-folder"] {
            switch name {
            case "extra":
                var contents = sampleContents()
                contents.weights.append(NamedTensor(name: "features.9.weight", shape: [1], floats: [0]))
                try store.save(contents, name: name)
            case "missing":
                var contents = sampleContents()
                contents.weights.removeFirst()
                try store.save(contents, name: name)
            case "wrong-shape":
                var contents = sampleContents()
                contents.weights[0] = NamedTensor(name: "features.0.weight", shape: [1, 2, 3, 3], floats: [Float](repeating: 0, count: 18))
                try store.save(contents, name: name)
            case "empty-folder":
                try FileManager.default.createDirectory(atPath: scratch.path + "/" + name, withIntermediateDirectories: true)
            default:
                try store.save(sampleContents(summary: #"{"name": "\#(name)", "step": 3}"#), name: name)
            }
        }
        try FileManager.default.removeItem(atPath: scratch.path + "/no-weights/weights.safetensors")
        let optimizerPath = scratch.path + "/cut-optimizer/optimizer.safetensors"
        let optimizer = try Data(contentsOf: URL(fileURLWithPath: optimizerPath))
        try optimizer.prefix(optimizer.count - 3).write(to: URL(fileURLWithPath: optimizerPath))
        let weightsPath = scratch.path + "/bad-header/weights.safetensors"
        var weights = [UInt8](try Data(contentsOf: URL(fileURLWithPath: weightsPath)))
        weights[9] = UInt8(ascii: "]")
        try Data(weights).write(to: URL(fileURLWithPath: weightsPath))
        try scratch.write(Array("{\"format\": \"spherelab-session\"".utf8), to: "bad-session/session.json")
        try scratch.write(Array("a file, not a snapshot".utf8), to: "README.md")
        try scratch.write([], to: ".tmp-good-1-2/session.json")

        let listed = try store.listChecked(modelCheck: Self.modelCheck)
        let byName = Dictionary(uniqueKeysWithValues: listed.map { ($0.name, $0) })
        #expect(Set(byName.keys) == ["good", "no-weights", "cut-optimizer", "bad-header", "bad-session", "extra", "missing",
                                     "wrong-shape", "empty-folder"])
        #expect(byName["good"]?.health == .ok)
        func reason(_ name: String) -> String {
            if case .damaged(let reason)? = byName[name]?.health { return reason }
            return "(not damaged)"
        }
        #expect(reason("no-weights").contains("weights.safetensors is missing"))
        #expect(reason("cut-optimizer").contains("optimizer.safetensors"))
        #expect(reason("bad-header").contains("weights.safetensors"))
        #expect(reason("bad-header").contains("byte "))
        #expect(reason("bad-session").contains("session.json"))
        #expect(reason("extra") == "weights hold unknown tensor features.9.weight")
        #expect(reason("missing") == "weights lack features.0.weight")
        #expect(reason("wrong-shape") == "features.0.weight has shape [1, 2, 3, 3], the model needs [2, 1, 3, 3]")
        #expect(reason("empty-folder").contains("session.json is missing"))
        // A damaged folder whose session.json is fine still shows its summary.
        #expect(byName["no-weights"]?.summary.runName == "no-weights")
        #expect(byName["no-weights"]?.summary.step == 3)
        // Without the hook only the store's own checks apply; list() shows just the loadable ones.
        #expect(try store.list().map(\.name).sorted() == ["extra", "good", "missing", "wrong-shape"])
        for entry in try store.listChecked() {
            let loads = (try? store.load(path: entry.path)) != nil
            #expect(loads == entry.health.isOK, "\(entry.name)")
        }
        #expect(store.check(path: scratch.path + "/good", modelCheck: Self.modelCheck).health == .ok)
        #expect(store.check(path: scratch.path + "/nowhere").health != .ok)
    }

    @Test("the model check sees the session JSON and both tensor tables, and no tensor data is read")
    func modelCheckInput() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        let contents = sampleContents()
        try store.save(contents, name: "run")
        let seen = LockedBox<SnapshotCheckInput?>(nil)
        _ = try store.listChecked { input in
            seen.set(input)
            return nil
        }
        let input = try #require(seen.get())
        #expect(input.name == "run")
        #expect(input.sessionJSON == contents.sessionJSON)
        #expect(input.weightShapes == Dictionary(uniqueKeysWithValues: contents.weights.map { ($0.name, $0.shape) }))
        #expect(input.optimizerShapes == ["features.0.weight": [2, 1, 3, 3]])
        #expect(input.weights.entries.first(where: { $0.name == "features.1.num_batches_tracked" })?.dtype == "I64")
    }

    // MARK: no hangs on special files

    @Test("a named pipe in place of a snapshot file is refused at once, not waited on", arguments: [
        SnapshotStore.sessionFileName, SnapshotStore.weightsFileName,
    ])
    func fifoInSnapshot(_ file: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(sampleContents(), name: "piped")
        let path = scratch.path + "/piped/" + file
        try FileManager.default.removeItem(atPath: path)
        try #require(mkfifo(path, 0o644) == 0)
        // Before the fix the open blocked for ever; run it on a thread and give it 10 seconds.
        let finished = DispatchSemaphore(value: 0)
        let outcome = LockedBox<String>("")
        let thread = Thread {
            let listing = store.listChecked2()
            let load: String
            do {
                _ = try store.load(name: "piped")
                load = "loaded"
            } catch let error as SessionStoreError {
                load = error.kind.rawValue
            } catch {
                load = "\(error)"
            }
            outcome.set("\(listing)|\(load)")
            finished.signal()
        }
        thread.start()
        guard finished.wait(timeout: .now() + 10) == .success else {
            Issue.record("listing or loading a snapshot with a FIFO \(file) hangs")
            // Unblock the reader so the process can end: open the pipe for writing once.
            let writer = open(path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            return
        }
        #expect(outcome.get() == "damaged|ioFailed")
    }

    // MARK: stale folders

    /// A process id that is not running: a child that has exited and been reaped.
    static func deadPID() throws -> pid_t {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        return child.processIdentifier
    }

    @Test("cleanUpStaleFolders removes what a killed save left moments ago, spares running owners' folders")
    func deadOwners() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(sampleContents(), name: "kept")
        let dead = try Self.deadPID()
        try scratch.write([1], to: ".tmp-kept-\(dead)-ab12/weights.safetensors")
        try scratch.write([1], to: ".trash-old-\(dead)-ff/session.json")
        try FileManager.default.copyItem(atPath: scratch.path + "/kept", toPath: scratch.path + "/.old-lost-\(dead)-9")
        try scratch.write([1], to: ".tmp-kept-\(getpid())-cd34/weights.safetensors")  // this process: a save in progress
        try scratch.write([1], to: ".tmp-kept-1-ef56/weights.safetensors")              // pid 1 always runs
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/.tmp-link-\(dead)-1", withDestinationPath: scratch.path + "/kept")

        #expect(try store.removeStaleTemporaries(olderThan: 3600) == 0, "the age-only rule is unchanged")
        let report = try store.cleanUpStaleFolders()
        #expect(report.failures.isEmpty)
        #expect(report.removed.sorted() == [".tmp-kept-\(dead)-ab12", ".trash-old-\(dead)-ff"])
        #expect(report.restored == [.init(folder: ".old-lost-\(dead)-9", snapshot: "lost")])
        #expect(scratch.entries() == [".tmp-kept-1-ef56", ".tmp-kept-\(getpid())-cd34", ".tmp-link-\(dead)-1", "kept", "lost"].sorted())
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/kept/session.json"), "the link's target is untouched")
        _ = try store.load(name: "lost")

        // Old folders go whatever their owner.
        let old = Date(timeIntervalSinceNow: -7200)
        for name in [".tmp-kept-1-ef56", ".tmp-kept-\(getpid())-cd34"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: scratch.path + "/" + name)
        }
        #expect(try store.cleanUpStaleFolders().removed.count == 2)
        #expect(try SnapshotStore(root: scratch.path + "/none").cleanUpStaleFolders() == .init())
    }

    @Test("one folder that cannot be removed does not stop the clean-up of the others")
    func cleanUpContinuesPastFailures() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        for name in [".tmp-a-1-1", ".tmp-b-1-1", ".tmp-c-1-1"] { try scratch.write([1], to: name + "/f") }
        let stubborn = scratch.path + "/.tmp-a-1-1"
        let report = try store.cleanUpStaleFolders(olderThan: 0, includingDeadOwners: false) { path in
            if path == stubborn { throw SessionStoreError(.ioFailed, "cannot remove", path: path, hint: "test") }
            try PosixFiles.removeTree(path)
        }
        #expect(report.removed.sorted() == [".tmp-b-1-1", ".tmp-c-1-1"])
        #expect(report.failures.map(\.path) == [stubborn])
        #expect(scratch.entries() == [".tmp-a-1-1"])
    }

    @Test("clean-up refuses a negative, NaN or infinite age", arguments: [-1, Double.nan, Double.infinity])
    func invalidAge(_ age: Double) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        expectStoreError(.invalidArgument) { try store.cleanUpStaleFolders(olderThan: age) }
        expectStoreError(.invalidArgument) { try store.removeStaleTemporaries(olderThan: age) }
    }

    // MARK: names

    @Test("nameProblem refuses what the store would not list, with a sentence ending in the rule", arguments: [
        ("", "empty"), (".", "names a folder"), ("..", "names a folder"), (".hidden", "starts with '.'"),
        ("a/b", "'/'"), ("../x", "starts with '.'"), ("é", "'é'"), ("run 1", "a space"), ("x\u{0}", "control character"),
        ("tab\there", "control character"), (String(repeating: "a", count: 101), "101 bytes"), ("ünïcode", "'ü'"),
        ("a:b", "':'"),
    ])
    func nameProblems(_ name: String, expected: String) throws {
        let problem = try #require(SnapshotStore.nameProblem(name))
        #expect(problem.contains(expected), "\(problem)")
        #expect(problem.hasSuffix(SnapshotStore.nameRule))
        #expect(!SnapshotStore.isValidName(name))
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let error = expectStoreError(.invalidSnapshotName) { try SnapshotStore(root: scratch.path).save(sampleContents(), name: name) }
        #expect(error?.hint == SnapshotStore.nameRule)
        #expect(error.map { problem.hasPrefix($0.message) } == true, "\(error?.message ?? "") vs \(problem)")
    }

    @Test("valid names have no problem", arguments: ["a", "run-1_step.200", "A.b-C_9", String(repeating: "z", count: 100), "a..", "0"])
    func validNames(_ name: String) {
        #expect(SnapshotStore.nameProblem(name) == nil)
        #expect(SnapshotStore.isValidName(name))
    }
}

extension SnapshotStore {
    /// "ok" or "damaged" for the first listed folder (for tests that run the listing on a thread).
    func listChecked2() -> String {
        guard let first = try? listChecked().first else { return "none" }
        return first.health.isOK ? "ok" : "damaged"
    }
}

/// A value shared with a @Sendable closure in a test.
final class LockedBox<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func set(_ new: Value) { lock.withLock { value = new } }
    func get() -> Value { lock.withLock { value } }
}
