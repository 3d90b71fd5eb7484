import Foundation
import Testing
@testable import SessionStore

/// Seeded mutations of session.json documents, read the way the store reads them: validation
/// (UTF-8, strict JSON, no duplicate keys, format and version) and the summary used by listings.
/// One case in eight goes through a snapshot folder, where listing must agree with loading.
@Suite("fuzz: session.json")
struct SessionJSONFuzzTests {
    /// Documents shaped like the app's: summary, setup, hyperparameters, metrics with non-finite
    /// values written by the session.json rule, events; and small or odd but valid ones.
    static let bases: [FuzzJSON] = [
        .object([
            ("format", .string("spherelab-session")), ("version", .number(1)),
            ("summary", .object([("name", .string("run")), ("savedAt", .string("2025-03-01T10:00:00Z")), ("step", .number(400)),
                                 ("dataset", .string("fashion-mnist")), ("model", .string("SphereNet-9")),
                                 ("variant", .string("cosine")), ("bestTestAccuracy", .raw("0.9125"))])),
            ("runName", .string("run")),
            ("setup", .object([("dataset", .string("fashion-mnist")), ("seed", .number(7)),
                               ("model", .object([("depthPerStage", .array([.number(3), .number(3), .number(3)])),
                                                  ("width", .raw("0.25"))]))])),
            ("hyper", .object([("learningRate", .raw("0.01")), ("batchSize", .number(128)), ("variant", .string("cosine"))])),
            ("step", .number(400)), ("epoch", .number(1)),
            ("dataPosition", .object([("index", .number(12)), ("rng", .array([.number(1), .number(2), .number(3), .number(4)]))])),
            ("metrics", .object([("trainLoss", .array([.array([.number(1), .raw("2.30")]), .array([.number(2), .string("nan")]),
                                                       .array([.number(3), .string("inf")])])),
                                 ("testLoss", .array([.string("-inf")]))])),
            ("events", .array([.object([("step", .number(3)), ("text", .string("LR changed \u{2192} 0.1 \"quoted\"\n"))])])),
            ("totalSteps", .raw("null")),
        ]),
        .object([("format", .string("spherelab-session")), ("version", .number(1))]),
        .object([("version", .number(1)), ("summary", .string("not an object")), ("format", .string("spherelab-session")),
                 ("extra", .array([.raw("true"), .raw("false"), .raw("null"), .raw("-0.5e-3"), .string("\u{1F9E0}")]))]),
        .object([("format", .string("spherelab-session")), ("version", .number(1)),
                 ("summary", .object([("step", .string("12")), ("bestTestAccuracy", .string("nan")), ("savedAt", .number(5))]))]),
    ]

    static func makeCase(_ rng: inout FuzzRNG) -> ([UInt8], String) {
        let base = rng.pick(bases)
        let other = rng.pick(bases).serialized()
        var steps: [String] = []
        var bytes: [UInt8]
        if rng.chance(0.65) {
            var tree = base
            for _ in 0..<(1 + rng.below(3)) {
                let (next, what) = JSONMutator.mutate(tree, rng: &rng)
                tree = next
                steps.append(what)
            }
            bytes = tree.serialized()
            if rng.chance(0.15) {
                let (next, what) = ByteMutator.mutate(bytes, other: other, rng: &rng)
                bytes = next
                steps.append(what)
            }
        } else {
            bytes = base.serialized()
            for _ in 0..<(1 + rng.below(3)) {
                let (next, what) = ByteMutator.mutate(bytes, other: other, rng: &rng)
                bytes = next
                steps.append(what)
            }
        }
        return (bytes, steps.joined(separator: "; "))
    }

    static let sessionKinds: Set<SessionStoreError.Kind> = [.sessionJSONInvalid, .foreignSession, .newerVersion, .duplicateKey]

    @Test("mutated documents end in a named error or a valid document with plausible summary; listing agrees with loading")
    func fuzz() throws {
        let scratch = try ScratchFolder(inMemory: true)
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path + "/Sessions")
        try store.save(sampleContents(), name: "s")
        let sessionPath = store.path(forName: "s") + "/" + SnapshotStore.sessionFileName

        var run = FuzzRun(format: "session-json")
        try run.run { rng, index in
            let (bytes, how) = Self.makeCase(&rng)
            let outcome: String
            do {
                let json = try SessionDocument.validate(bytes, path: "fuzz/session.json")
                let summary = SessionDocument.summary(of: json, name: "s", path: "fuzz", modified: Date(timeIntervalSince1970: 0))
                if let step = summary.step, step < 0 {
                    return .failure(FuzzFailure("\(how): negative step \(step) accepted", input: bytes))
                }
                if let accuracy = summary.bestTestAccuracy, !(accuracy.isFinite && (0...1).contains(accuracy)) {
                    return .failure(FuzzFailure("\(how): accuracy \(accuracy) accepted", input: bytes))
                }
                _ = summary.savedDate
                if let duplicate = SessionDocument.firstDuplicateKey(in: json) {
                    return .failure(FuzzFailure("\(how): duplicate key \(duplicate.path) accepted", input: bytes))
                }
                outcome = "valid"
            } catch let error as SessionStoreError {
                guard Self.sessionKinds.contains(error.kind), error.path == "fuzz/session.json",
                      !error.message.isEmpty, !error.hint.isEmpty, error.message.count <= 600
                else {
                    return .failure(FuzzFailure("\(how): improper error \(error.kind): \(error.description.prefix(300))", input: bytes))
                }
                outcome = error.kind.rawValue
            } catch {
                return .failure(FuzzFailure("\(how): \(type(of: error)): \(error)", input: bytes))
            }
            if index % 8 == 0 {
                try Data(bytes).write(to: URL(fileURLWithPath: sessionPath))
                if let problem = SnapshotFolderOracle.check(store: store, name: "s") {
                    return .failure(FuzzFailure("\(how): \(problem)", input: bytes))
                }
            }
            return .success(outcome)
        }
        print("fuzz session.json: \(FuzzConfig.caseIndices.count) cases, seed \(FuzzConfig.seed): \(run.summary)")
        #expect(run.failures == 0)
    }
}
