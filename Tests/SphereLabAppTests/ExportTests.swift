import Testing
import Foundation
import Engine
@testable import SphereLabApp

@Suite(.serialized) struct ExportTests {
    /// A 200-step run with a learning-rate change and a variant switch, saved, then exported by
    /// the real binary (when built) and read back.
    @Test func csvHasAHeaderAndOneRowPerRecordedStepWithEvents() throws {
        let datasets = try makeTinyDatasets(train: 64, test: 20)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        var request = tinyRequest(datasets: datasets, variant: .cosine)
        request.hyper.evalEvery = 50
        let run = try request.open()
        let session = run.session
        try session.run(steps: 200)
        while session.state == .running {
            _ = session.advance()
            if session.step == 100 && !session.history.events.contains(where: { $0.marker == "lr×2" }) {
                session.apply(.scaleLearningRate(2))
            }
            if session.step == 150 && session.trainer.hyper.variant == .cosine { session.apply(.setVariant(.linear)) }
        }
        #expect(session.step == 200)
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        let path = try archive.write(archive.capture(session, identity: run.identity), name: "export-200")

        // Reopened, the snapshot shows its changes on the charts and its angle history at once.
        let (reopened, _) = try archive.restore(path: path)
        let t = reopened.session.telemetry()
        #expect(t.angles.isEmpty && !t.angleHistory.isEmpty)
        let labels = WorkbenchView.markers(AppState(telemetry: t)).map(\.label)
        #expect(labels == ["lr×2", "→linear", "opened"])
        let screen = WorkbenchView.render(AppState(telemetry: t), width: 120, height: 36).lines.joined(separator: "\n")
        #expect(screen.contains("Angles [1/") && !screen.contains("no SphereConv-capable layer measured yet"))
        #expect(screen.contains("lr×2") && screen.contains("→linear"))

        let csv: String
        if let bin = EndToEndTests.binary {
            let out = datasets + "/run.csv"
            let result = EndToEndTests.shell([bin, "export", path, "--format", "csv", "--out", out])
            #expect(result.status == 0, "\(result.output)")
            csv = try String(contentsOfFile: out, encoding: .utf8)
        } else {
            csv = try archive.export(path: path, format: .csv)
        }
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = try #require(rows.first)
        #expect(header == RunExport.csvHeader)
        for name in ["step", "seconds", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "learning_rate", "variant"] {
            #expect(header.contains(name))
        }
        let col = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        let steps = rows.dropFirst().filter { $0[0] == "step" }
        #expect(steps.map { Int($0[col["step"]!])! } == Array(1...200))
        #expect(steps.allSatisfy { Double($0[col["train_loss"]!]) != nil && Double($0[col["seconds"]!])! > 0 })
        // Seconds grow; test figures at each evaluation; the learning rate doubles at step 101.
        let seconds = steps.map { Double($0[col["seconds"]!])! }
        #expect(zip(seconds, seconds.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(steps.filter { !$0[col["test_accuracy"]!].isEmpty }.map { Int($0[1])! } == [50, 100, 150, 200])
        let lr = steps.map { Double($0[col["learning_rate"]!])! }
        #expect(abs(lr[99] - 0.001) < 1e-9 && abs(lr[100] - 0.002) < 1e-9)
        #expect(steps[149][col["variant"]!] == "cosine" && steps[150][col["variant"]!] == "linear")
        // The events come along, in step order, with their markers.
        let events = rows.filter { $0[0] == "event" }
        #expect(events.contains { $0[col["marker"]!] == "lr×2" && $0[1] == "100" })
        #expect(events.contains { $0[col["marker"]!] == "→linear" && $0[1] == "150" })
        let order = rows.dropFirst().map { Int($0[1])! }
        #expect(order == order.sorted())

        // JSON lines carry the same.
        let jsonl = try archive.export(path: path, format: .jsonl).split(separator: "\n")
        let objects = try jsonl.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.filter { $0["type"] as? String == "step" }.count == 200)
        #expect(objects.contains { $0["type"] as? String == "event" && $0["marker"] as? String == "→linear" })
    }

    @Test func bucketedHistoryGivesOneRowPerBucketWithItsSpan() {
        var h = RunHistory()
        h.variants = [StepLabel(step: 1, name: "cosine")]
        for i in 1...2000 {
            h.trainLoss.append(MetricPoint(step: i, value: i % 10 == 0 ? 5 : 1, seconds: Double(i) / 10))
            h.trainAccuracy.append(MetricPoint(step: i, value: 0.5, seconds: Double(i) / 10))
            h.learningRate.append(MetricPoint(step: i, value: 0.01, seconds: Double(i) / 10))
        }
        let rows = RunExport.rows(h)
        #expect(rows.count == h.trainLoss.buckets.count + h.trainLoss.recent.count)
        #expect(rows.reduce(0) { $0 + $1.steps } == 2000)
        let bucket = rows[0]
        #expect(bucket.steps == 4 && bucket.trainLossMin == 1 && bucket.trainLossMax == 1)
        #expect(rows.contains { $0.steps > 1 && $0.trainLossMax == 5 && $0.trainLossMin == 1 && $0.trainLoss! > 1 })
        #expect(rows.allSatisfy { $0.variant == "cosine" && $0.learningRate == 0.01 })
    }
}
