import Foundation
import Testing
@testable import SessionStore

/// Seeded mutations of valid safetensors files. Every case must end in a SessionStoreError of a
/// safetensors kind that says where (tensor or byte offset), or in a load whose tensors are
/// consistent and no larger than the file justifies — never a trap or a hang. A quarter of the
/// cases also go through a file on disk, where the cheap header check (`readIndex`, what listings
/// use) must agree with the full load, and one in eight through a whole snapshot folder, where
/// `listChecked` must mark exactly the folders `load` refuses, with the same reason.
@Suite("fuzz: safetensors files")
struct SafeTensorsFuzzTests {
    struct Spec: Sendable {
        var name: String
        var dtype: String
        var shape: [Int]
    }

    static let dtypeSizes = ["F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4]

    /// Valid files built from a header tree, so that mutations can work on the structure.
    static let bases: [(specs: [Spec], metadata: [(String, String)])] = [
        ([Spec(name: "features.0.weight", dtype: "F32", shape: [2, 1, 3, 3]),
          Spec(name: "features.1.num_batches_tracked", dtype: "I64", shape: []),
          Spec(name: "features.1.running_mean", dtype: "F32", shape: [2])], [("format", "pt")]),
        ([Spec(name: "a", dtype: "F16", shape: [3]), Spec(name: "b", dtype: "BF16", shape: [2, 2]),
          Spec(name: "c", dtype: "F64", shape: [1]), Spec(name: "d", dtype: "I32", shape: [2]),
          Spec(name: "e", dtype: "F32", shape: [0, 5])], []),
        ([], [("producer", "spherelab"), ("format", "pt")]),
        ([Spec(name: "s", dtype: "F32", shape: [])], []),
    ]

    /// The header tree and data of a valid file: tensors back to back in the given order.
    static func build(_ specs: [Spec], metadata: [(String, String)], rng: inout FuzzRNG) -> (FuzzJSON, [UInt8]) {
        var members: [(String, FuzzJSON)] = []
        if !metadata.isEmpty { members.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) }))) }
        var offset = 0
        for spec in specs {
            let length = spec.shape.reduce(1, *) * (dtypeSizes[spec.dtype] ?? 1)
            members.append((spec.name, .object([("dtype", .string(spec.dtype)),
                                                ("shape", .array(spec.shape.map(FuzzJSON.number))),
                                                ("data_offsets", .array([.number(offset), .number(offset + length)]))])))
            offset += length
        }
        return (.object(members), rng.bytes(offset))
    }

    static func assemble(header: [UInt8], data: [UInt8], pad: Bool = true, lengthField: UInt64? = nil) -> [UInt8] {
        var header = header
        if pad { while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) } }
        var length = lengthField ?? UInt64(header.count)
        var file: [UInt8] = []
        for _ in 0..<8 {
            file.append(UInt8(length & 0xFF))
            length >>= 8
        }
        return file + header + data
    }

    /// One fuzz input and how it was made.
    static func makeCase(_ rng: inout FuzzRNG) -> ([UInt8], String) {
        let base = rng.pick(bases)
        let (tree, data) = build(base.specs, metadata: base.metadata, rng: &rng)
        let valid = assemble(header: tree.serialized(), data: data)
        let otherBase = rng.pick(bases)
        var otherRNG = rng
        let (otherTree, otherData) = build(otherBase.specs, metadata: otherBase.metadata, rng: &otherRNG)
        let other = rng.chance(0.5) ? assemble(header: otherTree.serialized(), data: otherData)
            : ((try? SafeTensors.encode(sampleWeights(scale: 2), metadata: ["format": "pt"])) ?? [])

        switch rng.below(20) {
        case 0..<8:
            // Structural: one to three edits of the header, then a consistent or hostile frame.
            var mutated = tree
            var steps: [String] = []
            for _ in 0..<(1 + rng.below(3)) {
                let (next, what) = JSONMutator.mutate(mutated, rng: &rng)
                mutated = next
                steps.append(what)
            }
            var payload = data
            if rng.chance(0.1) {
                payload = rng.chance(0.5) ? Array(payload.prefix(rng.below(payload.count + 1))) : payload + rng.bytes(1 + rng.below(64))
                steps.append("data resized to \(payload.count)")
            }
            return (assemble(header: mutated.serialized(), data: payload, pad: rng.chance(0.8)), steps.joined(separator: "; "))
        case 8..<11:
            let header = tree.serialized()
            let padded = (header.count + 7) / 8 * 8
            let total = 8 + padded + data.count
            let field = rng.pick([0, 1, 7, UInt64(padded - 1), UInt64(padded + 1), UInt64(total - 8), UInt64(total - 7),
                                  UInt64(total), 100_000_000, 100_000_001, UInt64.max, 1 << 63, 1 << 32, UInt64(Int.max)])
            return (assemble(header: header, data: data, lengthField: field), "length field \(field)")
        default:
            // Byte-level: one to three rounds on a valid file.
            var bytes = rng.chance(0.8) ? valid : other
            var steps: [String] = []
            for _ in 0..<(1 + rng.below(3)) {
                let (next, what) = ByteMutator.mutate(bytes, other: other, rng: &rng)
                bytes = next
                steps.append(what)
            }
            // Half the time the length field is made to fit again, so that damage inside the
            // header reaches the JSON and entry checks instead of stopping at the frame.
            if rng.chance(0.5), bytes.count >= 8 + data.count {
                var length = UInt64(bytes.count - 8 - data.count)
                for i in 0..<8 {
                    bytes[i] = UInt8(length & 0xFF)
                    length >>= 8
                }
                steps.append("length field fitted")
            }
            return (bytes, steps.joined(separator: "; "))
        }
    }

    static let safetensorsKinds: Set<SessionStoreError.Kind> = [
        .fileTooShort, .headerLengthExceedsFile, .headerTooLarge, .headerNotUTF8, .headerNotJSON, .headerNotObject,
        .malformedEntry, .unknownDtype, .unsupportedDtype, .invalidShape, .elementCountOverflow, .invalidOffsets,
        .offsetsBeyondData, .byteLengthMismatch, .overlappingTensors, .holeInData, .duplicateTensorName,
        .trailingBytes, .invalidMetadata,
    ]

    /// nil when the error is a proper one: a safetensors kind, the file named, a place (byte offset
    /// or tensor) unless the file is too short to have one, short readable sentences.
    static func problem(with error: any Error, path: String) -> String? {
        guard let error = error as? SessionStoreError else { return "not a SessionStoreError: \(type(of: error)): \(error)" }
        guard safetensorsKinds.contains(error.kind) else { return "unexpected kind \(error.kind): \(error)" }
        guard error.path == path else { return "error names \(error.path ?? "no file") instead of \(path): \(error)" }
        guard error.offset != nil || error.tensor != nil || error.kind == .fileTooShort else { return "error says not where: \(error)" }
        guard !error.message.isEmpty, !error.hint.isEmpty else { return "empty message or hint: \(error)" }
        guard error.message.count <= 600 else { return "message of \(error.message.count) characters: \(error.message.prefix(200))…" }
        return nil
    }

    /// nil when decoded tensors are consistent and their values need at most twice the file's bytes
    /// (F16/BF16 widen to 4 bytes; I32 to 8).
    static func problem(with decoded: (tensors: [NamedTensor], metadata: [String: String]), fileSize: Int) -> String? {
        var allocated = 0
        var names = Set<String>()
        for tensor in decoded.tensors {
            guard names.insert(tensor.name).inserted else { return "tensor \(tensor.name) decoded twice" }
            var count = 1
            for dimension in tensor.shape {
                guard dimension >= 0 else { return "negative dimension in \(tensor.shape)" }
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow else { return "shape \(tensor.shape) overflows" }
                count = product
            }
            guard count == tensor.values.count else { return "\(tensor.name): shape \(tensor.shape) but \(tensor.values.count) values" }
            switch tensor.values {
            case .float32(let values): allocated += values.count * 4
            case .int64(let values): allocated += values.count * 8
            }
        }
        guard allocated <= 2 * fileSize else { return "decoded \(allocated) bytes of values from a \(fileSize)-byte file" }
        // What was read writes back and reads again bit for bit (F16/BF16/F64/I32 come back as F32/I64).
        do {
            let again = try SafeTensors.decode(try SafeTensors.encode(decoded.tensors, metadata: decoded.metadata))
            guard again.metadata == decoded.metadata, again.tensors.count == decoded.tensors.count else { return "re-encoding changed the file" }
            for (a, b) in zip(again.tensors, decoded.tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
                guard a.name == b.name, a.shape == b.shape, bits(a.values) == bits(b.values) else { return "re-encoding changed \(b.name)" }
            }
        } catch {
            return "a decoded file does not re-encode: \(error)"
        }
        return nil
    }

    static func bits(_ values: TensorValues) -> [UInt64] {
        switch values {
        case .float32(let floats): return floats.map { UInt64($0.bitPattern) }
        case .int64(let integers): return integers.map { UInt64(bitPattern: $0) }
        }
    }

    @Test("mutated files end in a named error or a consistent load; header check agrees with load")
    func fuzz() throws {
        let scratch = try ScratchFolder(inMemory: true)
        defer { scratch.cleanUp() }
        let filePath = scratch.path + "/fuzz.safetensors"
        let store = SnapshotStore(root: scratch.path + "/Sessions")
        try store.save(sampleContents(), name: "w")
        let weightsPath = store.path(forName: "w") + "/" + SnapshotStore.weightsFileName

        var run = FuzzRun(format: "safetensors")
        try run.run { rng, index in
            let (bytes, how) = Self.makeCase(&rng)
            var outcome: String
            let memoryResult: Result<(tensors: [NamedTensor], metadata: [String: String]), any Error>
            do {
                memoryResult = .success(try SafeTensors.decode(bytes, path: "fuzz"))
            } catch {
                memoryResult = .failure(error)
            }
            switch memoryResult {
            case .success(let decoded):
                if let problem = Self.problem(with: decoded, fileSize: bytes.count) {
                    return .failure(FuzzFailure("\(how): \(problem)", input: bytes))
                }
                outcome = "loaded"
            case .failure(let error):
                if let problem = Self.problem(with: error, path: "fuzz") {
                    return .failure(FuzzFailure("\(how): \(problem)", input: bytes))
                }
                outcome = "\((error as? SessionStoreError)?.kind.rawValue ?? "?")"
            }
            let memoryKind = (try? memoryResult.get()) == nil ? ((memoryResult.failureValue as? SessionStoreError)?.kind) : nil

            if index % 4 == 0 {
                // Through a file: the header-only check must reach the same verdict as the full read.
                try Data(bytes).write(to: URL(fileURLWithPath: filePath))
                let indexKind: SessionStoreError.Kind? = (try? SafeTensors.readIndex(path: filePath)) != nil ? nil
                    : Self.kind { _ = try SafeTensors.readIndex(path: filePath) }
                let readKind: SessionStoreError.Kind? = (try? SafeTensors.read(path: filePath)) != nil ? nil
                    : Self.kind { _ = try SafeTensors.read(path: filePath) }
                guard indexKind == memoryKind, readKind == memoryKind else {
                    return .failure(FuzzFailure("\(how): memory \(String(describing: memoryKind)), readIndex \(String(describing: indexKind)), read \(String(describing: readKind))", input: bytes))
                }
            }
            if index % 8 == 0 {
                try Data(bytes).write(to: URL(fileURLWithPath: weightsPath))
                if let problem = SnapshotFolderOracle.check(store: store, name: "w") {
                    return .failure(FuzzFailure("\(how): \(problem)", input: bytes))
                }
            }
            return .success(outcome)
        }
        print("fuzz safetensors: \(FuzzConfig.caseIndices.count) cases, seed \(FuzzConfig.seed): \(run.summary)")
        #expect(run.failures == 0)
    }

    static func kind(_ body: () throws -> Void) -> SessionStoreError.Kind? {
        do {
            try body()
            return nil
        } catch {
            return (error as? SessionStoreError)?.kind ?? .ioFailed
        }
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// The listing promise, checked on one folder: `listChecked` never throws; it marks the folder ok
/// exactly when `load` succeeds, and otherwise gives load's error as the reason; `list` shows
/// the folder exactly when it is ok; summary numbers are plausible.
enum SnapshotFolderOracle {
    static func check(store: SnapshotStore, name: String) -> String? {
        let listed: [SnapshotListing]
        do {
            listed = try store.listChecked()
        } catch {
            return "listChecked threw \(error)"
        }
        guard let entry = listed.first(where: { $0.name == name }) else { return "folder \(name) missing from listChecked" }
        let loadError: (any Error)?
        do {
            _ = try store.load(path: store.path(forName: name))
            loadError = nil
        } catch {
            loadError = error
        }
        switch (entry.health, loadError) {
        case (.ok, nil):
            break
        case (.ok, let error?):
            return "listed as ok but load failed: \(error)"
        case (.damaged(let reason), nil):
            return "listed as damaged (\(reason)) but load succeeded"
        case (.damaged(let reason), let error?):
            guard let storeError = error as? SessionStoreError else { return "load threw \(type(of: error)): \(error)" }
            guard reason == storeError.description else { return "listing reason \"\(reason)\" differs from load's \"\(storeError)\"" }
        }
        guard let plain = try? store.list() else { return "list threw" }
        guard plain.contains(where: { $0.name == name }) == entry.health.isOK else { return "list and listChecked disagree" }
        if let step = entry.summary.step, step < 0 { return "negative summary step \(step)" }
        if let accuracy = entry.summary.bestTestAccuracy, !(accuracy.isFinite && (0...1).contains(accuracy)) {
            return "implausible bestTestAccuracy \(accuracy)"
        }
        return nil
    }
}
