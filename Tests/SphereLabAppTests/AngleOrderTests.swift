import Testing
import Foundation
import Engine
import TUI
@testable import SphereLabApp

/// The angle view lists layers in network order however the run came to the screen: fresh,
/// reopened alone, reopened as a race, branched. A run not yet measured since it was opened
/// shows its saved history, which is keyed by name; sorted by name, SphereNet's `fc6.0` came
/// before `features.0` (the view opened on fc6) and SphereResNet's `stem.0` came last.
@Suite(.serialized) struct AngleOrderTests {
    static let sphereNet9 = ["features.0", "features.3", "features.6", "features.10", "features.13", "features.16",
                             "features.20", "features.23", "features.26", "fc6.0"]

    func shown(_ session: TrainingSession) -> [String] {
        WorkbenchView.layersShown(session.telemetry()).map(\.layer)
    }

    @Test func freshResumedRaceAndBranchListLayersInNetworkOrder() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "conv", request: tinyRequest(datasets: datasets, variant: .conv))
        try race.add(name: "cosine", request: tinyRequest(datasets: datasets, variant: .cosine))
        try race.run(steps: 2)
        while race.advance() != nil {}
        // Fresh: the latest measurement.
        for c in race.contenders { #expect(shown(c.session) == Self.sphereNet9, "\(c.name)") }
        #expect(race.contenders[0].session.trainer.network.sphereCapable.map(\.name) == Self.sphereNet9)

        // Branched: a copy not yet stepped, drawn from its history.
        let branch = try race.branch(of: 1, name: "cosine-b")
        #expect(branch.session.telemetry().angles.isEmpty, "the branch was measured already: the history path is not exercised")
        #expect(shown(branch.session) == Self.sphereNet9)
        // It runs under its own name (the header showed the source's, "cosine").
        #expect(branch.session.labels.runName == "cosine-b" && branch.session.telemetry().runName == "cosine-b")

        // A saved race reopened: every run, paused before its first step.
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        let path = try archive.write(archive.captureRace(race), name: "duo")
        let reopened = try archive.restoreRace(path: path)
        #expect(reopened.contenders.count == 3)
        for c in reopened.contenders {
            #expect(c.session.telemetry().angles.isEmpty)
            #expect(shown(c.session) == Self.sphereNet9, "\(c.name)")
        }

        // One run reopened alone.
        let (alone, _) = try archive.restore(path: path + "/cosine")
        #expect(alone.session.telemetry().angles.isEmpty)
        #expect(shown(alone.session) == Self.sphereNet9)

        // And the screen: the angle view opens on the first layer.
        let s = AppState(telemetry: reopened.contenders[0].session.telemetry())
        let text = WorkbenchView.render(s, width: 120, height: 36).lines.joined(separator: "\n")
        #expect(text.contains("features.0 · conv") && !text.contains("fc6.0 ·"), "\(text)")
    }

    @Test func sphereResNetStemComesFirst() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let run = try tinyRequest(datasets: datasets, model: "sphereresnet8", variant: .linear).open()
        try run.session.run(steps: 2)
        while run.session.wantsWork { _ = run.session.advance() }
        #expect(run.session.step == 2)
        let archive = SessionArchive(root: datasets + "/Sessions", datasetsDirectory: datasets)
        let path = try archive.write(archive.capture(run.session, identity: run.identity), name: "res")
        let (reopened, _) = try archive.restore(path: path)
        let order = reopened.trainer.network.sphereCapable.map(\.name)
        #expect(order.first == "stem.0" && order.count > 3)
        #expect(shown(reopened.session) == order)
    }

    /// A remote job names its layers in its hello; the history replayed before any live
    /// measurement follows that order too.
    @Test func layersNotInTheListGoLastAndMeasuredOrderIsKept() {
        func entry(_ name: String) -> LayerAngles {
            LayerAngles(layer: name, variant: "cosine", step: 5, patchAngles: [1], kernelAngles: [1], percentiles: [0.1, 0.2, 0.3, 0.4, 0.5])
        }
        var t = Telemetry()
        for name in ["fc6.0", "features.3", "extra.1", "features.0"] {
            t.history.angleHistory[name, default: AngleHistory()].append(entry(name))
        }
        t.angleLayers = ["features.0", "features.3", "fc6.0"]
        #expect(WorkbenchView.layersShown(t).map(\.layer) == ["features.0", "features.3", "fc6.0", "extra.1"])
        // Without a list, a measurement keeps the order it was published in.
        t.angleLayers = []
        t.angles = ["features.0", "features.3", "fc6.0"].map(entry)
        #expect(WorkbenchView.layersShown(t).map(\.layer) == ["features.0", "features.3", "fc6.0"])
    }
}
