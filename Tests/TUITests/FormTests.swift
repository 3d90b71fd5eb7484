import Testing
@testable import TUI

@Suite struct FormTests {
    let rows = (0..<6).map { FormRow(label: "row\($0)", value: "v\($0)") }

    @Test func scrollsToKeepTheFocusedRowVisible() {
        var focused = rows
        focused[4].mode = .focused
        let g = grid(width: 12, height: 3) { Form(rows: focused).render(into: &$0, in: $0.bounds) }
        #expect(g.lines == ["row2 v2    ▲", "row3 v3", "row4 v4    ▼"])
        #expect((0..<11).allSatisfy { g.styleAt(x: $0, y: 2)?.role == .selected }, "the whole focused line is highlighted")
        #expect(g.styleAt(x: 0, y: 1)?.role == .label)
    }

    @Test func scrollOffsetMovesOnlyAsFarAsNeeded() {
        var form = Form(rows: (0..<10).map { FormRow(label: "r\($0)", value: "") }, firstLine: 3)
        form.rows[5].mode = .focused
        #expect(form.scrolled(height: 4) == 3, "row 5 is already visible in lines 3..<7")
        form.rows[5].mode = .normal
        form.rows[8].mode = .focused
        #expect(form.scrolled(height: 4) == 5)
        form.rows[8].mode = .normal
        form.rows[1].mode = .editing(cursor: 0)
        #expect(form.scrolled(height: 4) == 1)
        form.rows[1].mode = .normal
        form.firstLine = 100
        #expect(form.scrolled(height: 4) == 6, "clamped to the last full page")
        form.rows[9].message = "too big"
        form.rows[9].mode = .focused
        form.firstLine = 0
        #expect(form.scrolled(height: 4) == 7, "the message line below the row is kept in view too")
    }

    @Test func editingShowsACursorAndInvalidRowsTheirMessage() {
        var edited = rows
        edited[1] = FormRow(label: "row1", value: "0.01", mode: .editing(cursor: 1))
        edited[2].message = "bad"
        let g = grid(width: 16, height: 5) { Form(rows: edited).render(into: &$0, in: $0.bounds) }
        #expect(g.lines == ["row0 v0", "row1 0.01", "row2 v2", "     ⚠ bad", "row3 v3        ▼"])
        #expect(g.styleAt(x: 6, y: 1) == Style(.normal, reverse: true), "cursor on the '.' after '0'")
        #expect(g.styleAt(x: 5, y: 1) == Style(.normal))
        #expect(g.styleAt(x: 0, y: 1) == Style(.accent, bold: true))
        #expect(g.styleAt(x: 5, y: 2)?.role == .error)
        #expect(g.styleAt(x: 7, y: 3)?.role == .error)
    }

    @Test func cursorAtTheEndScrollsALongValueSideways() {
        let form = Form(rows: [FormRow(label: "lr", value: "0.000123", mode: .editing(cursor: 8))])
        let g = grid(width: 8, height: 1) { form.render(into: &$0, in: $0.bounds) }
        #expect(g.lines == ["lr 0123"])
        #expect(g.styleAt(x: 7, y: 0)?.reverse == true, "the cursor is the cell after the text")
        let start = Form(rows: [FormRow(label: "lr", value: "0.000123", mode: .editing(cursor: 0))])
        #expect(rendered(width: 8, height: 1) { start.render(into: &$0, in: $0.bounds) } == ["lr 0.000"])
    }

    @Test func ascii() {
        var edited = Array(rows.prefix(2))
        edited[0].message = "not a number"
        let lines = rendered(width: 14, height: 2) { Form(rows: edited, glyphs: .ascii).render(into: &$0, in: $0.bounds) }
        // Three lines in two: the right column holds the "more below" mark, the message is cut.
        #expect(lines == ["row0 v0", "     ! not ..v"])
    }
}
