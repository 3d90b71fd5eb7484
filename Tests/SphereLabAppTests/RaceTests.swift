import Testing
import Foundation
import Engine
import DataLoaders
import SessionStore
@testable import SphereLabApp

/// What one run produced: per-step losses and accuracies, and each evaluation.
private struct Trace: Equatable {
    var losses: [Int: Double] = [:]
    var accuracies: [Int: Double] = [:]
    var tests: [Int: (Double, Double)] = [:]
    static func == (a: Trace, b: Trace) -> Bool {
        a.losses == b.losses && a.accuracies == b.accuracies
            && a.tests.keys.sorted() == b.tests.keys.sorted() && a.tests.allSatisfy { b.tests[$0.key]! == $0.value }
    }
    mutating func record(_ events: [SessionEvent]) {
        for e in events {
            switch e {
            case .stepFinished(let r): losses[r.step] = r.loss; accuracies[r.step] = r.accuracy
            case .evaluationFinished(let r): tests[r.step] = (r.accuracy, r.loss)
            default: break
            }
        }
    }
    func from(_ first: Int) -> Trace {
        Trace(losses: losses.filter { $0.key >= first }, accuracies: accuracies.filter { $0.key >= first },
              tests: tests.filter { $0.key >= first })
    }
}

private func raceRequest(_ datasets: String, _ variant: ConvVariant) -> RunRequest {
    var r = tinyRequest(datasets: datasets, variant: variant)
    r.hyper.evalEvery = 10
    return r
}

/// A lone session trained `steps` steps, as `spherelab train` drives it.
private func alone(_ request: RunRequest, steps: Int) throws -> (Trace, Network) {
    let run = try request.open()
    try run.session.run(steps: steps)
    var trace = Trace()
    while run.session.wantsWork { trace.record(run.session.advance()) }
    return (trace, run.trainer.network)
}

