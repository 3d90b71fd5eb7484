import Testing
@testable import TUI

@Suite struct LogViewScrollTests {
    let log = (1...30).map { LogLine("event \($0)", role: $0 % 5 == 0 ? .warn : .normal) }

    @Test func growsWithItsRectAndSaysHowManyMore() {
        #expect(rendered(width: 20, height: 4) { LogView(lines: log).render(into: &$0, in: $0.bounds) }
            == ["↑ 27 more", "event 28", "event 29", "event 30"])
        let tall = rendered(width: 20, height: 60) { LogView(lines: log).render(into: &$0, in: $0.bounds) }
        #expect(tall.first == "event 1" && tall[29] == "event 30" && tall[30] == "", "at 60 rows every line shows")
        #expect(rendered(width: 20, height: 4) { LogView(lines: log, glyphs: .ascii, scroll: 10).render(into: &$0, in: $0.bounds) }
            == ["^ 18 more", "event 19", "event 20", "v 10 newer"])
        #expect(rendered(width: 20, height: 4) { LogView(lines: log, scroll: 999).render(into: &$0, in: $0.bounds) }
            == ["event 1", "event 2", "event 3", "↓ 27 newer"], "scrolled past the top stops at the oldest line")
        #expect(rendered(width: 20, height: 1) { LogView(lines: log, scroll: 3).render(into: &$0, in: $0.bounds) } == ["event 27"])
        #expect(rendered(width: 20, height: 3) { LogView(lines: []).render(into: &$0, in: $0.bounds) } == ["", "", ""])
        let g = grid(width: 20, height: 4) { LogView(lines: log, scroll: 10).render(into: &$0, in: $0.bounds) }
        #expect(g.styleAt(x: 0, y: 2)?.role == .warn && g.styleAt(x: 0, y: 0)?.role == .dim)
    }

    @Test func keysScrollByLineAndPage() {
        #expect(LogView.scrolled(0, by: .up, lineCount: 30, height: 10) == 1)
        #expect(LogView.scrolled(0, by: .down, lineCount: 30, height: 10) == 0)
        #expect(LogView.scrolled(0, by: .pageUp, lineCount: 30, height: 10) == 8)
        #expect(LogView.scrolled(20, by: .pageUp, lineCount: 30, height: 10) == 21, "the oldest line is the limit")
        #expect(LogView.scrolled(5, by: .pageDown, lineCount: 30, height: 10) == 0)
        #expect(LogView.scrolled(0, by: .home, lineCount: 30, height: 10) == 21)
        #expect(LogView.scrolled(9, by: .end, lineCount: 30, height: 10) == 0)
        #expect(LogView.scrolled(3, by: .char("x"), lineCount: 30, height: 10) == 3)
        #expect(LogView.scrolled(0, by: .home, lineCount: 3, height: 10) == 0, "everything fits: nothing to scroll")
    }
}

@Suite struct HelpBarPriorityTests {
    let hints = [KeyHint("space", "pause", priority: 2), KeyHint("+/-", "lr", priority: 1), KeyHint("[ ]", "layer"),
                 KeyHint("s", "save", priority: 1), KeyHint("?", "help", priority: 3), KeyHint("q", "quit", priority: 3)]

    @Test func lowPriorityHintsGoFirstAndQuitAndHelpStay() {
        #expect(rendered(width: 80, height: 1) { HelpBar(hints: hints).render(into: &$0, in: $0.bounds) }
            == ["space pause  +/- lr  [ ] layer  s save  ? help  q quit"])
        #expect(rendered(width: 45, height: 1) { HelpBar(hints: hints).render(into: &$0, in: $0.bounds) }
            == ["space pause  +/- lr  ? help  q quit  …"], "of the two priority-1 hints the later goes first")
        #expect(rendered(width: 30, height: 1) { HelpBar(hints: hints).render(into: &$0, in: $0.bounds) }
            == ["space pause  ? help  q quit  …"])
        #expect(rendered(width: 18, height: 1) { HelpBar(hints: hints, glyphs: .ascii).render(into: &$0, in: $0.bounds) }
            == ["? help  q quit  .."])
        #expect(rendered(width: 17, height: 1) { HelpBar(hints: hints, glyphs: .ascii).render(into: &$0, in: $0.bounds) }
            == ["? help  .."], "the ASCII ellipsis takes two cells")
        #expect(rendered(width: 2, height: 1) { HelpBar(hints: hints).render(into: &$0, in: $0.bounds) } == ["…"])
    }
}

@Suite struct LayoutTests {
    @Test func minimumsFirstThenWeightsUpToMaximums() {
        let slots = [LayoutSlot.fixed(1, priority: 9), LayoutSlot(minimum: 8, weight: 3, priority: 5),
                     LayoutSlot(minimum: 4, maximum: 12, weight: 1, priority: 2), LayoutSlot.fixed(1, priority: 10)]
        #expect(Layout.lengths(slots, total: 24) == [1, 16, 6, 1])
        #expect(Layout.lengths(slots, total: 60) == [1, 46, 12, 1], "the log stops at its maximum, the charts take the rest")
        #expect(Layout.lengths(slots, total: 12) == [1, 10, nil, 1], "too small for the log: it is dropped")
        #expect(Layout.lengths(slots, total: 5) == [1, nil, nil, 1])
        #expect(Layout.lengths(slots, total: 0) == [nil, nil, nil, nil])
        #expect(Layout.lengths([], total: 10) == [])
        #expect(Layout.lengths([LayoutSlot(minimum: 2), LayoutSlot(minimum: 2)], total: 7, gap: 1) == [3, 3])
    }

