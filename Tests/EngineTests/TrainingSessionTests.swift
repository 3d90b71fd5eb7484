import Testing
import Foundation
@testable import Engine

/// A deterministic in-memory training stream: example i has every pixel (i mod 7 − 3)/4 and
/// label i mod classes, visited in order; the position is the index.
struct FakeBatches: BatchSource {
    let format: ImageFormat
    let count: Int
    private(set) var epoch = 0
    private var index = 0

    init(format: ImageFormat, count: Int) { self.format = format; self.count = count }

    var position: DataPosition { DataPosition(seed: 0, epoch: epoch, index: index, rng: [1, 2, 3, 4]) }

    mutating func restore(_ p: DataPosition) throws {
        guard p.epoch >= 0, (0..<count).contains(p.index) else { throw EngineError("position \(p.index) outside 0..<\(count)") }
        epoch = p.epoch; index = p.index
    }

    mutating func next(batchSize: Int, images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>) {
        let plane = format.height * format.width
        for n in 0..<batchSize {
            let i = index
            for c in 0..<format.channels {
                let base = (c * batchSize + n) * plane
                for p in 0..<plane { images[base + p] = Float((i + p) % 7 - 3) / 4 }
            }
            labels[n] = Int32(i % format.classes)
            index += 1
            if index == count { index = 0; epoch += 1 }
        }
    }
}

struct FakeExamples: ExampleSource {
    let format: ImageFormat
    let count: Int
    func fill(start: Int, count: Int, images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>) {
        var source = FakeBatches(format: format, count: self.count)
        try? source.restore(DataPosition(seed: 0, epoch: 0, index: start, rng: []))
        source.next(batchSize: count, images: images, labels: labels)
    }
}

func tinySession(evalEvery: Int = 2, statsEvery: Int = 3) throws -> TrainingSession {
    let model = ModelSpec(architecture: .sphereNet, width: 0.0625, depthPerStage: 1, inputChannels: 1, inputHeight: 8, inputWidth: 8, classes: 4)
    let format = ImageFormat(channels: 1, height: 8, width: 8, classes: 4)
    var hyper = Hyperparameters()
    hyper.batchSize = 2
    hyper.evalEvery = evalEvery
    hyper.statsEvery = statsEvery
    let trainer = try Trainer(model: model, seed: 3, hyper: hyper, training: FakeBatches(format: format, count: 10),
                              test: FakeExamples(format: format, count: 6))
    return try TrainingSession(trainer: trainer, labels: RunLabels(runName: "tiny", dataset: "fake", model: model.displayName))
}

/// A compact name for each event, so a whole sequence reads as one line.
func tag(_ e: SessionEvent) -> String {
    switch e {
    case .stepFinished(let r): return "step\(r.step)"
    case .evaluationStarted(let s, _): return "eval?\(s)"
    case .evaluationFinished(let r): return "eval\(r.step)"
    case .statisticsMeasured(let s): return "stats\(s)"
    case .diverged(let s, _): return "diverged\(s)"
    case .failed: return "failed"
    case .saveDue(let s): return "save\(s)"
    case .finished(let s): return "end\(s)"
    case .logged(let e): return e.marker.map { "mark:\($0)" } ?? "log"
    }
}

