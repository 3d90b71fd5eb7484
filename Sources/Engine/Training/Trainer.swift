import Foundation
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
    /// Per-class counts of the evaluation (eval-mode BN), or nil when not counted.
    public var confusion: ConfusionCounts?
}

/// A confusion matrix: `counts[t * classes + p]` test images of true class t predicted as p.
public struct ConfusionCounts: Sendable, Equatable, Codable {
    public var classes: Int
    public var counts: [Int]
    public init(classes: Int, counts: [Int]) { self.classes = classes; self.counts = counts }

    /// Row `t` (true class t) as predicted-class counts.
    public func row(_ t: Int) -> ArraySlice<Int> { counts[(t * classes)..<((t + 1) * classes)] }

    /// Fraction of class t's images predicted right (nil when the class had none).
    public func accuracy(ofClass t: Int) -> Double? {
        let total = row(t).reduce(0, +)
        return total > 0 ? Double(counts[t * classes + t]) / Double(total) : nil
    }

    /// The matrix as rows, for drawing.
    public var rows: [[Int]] { (0..<classes).map { Array(row($0)) } }
}

/// Trains one network on one data stream. Owns the model, optimizer, data stream and every
/// buffer; not thread-safe by design — a `TrainingSession` owns it, and every front end
/// drives that session on one queue at a time.
public final class Trainer {
    public let model: ModelSpec
    public let seed: UInt64
    /// Test examples per evaluation (nil: the whole test set).
    public let evaluationLimit: Int?
    public let network: Network
    public private(set) var hyper: Hyperparameters
    public let optimizer: Optimizer
    let orthogonality: OrthogonalityPenalty
    private var head: ScoreHead<Float>
    private var training: any BatchSource
    private let test: any ExampleSource
    public private(set) var step = 0
    private let probe = AngleProbe()
    /// Whether training steps sample patches for `angleStatistics()` (a few hundred values per
    /// layer). A session turns it on for the steps whose statistics it reports; on by default.
    public var capturesAngles = true {
        didSet { applyAngleCapture() }
    }

    private func applyAngleCapture() {
        for conv in network.sphereCapable { conv.angleSamplePositions = capturesAngles ? probe.samplePositions : 0 }
    }


    // Step buffers, sized once per batch size, in the network's workspace (shared with the
    // other runs of a race: nothing in them outlives a step or an evaluation).
    private let images: FloatBuffer             // (C, N, H, W)
    private var labels: [Int32] = []            // (≥ N); the first N are the batch's
    /// The parameters trained at the current variants, rebuilt only when a variant changes.
    private var trainable: [Parameter]?
    private let featureRows: FloatBuffer        // (N, D) features as the head wants them
    private let featureGradRows: FloatBuffer    // (N, D)
    private let featureGrad: FloatBuffer        // (D, N, 1, 1) back in the channel-major layout
    private let logits: FloatBuffer             // (N, C)
    /// Confusion counts of the running evaluation, (C, C) true × predicted; allocated once.
    private var confusion: [Int]
    /// Every BatchNorm running mean/var and num_batches_tracked, and their values before the
    /// current step (one buffer, sized once): a diverged step's forward pass already moved
    /// them, and they are put back so "weights kept as before this step" holds for buffers too.
    private lazy var stateBuffers: [StateBuffer] = network.stateBuffers
    private let stateBackup = FloatBuffer()

    /// Builds the network from `model` and `seed` and takes the data streams over.
    public init(model: ModelSpec, seed: UInt64, hyper: Hyperparameters, training: any BatchSource,
                test: any ExampleSource, evaluationLimit: Int? = nil, workspace: Workspace = Workspace(),
                reusesActivations: Bool = Network.reusesActivationsByDefault) throws {
        try hyper.validate()
        let expected = ImageFormat(channels: model.inputChannels, height: model.inputHeight, width: model.inputWidth, classes: model.classes)
        for (role, format) in [("training", training.format), ("test", test.format)] where format != expected {
            throw EngineError("the model expects \(expected); the \(role) data has \(format)")
        }
        if let limit = evaluationLimit, limit < 1 { throw EngineError("evaluation limit \(limit) must be at least 1") }
        self.model = model
        self.seed = seed
        self.evaluationLimit = evaluationLimit
        self.training = training
        self.test = test
        self.hyper = hyper
        network = try Network(spec: model, variant: hyper.variant, seed: seed, workspace: workspace, reusesActivations: reusesActivations)
        images = workspace.buffer("trainer", "images")
        featureRows = workspace.buffer("trainer", "featureRows")
        featureGradRows = workspace.buffer("trainer", "featureGradRows")
        featureGrad = workspace.buffer("trainer", "featureGrad")
        logits = workspace.buffer("trainer", "logits")
        optimizer = Optimizer(kind: hyper.optimizer, weightDecay: hyper.weightDecay)
        orthogonality = OrthogonalityPenalty(weight: hyper.orthogonality)
        confusion = [Int](repeating: 0, count: model.classes * model.classes)
        do {
            head = try ScoreHead<Float>(kind: hyper.head, options: hyper.crossEntropy,
                                        maxBatch: Hyperparameters.batchSizeRange.upperBound,
                                        features: network.featureDimension, classes: model.classes)
        } catch { throw EngineError("score head: \(error)") }
        applyAngleCapture()
    }

