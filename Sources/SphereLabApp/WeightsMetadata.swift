import Foundation
import Engine
import SessionStore

/// How to evaluate a weights file, recorded in its safetensors `__metadata__` (strings only).
/// The keys and values are the Python package's (PyTorch/spherelab_torch/snapshot.py), so a
/// file from either side says the same thing: BatchNorm ε and statistics convention, whether
/// fc6 has its BatchNorm, the normalisation after each SphereConv, and the input scaling.
public enum WeightsMetadata {
    /// The engine's input scaling (DataLoaders/BatchLayout.swift), as the Python side writes it.
    public static let inputNormalization = "(x-127.5)/128"

    public static func record(for spec: ModelSpec, producer: String = "spherelab") -> [String: String] {
        ["format": "pt", "producer": producer,
         "bn_epsilon": String(describing: epsilon(spec.batchNormStatistics)),
         "bn_statistics": spec.batchNormStatistics.rawValue,
         "fc6_batchnorm": spec.fc6BatchNorm ? "true" : "false",
         "normalization": spec.normalization.rawValue,
         "input_normalization": inputNormalization]
    }

    /// ε as a Double written the way Python's repr writes it ("1e-05", "0.001").
    static func epsilon(_ s: BatchNormStatistics) -> Double { s == .pytorch ? 1e-5 : 1e-3 }

    /// What the file asks for, read leniently: absent keys are nil (older files, other tools).
    public struct Recipe: Equatable, Sendable {
        public var statistics: BatchNormStatistics?
        public var epsilon: Float?
        public var fc6BatchNorm: Bool?
        public var normalization: ModelSpec.Normalization?
        public var inputNormalization: String?
    }

    /// Parses the keys; a value that is present but not understood is an error naming it.
    public static func recipe(_ md: [String: String], path: String) throws -> Recipe {
        var r = Recipe()
        if let s = md["bn_statistics"] {
            guard let v = BatchNormStatistics(rawValue: s) else {
                throw EngineError("\(path): metadata bn_statistics '\(s)' is not pytorch or paper")
            }
            r.statistics = v
        }
        if let e = md["bn_epsilon"] {
            guard let v = Float(e), v.isFinite, v > 0, v < 1 else {
                throw EngineError("\(path): metadata bn_epsilon '\(e)' is not a number in (0, 1)")
            }
            r.epsilon = v
        }
        if let f = md["fc6_batchnorm"] {
            guard f == "true" || f == "false" else { throw EngineError("\(path): metadata fc6_batchnorm '\(f)' is not true or false") }
            r.fc6BatchNorm = f == "true"
        }
        if let n = md["normalization"] {
            guard let v = ModelSpec.Normalization(rawValue: n) else {
                throw EngineError("\(path): metadata normalization '\(n)' is not bn, spherenorm or spherenorm+bn")
            }
            r.normalization = v
        }
        r.inputNormalization = md["input_normalization"]
        return r
    }

    /// Refuses a model that cannot honour the file's recipe (with the option that fixes it);
    /// returns the ε to use, when the file records one.
    public static func check(_ md: [String: String], against spec: ModelSpec, path: String) throws -> Float? {
        let r = try recipe(md, path: path)
        if let i = r.inputNormalization, i != inputNormalization {
            throw EngineError("\(path): the weights expect input normalisation \(i); SphereLab feeds \(inputNormalization). Evaluate them with the pipeline they were trained with")
        }
        if let s = r.statistics, s != spec.batchNormStatistics {
            throw EngineError("\(path): the weights were trained with BatchNorm statistics '\(s.rawValue)', the model is built with '\(spec.batchNormStatistics.rawValue)': pass --bn-stats \(s.rawValue)")
        }
        if let f = r.fc6BatchNorm, f != spec.fc6BatchNorm {
            throw EngineError("\(path): the weights say fc6 BatchNorm is \(f ? "on" : "off"), the model has it \(spec.fc6BatchNorm ? "on" : "off"): pass --fc6-bn \(f ? "on" : "off")")
        }
        if let n = r.normalization, n != spec.normalization {
            throw EngineError("\(path): the weights use normalisation '\(n.rawValue)', the model '\(spec.normalization.rawValue)': pass --normalization \(n.rawValue)")
        }
        return r.epsilon
    }

    // MARK: names

    /// Names other PyTorch code commonly gives SphereLab's tensors: (foreign piece, SphereLab's).
    static let renames: [(String, String, String)] = [
        ("module.", "", "a DistributedDataParallel/DataParallel wrapper's prefix `module.`: strip it"),
        ("_orig_mod.", "", "torch.compile's prefix `_orig_mod.`: strip it"),
        ("fc6_bn.", "fc6.1.", "looks like fc6_bn.* — SphereLab names it fc6.1.*"),
        ("fc6.weight", "fc6.0.weight", "looks like fc6.weight — SphereLab names it fc6.0.weight"),
        ("fc6.k", "fc6.0.k", "looks like fc6.k — SphereLab names it fc6.0.k"),
        ("classifier.", "score.", "looks like classifier.* — SphereLab names it score.*"),
        ("fc.weight", "score.weight", "looks like fc.weight — SphereLab names it score.weight"),
        (".k_raw", ".k", "learnable k — SphereLab names it <layer>.k"),
        (".kappa", ".k", "learnable k — SphereLab names it <layer>.k"),
    ]

