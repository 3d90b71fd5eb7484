import Foundation

/// One line of `results.jsonl`: an evaluation of one run (or the note that a run diverged).
public struct ExperimentRecord: Codable, Sendable, Equatable {
    public var run: String
    public var config: String
    public var seed: UInt64
    public var step: Int
    /// Training compute seconds up to this step (steps only; evaluations excluded).
    public var seconds: Double
    /// Seconds this evaluation took (both modes).
    public var evalSeconds: Double?
    public var testAccuracy: Double?
    public var testLoss: Double?
    /// Test accuracy with BatchNorm in train mode (batch statistics), when recorded.
    public var testAccuracyTrainBN: Double?
    /// Mean training loss over the steps since the previous evaluation.
    public var trainLoss: Double?
    public var trainAccuracy: Double?
    public var examples: Int?
    /// Median θ(w, x) per SphereConv-capable layer, radians, from the latest angle statistics.
    public var medianTheta: [String: Double]?
    /// The configuration's axis values.
    public var axes: [String: String]
    /// Set when the run stopped here because the loss or gradients were not finite.
    public var diverged: Bool?

    enum CodingKeys: String, CodingKey {
        case run, config, seed, step, seconds, axes, diverged, examples
        case evalSeconds = "eval_seconds", testAccuracy = "test_accuracy", testLoss = "test_loss"
        case testAccuracyTrainBN = "test_accuracy_train_bn", trainLoss = "train_loss_smoothed", trainAccuracy = "train_accuracy"
        case medianTheta = "median_theta"
    }
}

/// `results.jsonl`: read tolerantly (a line cut by a kill is skipped), rewritten atomically,
/// appended one record at a time.
public struct ExperimentResultsFile: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// Every complete record, deduplicated by (run, step): the last one written wins.
    public func read() throws -> [ExperimentRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var out: [ExperimentRecord] = []
        var index: [String: Int] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let r = try? ExperimentResultsFile.decoder.decode(ExperimentRecord.self, from: Data(line)) else { continue }
            let key = "\(r.run)\u{1}\(r.step)\u{1}\(r.diverged == true)"
            if let i = index[key] { out[i] = r } else { index[key] = out.count; out.append(r) }
        }
        return out
    }

    /// Replaces the file with `records` (write to a temporary file, then rename).
    public func rewrite(_ records: [ExperimentRecord]) throws {
        var data = Data()
        for r in records { data += try ExperimentResultsFile.encoder.encode(r); data.append(UInt8(ascii: "\n")) }
        try ExperimentFiles.writeAtomically(data, to: path)
    }

    public func append(_ record: ExperimentRecord) throws {
        var line = try ExperimentResultsFile.encoder.encode(record)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        try handle.synchronize()
    }
}

public enum ExperimentFiles {
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        try data.write(to: URL(fileURLWithPath: tmp))
        if rename(tmp, path) != 0 {
            let err = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: tmp)
            throw ExperimentError("could not replace \(path): \(err)")
        }
    }
}

/// `manifest.json`: what was run, how, where and on what.
public struct ExperimentManifest: Codable, Sendable {
    public struct Invocation: Codable, Sendable {
        public var command: String
        public var date: String
        public var build: String
    }
    public struct Machine: Codable, Sendable, Equatable {
        public var cores: Int
        public var cpu: String
        public var memoryGB: Double
        public var os: String
        public static func current() -> Machine {
            var cpu = "unknown"
            if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
               let colon = line.firstIndex(of: ":") {
                cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let info = ProcessInfo.processInfo
            return Machine(cores: info.activeProcessorCount, cpu: cpu,
                           memoryGB: (Double(info.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
                           os: info.operatingSystemVersionString)
        }
    }
    public struct Run: Codable, Sendable {
        public var id: String
        public var config: String
        public var seed: UInt64
        public var axes: [String: String]
        public var options: [String: JSONValue]
        /// The configuration this one is compared against.
        public var baseline: String?
    }
    public var name: String
    public var description: String
    public var experiment: JSONValue
    public var steps: Int
    public var evalEvery: Int
    public var thresholds: [Double]
    public var bothEvalModes: Bool
    public var axisOrder: [String]
    public var runs: [Run]
    public var command: String
    public var build: String
    public var date: String
    public var machine: Machine
    /// Every start of the runner on this folder (the first is `command`/`date`).
    public var invocations: [Invocation]

    enum CodingKeys: String, CodingKey {
        case name, description, experiment, steps, thresholds, runs, command, build, date, machine, invocations
        case evalEvery = "eval_every", bothEvalModes = "both_eval_modes", axisOrder = "axis_order"
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public static func read(_ path: String) throws -> ExperimentManifest {
        let data: Data
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExperimentError("no experiment manifest at \(path): give the folder `spherelab experiment run` wrote (Sessions/experiments/NAME)")
        }
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExperimentError("cannot read \(path): \(error.localizedDescription); is this an experiment folder (made by `spherelab experiment run`)?")
        }
        do { return try JSONDecoder().decode(ExperimentManifest.self, from: data) } catch {
            throw ExperimentError("\(path) is not an experiment manifest SphereLab can read (\(ExperimentSpec.describe(error)))")
        }
    }

    public func write(_ path: String) throws {
        try ExperimentFiles.writeAtomically(try ExperimentManifest.encoder.encode(self), to: path)
    }

    /// `git describe --always --dirty` of the working directory, or "unknown".
    public static func build() -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "describe", "--always", "--dirty", "--tags"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return "unknown" }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
