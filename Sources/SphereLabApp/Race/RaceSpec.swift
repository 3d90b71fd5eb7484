import Engine

/// A race contender written as `key=value` words (`--run 'name=fast variant=cosine lr=0.004'`):
/// the changes to a base request, checked through the same parsers and `Settings` ranges as
/// the train options, so a bad value is refused with the same words.
public enum RaceSpec {
    /// The keys a spec may use, in the order they are applied (the loss follows the variant).
    public static let keys = ["name", "model", "depth", "width", "normalization", "variant", "optimizer", "lr",
                              "weight-decay", "orthogonality", "batch", "loss", "margin"]

    /// The contender's name (nil when the spec gives none) and its request: `base` with the
    /// spec's changes. Errors name the spec, the key and the value, and say what is allowed.
    public static func parse(_ text: String, base: RunRequest) throws -> (name: String?, request: RunRequest) {
        var given: [String: String] = [:]
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw EngineError("run spec '\(text)': '\(word)' is not key=value; write e.g. 'name=fast variant=cosine lr=0.004'")
            }
            let key = parts[0].lowercased()
            guard keys.contains(key) else {
                throw EngineError("run spec '\(text)': unknown key '\(parts[0])'; use \(keys.joined(separator: ", "))")
            }
            guard given[key] == nil else { throw EngineError("run spec '\(text)': key '\(key)' is given twice; give it once") }
            given[key] = parts[1]
        }
        guard !given.isEmpty else { throw EngineError("run spec is empty; write e.g. 'name=fast variant=cosine lr=0.004'") }
        var r = base
        var h = r.hyper
        for key in keys {
            guard let value = given[key] else { continue }
            do {
                switch key {
                case "name":
                    break
                case "model":
                    _ = try ModelSpec.parseModelName(value)
                    r.modelName = value.lowercased()
                case "depth":
                    let (arch, _) = try ModelSpec.parseModelName(r.modelName)
                    let depth = try (arch == .sphereNet ? Settings.plainDepth : Settings.residualDepth).parse(value)
                    let name = "\(arch.rawValue)\(depth)"
                    _ = try ModelSpec.parseModelName(name)
                    r.modelName = name
                case "width":
                    r.width = try Settings.width.parse(value)
                case "normalization":
                    guard let n = ModelSpec.Normalization(rawValue: value.lowercased()) else {
                        throw EngineError("normalization '\(value)' is unknown; use bn, spherenorm or spherenorm+bn")
                    }
                    r.normalization = n
                case "variant":
                    h.variant = try ConvVariant(parsing: value)
                case "optimizer":
                    var momentum: Float?
                    if case .sgd(let m) = h.optimizer { momentum = m }
                    h.optimizer = try OptimizerKind.parse(value, momentum: momentum)
                case "lr":
                    h.schedule = LearningRateSchedule(base: try Settings.learningRate.parse(value), milestones: h.schedule.milestones)
                case "weight-decay":
                    h.weightDecay = try Settings.weightDecay.parse(value)
                case "orthogonality":
                    h.orthogonality = try Settings.orthogonality.parse(value)
                case "batch":
                    h.batchSize = try Settings.batchSize.parse(value)
                case "loss", "margin":
                    break   // below, once the variant is known
                default:
                    break
                }
            } catch let e as EngineError {
                throw EngineError("run spec '\(text)': \(key)=\(value): \(e.message)")
            }
        }
        // The loss is rebuilt when it or its margin is given, or when a GA-Softmax loss must
        // follow a changed variant (as `--loss ga-softmax` follows `--variant`).
        let followsVariant: Bool
        if case .generalizedAngular = h.head { followsVariant = given["variant"] != nil } else { followsVariant = false }
        if given["loss"] != nil || given["margin"] != nil || followsVariant {
            var margin = 1
            if case .generalizedAngular(let m, _) = h.head { margin = m }
            do {
                if let m = given["margin"] { margin = try Settings.margin.parse(m) }
                let current = LossChoice(head: h.head, crossEntropy: h.crossEntropy).name.components(separatedBy: " ")[0]
                let choice = try LossChoice(parsing: given["loss"] ?? current, margin: margin, variant: h.variant)
                h.head = choice.head
                h.crossEntropy = choice.crossEntropy
            } catch let e as EngineError {
                let shown = ["loss", "margin"].compactMap { k in given[k].map { "\(k)=\($0)" } }.joined(separator: " ")
                throw EngineError("run spec '\(text)': \(shown.isEmpty ? "loss" : shown): \(e.message)")
            }
        }
        do { try h.validate() } catch let e as EngineError { throw EngineError("run spec '\(text)': \(e.message)") }
        r.hyper = h
        return (given["name"], r)
    }
}

extension RunRequest {
    /// The request that opens a run like `setup` with `hyper` from the start: the base of
    /// contenders added to a race that was reopened from disk.
    public init(setup: RunSetup, hyper: Hyperparameters, datasetsDirectory: String) {
        self.init()
        dataset = setup.dataset
        let m = setup.model
        modelName = m.architecture == .sphereNet ? "spherenet\(3 * m.depthPerStage)" : "sphereresnet\(6 * m.depthPerStage + 2)"
        width = m.width
        normalization = m.normalization
        batchNormStatistics = m.batchNormStatistics
        fc6BatchNorm = m.fc6BatchNorm
        self.hyper = hyper
        seed = setup.seed
        evaluationLimit = setup.evaluationLimit
        augmentation = setup.augmentation
        self.datasetsDirectory = datasetsDirectory
    }
}
