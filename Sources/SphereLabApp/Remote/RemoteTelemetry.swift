import Foundation
import Engine

/// Builds the workbench's `Telemetry` from a job's channel messages: the same history, events,
/// angles and state a local `TrainingSession` publishes, so the workbench draws a remote run
/// exactly as its own. A pure value: the remote driver feeds it messages on its reader thread.
public struct RemoteTelemetry: Sendable {
    public private(set) var telemetry = Telemetry()
    public private(set) var info = RemoteRunInfo()
    /// Compute seconds summed over the step and eval messages (the charts' time axis).
    private var elapsed = 0.0

    public init() {}

    /// Starts over from a `hello`: the job replays its whole history next.
    public mutating func begin(_ hello: RemoteRunInfo) {
        info = hello
        var t = Telemetry()
        t.runName = hello.runName
        t.dataset = hello.dataset
        t.model = hello.model + (hello.worldSize > 1 || !hello.backend.isEmpty
            ? " · \(hello.worldSize)×\(hello.device.isEmpty ? "?" : hello.device) \(hello.backend)" : "")
        t.modelSpec = hello.modelSpec
        t.angleLayers = hello.layers
        t.stepsPerEpoch = hello.stepsPerEpoch
        t.totalSteps = hello.totalSteps
        if let b = hello.batchSize { t.hyper.batchSize = b }
        t.state = .paused
        t.sequence = telemetry.sequence + 1
        telemetry = t
        elapsed = 0
    }

    /// Marks the picture as (dis)connected; returns the state shown.
    public mutating func setDisconnected(_ gone: Bool, lastKnown: RunState) {
        if gone {
            if telemetry.state != .finished { telemetry.state = .disconnected }
        } else {
            telemetry.state = lastKnown
        }
        telemetry.sequence += 1
    }

    /// Adds a line to the event log (the client's own notes: connection lost, command failed).
    public mutating func note(_ text: String, level: RunEvent.Level = .info) {
        telemetry.history.log(RunEvent(step: telemetry.step, level: level, text: text))
        telemetry.sequence += 1
    }

    /// Applies one message. Returns the run state it reported, if it was a `state` message.
    @discardableResult
    public mutating func apply(_ message: ServerMessage) -> RunState? {
        var reported: RunState?
        switch message {
        case .hello(let h): begin(h)
        case .state(let s):
            telemetry.state = s.state
            reported = s.state
            telemetry.step = s.step
            if let e = s.epoch, e >= 0 { telemetry.epoch = e }
            if let lr = s.learningRate, lr.isFinite { telemetry.learningRate = Float(lr) }
            if let h = s.hyper {
                let batch = telemetry.hyper.batchSize
                telemetry.hyper = h
                if h.batchSize <= 0 { telemetry.hyper.batchSize = batch }
            } else if let v = s.variant, let parsed = try? ConvVariant(parsing: v) {
                telemetry.hyper.variant = parsed
            }
        case .step(let s):
            if let sec = s.seconds, sec.isFinite, sec >= 0 { elapsed += sec }
            let seconds: Double? = s.replayed && s.seconds == nil ? nil : elapsed
            // A series only moves forward: a repeated or older step (a replay overlapping a
            // live message) is skipped rather than drawn twice.
            if (telemetry.history.trainLoss.points.last?.step ?? -1) < s.step {
                telemetry.history.trainLoss.append(MetricPoint(step: s.step, value: s.loss, seconds: seconds))
                telemetry.history.trainAccuracy.append(MetricPoint(step: s.step, value: s.accuracy, seconds: seconds))
            }
            telemetry.step = max(telemetry.step, s.step)
            if let e = s.epoch, e >= 0 { telemetry.epoch = e }
            if let lr = s.learningRate, lr.isFinite { telemetry.learningRate = Float(lr) }
            if let ips = s.imagesPerSecond, ips.isFinite, ips >= 0 { telemetry.imagesPerSecond = ips }
            if s.loss.isNaN && !s.replayed { telemetry.state = .diverged }
        case .eval(let e):
            if let sec = e.seconds, sec.isFinite, sec >= 0 {
                elapsed += sec
                telemetry.evaluationSecondsEach = sec
            }
            if let n = e.examples { telemetry.evaluationExamples = n }
            let h = telemetry.history
            telemetry.history.testAccuracy.append(MetricPoint(step: e.step, value: e.testAccuracy, seconds: elapsed))
            telemetry.history.testLoss.append(MetricPoint(step: e.step, value: e.testLoss, seconds: elapsed))
            if let t = e.testAccuracyTrainModeBN {
                telemetry.history.testAccuracyTrainModeBN.append(MetricPoint(step: e.step, value: t, seconds: elapsed))
            }
            if !e.testAccuracy.isNaN, e.testAccuracy > (h.bestTestAccuracy?.value ?? -1) {
                telemetry.history.bestTestAccuracy = MetricPoint(step: e.step, value: e.testAccuracy, seconds: elapsed)
            }
            telemetry.isEvaluating = false
        case .angles(let a):
            let layers = max(1, info.layers.count)
            let perLayer = max(16, RunHistory.angleEntryBudget / layers) & ~1
            telemetry.history.angleHistory[a.layer, default: AngleHistory(capacity: perLayer)].append(a)
            if let i = telemetry.angles.firstIndex(where: { $0.layer == a.layer }) {
                telemetry.angles[i] = a
            } else {
                telemetry.angles.append(a)
                let order = info.layers
                telemetry.angles.sort { (order.firstIndex(of: $0.layer) ?? Int.max) < (order.firstIndex(of: $1.layer) ?? Int.max) }
            }
        case .event(var e):
            e.marker = RemoteTelemetry.marker(for: e.text)
            telemetry.history.log(e)
        case .ack(let a):
            if a.command == "evaluate" { telemetry.isEvaluating = false }
        case .replayEnd, .error, .pong, .unknown:
            break
        }
        telemetry.sequence += 1
        return reported
    }

    /// The chart label of a change the job logged (its events carry no marker field).
    static func marker(for text: String) -> String? {
        let words = text.split(separator: " ")
        if text.hasPrefix("learning rate "), let v = words.last { return "lr \(v)" }
        if text.hasPrefix("variant "), let v = words.last { return "→\(v)" }
        if text.hasPrefix("opened ") { return "opened" }
        return nil
    }

    /// Marks an evaluation asked for (shown until its result or ack arrives).
    public mutating func evaluationRequested() { telemetry.isEvaluating = true; telemetry.sequence += 1 }
}
