import Testing
import Foundation
import Engine
import SessionStore
@testable import SphereLabApp

/// App-side fuzz (issue 10): seeded mutations of a real session.json, decoded through
/// `SessionManifest` (`SessionArchive.readManifest`, which also checks every number through
/// `Settings`), then the model plan, memory estimate and tensor table derived from it. Every
/// case must end in a named error (`EngineError`) or a valid load — a trap kills the process.
/// One case in eight also goes through a snapshot folder and the listing's model check.
/// Cases: SPHERELAB_FUZZ_CASES (default 2 000); seed: SPHERELAB_FUZZ_SEED; one case alone:
/// SPHERELAB_FUZZ_CASE.
@Suite(.serialized) struct ManifestFuzzTests {
    struct RNG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
        mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
    }

    nonisolated(unsafe) static let hostile: [Any] = [Int.max, Int.min, -1, 0, 1, 1 << 40, 9_223_372_036_854_775_807, 1e30, -1e30, 1e300, 0.5, -0.0,
                                 "nan", "inf", "-inf", "", "x", true, NSNull(), [Any](), [String: Any](), [1, 2, 3], ["a": 1],
                                 String(repeating: "9", count: 400), Array(repeating: 7, count: 3000)]

    /// Replaces, deletes or adds one value somewhere in the tree.
    static func mutateTree(_ value: Any, _ rng: inout RNG, depth: Int = 0) -> Any {
        if var object = value as? [String: Any], !object.isEmpty, depth < 12, rng.below(4) != 0 {
            let key = rng.pick(object.keys.sorted())
            switch rng.below(10) {
            case 0: object.removeValue(forKey: key)
            case 1: object[key + "x"] = rng.pick(hostile)
            default: object[key] = mutateTree(object[key]!, &rng, depth: depth + 1)
            }
            return object
        }
        if var array = value as? [Any], !array.isEmpty, depth < 12, rng.below(4) != 0 {
            let i = rng.below(array.count)
            switch rng.below(8) {
            case 0: array.remove(at: i)
            case 1: array.append(rng.pick(hostile))
            default: array[i] = mutateTree(array[i], &rng, depth: depth + 1)
            }
            return array
        }
        return rng.pick(hostile)
    }

    static func makeCase(_ base: [UInt8], _ rng: inout RNG) -> [UInt8] {
        switch rng.below(10) {
        case 0..<6:   // JSON-tree edits, one to three
            var object: Any = (try? JSONSerialization.jsonObject(with: Data(base))) ?? [:]
            for _ in 0...rng.below(3) { object = mutateTree(object, &rng) }
            guard JSONSerialization.isValidJSONObject([object]) else { return base }   // Foundation traps on invalid input
            return (try? Array(JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]))) ?? base
        case 6:       // bit flips
            var b = base
            for _ in 0...rng.below(8) { b[rng.below(b.count)] ^= UInt8(1 << rng.below(8)) }
            return b
        case 7:       // truncation
            return Array(base.prefix(rng.below(base.count)))
        case 8:       // a digit run replaced by a hostile number
            var b = base
            let digits = b.indices.filter { (48...57).contains(b[$0]) }
            guard let at = digits.isEmpty ? nil : rng.pick(digits) else { return b }
            var end = at
            while end < b.count, (48...57).contains(b[end]) { end += 1 }
            b.replaceSubrange(at..<end, with: Array(rng.pick(["9223372036854775808", "99999999999999999999", "1e400", "-1", "0", "1.5"]).utf8))
            return b
        default:      // duplicate a key of the top-level object (the store refuses; the app must not trap)
            var b = base
            if let brace = b.firstIndex(of: UInt8(ascii: "{")) {
                b.insert(contentsOf: Array("\"step\":\(rng.pick(["1", "-5", "1e30", "\"x\""])),".utf8), at: brace + 1)
            }
            return b
        }
    }

    @Test func mutatedManifestsEndInANamedErrorOrAValidLoad() throws {
        let env = ProcessInfo.processInfo.environment
        let cases = env["SPHERELAB_FUZZ_CASES"].flatMap(Int.init) ?? 2000
        let seed = env["SPHERELAB_FUZZ_SEED"].flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: $0.hasPrefix("0x") ? 16 : 10) } ?? 0x5EED2025
        let only = env["SPHERELAB_FUZZ_CASE"].flatMap(Int.init)
        let (datasets, archive, path) = try FailureHandlingTests.savedRun(name: "fuzz-base")
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let base = Array(try Data(contentsOf: URL(fileURLWithPath: path + "/session.json")))
        let folder = archive.store.root + "/fuzz-case"
        try FileManager.default.copyItem(atPath: path, toPath: folder)
        var loads = 0, errors = 0, folderChecks = 0
        var kinds: [String: Int] = [:]
        for index in (only.map { $0...$0 } ?? 0...(cases - 1)) {
            var rng = RNG(state: seed &+ UInt64(index) &* 0x2545_F491_4F6C_DD1D)
            let bytes = Self.makeCase(base, &rng)
            do {
                let m = try SessionArchive.readManifest(bytes, path: "case \(index)")
                // A valid load: every number in range, and what is derived from it computes.
                #expect(Settings.savedStep.contains(m.step) && Settings.savedEpoch.contains(m.epoch), "seed \(seed) case \(index)")
                let plan = try ModelPlan(spec: m.setup.model)
                _ = plan.memoryEstimate(batchSize: m.hyper.batchSize)
                _ = plan.mismatch(weights: [:])
                _ = m.hyper.schedule.rate(at: m.step)
                _ = m.history
                loads += 1
            } catch let e as EngineError {
                #expect(e.message.count < 2000, "seed \(seed) case \(index): message of \(e.message.count) characters")
                errors += 1
                let kind = e.message.contains("schema") ? "schema" : (e.message.components(separatedBy: ": ").dropFirst().first.map { String($0.prefix(24)) } ?? "other")
                kinds[kind, default: 0] += 1
            } catch {
                Issue.record("seed \(seed) case \(index): unnamed error \(type(of: error)): \(error)")
            }
            if index % 8 == 0 {
                try Data(bytes).write(to: URL(fileURLWithPath: folder + "/session.json"))
                _ = archive.store.check(path: folder, modelCheck: SessionArchive.modelCheck)
                folderChecks += 1
            }
        }
        print("manifest fuzz: seed \(seed), \(loads + errors) cases: \(loads) valid loads, \(errors) named errors, \(folderChecks) folder checks; top errors \(kinds.sorted { $0.value > $1.value }.prefix(6))")
        #expect(loads > 0 && errors > 0)
    }
}
