import Foundation
import Engine
import DataLoaders

/// A JSON value as read from an experiment file (numbers as Double; booleans kept apart).
public enum JSONValue: Sendable, Equatable, Codable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): if d == d.rounded(), abs(d) < 1e15 { try c.encode(Int(d)) } else { try c.encode(d) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// How the value reads in labels and option values: `0.001`, `conv`, `true`.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): return s
        case .array(let a): return a.map(\.text).joined(separator: ",")
        case .object(let o): return o.keys.sorted().map { "\($0)=\(o[$0]!.text)" }.joined(separator: ",")
        }
    }

    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// An experiment file that does not say what SphereLab needs: which key, what was expected.
public struct ExperimentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// One point of the grid: a configuration (every axis but the seed) and a seed.
public struct ExperimentRunPlan: Sendable, Equatable {
    /// Folder name of the run's snapshot: `<config id>-s<seed>`.
    public var id: String
    /// Label of the configuration for people and reports: the axis values, e.g. `spherenet18 cosine`.
    public var config: String
    /// Axis name → value text (seed excluded).
    public var axes: [String: String]
    public var seed: UInt64
    /// Every option of the run (base and axes), as in the file.
    public var options: [String: JSONValue]
}

/// An experiment: base options, axes to vary, budget, evaluation schedule and thresholds.
/// See README "Experiments" for the file format.
public struct ExperimentSpec: Sendable, Equatable {
    public var name: String
    public var description: String
    public var base: [String: JSONValue]
    /// Axis name → values; an option name (`variant`, `seed`, …) or a bundle axis whose values
    /// are objects of several options (with an optional `label`).
    public var axes: [String: [JSONValue]]
    public var steps: Int
    public var evalEvery: Int
    public var thresholds: [Double]
    public var bothEvaluationModes: Bool
    public var saveEvery: Int
    /// Options that make a configuration the baseline of its group (default `variant: conv`).
    public var baseline: [String: JSONValue]
    /// The original text (kept in the manifest).
    public var source: JSONValue

    /// Option names a run accepts — the same as `spherelab train`'s.
    public static let optionKeys = ["dataset", "model", "width", "normalization", "bn-stats", "loss", "margin", "optimizer", "lr",
                                    "momentum", "lr-milestones", "batch", "weight-decay", "orthogonality", "augment", "eval-limit",
                                    "variant", "seed"]
    static let topKeys = ["name", "description", "base", "axes", "steps", "eval_every", "thresholds", "both_eval_modes",
                          "save_every", "baseline"]

