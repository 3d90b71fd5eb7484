import Foundation
import TUI

/// An experiment folder read back: its manifest and its evaluation records.
public struct ExperimentReportData: Sendable {
    public var folder: String
    public var manifest: ExperimentManifest
    public var records: [ExperimentRecord]

    public static func load(folder: String) throws -> ExperimentReportData {
        let manifest = try ExperimentManifest.read(folder + "/manifest.json")
        let records = try ExperimentResultsFile(path: folder + "/results.jsonl").read()
        return ExperimentReportData(folder: folder, manifest: manifest, records: records)
    }

    /// Configurations in grid order.
    public var configs: [String] {
        var seen = Set<String>()
        return manifest.runs.map(\.config).filter { seen.insert($0).inserted }
    }

    public func runs(of config: String) -> [ExperimentManifest.Run] { manifest.runs.filter { $0.config == config } }

    /// Evaluation records of one run, by step.
    public func evaluations(_ run: String) -> [ExperimentRecord] {
        records.filter { $0.run == run && $0.diverged != true && $0.testAccuracy != nil }.sorted { $0.step < $1.step }
    }

    public func diverged(_ run: String) -> ExperimentRecord? { records.first { $0.run == run && $0.diverged == true } }

    /// A run is complete when it reached the budget (its last evaluation is at the last step) or diverged.
    public func isComplete(_ run: String) -> Bool {
        diverged(run) != nil || evaluations(run).last?.step == manifest.steps
    }

    /// Per step: the values of the complete runs of `config` that have a record there (a run
    /// still in progress would change n along the curve).
    func curve(_ config: String, _ value: (ExperimentRecord) -> Double?) -> [(step: Int, seconds: Double, values: [Double])] {
        var byStep: [Int: (seconds: [Double], values: [Double])] = [:]
        for run in runs(of: config) where isComplete(run.id) {
            for r in evaluations(run.id) {
                guard let v = value(r), v.isFinite else { continue }
                byStep[r.step, default: ([], [])].seconds.append(r.seconds)
                byStep[r.step, default: ([], [])].values.append(v)
            }
        }
        return byStep.keys.sorted().map { s in
            let e = byStep[s]!
            return (s, e.seconds.reduce(0, +) / Double(e.seconds.count), e.values)
        }
    }

    /// Steps (and training seconds) at which each run of `config` first reached `threshold`
    /// (running-statistics accuracy); nil entries never reached it within the runs' records.
    func firstReach(_ config: String, _ threshold: Double, trainBN: Bool = false) -> [(run: String, step: Int, seconds: Double)?] {
        runs(of: config).filter { isComplete($0.id) }.map { run in
            evaluations(run.id).first { ((trainBN ? $0.testAccuracyTrainBN : $0.testAccuracy) ?? -1) >= threshold }
                .map { (run.id, $0.step, $0.seconds) }
        }
    }

    func finals(_ config: String, _ value: (ExperimentRecord) -> Double?) -> [Double] {
        runs(of: config).filter { isComplete($0.id) }.compactMap { evaluations($0.id).last.flatMap(value) }
    }

    var hasTrainBN: Bool { records.contains { $0.testAccuracyTrainBN != nil } }
}

/// The report: report.md, report.html (self-contained: figures inline) and SVG figures, or the
/// same tables and curves as terminal text.
public enum ExperimentReport {
    enum Block {
        case heading(Int, String)
        case paragraph(String)
        case list([String])
        case table([String], [[String]])
        case figure(file: String, caption: String, svg: String)
    }

    static func pct(_ v: Double?) -> String { v.map { String(format: "%.2f %%", 100 * $0) } ?? "–" }

    // MARK: content

