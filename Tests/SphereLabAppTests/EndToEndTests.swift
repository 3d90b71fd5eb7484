import Testing
import Foundation

/// The real binary in a real terminal: tmux runs `spherelab` on a small Fashion-MNIST run,
/// and the test reads the screen with `capture-pane` while sending keys.
@Suite(.serialized) struct EndToEndTests {
    /// The package root and the built binary (next to the test bundle in .build/…/debug).
    static var binary: String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("spherelab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Runs a command and returns its status and output. posix_spawn + waitpid rather than
    /// Foundation's Process: `tmux new-session -d` forks a server, and Process then never
    /// reported the client's exit. Output goes through a file (the server would hold a pipe).
    @discardableResult
    static func shell(_ args: [String]) -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("spherelab-e2e-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        // The child starts with no signal blocked: the test runner's threads block most
        // signals, and a tmux server that inherited that mask never reaped its pane's shell nor
        // heard SIGTERM, so it outlived `kill-server`.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, args[0], &actions, &attributes, &argv, environ)
        guard rc == 0 else { return (-1, "cannot start \(args[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    struct Pane {
        let socket: String, target: String
        func capture() -> String { EndToEndTests.shell(["tmux", "-L", socket, "capture-pane", "-p", "-t", target]).output }
        func send(_ keys: String...) { EndToEndTests.shell(["tmux", "-L", socket, "send-keys", "-t", target] + keys) }
        /// Polls the screen until `predicate` holds (or the timeout passes); returns the last capture.
        func wait(seconds: Double, _ predicate: (String) -> Bool) -> String {
            let deadline = Date().addingTimeInterval(seconds)
            var screen = capture()
            while !predicate(screen) && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.25)
                screen = capture()
            }
            return screen
        }
    }

    static func step(in screen: String) -> Int? {
        guard let r = screen.range(of: #"step (\d+)"#, options: .regularExpression) else { return nil }
        return Int(screen[r].dropFirst(5))
    }

    /// `--eval-limit` with `--resume` is refused before anything is read: the snapshot fixes
    /// the evaluation's test images (it was silently ignored: 500 images evaluated after
    /// `train --resume … --eval-limit 200`).
    @Test func resumeChecksAnEvaluationLimit() throws {
        let bin = try #require(Self.binary, "spherelab binary not found next to the tests; run `swift build` first")
        for command in [["train", "--resume", "/nonexistent/run", "--eval-limit", "0"], ["--resume", "/nonexistent/run", "--eval-limit", "0"]] {
            let (status, output) = Self.shell([bin] + command)
            #expect(status != 0 && output.contains("out of range"), "\(command): \(output)")
        }
    }

    /// Whether a test of the real binary in tmux can run here; if not, records why (tmux or
    /// Fashion-MNIST missing, both of which `make test` installs).
    static func terminalTestCanRun() -> Bool {
        guard shell(["tmux", "-V"]).status == 0 else {
            Issue.record("tmux is not installed: `make test` installs it (apt-get install tmux)")
            return false
        }
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") else {
            Issue.record("Fashion-MNIST is not installed: `make test` installs dataset-fashion-mnist")
            return false
        }
        return true
    }

    @Test func workbenchTrainsPausesSteersAndQuitsCleanly() throws {
        guard Self.terminalTestCanRun() else { return }
        let bin = try #require(Self.binary, "spherelab binary not found next to the tests; run `swift build` first")
        let socket = "spherelab-e2e-\(getpid())"
        let status = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket).status").path
        let sessions = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket)-sessions").path
        try? FileManager.default.removeItem(atPath: status)
        let command = "cd '\(Self.root)' && '\(bin)' --width 0.125 --batch 32 --eval-every 40 --eval-limit 300 --sessions-dir '\(sessions)'; echo $? > '\(status)'"
        Self.shell(["tmux", "-L", socket, "new-session", "-d", "-x", "100", "-y", "30", "-s", "e2e", command])
        Self.shell(["tmux", "-L", socket, "set-option", "-t", "e2e", "remain-on-exit", "on"])
        defer { Self.shell(["tmux", "-L", socket, "kill-server"]) }
        let pane = Pane(socket: socket, target: "e2e")

