import Testing
import Foundation
@testable import Engine

@Suite struct MetricSeriesTests {
    static func point(_ i: Int) -> MetricPoint {
        MetricPoint(step: i, value: i % 997 == 0 ? 50 : 1 + Double(i % 13) / 100, seconds: Double(i) / 10)
    }

    @Test func memoryStaysBoundedAndSpikesStayVisible() {
        var s = MetricSeries()
        for i in 1...1_000_000 { s.append(MetricSeriesTests.point(i)) }
        #expect(s.total == 1_000_000)
        #expect(s.recent.count < MetricSeries.recentCapacity + s.pointsPerBucket)
        #expect(s.buckets.count <= MetricSeries.bucketCapacity)
        #expect(s.last?.step == 1_000_000)
        // Every point is accounted for exactly once, in step order.
        #expect(s.buckets.reduce(0) { $0 + $1.count } + s.recent.count == 1_000_000)
        let steps = s.spans.map(\.step)
        #expect(steps == steps.sorted())
        // The spikes (value 50 every 997 steps) survive as bucket maxima; means stay near 1.
        let withSpike = s.buckets.filter { $0.max == 50 }
        #expect(withSpike.count >= s.buckets.count / 2)
        #expect(s.buckets.allSatisfy { $0.min >= 1 && $0.mean < 2 })
        #expect(s.maximum?.value == 50)
    }

    @Test func aSavedSeriesContinuesExactlyAsAnUninterruptedOne() throws {
        var straight = MetricSeries(), first = MetricSeries()
        for i in 1...30_000 { straight.append(MetricSeriesTests.point(i)) }
        for i in 1...12_345 { first.append(MetricSeriesTests.point(i)) }
        let data = try JSONEncoder().encode(first)
        var resumed = try JSONDecoder().decode(MetricSeries.self, from: data)
        #expect(resumed == first)
        for i in 12_346...30_000 { resumed.append(MetricSeriesTests.point(i)) }
        #expect(resumed == straight)
        #expect(try JSONEncoder().encode(straight).count < 200_000)
    }

    @Test func snapshotsWithPlainPointListsStillLoad() throws {
        let old = #"[{"step":1,"value":2.5},{"step":2,"value":2.25}]"#
        let s = try JSONDecoder().decode(MetricSeries.self, from: Data(old.utf8))
        #expect(s.points == [MetricPoint(step: 1, value: 2.5), MetricPoint(step: 2, value: 2.25)])
    }

    @Test func damagedBoundsAreRefused() {
        let bad = #"{"buckets":[],"recent":[],"pointsPerBucket":3,"total":0}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MetricSeries.self, from: Data(bad.utf8)) }
    }

    @Test func theEventLogKeepsChangeMarkersLongest() {
        var h = RunHistory()
        h.log(RunEvent(step: 0, text: "lr", marker: "lr×2"))
        for i in 1...5_000 { h.log(RunEvent(step: i, text: "line \(i)")) }
        #expect(h.events.count <= RunHistory.eventCapacity + RunHistory.eventCapacity / 10)
        #expect(h.events.first?.marker == "lr×2")
        #expect(h.events.last?.text == "line 5000")
    }
}
