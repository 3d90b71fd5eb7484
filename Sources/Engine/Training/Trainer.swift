import Foundation
import DataLoaders
import CKernels

/// One training step's figures.
public struct StepResult: Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    /// Mean cross-entropy of the batch (with the margin for GA-Softmax).
    public var loss: Double
    /// Orthogonality penalty + coupled L2, reported apart from the data loss.
    public var regularization: Double
    /// Fraction of the batch predicted right (train-mode BN).
    public var accuracy: Double
    public var learningRate: Float
    public var seconds: Double
    public var imagesPerSecond: Double { seconds > 0 ? Double(batchSize) / seconds : 0 }
    public var batchSize: Int
}

/// One evaluation on the test set.
public struct EvaluationResult: Sendable, Equatable {
    public var step: Int
    public var accuracy: Double
    public var loss: Double
    public var examples: Int
    /// Accuracy with BatchNorm in train mode (batch statistics), when measured.
    public var trainModeAccuracy: Double?
    public var seconds: Double
}

/// Trains one network on one dataset. Owns the model, optimizer, data order and every
/// buffer; not thread-safe by design — `TrainingController` confines it to one serial queue,
/// and the headless command line drives it directly.
public final class Trainer {
    public let setup: RunSetup
    public let data: DatasetPair
    public let network: Network
    public private(set) var hyper: Hyperparameters
    public let optimizer: Optimizer
    let orthogonality: OrthogonalityPenalty
    private var head: ScoreHead<Float>
    private var iterator: BatchIterator
    public private(set) var step = 0
    private let probe = AngleProbe()

    public static let evaluationBatch = 500

    // Step buffers, sized once per batch size.
    private let images = FloatBuffer()          // (C, N, H, W)
    private var labels: [Int32] = []            // (≥ N); the first N are the batch's
    /// The parameters trained at the current variants, rebuilt only when a variant changes.
    private var trainable: [Parameter]?
    private let featureRows = FloatBuffer()     // (N, D) features as the head wants them
    private let featureGradRows = FloatBuffer() // (N, D)
    private let featureGrad = FloatBuffer()     // (D, N, 1, 1) back in the channel-major layout
    private let logits = FloatBuffer()          // (N, C)

    public init(setup: RunSetup, data: DatasetPair, hyper: Hyperparameters) throws {
        try hyper.validate()
        let set = data.train
        guard set.channels == setup.model.inputChannels, set.height == setup.model.inputHeight,
              set.width == setup.model.inputWidth, set.classes == setup.model.classes else {
            throw EngineError("the model expects \(setup.model.inputChannels)×\(setup.model.inputHeight)×\(setup.model.inputWidth) images in \(setup.model.classes) classes; \(set.name) has \(set.channels)×\(set.height)×\(set.width) in \(set.classes)")
        }
        self.setup = setup
        self.data = data
        self.hyper = hyper
        network = try Network(spec: setup.model, variant: hyper.variant, seed: setup.seed)
        optimizer = Optimizer(kind: hyper.optimizer, weightDecay: hyper.weightDecay)
        orthogonality = OrthogonalityPenalty(weight: hyper.orthogonality)
        do {
            head = try ScoreHead<Float>(kind: hyper.head, options: hyper.crossEntropy,
                                        maxBatch: max(Hyperparameters.batchSizeRange.upperBound, Trainer.evaluationBatch),
                                        features: network.featureDimension, classes: setup.model.classes)
        } catch { throw EngineError("score head: \(error)") }
        iterator = BatchIterator(set: data.train, seed: setup.seed, augmentation: setup.augmentation)
    }

    public var epoch: Int { iterator.epoch }
    public var stepsPerEpoch: Int { (data.train.count + hyper.batchSize - 1) / hyper.batchSize }
    public var learningRate: Float { hyper.schedule.rate(at: step) }
    public var dataPosition: BatchIterator.Position { iterator.position }

    // MARK: the step

