import Foundation
import Engine
import TUI

/// What drawing the workbench costs the trainer: the same training run through the
/// `TrainingController` twice — once with nobody watching, once with the UI thread reading
/// telemetry and rendering full 100×30 frames into an off-screen grid at the workbench's
/// frame rate — alternating to cancel drift, comparing training images/second.
public struct UIOverheadBenchmark {
    public struct Result: Sendable {
        public var plainImagesPerSecond: Double
        public var withUIImagesPerSecond: Double
        public var framesDrawn: Int
        public var meanFrameMilliseconds: Double
        public var overheadPercent: Double { 100 * (1 - withUIImagesPerSecond / plainImagesPerSecond) }
    }

    public var steps = 20
    public var rounds = 2
    public var benchmark = Benchmark()
    public init() {}

    public func run(_ c: Benchmark.Configuration, variant: ConvVariant) throws -> Result {
        var plain: [Double] = [], withUI: [Double] = []
        var frames = 0, frameSeconds = 0.0
        for _ in 0..<rounds {
            plain.append(try measure(c, variant: variant, drawing: false).0)
            let (speed, f, s) = try measure(c, variant: variant, drawing: true)
            withUI.append(speed); frames += f; frameSeconds += s
        }
        return Result(plainImagesPerSecond: Benchmark.median(plain), withUIImagesPerSecond: Benchmark.median(withUI),
                      framesDrawn: frames, meanFrameMilliseconds: frames > 0 ? 1000 * frameSeconds / Double(frames) : 0)
    }

    /// Images/second over `steps` steps after 3 warm-up steps, as the trainer reports them.
    func measure(_ c: Benchmark.Configuration, variant: ConvVariant, drawing: Bool) throws -> (Double, Int, Double) {
        let warmup = 3
        let run = try benchmark.makeRun(c, variant: variant, totalSteps: warmup + steps)
        let controller = TrainingController(session: run.session)
        controller.start()
        var state = AppState(telemetry: controller.telemetry)
        var frames = 0, frameSeconds = 0.0
        var startTime: Double?
        var startStep = 0
        let frame = Double(WorkbenchRunner.frameMilliseconds) / 1000
        while true {
            let t = controller.telemetry
            if startTime == nil, t.step >= warmup { startTime = Date().timeIntervalSinceReferenceDate; startStep = t.step }
            if t.state == .finished || t.step >= warmup + steps { break }
            if drawing {
                let begin = Date().timeIntervalSinceReferenceDate
                _ = state.update(.telemetry(t))
                let grid = WorkbenchView.render(state, width: 100, height: 30)
                precondition(grid.width == 100)
                frameSeconds += Date().timeIntervalSinceReferenceDate - begin
                frames += 1
            }
            Thread.sleep(forTimeInterval: drawing ? frame : 0.005)
        }
        let end = Date().timeIntervalSinceReferenceDate
        let stepsDone = controller.telemetry.step - startStep
        controller.send(.quit)
        controller.waitUntilStopped()
        let seconds = end - (startTime ?? end)
        return (seconds > 0 ? Double(stepsDone * benchmark.batch) / seconds : 0, frames, frameSeconds)
    }
}
