import Testing
import Foundation
import Engine
@testable import SphereLabApp

/// `spherelab bench --sgemm` and the convolution-work fields of bench's lines, through the
/// real binary where the output format matters (Benchmarks/compare_pytorch.py reads it).
@Suite struct BenchCommandTests {
    static func jsonObjects(_ output: String) -> [[String: Any]] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{"), let data = line.data(using: .utf8) else { return nil }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        }
    }

    @Test func sgemmPrintsOneParsableLine() throws {
        let bin = try #require(EndToEndTests.binary, "spherelab binary not found next to the tests; run `swift build` first")
        let (status, output) = EndToEndTests.shell([bin, "bench", "--sgemm", "--sgemm-size", "96", "--threads", "2", "--json"])
        #expect(status == 0, "\(output)")
        let rows = Self.jsonObjects(output)
        #expect(rows.count == 1 && output.split(separator: "\n").count == 1, "\(output)")
        let row = try #require(rows.first)
        #expect(row["mode"] as? String == "sgemm")
        #expect(row["size"] as? Int == 96)
        #expect(row["threads"] as? Int == 2)
        let median = try #require(row["sgemm_gflops"] as? Double), best = try #require(row["sgemm_gflops_best"] as? Double)
        #expect(median > 0 && best >= median, "\(output)")
        #expect((row["timed_calls"] as? Int ?? 0) >= 1)

        let text = EndToEndTests.shell([bin, "bench", "--sgemm", "--sgemm-size", "96", "--threads", "1"])
        #expect(text.status == 0)
        #expect(text.output.range(of: #"^sgemm n=96, 1 thread \(.*\): [0-9.]+ GFLOP/s \(median of \d+ calls"#, options: .regularExpression) != nil,
                "\(text.output)")
    }

    @Test func sgemmRefusesBadSizesBeforeWork() throws {
        let bin = try #require(EndToEndTests.binary, "spherelab binary not found next to the tests; run `swift build` first")
        let cases: [([String], String)] = [
            (["--sgemm", "--sgemm-size", "8"], "sgemm size 8 is out of range 16…4096"),
            (["--sgemm", "--sgemm-size", "5000"], "sgemm size 5000 is out of range 16…4096"),
            (["--sgemm", "--sgemm-size", "big"], "'big' is invalid for '--sgemm-size"),
            (["--sgemm-size", "256"], "add --sgemm"),
            (["--sgemm", "--race", "3"], "cannot be combined with --race"),
        ]
        for (arguments, message) in cases {
            let (status, output) = EndToEndTests.shell([bin, "bench"] + arguments)
            #expect(status != 0 && output.contains(message), "\(arguments): \(output)")
            #expect(!output.contains("GFLOP/s"), "\(arguments) measured before refusing: \(output)")
        }
    }

    /// Each training and inference line carries the configuration's direct-convolution work
    /// and the rate it implies.
    @Test func trainingLinesCarryConvolutionWork() throws {
        let bin = try #require(EndToEndTests.binary, "spherelab binary not found next to the tests; run `swift build` first")
        let (status, output) = EndToEndTests.shell([bin, "bench", "--config", "fmnist-w0.25", "--variant", "conv", "--batch", "4",
                                                    "--steps", "1", "--json"])
        #expect(status == 0, "\(output)")
        let rows = Self.jsonObjects(output)
        #expect(rows.map { $0["mode"] as? String } == ["train", "inference"], "\(output)")
        for row in rows {
            let perImage = try #require(row["conv_gflop_per_image"] as? Double)
            let rate = try #require(row["conv_gflops"] as? Double), ips = try #require(row["images_per_sec"] as? Double)
            // 183 284 736 FLOP per training image, 61 094 912 per forward pass (ConvolutionWorkTests).
            let expected = row["mode"] as? String == "train" ? 0.183284736 : 0.061094912
            #expect(abs(perImage - expected) <= 1e-6, "\(row)")
            #expect(abs(rate - ips * perImage) <= 1e-3 * rate, "\(row)")
        }
    }

    /// The configurations bench names count their own models: cifar-w1 gives the README's figures.
    @Test func configurationsCountTheirModels() throws {
        let cifar = try Benchmark.Configuration.named("cifar-w1")[0].convolutionWork()
        #expect(cifar.trainingFLOPPerImage == 3_821_273_088 && cifar.forwardFLOPPerImage == 1_273_757_696)
        let fmnist = try Benchmark.Configuration.named("fmnist-w0.25")[0].convolutionWork()
        #expect(fmnist.trainingFLOPPerImage == 183_284_736)
    }
}
