import Foundation
import Engine

/// The channel's wire format (PyTorch/PROTOCOL.md, protocol 1) as Swift values: what a
/// `spherelab_torch.train` job sends, decoded and checked, and what the workbench sends back.
/// Decoding never traps: a line that is not a valid message becomes `ChannelDecodeError`
/// with a sentence saying what was wrong.
public enum ChannelProtocol {
    public static let version = 1
    /// Longest line either side may send, the `\n` excluded.
    public static let maxLineBytes = 65_536
    /// Steps and counts beyond this are refused as nonsense (no run takes 10¹² steps).
    static let maxCount = 1_000_000_000_000
}

public struct ChannelDecodeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}

/// A message from the job.
public enum ServerMessage: Sendable, Equatable {
    case hello(RemoteRunInfo)
    case replayEnd(messages: Int)
    case state(RemoteState)
    case step(RemoteStep)
    case eval(RemoteEval)
    case angles(LayerAngles)
    case event(RunEvent)
    case ack(RemoteAck)
    case error(RemoteError)
    case pong
    /// A `type` this client does not know (a later version's addition): ignored.
    case unknown(type: String)
}

/// `hello.run` and the command lists.
public struct RemoteRunInfo: Sendable, Equatable {
    public var runName = "", dataset = "", model = "", modelName = ""
    public var modelSpec: ModelSpec?
    public var worldSize = 1
    public var backend = "", device = ""
    public var stepsPerEpoch = 0
    public var totalSteps: Int?
    public var batchSize: Int?
    public var layers: [String] = []
    public var commands: [String] = []
    public var unavailable: [String] = []
}

public struct RemoteState: Sendable, Equatable {
    public var state: RunState
    public var step: Int
    public var epoch: Int?
    public var learningRate: Double?
    public var variant: String?
    public var hyper: Hyperparameters?
}

public struct RemoteStep: Sendable, Equatable {
    public var step: Int
    public var epoch: Int?
    /// NaN when the job sent null (a non-finite loss).
    public var loss: Double
    public var accuracy: Double
    public var learningRate: Double?
    public var imagesPerSecond: Double?
    public var seconds: Double?
    public var replayed: Bool
}

public struct RemoteEval: Sendable, Equatable {
    public var step: Int
    public var testAccuracy: Double
    public var testLoss: Double
    public var testAccuracyTrainModeBN: Double?
    public var examples: Int?
    public var seconds: Double?
}

/// A message `id`: an integer or a short string.
public enum MessageID: Sendable, Hashable, Codable {
    case int(Int), string(String)
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) { self = .int(i); return }
        self = .string(try c.decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .string(let s): try c.encode(s)
        }
    }
}

public struct RemoteAck: Sendable, Equatable {
    public var command: String
    public var id: MessageID?
    public var step: Int?
    public var learningRate: Double?
    public var testAccuracy: Double?
    public var saved: String?
}

public struct RemoteError: Sendable, Equatable {
    public var code: String
    public var message: String
    public var id: MessageID?
}

// MARK: decoding