    /// Parses and checks an experiment file's text; `origin` names it in errors.
    public static func parse(_ data: Data, origin: String) throws -> ExperimentSpec {
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw ExperimentError("\(origin): not valid JSON (\(Self.describe(error))); an experiment file is one JSON object — see README \"Experiments\"")
        }
        guard case .object(let top) = root else { throw ExperimentError("\(origin): the file must hold one JSON object, found \(root.kindName)") }
        for key in top.keys.sorted() where !topKeys.contains(key) {
            throw ExperimentError("\(origin): unknown key '\(key)' at the top level; expected one of \(topKeys.joined(separator: ", "))")
        }
        func fail(_ key: String, _ expected: String, _ found: JSONValue?) -> ExperimentError {
            ExperimentError("\(origin): key '\(key)': expected \(expected), found \(found.map { $0.kindName + ($0.kindName.hasPrefix("a") ? " (\($0.text))" : "") } ?? "nothing (the key is required)")")
        }
        guard case .string(let name)? = top["name"], !name.isEmpty else { throw fail("name", "a string (the experiment's folder name)", top["name"]) }
        guard name.count <= 80, name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0) }),
              !name.hasPrefix(".") else {
            throw ExperimentError("\(origin): key 'name': '\(name)' must be 1–80 characters from A–Z a–z 0–9 . _ - (it names the folder Sessions/experiments/\(name))")
        }
        var description = ""
        if let d = top["description"] {
            guard case .string(let s) = d else { throw fail("description", "a string", d) }
            description = s
        }
        var base: [String: JSONValue] = [:]
        if let b = top["base"] {
            guard case .object(let o) = b else { throw fail("base", "an object of train options, e.g. {\"dataset\": \"fashion-mnist\", \"width\": 0.25}", b) }
            base = o
        }
        for key in base.keys.sorted() where !optionKeys.contains(key) {
            throw ExperimentError("\(origin): key 'base.\(key)': unknown option; expected one of \(optionKeys.joined(separator: ", ")) (the names of `spherelab train`'s options; steps and evaluation are top-level keys)")
        }
        var axes: [String: [JSONValue]] = [:]
        if let a = top["axes"] {
            guard case .object(let o) = a else { throw fail("axes", "an object of option name → list of values, e.g. {\"variant\": [\"conv\", \"cosine\"], \"seed\": [1, 2, 3]}", a) }
            for (key, value) in o {
                guard case .array(let values) = value, !values.isEmpty else { throw fail("axes.\(key)", "a non-empty array of values", value) }
                for (i, v) in values.enumerated() {
                    if optionKeys.contains(key) {
                        switch v {
                        case .string, .number: break
                        case .object(let bundle):
                            for k in bundle.keys.sorted() where !optionKeys.contains(k) && k != "label" {
                                throw ExperimentError("\(origin): key 'axes.\(key)[\(i)].\(k)': unknown option; expected one of \(optionKeys.joined(separator: ", ")) or label")
                            }
                        default: throw fail("axes.\(key)[\(i)]", "a string or a number (or an object of options)", v)
                        }
                    } else {
                        guard case .object(let bundle) = v else {
                            throw ExperimentError("\(origin): key 'axes.\(key)': '\(key)' is not an option (\(optionKeys.joined(separator: ", "))); an axis with another name must list objects of options, e.g. [{\"loss\": \"ga-softmax\", \"margin\": 2}]")
                        }
                        for k in bundle.keys.sorted() where !optionKeys.contains(k) && k != "label" {
                            throw ExperimentError("\(origin): key 'axes.\(key)[\(i)].\(k)': unknown option; expected one of \(optionKeys.joined(separator: ", ")) or label")
                        }
                    }
                }
                let texts = values.map(\.text)
                if Set(texts).count != texts.count { throw ExperimentError("\(origin): key 'axes.\(key)': values repeat (\(texts.joined(separator: ", "))); each must be different") }
                axes[key] = values
            }
        }
        func positiveInt(_ key: String, default d: Int?) throws -> Int {
            guard let v = top[key] else {
                if let d { return d }
                throw fail(key, "a whole number ≥ 1", nil)
            }
            guard case .number(let x) = v, x == x.rounded(), x >= 1, x <= 10_000_000 else { throw fail(key, "a whole number from 1 to 10000000", v) }
            return Int(x)
        }
        let steps = try positiveInt("steps", default: nil)
        let evalEvery = try positiveInt("eval_every", default: max(1, steps / 10))
        let saveEvery = try positiveInt("save_every", default: max(evalEvery, 50))
        var thresholds: [Double] = []
        if let t = top["thresholds"] {
            guard case .array(let list) = t else { throw fail("thresholds", "an array of accuracies as fractions, e.g. [0.8, 0.85]", t) }
            for (i, v) in list.enumerated() {
                guard case .number(let x) = v, x > 0, x <= 1 else {
                    throw fail("thresholds[\(i)]", "an accuracy as a fraction in (0, 1], e.g. 0.8 for 80 %", v)
                }
                thresholds.append(x)
            }
            thresholds.sort()
        }
        var both = true
        if let b = top["both_eval_modes"] {
            guard case .bool(let x) = b else { throw fail("both_eval_modes", "true or false", b) }
            both = x
        }
        var baseline: [String: JSONValue] = [:]
        if let b = top["baseline"] {
            guard case .object(let o) = b else { throw fail("baseline", "an object of axis values, e.g. {\"variant\": \"conv\"}", b) }
            for k in o.keys.sorted() where axes[k] == nil {
                throw ExperimentError("\(origin): key 'baseline.\(k)': not an axis of this experiment (axes: \(axes.keys.sorted().joined(separator: ", ")))")
            }
            baseline = o
        } else if let v = axes["variant"], v.contains(.string("conv")) {
            baseline = ["variant": .string("conv")]
        }
        let spec = ExperimentSpec(name: name, description: description, base: base, axes: axes, steps: steps, evalEvery: evalEvery,
                                  thresholds: thresholds, bothEvaluationModes: both, saveEvery: saveEvery, baseline: baseline, source: root)
        // Every grid point must make a valid run; say which one does not.
        for plan in try spec.grid() {
            do { _ = try ExperimentOptions.request(plan.options, seed: plan.seed) } catch let e as ExperimentError {
                throw ExperimentError("\(origin): run '\(plan.id)': \(e.description)")
            }
        }
        return spec
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let c) = error {
            return (c.underlyingError.map { "\($0.localizedDescription)" }) ?? c.debugDescription
        }
        return "\(error)"
    }

    /// Axis names in the order runs are nested and labels read: options in `optionKeys` order,
    /// then bundle axes by name; the seed is kept apart (it varies slowest, so an interrupted
    /// experiment has every configuration at the first seed before any at the second).
    public var axisOrder: [String] {
        ExperimentSpec.optionKeys.filter { axes[$0] != nil && $0 != "seed" } + axes.keys.filter { !ExperimentSpec.optionKeys.contains($0) }.sorted()
    }

    public var seeds: [UInt64] {
        let values = axes["seed"] ?? base["seed"].map { [$0] } ?? [.number(1)]
        return values.map { v in
            if case .number(let x) = v, x >= 0 { return UInt64(x) }
            return UInt64(v.text) ?? 1
        }
    }

    /// The expanded grid, seed-major.
    public func grid() throws -> [ExperimentRunPlan] {
        var configs: [(label: [String], axes: [String: String], options: [String: JSONValue])] = [([], [:], base)]
        for axis in axisOrder {
            var next: [(label: [String], axes: [String: String], options: [String: JSONValue])] = []
            for c in configs {
                for value in axes[axis]! {
                    var options = c.options
                    let label: String
                    if case .object(let bundle) = value {
                        for (k, v) in bundle where k != "label" { options[k] = v }
                        if case .string(let l)? = bundle["label"] { label = l } else {
                            label = bundle.keys.filter { $0 != "label" }.sorted().map { bundle[$0]!.text }.joined(separator: "-")
                        }
                    } else {
                        options[axis] = value
                        label = ExperimentSpec.shortLabel(axis: axis, value: value.text)
                    }
                    var a = c.axes
                    a[axis] = { if case .object = value { return label }; return value.text }()
                    next.append((c.label + [label], a, options))
                }
            }
            configs = next
        }
        var out: [ExperimentRunPlan] = []
        var ids = Set<String>()
        for seed in seeds {
            for c in configs {
                var options = c.options
                options["seed"] = .number(Double(seed))
                let config = c.label.isEmpty ? "base" : c.label.joined(separator: " ")
                let id = ExperimentSpec.folderName(config) + "-s\(seed)"
                guard ids.insert(id).inserted else {
                    throw ExperimentError("two runs of '\(name)' would share the folder '\(id)'; give bundle axis values distinct \"label\"s")
                }
                out.append(ExperimentRunPlan(id: id, config: config, axes: c.axes, seed: seed, options: options))
            }
        }
        return out
    }

    /// `lr 0.01`, `batch 64`, `w0.5`: a number alone says little in a label; words speak for themselves.
    static func shortLabel(axis: String, value: String) -> String {
        switch axis {
        case "variant", "model", "dataset", "loss", "optimizer", "normalization", "augment", "bn-stats": return value
        case "width": return "×" + value
        case "margin": return "m" + value
        default: return axis + " " + value
        }
    }

    static func folderName(_ label: String) -> String {
        var out = ""
        for ch in label.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(ch) && ch.isASCII || ch == "." || ch == "_" { out.unicodeScalars.append(ch) }
            else if ch == "+" { out += "_" }
            else if ch == "×" { out += "x" }
            else if !out.hasSuffix("-") { out += "-" }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return String((out.isEmpty ? "run" : out).prefix(90))
    }

    /// The configuration each configuration is compared against: same values on every axis
    /// except the baseline's, which take the baseline's values. Nil for the baseline itself
    /// or when the experiment has no baseline.
    public func baselineConfig(of plan: ExperimentRunPlan, in grid: [ExperimentRunPlan]) -> String? {
        guard !baseline.isEmpty else { return nil }
        var wanted = plan.axes
        for (k, v) in baseline { wanted[k] = v.text }
        guard wanted != plan.axes else { return nil }
        return grid.first { $0.axes == wanted }?.config
    }
}

