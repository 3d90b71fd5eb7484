/// Plain-text captures of rendered screens, e.g. for the README or a bug report.
public struct ScreenRecorder: Sendable {
    public struct Frame: Equatable, Sendable {
        public var title: String
        public var grid: CellGrid
    }

    public private(set) var frames: [Frame] = []

    public init() {}

    public mutating func record(_ grid: CellGrid, title: String) {
        frames.append(Frame(title: title, grid: grid))
    }

    /// Every frame as a titled, framed text block, separated by blank lines.
    public var transcript: String {
        frames.map { "\($0.title)\n" + ScreenRecorder.render($0.grid, framed: true) }.joined(separator: "\n\n")
    }

    /// The grid as text (trailing spaces trimmed). `framed` draws an ASCII border around the full
    /// grid so its true size shows even where rows end in blanks.
    public static func render(_ grid: CellGrid, framed: Bool = false) -> String {
        guard framed else { return grid.text }
        let edge = "+" + String(repeating: "-", count: grid.width) + "+"
        let rows = (0..<grid.height).map { "|" + grid.rawLine($0) + "|" }
        return ([edge] + rows + [edge]).joined(separator: "\n")
    }
}
