import Testing
import Foundation

/// `--datasets-dir` names a folder searched before the system's packages: one that is not there
/// (or is a file) is refused before anything runs, instead of training on other data.
@Suite struct DatasetsFolderTests {
    @Test func aMissingOrFileFolderIsRefused() throws {
        let bin = try #require(EndToEndTests.binary, "spherelab binary not found next to the tests; run `swift build` first")
        let file = NSTemporaryDirectory() + "spherelab-not-a-folder-\(getpid())"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let cases: [([String], String)] = [
            (["train", "--datasets-dir", "/nonexistent-datasets", "--steps", "1"], "--datasets-dir /nonexistent-datasets: no such folder"),
            (["train", "--datasets-dir", file, "--steps", "1"], "a file, not a folder"),
            (["eval", "--session", "x", "--datasets-dir", "/nonexistent-datasets"], "no such folder"),
            (["experiment", "run", "--preset", "rq-quick", "--datasets-dir", "/nonexistent-datasets"], "no such folder"),
        ]
        for (arguments, message) in cases {
            let (status, output) = EndToEndTests.shell([bin] + arguments)
            #expect(status != 0 && output.contains(message), "\(arguments): \(output)")
            #expect(!output.contains("step 1"), "\(arguments) trained before refusing: \(output)")
        }
    }
}