@Suite struct TrainingSessionTests {
    @Test func eventsFollowTheSchedule() throws {
        let session = try tinySession(evalEvery: 2, statsEvery: 3)
        session.saveEvery = 2
        try session.run(steps: 5)
        var tags: [String] = []
        var rounds = 0
        while session.state == .running && rounds < 100 {
            tags += session.advance().map(tag)
            rounds += 1
        }
        // Statistics after the first step (nothing measured yet) and at steps divisible by 3, evaluations every 2 steps and at the end (each its
        // own unit of work, after the step), saves after the evaluation of their step, the end last.
        #expect(tags.joined(separator: " ") == [
            "step1", "stats1",
            "step2", "eval?2", "log", "eval2", "save2",
            "step3", "stats3",
            "step4", "eval?4", "log", "eval4", "save4",
            "step5", "eval?5", "log", "eval5", "log", "end5",
        ].joined(separator: " "))
        #expect(session.state == .finished)
        #expect(session.history.trainLoss.total == 5)
        #expect(session.history.testAccuracy.points.map(\.step) == [2, 4, 5])
        #expect(session.advance().isEmpty)   // nothing more to do
        #expect(!session.wantsWork)
    }

    @Test func commandsAreLoggedWithChartMarkers() throws {
        let session = try tinySession()
        let markers = [TrainerCommand.scaleLearningRate(2), .setVariant(.linear), .setOptimizer(.sgdDefault),
                       .setHead(.weightNormalized, .plain, label: "w-softmax"), .scaleLearningRate(0.1)]
            .flatMap { session.apply($0) }.compactMap { e -> String? in
                if case .logged(let l) = e { return l.marker }
                return nil
            }
        #expect(markers == ["lr×2", "→linear", "sgd", "w-softmax", "lr÷10"])
        // A refused value changes nothing and says why, with the setting's one message.
        let refusal = session.apply(.setLearningRate(50))
        guard case .logged(let e)? = refusal.first else { Issue.record("no log line"); return }
        #expect(e.level == .warning && e.text == "refused: learning rate 50.0 is out of range (0.0, 10.0]")
        #expect(session.history.events.filter { $0.marker != nil }.count == 5)
    }

    @Test func pausedSessionStepsOnlyWhenAsked() throws {
        let session = try tinySession(evalEvery: 0)
        session.apply(.pause)
        #expect(session.advance().isEmpty)
        session.apply(.stepOnce)
        #expect(session.advance().map(tag).first == "step1")
        #expect(session.advance().isEmpty)
        session.apply(.evaluateNow)
        #expect(session.advance().map(tag) == ["eval?1", "log", "eval1"])
    }

    @Test func stepLimitsAreCheckedNotTrapped() throws {
        let session = try tinySession()
        #expect(throws: EngineError.self) { try session.run(steps: Int.max) }
        #expect(throws: EngineError.self) { try session.run(steps: 0) }
    }

    @Test func aLayerThatWritesOverAnOutputItsProducerNeedsIsRefused() throws {
        let ws = Workspace()
        let conv = Conv2D(name: "features.0", inChannels: 1, outChannels: 2, kernel: 3, padding: 1, variant: .cosine, workspace: ws)
        let relu = ReLU(name: "features.1")
        let bn = BatchNorm2D(name: "features.1", channels: 2, statistics: .pytorch)
        #expect { try BufferUse.check([conv, relu]) } throws: { e in
            "\(e)".contains("features.1 writes its output over features.0's")
        }
        try BufferUse.check([conv, bn, relu])
    }
}

@Suite struct ConfusionCountTests {
    @Test func evaluationCountsEveryTestImageOnce() throws {
        let session = try tinySession(evalEvery: 2)
        _ = session.advance(); _ = session.advance()
        let e = try session.trainer.evaluate()
        let c = try #require(e.confusion)
        #expect(c.classes == 4 && c.counts.count == 16)
        #expect(c.counts.reduce(0, +) == e.examples)
        // The diagonal is what the accuracy counted.
        let diagonal = (0..<4).map { c.counts[$0 * 4 + $0] }.reduce(0, +)
        #expect(abs(Double(diagonal) / Double(e.examples) - e.accuracy) < 1e-12)
        // Labels are i mod 4 over 6 examples: classes 0 and 1 have two images, 2 and 3 one.
        #expect((0..<4).map { c.row($0).reduce(0, +) } == [2, 2, 1, 1])
        // A second evaluation starts from zero rather than adding up.
        let again = try #require(try session.trainer.evaluate().confusion)
        #expect(again == c)
        // The session hands the latest counts to the UI.
        while !session.advance().contains(where: { if case .evaluationFinished = $0 { return true }; return false }) {}
        #expect(session.telemetry().confusion?.counts.reduce(0, +) == 6)
    }
}