extension ServerMessage {
    /// Decodes one line (without its `\n`). Throws `ChannelDecodeError` for anything that is
    /// not a valid protocol-1 message; unknown fields are ignored, as the protocol asks.
    public static func decode(_ line: some Collection<UInt8>) throws -> ServerMessage {
        guard line.count <= ChannelProtocol.maxLineBytes else {
            throw ChannelDecodeError("a line of \(line.count) bytes, over the protocol's limit of \(ChannelProtocol.maxLineBytes)")
        }
        let data = Data(line)
        guard String(data: data, encoding: .utf8) != nil else { throw ChannelDecodeError("not UTF-8") }
        let decoder = JSONDecoder()
        func get<T: Decodable>(_ t: T.Type) throws -> T {
            do { return try decoder.decode(T.self, from: data) } catch let e as ChannelDecodeError { throw e } catch {
                throw ChannelDecodeError(Self.explain(error))
            }
        }
        let type = try get(Envelope.self).type
        switch type {
        case "hello":
            let h = try get(HelloWire.self)
            guard h.protocol == ChannelProtocol.version else {
                throw ChannelDecodeError("the job speaks protocol \(h.protocol), this SphereLab speaks \(ChannelProtocol.version): use matching versions")
            }
            let r = h.run
            var info = RemoteRunInfo()
            info.runName = r.runName ?? ""; info.dataset = r.dataset ?? ""; info.model = r.model ?? ""
            info.modelName = r.modelName ?? ""; info.modelSpec = r.setup?.model
            info.worldSize = r.worldSize ?? 1; info.backend = r.backend ?? ""; info.device = r.device ?? ""
            info.stepsPerEpoch = try count(r.stepsPerEpoch ?? 0, "hello.run.stepsPerEpoch")
            info.totalSteps = try r.totalSteps.map { try count($0, "hello.run.totalSteps") }
            info.batchSize = try r.batchSize.map { try count($0, "hello.run.batchSize") }
            info.layers = r.layers ?? []
            info.commands = h.commands ?? []
            info.unavailable = h.unavailable ?? []
            return .hello(info)
        case "replay_end":
            return .replayEnd(messages: try count(try get(ReplayEndWire.self).messages, "replay_end.messages"))
        case "state":
            let s = try get(StateWire.self)
            guard let state = RunState(rawValue: s.state) else { throw ChannelDecodeError("state.state '\(s.state)' is not RUNNING, PAUSED or FINISHED") }
            return .state(RemoteState(state: state, step: try count(s.step, "state.step"), epoch: s.epoch,
                                      learningRate: s.lr, variant: s.variant, hyper: s.hyper?.value))
        case "step":
            let s = try get(StepWire.self)
            return .step(RemoteStep(step: try count(s.step, "step.step"), epoch: s.epoch, loss: s.loss ?? .nan, accuracy: s.accuracy ?? .nan,
                                    learningRate: s.lr, imagesPerSecond: s.images_per_sec, seconds: s.seconds, replayed: s.replayed ?? false))
        case "eval":
            let e = try get(EvalWire.self)
            return .eval(RemoteEval(step: try count(e.step, "eval.step"), testAccuracy: e.test_accuracy ?? .nan, testLoss: e.test_loss ?? .nan,
                                    testAccuracyTrainModeBN: e.test_accuracy_train_bn, examples: e.examples, seconds: e.seconds))
        case "angles":
            let a = try get(LayerAngles.self)
            _ = try count(a.step, "angles.step")
            guard a.patchAngles.count <= 4096, a.kernelAngles.count <= 4096, a.percentiles.count <= 64,
                  a.patchAngles.allSatisfy({ $0 >= 0 }), a.kernelAngles.allSatisfy({ $0 >= 0 }) else {
                throw ChannelDecodeError("angles for \(a.layer): histograms must hold non-negative counts (at most 4096 bins)")
            }
            return .angles(a)
        case "event":
            let e = try get(EventWire.self)
            guard let level = RunEvent.Level(rawValue: e.level) else { throw ChannelDecodeError("event.level '\(e.level)' is not info, warning or error") }
            return .event(RunEvent(step: try count(e.step, "event.step"), level: level, text: e.text))
        case "ack":
            let a = try get(AckWire.self)
            return .ack(RemoteAck(command: a.command, id: a.id, step: a.step, learningRate: a.lr, testAccuracy: a.test_accuracy, saved: a.saved))
        case "error":
            let e = try get(ErrorWire.self)
            return .error(RemoteError(code: e.code, message: e.message, id: e.id))
        case "pong":
            return .pong
        default:
            return .unknown(type: String(type.prefix(40)))
        }
    }

    static func count(_ v: Int, _ field: String) throws -> Int {
        guard v >= 0, v <= ChannelProtocol.maxCount else { throw ChannelDecodeError("\(field) = \(v) is not a count") }
        return v
    }

    /// One line about a decoding failure: which field, what was wrong.
    static func explain(_ error: any Error) -> String {
        func path(_ p: [any CodingKey]) -> String { p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case DecodingError.keyNotFound(let key, let ctx): return "field \(path(ctx.codingPath + [key])) is missing"
        case DecodingError.typeMismatch(let t, let ctx): return "field \(path(ctx.codingPath)) is not \(t)"
        case DecodingError.valueNotFound(let t, let ctx): return "field \(path(ctx.codingPath)) is null where \(t) is needed"
        case DecodingError.dataCorrupted(let ctx): return ctx.codingPath.isEmpty ? "not a JSON object" : "field \(path(ctx.codingPath)) is invalid"
        default: return "\(error)"
        }
    }
}

