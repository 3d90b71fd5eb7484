import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI
import SessionStore

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a snapshot, or a bare safetensors weights file, on a test set.")
    @Option(help: "A snapshot folder.") var session: String?
    @Option(help: "A safetensors file with SphereLab/PyTorch parameter names (needs --model, --width, --variant, --dataset).") var weights: String?
    @Option(help: "Dataset (default: the snapshot's).") var dataset: String?
    @Option(help: "Model for --weights (default spherenet9).") var model: String?
    @Option(help: "Width for --weights (default 0.25).") var width: Double?
    @Option(help: "Variant for --weights (default cosine).") var variant: String?
    @Option(help: "BatchNorm statistics the weights were trained with (default: the file's metadata, else pytorch).") var bnStats: String?
    @Option(help: "Normalisation after each SphereConv for --weights (default: the file's metadata, else bn).") var normalization: String?
    @Option(name: .customLong("fc6-bn"), help: "BatchNorm after fc6 for --weights: on or off (default: the file's metadata, else on).") var fc6BN: String?
    @Option(name: .customLong("datasets-dir"), help: "Folder searched first for datasets.") var datasetsDir = DatasetsFolder.defaultPath
    @Option(name: .customLong("eval-limit"), help: "Test examples (default: all).") var evalLimit: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (session == nil) != (weights == nil) else { throw ValidationError("give exactly one of --session PATH or --weights FILE") }
        if let e = evalLimit, e < 1 { throw ValidationError("--eval-limit must be at least 1") }
        try DatasetsFolder.check(datasetsDir)
    }

    func run() throws {
        do {
            let trainer: Trainer
            if let session {
                let archive = SessionArchive(root: (session as NSString).deletingLastPathComponent, datasetsDirectory: datasetsDir)
                reportCleanUp(archive)
                if let dataset, dataset.lowercased() != (try archive.readManifest(archive.store.load(path: session), path: session)).setup.dataset.rawValue {
                    trainer = try Eval.retarget(archive: archive, session: session, dataset: dataset, datasetsDir: datasetsDir)
                } else {
                    // Eval is not a resume: another copy of the dataset is fine, with a warning.
                    let (run, manifest) = try archive.restore(path: session, sameData: false)
                    if run.identity.datasetFingerprint != manifest.datasetFingerprint {
                        FileHandle.standardError.write(Data("warning: \(session) was trained on a different copy of \(manifest.setup.dataset.rawValue) (fingerprint \(manifest.datasetFingerprint), found \(run.identity.datasetFingerprint)); evaluating anyway\n".utf8))
                    }
                    trainer = run.trainer
                }
            } else {
                // The file's recorded recipe fills what the command line leaves open; an option
                // that contradicts it is refused when the weights load, with the fix.
                let file = try SafeTensors.read(path: weights!)
                let recipe = try WeightsMetadata.recipe(file.metadata, path: weights!)
                var options = try RunOptions.parse([])
                options.dataset = dataset; options.model = model; options.width = width; options.variant = variant
                options.bnStats = bnStats ?? recipe.statistics?.rawValue
                options.normalization = normalization ?? recipe.normalization?.rawValue
                options.fc6BN = fc6BN ?? recipe.fc6BatchNorm.map { $0 ? "on" : "off" }
                options.datasetsDir = datasetsDir
                let request = try options.request(steps: nil)
                trainer = try request.makeTrainer()
                try SessionArchive.load(weights: file.tensors, metadata: file.metadata, into: trainer.network,
                                        spec: trainer.network.spec, path: weights!)
            }
            let e = try trainer.evaluate(limit: evalLimit)
            try SessionArchive.checkEvaluation(trainer.network, e, source: session ?? weights ?? "")
            if json {
                print(JSONLine.object([("test_accuracy", .double(e.accuracy)), ("test_loss", .double(e.loss)), ("examples", .int(e.examples))]))
            } else {
                print(String(format: "test accuracy %.2f%%  test loss %.4f  (%d examples)", 100 * e.accuracy, e.loss, e.examples))
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            throw failure("\(error)")
        }
    }

    /// A snapshot evaluated on another dataset of the same image shape and class count.
    static func retarget(archive: SessionArchive, session: String, dataset: String, datasetsDir: String) throws -> Trainer {
        guard let kind = DatasetKind(rawValue: dataset.lowercased()) else {
            throw EngineError("unknown dataset '\(dataset)': use \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let contents = try archive.store.load(path: session)
        let manifest = try archive.readManifest(contents, path: session)
        let data = try DatasetLoader.load(kind, datasetsDirectory: datasetsDir)
        var setup = manifest.setup
        setup.dataset = kind
        let trainer = try RunFactory.trainer(setup: setup, data: data, hyper: manifest.hyper)
        try SessionArchive.load(weights: contents.weights, metadata: contents.metadata, into: trainer.network,
                                spec: setup.model, path: session)
        for c in trainer.network.sphereCapable { if let v = manifest.layerVariants[c.name] { c.variant = v } }
        return trainer
    }
}
