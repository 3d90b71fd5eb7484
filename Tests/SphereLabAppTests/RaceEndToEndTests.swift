import Testing
import Foundation

/// The workbench's race mode in a real terminal: `spherelab --race conv,cosine` in tmux.
@Suite(.serialized) struct RaceEndToEndTests {
    @Test func raceShowsBothRunsAndAChangeLandsOnTheFocusedRunOnly() throws {
        guard EndToEndTests.terminalTestCanRun() else { return }
        let bin = try #require(EndToEndTests.binary, "spherelab binary not found next to the tests; run `swift build` first")
        let socket = "spherelab-race-e2e-\(getpid())"
        let status = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket).status").path
        let sessions = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket)-sessions").path
        try? FileManager.default.removeItem(atPath: status)
        defer { try? FileManager.default.removeItem(atPath: status); try? FileManager.default.removeItem(atPath: sessions) }
        let command = "cd '\(EndToEndTests.root)' && '\(bin)' --race conv,cosine --width 0.125 --batch 16 --eval-every 20 --eval-limit 200 --sessions-dir '\(sessions)'; echo $? > '\(status)'"
        EndToEndTests.shell(["tmux", "-L", socket, "new-session", "-d", "-x", "120", "-y", "36", "-s", "race", command])
        EndToEndTests.shell(["tmux", "-L", socket, "set-option", "-t", "race", "remain-on-exit", "on"])
        defer { EndToEndTests.shell(["tmux", "-L", socket, "kill-server"]) }
        let pane = EndToEndTests.Pane(socket: socket, target: "race")

        // Both names in the legend and on the scoreboard; the runs train.
        var screen = pane.wait(seconds: 120) { $0.contains("RUNNING") && (EndToEndTests.step(in: $0) ?? 0) >= 3 && $0.contains("Scoreboard") }
        #expect(screen.contains("race of 2"), "screen:\n\(screen)")
        #expect(screen.contains("▸1 conv") && screen.contains("2 cosine"), "legend:\n\(screen)")
        let lines = screen.components(separatedBy: "\n")
        #expect(lines.contains { $0.hasPrefix("│▸1  conv") }, "scoreboard row of conv missing:\n\(screen)")
        #expect(lines.contains { $0.hasPrefix("│ 2  cosine") }, "scoreboard row of cosine missing:\n\(screen)")

        // Focus the second run and double its learning rate: the marker lands on it only.
        pane.send("2")
        screen = pane.wait(seconds: 20) { $0.contains("focus 2 cosine") }
        #expect(screen.contains("focus 2 cosine"), "screen:\n\(screen)")
        pane.send("+")
        screen = pane.wait(seconds: 30) { $0.contains("2:lr×2") && $0.contains("learning rate → 0.002") }
        #expect(screen.contains("2:lr×2"), "no marker on run 2:\n\(screen)")
        #expect(!screen.contains("1:lr×2"), "the change marked run 1 too:\n\(screen)")
        #expect(screen.contains("lr 0.002"), "header of the focused run:\n\(screen)")
        // Run 1 kept its rate. tmux can capture a frame half drawn (the header already says
        // "focus 1", the event log below still run 2's), so wait for the whole frame.
        pane.send("1")
        screen = pane.wait(seconds: 20) { $0.contains("focus 1 conv") && !$0.contains("learning rate → 0.002") }
        #expect(screen.contains("lr 0.001") && !screen.contains("learning rate → 0.002"), "conv changed too:\n\(screen)")

        // q, n: quits with status 0 and a line per run.
        pane.send("q")
        screen = pane.wait(seconds: 20) { $0.contains("not saved") }
        pane.send("n")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: status) && Date() < deadline { Thread.sleep(forTimeInterval: 0.25) }
        let code = (try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(code == "0", "exit status \(code ?? "none")")
        screen = pane.capture()
        #expect(screen.contains("conv: stopped at step") && screen.contains("cosine: stopped at step"), "summary:\n\(screen)")
    }
}
