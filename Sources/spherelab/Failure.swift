import ArgumentParser
import Foundation
import Engine
import DataLoaders
import SphereLabApp
import TUI
import SessionStore

/// Prints `error: …` on stderr and ends with status 1.
func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode.failure
}
