import Testing
import Foundation
import Engine
@testable import SphereLabApp

/// The long-run properties at a size a debug test can afford (`spherelab bench --long-run
/// 100000` measures the full run in release): history bounded, snapshot small, exact resume.
@Suite(.serialized) struct LongRunTests {
    @Test func aLongRunKeepsBoundedHistoryAndResumesExactly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spherelab-longrun-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let report = try LongRunBenchmark(steps: 2_500).run(sessionsFolder: folder)
        #expect(report.resumesExactly)
        #expect(report.sessionJSONBytes > 0 && report.sessionJSONBytes < 1_000_000)
        let run = try LongRunBenchmark.restoreSynthetic(path: folder + "/long-run", archive: SessionArchive(root: folder))
        let h = run.1.history
        #expect(h.trainLoss.total == 2_500)
        #expect(h.trainLoss.recent.count < MetricSeries.recentCapacity + h.trainLoss.pointsPerBucket)
        #expect(!h.trainLoss.buckets.isEmpty)   // the oldest steps were folded, not dropped
        #expect(h.trainLoss.buckets.first?.firstStep == 1)
        #expect(h.testAccuracy.points.map(\.step) == [1000, 2000, 2500])
    }
}
