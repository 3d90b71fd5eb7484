import Testing
import Foundation
import Engine
import TUI
@testable import SphereLabApp

/// The headless commands spell their text for people as the workbench draws: in 7-bit ASCII
/// under `--ascii` or a locale without UTF-8 (progress bars `[####....]`, `×` as `x`, `–` as
/// `-`), unchanged otherwise; JSON lines stay data. Before, `train` drew `█`/`·` and
/// `report --tui` printed `–`/`±`/`─` whatever the workbench would have chosen.
@Suite(.serialized) struct AsciiOutputTests {
    static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }

    final class Capture: @unchecked Sendable {
        var out = "", progress = ""
    }

    func train(_ glyphs: GlyphSet, datasets: String, columns: Int? = nil) throws -> Capture {
        var request = tinyRequest(datasets: datasets, variant: .cosine)
        request.hyper.evalEvery = 2
        let run = try request.open()
        let capture = Capture()
        var job = HeadlessTraining(style: .progressBar, glyphs: glyphs)
        job.write = { capture.out += $0 + "\n" }
        job.writeProgress = { capture.progress += $0 }
        job.columns = { columns }
        try job.run(run, steps: 4)
        return capture
    }

    @Test func trainProgressBarAndLinesFollowTheGlyphs() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let ascii = try train(.ascii, datasets: datasets)
        #expect(Self.isASCII(ascii.out + ascii.progress), "\(ascii.out)\(ascii.progress)")
        #expect(ascii.progress.contains("[######") && ascii.progress.contains("......]") && ascii.progress.contains("evaluating 24 test images.."))
        #expect(ascii.out.contains("SphereNet-9 x0.125") && ascii.out.contains("step 4: test accuracy"))
        let unicode = try train(.unicode, datasets: datasets)
        #expect(unicode.progress.contains("█") && unicode.progress.contains("·") && unicode.out.contains("SphereNet-9 ×0.125"))
        // The operator in words: plain convolution is no SphereConv (it read "conv SphereConv").
        #expect(unicode.out.contains("cosine SphereConv"))
        #expect(ConvVariant.conv.operatorPhrase == "plain convolution" && ConvVariant.linear.operatorPhrase == "linear SphereConv")
        #expect(ProgressBar.render(fraction: 0.5, width: 8, glyphs: .ascii) == "[####....]")
        #expect(ProgressBar.render(fraction: 0.5, width: 8) == "[████····]")
    }

    /// Progress lines fit the terminal: at 80 columns the train line (≈ 85 characters) wrapped,
    /// and every `\r` update left a line behind.
    @Test func progressLinesFitTheTerminalWidth() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        for columns in [80, 60, 30] {
            let capture = try train(.unicode, datasets: datasets, columns: columns)
            let updates = capture.progress.split(separator: "\r").map { $0.replacingOccurrences(of: "\u{1B}[K", with: "").replacingOccurrences(of: "\n", with: "") }
            #expect(updates.count >= 5)
            for u in updates { #expect(u.count <= columns - 1, "\(columns): \(u.count) characters: \(u)") }
            if columns == 80 { #expect(updates.contains { $0.contains("ETA") && $0.hasPrefix("[") }, "the whole line fits at 80 with a narrower bar") }
        }
        let unknown = ProgressBar.line(fraction: 0.5, suffix: String(repeating: "x", count: 200), columns: nil, glyphs: .ascii, widest: 10)
        #expect(unknown == "[#####.....]" + String(repeating: "x", count: 200) + "\u{1B}[K", "not a terminal: nothing cut")
    }

    @Test func raceLinesAndTableFollowTheGlyphs() throws {
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let race = Race()
        try race.add(name: "conv", request: tinyRequest(datasets: datasets, variant: .conv))
        try race.add(name: "cosine", request: tinyRequest(datasets: datasets, variant: .cosine))
        let capture = Capture()
        var job = HeadlessRace(style: .progressLines, glyphs: .ascii)
        job.write = { capture.out += $0 + "\n" }
        job.writeProgress = { capture.progress += $0 }
        job.columns = { 50 }
        let board = try job.run(race, steps: 2)
        job.say(board.table())
        #expect(Self.isASCII(capture.out + capture.progress), "\(capture.out)\(capture.progress)")
        #expect(capture.progress.contains("[####") && capture.out.contains("x0.125"))
        let lines = capture.progress.components(separatedBy: "\n").map { line in
            line.replacingOccurrences(of: #"\u{1B}\[[0-9]*[AJK]"#, with: "", options: .regularExpression).replacingOccurrences(of: "\r", with: "")
        }
        #expect(lines.allSatisfy { $0.count <= 49 }, "\(lines.filter { $0.count > 49 })")
        // Evaluation lines line up like the progress lines (names padded to the longest).
        #expect(capture.out.contains("conv    step 2: test accuracy") && capture.out.contains("cosine  step 2: test accuracy"), "\(capture.out)")
        // The table keeps its columns: "–" (not reached) becomes "-", one character for one.
        let table = board.table()
        #expect(table.contains("–"))
        let folded = AsciiText.fold(table)
        #expect(folded.components(separatedBy: "\n").map(\.count) == table.components(separatedBy: "\n").map(\.count))
    }

    /// The real binary: a locale without UTF-8 gets ASCII with no flag, `--ascii` gets it in
    /// a UTF-8 locale, and a UTF-8 locale alone keeps the symbols (`×`).
    @Test func theBinaryDecidesAsTheWorkbenchDoes() throws {
        let bin = try #require(EndToEndTests.binary, "spherelab binary not found next to the tests; run `swift build` first")
        let datasets = try makeTinyDatasets()
        defer { try? FileManager.default.removeItem(atPath: datasets) }
        let train = ["train", "--datasets-dir", datasets, "--width", "0.125", "--batch", "8", "--steps", "2", "--eval-limit", "8"]
        let plainC = EndToEndTests.shell(["env", "LC_ALL=C", bin] + train)
        #expect(plainC.status == 0 && Self.isASCII(plainC.output) && plainC.output.contains("x0.125"), "\(plainC.output)")
        let flagged = EndToEndTests.shell(["env", "LC_ALL=C.UTF-8", bin] + train + ["--ascii"])
        #expect(flagged.status == 0 && Self.isASCII(flagged.output) && flagged.output.contains("x0.125"), "\(flagged.output)")
        let utf8 = EndToEndTests.shell(["env", "LC_ALL=C.UTF-8", bin] + train)
        #expect(utf8.status == 0 && utf8.output.contains("×0.125"), "\(utf8.output)")
        // sessions list / show print symbols too (·, ×, –).
        let saved = EndToEndTests.shell(["env", "LC_ALL=C.UTF-8", bin] + train + ["--save", datasets + "/Sessions/tiny"])
        #expect(saved.status == 0, "\(saved.output)")
        for listing in [["sessions", "list", "--sessions-dir", datasets + "/Sessions"], ["sessions", "show", datasets + "/Sessions/tiny"]] {
            let c = EndToEndTests.shell(["env", "LC_ALL=C", bin] + listing)
            #expect(c.status == 0 && Self.isASCII(c.output) && c.output.contains("tiny"), "\(c.output)")
            let u = EndToEndTests.shell(["env", "LC_ALL=C.UTF-8", bin] + listing)
            #expect(u.status == 0 && !Self.isASCII(u.output), "\(u.output)")
        }
        let both = EndToEndTests.shell([bin, "report", datasets, "--tui", "--braille", "--ascii"])
        #expect(both.status != 0 && both.output.contains("--braille") && both.output.contains("--ascii"), "\(both.output)")
    }
}