    /// Forward, backward and update on the next batch.
    public func trainStep() throws -> StepResult {
        let mode = sl_flush_to_zero_begin()   // this thread; the parallel loops set their own
        defer { sl_flush_to_zero_end(mode) }
        let start = DispatchTime.now().uptimeNanoseconds
        let n = hyper.batchSize
        let shape = Shape(channels: setup.model.inputChannels, batch: n, height: setup.model.inputHeight, width: setup.model.inputWidth)
        images.ensure(count: shape.count)
        if labels.count < n { labels = [Int32](repeating: 0, count: n) }   // grow only: training and evaluation alternate
        labels.withUnsafeMutableBufferPointer { l in _ = iterator.next(batchSize: n, images: images.buffer, labels: l) }

        let features = network.forwardBody(Activation(images, shape), training: true)
        let (loss, correct) = try headForward(features, batch: n, training: true)
        let lr = learningRate
        // A non-finite loss or gradient leaves the weights as they were: the run is reported
        // diverged (loss NaN/Inf) and the step does not count.
        func diverged(_ value: Double) -> StepResult {
            StepResult(step: step, epoch: iterator.epoch, loss: value, regularization: 0, accuracy: 0, learningRate: lr,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, batchSize: n)
        }
        guard loss.isFinite else { return diverged(loss) }
        network.scoreWeight.grad.zero()
        try headBackward(batch: n)
        network.backwardBody(Activation(featureGrad, features.shape))

        var regularization = orthogonality.apply(to: network.sphereCapable)
        let parameters = trainable ?? network.parameters
        trainable = parameters
        guard Trainer.gradientsAreFinite(parameters) else { return diverged(.infinity) }
        regularization += optimizer.decayLoss(parameters)
        optimizer.step(parameters, learningRate: lr)
        step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return StepResult(step: step, epoch: iterator.epoch, loss: loss, regularization: regularization,
                          accuracy: Double(correct) / Double(n), learningRate: lr, seconds: seconds, batchSize: n)
    }

    /// One pass over the gradients (≈ a quarter million values for the default net): a sum is
    /// finite only if every term is.
    static func gradientsAreFinite(_ parameters: [Parameter]) -> Bool {
        for p in parameters {
            let g = p.grad.pointer
            var sum: Float = 0
            for i in 0..<p.count { sum += g[i] * 0 }   // 0·x is NaN exactly when x is NaN or ±∞
            if !sum.isFinite { return false }
        }
        return true
    }

    /// Transposes features (D, N) into rows (N, D) and runs the score head.
    private func headForward(_ features: Activation, batch n: Int, training: Bool) throws -> (Double, Int) {
        let d = network.featureDimension, c = setup.model.classes
        featureRows.ensure(count: n * d)
        logits.ensure(count: n * c)
        let src = features.buffer.pointer, rows = featureRows.pointer
        for j in 0..<d { for i in 0..<n { rows[i * d + j] = src[j * n + i] } }
        do {
            return try labels.withUnsafeBufferPointer { l in
                try head.forward(features: rows, weights: network.scoreWeight.value.pointer, labels: l.baseAddress!,
                                 batch: n, training: training, logits: logits.pointer)
            }
        } catch { throw EngineError("score head: \(error)") }
    }

    private func headBackward(batch n: Int) throws {
        let d = network.featureDimension
        featureGradRows.ensure(count: n * d)
        featureGrad.ensure(count: n * d)
        do {
            try head.backward(features: featureRows.pointer, weights: network.scoreWeight.value.pointer, batch: n,
                              dFeatures: featureGradRows.pointer, dWeights: network.scoreWeight.grad.pointer)
        } catch { throw EngineError("score head: \(error)") }
        let rows = featureGradRows.pointer, dst = featureGrad.pointer
        for j in 0..<d { for i in 0..<n { dst[j * n + i] = rows[i * d + j] } }
    }

    // MARK: evaluation

