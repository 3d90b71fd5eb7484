import Testing
import Foundation
import Engine
@testable import SphereLabApp

/// The workbench's race driver: the race trains on the controller's queue while the "UI"
/// sends commands (to all, to one), tasks (branch, add, remove) and reads pictures. Run under
/// `swift test --sanitize=thread` to check the hand-over; without it, that commands land
/// where they were sent.
@Suite struct RaceControllerTests {
    @Test func commandsLandOnTheNamedRunsWhileTheRaceTrains() throws {
        let datasets = try makeTinyDatasets(train: 64, test: 16)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        for (name, variant) in [("conv", ConvVariant.conv), ("cosine", .cosine)] {
            var r = tinyRequest(datasets: datasets, variant: variant)
            r.hyper.evalEvery = 4
            try race.add(name: name, request: r)
        }
        let controller = RaceController(race: race)
        controller.start()
        func wait(_ what: String, _ done: ([RunTelemetry]) -> Bool) {
            let deadline = Date().addingTimeInterval(60)
            var ok = done(controller.runs)
            while !ok && Date() < deadline { Thread.sleep(forTimeInterval: 0.01); ok = done(controller.runs) }
            #expect(ok, "\(what) did not happen")
        }
        wait("two steps each") { $0.allSatisfy { $0.telemetry.step >= 2 } }
        controller.send(.setLearningRate(0.004), to: ["cosine"])
        wait("cosine's rate") { $0[1].telemetry.learningRate == 0.004 }
        #expect(controller.runs[0].telemetry.learningRate != 0.004, "conv's rate changed too")
        #expect(!controller.runs[0].telemetry.events.contains { $0.marker?.hasPrefix("lr") == true })
        // Branch and add from the UI, then remove one, while it runs.
        controller.perform { race in try race.branch(of: 1, name: "cosine-b") }
        var late = tinyRequest(datasets: datasets, variant: .linear)
        late.hyper.evalEvery = 4
        let addition = late
        controller.perform { race in
            let c = try race.add(name: "late", request: addition)
            c.session.apply(.resume)
        }
        controller.perform(failure: "cannot add") { race in try race.add(name: "conv", request: addition) }
        wait("branch and addition") { $0.map(\.name) == ["conv", "cosine", "cosine-b", "late"] }
        let branch = controller.runs[2]
        #expect(branch.forkedFrom == "cosine" && branch.forkStep != nil)
        wait("the refusal") { _ in controller.takeNoticePeek() }
        controller.perform { race in race.remove(at: 0) }
        wait("removal") { $0.map(\.name) == ["cosine", "cosine-b", "late"] }
        // Pause reaches every run; the steps then stand still.
        controller.send(.pause, to: nil)
        wait("pause") { $0.allSatisfy { $0.telemetry.state == .paused } }
        let steps = controller.runs.map(\.telemetry.step)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(controller.runs.map(\.telemetry.step) == steps)
        controller.stop()
        #expect(controller.hasStopped)
    }

