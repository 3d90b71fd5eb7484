import Testing
import Foundation
import Engine
import DataLoaders
import SessionStore
@testable import SphereLabApp

/// A tiny Fashion-MNIST-shaped dataset (raw IDX files) in a temporary Datasets folder.
func makeTinyDatasets(train: Int = 48, test: Int = 24) throws -> String {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("spherelab-tiny-\(UUID().uuidString)")
    let folder = root.appendingPathComponent("fashion-mnist")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var state: UInt64 = 12345
    func byte() -> UInt8 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
    func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)] }
    for (prefix, count) in [("train", train), ("t10k", test)] {
        var images = be(0x803) + be(UInt32(count)) + be(28) + be(28)
        var labels = be(0x801) + be(UInt32(count))
        for i in 0..<count {
            let label = UInt8(i % 10)
            labels.append(label)
            // Class-dependent stripes plus noise, so training has something to learn.
            for y in 0..<28 { for x in 0..<28 { images.append((x + y) % 10 == Int(label) ? 220 : byte() / 4) } }
        }
        try Data(images).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        try Data(labels).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }
    return root.path
}

func tinyRequest(datasets: String, model: String = "spherenet9", variant: ConvVariant = .learnableSigmoid,
                 optimizer: OptimizerKind = .adamDefault, normalization: ModelSpec.Normalization = .batchNorm) -> RunRequest {
    var r = RunRequest()
    r.datasetsDirectory = datasets
    r.modelName = model
    r.width = 0.125
    r.normalization = normalization
    r.hyper.variant = variant
    r.hyper.optimizer = optimizer
    r.hyper.batchSize = 8
    r.hyper.evalEvery = 0
    r.seed = 7
    return r
}

func allValues(_ n: Network) -> [String: [Float]] {
    var out: [String: [Float]] = [:]
    for p in n.savedParameters { out[p.name] = p.value.array }
    for b in n.stateBuffers { out[b.name] = b.value.array }
    return out
}

@Suite(.serialized) struct SessionResumeTests {
    /// Training 2k steps straight equals training k, saving, restoring and training k more —
    /// bit for bit, weights, buffers and optimizer moments (same seed and thread count).
    @Test(arguments: [("spherenet9", ConvVariant.learnableSigmoid, OptimizerKind.adamDefault, ModelSpec.Normalization.batchNorm),
                      ("spherenet9", .cosine, .sgd(momentum: 0.9), .sphereNormBatchNorm),
                      ("sphereresnet8", .linear, .adamDefault, .batchNorm)])
    func resumeIsExact(_ c: (String, ConvVariant, OptimizerKind, ModelSpec.Normalization)) throws {
        let datasets = try makeTinyDatasets()
        let sessions = datasets + "/Sessions"
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let request = tinyRequest(datasets: datasets, model: c.0, variant: c.1, optimizer: c.2, normalization: c.3)

        let straight = try request.makeTrainer()
        for _ in 0..<10 { _ = try straight.trainStep() }

        let run = try request.open()
        let first = run.trainer
        for _ in 0..<5 { _ = try first.trainStep() }
        let archive = SessionArchive(root: sessions, datasetsDirectory: datasets)
        let path = try archive.write(archive.capture(run.session, identity: run.identity), name: "tiny-5")
        let (reopened, manifest) = try archive.restore(path: path)
        let resumed = reopened.trainer
        #expect(manifest.step == 5 && resumed.step == 5)
        #expect(allValues(resumed.network) == allValues(first.network))
        for _ in 0..<5 { _ = try resumed.trainStep() }

        #expect(resumed.step == straight.step)
        let a = allValues(straight.network), b = allValues(resumed.network)
        #expect(a.keys.sorted() == b.keys.sorted())
        for key in a.keys.sorted() { #expect(a[key] == b[key], "\(c.0) \(c.1): \(key) differs after resume") }
        for (name, slot) in straight.optimizer.slots {
            #expect(resumed.optimizer.slots[name]?.first.array == slot.first.array, "\(name) moments differ")
            #expect(resumed.optimizer.slots[name]?.step == slot.step)
        }
    }

    @Test func snapshotHoldsPyTorchNamesAndShapes() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let run = try tinyRequest(datasets: datasets).open()
        _ = try run.trainer.trainStep()
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        let path = try archive.write(archive.capture(run.session, identity: run.identity), name: "names")
        let weights = try SafeTensors.read(path: path + "/weights.safetensors").tensors
        let byName = Dictionary(uniqueKeysWithValues: weights.map { ($0.name, $0) })
        #expect(byName["features.0.weight"]?.shape == [16, 1, 3, 3])
        #expect(byName["features.0.k"]?.shape == [16])
        #expect(byName["features.1.running_mean"]?.shape == [16])
        #expect(byName["features.1.num_batches_tracked"]?.values == .int64([1]))
        #expect(byName["fc6.0.weight"]?.shape == [32, 32, 4, 4])
        #expect(byName["score.weight"]?.shape == [10, 32, 1, 1])
        let optimizer = try SafeTensors.read(path: path + "/optimizer.safetensors").tensors.map(\.name)
        #expect(optimizer.contains("features.0.weight.exp_avg") && optimizer.contains("features.0.weight.exp_avg_sq")
                && optimizer.contains("features.0.weight.step"))
    }

    @Test func mismatchedWeightsAreRefusedWithTheTensorNamed() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let trainer = try tinyRequest(datasets: datasets).makeTrainer()
        var tensors = SessionArchive.weightTensors(trainer.network)
        let i = tensors.firstIndex { $0.name == "features.3.weight" }!
        tensors[i] = NamedTensor(name: "features.3.weight", shape: [1, 2, 3], floats: [0, 0, 0, 0, 0, 0])
        #expect { try SessionArchive.load(weights: tensors, into: trainer.network, path: "x") } throws: { e in
            "\(e)".contains("features.3.weight: file [1, 2, 3]")
        }
        tensors.remove(at: i)
        #expect { try SessionArchive.load(weights: tensors, into: trainer.network, path: "x") } throws: { e in
            "\(e)".contains("missing features.3.weight")
        }
        tensors = SessionArchive.weightTensors(trainer.network) + [NamedTensor(name: "extra.weight", shape: [1], floats: [1])]
        #expect { try SessionArchive.load(weights: tensors, into: trainer.network, path: "x") } throws: { e in
            "\(e)".contains("extra.weight")
        }
    }
}