    static func blocks(_ d: ExperimentReportData) -> [Block] {
        let m = d.manifest
        var out: [Block] = [.heading(1, "Experiment \(m.name)")]
        if !m.description.isEmpty { out.append(.paragraph(m.description)) }
        let complete = m.runs.filter { d.isComplete($0.id) }.count
        let examples = Set(d.records.compactMap(\.examples)).sorted()
        var facts = [
            "Command: `\(m.command)`" + (m.invocations.count > 1 ? " (started \(m.invocations.count) times; resumed runs continue from their last snapshot)" : ""),
            "Build: `\(m.build)`; first started \(m.date)" + (m.invocations.count > 1 ? ", last \(m.invocations.last!.date)" : ""),
            "Machine: \(m.machine.cores) cores, \(m.machine.cpu), \(String(format: "%.1f", m.machine.memoryGB)) GB, \(m.machine.os)",
            "Budget: \(m.steps) steps per run, evaluation every \(m.evalEvery) steps on \(examples.map(String.init).joined(separator: "/")) test images"
                + (m.bothEvalModes ? ", in two modes: BatchNorm running statistics (eval mode) and batch statistics (train-mode BN)" : ""),
            "Runs: \(complete) of \(m.runs.count) complete (\(d.configs.count) configurations × seeds \(Set(m.runs.map(\.seed)).sorted().map(String.init).joined(separator: ", ")))",
            "Seconds are training compute seconds of the run itself (steps only; evaluations, saves and other runs excluded), measured on this machine while other work may have shared it.",
        ]
        if complete < m.runs.count {
            facts.append("**PARTIAL**: \(m.runs.count - complete) runs are not complete; statistics below use complete runs only (n says how many).")
        }
        out.append(.list(facts))

        // Headline table.
        out.append(.heading(2, "Final accuracy and iterations to accuracy"))
        var header = ["configuration", "n", "final test acc. (%)"]
        if d.hasTrainBN { header.append("final, train-mode BN (%)") }
        header.append("best test acc. (%)")
        for t in m.thresholds { header += ["steps to \(Int((t * 100).rounded())) %", "seconds to \(Int((t * 100).rounded())) %"] }
        var rows: [[String]] = []
        for c in d.configs {
            let n = d.runs(of: c).filter { d.isComplete($0.id) }.count
            let diverged = d.runs(of: c).filter { d.diverged($0.id) != nil }.count
            var row = [c, "\(n)" + (diverged > 0 ? " (\(diverged) diverged)" : "")]
            row.append(Summary(d.finals(c, { $0.testAccuracy }))?.text(scale: 100) ?? "–")
            if d.hasTrainBN { row.append(Summary(d.finals(c, { $0.testAccuracyTrainBN }))?.text(scale: 100) ?? "–") }
            let bests = d.runs(of: c).filter { d.isComplete($0.id) }.compactMap { run in d.evaluations(run.id).compactMap(\.testAccuracy).max() }
            row.append(Summary(bests)?.text(scale: 100) ?? "–")
            for t in m.thresholds {
                let reach = d.firstReach(c, t)
                let hits = reach.compactMap { $0 }
                let never = reach.count - hits.count
                let suffix = never > 0 ? "; never: \(never) of \(reach.count)" : ""
                row.append(hits.isEmpty ? (reach.isEmpty ? "–" : "never (0 of \(reach.count))") : Summary(hits.map { Double($0.step) })!.text(digits: 0) + suffix)
                row.append(hits.isEmpty ? "–" : Summary(hits.map { $0.seconds })!.text(digits: 1))
            }
            rows.append(row)
        }
        out.append(.table(header, rows))
        out.append(.paragraph("Entries are mean ± sample sd (n seeds). Steps to a threshold are the first evaluation at or above it (so they are multiples of \(m.evalEvery)); the mean is over the seeds that reached it, and \"never: k of n\" counts those that did not within \(m.steps) steps. Thresholds use the eval-mode (running-statistics) accuracy."))

        // Comparisons.
        let pairs = d.configs.compactMap { c -> (String, String)? in
            guard let b = m.runs.first(where: { $0.config == c })?.baseline else { return nil }
            return (c, b)
        }
        if !pairs.isEmpty {
            out.append(.heading(2, "Against the baseline: is the difference larger than the seed-to-seed spread?"))
            out.append(.paragraph("Rule: " + Comparison.rule))
            var rows: [[String]] = []
            let firstStep = m.evalEvery
            for (c, b) in pairs {
                var metrics: [(String, (String) -> [Double], Double, Int)] = [
                    ("final test accuracy", { d.finals($0, { $0.testAccuracy }) }, 100, 2),
                    ("test accuracy at step \(firstStep)", { cfg in d.runs(of: cfg).filter { d.isComplete($0.id) }.compactMap { run in d.evaluations(run.id).first { $0.step == firstStep }?.testAccuracy } }, 100, 2),
                ]
                if d.hasTrainBN {
                    metrics.append(("final, train-mode BN", { d.finals($0, { $0.testAccuracyTrainBN }) }, 100, 2))
                    metrics.append(("step \(firstStep), train-mode BN", { cfg in d.runs(of: cfg).filter { d.isComplete($0.id) }.compactMap { run in d.evaluations(run.id).first { $0.step == firstStep }?.testAccuracyTrainBN } }, 100, 2))
                }
                if let t = m.thresholds.first {
                    metrics.append(("steps to \(Int((t * 100).rounded())) %", { cfg in
                        let r = d.firstReach(cfg, t)
                        return r.contains { $0 == nil } ? [] : r.compactMap { $0.map { Double($0.step) } }
                    }, 1, 0))
                    metrics.append(("seconds to \(Int((t * 100).rounded())) %", { cfg in
                        let r = d.firstReach(cfg, t)
                        return r.contains { $0 == nil } ? [] : r.compactMap { $0?.seconds }
                    }, 1, 1))
                }
                for (name, values, scale, digits) in metrics {
                    let a = values(c), base = values(b)
                    if a.isEmpty || base.isEmpty {
                        rows.append([c, b, name, "–", "–", "not testable (missing, or a seed never reached the threshold)"])
                        continue
                    }
                    let cmp = Comparison(a, baseline: base)
                    let diff = String(format: "%+.\(digits)f", cmp.difference * scale) + (scale == 100 ? " pts" : "")
                    let t = cmp.t.map { String(format: "%.2f (df %.1f, crit. %.2f)", $0, cmp.degreesOfFreedom!, cmp.critical!) } ?? "–"
                    let verdict: String
                    switch cmp.exceedsSpread {
                    case .some(true): verdict = "exceeds the seed spread (" + (cmp.difference > 0 ? "higher" : "lower") + ")"
                    case .some(false): verdict = "no measurable difference"
                    case .none: verdict = "not testable (n < 2 on a side)"
                    }
                    rows.append([c, b, name, diff, t, verdict])
                }
            }
            out.append(.table(["configuration", "baseline", "measure", "difference", "Welch t", "verdict"], rows))
        }

        // Accuracy by step.
        let steps = Array(Set(d.records.filter { $0.diverged != true }.map(\.step))).sorted()
        func byStep(_ title: String, _ value: @escaping (ExperimentRecord) -> Double?) -> Block {
            var rows: [[String]] = []
            for c in d.configs {
                let curve = d.curve(c, value)
                rows.append([c] + steps.map { s in curve.first { $0.step == s }.flatMap { Summary($0.values)?.text(scale: 100, digits: 1) } ?? "–" })
            }
            _ = title
            return .table(["configuration"] + steps.map { "step \($0)" }, rows)
        }
        out.append(.heading(2, "Test accuracy by step (%, mean ± sd (n))"))
        out.append(.paragraph("Eval mode: BatchNorm running statistics (PyTorch-style momentum unless the experiment says otherwise)."))
        out.append(byStep("eval", { $0.testAccuracy }))
        if d.hasTrainBN {
            out.append(.paragraph("Train-mode BN: the same weights evaluated with batch statistics. Where the two modes disagree early on, the running-statistics estimate — not the weights — makes the difference."))
            out.append(byStep("train", { $0.testAccuracyTrainBN }))
        }

        // Figures.
        out.append(.heading(2, "Curves"))
        out.append(.paragraph("Lines: mean over seeds; shaded band: min–max over seeds; n in the legend. Colours are Okabe–Ito; every series also has its own dash pattern and marker, so the figures read in grey print."))
        for fig in figures(d) { out.append(.figure(file: fig.file, caption: fig.caption, svg: fig.svg)) }

        // Angles.
        let layers = Array(Set(d.records.flatMap { $0.medianTheta?.keys.map { $0 } ?? [] })).sorted { layerOrder($0) < layerOrder($1) }
        if !layers.isEmpty {
            out.append(.heading(2, "Kernel angles: median θ(w, x) per layer (degrees)"))
            out.append(.paragraph("θ(w, x) is the angle between a kernel and the input patches it meets, sampled over the batch at the statistics step before each evaluation (for plain conv too, where it is only measured). Cells: first evaluation → last, mean over seeds."))
            var rows: [[String]] = []
            for c in d.configs {
                let runs = d.runs(of: c).map { d.evaluations($0.id) }.filter { !$0.isEmpty }
                rows.append([c] + layers.map { layer in
                    let first = runs.compactMap { $0.first?.medianTheta?[layer] }, last = runs.compactMap { $0.last?.medianTheta?[layer] }
                    guard let f = Summary(first), let l = Summary(last) else { return "–" }
                    return String(format: "%.1f → %.1f", f.mean * 180 / .pi, l.mean * 180 / .pi)
                })
            }
            out.append(.table(["configuration"] + layers, rows))
            for fig in angleFigures(d, layers: layers) { out.append(.figure(file: fig.file, caption: fig.caption, svg: fig.svg)) }
        }
        out.append(.heading(2, "Reproduce"))
        out.append(.paragraph("`\(m.command)` then `spherelab report \(d.folder)`. Each run is a snapshot in `\(d.folder)/<run>/` (open it with `spherelab train --resume` or `spherelab eval --session`); every evaluation is a line of `results.jsonl`; the experiment file is in `manifest.json`."))
        return out
    }

