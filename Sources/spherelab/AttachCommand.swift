import ArgumentParser
import Foundation
import SphereLabApp
import TUI

/// `spherelab attach HOST:PORT`: the workbench on a running `python -m spherelab_torch.train`
/// job (PyTorch/PROTOCOL.md). The job keeps running when the workbench quits or loses it.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open the workbench on a running PyTorch job (python -m spherelab_torch.train): watch and steer it.",
        discussion: """
            HOST:PORT is the address the job printed first ({"attach": "127.0.0.1:40123", …}). A job listening \
            beyond loopback needs its token: --token-file FILE (the file it wrote, mode 0600) or --token T. \
            Quitting or losing the connection never stops the job; `s` asks the job to save a snapshot on its own disk.
            """)
    @Argument(help: "The job's channel address, HOST:PORT ([v6]:PORT for IPv6).") var address: String
    @Option(help: "The job's token (needed beyond loopback; prefer --token-file: arguments are visible to other users).") var token: String?
    @Option(name: .customLong("token-file"), help: "A file holding the job's token (the job writes one with mode 0600).") var tokenFile: String?
    @OptionGroup var display: GlyphOptions
    @Option(name: .customLong("connect-timeout"), help: "Seconds to wait for the job's first answer (default 15).") var connectTimeout = 15.0

    func validate() throws {
        if token != nil && tokenFile != nil { throw ValidationError("give --token or --token-file, not both") }
        guard connectTimeout > 0, connectTimeout <= 600 else { throw ValidationError("--connect-timeout must be in (0, 600] seconds") }
    }

    func run() throws {
        guard Terminal.isInteractive else {
            throw failure("attach opens the workbench and needs a terminal (stdin and stdout a TTY)")
        }
        let secret = try readToken()
        let remote: RemoteRun
        do {
            remote = try RemoteRun(address: address, token: secret)
        } catch {
            throw failure("\(error)")
        }
        FileHandle.standardError.write(Data("attaching to \(address)…\n".utf8))
        remote.start()
        if let problem = remote.awaitFirstContact(timeoutSeconds: connectTimeout) {
            remote.stop()
            throw failure("\(problem)\n(is the job running? it prints its address as the first line of its output)")
        }
        let runner = WorkbenchRunner(driver: remote, glyphs: display.glyphs)
        do {
            try runner.run()
        } catch {
            remote.stop()
            throw failure("\(error)")
        }
        let t = runner.telemetry
        print("detached from \(address) at step \(t.step) (the job goes on)"
              + (t.bestTestAccuracy.map { String(format: ", best test accuracy %.2f%%", 100 * $0) } ?? ""))
    }

    /// The token from --token or --token-file (surrounding white space removed).
    func readToken() throws -> String? {
        if let token { return token.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let tokenFile else { return nil }
        guard let data = FileManager.default.contents(atPath: tokenFile) else {
            throw failure("cannot read the token file \(tokenFile): it is missing or not readable by you (the job writes it where its --token-file says, default ./spherelab-attach-<pid>.token)")
        }
        guard data.count <= 4096, let text = String(data: data, encoding: .utf8),
              case let t = text.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty, !t.contains("\n") else {
            throw failure("\(tokenFile) does not hold a token (one line of text): pass the file the job wrote")
        }
        return t
    }
}
