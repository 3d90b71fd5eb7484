import ArgumentParser
import Foundation
import SphereLabApp

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a snapshot's metric history and event list as CSV or JSON lines.",
        discussion: """
        One row per recorded step: step, compute seconds, train loss and accuracy, test loss and \
        accuracy (at evaluations), learning rate, variant. Old steps kept as buckets give one row per \
        bucket with its mean and the min/max columns. Event rows (kind "event") carry the log, with \
        the chart marker of each change.
        """)
    @Argument(help: "The snapshot folder, e.g. Sessions/NAME.") var path: String
    @Option(help: "csv or jsonl.") var format: String = "csv"
    @Option(help: "Write here instead of standard output.") var out: String?

    func validate() throws {
        guard RunExport.Format(rawValue: format.lowercased()) != nil else {
            throw ValidationError("--format must be csv or jsonl, not '\(format)'")
        }
    }

    func run() throws {
        do {
            let text = try SessionArchive().export(path: path, format: RunExport.Format(rawValue: format.lowercased())!)
            if let out {
                do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                    throw failure("cannot write \(out): \(error.localizedDescription) — check the folder exists and is writable")
                }
            } else {
                print(text, terminator: "")
            }
        } catch let e as ValidationError {
            throw e
        } catch let e as ExitCode {
            throw e
        } catch {
            throw failure("\(error)")
        }
    }
}