    public var epoch: Int { training.epoch }
    public var stepsPerEpoch: Int { (training.count + hyper.batchSize - 1) / hyper.batchSize }
    public var learningRate: Float { hyper.schedule.rate(at: step) }
    public var dataPosition: DataPosition { training.position }
    /// Examples one evaluation reads.
    public var evaluationExamples: Int { min(test.count, evaluationLimit ?? test.count) }

    // MARK: the step

    /// Forward, backward and update on the next batch.
    public func trainStep() throws -> StepResult {
        let mode = sl_flush_to_zero_begin()   // this thread; the parallel loops set their own
        defer { sl_flush_to_zero_end(mode) }
        let start = DispatchTime.now().uptimeNanoseconds
        let n = hyper.batchSize
        let shape = Shape(channels: model.inputChannels, batch: n, height: model.inputHeight, width: model.inputWidth)
        images.ensure(count: shape.count)
        if labels.count < n { labels = [Int32](repeating: 0, count: n) }   // grow only: training and evaluation alternate
        labels.withUnsafeMutableBufferPointer { l in training.next(batchSize: n, images: images.buffer, labels: l) }

        saveStateBuffers()
        let features = network.forwardBody(Activation(images, shape), training: true)
        let (loss, correct) = try headForward(features, batch: n, training: true)
        let lr = learningRate
        // A non-finite loss or gradient leaves the weights as they were: the run is reported
        // diverged (loss NaN/Inf) and the step does not count.
        func diverged(_ value: Double) -> StepResult {
            restoreStateBuffers()
            return StepResult(step: step, epoch: training.epoch, loss: value, regularization: 0, accuracy: 0, learningRate: lr,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, batchSize: n)
        }
        guard loss.isFinite else { return diverged(loss) }
        // One gradient rule: zeroed here, then every contribution (score head, layers,
        // orthogonality) is added in.
        let parameters = trainable ?? network.parameters
        trainable = parameters
        for p in parameters { p.grad.zero() }
        try headBackward(batch: n)
        network.backwardBody(Activation(featureGrad, features.shape))

        var regularization = orthogonality.apply(to: network.sphereCapable)
        guard Trainer.gradientsAreFinite(parameters) else { return diverged(.infinity) }
        regularization += optimizer.decayLoss(parameters)
        optimizer.step(parameters, learningRate: lr)
        step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return StepResult(step: step, epoch: training.epoch, loss: loss, regularization: regularization,
                          accuracy: Double(correct) / Double(n), learningRate: lr, seconds: seconds, batchSize: n)
    }

    /// Copies the BatchNorm buffers aside (no allocation after the first step).
    private func saveStateBuffers() {
        let buffers = stateBuffers
        var total = 0
        for b in buffers { total += b.value.count }
        stateBackup.ensure(count: total)
        var offset = 0
        let backup = stateBackup.pointer
        for b in buffers {
            (backup + offset).update(from: b.value.pointer, count: b.value.count)
            offset += b.value.count
        }
    }