    static func layerOrder(_ name: String) -> (Int, Int, String) {
        let parts = name.split(separator: ".")
        let prefix = parts.first.map(String.init) ?? name
        let n = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        return (prefix == "features" ? 0 : 1, n, name)
    }

    struct Figure { var file: String; var caption: String; var svg: String }

    static func figures(_ d: ExperimentReportData) -> [Figure] {
        func plot(_ title: String, file: String, y: String, percent: Bool, bySeconds: Bool, _ value: @escaping (ExperimentRecord) -> Double?) -> Figure {
            let series = d.configs.map { c -> SVGPlot.Series in
                let curve = d.curve(c, value)
                let n = curve.map { $0.values.count }.max() ?? 0
                return SVGPlot.Series(name: "\(c) (n=\(n))",
                                      points: curve.map { (bySeconds ? $0.seconds : Double($0.step), $0.values.reduce(0, +) / Double($0.values.count)) },
                                      band: curve.map { (bySeconds ? $0.seconds : Double($0.step), $0.values.min()!, $0.values.max()!) })
            }
            var p = SVGPlot(title: title, xLabel: bySeconds ? "training compute seconds (mean over seeds)" : "training step", yLabel: y, series: series)
            p.yPercent = percent
            p.subtitle = "\(d.manifest.name): mean over seeds, band min–max"
            return Figure(file: file, caption: title, svg: p.render())
        }
        var out = [
            plot("Test accuracy by step (eval-mode BN)", file: "test-accuracy-by-step.svg", y: "test accuracy", percent: true, bySeconds: false, { $0.testAccuracy }),
            plot("Test accuracy by compute time (eval-mode BN)", file: "test-accuracy-by-seconds.svg", y: "test accuracy", percent: true, bySeconds: true, { $0.testAccuracy }),
        ]
        if d.hasTrainBN {
            out.append(plot("Test accuracy by step (train-mode BN)", file: "test-accuracy-train-bn-by-step.svg", y: "test accuracy", percent: true, bySeconds: false, { $0.testAccuracyTrainBN }))
        }
        out.append(plot("Training loss by step (mean since previous evaluation)", file: "train-loss-by-step.svg", y: "training loss", percent: false, bySeconds: false, { $0.trainLoss }))
        out.append(plot("Training loss by compute time", file: "train-loss-by-seconds.svg", y: "training loss", percent: false, bySeconds: true, { $0.trainLoss }))
        return out
    }

