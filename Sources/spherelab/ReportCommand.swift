import ArgumentParser
import Foundation
import SphereLabApp
import TUI

/// `spherelab report Sessions/experiments/NAME [--out DIR] [--tui]`.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write report.md, report.html and SVG figures for an experiment (or print its tables and curves with --tui).")
    @Argument(help: "The experiment folder (Sessions/experiments/NAME).") var folder: String
    @Option(help: "Where to write the report (default: the experiment folder).") var out: String?
    @Flag(help: "Print the tables and curves in the terminal instead of writing files.") var tui = false
    @Flag(help: "Braille curves with --tui (default: ASCII markers, one per series, which stay apart without colour).") var braille = false
    @OptionGroup var display: GlyphOptions

    func validate() throws {
        if braille && display.ascii { throw ValidationError("--braille draws braille characters, which --ascii rules out; give one of them") }
    }

    func run() throws {
        do {
            let data = try ExperimentReportData.load(folder: folder)
            if tui {
                let glyphs = display.glyphs
                if braille && glyphs == .ascii {
                    FileHandle.standardError.write(Data("note: the locale's character set is not UTF-8, so the curves use ASCII markers instead of braille\n".utf8))
                }
                print(ExperimentReport.terminalText(data, width: ExperimentReport.terminalWidth(columns: ConsoleWidth.columns(of: STDOUT_FILENO)),
                                                    glyphs: glyphs, braille: braille))
                return
            }
            let files = try ExperimentReport.write(data, to: out ?? folder)
            print("wrote " + files.joined(separator: ", "))
        } catch let e as ValidationError { throw e } catch { throw failure("\(error)") }
    }
}
