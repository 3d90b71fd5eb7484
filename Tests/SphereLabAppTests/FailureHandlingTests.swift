import Testing
import Foundation
import Engine
import DataLoaders
import SessionStore
@testable import SphereLabApp

/// Issue 10, app side: what a careless or hostile user can do to snapshots, names and
/// options ends in a clear message or a valid load.
@Suite(.serialized) struct FailureHandlingTests {
    /// A saved tiny run: (datasets folder, archive, snapshot path).
    static func savedRun(name: String = "tiny", steps: Int = 2, edit: ((inout SessionManifest) -> Void)? = nil) throws -> (String, SessionArchive, String) {
        let datasets = try makeTinyDatasets()
        let run = try tinyRequest(datasets: datasets).open()
        for _ in 0..<steps { _ = try run.trainer.trainStep() }
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        var capture = archive.capture(run.session, identity: run.identity)
        edit?(&capture.manifest)
        let path = try archive.write(capture, name: name)
        return (datasets, archive, path)
    }

    /// Rewrites session.json's JSON object.
    static func editJSON(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
        let file = path + "/session.json"
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: file))
    }

    // Failed before: `--eval-limit` given with `--resume` was ignored (the snapshot's limit
    // stayed), then refused; which test images a run is evaluated on may change on resume.
    @Test func resumeTakesANewEvaluationLimit() throws {
        let (datasets, archive, path) = try Self.savedRun()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let (kept, _) = try archive.restore(path: path)
        let (limited, _) = try archive.restore(path: path, evaluationLimit: 3)
        #expect(kept.trainer.evaluationExamples > 3)
        #expect(limited.trainer.evaluationExamples == 3)
        #expect(try limited.trainer.evaluate().examples == 3)
        #expect(limited.trainer.step == kept.trainer.step)
        #expect { try archive.restore(path: path, evaluationLimit: 0) } throws: { "\($0)".contains("out of range") }
    }

    // Failed before: the app had its own coder (same strings, but two places to drift).
    @Test func nanTestLossSavesAndLoads() throws {
        let (datasets, archive, path) = try Self.savedRun { m in
            m.metrics.testLoss.append(MetricPoint(step: 2, value: .nan))
            m.metrics.testAccuracy.append(MetricPoint(step: 2, value: .infinity))
            m.metrics.elapsedSeconds = -.infinity
        }
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let text = try String(contentsOfFile: path + "/session.json", encoding: .utf8)
        #expect(text.contains("\"nan\"") && text.contains("\"inf\"") && text.contains("\"-inf\""))
        let (run, manifest) = try archive.restore(path: path)
        #expect(manifest.metrics.testLoss.last?.value.isNaN == true)
        #expect(manifest.metrics.testAccuracy.last?.value == .infinity)
        #expect(run.trainer.step == 2)
        #expect(archive.store.check(path: path, modelCheck: SessionArchive.modelCheck).health == .ok)
    }

    // Failed before: summary was required with every field (show/eval/resume refused).
    @Test func missingOrMistypedSummaryLoads() throws {
        let (datasets, archive, path) = try Self.savedRun()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        for edit in [{ (o: inout [String: Any]) in o.removeValue(forKey: "summary") },
                     { o in o["summary"] = ["step": "many", "savedAt": 7, "bestTestAccuracy": "x"] },
                     { o in o["summary"] = ["name": "only-a-name"] },
                     { o in o["summary"] = "not an object" }] as [(inout [String: Any]) -> Void] {
            try Self.editJSON(path, edit)
            let (run, _) = try archive.restore(path: path)
            #expect(run.trainer.step == 2)
            #expect(archive.store.check(path: path, modelCheck: SessionArchive.modelCheck).health == .ok)
        }
    }

    // Failed before: a huge step passed the loader and trapped later in step arithmetic.
    @Test func hugeNumbersInSessionJSONAreRefused() throws {
        let (datasets, archive, path) = try Self.savedRun()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("saved step", { $0["step"] = Int.max }),
            ("saved step", { $0["totalSteps"] = Int.max }),
            ("saved epoch", { $0["epoch"] = Int.max }),
            ("data position", { o in var p = o["dataPosition"] as! [String: Any]; p["index"] = Int.max; o["dataPosition"] = p }),
            ("learning-rate drop factor", { o in
                var h = o["hyper"] as! [String: Any]; var s = h["schedule"] as! [String: Any]
                s["factor"] = 1e30; h["schedule"] = s; o["hyper"] = h }),
            ("learning-rate milestone", { o in
                var h = o["hyper"] as! [String: Any]; var s = h["schedule"] as! [String: Any]
                s["milestones"] = [Int.max]; h["schedule"] = s; o["hyper"] = h }),
        ]
        let original = try Data(contentsOf: URL(fileURLWithPath: path + "/session.json"))
        for (words, edit) in cases {
            try original.write(to: URL(fileURLWithPath: path + "/session.json"))
            try Self.editJSON(path, edit)
            #expect { try archive.restore(path: path) } throws: { "\($0)".contains(words) }
            guard case .damaged(let reason) = archive.store.check(path: path, modelCheck: SessionArchive.modelCheck).health else {
                Issue.record("\(words): listed as ok"); continue
            }
            #expect(reason.contains(words))
        }
    }

    @Test func continuationPastTheLargestStepIsRefused() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let run = try tinyRequest(datasets: datasets).open()
        #expect(throws: EngineError.self) { try run.session.run(steps: Int.max) }
        try run.trainer.restore(step: Settings.savedStep.upper, position: run.trainer.dataPosition)
        #expect { try run.session.run(steps: 1) } throws: { "\($0)".contains("largest step") }
    }

    // The expected-tensor table is built without allocating; it must equal a real network's.
    @Test(arguments: [("spherenet9", ModelSpec.Normalization.batchNorm), ("spherenet12", .sphereNorm),
                      ("spherenet9", .sphereNormBatchNorm), ("sphereresnet8", .batchNorm), ("sphereresnet14", .batchNorm)])
    func planTableEqualsNetwork(_ c: (String, ModelSpec.Normalization)) throws {
        var r = RunRequest()
        r.modelName = c.0; r.width = 0.125; r.normalization = c.1
        let spec = try r.modelSpec()
        let plan = try ModelPlan(spec: spec)
        let network = try Network(spec: spec, variant: .learnableSigmoid, seed: 1)
        var real: [String: [Int]] = [:]
        for p in network.savedParameters { real[p.name] = p.shape }
        for b in network.stateBuffers { real[b.name] = b.shape }
        let table = plan.tensors
        let ks = real.filter { $0.key.hasSuffix(".k") }
        #expect(!ks.isEmpty)
        for (name, shape) in ks { #expect(table.optional[name] == shape, "\(name)") }
        #expect(real.filter { !$0.key.hasSuffix(".k") } == table.required)
        #expect(plan.featureDimension == network.featureDimension)
        #expect(plan.mismatch(weights: real) == nil)
        // Parameters and buffers, without the optional k.
        #expect(plan.memoryEstimate(batchSize: 8).parameters == table.required.values.reduce(0) { $0 + $1.reduce(1, *) })
    }

    // Failed before: listing showed snapshots that then could not be loaded.
    @Test func listingMarksWhatCannotLoad() throws {
        let (datasets, archive, path) = try Self.savedRun(name: "good")
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let root = archive.store.root
        func copy(_ name: String) throws -> String {
            let to = root + "/" + name
            try FileManager.default.copyItem(atPath: path, toPath: to)
            return to
        }
        // Missing tensor, extra tensor, wrong shape: rewrite weights through the store.
        let contents = try archive.store.load(path: path)
        var missing = contents; missing.weights.removeAll { $0.name == "features.3.weight" }
        _ = try archive.store.save(missing, name: "missing-tensor")
        var extra = contents; extra.weights.append(NamedTensor(name: "extra.weight", shape: [1], floats: [0]))
        _ = try archive.store.save(extra, name: "extra-tensor")
        var wrong = contents
        let i = wrong.weights.firstIndex { $0.name == "score.weight" }!
        wrong.weights[i] = NamedTensor(name: "score.weight", shape: [10, 3, 1, 1], floats: .init(repeating: 0, count: 30))
        _ = try archive.store.save(wrong, name: "wrong-shape")
        try Self.editJSON(try copy("bad-variant")) { o in var h = o["hyper"] as! [String: Any]; h["variant"] = "banana"; o["hyper"] = h }
        try Self.editJSON(try copy("no-hyper")) { o in o.removeValue(forKey: "hyper") }
        try Self.editJSON(try copy("huge-model")) { o in
            var s = o["setup"] as! [String: Any]; var m = s["model"] as! [String: Any]
            m["depthPerStage"] = 100; m["width"] = 8; s["model"] = m; o["setup"] = s }
        let expected = ["missing-tensor": "lack features.3.weight", "extra-tensor": "extra.weight", "wrong-shape": "score.weight has shape [10, 3, 1, 1]",
                        "bad-variant": "hyper.variant", "no-hyper": "hyper", "huge-model": "more than the"]
        let listings = try archive.store.listChecked(modelCheck: SessionArchive.modelCheck)
        for l in listings {
            if l.name == "good" { #expect(l.health == .ok); continue }
            guard case .damaged(let reason) = l.health else { Issue.record("\(l.name) listed as ok"); continue }
            #expect(reason.contains(expected[l.name]!), "\(l.name): \(reason)")
            #expect { try archive.restore(path: l.path) } throws: { _ in true }
        }
        #expect(listings.count == 7)
        // The open dialog shows the same verdicts, and a damaged entry does not open.
        let entries = try archive.entries()
        #expect(entries.filter(\.damaged).count == 6)
        // `sessions list`: columns as wide as the data, so name and date never touch.
        let table = SessionTable.render(listings)
        #expect(table.contains("⚠ damaged:"))
        for line in table.split(separator: "\n") where line.hasPrefix("missing-tensor") {
            #expect(line.hasPrefix("missing-tensor  "), "\(line)")
        }
    }

    // Failed before: `--save ..` named the snapshot after the parent folder; `.`/`''` too.
    @Test func saveNamesFollowTheStoreRule() throws {
        for bad in ["", ".", "..", "a/..", "dir/", "é", ".hidden", "a b"] {
            #expect(throws: EngineError.self, "\(bad)") { try SessionArchive.target(for: bad) }
        }
        let (archive, name) = try SessionArchive.target(for: "runs/x-1")
        #expect(name == "x-1" && archive.store.root == "runs")
        // The save dialog refuses what the store refuses, with the store's words.
        var s = AppState(telemetry: sampleTelemetry(unsaved: 3))
        s.overlay = .saveName("abc")
        _ = s.update(.key(.char("é")))
        #expect(s.overlay == .saveName("abc"))
        #expect(s.status == SnapshotStore.nameProblem("abcé"))
        s.overlay = .saveName("")
        _ = s.update(.key(.enter))
        #expect(s.status == SnapshotStore.nameProblem(""))
    }

    // Failed before: the target was first tried after the whole run.
    @Test func unwritableTargetIsFoundFirst() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spherelab-target-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        let (through, _) = try SessionArchive.target(for: dir + "/file/x")
        #expect { try through.checkWritable() } throws: { "\($0)".contains("is a file") }
        let (fine, _) = try SessionArchive.target(for: dir + "/ok/x")
        try fine.checkWritable()
    }

    @Test func memoryRefusalGivesEstimateAndLimit() throws {
        var r = RunRequest()
        r.modelName = "spherenet300"; r.width = 8
        let plan = try ModelPlan(spec: try r.modelSpec())
        #expect { try MachineMemory.check(plan, batchSize: 128, limitBytes: 1 << 30) } throws: { e in
            "\(e)".contains("needs about") && "\(e)".contains("1.1 GB")
        }
        let start = Date()
        #expect { try r.open() } throws: { "\($0)".contains("needs about") }
        #expect(Date().timeIntervalSince(start) < 2)
    }

    static func bits(_ n: Network) -> [String: [UInt32]] { allValues(n).mapValues { $0.map(\.bitPattern) } }

    // Failed before: the diverged step's forward pass had moved every BatchNorm buffer.
    @Test func divergedStepRestoresBatchNormBuffers() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let request = tinyRequest(datasets: datasets, variant: .cosine)
        let run = try request.open()
        for _ in 0..<2 { _ = try run.trainer.trainStep() }
        // Poison the score layer: the body's forward (and its BatchNorm statistics) still run.
        run.trainer.network.scoreWeight.value[0] = .nan
        let before = Self.bits(run.trainer.network)
        let events = run.session.advance()
        #expect(events.contains { if case .diverged = $0 { return true } else { return false } })
        let after = Self.bits(run.trainer.network)
        for (name, value) in before { #expect(after[name] == value, "\(name) changed by the diverged step") }
        #expect(run.trainer.step == 2)
        // And equal to a straight run of 2 steps (buffers; the poisoned weight aside).
        let straight = try request.open()
        for _ in 0..<2 { _ = try straight.trainer.trainStep() }
        let reference = Self.bits(straight.trainer.network)
        for b in run.trainer.network.stateBuffers { #expect(after[b.name] == reference[b.name], "\(b.name)") }
    }

    // Failed before: NaN weights gave a normal-looking accuracy and exit 0.
    @Test func nonFiniteWeightsAreReported() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let trainer = try tinyRequest(datasets: datasets).makeTrainer()
        let fine = try trainer.evaluate()
        try SessionArchive.checkEvaluation(trainer.network, fine, source: "x")
        trainer.network.convolutions[1].weight.value[3] = .nan
        let e = try trainer.evaluate()
        #expect { try SessionArchive.checkEvaluation(trainer.network, e, source: "x") } throws: { "\($0)".contains("features.3.weight holds NaN") }
        trainer.network.convolutions[1].weight.value[3] = 0
        trainer.network.scoreWeight.value[0] = .infinity
        #expect(throws: EngineError.self) { try SessionArchive.checkEvaluation(trainer.network, try trainer.evaluate(), source: "x") }
    }

    // Failed before: eval on another copy of the dataset was refused "resuming would not be exact".
    @Test func evaluationAcceptsAnotherCopyOfTheData() throws {
        let (datasets, archive, path) = try Self.savedRun()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let other = try makeTinyDatasets(train: 40, test: 24)
        defer { try? FileManager.default.removeItem(atPath: other) }
        let elsewhere = SessionArchive(root: archive.store.root, datasetsDirectory: other)
        #expect { try elsewhere.restore(path: path) } throws: { "\($0)".contains("different copy") }
        let (run, manifest) = try elsewhere.restore(path: path, sameData: false)
        #expect(run.identity.datasetFingerprint != manifest.datasetFingerprint)
        _ = try run.trainer.evaluate()
    }

    // Failed before: backward after an inference pass scattered through stale indices.
    @Test func poolingBackwardAfterInferenceIsRefused() async {
        await #expect(processExitsWith: .failure) {
            let pool = MaxPool2x2(name: "p")
            let x = FloatBuffer(count: 16)
            _ = pool.forward(Activation(x, Shape(channels: 1, batch: 1, height: 4, width: 4)), training: false)
            let dy = FloatBuffer(count: 4)
            _ = pool.backward(Activation(dy, Shape(channels: 1, batch: 1, height: 2, width: 2)))
        }
    }

    @Test func workerCountIsFixedOnceLoopsRan() {
        let n = BLASThreads.count
        // Parallel loops have run in this process (the tests above trained).
        #expect(BLASThreads.set(n + 1) == false)
        #expect(BLASThreads.count == n)
        #expect(BLASThreads.set(n))
    }
}
