import Foundation
import Engine
import DataLoaders

/// `spherelab bench`: training and inference images/second for the standard configurations
/// (design.md §8) on synthetic images of the right shape (no dataset needed).
public struct Benchmark {
    public struct Configuration: Sendable, Equatable {
        public var name: String
        public var channels: Int, size: Int, width: Double
        public static let all: [Configuration] = [
            .init(name: "fmnist-w0.25", channels: 1, size: 28, width: 0.25),
            .init(name: "fmnist-w0.5", channels: 1, size: 28, width: 0.5),
            .init(name: "cifar-w1", channels: 3, size: 32, width: 1),
        ]
        public static func named(_ n: String) throws -> [Configuration] {
            if n == "all" { return all }
            guard let c = all.first(where: { $0.name == n }) else {
                throw EngineError("unknown configuration '\(n)': use \(all.map(\.name).joined(separator: ", ")) or all")
            }
            return [c]
        }

        /// The network this configuration benchmarks: SphereNet-9 at its width, 10 classes.
        public var model: ModelSpec { .sphereNet9(width: width, channels: channels, size: size, classes: 10) }

        /// Direct-convolution FLOP per image of this configuration's model.
        public func convolutionWork() throws -> ConvolutionWork { ConvolutionWork(plan: try ModelPlan(spec: model)) }
    }

    public struct Result: Sendable {
        public var configuration: String
        public var variant: String
        public var mode: String   // "train" or "inference"
        public var imagesPerSecond: Double
        public var medianStepSeconds: Double
        public var steps: Int
        /// GFLOP of convolution work per image in this mode, counted as direct convolution
        /// (`ConvolutionWork`): the training step's for "train", one forward pass's otherwise.
        public var convGflopPerImage: Double
        /// Convolution work per second: images/s × `convGflopPerImage`, the whole step or
        /// forward pass charged to it (BatchNorm, pooling, the optimizer and the head included).
        public var convGflops: Double { imagesPerSecond * convGflopPerImage }
    }

    public var batch = 128
    public var steps = 10
    public var warmup = 3
    public init() {}

    /// A synthetic dataset with the configuration's image shape.
    static func syntheticData(_ c: Configuration, count: Int) throws -> DatasetPair {
        var rng = SeededGenerator(seed: 99)
        let n = count * c.channels * c.size * c.size
        var pixels = [UInt8](repeating: 0, count: n)
        for i in 0..<n { pixels[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let labels = (0..<count).map { UInt8($0 % 10) }
        let set = try ImageSet(name: "synthetic/\(c.name)", count: count, channels: c.channels, height: c.size, width: c.size,
                               classes: 10, pixels: pixels, labels: labels)
        return DatasetPair(kind: c.channels == 1 ? .fashionMNIST : .cifar10, train: set, test: set)
    }

    public func makeTrainer(_ c: Configuration, variant: ConvVariant) throws -> Trainer {
        try makeRun(c, variant: variant).trainer
    }

    /// The configuration on synthetic data, as a run a controller can drive.
    /// `testImages` sizes the synthetic set (training and test are the same images); a run
    /// given `workspace` shares it (a race's contenders).
    public func makeRun(_ c: Configuration, variant: ConvVariant, totalSteps: Int? = nil, testImages: Int = 0,
                        workspace: Workspace = Workspace()) throws -> OpenedRun {
        let data = try Benchmark.syntheticData(c, count: max(batch * 2, 256, testImages))
        var hyper = Hyperparameters()
        hyper.variant = variant
        hyper.batchSize = batch
        hyper.evalEvery = 0
        hyper.statsEvery = 1_000_000
        let setup = RunSetup(dataset: data.kind, model: c.model,
                             seed: 1, augmentation: .none)
        return try RunFactory.open(setup: setup, data: data, hyper: hyper, runName: "bench-\(c.name)-\(variant.name)", totalSteps: totalSteps,
                                   workspace: workspace)
    }

    /// Median training-step time after warm-up.
    public func measureTraining(_ c: Configuration, variant: ConvVariant, trainer: Trainer? = nil,
                                duringStep: (() -> Void)? = nil) throws -> Result {
        let t = try trainer ?? makeTrainer(c, variant: variant)
        t.capturesAngles = false   // as a session's steps between statistics
        var times: [Double] = []
        for i in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try t.trainStep()
            duringStep?()
            let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if i >= warmup { times.append(s) }
        }
        let median = Benchmark.median(times)
        // Developer switch: SPHERELAB_INVENTORY=1 lists the workspace's buffers after the steps.
        if ProcessInfo.processInfo.environment["SPHERELAB_INVENTORY"] != nil {
            var total = 0
            for row in t.network.workspace.inventory where row.bytes > 0 {
                total += row.bytes
                print(String(format: "workspace %8.1f MB  %@", Double(row.bytes) / 1e6, row.name))
            }
            print(String(format: "workspace %8.1f MB  in all", Double(total) / 1e6))
        }
        let work = Double(try c.convolutionWork().trainingFLOPPerImage) / 1e9
        return Result(configuration: c.name, variant: variant.name, mode: "train", imagesPerSecond: Double(batch) / median,
                      medianStepSeconds: median, steps: steps, convGflopPerImage: work)
    }

    /// Median eval-mode forward time (score head included) for one batch.
    public func measureInference(_ c: Configuration, variant: ConvVariant) throws -> Result {
        let t = try makeTrainer(c, variant: variant)
        var times: [Double] = []
        for i in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try t.evaluate(limit: batch)
            let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if i >= warmup { times.append(s) }
        }
        let median = Benchmark.median(times)
        let work = Double(try c.convolutionWork().forwardFLOPPerImage) / 1e9
        return Result(configuration: c.name, variant: variant.name, mode: "inference", imagesPerSecond: Double(batch) / median,
                      medianStepSeconds: median, steps: steps, convGflopPerImage: work)
    }

    /// A whole evaluation as `train` runs one: `batches` batches of test images through
    /// `Trainer.evaluate` (chunks of the batch size, confusion counts included), images/second
    /// by the median over repetitions. Compared with `measureInference` (one batch at a time,
    /// the same images each time) it shows what streaming a test set adds.
    public func measureEvaluation(_ c: Configuration, variant: ConvVariant, batches: Int = 10, repetitions: Int = 3) throws -> Result {
        let run = try makeRun(c, variant: variant, testImages: batches * batch)
        let images = batches * batch
        var times: [Double] = []
        for i in 0...repetitions {
            let e = try run.trainer.evaluate(limit: images)
            if i > 0 { times.append(e.seconds) }
        }
        let median = Benchmark.median(times)
        let work = Double(try c.convolutionWork().forwardFLOPPerImage) / 1e9
        return Result(configuration: c.name, variant: variant.name, mode: "evaluation", imagesPerSecond: Double(images) / median,
                      medianStepSeconds: median / Double(batches), steps: repetitions, convGflopPerImage: work)
    }

    public static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
