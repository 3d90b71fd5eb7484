import Foundation
import Testing
@testable import SessionStore

/// Runs the `snapshot-crashtest` child (built with this test target) and kills it mid-save.
@Suite("crash safety with a real child process", .serialized)
struct CrashSafetyTests {
    @Test("SIGKILL at random moments during saves always leaves a complete, consistent snapshot")
    func killDuringSaves() throws {
        guard let binary = locateCrashTestBinary() else { return }
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(iterationContents(0), name: "victim")

        // Calibrate: time process start-up plus two full saves on this machine, so that the
        // random kill moments cover start-up, writes, renames and clean-up alike.
        let calibrationStart = Date()
        let calibration = try runToCompletion(binary, [scratch.path, "2"])
        #expect(calibration.status == 0, "calibration run failed: \(calibration.stderr)")
        // The kill window is twice that, so kills also land in later saves; it is widened below
        // if the machine turns out slower than during calibration (other tests run alongside).
        var window = 2 * max(0.05, Date().timeIntervalSince(calibrationStart))
        var roundsBeforeFirstSave = 0
        #expect(try consistentIteration(store.load(name: "victim")) == 2)

        let logs = try ScratchFolder()
        defer { logs.cleanUp() }
        var seenIterations: Set<Int> = []
        var killsLeavingTemporaries = 0
        let rounds = 40
        for round in 0..<rounds {
            // Every round starts from iteration 0, so finding i ≥ 1 afterwards proves that the
            // child replaced an existing snapshot before it was killed.
            try store.save(iterationContents(0), name: "victim")
            let delay = Double.random(in: 0...window)
            let stderrPath = logs.path + "/round-\(round).stderr"
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [scratch.path, "1000000"]
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            guard process.terminationReason == .uncaughtSignal, process.terminationStatus == SIGKILL else {
                Issue.record("round \(round): child ended on its own (status \(process.terminationStatus)) before SIGKILL: \(stderr)")
                return
            }

            // The previous snapshot, or a newer one, must be complete and self-consistent.
            let contents: SnapshotContents
            do {
                contents = try store.load(name: "victim")
            } catch {
                Issue.record("round \(round) (kill after \(Int(delay * 1000)) ms): victim does not load: \(error)")
                return
            }
            guard let iteration = consistentIteration(contents, round: round) else { return }
            seenIterations.insert(iteration)
            roundsBeforeFirstSave = iteration == 0 ? roundsBeforeFirstSave + 1 : 0
            if roundsBeforeFirstSave >= 8 {
                window *= 2
                roundsBeforeFirstSave = 0
            }
            #expect(try store.list().map(\.name) == ["victim"], "round \(round): listing shows more than the snapshot")

            let hidden = scratch.entries().filter { $0.hasPrefix(".") }
            if !hidden.isEmpty { killsLeavingTemporaries += 1 }
            #expect(try store.removeStaleTemporaries(olderThan: 0) == hidden.count)
            #expect(scratch.entries() == ["victim"], "round \(round): clean-up left \(scratch.entries())")
        }
        print("kill test: \(rounds) kills in a \(Int(window * 1000)) ms window, iterations seen \(seenIterations.sorted()), "
              + "\(killsLeavingTemporaries) kills interrupted a save and left a temporary folder")
        // At least one kill must have landed after a completed overwrite, or the test did not
        // exercise replacing an existing snapshot.
        #expect(seenIterations.contains { $0 >= 1 }, "every kill landed before the child's first save finished")
    }

