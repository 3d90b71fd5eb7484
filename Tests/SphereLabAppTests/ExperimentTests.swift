import Testing
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TUI
@testable import SphereLabApp

/// A tiny experiment on the tiny dataset: 2 variants × 2 seeds × 6 steps of batch 8.
func tinyExperiment(name: String = "tiny", steps: Int = 6) throws -> ExperimentSpec {
    let text = """
    {"name": "\(name)", "description": "tiny test grid",
     "base": {"dataset": "fashion-mnist", "model": "spherenet9", "width": 0.125, "batch": 8, "lr": 0.002},
     "axes": {"variant": ["conv", "cosine"], "seed": [1, 2]},
     "steps": \(steps), "eval_every": 2, "save_every": 2, "thresholds": [0.2, 0.99], "both_eval_modes": true}
    """
    return try ExperimentSpec.parse(Data(text.utf8), origin: "tiny.json")
}

/// Parses an SVG (or any XML) text; returns the parser error, if any.
func xmlError(_ text: String) -> String? {
    let parser = XMLParser(data: Data(text.utf8))
    return parser.parse() ? nil : "\(parser.parserError.map { "\($0)" } ?? "unknown") at line \(parser.lineNumber)"
}

@Suite struct ExperimentSpecTests {
    func error(_ json: String) -> String {
        do { _ = try ExperimentSpec.parse(Data(json.utf8), origin: "x.json"); return "no error" } catch { return "\(error)" }
    }

    @Test func errorsNameTheKeyAndWhatWasExpected() {
        #expect(error(#"{"name": "a", "steps": 10, "bogus": 1}"#).contains("unknown key 'bogus'"))
        #expect(error(#"{"name": "a"}"#).contains("key 'steps'"))
        #expect(error(#"{"name": "a", "steps": "ten"}"#).contains("key 'steps': expected a whole number"))
        #expect(error(#"{"name": "a", "steps": 10, "axes": {"variant": ["conv", "cosin"]}}"#).contains("option 'variant'"))
        #expect(error(#"{"name": "a", "steps": 10, "axes": {"variant": []}}"#).contains("axes.variant"))
        #expect(error(#"{"name": "a", "steps": 10, "base": {"steps": 3}}"#).contains("base.steps"))
        #expect(error(#"{"name": "a", "steps": 10, "thresholds": [80]}"#).contains("thresholds[0]"))
        #expect(error(#"{"name": "a b", "steps": 10}"#).contains("key 'name'"))
        #expect(error(#"{"name": "a", "steps": 10, "base": {"dataset": "imagenet"}}"#).contains("unknown dataset 'imagenet'"))
        #expect(error(#"{"name": "a", "steps": 10, "axes": {"head": ["x"]}}"#).contains("objects of options"))
        #expect(error("{not json").contains("not valid JSON"))
        #expect(error(#"{"name": "a", "steps": 10, "baseline": {"variant": "conv"}}"#).contains("baseline.variant"))
    }