    /// The workbench's shape: header, charts | angles, controls beside, log, help bar.
    func screen(width: Int, height: Int) -> [String: Rect] {
        let whole = Rect(x: 0, y: 0, width: width, height: height)
        let rows = Layout.rows(whole, [.fixed(1, priority: 9), LayoutSlot(minimum: 14, weight: 4, priority: 8),
                                       LayoutSlot(minimum: 4, maximum: 14, weight: 1, priority: 3), .fixed(1, priority: 10)])
        var result: [String: Rect] = [:]
        result["header"] = rows[0]; result["log"] = rows[2]; result["help"] = rows[3]
        if let main = rows[1] {
            let columns = Layout.columns(main, [LayoutSlot(minimum: 40, weight: 3, priority: 9),
                                                LayoutSlot(minimum: 30, weight: 2, priority: 4),
                                                LayoutSlot(minimum: 26, maximum: 34, weight: 1, priority: 6)])
            result["charts"] = columns[0]; result["angles"] = columns[1]; result["controls"] = columns[2]
        }
        return result
    }

    @Test func workbenchShapeAtEverySize() {
        let small = screen(width: 80, height: 24)
        #expect(small["help"] == Rect(x: 0, y: 23, width: 80, height: 1))
        #expect(small["charts"] == Rect(x: 0, y: 1, width: 51, height: 18))
        #expect(small["angles"] == nil, "at 80 columns the angle view gives way to the controls")
        #expect(small["controls"] == Rect(x: 51, y: 1, width: 29, height: 18))
        #expect(small["log"] == Rect(x: 0, y: 19, width: 80, height: 4))
        let medium = screen(width: 120, height: 36)
        #expect(medium["charts"]?.width == 52 && medium["angles"]?.width == 38 && medium["controls"]?.width == 30)
        let large = screen(width: 200, height: 60)
        #expect(large["controls"]?.width == 34, "controls stop growing; charts and angles take the space")
        #expect(large["log"]?.height == 12 && large["charts"]?.height == 46)
        for (width, height) in [(80, 24), (100, 30), (120, 36), (160, 48), (200, 60)] {
            let parts = screen(width: width, height: height).values
            #expect(parts.allSatisfy { Rect(x: 0, y: 0, width: width, height: height).intersection($0) == $0 })
            #expect(parts.reduce(0) { $0 + $1.area } == width * height, "the parts tile the screen at \(width)×\(height)")
        }
        #expect(screen(width: 40, height: 10)["help"] != nil, "the help bar survives any size")
    }
}

@Suite struct MouseTests {
    @Test(arguments: [
        (0, 10, 5, "M" as Character, MouseEvent(action: .press(.left), x: 9, y: 4)),
        (0, 10, 5, "m", MouseEvent(action: .release(.left), x: 9, y: 4)),
        (2, 1, 1, "M", MouseEvent(action: .press(.right), x: 0, y: 0)),
        (32, 3, 4, "M", MouseEvent(action: .drag(.left), x: 2, y: 3)),
        (64, 3, 4, "M", MouseEvent(action: .wheelUp, x: 2, y: 3)),
        (65, 300, 80, "M", MouseEvent(action: .wheelDown, x: 299, y: 79)),
        (20, 1, 1, "M", MouseEvent(action: .press(.left), x: 0, y: 0, shift: true, control: true)),
    ] as [(Int, Int, Int, Character, MouseEvent)])
    func sgrReports(code: Int, x: Int, y: Int, final: Character, expected: MouseEvent) {
        #expect(MouseEvent.sgr(code: code, x: x, y: y, final: final) == expected)
    }

    @Test func malformedReportsAreRejected() {
        #expect(MouseEvent.sgr(code: 0, x: 0, y: 1, final: "M") == nil)
        #expect(MouseEvent.sgr(code: 0, x: 1, y: 1, final: "X") == nil)
        #expect(MouseEvent.sgr(code: 35, x: 1, y: 1, final: "M") == nil, "motion without a button")
    }

    func decode(_ inputs: [Key.Input], flush: Bool = false) -> [Key] {
        var decoder = InputDecoder()
        var keys = inputs.flatMap { decoder.feed($0) }
        if flush { keys += decoder.flush() }
        return keys
    }

    func chars(_ s: String) -> [Key.Input] { s.unicodeScalars.map { .character($0.value) } }

    @Test func decoderFindsReportsInTheKeyStream() {
        // As seen under tmux (TERM=tmux-256color): the report arrives as plain characters.
        #expect(decode(chars("a\u{1B}[<0;10;5Mb")) == [.char("a"), .mouse(MouseEvent(action: .press(.left), x: 9, y: 4)), .char("b")])
        // As seen with TERM=xterm-256color: ncurses reports KEY_MOUSE (0o631), then the parameters.
        #expect(decode([.keyCode(0o631)] + chars("64;3;4M")) == [.mouse(MouseEvent(action: .wheelUp, x: 2, y: 3))])
        #expect(decode(chars("\u{1B}")) == [], "a lone Esc waits for what follows")
        #expect(decode(chars("\u{1B}"), flush: true) == [.escape])
        #expect(decode(chars("\u{1B}x")) == [.escape, .char("x")], "Alt-x is not a mouse report")
        #expect(decode(chars("\u{1B}[<0;1x")) == [.escape, .char("["), .char("<"), .char("0"), .char(";"), .char("1"), .char("x")],
                "a broken report gives back every key")
        #expect(decode(chars("\u{1B}\u{1B}[<0;1;1M")) == [.escape, .mouse(MouseEvent(action: .press(.left), x: 0, y: 0))])
        #expect(decode(chars("\u{1B}[<0;1"), flush: true).count == 6)
        #expect(decode([.keyCode(0o403)]) == [.up])
        #expect(Key.mouse(MouseEvent(action: .wheelUp, x: 0, y: 0)).name == "mouse")
    }
}