    /// The SphereLab name a foreign name most likely means, with the reason, if one fits.
    static func guess(_ name: String, among wanted: Set<String>) -> (String, String)? {
        for (old, new, why) in renames where name.contains(old) {
            let candidate: String
            if old.hasSuffix("."), new.isEmpty {
                guard name.hasPrefix(old) else { continue }
                candidate = String(name.dropFirst(old.count))
            } else {
                candidate = name.replacingOccurrences(of: old, with: new)
            }
            if wanted.contains(candidate) { return (candidate, why) }
        }
        return nil
    }

    /// One message listing every missing and unexpected tensor, with rename hints.
    static func mismatch(missing: [String], unexpected: [String], have: [String: [Int]], want: [String: [Int]],
                         absent: Set<String>, path: String) -> String {
        var lines = ["\(path): the weights do not fit this model (\(missing.count) missing, \(unexpected.count) unexpected)"]
        var hinted = Set<String>()
        for u in unexpected.sorted() {
            let shape = have[u] ?? []
            if let (target, why) = guess(u, among: absent) {
                hinted.insert(target)
                lines.append("  unexpected \(u) \(shape) — \(why) (→ \(target))")
            } else if u.hasSuffix(".bias"), shape.count == 1,
                      let w = want[String(u.dropLast(5)) + ".weight"], w.count == 4 || u.hasPrefix("score") {
                lines.append("  unexpected \(u) \(shape) — SphereLab's convolutions and score layer have no bias")
            } else if u.hasPrefix("fc6.1."), !want.keys.contains(where: { $0.hasPrefix("fc6.1.") }) {
                lines.append("  unexpected \(u) \(shape) — BatchNorm after fc6, which this model is built without: pass --fc6-bn on")
            } else {
                lines.append("  unexpected \(u) \(shape)")
            }
        }
        for m in missing.sorted() {
            var note = hinted.contains(m) ? " (present under another name above)" : ""
            if note.isEmpty && m.hasPrefix("fc6.1.") {
                note = " — the model has BatchNorm after fc6; if the weights were trained without it, pass --fc6-bn off"
            }
            lines.append("  missing \(m) \(want[m] ?? [])\(note)")
        }
        lines.append("  Rename the tensors, or build the model the weights belong to (--model, --width, --normalization, --fc6-bn).")
        return lines.joined(separator: "\n")
    }
}

extension SessionArchive {
    /// Copies `weights` into `network`, checking the file's recipe (`metadata`), every name and
    /// every shape first; all problems are reported together. `num_batches_tracked` may be
    /// absent (evaluation never reads it; it becomes 0). A recorded BatchNorm ε is applied.
    public static func load(weights: [NamedTensor], metadata: [String: String], into network: Network,
                            spec: ModelSpec?, path: String) throws {
        let eps = try spec.map { try WeightsMetadata.check(metadata, against: $0, path: path) } ?? nil
        var byName: [String: NamedTensor] = [:]
        for t in weights { byName[t.name] = t }
        // Learnable k first: it creates the parameter where the file has one.
        for c in network.convolutions {
            if let k = byName["\(c.name).k"] { try c.restoreLearnableK(try floats(k, path: path)) }
        }
        var want: [String: [Int]] = [:]
        var order: [String] = []
        for p in network.savedParameters { want[p.name] = p.shape; order.append(p.name) }
        for b in network.stateBuffers { want[b.name] = b.shape; order.append(b.name) }
        let optional = { (name: String) in name.hasSuffix(".num_batches_tracked") }
        let absent = Set(order.filter { byName[$0] == nil })
        let missing = order.filter { byName[$0] == nil && !optional($0) }
        let unexpected = byName.keys.filter { want[$0] == nil }
        if !missing.isEmpty || !unexpected.isEmpty {
            throw EngineError(WeightsMetadata.mismatch(missing: missing, unexpected: unexpected,
                                                       have: byName.mapValues(\.shape), want: want, absent: absent, path: path))
        }
        let wrong = order.compactMap { n -> String? in
            guard let t = byName[n], let w = want[n], t.shape != w else { return nil }
            return "  \(n): file \(t.shape), model \(w)"
        }
        if !wrong.isEmpty {
            throw EngineError("\(path): tensors with the wrong shape:\n" + wrong.joined(separator: "\n")
                              + "\n  Build the model the weights belong to (--model, --width; the dataset fixes channels and classes).")
        }
        for p in network.savedParameters { p.value.copy(from: try floats(byName[p.name]!, path: path)) }
        for b in network.stateBuffers {
            if let t = byName[b.name] { b.value.copy(from: try floats(t, path: path)) } else { b.value.fill(0) }
        }
        if let eps { for bn in network.batchNorms { bn.epsilonOverride = eps } }
    }
}
