import Foundation
import Engine
import DataLoaders

/// `spherelab bench --long-run N`: a tiny model trained for N steps through the one training
/// core, publishing telemetry after every step as the workbench does (and keeping the last
/// copy alive, as the UI does, so every append pays its copy-on-write). It reports what a
/// long run costs: resident memory after the first 1 000 steps and at the end, the time per
/// publish in each tenth of the run, the size of the saved session.json, and whether the
/// snapshot resumes exactly.
public struct LongRunBenchmark {
    public struct Report: Sendable {
        public var steps: Int
        public var residentMBAfter1000: Double
        public var residentMBAtEnd: Double
        /// Mean microseconds of one publish (telemetry built from the session) per tenth of the run.
        public var publishMicroseconds: [Double]
        public var stepsPerSecond: Double
        public var sessionJSONBytes: Int
        public var resumesExactly: Bool
    }

    public var steps: Int
    public init(steps: Int) { self.steps = steps }

    /// The run: SphereNet-3 ×0.0625 on 8×8 synthetic images, batch 1, evaluation every 1 000 steps.
    static func open(evalEvery: Int = 1000) throws -> OpenedRun {
        let model = ModelSpec(architecture: .sphereNet, width: 0.0625, depthPerStage: 1, inputChannels: 1, inputHeight: 8, inputWidth: 8, classes: 4)
        var hyper = Hyperparameters()
        hyper.batchSize = 1
        hyper.evalEvery = evalEvery
        let setup = RunSetup(dataset: .mnist, model: model, seed: 1, augmentation: .none)
        return try RunFactory.open(setup: setup, data: try syntheticData(), hyper: hyper, runName: "long-run")
    }

    /// 64 synthetic 8×8 images in 4 classes, the same every time.
    static func syntheticData() throws -> DatasetPair {
        var rng = SeededGenerator(seed: 5)
        let count = 64
        let pixels = (0..<(count * 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let set = try ImageSet(name: "synthetic/8x8", count: count, channels: 1, height: 8, width: 8, classes: 4,
                               pixels: pixels, labels: (0..<count).map { UInt8($0 % 4) })
        return DatasetPair(kind: .mnist, train: set, test: set)
    }

    public func run(sessionsFolder: String) throws -> Report {
        let run = try LongRunBenchmark.open()
        let session = run.session
        try session.run(steps: steps)
        var published = session.telemetry()
        var residentAfter1000 = 0.0
        var publishSeconds = [Double](repeating: 0, count: 10)
        var publishCounts = [Int](repeating: 0, count: 10)
        let start = DispatchTime.now().uptimeNanoseconds
        while session.state == .running {
            _ = session.advance()
            let t0 = DispatchTime.now().uptimeNanoseconds
            published = session.telemetry(sequence: published.sequence + 1)
            let t1 = DispatchTime.now().uptimeNanoseconds
            let tenth = min(9, max(0, (session.step - 1) * 10 / steps))
            publishSeconds[tenth] += Double(t1 - t0) / 1e9
            publishCounts[tenth] += 1
            if session.step == 1000 { residentAfter1000 = LongRunBenchmark.residentMegabytes() }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let residentEnd = LongRunBenchmark.residentMegabytes()
        let archive = SessionArchive(root: sessionsFolder)
        let path = try archive.write(archive.capture(session, identity: run.identity), name: "long-run")
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path + "/session.json")[.size] as? Int) ?? 0
        let exact = try LongRunBenchmark.resumesExactly(path: path, archive: archive, original: session)
        return Report(steps: steps, residentMBAfter1000: residentAfter1000, residentMBAtEnd: residentEnd,
                      publishMicroseconds: zip(publishSeconds, publishCounts).map { $1 > 0 ? 1e6 * $0 / Double($1) : 0 },
                      stepsPerSecond: Double(steps) / seconds, sessionJSONBytes: bytes, resumesExactly: exact)
    }

    /// Restores the snapshot and trains 20 more steps beside the original: weights, buffers
    /// and history must stay equal.
    static func resumesExactly(path: String, archive: SessionArchive, original: TrainingSession) throws -> Bool {
        let (resumed, _) = try restoreSynthetic(path: path, archive: archive)
        try original.run(steps: 20)
        try resumed.session.run(steps: 20)
        while original.state == .running { _ = original.advance() }
        while resumed.session.state == .running { _ = resumed.session.advance() }
        func values(_ n: Network) -> [[Float]] { n.savedParameters.map(\.value.array) + n.stateBuffers.map(\.value.array) }
        return values(original.trainer.network) == values(resumed.trainer.network)
            && original.history.trainLoss.points.map(\.value) == resumed.session.history.trainLoss.points.map(\.value)
    }

    /// The snapshot's run on the same synthetic data (no dataset folder involved).
    static func restoreSynthetic(path: String, archive: SessionArchive) throws -> (OpenedRun, SessionManifest) {
        let contents = try archive.store.load(path: path)
        let manifest = try archive.readManifest(contents, path: path)
        let run = try SessionArchive.rebuild(contents: contents, manifest: manifest, data: try syntheticData(), path: path,
                                             resumedFrom: (path as NSString).lastPathComponent)
        return (run, manifest)
    }

    /// Resident set size of this process, from /proc/self/statm (0 where it is unavailable).
    public static func residentMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}
