import Foundation
import SessionStore

/// `sessions list` as text: one row per snapshot, columns as wide as their widest cell (so a
/// long name never runs into the date), damaged snapshots marked with the reason. A saved race
/// (`races`: its folder's path → what it holds) is one row that says so, not a damaged snapshot.
public enum SessionTable {
    public static func render(_ listings: [SnapshotListing], races: [String: (detail: String, damaged: Bool)] = [:]) -> String {
        let header = ["name", "saved", "step", "dataset", "model", "variant", "best"]
        var rows: [[String]] = []
        var reasons: [String?] = []
        for l in listings {
            let s = l.summary
            if let race = races[s.path] {
                rows.append([s.name, "–", "–", "–", "–", race.detail, "–"])
                reasons.append(race.damaged ? race.detail.replacingOccurrences(of: "damaged: ", with: "") : nil)
                continue
            }
            rows.append([s.name,
                         s.savedAt.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") } ?? "?",
                         s.step.map(String.init) ?? "?", s.dataset ?? "?", s.model ?? "?", s.variant ?? "?",
                         s.bestTestAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "–"])
            if case .damaged(let reason) = l.health { reasons.append(reason) } else { reasons.append(nil) }
        }
        var widths = header.map(\.count)
        for r in rows { for (i, cell) in r.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }.joined()
        }
        var out = line(header) + "\n"
        for (r, reason) in zip(rows, reasons) {
            out += line(r) + "\n"
            if let reason { out += "  ⚠ damaged: \(reason)\n" }
        }
        let damaged = reasons.compactMap { $0 }.count
        if damaged > 0 { out += "\(damaged) of \(rows.count) snapshots cannot be loaded (reasons above)\n" }
        return out
    }
}