    @Test func gridIsSeedMajorWithBaselines() throws {
        let spec = try ExperimentSpec.parse(Data(#"""
        {"name": "g", "steps": 5, "axes": {"seed": [1, 2], "variant": ["conv", "cosine"], "model": ["spherenet9", "spherenet18"]}}
        """#.utf8), origin: "g.json")
        let grid = try spec.grid()
        #expect(grid.count == 8)
        #expect(grid.prefix(4).allSatisfy { $0.seed == 1 } && grid.suffix(4).allSatisfy { $0.seed == 2 })
        #expect(grid.map(\.id).prefix(4) == ["spherenet9-conv-s1", "spherenet9-cosine-s1", "spherenet18-conv-s1", "spherenet18-cosine-s1"])
        let cosine18 = grid.first { $0.id == "spherenet18-cosine-s2" }!
        #expect(spec.baselineConfig(of: cosine18, in: grid) == "spherenet18 conv")
        #expect(spec.baselineConfig(of: grid[0], in: grid) == nil)
        #expect(Set(grid.map(\.id)).count == 8)
    }

    @Test func paperCifarComparesEachArchitectureWithItsOwnPlainConv() throws {
        let spec = try ExperimentPresets.spec("paper-cifar")
        let grid = try spec.grid()
        #expect(grid.count == 2 * 5 * 3)
        for plan in grid where plan.axes["variant"] != "conv" {
            let base = spec.baselineConfig(of: plan, in: grid)
            let expected = grid.first { $0.axes["variant"] == "conv" && $0.axes["arch"] == plan.axes["arch"] }?.config
            #expect(base != nil && base == expected, "\(plan.id) → \(base ?? "none")")
        }
    }

    @Test func everyPresetParses() throws {
        for name in ExperimentPresets.names {
            let spec = try ExperimentPresets.spec(name)
            #expect(spec.name == name)
            #expect(try spec.grid().count >= 4)
        }
        #expect(try ExperimentPresets.spec("rq-quick").grid().count == 15)
        #expect(throws: ExperimentError.self) { try ExperimentPresets.spec("nope") }
    }
}

@Suite struct ExperimentStatisticsTests {
    @Test func summaryAndWelch() {
        let s = Summary([1, 2, 3])!
        #expect(s.mean == 2 && s.sd == 1 && s.n == 3)
        #expect(Summary([0.5])!.sd == nil)
        // Clearly separated groups: measurable; overlapping: not.
        let far = Comparison([10, 10.1, 9.9], baseline: [5, 5.1, 4.9])
        #expect(far.exceedsSpread == true)
        let near = Comparison([10, 11, 9], baseline: [10.2, 9.4, 10.9])
        #expect(near.exceedsSpread == false)
        // t = 1 / sqrt(1/3 + 1/3) with df 4.
        let t = Comparison([2, 3, 4], baseline: [1, 2, 3])
        #expect(abs(t.t! - 1 / (2.0 / 3).squareRoot()) < 1e-12)
        #expect(abs(t.degreesOfFreedom! - 4) < 1e-12)
        #expect(abs(t.critical! - 2.776) < 1e-9)
        #expect(Comparison([1], baseline: [1, 2]).exceedsSpread == nil)
        #expect(abs(Comparison.tCritical975(1e9) - 1.96) < 1e-3)
    }
}

@Suite struct SVGPlotTests {
    @Test func ticksAreRound() {
        let unit = SVGPlot.ticks(0, 1, count: 6)
        #expect(unit.count == 6 && unit.first == 0 && abs(unit.last! - 1) < 1e-12)
        #expect(SVGPlot.ticks(0, 469, count: 6) == [0, 100, 200, 300, 400])
        #expect(SVGPlot.ticks(0.7, 0.9, count: 5).first! >= 0.7)
    }

    @Test func rendersWellFormedSVGWithLegendAndDistinctDashes() {
        var plot = SVGPlot(title: "A & B <test>", xLabel: "step", yLabel: "accuracy", series: [
            .init(name: "conv", points: [(0, 0.5), (10, 0.7), (20, 0.8)], band: [(0, 0.4, 0.6), (10, 0.6, 0.8), (20, 0.75, 0.85)]),
            .init(name: "cosine \"q\"", points: [(0, 0.55), (10, 0.72), (20, .nan)]),
            .init(name: "empty", points: []),
        ])
        plot.yPercent = true
        plot.subtitle = "n=3"
        let svg = plot.render()
        #expect(xmlError(svg) == nil)
        #expect(svg.contains("A &amp; B &lt;test&gt;"))
        #expect(svg.contains(">conv<") && svg.contains("cosine &quot;q&quot;"))
        #expect(svg.contains("stroke-dasharray=\"7 4\""))
        #expect(svg.contains("<polygon") && svg.contains("80%"))
        #expect(svg.contains(SVGPlot.palette[0]) && svg.contains(SVGPlot.palette[1]))
        // Ten series (one per layer in the angle figures): no two share colour and dash.
        let styles = (0..<10).map { SVGPlot.palette[$0 % SVGPlot.palette.count] + "|" + SVGPlot.dash($0) }
        #expect(Set(styles).count == 10)
        let empty = SVGPlot(title: "nothing", xLabel: "x", yLabel: "y", series: []).render()
        #expect(xmlError(empty) == nil && empty.contains("no data"))
    }
}

@Suite(.serialized) struct ExperimentRunnerTests {
    @Test func runThenReport() throws {
        let datasets = try makeTinyDatasets(train: 48, test: 20)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let spec = try tinyExperiment()
        let runner = ExperimentRunner(spec: spec, sessionsRoot: datasets + "/Sessions", datasetsDirectory: datasets, style: .quiet)
        runner.measureEstimate = true
        let outcome = try runner.run()
        #expect(outcome.completed.count == 4 && !outcome.stopped)
        let folder = datasets + "/Sessions/experiments/tiny"
        let records = try ExperimentResultsFile(path: folder + "/results.jsonl").read()
        #expect(records.count == 4 * 3)
        #expect(records.allSatisfy { $0.testAccuracyTrainBN != nil && $0.medianTheta?.isEmpty == false && $0.trainLoss != nil })
        let manifest = try ExperimentManifest.read(folder + "/manifest.json")
        #expect(manifest.runs.count == 4 && manifest.machine.cores >= 1)
        // Every run is an ordinary snapshot at the last step.
        let archive = SessionArchive(root: folder, datasetsDirectory: datasets)
        for id in ["conv-s1", "cosine-s1", "conv-s2", "cosine-s2"] {
            let (run, m) = try archive.restore(path: folder + "/" + id)
            #expect(m.step == 6 && run.trainer.step == 6)
        }
        // A second start finds nothing to do.
        let again = try ExperimentRunner(spec: spec, sessionsRoot: datasets + "/Sessions", datasetsDirectory: datasets, style: .quiet).run()
        #expect(again.skipped.count == 4 && again.completed.isEmpty)

        let out = datasets + "/report"
        let data = try ExperimentReportData.load(folder: folder)
        let files = try ExperimentReport.write(data, to: out)
        let svgs = files.filter { $0.hasSuffix(".svg") }
        #expect(svgs.count >= 5)
        for f in svgs { #expect(xmlError(try String(contentsOfFile: f, encoding: .utf8)) == nil, "\(f)") }
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        for config in ["conv", "cosine"] {
            #expect(md.contains("| \(config) | 2 |"), "table row for \(config)")
            #expect(html.contains("<td>\(config)</td>"))
        }
        #expect(md.contains("cosine | conv | final test accuracy"))
        #expect(md.contains("never (0 of 2)"))   // 99 % is not reached by anything here
        #expect(html.contains("<svg"))
        #expect(html.components(separatedBy: "http").count == html.components(separatedBy: "http://www.w3.org/2000/svg").count, "no link but the SVG namespace")
        #expect(!html.contains("<script") && !html.contains("src=\"http"))
        let text = ExperimentReport.terminalText(data, width: 90)
        #expect(text.contains("conv") && text.contains("test accuracy (eval-mode BN) by step"))
        // In ASCII (`--ascii`, or a locale without UTF-8) every character is 7-bit and each
        // table's rule is as wide as its header (the cells were spelled before measuring).
        #expect(!text.utf8.allSatisfy { $0 < 0x80 } && text.contains("─") && text.contains("±"))
        let ascii = ExperimentReport.terminalText(data, width: 90, glyphs: .ascii)
        #expect(ascii.utf8.allSatisfy { $0 < 0x80 }, "\(ascii.unicodeScalars.filter { !$0.isASCII })")
        #expect(ascii.contains("+/-") && ascii.contains("test accuracy (eval-mode BN) by step"))
        let lines = ascii.split(separator: "\n", omittingEmptySubsequences: false)
        let rules = lines.indices.filter { i in i > 0 && lines[i].hasPrefix("---") && lines[i].contains("  -") }
        #expect(!rules.isEmpty)
        for i in rules { #expect(lines[i].count == lines[i - 1].count, "\(lines[i - 1])\n\(lines[i])") }
        #expect(ExperimentReport.terminalText(data, width: 90, glyphs: .ascii, braille: true) == ascii, "braille needs Unicode")
        // At an 80-column terminal the curves, their titles, paragraphs and lists fit (only
        // tables may be wider). Failed before: `report --tui` drew 100 columns whatever the
        // terminal, so every chart line wrapped at 80.
        #expect(ExperimentReport.terminalWidth(columns: 80) == 80 && ExperimentReport.terminalWidth(columns: nil) == 100)
        #expect(ExperimentReport.terminalWidth(columns: 20) == 60)
        let narrow = ExperimentReport.terminalText(data, width: ExperimentReport.terminalWidth(columns: 80), glyphs: .ascii)
        let chartStart = try #require(narrow.range(of: "test accuracy (eval-mode BN) by step")).lowerBound
        let wide = narrow[chartStart...].split(separator: "\n").filter { $0.count > 80 }
        #expect(wide.isEmpty, "\(wide)")
        #expect(!narrow.split(separator: "\n").contains { ($0.hasPrefix("* ") || $0.hasPrefix("  ")) && $0.count > 80 }, "a list item runs past 80 columns")
    }

    /// One run left is "the 1 run", not "the 1 runs".
    @Test func estimateOfOneRunSaysRun() throws {
        let datasets = try makeTinyDatasets(train: 48, test: 20)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let text = """
        {"name": "one", "base": {"dataset": "fashion-mnist", "model": "spherenet9", "width": 0.125, "batch": 8},
         "axes": {"variant": ["conv"], "seed": [1]}, "steps": 4, "eval_every": 2}
        """
        let spec = try ExperimentSpec.parse(Data(text.utf8), origin: "one.json")
        let runner = ExperimentRunner(spec: spec, sessionsRoot: datasets + "/Sessions", datasetsDirectory: datasets, style: .plain)
        final class Lines: @unchecked Sendable { var text = "" }
        let lines = Lines()
        runner.write = { lines.text += $0 + "\n" }
        runner.writeProgress = { lines.text += $0 }
        runner.estimateOnly = true
        _ = try runner.run()
        #expect(lines.text.contains("estimate for the 1 run still to do"), "\(lines.text)")
    }

    /// `--estimate-only` measures, prints the estimate and stops before any run starts. Failed
    /// before: the first run began (a progress line, "[1/4] conv-s1 …") and the stop was the
    /// test hook's "as a kill would", in the middle of that run.
    @Test func estimateOnlyStartsNoRun() throws {
        let datasets = try makeTinyDatasets(train: 48, test: 20)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let runner = ExperimentRunner(spec: try tinyExperiment(name: "guess"), sessionsRoot: datasets + "/Sessions", datasetsDirectory: datasets, style: .plain)
        final class Lines: @unchecked Sendable { var text = "" }
        let lines = Lines()
        runner.write = { lines.text += $0 + "\n" }
        runner.writeProgress = { lines.text += $0 }
        runner.estimateOnly = true
        let outcome = try runner.run()
        #expect(outcome.stopped && outcome.completed.isEmpty && outcome.interruption == nil)
        #expect(lines.text.contains("estimate for the 4 runs still to do") && !lines.text.contains("[1/4]"), "\(lines.text)")
        let folder = datasets + "/Sessions/experiments/guess"
        #expect(try ExperimentResultsFile(path: folder + "/results.jsonl").read().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: folder + "/conv-s1"))
        // Nothing written: failed before, the manifest recorded the --estimate-only command
        // as the experiment's, and the report named it as the command that ran it.
        #expect(!FileManager.default.fileExists(atPath: folder), "estimate-only wrote \(folder)")
        // The speed lines fit 80 columns (the names were padded to 28 characters).
        for line in lines.text.split(separator: "\n") where line.contains("s/step") { #expect(line.count < 80, "\(line)") }
    }

    /// The runner stops in the middle of the second run (as a kill would: nothing more is
    /// written); the rerun keeps the finished run, resumes the second from its snapshot at
    /// step 2, and ends with the same records as an experiment that was never interrupted.
    @Test func interruptedExperimentResumesWithoutRepeating() throws {
        let datasets = try makeTinyDatasets(train: 48, test: 20)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let spec = try tinyExperiment(name: "cut")
        let root = datasets + "/Sessions"
        let folder = root + "/experiments/cut"
        let first = ExperimentRunner(spec: spec, sessionsRoot: root, datasetsDirectory: datasets, style: .quiet)
        first.measureEstimate = false
        first.shouldStop = { run, step in run == "cosine-s1" && step == 3 }
        let cut = try first.run()
        #expect(cut.stopped && cut.completed == ["conv-s1"])
        let before = try ExperimentResultsFile(path: folder + "/results.jsonl").read()
        #expect(before.filter { $0.run == "cosine-s1" }.map(\.step) == [2])
        // A kill in the middle of an append leaves half a line.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/results.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"run":"cosine-s1","step":4,"test_acc"#.utf8))
        try handle.close()
        let conv1Snapshot = try FileManager.default.attributesOfItem(atPath: folder + "/conv-s1/session.json")[.modificationDate] as? Date

        let second = ExperimentRunner(spec: spec, sessionsRoot: root, datasetsDirectory: datasets, style: .quiet)
        second.measureEstimate = false
        let rest = try second.run()
        #expect(rest.skipped == ["conv-s1"])
        #expect(rest.resumed == ["cosine-s1": 2])
        #expect(rest.completed == ["cosine-s1", "conv-s2", "cosine-s2"])
        #expect(try FileManager.default.attributesOfItem(atPath: folder + "/conv-s1/session.json")[.modificationDate] as? Date == conv1Snapshot)

        let lines = try String(contentsOfFile: folder + "/results.jsonl", encoding: .utf8).split(separator: "\n")
        let records = try ExperimentResultsFile(path: folder + "/results.jsonl").read()
        #expect(lines.count == records.count, "no duplicate or broken lines")
        #expect(records.count == 12)
        for id in ["conv-s1", "cosine-s1", "conv-s2", "cosine-s2"] {
            #expect(records.filter { $0.run == id }.map(\.step) == [2, 4, 6], "\(id)")
        }

        // Same numbers as never interrupted (resume is exact).
        let straightRoot = datasets + "/Straight"
        let straight = ExperimentRunner(spec: spec, sessionsRoot: straightRoot, datasetsDirectory: datasets, style: .quiet)
        straight.measureEstimate = false
        try straight.run()
        let reference = try ExperimentResultsFile(path: straightRoot + "/experiments/cut/results.jsonl").read()
        func key(_ r: ExperimentRecord) -> String { "\(r.run)@\(r.step)" }
        let byKey = Dictionary(uniqueKeysWithValues: reference.map { (key($0), $0) })
        for r in records {
            #expect(r.testAccuracy == byKey[key(r)]?.testAccuracy && r.testLoss == byKey[key(r)]?.testLoss, "\(key(r))")
        }
    }

    // Ctrl-C (or SIGTERM/SIGHUP) between steps: the run in progress is saved where it stands,
    // the runner says how many runs are finished and the command that continues, and that
    // command picks up exactly there. Failed before: the process died without a word and the
    // steps since the last snapshot were trained again.
    @Test func aStopSignalSavesTheRunInProgressAndSaysHowToResume() throws {
        let datasets = try makeTinyDatasets(train: 48, test: 20)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let spec = try tinyExperiment(name: "sig")
        let root = datasets + "/Sessions"
        let first = ExperimentRunner(spec: spec, sessionsRoot: root, datasetsDirectory: datasets, style: .plain)
        first.measureEstimate = false
        first.command = "spherelab experiment run sig.json"
        var said = ""
        first.write = { _ in }
        first.writeProgress = { said += $0 }
        first.stopSignal = { run, step in run == "cosine-s1" && step == 3 ? SIGINT : nil }
        let cut = try first.run()
        let expected = ExperimentRunner.Interruption(signal: SIGINT, finishedRuns: 1, totalRuns: 4,
                                                     current: "cosine-s1 saved at step 3 and continues from there",
                                                     resumeCommand: "spherelab experiment run sig.json")
        #expect(cut.interruption == expected && cut.stopped && cut.completed == ["conv-s1"])
        #expect(said.contains("interrupted by SIGINT after 1 of 4 runs — cosine-s1 saved at step 3 and continues from there; "
                              + "resume with: spherelab experiment run sig.json (finished runs are kept)"), Comment(rawValue: said))

        let second = ExperimentRunner(spec: spec, sessionsRoot: root, datasetsDirectory: datasets, style: .quiet)
        second.measureEstimate = false
        let rest = try second.run()
        #expect(rest.interruption == nil && rest.skipped == ["conv-s1"] && rest.resumed == ["cosine-s1": 3])
        let records = try ExperimentResultsFile(path: root + "/experiments/sig/results.jsonl").read()
        for id in ["conv-s1", "cosine-s1", "conv-s2", "cosine-s2"] {
            #expect(records.filter { $0.run == id }.map(\.step) == [2, 4, 6], "\(id)")
        }

        // Before a run has taken a step, and while measuring speeds: nothing to save, said so.
        let third = ExperimentRunner(spec: try tinyExperiment(name: "sig2"), sessionsRoot: root, datasetsDirectory: datasets, style: .quiet)
        third.stopSignal = { _, _ in SIGTERM }
        let early = try #require(try third.run().interruption)
        #expect(early.finishedRuns == 0 && early.current == "stopped while measuring speeds, before the next run started")
        third.measureEstimate = false
        #expect(try third.run().interruption?.current == "conv-s1 had not started and starts from the beginning")
    }

    @Test func refusesAnotherExperimentInTheSameFolderAndMissingData() throws {
        let datasets = try makeTinyDatasets(train: 16, test: 8)
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let root = datasets + "/Sessions"
        let a = ExperimentRunner(spec: try tinyExperiment(name: "same", steps: 2), sessionsRoot: root, datasetsDirectory: datasets, style: .quiet)
        a.measureEstimate = false
        a.shouldStop = { _, _ in true }
        try a.run()
        let b = ExperimentRunner(spec: try tinyExperiment(name: "same", steps: 4), sessionsRoot: root, datasetsDirectory: datasets, style: .quiet)
        #expect { try b.run() } throws: { "\($0)".contains("holds a different experiment") }
        let cifar = try ExperimentPresets.spec("paper-cifar")
        let c = ExperimentRunner(spec: cifar, sessionsRoot: root, datasetsDirectory: datasets + "/none", style: .quiet)
        #expect { try c.run() } throws: { "\($0)".contains("needs cifar-10") }
        #expect(!FileManager.default.fileExists(atPath: root + "/experiments/paper-cifar"), "nothing written when data is missing")
    }
}