    /// A contender added from the start while the others ran catches up before they go on;
    /// then the turns are fair again.
    @Test func aLateContenderCatchesUp() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        var request = tinyRequest(datasets: datasets, variant: .conv)
        request.hyper.evalEvery = 100
        try race.add(name: "conv", request: request)
        try race.run(steps: 8)
        for _ in 0..<5 { _ = race.advance() }
        #expect(race.contenders[0].session.step == 5)
        request.hyper.variant = .cosine
        try race.add(name: "late", request: request).session.run(steps: 8)
        var order: [Int] = []
        while let (i, _) = race.advance() { order.append(i) }
        // Five steps of the late run alone (to step 5, level), then turns.
        #expect(Array(order.prefix(5)) == [1, 1, 1, 1, 1], "\(order)")
        #expect(Array(order.dropFirst(5).prefix(4)) == [0, 1, 0, 1], "\(order)")
        #expect(race.contenders.map(\.session.step) == [8, 8])
    }

    /// A contender added while the others stand a step apart (2, 2, 1): once it has caught up,
    /// the runs behind go first, so no two runs are ever more than a step apart again (plain
    /// turns from where the turn stood let the runs ahead move on: 3, 3, 1, 1 for good).
    @Test func aLateContenderAmongUnevenRunsKeepsStepsWithinOne() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        var request = tinyRequest(datasets: datasets, variant: .conv)
        request.hyper.evalEvery = 100
        for name in ["a", "b", "c"] { try race.add(name: name, request: request) }
        try race.run(steps: 8)
        for _ in 0..<5 { _ = race.advance() }
        #expect(race.contenders.map(\.session.step) == [2, 2, 1])
        try race.add(name: "late", request: request).session.run(steps: 8)
        var caughtUp = false
        while let (_, _) = race.advance() {
            let steps = race.contenders.map(\.session.step)
            if steps[3] >= steps[0..<3].min()! { caughtUp = true }
            if caughtUp { #expect(steps.max()! - steps.min()! <= 1, "steps \(steps)") }
        }
        #expect(caughtUp)
        #expect(race.contenders.map(\.session.step) == [8, 8, 8, 8])
    }

    /// The open and ghost dialogs and `sessions list` show a saved race as a race and leave the
    /// experiments folder out (both listed as damaged snapshots before: no session.json).
    @Test func listingsShowRacesAndSkipTheExperimentsFolder() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "conv", request: tinyRequest(datasets: datasets, variant: .conv))
        try race.add(name: "cosine", request: tinyRequest(datasets: datasets, variant: .cosine))
        try race.run(steps: 1)
        while race.advance() != nil {}
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        try archive.write(race: race, name: "duo")
        try FileManager.default.createDirectory(atPath: datasets + "/Sessions/experiments/smoke", withIntermediateDirectories: true)
        let listings = try archive.listings()
        #expect(listings.map(\.name) == ["duo"])
        let entries = try archive.entries()
        #expect(entries.map(\.name) == ["duo"] && !entries[0].damaged && entries[0].detail == "race of 2: conv, cosine · step 1")
        var races: [String: (detail: String, damaged: Bool)] = [:]
        for l in listings { if let r = archive.raceDetail(path: l.summary.path) { races[l.summary.path] = r } }
        let table = SessionTable.render(listings, races: races)
        #expect(!table.contains("damaged") && table.contains("race of 2: conv, cosine · step 1"), "\(table)")
    }

    /// A race saved from the controller's capture reopens with its names, steps and fork.
    @Test func capturedRaceReopensAsARace() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "conv", request: tinyRequest(datasets: datasets, variant: .conv))
        try race.add(name: "sigmoid", request: tinyRequest(datasets: datasets, variant: .sigmoid(k: 0.3)))
        try race.run(steps: 3)
        while race.advance() != nil {}
        try race.branch(of: 1, name: "sigmoid-b") { h in h.schedule = LearningRateSchedule(base: 0.002) }
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        let path = try archive.write(archive.captureRace(race), name: "trio")
        #expect(SessionArchive.isRace(path: path))
        let entries = try archive.entries()
        #expect(entries.map(\.name) == ["trio"] && entries[0].detail.hasPrefix("race of 3: conv, sigmoid, sigmoid-b"))
        let reopened = try archive.restoreRace(path: path)
        #expect(reopened.contenders.map(\.name) == ["conv", "sigmoid", "sigmoid-b"])
        #expect(reopened.contenders.map(\.session.step) == [3, 3, 3])
        #expect(reopened.contenders[2].fork?.from == "sigmoid" && reopened.contenders[2].fork?.step == 3)
        #expect(reopened.contenders[2].session.trainer.learningRate == 0.002)
        for (a, b) in zip(reopened.contenders, race.contenders) {
            #expect(allValues(a.run.trainer.network) == allValues(b.run.trainer.network))
        }
        // Each run's snapshot still opens alone; the ghosts read one curve per run.
        let (alone, _) = try archive.restore(path: path + "/sigmoid-b")
        #expect(alone.session.step == 3)
        let ghosts = try Ghost.load(path: path)
        #expect(ghosts.map(\.name) == ["trio/conv", "trio/sigmoid", "trio/sigmoid-b"])
        #expect(ghosts.allSatisfy { $0.history.trainLoss.total == 3 })
        #expect(throws: EngineError.self) { try Ghost.load(path: datasets + "/nothing") }
    }
}

extension RaceController {
    /// Whether a notice is waiting (takes it).
    func takeNoticePeek() -> Bool { takeNotice() != nil }
}
