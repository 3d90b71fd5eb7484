import Foundation
import Testing
@testable import Engine

/// The engine against the golden files written by `PyTorch/tools/make_golden.py` (float64
/// PyTorch, spherelab_torch): the same input and weights must give the same forward output
/// and gradients in Swift and in Python. The Python suite checks the package against the
/// same files, so the two implementations are held to each other.
///
/// Files are NCHW (PyTorch's layout); the engine's activations are (C, N, H, W), so inputs
/// and outputs are transposed here. Tolerance, per element, as each file states:
/// |actual − expected| ≤ 1e-5 · max(|expected|, rms(expected)).
@Suite("golden files shared with the PyTorch package")
struct GoldenTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Golden")

    static func files(prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
    }

    struct GoldenFile {
        let name: String
        let object: [String: Any]

        init(_ file: String) throws {
            name = file
            let data = try Data(contentsOf: GoldenTests.folder.appendingPathComponent(file))
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw EngineError("\(file): not a JSON object; rerun PyTorch/tools/make_golden.py")
            }
            object = o
        }

        func doubles(_ key: String) throws -> [Double] {
            guard let a = object[key] as? [NSNumber] else {
                throw EngineError("\(name): '\(key)' missing or not a list of numbers; rerun PyTorch/tools/make_golden.py")
            }
            return a.map(\.doubleValue)
        }
        func ints(_ key: String) throws -> [Int] { try doubles(key).map { Int($0) } }
        func int(_ key: String, in dict: String? = nil) throws -> Int {
            let source = dict.flatMap { object[$0] as? [String: Any] } ?? object
            guard let v = source[key] as? NSNumber else { throw EngineError("\(name): '\(key)' missing") }
            return v.intValue
        }
        func string(_ key: String) throws -> String {
            guard let v = object[key] as? String else { throw EngineError("\(name): '\(key)' missing") }
            return v
        }
    }

    /// Mismatches under the files' rule, described for the failure message (first five).
    static func mismatches(_ what: String, actual: [Double], expected: [Double], relative: Double = 1e-5) -> [String] {
        guard actual.count == expected.count else { return ["\(what): \(actual.count) values, expected \(expected.count)"] }
        let rms = (expected.reduce(0) { $0 + $1 * $1 } / Double(max(expected.count, 1))).squareRoot()
        var bad: [String] = []
        for i in expected.indices {
            let bound = relative * max(abs(expected[i]), rms)
            if !(abs(actual[i] - expected[i]) <= bound) {
                bad.append("\(what)[\(i)]: engine \(actual[i]), golden \(expected[i]) (bound \(bound))")
            }
        }
        return Array(bad.prefix(5)) + (bad.count > 5 ? ["… \(bad.count - 5) more"] : [])
    }

    /// NCHW → (C, N, H, W) and back.
    static func toChannelMajor(_ v: [Double], n: Int, c: Int, hw: Int) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for i in 0..<n { for ch in 0..<c { for p in 0..<hw { out[(ch * n + i) * hw + p] = Float(v[(i * c + ch) * hw + p]) } } }
        return out
    }
    static func toNCHW(_ v: [Float], n: Int, c: Int, hw: Int) -> [Double] {
        var out = [Double](repeating: 0, count: v.count)
        for i in 0..<n { for ch in 0..<c { for p in 0..<hw { out[(i * c + ch) * hw + p] = Double(v[(ch * n + i) * hw + p]) } } }
        return out
    }

    @Test("the golden folder holds every operator and head")
    func filesPresent() {
        let convs = GoldenTests.files(prefix: "conv_"), heads = GoldenTests.files(prefix: "head_")
        for stem in ["conv_plain", "conv_cosine", "conv_linear", "conv_sigmoid_k0.3", "conv_lr-sigmoid"] {
            #expect(convs.contains(stem + ".json"), "missing Tests/Golden/\(stem).json: run python3 PyTorch/tools/make_golden.py")
        }
        #expect(heads.contains("head_w-softmax.json"))
        #expect(heads.contains { $0.hasPrefix("head_ga-softmax") })
    }

    @Test("Conv2D forward and gradients match the golden files", arguments: GoldenTests.files(prefix: "conv_"))
    func convolution(_ file: String) throws {
        let g = try GoldenFile(file)
        let variant = try ConvVariant(parsing: try g.string("variant"))
        let (n, c, h, w) = (try g.int("batch", in: "geometry"), try g.int("in_channels", in: "geometry"),
                            try g.int("height", in: "geometry"), try g.int("width", in: "geometry"))
        let (oc, k, s, p) = (try g.int("out_channels", in: "geometry"), try g.int("kernel", in: "geometry"),
                             try g.int("stride", in: "geometry"), try g.int("padding", in: "geometry"))
        let conv = Conv2D(name: "golden", inChannels: c, outChannels: oc, kernel: k, stride: s, padding: p,
                          variant: variant, workspace: Workspace())
        conv.weight.value.copy(from: try g.doubles("weight").map(Float.init))
        if variant == .learnableSigmoid { try conv.restoreLearnableK(try g.doubles("k_raw").map(Float.init)) }
        let inShape = Shape(channels: c, batch: n, height: h, width: w)
        let x = Activation(FloatBuffer(GoldenTests.toChannelMajor(try g.doubles("input"), n: n, c: c, hw: h * w)), inShape)
        let out = conv.forward(x, training: true)
        let outShape = try g.ints("output_shape")
        #expect([out.shape.batch, out.shape.channels, out.shape.height, out.shape.width] == outShape)
        let ohw = out.shape.height * out.shape.width
        var bad = GoldenTests.mismatches("output", actual: GoldenTests.toNCHW(out.buffer.array, n: n, c: oc, hw: ohw),
                                         expected: try g.doubles("output"))
        let dy = FloatBuffer(GoldenTests.toChannelMajor(try g.doubles("output_gradient"), n: n, c: oc, hw: ohw))
        let dx = try #require(conv.backward(Activation(dy, out.shape)))
        bad += GoldenTests.mismatches("input gradient", actual: GoldenTests.toNCHW(dx.buffer.array, n: n, c: c, hw: h * w),
                                      expected: try g.doubles("input_gradient"))
        bad += GoldenTests.mismatches("weight gradient", actual: conv.weight.grad.array.map(Double.init),
                                      expected: try g.doubles("weight_gradient"))
        if variant == .learnableSigmoid {
            let kRaw = try #require(conv.kRaw)
            bad += GoldenTests.mismatches("k gradient", actual: kRaw.grad.array.map(Double.init), expected: try g.doubles("k_gradient"))
        }
        #expect(bad.isEmpty, "\(file): \(bad.joined(separator: "; "))")
    }

    static func headKind(_ json: Any?) throws -> HeadKind {
        guard let o = json as? [String: Any], let key = o.keys.first else { throw EngineError("head: not an object") }
        switch key {
        case "linear": return .linear
        case "weightNormalized": return .weightNormalized
        case "generalizedAngular":
            guard let body = o[key] as? [String: Any], let m = body["margin"] as? NSNumber,
                  let op = body["op"] as? [String: Any], let name = op.keys.first else { throw EngineError("head: bad GA-Softmax entry") }
            switch name {
            case "cosine": return .generalizedAngular(margin: m.intValue, op: .cosine)
            case "linear": return .generalizedAngular(margin: m.intValue, op: .linear)
            case "sigmoid":
                let k = ((op[name] as? [String: Any])?["k"] as? NSNumber)?.doubleValue ?? 0.3
                return .generalizedAngular(margin: m.intValue, op: .sigmoid(k: k))
            default: throw EngineError("head: unknown operator \(name)")
            }
        default: throw EngineError("head: unknown kind \(key)")
        }
    }

    @Test("ScoreHead (Float, as training runs it) matches the golden files", arguments: GoldenTests.files(prefix: "head_"))
    func head(_ file: String) throws {
        let g = try GoldenFile(file)
        let kind = try GoldenTests.headKind(g.object["head"])
        let ce = g.object["cross_entropy"] as? [String: Any]
        let options = CrossEntropyOptions(labelSmoothing: (ce?["labelSmoothing"] as? NSNumber)?.doubleValue ?? 0,
                                          probabilityFloor: (ce?["probabilityFloor"] as? NSNumber)?.doubleValue ?? 0)
        let (n, d, c) = (try g.int("batch"), try g.int("features_count"), try g.int("classes"))
        var head = try ScoreHead<Float>(kind: kind, options: options, maxBatch: n, features: d, classes: c)
        let f = try g.doubles("features").map(Float.init), w = try g.doubles("weight").map(Float.init)
        let labels = try g.ints("labels").map(Int32.init)
        var logits = [Float](repeating: 0, count: n * c)
        let (loss, _) = try head.forward(features: f, weights: w, labels: labels, batch: n, training: true, logits: &logits)
        var dF = [Float](repeating: 0, count: n * d), dW = [Float](repeating: 0, count: c * d)
        try head.backward(features: f, weights: w, batch: n, dFeatures: &dF, dWeights: &dW)
        var bad = GoldenTests.mismatches("loss", actual: [loss], expected: [(g.object["loss"] as? NSNumber)?.doubleValue ?? .nan])
        bad += GoldenTests.mismatches("logits", actual: logits.map(Double.init), expected: try g.doubles("logits"))
        bad += GoldenTests.mismatches("features gradient", actual: dF.map(Double.init), expected: try g.doubles("features_gradient"))
        bad += GoldenTests.mismatches("weight gradient", actual: dW.map(Double.init), expected: try g.doubles("weight_gradient"))
        var evalLogits = logits
        let (evalLoss, _) = try head.forward(features: f, weights: w, labels: labels, batch: n, training: false, logits: &evalLogits)
        bad += GoldenTests.mismatches("eval loss", actual: [evalLoss], expected: [(g.object["eval_loss"] as? NSNumber)?.doubleValue ?? .nan])
        #expect(bad.isEmpty, "\(file): \(bad.joined(separator: "; "))")
    }
}