/// A nested value kept only when it decodes (a later job may send a richer `hyper` or model
/// spec; the message is still useful without it).
struct Lenient<T: Decodable & Sendable>: Decodable, Sendable {
    var value: T?
    init(from decoder: any Decoder) throws { value = try? T(from: decoder) }
}

private struct Envelope: Decodable { var type: String }
private struct HelloWire: Decodable {
    var `protocol`: Int
    var run: RunWire
    var commands: [String]?
    var unavailable: [String]?
}
private struct RunWire: Decodable {
    var runName: String?, dataset: String?, model: String?, modelName: String?
    var setup: SetupWire?
    var worldSize: Int?, backend: String?, device: String?
    var stepsPerEpoch: Int?, totalSteps: Int?, batchSize: Int?
    var layers: [String]?
}
private struct SetupWire: Decodable {
    var model: ModelSpec?
    init(from decoder: any Decoder) throws {
        enum K: String, CodingKey { case model }
        let c = try decoder.container(keyedBy: K.self)
        model = (try? c.decode(Lenient<ModelSpec>.self, forKey: .model))?.value
    }
}
private struct ReplayEndWire: Decodable { var messages: Int }
private struct StateWire: Decodable {
    var state: String, step: Int, epoch: Int?, lr: Double?, variant: String?
    var hyper: Lenient<Hyperparameters>?
}
private struct StepWire: Decodable {
    var step: Int, epoch: Int?, loss: Double?, accuracy: Double?, lr: Double?
    var images_per_sec: Double?, seconds: Double?, replayed: Bool?
}
private struct EvalWire: Decodable {
    var step: Int, test_accuracy: Double?, test_loss: Double?, test_accuracy_train_bn: Double?
    var examples: Int?, seconds: Double?
}
private struct EventWire: Decodable { var step: Int, level: String, text: String }
private struct AckWire: Decodable {
    var command: String, id: MessageID?, step: Int?, lr: Double?, test_accuracy: Double?, saved: String?
}
private struct ErrorWire: Decodable { var code: String, message: String, id: MessageID? }

// MARK: client messages

/// What the workbench sends. Encoded as one JSON line (no raw newline can occur: JSON escapes it).
public struct ClientMessage: Encodable, Sendable, Equatable {
    public var type: String
    public var `protocol`: Int?
    public var token: String?
    public var client: String?
    public var id: MessageID?
    public var command: String?
    public var value: Double?
    public var factor: Double?
    public var variant: String?
    public var name: String?

    public static func hello(token: String?) -> ClientMessage {
        ClientMessage(type: "hello", protocol: ChannelProtocol.version, token: token, client: "spherelab attach")
    }

    public static func command(_ name: String, id: Int) -> ClientMessage {
        ClientMessage(type: "command", id: .int(id), command: name)
    }

    public init(type: String, protocol p: Int? = nil, token: String? = nil, client: String? = nil, id: MessageID? = nil,
                command: String? = nil, value: Double? = nil, factor: Double? = nil, variant: String? = nil, name: String? = nil) {
        self.type = type; self.protocol = p; self.token = token; self.client = client; self.id = id
        self.command = command; self.value = value; self.factor = factor; self.variant = variant; self.name = name
    }

    /// The line to send, `\n` included.
    public func line() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = Array(try encoder.encode(self))
        guard bytes.count <= ChannelProtocol.maxLineBytes else {
            throw ChannelDecodeError("a \(type) message of \(bytes.count) bytes is over the protocol's limit")
        }
        bytes.append(0x0A)
        return bytes
    }
}

extension ConvVariant {
    /// The command-line form the channel's `set_variant` takes (`sigmoid:0.1`).
    public var channelForm: String {
        if case .sigmoid(let k) = self { return "sigmoid:\(Double(String(k)) ?? Double(k))" }
        return name
    }
}
