import Foundation
import Dispatch
import Engine

/// A `spherelab_torch.train` job driven over its channel (PyTorch/PROTOCOL.md). One reader
/// thread owns the connection's reads: it connects, says hello, rebuilds the telemetry from
/// the job's replayed history, follows the live stream, and reconnects (every `retrySeconds`)
/// whenever the connection is lost — the job is never affected. Commands are written on a
/// serial queue so the UI never waits for the network. Everything shared sits behind one lock.
public final class RemoteRun: RunDriver {
    public let address: String
    private let host: String
    private let port: UInt16
    private let token: String?
    public let retrySeconds: Double
    public let connectTimeout: Double
    /// The first `hello` must arrive this soon after connecting.
    public let helloTimeout: Double

    private struct Shared {
        var builder = RemoteTelemetry()
        var published = Telemetry()
        var info: RemoteRunInfo?
        var replaying = false
        var connection: LineConnection?
        var attached = false
        var stopping = false
        /// Set when the job refused this client for good (token, protocol): no more retries.
        var fatal: String?
        var notices: [String] = []
        var nextID = 1
        var pending: [Int: String] = [:]
        var malformed = 0
        /// The outcome of the first attempt: nil while unknown, "" on success, else the error.
        var firstOutcome: String?
        var lastFailure: String?
    }

    private let shared = Locked(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let firstContact = DispatchSemaphore(value: 0)
    private let readerDone = DispatchSemaphore(value: 0)
    private let writer = DispatchQueue(label: "spherelab.attach.writer")

    /// The protocol-1 commands, by the names the channel uses.
    public static let protocolCommands: Set<String> = ["pause", "resume", "step", "set_lr", "scale_lr", "set_variant", "evaluate", "save"]

    public init(address: String, token: String?, retrySeconds: Double = 2, connectTimeout: Double = 5, helloTimeout: Double = 15) throws {
        let (h, p) = try LineConnection.parse(address: address)
        self.address = address; host = h; port = p; self.token = token
        self.retrySeconds = retrySeconds; self.connectTimeout = connectTimeout; self.helloTimeout = helloTimeout
        shared.withLock { s in
            s.published.runName = address
            s.published.state = .disconnected
        }
    }

    // MARK: RunDriver

    public var telemetry: Telemetry { shared.withLock { $0.published } }

    public func start() {
        let thread = Thread { [self] in
            readerLoop()
            readerDone.signal()
        }
        thread.name = "spherelab.attach.reader"
        thread.start()
    }

    public func stop() {
        let connection = shared.withLock { s -> LineConnection? in
            s.stopping = true
            return s.connection
        }
        connection?.shutdownBoth()
        wake.signal()
        _ = readerDone.wait(timeout: .now() + 5)
    }

    /// Waits for the first attempt's outcome: nil once attached, else what went wrong.
    public func awaitFirstContact(timeoutSeconds: Double) -> String? {
        if firstContact.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            return "no answer from the job at \(address) within \(Int(timeoutSeconds)) s"
        }
        firstContact.signal()
        let outcome = shared.withLock { $0.firstOutcome } ?? ""
        return outcome.isEmpty ? nil : outcome
    }

    public var writesOwnSnapshots: Bool { true }

    public func takeNotice() -> String? {
        shared.withLock { s in s.notices.isEmpty ? nil : s.notices.removeFirst() }
    }

    public func reconnectNow() -> Bool {
        let disconnected = shared.withLock { !$0.attached && !$0.stopping }
        if disconnected {
            shared.withLock { $0.fatal = nil }
            wake.signal()
        }
        return disconnected
    }

    /// The channel's name for a workbench command (nil: handled here, nothing to send).
    static func channelName(_ c: TrainerCommand) -> String? {
        switch c {
        case .pause: return "pause"
        case .resume: return "resume"
        case .togglePause: return "pause"
        case .stepOnce: return "step"
        case .evaluateNow: return "evaluate"
        case .setLearningRate: return "set_lr"
        case .scaleLearningRate: return "scale_lr"
        case .setVariant: return "set_variant"
        case .setOptimizer: return "set_optimizer"
        case .setWeightDecay: return "set_weight_decay"
        case .setOrthogonality: return "set_orthogonality"
        case .setHead: return "set_head"
        case .setBatchSize: return "set_batch_size"
        case .setEvalEvery: return "set_eval_every"
        case .setStatsEvery: return "set_stats_every"
        case .setTrainModeEvaluation: return "set_train_bn_eval"
        case .log, .markSaved, .quit: return nil
        }
    }