/// Maps an experiment's option names (the same as `spherelab train`'s) to a run request.
public enum ExperimentOptions {
    public static func request(_ options: [String: JSONValue], seed: UInt64, datasetsDirectory: String = "Datasets") throws -> RunRequest {
        var r = RunRequest()
        r.datasetsDirectory = datasetsDirectory
        func string(_ key: String) throws -> String? {
            guard let v = options[key] else { return nil }
            switch v {
            case .string(let s): return s
            case .number: return v.text
            default: throw ExperimentError("option '\(key)': expected a string, found \(v.kindName)")
            }
        }
        func number(_ key: String) throws -> Double? {
            guard let v = options[key] else { return nil }
            switch v {
            case .number(let x): return x
            case .string(let s): if let x = Double(s) { return x }
            default: break
            }
            throw ExperimentError("option '\(key)': expected a number, found \(v.kindName) (\(v.text))")
        }
        func int(_ key: String) throws -> Int? {
            guard let x = try number(key) else { return nil }
            guard x == x.rounded(), abs(x) < 1e9 else { throw ExperimentError("option '\(key)': expected a whole number, found \(x)") }
            return Int(x)
        }
        func wrap<T>(_ key: String, _ body: () throws -> T) throws -> T {
            do { return try body() } catch let e as ExperimentError { throw e } catch {
                throw ExperimentError("option '\(key)': \(error)")
            }
        }
        if let d = try string("dataset") {
            guard let kind = DatasetKind(rawValue: d.lowercased()) else {
                throw ExperimentError("option 'dataset': unknown dataset '\(d)'; use \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            r.dataset = kind
        }
        if let m = try string("model") {
            r.modelName = m.lowercased()
            _ = try wrap("model") { try ModelSpec.parseModelName(r.modelName) }
        }
        if let w = try number("width") {
            guard w > 0, w <= 8 else { throw ExperimentError("option 'width': must be in (0, 8], found \(w)") }
            r.width = w
        }
        if let n = try string("normalization") {
            guard let v = ModelSpec.Normalization(rawValue: n) else { throw ExperimentError("option 'normalization': use bn, spherenorm or spherenorm+bn, found '\(n)'") }
            r.normalization = v
        }
        if let s = try string("bn-stats") {
            guard let v = BatchNormStatistics(rawValue: s) else { throw ExperimentError("option 'bn-stats': use pytorch or paper, found '\(s)'") }
            r.batchNormStatistics = v
        }
        r.hyper.variant = .cosine
        if let v = try string("variant") { r.hyper.variant = try wrap("variant") { try ConvVariant(parsing: v) } }
        let momentum = try number("momentum").map { Float($0) }
        if let o = try string("optimizer") { r.hyper.optimizer = try wrap("optimizer") { try OptimizerKind.parse(o, momentum: momentum ?? 0.9) } }
        let lr = try number("lr")
        let milestones = try string("lr-milestones")
        if lr != nil || milestones != nil {
            let drops = try (milestones ?? "").split(separator: ",").map { part -> Int in
                guard let s = Int(part.trimmingCharacters(in: .whitespaces)), s > 0 else {
                    throw ExperimentError("option 'lr-milestones': '\(part)' is not a step ≥ 1; give steps separated by commas, e.g. \"34000,54000\"")
                }
                return s
            }
            r.hyper.schedule = LearningRateSchedule(base: Float(lr ?? Double(r.hyper.schedule.base)), milestones: drops)
        }
        if let w = try number("weight-decay") { r.hyper.weightDecay = Float(w) }
        if let o = try number("orthogonality") { r.hyper.orthogonality = Float(o) }
        if options["loss"] != nil || options["margin"] != nil {
            let l = try wrap("loss") { try LossChoice(parsing: try string("loss") ?? "softmax", margin: try int("margin") ?? 1, variant: r.hyper.variant) }
            r.hyper.head = l.head
            r.hyper.crossEntropy = l.crossEntropy
        }
        if let b = try int("batch") { r.hyper.batchSize = b }
        if let e = try int("eval-limit") {
            guard e >= 1 else { throw ExperimentError("option 'eval-limit': must be at least 1, found \(e)") }
            r.evaluationLimit = e
        }
        if let a = try string("augment") {
            switch a {
            case "default": r.augmentation = nil
            case "none": r.augmentation = Augmentation.none
            case "flip": r.augmentation = Augmentation(horizontalFlip: true, padCrop: 0, mirrorPad: false)
            case "crop": r.augmentation = Augmentation(horizontalFlip: false, padCrop: 4, mirrorPad: true)
            case "flip+crop": r.augmentation = Augmentation(horizontalFlip: true, padCrop: 4, mirrorPad: true)
            default: throw ExperimentError("option 'augment': use default, none, flip, crop or flip+crop, found '\(a)'")
            }
        }
        r.seed = seed
        try wrap("hyperparameters") { try r.hyper.validate() }
        return r
    }
}
