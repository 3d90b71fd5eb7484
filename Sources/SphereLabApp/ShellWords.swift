import Foundation

/// Writing commands for people to paste back into a shell.
public enum ShellWords {
    /// `word` as a shell reads it back: as is when it is plain, else in single quotes
    /// (`long run.json` → `'long run.json'`).
    public static func quote(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_./:=,@+%".unicodeScalars.contains($0))
        }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