    static func what(_ name: String) -> String {
        switch name {
        case "set_optimizer": return "the optimizer"
        case "set_weight_decay": return "the weight decay"
        case "set_orthogonality": return "the orthogonality weight"
        case "set_head": return "the loss"
        case "set_batch_size": return "the batch size"
        case "set_eval_every": return "the evaluation interval"
        case "set_stats_every": return "the statistics interval"
        case "set_train_bn_eval": return "train-mode-BN evaluation"
        default: return name
        }
    }

    public func unavailableReason(_ command: TrainerCommand) -> String? {
        guard let name = RemoteRun.channelName(command) else { return nil }
        let accepted = shared.withLock { $0.info?.commands }.map(Set.init) ?? RemoteRun.protocolCommands
        guard !accepted.contains(name) else { return nil }
        return "unavailable on an attached job: it cannot change \(RemoteRun.what(name)) while it runs (restart the job with that option)"
    }

    public func send(_ command: TrainerCommand) {
        switch command {
        case .log(let text, let level):
            publish { $0.note(text, level: level) }
            return
        case .markSaved, .quit:
            return
        default: break
        }
        if let why = unavailableReason(command) { notice(why); return }
        guard let name = RemoteRun.channelName(command) else { return }
        var name2 = name
        if case .togglePause = command {
            name2 = telemetry.state == .running ? "pause" : "resume"
        }
        var message = ClientMessage(type: "command", command: name2)
        switch command {
        case .setLearningRate(let v): message.value = RemoteRun.decimal(v)
        case .scaleLearningRate(let f): message.factor = RemoteRun.decimal(f)
        case .setVariant(let v): message.variant = v.channelForm
        case .evaluateNow: publish { $0.evaluationRequested() }
        default: break
        }
        transmit(message, describing: name2)
    }

    public func requestSave(name: String) {
        var message = ClientMessage(type: "command", command: "save")
        message.name = name
        transmit(message, describing: "save \(name)")
    }

    /// A Float as the shortest decimal that reads back as it (1e-3, not 0.0010000000474974513).
    static func decimal(_ f: Float) -> Double { Double("\(f)") ?? Double(f) }

    private func transmit(_ message: ClientMessage, describing text: String) {
        var message = message
        let connection = shared.withLock { s -> LineConnection? in
            guard s.attached, let c = s.connection else { return nil }
            message.id = .int(s.nextID)
            s.pending[s.nextID] = text
            s.nextID += 1
            return c
        }
        guard let connection else {
            notice("not connected to \(address): \(text) not sent (reconnecting; o reconnects now)")
            return
        }
        let bytes: [UInt8]
        do { bytes = try message.line() } catch { notice("cannot send \(text): \(error)"); return }
        writer.async { [self] in
            do { try connection.write(bytes) } catch {
                notice("\(text) not sent: \(error)")
                connection.shutdownBoth()
            }
        }
    }

    // MARK: reader

    private func notice(_ text: String) {
        shared.withLock { s in
            s.notices.append(text)
            if s.notices.count > 20 { s.notices.removeFirst(s.notices.count - 20) }
        }
    }

    private func publish(_ change: (inout RemoteTelemetry) -> Void) {
        shared.withLock { s in
            change(&s.builder)
            if !s.replaying { s.published = s.builder.telemetry }
        }
    }

    private func finishFirstAttempt(_ outcome: String) {
        let first = shared.withLock { s -> Bool in
            guard s.firstOutcome == nil else { return false }
            s.firstOutcome = outcome
            return true
        }
        if first { firstContact.signal() }
    }

    private func readerLoop() {
        while !shared.withLock({ $0.stopping }) {
            if let fatal = shared.withLock({ $0.fatal }) {
                _ = fatal
                _ = wake.wait(timeout: .now() + 3600)
                continue
            }
            let reason = session()
            let (stopping, wasAttached) = shared.withLock { s -> (Bool, Bool) in
                let was = s.attached
                s.attached = false
                s.connection = nil
                s.replaying = false
                s.pending.removeAll()
                return (s.stopping, was)
            }
            if stopping { break }
            finishFirstAttempt(reason)
            let fatal = shared.withLock { $0.fatal }
            let message: String
            if let fatal {
                message = "\(fatal) — not retrying (o tries again)"
            } else {
                message = "DISCONNECTED from \(address): \(reason). Retrying every \(Int(retrySeconds)) s (o reconnects now); losing the connection does not stop a job"
            }
            let repeated = shared.withLock { s -> Bool in
                defer { s.lastFailure = reason }
                return !wasAttached && s.lastFailure == reason
            }
            publish { b in
                b.setDisconnected(true, lastKnown: .paused)
                if wasAttached { b.note("connection to the job lost: \(reason)", level: .warning) }
            }
            if !repeated { notice(message) }
            _ = wake.wait(timeout: .now() + retrySeconds)
        }
    }

