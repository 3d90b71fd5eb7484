import Testing
@testable import TUI

@Suite struct PanelTests {
    @Test func borderTitleAndInnerRect() {
        var g = CellGrid(width: 14, height: 4)
        let inner = Panel(title: "Loss").render(into: &g, in: g.bounds)
        #expect(inner == Rect(x: 1, y: 1, width: 12, height: 2))
        #expect(g.lines == ["┌─ Loss ─────┐", "│            │", "│            │", "└────────────┘"])
        #expect(g.styleAt(x: 3, y: 0) == Style(.title, bold: true))
        #expect(g.styleAt(x: 0, y: 0)?.role == .dim)
    }

    @Test func longTitlesAreCutAndAsciiBordersWork() {
        #expect(rendered(width: 10, height: 3) { Panel(title: "Learning rate").render(into: &$0, in: $0.bounds) }
            == ["┌─ Lea… ─┐", "│        │", "└────────┘"])
        #expect(rendered(width: 10, height: 3) { Panel(title: "LR", glyphs: .ascii).render(into: &$0, in: $0.bounds) }
            == ["+- LR ---+", "|        |", "+--------+"])
        #expect(rendered(width: 5, height: 2) { Panel(title: "Loss").render(into: &$0, in: $0.bounds) }
            == ["┌───┐", "└───┘"], "no room for a title")
    }

    @Test func focusAccentsTheBorderAndReversesTheTitle() {
        let g = grid(width: 12, height: 3) { Panel(title: "ctl", focused: true).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 0, y: 1) == Style(.accent, bold: true))
        #expect(g.styleAt(x: 3, y: 0) == Style(.title, bold: true, reverse: true))
    }

    @Test func tooSmallDrawsNothing() {
        var g = CellGrid(width: 4, height: 4)
        let inner = Panel(title: "x").render(into: &g, in: Rect(x: 1, y: 1, width: 1, height: 3))
        #expect(inner.isEmpty)
        #expect(g.lines == ["", "", "", ""])
    }
}

@Suite struct SmallWidgetTests {
    @Test func sparklineIsRightAlignedNewestLast() {
        #expect(rendered(width: 10, height: 1) { Sparkline(values: [0, 1, 2, 3, 4, 5, 6, 7]).render(into: &$0, in: $0.bounds) }
            == ["  ▁▂▃▄▅▆▇█"])
        #expect(rendered(width: 4, height: 1) { Sparkline(values: [9, 0, 7, .nan, 7]).render(into: &$0, in: $0.bounds) }
            == ["▁█ █"], "only the last four values, NaN as a gap")
        #expect(rendered(width: 3, height: 1) { Sparkline(values: [2, 2, 2], glyphs: .ascii).render(into: &$0, in: $0.bounds) }
            == ["~~~"], "a flat series sits mid-height")
        #expect(rendered(width: 3, height: 1) { Sparkline(values: [5, -5], range: 0...1).render(into: &$0, in: $0.bounds) }
            == [" █▁"])
        #expect(rendered(width: 3, height: 1) { Sparkline(values: [.nan]).render(into: &$0, in: $0.bounds) } == [""])
    }

    @Test func logViewShowsTheNewestLinesAtTheBottom() {
        let log = [LogLine("one"), LogLine("two"), LogLine("three is long", role: .warn)]
        #expect(rendered(width: 12, height: 2) { LogView(lines: log).render(into: &$0, in: $0.bounds) }
            == ["↑ 2 more", "three is lo…"], "hidden older lines are counted on the top row")
        #expect(rendered(width: 12, height: 4) { LogView(lines: log).render(into: &$0, in: $0.bounds) }
            == ["one", "two", "three is lo…", ""])
        let g = grid(width: 12, height: 2) { LogView(lines: log).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 0, y: 1)?.role == .warn)
        #expect(rendered(width: 8, height: 1) { LogView(lines: [LogLine("a\tb\nc")]).render(into: &$0, in: $0.bounds) }
            == ["a b c"])
    }

    @Test func helpBarDropsWholeHintsAndSaysThereIsMore() {
        let hints = [KeyHint("space", "pause"), KeyHint("q", "quit"), KeyHint("?", "help")]
        #expect(rendered(width: 27, height: 1) { HelpBar(hints: hints).render(into: &$0, in: $0.bounds) }
            == ["space pause  q quit  ? help"])
        #expect(rendered(width: 24, height: 1) { HelpBar(hints: hints).render(into: &$0, in: $0.bounds) }
            == ["space pause  q quit  …"])
        #expect(rendered(width: 12, height: 1) { HelpBar(hints: hints, glyphs: .ascii).render(into: &$0, in: $0.bounds) }
            == [".."], "not even the first hint fits with room for the ellipsis")
        let g = grid(width: 27, height: 1) { HelpBar(hints: hints).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 0, y: 0) == Style(.accent, bold: true))
        #expect(g.styleAt(x: 6, y: 0)?.role == .dim)
    }

    @Test func noticeIsCentredAndWrapped() {
        #expect(rendered(width: 20, height: 5) { Notice.terminalTooSmall(width: 20, height: 5).render(into: &$0, in: $0.bounds) }
            == ["", " terminal too small", "(need ≥ 80×24, have", "       20×5)", ""])
        #expect(rendered(width: 60, height: 1) {
            Notice.terminalTooSmall(width: 79, height: 24, glyphs: .ascii).render(into: &$0, in: $0.bounds)
        } == ["       terminal too small (need >= 80x24, have 79x24)"])
        #expect(rendered(width: 3, height: 1) { Notice(lines: ["terminal"]).render(into: &$0, in: $0.bounds) } == ["ter"])
    }
}