        // Charts and angle view appear, and the step counter moves.
        // (tmux can capture a frame half drawn: the predicates name what the assertions read,
        // down to the lowest line, so a passing wait has the whole frame.)
        let panels = ["Loss", "Accuracy", "features.0 ·", "θ(w, x)", "Controls", "Events"]
        var screen = pane.wait(seconds: 120) { s in
            s.contains("RUNNING") && (Self.step(in: s) ?? 0) >= 3 && panels.allSatisfy { s.contains($0) }
        }
        #expect(screen.contains("RUNNING"), "screen:\n\(screen)")
        for needle in panels {
            #expect(screen.contains(needle), "missing \(needle):\n\(screen)")
        }
        #expect(screen.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) }, "no braille on screen")

        // space: PAUSED and the step counter stops.
        pane.send("Space")
        screen = pane.wait(seconds: 60) { $0.contains("PAUSED") }
        #expect(screen.contains("PAUSED"), "screen:\n\(screen)")
        let pausedAt = Self.step(in: screen)
        Thread.sleep(forTimeInterval: 2)
        screen = pane.capture()
        #expect(Self.step(in: screen) == pausedAt, "step moved while paused")

        // While it runs: +, then v twice quickly. Each v advances from the variant the one before
        // chose (cosine → linear → sigmoid), and the changes are marked on the loss chart.
        pane.send("Space")
        screen = pane.wait(seconds: 20) { $0.contains("RUNNING") }
        pane.send("+", "v", "v")
        screen = pane.wait(seconds: 30) { $0.contains("variant → sigmoid") && $0.contains("lr 0.002") }
        #expect(screen.contains("lr 0.002"), "header:\n\(screen)")
        #expect(screen.contains("learning rate → 0.002"), "telemetry event missing:\n\(screen)")
        #expect(screen.contains("variant → linear") && screen.contains("variant → sigmoid"), "both variants must be logged:\n\(screen)")
        #expect(screen.contains("· sigmoid"), "header does not show the new variant:\n\(screen)")
        #expect(screen.contains("spherenet9-sigmoid-fashion-mnist"), "the run name does not follow the variant:\n\(screen)")
        // The loss chart's area: from its title row to the accuracy panel, left of its right border.
        let lines = screen.components(separatedBy: "\n")
        let top = try #require(lines.firstIndex { $0.contains("─ Loss") })
        let bottom = try #require(lines.firstIndex { $0.contains("─ Accuracy") })
        let right = try #require(lines[top].firstIndex(of: "┐"))
        let lossArea = lines[top..<bottom].map { String($0[..<min(right, $0.endIndex)]) }.joined(separator: "\n")
        #expect(lossArea.contains("lr×2"), "no learning-rate marker on the loss chart:\n\(lossArea)")
        #expect(lossArea.contains("→sigmoid"), "no marker of the variant in use on the loss chart:\n\(lossArea)")

        // q: asks to save unsaved progress; n quits with status 0 and the terminal restored.
        pane.send("q")
        screen = pane.wait(seconds: 20) { $0.contains("not saved") && $0.contains("before quitting?") }
        #expect(screen.contains("Save a snapshot before quitting?"), "screen:\n\(screen)")
        pane.send("n")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: status) && Date() < deadline { Thread.sleep(forTimeInterval: 0.25) }
        let code = (try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(code == "0", "exit status \(code ?? "none")")
        screen = pane.capture()
        #expect(!screen.contains("Controls"), "the workbench is still on screen after quitting:\n\(screen)")
        #expect(screen.contains("stopped at step"), "no summary after the terminal was restored:\n\(screen)")
        let alternate = Self.shell(["tmux", "-L", socket, "display-message", "-p", "-t", "e2e", "#{alternate_on}"]).output
        #expect(alternate.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "alternate screen still on")
        try? FileManager.default.removeItem(atPath: status)
        try? FileManager.default.removeItem(atPath: sessions)
    }
}