    static func angleFigures(_ d: ExperimentReportData, layers: [String]) -> [Figure] {
        d.configs.map { c in
            let series = layers.map { layer -> SVGPlot.Series in
                let curve = d.curve(c, { $0.medianTheta?[layer].map { $0 * 180 / .pi } })
                return SVGPlot.Series(name: layer, points: curve.map { (Double($0.step), $0.values.reduce(0, +) / Double($0.values.count)) })
            }
            var p = SVGPlot(title: "Median θ(w, x) per layer — \(c)", xLabel: "training step", yLabel: "median θ(w, x), degrees", series: series)
            p.subtitle = "mean over seeds"
            p.markers = false
            return Figure(file: "angles-\(ExperimentSpec.folderName(c)).svg", caption: "Median kernel–patch angle per layer, \(c)", svg: p.render())
        }
    }

    // MARK: writing

    /// Writes report.md, report.html and the figures into `dir`; returns the paths.
    @discardableResult
    public static func write(_ d: ExperimentReportData, to dir: String) throws -> [String] {
        guard !d.records.isEmpty else {
            throw ExperimentError("\(d.folder)/results.jsonl has no evaluations yet: run the experiment first (spherelab experiment run …)")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let content = blocks(d)
        var written: [String] = []
        for case .figure(let file, _, let svg) in content {
            try ExperimentFiles.writeAtomically(Data(svg.utf8), to: dir + "/" + file)
            written.append(dir + "/" + file)
        }
        try ExperimentFiles.writeAtomically(Data(markdown(content).utf8), to: dir + "/report.md")
        try ExperimentFiles.writeAtomically(Data(html(content, title: "Experiment \(d.manifest.name)").utf8), to: dir + "/report.html")
        return [dir + "/report.md", dir + "/report.html"] + written
    }

    static func markdown(_ blocks: [Block]) -> String {
        var s = ""
        for b in blocks {
            switch b {
            case .heading(let level, let text): s += String(repeating: "#", count: level) + " " + text + "\n\n"
            case .paragraph(let text): s += text + "\n\n"
            case .list(let items): s += items.map { "- " + $0 }.joined(separator: "\n") + "\n\n"
            case .table(let header, let rows):
                func cell(_ t: String) -> String { t.replacingOccurrences(of: "|", with: "\\|") }
                s += "| " + header.map(cell).joined(separator: " | ") + " |\n"
                s += "|" + header.map { _ in "---|" }.joined() + "\n"
                for r in rows { s += "| " + r.map(cell).joined(separator: " | ") + " |\n" }
                s += "\n"
            case .figure(let file, let caption, _): s += "![\(caption)](\(file))\n\n"
            }
        }
        return s
    }

    /// Inline markdown of our own text: `code` and **bold**, everything else escaped.
    static func inline(_ text: String) -> String {
        var out = ""
        var code = false, bold = false
        var i = text.startIndex
        while i < text.endIndex {
            let ch = text[i]
            if ch == "`" { out += code ? "</code>" : "<code>"; code.toggle(); i = text.index(after: i); continue }
            if !code, text[i...].hasPrefix("**") { out += bold ? "</strong>" : "<strong>"; bold.toggle(); i = text.index(i, offsetBy: 2); continue }
            out += SVGPlot.escape(String(ch))
            i = text.index(after: i)
        }
        if code { out += "</code>" }
        if bold { out += "</strong>" }
        return out
    }

    static func html(_ blocks: [Block], title: String) -> String {
        var s = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGPlot.escape(title))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #111; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
        th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }
        th { background: #f0f0f0; }
        code { background: #f4f4f4; padding: 0 3px; }
        figure { margin: 1.5em 0; } figcaption { font-size: 13px; color: #444; }
        .scroll { overflow-x: auto; }
        </style></head><body>

        """
        for b in blocks {
            switch b {
            case .heading(let level, let text): s += "<h\(level)>\(inline(text))</h\(level)>\n"
            case .paragraph(let text): s += "<p>\(inline(text))</p>\n"
            case .list(let items): s += "<ul>\n" + items.map { "<li>\(inline($0))</li>\n" }.joined() + "</ul>\n"
            case .table(let header, let rows):
                s += "<div class=\"scroll\"><table>\n<tr>" + header.map { "<th>\(inline($0))</th>" }.joined() + "</tr>\n"
                for r in rows { s += "<tr>" + r.map { "<td>\(inline($0))</td>" }.joined() + "</tr>\n" }
                s += "</table></div>\n"
            case .figure(_, let caption, let svg):
                let body = svg.components(separatedBy: "\n").filter { !$0.hasPrefix("<?xml") }.joined(separator: "\n")
                s += "<figure>\n\(body)<figcaption>\(inline(caption))</figcaption></figure>\n"
            }
        }
        return s + "</body></html>\n"
    }

    // MARK: terminal

    /// The tables as aligned text and the accuracy and loss curves drawn with the TUI's LineChart:
    /// one marker character per series, or braille (`braille`, Unicode only). With `glyphs`
    /// `.ascii` every text is spelled in ASCII before it is measured, so columns stay aligned.
    public static func terminalText(_ d: ExperimentReportData, width: Int = 100, glyphs: GlyphSet = .unicode, braille: Bool = false) -> String {
        let markers = glyphs == .ascii || !braille
        func spelled(_ text: String) -> String { glyphs.text(text) }
        var out: [String] = []
        for b in blocks(d) {
            switch b {
            case .heading(let level, let raw):
                let text = spelled(raw)
                out += ["", level == 1 ? text.uppercased() : text, String(repeating: level == 1 ? "=" : "-", count: min(width, text.count))]
            case .paragraph(let text): out.append(wrap(spelled(text.replacingOccurrences(of: "`", with: "")), width: width))
            case .list(let items):
                // Wrapped with a hanging indent, so a long item does not run past the terminal.
                out += items.map { item in
                    let text = spelled(item.replacingOccurrences(of: "`", with: "").replacingOccurrences(of: "**", with: ""))
                    return spelled("• ") + wrap(text, width: width - 2).replacingOccurrences(of: "\n", with: "\n  ")
                }
            case .table(let header, let rows):
                let all = ([header] + rows).map { $0.map(spelled) }
                let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
                func line(_ r: [String]) -> String { r.indices.map { r[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
                out.append(line(all[0]))
                out.append(widths.map { String(repeating: glyphs == .ascii ? "-" : "─", count: $0) }.joined(separator: "  "))
                out += all.dropFirst().map(line)
            case .figure: break
            }
        }
        let charts: [(String, (ExperimentRecord) -> Double?, ValueFormat)] = [
            ("test accuracy (eval-mode BN) by step", { $0.testAccuracy }, .percent),
            ("test accuracy (train-mode BN) by step", { $0.testAccuracyTrainBN }, .percent),
            ("training loss by step", { $0.trainLoss }, .number),
        ]
        for (title, value, format) in charts {
            let series = d.configs.enumerated().map { i, c in
                ChartSeries(label: c, role: .series(i), points: d.curve(c, value).map {
                    ChartPoint(x: Double($0.step), y: $0.values.reduce(0, +) / Double($0.values.count), low: $0.values.min(), high: $0.values.max())
                }, style: markers ? .line : .markers)
            }
            guard series.contains(where: { !$0.points.isEmpty }) else { continue }
            var grid = CellGrid(width: width, height: 18)
            LineChart(series: series, glyphs: markers ? .ascii : .unicode, yFormat: format).render(into: &grid, in: grid.bounds)
            out += ["", wrap(spelled(title + " (mean over seeds; each column spans min–max" + (markers ? "; one marker character per series" : "") + ")"), width: width)] + grid.lines
        }
        return out.joined(separator: "\n")
    }

    /// `report --tui`'s width: the terminal's (at least 60 columns, at most 200), 100 when
    /// the output is not a terminal.
    public static func terminalWidth(columns: Int?) -> Int { columns.map { min(max($0, 60), 200) } ?? 100 }

    static func wrap(_ text: String, width: Int) -> String {
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ") {
            if current.count + word.count + 1 > width, !current.isEmpty { lines.append(current); current = "" }
            current += (current.isEmpty ? "" : " ") + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines.joined(separator: "\n")
    }
}