@Suite(.serialized) struct RaceTests {
    /// Interleaving changes nothing: each contender's losses, accuracies, test results and final
    /// weights are bit-identical to the same configuration trained alone; step counts never
    /// differ by more than one, and evaluations fall at the same steps.
    @Test func raceIsFairAndEqualsLoneRuns() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "conv", request: raceRequest(datasets, .conv))
        try race.add(name: "cosine", request: raceRequest(datasets, .cosine))
        // Same seed: the same initial weights wherever names (and so shapes) agree.
        let a0 = allValues(race.contenders[0].run.trainer.network), b0 = allValues(race.contenders[1].run.trainer.network)
        let shared = Set(a0.keys).intersection(b0.keys)
        #expect(shared.contains("features.0.weight"))
        for key in shared { #expect(a0[key] == b0[key], "\(key) starts differently") }

        // One scratch workspace for the race: sharing it must change nothing (checked below).
        #expect(race.contenders.allSatisfy { $0.run.trainer.network.workspace === race.workspace })
        try race.run(steps: 30)
        var traces = [Trace(), Trace()]
        var positions: [[DataPosition]] = [[], []]
        while let (i, events) = race.advance() {
            traces[i].record(events)
            if events.contains(where: { if case .stepFinished = $0 { return true }; return false }) {
                positions[i].append(race.contenders[i].run.trainer.dataPosition)
            }
            let steps = race.contenders.map(\.session.step)
            #expect(steps.max()! - steps.min()! <= 1, "steps \(steps)")
        }
        #expect(race.contenders.allSatisfy { $0.session.state == .finished && $0.session.step == 30 })
        // The same batches in the same order: the data streams stand at the same place after every step.
        #expect(positions[0] == positions[1] && positions[0].count == 30)
        #expect(traces[0].tests.keys.sorted() == [10, 20, 30] && traces[1].tests.keys.sorted() == [10, 20, 30])
        #expect(traces[0] != traces[1], "conv and cosine should not train alike")

        for (i, variant) in [ConvVariant.conv, .cosine].enumerated() {
            let (lone, network) = try alone(raceRequest(datasets, variant), steps: 30)
            #expect(traces[i] == lone, "\(variant) in the race differs from \(variant) alone")
            #expect(allValues(race.contenders[i].run.trainer.network) == allValues(network), "\(variant) weights differ")
        }
    }

    /// Contenders of different widths (and batch sizes) share every per-step buffer: the
    /// workspace grows to the widest in the first round and never again, and each contender
    /// still equals its lone run bit for bit.
    @Test func contendersOfDifferentWidthsShareOneWorkspace() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        var narrow = raceRequest(datasets, .cosine)
        narrow.width = 0.0625; narrow.hyper.batchSize = 6
        var wide = raceRequest(datasets, .sigmoid(k: 0.3))
        wide.width = 0.1875
        let race = Race()
        try race.add(name: "narrow", request: narrow)
        try race.add(name: "wide", request: wide)
        try race.run(steps: 12)
        var traces = [Trace(), Trace()]
        var grown: Int?
        while let (i, events) = race.advance() {
            traces[i].record(events)
            if grown == nil, race.contenders.allSatisfy({ $0.session.step == 1 }) { grown = race.workspace.bytes }
        }
        #expect(grown != nil && race.workspace.bytes == grown, "the workspace grew after the first round (evaluations included)")
        for (i, request) in [narrow, wide].enumerated() {
            let (lone, network) = try alone(request, steps: 12)
            #expect(traces[i] == lone, "contender \(i) in the race differs from its lone run")
            #expect(allValues(race.contenders[i].run.trainer.network) == allValues(network))
        }
    }

    /// A branch at step 20 with unchanged settings repeats the original's steps 21–30 exactly
    /// (losses, accuracies, the evaluation at 30, weights and optimizer moments); a branch with
    /// another variant does not.
    @Test func branchRepeatsTheOriginal() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "cosine", request: raceRequest(datasets, .cosine))
        try race.run(steps: 30)
        var traces: [String: Trace] = [:]
        while race.contenders[0].session.step < 20, let (i, events) = race.advance() { traces[race.contenders[i].name, default: Trace()].record(events) }
        #expect(race.contenders[0].session.step == 20)
        let same = try race.branch(of: 0, name: "same")
        let other = try race.branch(of: 0, name: "sigmoid") { $0.variant = .sigmoid(k: 0.3) }
        #expect(same.fork?.from == "cosine" && same.fork?.step == 20 && same.session.step == 20)
        #expect(allValues(same.run.trainer.network) == allValues(race.contenders[0].run.trainer.network))
        while let (i, events) = race.advance() { traces[race.contenders[i].name, default: Trace()].record(events) }

        #expect(race.contenders.allSatisfy { $0.session.step == 30 && $0.session.state == .finished })
        let original = traces["cosine"]!.from(21), branch = traces["same"]!
        #expect(original.losses.keys.sorted() == Array(21...30))
        #expect(branch == original)
        #expect(allValues(same.run.trainer.network) == allValues(race.contenders[0].run.trainer.network))
        for (name, slot) in race.contenders[0].run.trainer.optimizer.slots {
            #expect(same.run.trainer.optimizer.slots[name]?.first.array == slot.first.array, "\(name) moments differ")
            #expect(same.run.trainer.optimizer.slots[name]?.second.array == slot.second.array, "\(name) moments differ")
        }
        // The branch keeps the history up to its fork.
        #expect(same.session.history.trainLoss.points.first?.step == 1)
        #expect(traces["sigmoid"]!.losses[21] != original.losses[21])
        #expect(other.run.trainer.hyper.variant == .sigmoid(k: 0.3))
    }

    @Test func contendersAreLimitedAndNamedApart() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "a", request: raceRequest(datasets, .cosine))
        #expect { try race.add(name: "a", request: raceRequest(datasets, .conv)) } throws: { "\($0)".contains("already has a contender named 'a'") }
        for i in 1..<Race.maximumContenders { try race.add(name: "r\(i)", request: raceRequest(datasets, .cosine)) }
        #expect { try race.branch(of: 0, name: "ninth") } throws: { "\($0)".contains("at most 8 contenders") }
        #expect { try race.branch(of: 12, name: "x") } throws: { "\($0)".contains("no contender 13") }
    }

    @Test func runSpecsParseWithTheTrainRanges() throws {
        var base = RunRequest()
        base.hyper.variant = .cosine
        let (name, r) = try RaceSpec.parse("name=fast variant=sigmoid:0.5 lr=0.004 optimizer=sgd batch=32 width=0.5 depth=18 normalization=spherenorm weight-decay=0.001 orthogonality=0 loss=ga-softmax margin=2", base: base)
        #expect(name == "fast")
        #expect(r.hyper.variant == .sigmoid(k: 0.5) && r.hyper.schedule.base == 0.004 && r.hyper.batchSize == 32)
        #expect(r.hyper.optimizer == .sgd(momentum: 0.9) && r.width == 0.5 && r.modelName == "spherenet18")
        #expect(r.normalization == .sphereNorm && r.hyper.weightDecay == 0.001 && r.hyper.orthogonality == 0)
        #expect(r.hyper.head == .generalizedAngular(margin: 2, op: .sigmoid(k: 0.5)))
        #expect(try RaceSpec.parse("model=sphereresnet8 depth=14", base: base).request.modelName == "sphereresnet14")
        #expect(try RaceSpec.parse("variant=conv", base: base).name == nil)

        func refusal(_ spec: String) -> String {
            do { _ = try RaceSpec.parse(spec, base: base); return "accepted" } catch { return "\(error)" }
        }
        #expect(refusal("name=x speed=3").contains("unknown key 'speed'; use name, model"))
        #expect(refusal("lr=fast").contains("lr=fast: learning rate 'fast' is not a number; give a value in (0.0, 10.0]"))
        #expect(refusal("lr=20").contains("lr=20: learning rate 20.0 is out of range"))
        #expect(refusal("batch=0").contains("batch=0: batch size 0 is out of range 1…1024"))
        #expect(refusal("variant=cosh").contains("variant=cosh:"))
        #expect(refusal("depth=10").contains("depth=10:"))
        #expect(refusal("normalization=ln").contains("normalization 'ln' is unknown; use bn, spherenorm or spherenorm+bn"))
        #expect(refusal("margin=65").contains("margin=65: GA-Softmax margin 65 is out of range 1…64"))
        #expect(refusal("lr").contains("'lr' is not key=value"))
        #expect(refusal("lr=1 lr=2").contains("key 'lr' is given twice"))
    }

    /// A saved race is a folder of snapshots plus race.json; each snapshot opens alone; saving
    /// again replaces the whole race, and a save that fails midway leaves the previous one whole.
    @Test func raceSavesAsAUnit() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let root = datasets + "/Sessions"
        let race = Race()
        try race.add(name: "conv", request: raceRequest(datasets, .conv))
        try race.add(name: "sigmoid:0.3", request: raceRequest(datasets, .sigmoid(k: 0.3)))
        try race.run(steps: 3)
        while race.advance() != nil {}
        let archive = SessionArchive(root: root, datasetsDirectory: datasets)
        let path = try archive.write(race: race, name: "duel")
        let manifest = try archive.readRaceManifest(path: path)
        #expect(manifest.runs.map(\.name) == ["conv", "sigmoid:0.3"])
        #expect(manifest.runs.map(\.folder) == ["conv", "sigmoid-0.3"])
        for (entry, contender) in zip(manifest.runs, race.contenders) {
            let (run, m) = try archive.restore(path: path + "/" + entry.folder)
            #expect(m.step == 3 && entry.step == 3)
            #expect(allValues(run.trainer.network) == allValues(contender.run.trainer.network))
        }

        try race.run(steps: 2)
        while race.advance() != nil {}
        try race.branch(of: 0, name: "conv-b")
        try archive.write(race: race, name: "duel")
        let again = try archive.readRaceManifest(path: path)
        #expect(again.runs.map(\.step) == [5, 5, 5])
        #expect(again.runs[2].forkedFrom == "conv" && again.runs[2].forkStep == 5)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["duel"])

        // A save that fails midway (the second member is refused) leaves the previous race whole.
        let good = try archive.encoded(archive.capture(race.contenders[0].session, identity: race.contenders[0].run.identity), name: "ok")
        let bad = SnapshotContents(weights: [], optimizer: [], sessionJSON: Array("not json".utf8))
        #expect(throws: (any Error).self) {
            try archive.store.saveGroup([("ok", good), ("bad", bad)], manifest: [], manifestFile: RaceManifest.fileName, name: "duel")
        }
        #expect(try archive.readRaceManifest(path: path) == again)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["duel"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).sorted() == ["conv", "conv-b", "race.json", "sigmoid-0.3"])
    }

    /// The workbench scoreboard's thresholds go into race.json and come back when the race is
    /// reopened; a race saved without them (older builds, headless `race`) reopens with the
    /// defaults, and a damaged value is refused with what to do. Failed before: a reopened race's
    /// scoreboard was back at 80/85/88 whatever the user had set.
    @Test func raceKeepsItsScoreboardThresholds() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "conv", request: raceRequest(datasets, .conv))
        try race.add(name: "cosine", request: raceRequest(datasets, .cosine))
        try race.run(steps: 2)
        while race.advance() != nil {}
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        let path = try archive.write(archive.captureRace(race, thresholds: [0.5, 0.9]), name: "kept")
        #expect(try archive.readRaceManifest(path: path).thresholds == [0.5, 0.9])
        let reopened = try archive.restoreRace(path: path)
        #expect(reopened.scoreboardThresholds == [0.5, 0.9])
        #expect(WorkbenchRunner.board(for: reopened, base: nil, datasetsDirectory: datasets).thresholds == [0.5, 0.9])

        // race.json as saved before thresholds were kept.
        let file = path + "/" + RaceManifest.fileName
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        object.removeValue(forKey: "thresholds")
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: file))
        let old = try archive.restoreRace(path: path)
        #expect(old.scoreboardThresholds == nil)
        #expect(WorkbenchRunner.board(for: old, base: nil, datasetsDirectory: datasets).thresholds == [0.80, 0.85, 0.88])

        // `sessions show` on the race: its runs and thresholds. Failed before: it looked for
        // the race folder's own session.json and called the race an unfinished save.
        let shown = try archive.raceDescription(path: path)
        #expect(shown.contains("  conv    step 2  folder conv"), "\(shown)")
        #expect(shown.contains("thresholds  80 %, 85 %, 88 % (the defaults)"), "\(shown)")

        object["thresholds"] = [80]
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: file))
        #expect { try archive.restoreRace(path: path) } throws: { error in
            "\(error)".contains("'thresholds' must hold 1 to 4 accuracies in (0, 1], found [80.0]")
                && "\(error)".contains("remove the key to reopen it with the default")
        }

        // A cut-short race.json: said in plain words with what to do, not the decoder's dump.
        let full = try Data(contentsOf: URL(fileURLWithPath: file))
        try full.prefix(40).write(to: URL(fileURLWithPath: file))
        #expect { try archive.restoreRace(path: path) } throws: { error in
            "\(error)" == "\(file) is damaged: it is not valid JSON (cut short or damaged); restore the race folder from a copy (each run's folder in it still opens alone: spherelab --resume \(path)/RUN)"
        }
    }

    /// Headless `race --json`: one object per run step and evaluation, each naming its run, and
    /// a scoreboard with the steps at which each threshold was first reached.
    @Test func headlessRaceNamesEveryLineAndKeepsTheScore() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "conv", request: raceRequest(datasets, .conv))
        try race.add(name: "sigmoid:0.3", request: raceRequest(datasets, .sigmoid(k: 0.3)))
        final class Lines { var all: [String] = [] }
        let lines = Lines()
        var job = HeadlessRace(style: .json)
        job.write = { lines.all.append($0) }
        let board = try job.run(race, steps: 10, thresholds: [0, 1.5])
        #expect(lines.all.count == 2 * (10 + 1))
        #expect(lines.all.filter { $0.hasPrefix("{\"run\":\"sigmoid:0.3\",\"step\":") }.count == 11)
        #expect(lines.all.contains { $0.hasPrefix("{\"run\":\"conv\",\"step\":10,\"test_accuracy\":") })
        #expect(board.rows.map(\.step) == [10, 10])
        #expect(board.rows.allSatisfy { $0.reached[0]?.step == 10 && $0.reached[1] == nil && $0.lastTestAccuracy != nil })
        let table = board.table().split(separator: "\n")
        #expect(table.count == 3 && table[0].hasPrefix("run ") && table[2].hasPrefix("sigmoid:0.3 "))
        #expect(table[1].contains("10 / 0:") && table[1].contains("–"))
        #expect(board.jsonLines().count == 2 && board.jsonLines()[0].contains("\"steps_to_0\":10"))
    }
}
