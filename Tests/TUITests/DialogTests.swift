import Testing
@testable import TUI

@Suite struct DialogTests {
    @Test func confirmationIsCentredWithItsFooter() {
        let lines = rendered(width: 30, height: 9) {
            $0.fill($0.bounds, with: ".")
            Dialog(title: "Quit", content: .text(["Save before quitting?"]), footer: "y/n/esc")
                .render(into: &$0, in: $0.bounds)
        }
        #expect(lines == [
            "..............................",
            "..┌─ Quit ────────────────┐...",
            "..│                       │...",
            "..│ Save before quitting? │...",
            "..│                       │...",
            "..│ y/n/esc               │...",
            "..│                       │...",
            "..└───────────────────────┘...",
            "..............................",
        ])
    }

    @Test func helpShowsAnAlignedKeyTable() {
        let help = Dialog(title: "Help", content: .keyTable([KeyHint("q", "quit"), KeyHint("space", "pause")]))
        let g = grid(width: 30, height: 8) { help.render(into: &$0, in: $0.bounds) }
        #expect(g.lines == [
            "",
            "       ┌─ Help ───────┐",
            "       │              │",
            "       │ q      quit  │",
            "       │ space  pause │",
            "       │              │",
            "       └──────────────┘",
            "",
        ])
        #expect(g.styleAt(x: 9, y: 4) == Style(.accent, bold: true))
        #expect(g.styleAt(x: 16, y: 4) == Style(.normal))
    }

    @Test func pickListScrollsToTheSelection() {
        let pick = Dialog(title: "Open", content: .pickList(items: ["a", "b", "c", "d", "e"], selected: 3))
        let g = grid(width: 20, height: 6) { pick.render(into: &$0, in: $0.bounds) }
        #expect(g.lines == [
            "   ┌─ Open ─────┐",
            "   │            │",
            "   │ c          │",
            "   │ d          │",
            "   │            │",
            "   └────────────┘",
        ])
        #expect((5..<15).allSatisfy { g.styleAt(x: $0, y: 3)?.role == .selected })
        #expect(g.styleAt(x: 5, y: 2)?.role == .normal)
    }

    @Test func longTextWrapsInsideTheMaximumWidth() {
        let dialog = Dialog(title: "Error", content: .text(["the snapshot is damaged: header size 9999 exceeds file"]),
                            maxContentWidth: 20)
        let lines = rendered(width: 40, height: 10) { dialog.render(into: &$0, in: $0.bounds) }
        #expect(lines == [
            "",
            "        ┌─ Error ──────────────┐",
            "        │                      │",
            "        │ the snapshot is      │",
            "        │ damaged: header size │",
            "        │ 9999 exceeds file    │",
            "        │                      │",
            "        └──────────────────────┘",
            "",
            "",
        ])
    }

    @Test func tinyScreensShowJustTheTitle() {
        let dialog = Dialog(title: "Quit", content: .text(["Save?"]))
        #expect(rendered(width: 4, height: 2) { dialog.render(into: &$0, in: $0.bounds) } == ["Quit", ""])
    }
}
