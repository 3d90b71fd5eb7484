import Testing
import Foundation
import Engine
import SessionStore
@testable import SphereLabApp

/// Weights that say how to evaluate them (issue 14): the `__metadata__` recipe is written with
/// the Python package's keys and values, honoured on load, and foreign names are all listed.
@Suite(.serialized) struct WeightsMetadataTests {
    @Test func theRecipeUsesThePythonPackagesKeysAndValues() {
        var spec = ModelSpec.sphereNet9(width: 0.25, channels: 1, size: 28)
        // Exactly what spherelab_torch.snapshot.weights_metadata writes (bar the producer).
        #expect(WeightsMetadata.record(for: spec) == [
            "format": "pt", "producer": "spherelab", "bn_epsilon": "1e-05", "bn_statistics": "pytorch",
            "fc6_batchnorm": "true", "normalization": "bn", "input_normalization": "(x-127.5)/128"])
        spec.batchNormStatistics = .paper
        spec.fc6BatchNorm = false
        spec.normalization = .sphereNormBatchNorm
        let md = WeightsMetadata.record(for: spec)
        #expect(md["bn_epsilon"] == "0.001" && md["bn_statistics"] == "paper" && md["fc6_batchnorm"] == "false"
                && md["normalization"] == "spherenorm+bn")
    }

    @Test func aModelThatCannotHonourTheRecipeIsRefusedWithTheFix() throws {
        let spec = ModelSpec.sphereNet9(width: 0.25, channels: 1, size: 28)
        let base = WeightsMetadata.record(for: spec)
        #expect(try WeightsMetadata.check(base, against: spec, path: "w") == 1e-5)
        #expect(try WeightsMetadata.check(["format": "pt"], against: spec, path: "w") == nil)   // older files: no recipe
        let cases: [(String, String, String)] = [
            ("bn_statistics", "paper", "--bn-stats paper"), ("fc6_batchnorm", "false", "--fc6-bn off"),
            ("normalization", "spherenorm", "--normalization spherenorm"), ("input_normalization", "x/255", "x/255"),
            ("bn_epsilon", "fast", "bn_epsilon 'fast'"), ("bn_epsilon", "nan", "bn_epsilon"), ("fc6_batchnorm", "yes", "true or false"),
        ]
        for (key, value, hint) in cases {
            var md = base
            md[key] = value
            #expect { try WeightsMetadata.check(md, against: spec, path: "w.safetensors") } throws: { e in
                "\(e)".contains("w.safetensors") && "\(e)".contains(hint)
            }
        }
    }

    @Test func everyMissingAndUnexpectedTensorIsListedWithHints() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let trainer = try tinyRequest(datasets: datasets, variant: .cosine).makeTrainer()
        let good = SessionArchive.weightTensors(trainer.network)
        // A DDP checkpoint with PyTorch-author names and a bias SphereLab has no use for.
        var foreign: [NamedTensor] = []
        for t in good {
            var name = t.name.replacingOccurrences(of: "fc6.1.", with: "fc6_bn.")
            if name.hasPrefix("features.0.") { name = "module." + name }
            foreign.append(NamedTensor(name: name, shape: t.shape, values: t.values))
        }
        foreign.append(NamedTensor(name: "score.bias", shape: [10], floats: [Float](repeating: 0, count: 10)))
        var message = ""
        #expect { try SessionArchive.load(weights: foreign, metadata: [:], into: trainer.network, spec: trainer.network.spec, path: "ddp.safetensors") } throws: { e in
            message = "\(e)"; return true
        }
        let fc6BN = good.filter { $0.name.hasPrefix("fc6.1.") }.map(\.name)
        let firstConv = good.filter { $0.name.hasPrefix("features.0.") }.map(\.name)
        #expect(fc6BN.count == 5 && firstConv.count >= 1)
        for n in fc6BN + firstConv where !n.hasSuffix("num_batches_tracked") {   // optional: never "missing"
            #expect(message.contains("missing \(n) "), "\(n) not listed as missing")
        }
        #expect(!message.contains("missing fc6.1.num_batches_tracked"))
        for n in fc6BN.map({ $0.replacingOccurrences(of: "fc6.1.", with: "fc6_bn.") }) {
            #expect(message.contains("unexpected \(n) [") && message.contains("SphereLab names it fc6.1.*"))
        }
        #expect(message.contains("unexpected module.features.0.weight") && message.contains("strip it"))
        #expect(message.contains("score.bias [10] — SphereLab's convolutions and score layer have no bias"))
    }

    @Test func buffersEvaluationDoesNotNeedAreOptionalAndARecordedEpsilonIsApplied() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let source = try tinyRequest(datasets: datasets, variant: .cosine).makeTrainer()
        for _ in 0..<3 { _ = try source.trainStep() }
        let tensors = SessionArchive.weightTensors(source.network).filter { !$0.name.hasSuffix("num_batches_tracked") }
        let target = try tinyRequest(datasets: datasets, variant: .cosine).makeTrainer()
        var md = WeightsMetadata.record(for: target.network.spec)
        try SessionArchive.load(weights: tensors, metadata: md, into: target.network, spec: target.network.spec, path: "w")
        #expect(target.network.stateBuffers.filter { $0.name.hasSuffix("num_batches_tracked") }.allSatisfy { $0.value.array == [0] })
        let sameEps = try target.evaluate()
        #expect(sameEps.loss == (try source.evaluate()).loss)
        // A file trained with another ε (e.g. 1e-3 under PyTorch's convention) evaluates with it.
        md["bn_epsilon"] = "0.5"
        try SessionArchive.load(weights: tensors, metadata: md, into: target.network, spec: target.network.spec, path: "w")
        let runningMeans = target.network.stateBuffers.filter { $0.name.hasSuffix("running_mean") }.count
        #expect(runningMeans > 0 && target.network.batchNorms.count == runningMeans && target.network.batchNorms.allSatisfy { $0.epsilon == 0.5 })
        #expect(try target.evaluate().loss != sameEps.loss)
    }

    @Test func fc6BatchNormCanBeOffAndSnapshotsRecordIt() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        var request = tinyRequest(datasets: datasets, variant: .cosine)
        request.fc6BatchNorm = false
        let run = try request.open()
        #expect(!run.trainer.network.stateBuffers.contains { $0.name.hasPrefix("fc6.1.") })
        _ = try run.trainer.trainStep()
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        let path = try archive.write(archive.capture(run.session, identity: run.identity), name: "no-fc6-bn")
        let file = try SafeTensors.read(path: path + "/weights.safetensors")
        #expect(file.metadata["fc6_batchnorm"] == "false" && file.metadata["bn_epsilon"] == "1e-05")
        #expect(!file.tensors.contains { $0.name.hasPrefix("fc6.1.") })
        let (reopened, _) = try archive.restore(path: path)
        #expect(allValues(reopened.trainer.network) == allValues(run.trainer.network))
        // The same weights into a model with fc6 BatchNorm: refused by the recipe, with the fix.
        let withBN = try tinyRequest(datasets: datasets, variant: .cosine).makeTrainer()
        #expect { try SessionArchive.load(weights: file.tensors, metadata: file.metadata, into: withBN.network, spec: withBN.network.spec, path: "w") } throws: { e in
            "\(e)".contains("--fc6-bn off")
        }
    }
}