    /// Accuracy and loss on the test set (eval-mode BN); optionally also with train-mode BN
    /// (batch statistics, running averages left untouched).
    public func evaluate(limit: Int? = nil, trainModeBatchNorm: Bool = false) throws -> EvaluationResult {
        let mode = sl_flush_to_zero_begin()
        defer { sl_flush_to_zero_end(mode) }
        let start = DispatchTime.now().uptimeNanoseconds
        let test = data.test
        let total = min(test.count, limit ?? setup.evaluationLimit ?? test.count)
        var lossSum = 0.0, correct = 0, trainModeCorrect = 0
        var first = 0
        let batchNorms = network.layers.flatMap(Trainer.batchNorms)
        while first < total {
            let n = min(Trainer.evaluationBatch, total - first)
            let shape = Shape(channels: test.channels, batch: n, height: test.height, width: test.width)
            images.ensure(count: shape.count)
            if labels.count < n { labels = [Int32](repeating: 0, count: n) }   // grow only: training and evaluation alternate
            labels.withUnsafeMutableBufferPointer { l in
                fillSequentialBatch(from: test, start: first, count: n, images: images.buffer, labels: l)
            }
            let f = network.forwardBody(Activation(images, shape), training: false)
            let (loss, hits) = try headForward(f, batch: n, training: false)
            lossSum += loss * Double(n)
            correct += hits
            if trainModeBatchNorm {
                for bn in batchNorms { bn.freezesStatistics = true }
                defer { for bn in batchNorms { bn.freezesStatistics = false } }
                let g = network.forwardBody(Activation(images, shape), training: true)
                trainModeCorrect += try headForward(g, batch: n, training: false).1
            }
            first += n
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return EvaluationResult(step: step, accuracy: Double(correct) / Double(max(total, 1)), loss: lossSum / Double(max(total, 1)),
                                examples: total, trainModeAccuracy: trainModeBatchNorm ? Double(trainModeCorrect) / Double(max(total, 1)) : nil,
                                seconds: seconds)
    }

    static func batchNorms(_ layer: Layer) -> [BatchNorm2D] {
        if let bn = layer as? BatchNorm2D { return [bn] }
        if let unit = layer as? ResidualUnit { return unit.children.compactMap { $0 as? BatchNorm2D } }
        return []
    }

    /// Kernel-angle statistics of every SphereConv-capable layer from the last forward pass.
    public func angleStatistics() -> [LayerAngles] {
        network.sphereCapable.compactMap { probe.measure($0, step: step) }
    }

    // MARK: live changes (between steps)

    public func setVariant(_ v: ConvVariant) {
        hyper.variant = v
        network.setVariant(v)
        trainable = nil   // learnable k joins or leaves the trained set
    }

    public func setLearningRate(_ lr: Float) throws {
        guard lr.isFinite, lr > 0, lr <= 10 else { throw EngineError("learning rate \(lr) must be in (0, 10]") }
        hyper.schedule.setRate(lr, at: step)
    }

    public func setOptimizer(_ kind: OptimizerKind) throws {
        var h = hyper; h.optimizer = kind; try h.validate()
        hyper = h
        optimizer.reset(kind: kind)
    }

    public func setWeightDecay(_ wd: Float) throws {
        var h = hyper; h.weightDecay = wd; try h.validate()
        hyper = h; optimizer.weightDecay = wd
    }

    public func setOrthogonality(_ w: Float) throws {
        var h = hyper; h.orthogonality = w; try h.validate()
        hyper = h; orthogonality.weight = w
    }

    public func setHead(_ kind: HeadKind, crossEntropy: CrossEntropyOptions) throws {
        var h = hyper; h.head = kind; h.crossEntropy = crossEntropy; try h.validate()
        do { try head.setKind(kind); try head.setOptions(crossEntropy) } catch { throw EngineError("score head: \(error)") }
        hyper = h
    }

    public func setBatchSize(_ n: Int) throws {
        var h = hyper; h.batchSize = n; try h.validate()
        hyper = h
    }

    public func setEvalEvery(_ n: Int) throws {
        var h = hyper; h.evalEvery = n; try h.validate()
        hyper = h
    }

    public func setStatsEvery(_ n: Int) throws {
        var h = hyper; h.statsEvery = n; try h.validate()
        hyper = h
    }

    /// Restores the position in the run (from a snapshot).
    public func restore(step: Int, position: BatchIterator.Position) throws {
        guard step >= 0 else { throw EngineError("negative step \(step)") }
        do { try iterator.restore(position) } catch { throw EngineError("data position: \(error)") }
        self.step = step
    }
}
