import Testing
import Foundation
import Engine
@testable import SphereLabApp

/// The trainer runs on its queue while the "UI" hammers it with commands and reads telemetry
/// as fast as it can. Run under `swift test --sanitize=thread` (make test does) to prove the
/// hand-over is race-free; without the sanitizer it still checks the commands take effect.
@Suite struct ControllerStressTests {
    @Test func trainingWhileCommandsArriveAtAHighRate() throws {
        let datasets = try makeTinyDatasets(train: 64, test: 16)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        var request = tinyRequest(datasets: datasets, variant: .cosine)
        request.hyper.evalEvery = 3
        request.hyper.statsEvery = 2
        let controller = TrainingController(session: try request.open().session)
        controller.start()
        let commands: [TrainerCommand] = [
            .togglePause, .scaleLearningRate(2), .setVariant(.linear), .stepOnce, .togglePause, .scaleLearningRate(0.5),
            .setVariant(.learnableSigmoid), .evaluateNow, .setOrthogonality(2e-4), .setWeightDecay(1e-4),
            .setOptimizer(.sgd(momentum: 0.8)), .setOptimizer(.adamDefault), .setBatchSize(4), .setBatchSize(8),
            .setHead(.weightNormalized, .plain, label: "w-softmax"), .setHead(.linear, .authors, label: "softmax-authors"), .setTrainModeEvaluation(true),
            .log("hello", .info), .setVariant(.conv), .setVariant(.sigmoid(k: 0.3)), .resume,
        ]
        let deadline = Date().addingTimeInterval(4)
        var sent = 0, reads = 0, lastSequence = -1
        while Date() < deadline || controller.telemetry.step < 3 {
            controller.send(commands[sent % commands.count])
            sent += 1
            let t = controller.telemetry
            #expect(t.sequence >= lastSequence)   // telemetry only moves forward
            lastSequence = t.sequence
            reads += t.trainLoss.count >= 0 ? 1 : 0
            controller.perform { session in _ = session.step }   // tasks interleave too
            if Date().timeIntervalSince(deadline) > 60 { break }
        }
        controller.send(.resume)
        controller.send(.quit)
        #expect(controller.waitUntilStopped(timeoutSeconds: 60))
        let final = controller.telemetry
        #expect(controller.hasStopped)
        #expect(final.step >= 3, "the trainer made no progress under the command storm")
        #expect(final.events.contains { $0.text.contains("variant → linear") })
        #expect(final.events.contains { $0.text.contains("learning rate →") })
        #expect(sent > 100 && reads > 100)
    }

    @Test func divergenceStopsTheRunWithoutUpdatingWeights() throws {
        let datasets = try makeTinyDatasets(train: 32, test: 8)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        var request = tinyRequest(datasets: datasets, variant: .conv)
        request.hyper.schedule = LearningRateSchedule(base: 10)   // absurd: diverges within steps
        request.hyper.optimizer = .sgd(momentum: 0.9)
        request.hyper.weightDecay = 0
        let controller = TrainingController(session: try request.open().session)
        controller.start()
        let deadline = Date().addingTimeInterval(60)
        while controller.telemetry.state != .diverged && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let t = controller.telemetry
        #expect(t.state == .diverged)
        #expect(t.events.last?.text.contains("lower the learning rate") == true)
        #expect(t.trainLoss.allSatisfy { $0.value.isFinite })
        let stepAtDivergence = t.step
        Thread.sleep(forTimeInterval: 0.3)
        #expect(controller.telemetry.step == stepAtDivergence)   // stays stopped until resumed
        controller.send(.quit)
        #expect(controller.waitUntilStopped(timeoutSeconds: 30))
    }
}