    @Test("a write failure (file-size limit, like a full disk) keeps the old snapshot and removes the temporary folder")
    func writeFailureKeepsOldSnapshot() throws {
        guard let binary = locateCrashTestBinary() else { return }
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(iterationContents(0), name: "victim")
        // The child's weights file is 4 MiB; a 1 MB limit makes its first write fail with EFBIG.
        let result = try runToCompletion(binary, [scratch.path, "3", "--file-size-limit", "1000000"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("File too large"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("previous snapshot is untouched"), "stderr: \(result.stderr)")
        #expect(try consistentIteration(store.load(name: "victim")) == 0)
        #expect(scratch.entries() == ["victim"])
    }

    @Test("loading while another process keeps replacing the snapshot never mixes two saves")
    func loadDuringSaves() throws {
        guard let binary = locateCrashTestBinary() else { return }
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let store = SnapshotStore(root: scratch.path)
        try store.save(iterationContents(0), name: "victim")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [scratch.path, "12"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var loads = 0
        var seen: Set<Int> = []
        while process.isRunning {
            do {
                if let iteration = consistentIteration(try store.load(name: "victim"), round: loads) { seen.insert(iteration) }
            } catch {
                Issue.record("load \(loads) during saves failed: \(error)")
            }
            loads += 1
        }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try consistentIteration(store.load(name: "victim")) == 12)
        #expect(seen.count >= 2, "loads saw only \(seen.sorted()) in \(loads) attempts")
    }

    // MARK: Helpers

    /// The contents the test itself saves, in the child's scheme: every value equals `i`.
    func iterationContents(_ i: Int) -> SnapshotContents {
        SnapshotContents(
            weights: [NamedTensor(name: "features.0.weight", shape: [4, 4], floats: [Float](repeating: Float(i), count: 16)),
                      NamedTensor(name: "features.1.num_batches_tracked", shape: [], integers: [Int64(i)])],
            optimizer: [NamedTensor(name: "features.0.weight", shape: [4, 4], floats: [Float](repeating: Float(i), count: 16))],
            sessionJSON: Array(#"{"format": "spherelab-session", "version": 1, "iteration": \#(i), "summary": {"step": \#(i)}}"#.utf8),
            metadata: ["iteration": String(i)])
    }

    /// The iteration all three files agree on, or nil (with an issue recorded) when they disagree.
    func consistentIteration(_ contents: SnapshotContents, round: Int = -1) -> Int? {
        var found: Set<Double> = []
        for tensor in contents.weights + contents.optimizer {
            switch tensor.values {
            case .float32(let values): values.forEach { found.insert(Double($0)) }
            case .int64(let values): values.forEach { found.insert(Double($0)) }
            }
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(contents.sessionJSON))) as? [String: Any]
        if let iteration = json?["iteration"] as? Int { found.insert(Double(iteration)) } else { found.insert(.nan) }
        if let step = (json?["summary"] as? [String: Any])?["step"] as? Int { found.insert(Double(step)) } else { found.insert(.nan) }
        found.insert(contents.metadata["iteration"].flatMap(Double.init) ?? .nan)
        guard found.count == 1, let value = found.first, !value.isNaN, value == value.rounded() else {
            Issue.record("round \(round): the files of one snapshot disagree: \(found.sorted())")
            return nil
        }
        return Int(value)
    }

    func runToCompletion(_ binary: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }

    /// Finds the child built by SwiftPM next to the test binary. Records a failure (not a skip)
    /// when it cannot be found, because then the crash guarantees are untested.
    func locateCrashTestBinary() -> String? {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["SNAPSHOT_CRASHTEST"] { candidates.append(explicit) }
        let selfExe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        var directories = [selfExe, Bundle.main.executablePath, CommandLine.arguments.first]
            .compactMap { $0 }
            .map { URL(fileURLWithPath: $0).deletingLastPathComponent() }
        // On macOS the tests run inside X.xctest/Contents/MacOS/; the products sit beside X.xctest.
        directories += directories.map { $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        candidates += directories.map { $0.appendingPathComponent("snapshot-crashtest").path }
        candidates.append(FileManager.default.currentDirectoryPath + "/.build/debug/snapshot-crashtest")
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        Issue.record("snapshot-crashtest executable not found; looked at: \(candidates.joined(separator: ", ")). Build it with `swift build --product snapshot-crashtest` or set SNAPSHOT_CRASHTEST.")
        return nil
    }
}
