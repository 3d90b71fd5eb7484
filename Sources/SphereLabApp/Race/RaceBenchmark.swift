import Foundation
import Engine

/// What racing costs (issue #12's benchmark): the same runs trained as a race — one step of
/// each in turn, every per-step buffer in one shared workspace — and one after another, each
/// with a workspace of its own, alternating the two orders in every round so drift and other
/// load fall on both; and the peak resident memory of a race against one run, each measured
/// in a process of its own.
public struct RaceBenchmark {
    public static let standardVariants: [ConvVariant] = [.conv, .cosine, .sigmoid(k: 0.3), .linear]

    public var benchmark = Benchmark()
    public var configuration = Benchmark.Configuration.all[0]
    public var variants = RaceBenchmark.standardVariants
    /// Timed steps per run in each round (after one warm-up step each).
    public var steps = 6
    public var rounds = 5
    public init() {}

    public struct Throughput: Sendable {
        /// Training images per second over all runs, each round: the race, then one after another.
        public var race: [Double]
        public var sequential: [Double]
        /// Time of the race over the time of the same steps one run after another, minus 1:
        /// the median over rounds of each round's ratio (the two halves of a round ran back to
        /// back, under the same load); negative when the race was faster.
        public var overheadPercent: Double {
            100 * (Benchmark.median(zip(sequential, race).map { $0 / $1 }) - 1)
        }
    }

    public func throughput() throws -> Throughput {
        let shared = Workspace()
        let race = try variants.map { try benchmark.makeRun(configuration, variant: $0, workspace: shared).session }
        let alone = try variants.map { try benchmark.makeRun(configuration, variant: $0).session }
        // Warm-up: buffers sized, code paths touched.
        for s in race + alone { _ = s.advance() }
        var raceRates: [Double] = [], sequentialRates: [Double] = []
        let images = Double(steps * variants.count * benchmark.batch)
        for round in 0..<rounds {
            func timeRace() { raceRates.append(images / RaceBenchmark.seconds { for _ in 0..<steps { for s in race { _ = s.advance() } } }) }
            func timeSequential() { sequentialRates.append(images / RaceBenchmark.seconds { for s in alone { for _ in 0..<steps { _ = s.advance() } } }) }
            if round % 2 == 0 { timeRace(); timeSequential() } else { timeSequential(); timeRace() }
        }
        return Throughput(race: raceRates, sequential: sequentialRates)
    }

    /// Trains one run per variant in turn for `steps` steps, sharing a workspace, each then
    /// evaluated on `testImages` images, and returns this process's peak resident size in kB.
    /// Meant for a fresh process: the peak is the process's.
    public func peakResidentKilobytes(steps: Int, testImages: Int) throws -> Int {
        let shared = Workspace()
        let runs = try variants.map { try benchmark.makeRun(configuration, variant: $0, testImages: testImages, workspace: shared) }
        for _ in 0..<steps { for r in runs { _ = try r.trainer.trainStep() } }
        for r in runs { _ = try r.trainer.evaluate(limit: testImages) }
        return RaceBenchmark.peakResidentKilobytes()
    }

    /// This process's peak resident size in kB: VmHWM of /proc/self/status where there is
    /// one — it belongs to the program's own address space, while Linux's ru_maxrss also
    /// counts the parent's pages a spawned child had before exec — else ru_maxrss.
    public static func peakResidentKilobytes() -> Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            return kb
        }
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss   // kB on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss / 1024   // bytes on Apple systems
        #endif
    }

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
