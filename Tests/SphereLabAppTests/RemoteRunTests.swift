import Testing
import Foundation
import Engine
@testable import SphereLabApp

/// `spherelab attach`: decoding and validation of the channel's messages, the telemetry built
/// from them, and the client against a scripted loopback server (PyTorch/PROTOCOL.md).
@Suite struct ChannelDecodingTests {
    func decode(_ s: String) throws -> ServerMessage { try ServerMessage.decode(Array(s.utf8)) }

    @Test func everyServerMessageDecodesAndUnknownFieldsAreIgnored() throws {
        guard case .hello(let h) = try decode(FakeChannelServer.hello) else { Issue.record("not hello"); return }
        #expect(h.worldSize == 2 && h.backend == "gloo" && h.layers == ["features.0", "features.3"] && h.totalSteps == 50)
        #expect(h.commands.contains("scale_lr") && h.unavailable.contains("set_optimizer"))
        guard case .step(let s) = try decode(FakeChannelServer.step(3)) else { Issue.record("not step"); return }
        #expect(s.step == 3 && s.loss == 2.0 && s.imagesPerSecond == 300.5 && !s.replayed)
        guard case .step(let n) = try decode(#"{"type":"step","step":4,"loss":null,"accuracy":null}"#) else { Issue.record("not step"); return }
        #expect(n.loss.isNaN && n.accuracy.isNaN)
        guard case .eval(let e) = try decode(#"{"type":"eval","step":50,"test_accuracy":0.81,"test_loss":0.5,"examples":500,"seconds":1.5}"#) else { Issue.record("not eval"); return }
        #expect(e.testAccuracy == 0.81 && e.examples == 500)
        guard case .error(let err) = try decode(#"{"type":"error","code":"invalid_field","message":"bad","id":"x"}"#) else { Issue.record("not error"); return }
        #expect(err.id == .string("x"))
        guard case .ack(let a) = try decode(#"{"type":"ack","command":"save","id":7,"step":9,"saved":"/s/x"}"#) else { Issue.record("not ack"); return }
        #expect(a.id == .int(7) && a.saved == "/s/x")
        #expect(try decode(#"{"type":"telepathy","x":1}"#) == .unknown(type: "telepathy"))
    }

    @Test(arguments: [
        "", "not json", "[1,2]", #"{"no_type":1}"#, #"{"type":"step","step":"three","loss":1,"accuracy":1}"#,
        #"{"type":"step","step":-4,"loss":1,"accuracy":1}"#, #"{"type":"event","step":1,"level":"panic","text":"x"}"#,
        #"{"type":"state","state":"DANCING","step":1}"#, #"{"type":"hello","protocol":2,"run":{}}"#,
        #"{"type":"angles","layer":"a","variant":"c","step":1,"patchAngles":[-1],"kernelAngles":[],"percentiles":[]}"#,
        #"{"type":"step","step":1e400,"loss":1,"accuracy":1}"#,
    ])
    func malformedLinesAreErrorsNotCrashes(_ line: String) {
        #expect(throws: ChannelDecodeError.self) { try decode(line) }
    }

    @Test func oversizedAndNonUTF8LinesAreRefused() {
        #expect(throws: ChannelDecodeError.self) { try ServerMessage.decode([UInt8](repeating: 0x20, count: ChannelProtocol.maxLineBytes + 1)) }
        #expect(throws: ChannelDecodeError.self) { try ServerMessage.decode([0x7B, 0xFF, 0xFE, 0x7D]) }
    }

    @Test func clientLinesAreOneJSONObjectAndValuesAreShortDecimals() throws {
        var m = ClientMessage(type: "command", id: .int(3), command: "set_lr", value: RemoteRun.decimal(Float(1e-3)))
        let line = try m.line()
        #expect(line.last == 0x0A && line.dropLast().contains(0x0A) == false)
        let obj = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
        #expect(obj["value"] as? Double == 0.001 && obj["id"] as? Int == 3 && obj["token"] == nil)
        m.name = String(repeating: "n", count: 70_000)
        #expect(throws: ChannelDecodeError.self) { try m.line() }
        #expect(ConvVariant.sigmoid(k: 0.1).channelForm == "sigmoid:0.1")
        #expect(ConvVariant.learnableSigmoid.channelForm == "lr-sigmoid")
    }
}

@Suite struct RemoteTelemetryTests {
    @Test func theStreamBecomesTheSameTelemetryAWorkbenchDraws() throws {
        var b = RemoteTelemetry()
        let lines = [FakeChannelServer.hello, FakeChannelServer.running] + (1...5).map { FakeChannelServer.step($0, replayed: true) } + [
            FakeChannelServer.step(6), FakeChannelServer.step(6),    // a repeat is not drawn twice
            #"{"type":"eval","step":6,"test_accuracy":0.7,"test_loss":0.8,"examples":500,"seconds":2.0}"#,
            #"{"type":"angles","layer":"features.3","variant":"cosine","step":6,"patchAngles":[1,2],"kernelAngles":[3],"percentiles":[0.1,0.2,0.3,0.4,0.5]}"#,
            #"{"type":"angles","layer":"features.0","variant":"cosine","step":6,"patchAngles":[1,2],"kernelAngles":[3],"percentiles":[0.1,0.2,0.3,0.4,0.5]}"#,
            #"{"type":"event","step":6,"level":"info","text":"learning rate 0.002"}"#,
            #"{"type":"state","state":"PAUSED","step":6,"epoch":0,"lr":0.002,"variant":"linear"}"#,
        ]
        for l in lines { b.apply(try ServerMessage.decode(Array(l.utf8))) }
        let t = b.telemetry
        #expect(t.trainLoss.map(\.step) == [1, 2, 3, 4, 5, 6])
        #expect(t.testAccuracy.map(\.value) == [0.7] && t.bestTestAccuracy == 0.7)
        #expect(t.angles.map(\.layer) == ["features.0", "features.3"])   // network order from hello
        #expect(t.events.last?.marker == "lr 0.002")
        #expect(t.state == .paused && t.learningRate == 0.002 && t.hyper.variant == .linear && t.step == 6)
        #expect(t.totalSteps == 50 && t.stepsPerEpoch == 469 && t.hyper.batchSize == 128 && t.imagesPerSecond == 300.5)
        #expect(t.unsavedSteps == 0)   // the job saves itself: quitting never asks
        // A reconnect starts over from hello: the replay is the whole history again.
        b.apply(try ServerMessage.decode(Array(FakeChannelServer.hello.utf8)))
        #expect(b.telemetry.trainLoss.isEmpty && b.telemetry.events.isEmpty)
    }

    @Test func aLostConnectionShowsDisconnectedButAFinishedJobStaysFinished() {
        var b = RemoteTelemetry()
        b.apply(.state(RemoteState(state: .running, step: 3)))
        b.setDisconnected(true, lastKnown: .running)
        #expect(b.telemetry.state == .disconnected)
        b.apply(.state(RemoteState(state: .finished, step: 3)))
        b.setDisconnected(true, lastKnown: .finished)
        #expect(b.telemetry.state == .finished)
    }
}

@Suite(.serialized) struct RemoteRunTests {
    func waitUntil(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    @Test func attachesSteersSurvivesGarbageAndReattachesWithTheWholeHistory() throws {
        let server = try FakeChannelServer()
        let run = try RemoteRun(address: server.address, token: "secret-token", retrySeconds: 0.2)
        run.start()
        defer { run.stop() }
        #expect(server.accept())
        let hello = server.receive()
        #expect(hello?["type"] as? String == "hello" && hello?["token"] as? String == "secret-token" && hello?["protocol"] as? Int == 1)
        server.send(FakeChannelServer.hello)
        server.send(FakeChannelServer.running)
        for i in 1...3 { server.send(FakeChannelServer.step(i)) }
        server.send(#"{"type":"replay_end","messages":4}"#)
        #expect(run.awaitFirstContact(timeoutSeconds: 5) == nil)
        #expect(waitUntil { run.telemetry.trainLoss.count == 3 })

        // Commands are translated to the protocol; those the job lacks are refused here.
        run.send(.togglePause)
        let pause = server.receive()
        #expect(pause?["command"] as? String == "pause" && pause?["id"] as? Int == 1)
        run.send(.scaleLearningRate(2))
        #expect(server.receive()?["factor"] as? Double == 2)
        run.send(.setLearningRate(0.003))
        #expect(server.receive()?["value"] as? Double == 0.003)
        run.send(.setVariant(.sigmoid(k: 0.1)))
        #expect(server.receive()?["variant"] as? String == "sigmoid:0.1")
        run.requestSave(name: "steered")
        let save = server.receive()
        #expect(save?["command"] as? String == "save" && save?["name"] as? String == "steered")
        #expect(run.unavailableReason(.setOptimizer(.sgd(momentum: 0.9)))?.contains("optimizer") == true)
        #expect(run.unavailableReason(.setBatchSize(64)) != nil && run.unavailableReason(.pause) == nil)
        run.send(.setBatchSize(64))
        server.send(#"{"type":"ack","command":"save","id":5,"step":3,"saved":"/job/Sessions/steered"}"#)
        #expect(waitUntil { (run.takeNotice() ?? "").contains("saved /job/Sessions/steered") })

        // Garbage, an oversized line and an error reply: logged, the connection and run go on.
        server.send("this is not json")
        server.sendRaw([UInt8](repeating: 0x41, count: ChannelProtocol.maxLineBytes + 10) + [0x0A])
        server.send(#"{"type":"error","code":"invalid_field","message":"set_lr: value must be a number in (0, 10]","id":3}"#)
        server.send(FakeChannelServer.step(4))
        #expect(waitUntil { run.telemetry.trainLoss.count == 4 })
        let events = run.telemetry.events.map(\.text)
        #expect(events.filter { $0.contains("malformed") }.count == 2)
        #expect(events.contains { $0.contains("refused set_lr") })
        #expect(server.receive(seconds: 0.3) == nil)   // the unavailable batch-size change was never sent

        // The job's connection drops: DISCONNECTED, then a reconnect replays everything.
        server.dropClient()
        #expect(waitUntil { run.telemetry.state == .disconnected })
        #expect(run.telemetry.trainLoss.count == 4)   // the picture is kept while away
        #expect(server.accept())
        #expect(server.receive()?["type"] as? String == "hello")
        server.send(FakeChannelServer.hello)
        for i in 1...6 { server.send(FakeChannelServer.step(i, replayed: true)) }
        server.send(#"{"type":"state","state":"PAUSED","step":6}"#)
        server.send(#"{"type":"replay_end","messages":7}"#)
        #expect(waitUntil { run.telemetry.trainLoss.count == 6 && run.telemetry.state == .paused })
    }

    @Test func aRefusedTokenEndsTheAttemptWithWhatToDo() throws {
        let server = try FakeChannelServer()
        let run = try RemoteRun(address: server.address, token: nil, retrySeconds: 0.2)
        run.start()
        defer { run.stop() }
        #expect(server.accept())
        _ = server.receive()
        server.send(#"{"type":"error","code":"unauthorized","message":"a token is required"}"#)
        server.dropClient()
        let problem = run.awaitFirstContact(timeoutSeconds: 5)
        #expect(problem?.contains("--token-file") == true)
        // No retry storm against a job that refused us.
        #expect(!server.accept(seconds: 0.6))
    }

    @Test func nobodyListeningIsReportedNotHung() throws {
        let port: UInt16
        do { let s = try FakeChannelServer(); port = s.port }   // closed again: nobody listens there
        let run = try RemoteRun(address: "127.0.0.1:\(port)", token: nil, retrySeconds: 0.2)
        run.start()
        defer { run.stop() }
        let problem = run.awaitFirstContact(timeoutSeconds: 5)
        #expect(problem?.contains("refused") == true)
        #expect(run.telemetry.state == .disconnected)
    }

    @Test func badAddressesAreRefusedWithTheExpectedForm() {
        for bad in ["localhost", "host:", ":80", "host:99999", "[::1]80"] {
            #expect(throws: (any Error).self) { try RemoteRun(address: bad, token: nil) }
        }
        #expect((try? RemoteRun(address: "[::1]:4000", token: nil)) != nil)
    }
}