    /// Puts the buffers back as `saveStateBuffers` found them.
    private func restoreStateBuffers() {
        var offset = 0
        let backup = stateBackup.pointer
        for b in stateBuffers {
            b.value.pointer.update(from: backup + offset, count: b.value.count)
            offset += b.value.count
        }
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
        let d = network.featureDimension, c = model.classes
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
    ///
    /// The test set goes through in chunks of at most the training batch size, through the
    /// same layer buffers and workspace as training, so an evaluation never makes a buffer
    /// larger than a training step does (peak memory is the training step's). The chunks are
    /// as equal as they can be (10 000 images at batch 128: 79 chunks of 126–127), because
    /// train-mode BN normalises each chunk by its own statistics: that accuracy means "each
    /// test image normalised by the statistics of a batch of about the training batch's size",
    /// and an equal split keeps a small remainder (even one image, whose statistics would be
    /// degenerate) from ever forming a batch of its own. Eval-mode results are per image and
    /// do not depend on the chunking (`chunk` exists so tests can show that).
    public func evaluate(limit: Int? = nil, trainModeBatchNorm: Bool = false) throws -> EvaluationResult {
        try evaluate(limit: limit, trainModeBatchNorm: trainModeBatchNorm, chunk: hyper.batchSize)
    }

    func evaluate(limit: Int?, trainModeBatchNorm: Bool, chunk: Int) throws -> EvaluationResult {
        let mode = sl_flush_to_zero_begin()
        defer { sl_flush_to_zero_end(mode) }
        let start = DispatchTime.now().uptimeNanoseconds
        let total = min(test.count, limit ?? evaluationLimit ?? test.count)
        let format = test.format
        var lossSum = 0.0, correct = 0, trainModeCorrect = 0
        let batchNorms = network.layers.flatMap(Trainer.batchNorms)
        let classes = model.classes
        for i in confusion.indices { confusion[i] = 0 }
        let chunks = Trainer.equalChunks(total: total, atMost: max(1, min(chunk, Hyperparameters.batchSizeRange.upperBound)))
        var first = 0
        for index in 0..<chunks.count {
            let n = chunks.size(index)
            let shape = Shape(channels: format.channels, batch: n, height: format.height, width: format.width)
            images.ensure(count: shape.count)
            if labels.count < n { labels = [Int32](repeating: 0, count: n) }   // grow only: training and evaluation alternate
            labels.withUnsafeMutableBufferPointer { l in
                test.fill(start: first, count: n, images: images.buffer, labels: l)
            }
            let f = network.forwardBody(Activation(images, shape), training: false)
            let (loss, hits) = try headForward(f, batch: n, training: false)
            lossSum += loss * Double(n)
            correct += hits
            countConfusion(batch: n, classes: classes)
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
                                seconds: seconds, confusion: ConfusionCounts(classes: classes, counts: confusion))
    }

    /// `total` items split into the fewest chunks of at most `atMost`, sizes differing by at
    /// most one (the first `total % count` chunks are one larger).
    struct EqualChunks: Equatable {
        let total: Int, count: Int
        func size(_ i: Int) -> Int { total / count + (i < total % count ? 1 : 0) }
    }

    static func equalChunks(total: Int, atMost: Int) -> EqualChunks {
        EqualChunks(total: total, count: total == 0 ? 0 : (total + atMost - 1) / atMost)
    }

    /// Adds the batch's (label, argmax of logits) pairs to `confusion`. No allocation.
    private func countConfusion(batch n: Int, classes c: Int) {
        let z = UnsafePointer(logits.pointer)
        confusion.withUnsafeMutableBufferPointer { counts in
            labels.withUnsafeBufferPointer { l in
                for i in 0..<n {
                    let t = Int(l[i])
                    guard t >= 0, t < c else { continue }
                    counts[t * c + CrossEntropy.argmax(z + i * c, c)] += 1
                }
            }
        }
    }

    static func batchNorms(_ layer: Layer) -> [BatchNorm2D] {
        if let bn = layer as? BatchNorm2D { return [bn] }
        if let unit = layer as? ResidualUnit { return unit.children.compactMap { $0 as? BatchNorm2D } }
        return []
    }

    /// Kernel-angle statistics of every SphereConv-capable layer from the last training step
    /// that captured them (`capturesAngles`).
    /// Empty when another network sharing the workspace has computed since (a race measures
    /// each run right after its own step).
    public func angleStatistics() -> [LayerAngles] {
        guard network.holdsWorkspace else { return [] }
        return network.sphereCapable.compactMap { probe.measure($0, step: step) }
    }

    // MARK: live changes (between steps)

    public func setVariant(_ v: ConvVariant) {
        hyper.variant = v
        network.setVariant(v)
        trainable = nil   // learnable k joins or leaves the trained set
    }

    public func setLearningRate(_ lr: Float) throws {
        hyper.schedule.setRate(try Settings.learningRate.check(lr), at: step)
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
    public func restore(step: Int, position: DataPosition) throws {
        guard step >= 0 else { throw EngineError("negative step \(step)") }
        do { try training.restore(position) } catch { throw EngineError("data position: \(error)") }
        self.step = step
    }
}
