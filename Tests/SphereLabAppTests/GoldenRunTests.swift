import Testing
import Foundation
import Engine
@testable import SphereLabApp

/// A fixed-seed 25-step run whose every loss, accuracy and final test figure were recorded
/// with the build before the training core was rebuilt (one TrainingSession for every front
/// end). A refactor that does not change the maths must reproduce them bit for bit; a
/// deliberate change of the maths must re-record them and say why in its commit.
@Suite(.serialized) struct GoldenRunTests {
    static func record(variant: ConvVariant) throws -> [Double] {
        let datasets = try makeTinyDatasets(train: 96, test: 40)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        var request = tinyRequest(datasets: datasets, variant: variant)
        request.hyper.batchSize = 8
        let trainer = try request.makeTrainer()
        var out: [Double] = []
        for _ in 0..<25 {
            let r = try trainer.trainStep()
            out.append(r.loss); out.append(r.accuracy)
        }
        let e = try trainer.evaluate()
        out.append(e.loss); out.append(e.accuracy)
        return out
    }

    /// Bit patterns of (loss, accuracy) × 25 steps, then (test loss, test accuracy), recorded with
    /// two workers (this machine kind) at commit b55d83a.
    static let golden: [String: [String]] = [
        "cosine": [
            "40053f20bf279f81", "3fd0000000000000", "40054355d2eac804", "3fc0000000000000", "400986e6af60fc13", "3fc0000000000000",
            "40075391d6155f9a", "3fc0000000000000", "3ffee0594f03845c", "3fe0000000000000", "4008bd3951241c02", "0",
            "4007a0e378e2e6a5", "3fd0000000000000", "40002f3a711a76f9", "3fd0000000000000", "3ffd7790c4746a3a", "3fd0000000000000",
            "3ff830a9161ad474", "3fe0000000000000", "3ffcaf410d2b9358", "3fd8000000000000", "3ffd1949faa3a46f", "3fd8000000000000",
            "3fe725726c18a6d9", "3fe4000000000000", "3fe8be1d0359cd39", "3fe4000000000000", "3fd01bd13e9c9919", "3ff0000000000000",
            "3fea69cfa9068864", "3fe8000000000000", "3fda67c0818e680a", "3fec000000000000", "3fd1d08f807b0579", "3ff0000000000000",
            "3fd797f62b5151fc", "3ff0000000000000", "3fd49cd27215c749", "3ff0000000000000", "3fd80e82ff7ceaa7", "3ff0000000000000",
            "3fe4453dd3089b2a", "3fec000000000000", "3fd7422f6a875676", "3ff0000000000000", "3fd6deed4482aaaf", "3ff0000000000000",
            "3fe4320a6fec6f19", "3fe8000000000000", "400045abf03fc694", "3fe4000000000000",
        ],
        "conv": [
            "4003e55593618824", "3fc0000000000000", "4004e2a232523123", "3fd8000000000000", "400c0d6d80d090e6", "3fc0000000000000",
            "400beb793f051f58", "3fc0000000000000", "3fff4acd4333930d", "3fd8000000000000", "40020a5f026e8944", "3fc0000000000000",
            "4002c1c62db5acde", "3fc0000000000000", "3ff7bf4f3044540a", "3fe0000000000000", "40013f29c43d6cc1", "3fd0000000000000",
            "40000767872a6a22", "3fd8000000000000", "400bb8e7bf51a194", "3fc0000000000000", "40013fc629c2fa40", "3fd0000000000000",
            "3fe6c59e957c6228", "3fec000000000000", "3fe57cd7456a9f99", "3ff0000000000000", "3fdd0d9c78576027", "3ff0000000000000",
            "3fea4add27a0546a", "3fec000000000000", "3fe8f163e1d784be", "3fe4000000000000", "3fdf8175e9bfd476", "3fec000000000000",
            "3fe055414b3dba6c", "3fec000000000000", "3fe64a616206f35e", "3ff0000000000000", "3fe180d2f8885ff2", "3ff0000000000000",
            "3fd18a47697aae11", "3ff0000000000000", "3fe003676bf6e4e6", "3fec000000000000", "3fd8f24a02f6c712", "3fec000000000000",
            "3fde08958c7d4f52", "3ff0000000000000", "3fe336ce0979231e", "3feccccccccccccd",
        ],
        "lr-sigmoid": [
            "40052e7aa21839ec", "3fd0000000000000", "4004d876017968cf", "3fc0000000000000", "4008ef0040567354", "3fc0000000000000",
            "4006a9e093a50d25", "0", "3fffcb67260d8148", "3fe0000000000000", "4008f59f836de81e", "0",
            "4005150afc727dd4", "3fd0000000000000", "400361b80eddffb8", "3fd0000000000000", "3ffc0d5c1f1246d6", "3fe0000000000000",
            "3ff5218b4b12d1b6", "3fe0000000000000", "3ffcb8e129e29068", "3fd8000000000000", "3ffdc2aadd0c10bf", "3fd0000000000000",
            "3fe4dde4c34658ae", "3fec000000000000", "3fe5c5cac2094c2c", "3fec000000000000", "3fd56db7a74ab1c1", "3ff0000000000000",
            "3fecc43044914544", "3fe8000000000000", "3fdf44adebaa5f7e", "3fec000000000000", "3fd5379287392bb7", "3ff0000000000000",
            "3fdf5262f5259a92", "3fec000000000000", "3fd5eff36a06ae37", "3ff0000000000000", "3fddd81cb77fcf8b", "3fec000000000000",
            "3fdfb99a59559b03", "3fec000000000000", "3fd59198f2f7bd74", "3ff0000000000000", "3fd990449daa4531", "3ff0000000000000",
            "3fe1b0e23e6e74f5", "3ff0000000000000", "40004e0e6f661808", "3fe8cccccccccccd",
        ],
    ]

    @Test(arguments: [ConvVariant.cosine, .conv, .learnableSigmoid])
    func matchesTheRecordedRun(_ variant: ConvVariant) throws {
        // GEMMs split over the workers sum in a worker-dependent order; the record is for two.
        guard BLASThreads.count == 2 else { return }
        let values = try GoldenRunTests.record(variant: variant)
        let expected = try #require(GoldenRunTests.golden[variant.name])
        #expect(values.count == expected.count)
        for (i, (v, e)) in zip(values, expected).enumerated() {
            #expect(String(v.bitPattern, radix: 16) == e, "value \(i) (\(i < 50 ? "step \(i / 2 + 1) \(i % 2 == 0 ? "loss" : "accuracy")" : "evaluation")): \(v) vs \(Double(bitPattern: UInt64(e, radix: 16)!))")
        }
    }
}