    /// One connection from connect to loss; returns why it ended.
    private func session() -> String {
        let connection: LineConnection
        do {
            connection = try LineConnection.connect(host: host, port: port, timeout: connectTimeout)
        } catch {
            return "\(error)"
        }
        defer { connection.release() }
        let proceed = shared.withLock { s -> Bool in
            guard !s.stopping else { return false }
            s.connection = connection
            return true
        }
        guard proceed else { return "stopped" }
        do {
            try connection.write(try ClientMessage.hello(token: token).line())
        } catch {
            return "\(error)"
        }
        let connectedAt = Date()
        var greeted = false
        while true {
            switch connection.readLine(limit: ChannelProtocol.maxLineBytes) {
            case .idle:
                if shared.withLock({ $0.stopping }) { return "stopped" }
                if !greeted && Date().timeIntervalSince(connectedAt) > helloTimeout {
                    return "the job did not answer hello within \(Int(helloTimeout)) s (is \(address) a spherelab_torch job's channel?)"
                }
            case .closed(let why):
                return why
            case .oversized(let n):
                malformed("a line of \(n)+ bytes (over \(ChannelProtocol.maxLineBytes)) was skipped")
            case .line(let bytes):
                if bytes.isEmpty { continue }
                let message: ServerMessage
                do {
                    message = try ServerMessage.decode(bytes)
                } catch {
                    if !greeted, case let e as ChannelDecodeError = error, e.description.contains("protocol") {
                        shared.withLock { $0.fatal = "cannot attach to \(address): \(e.description)" }
                        return e.description
                    }
                    malformed("\(error)")
                    continue
                }
                if case .hello = message { greeted = true }
                if let end = handle(message) { return end }
            }
        }
    }

    private func malformed(_ what: String) {
        let count = shared.withLock { s -> Int in s.malformed += 1; return s.malformed }
        guard count <= 10 || count % 100 == 0 else { return }
        publish { $0.note("ignored a malformed message from the job (\(count) so far): \(what)", level: .warning) }
    }

    /// Applies one message; returns a reason to end the connection, or nil.
    private func handle(_ message: ServerMessage) -> String? {
        switch message {
        case .hello(let info):
            shared.withLock { s in
                s.info = info
                s.replaying = true
                s.attached = true
                s.builder.begin(info)
            }
        case .replayEnd(let n):
            shared.withLock { s in
                s.replaying = false
                s.lastFailure = nil
                s.builder.note("attached to \(address): \(n) recorded messages replayed")
                s.published = s.builder.telemetry
            }
            notice("attached to \(address) (\(n) messages of history)")
            finishFirstAttempt("")
        case .ack(let a):
            let what = shared.withLock { s -> String? in
                guard case .int(let i)? = a.id else { return nil }
                return s.pending.removeValue(forKey: i)
            }
            publish { $0.apply(message) }
            if let saved = a.saved {
                notice("the job saved \(saved) (on its own disk)")
            } else if let acc = a.testAccuracy, acc.isFinite {
                notice(String(format: "the job evaluated at step %d: test accuracy %.2f%%", a.step ?? 0, 100 * acc))
            } else if let what {
                notice("job: \(what) applied at step \(a.step ?? 0)")
            }
        case .error(let e):
            let what = shared.withLock { s -> String? in
                guard case .int(let i)? = e.id else { return nil }
                return s.pending.removeValue(forKey: i)
            }
            let text = "the job refused \(what ?? "a message") (\(e.code)): \(e.message)"
            publish { $0.note(text, level: .error) }
            notice(text)
            if e.code == "unauthorized" || e.code == "unsupported_protocol" {
                let hint = e.code == "unauthorized"
                    ? (token == nil ? " — this job listens beyond loopback: pass --token-file FILE (the file the job wrote) or --token T"
                                    : " — the token does not match this job's: use the one it printed / its --token-file")
                    : ""
                shared.withLock { $0.fatal = "cannot attach to \(address): \(e.message)\(hint)" }
                return "refused: \(e.message)\(hint)"
            }
        default:
            publish { $0.apply(message) }
        }
        return nil
    }
}
