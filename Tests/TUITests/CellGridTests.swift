import Testing
@testable import TUI

@Suite struct CellGridTests {
    @Test func putWritesOneCellPerCharacterAndKeepsStyle() {
        var grid = CellGrid(width: 8, height: 2)
        let end = grid.put("ab⣿c", x: 1, y: 1, style: Style(.ok, bold: true))
        #expect(end == 5)
        #expect(grid.lines == ["", " ab⣿c"])
        #expect(grid.styleAt(x: 3, y: 1) == Style(.ok, bold: true))
        #expect(grid.styleAt(x: 0, y: 1) == Style.normal)
        #expect(grid.styleAt(x: 8, y: 0) == nil)
        #expect(grid.characterAt(x: 3, y: 1) == "⣿")
    }

    @Test func textPastTheRightEdgeIsClipped() {
        var grid = CellGrid(width: 5, height: 1)
        let end = grid.put("hello world", x: 2, y: 0)
        #expect(grid.lines == ["  hel"])
        #expect(end == 13, "the return value is where the text would end unclipped")
    }

    @Test func negativeCoordinatesClipTheStart() {
        var grid = CellGrid(width: 5, height: 2)
        grid.put("abcdef", x: -3, y: 0)
        grid.put("zzz", x: 0, y: -1)
        grid.put("yyy", x: 0, y: 2)
        grid.set("q", x: -1, y: 1)
        grid.set("r", x: 5, y: 1)
        #expect(grid.lines == ["def", ""])
    }

    @Test func clipRectangleLimitsWrites() {
        var grid = CellGrid(width: 6, height: 2)
        let clip = Rect(x: 1, y: 0, width: 3, height: 1)
        grid.put("abcdef", x: 0, y: 0, clip: clip)
        grid.put("abcdef", x: 0, y: 1, clip: clip)
        grid.set("x", x: 5, y: 0, clip: clip)
        #expect(grid.lines == [" bcd", ""])
    }

    @Test func newlinesAreDrawnAsSpaces() {
        var grid = CellGrid(width: 5, height: 2)
        grid.put("a\nb", x: 0, y: 0)
        #expect(grid.lines == ["a b", ""])
    }

    @Test func fillIsClippedToTheGrid() {
        var grid = CellGrid(width: 4, height: 3)
        grid.fill(Rect(x: 2, y: 1, width: 10, height: 10), with: "#", style: Style(.warn))
        grid.fill(Rect(x: -5, y: -5, width: 6, height: 6), with: "o")
        #expect(grid.lines == ["o", "  ##", "  ##"])
        #expect(grid.styleAt(x: 3, y: 2)?.role == .warn)
    }

    @Test func linesTrimTrailingSpacesButRawLinesKeepThem() {
        var grid = CellGrid(width: 4, height: 1)
        grid.put("a", x: 1, y: 0)
        #expect(grid.lines == [" a"])
        #expect(grid.rawLine(0) == " a  ")
        #expect(grid.rawLine(5) == "")
    }

    @Test func drawingInARectUsesLocalCoordinatesAndCannotEscape() {
        var grid = CellGrid(width: 6, height: 3)
        grid.drawing(in: Rect(x: 2, y: 1, width: 3, height: 1)) { local in
            #expect(local.width == 3 && local.height == 1)
            local.put("abcdef", x: -1, y: 0)
            local.put("zzz", x: 0, y: 1)
        }
        #expect(grid.lines == ["", "  bcd", ""])
    }

    @Test func subgridAndBlitCopyCellsWithStyles() {
        var source = CellGrid(width: 4, height: 2)
        source.put("abcd", x: 0, y: 0, style: Style(.error))
        source.put("efgh", x: 0, y: 1)
        let part = source.subgrid(Rect(x: 1, y: 0, width: 2, height: 5))
        #expect(part.width == 2 && part.height == 2)
        #expect(part.lines == ["bc", "fg"])
        var target = CellGrid(width: 3, height: 2)
        target.blit(part, x: 2, y: 1)
        #expect(target.lines == ["", "  b"])
        #expect(target.styleAt(x: 2, y: 1)?.role == .error)
    }

    @Test func degenerateSizesAreEmptyNotTraps() {
        var grid = CellGrid(width: -3, height: 0)
        grid.put("abc", x: 0, y: 0)
        grid.fill(grid.bounds, with: "x")
        #expect(grid.width == 0 && grid.cells.isEmpty && grid.lines.isEmpty)
        #expect(grid[x: 0, y: 0] == .blank)
    }

    @Test func truncationEndsInAnEllipsis() {
        #expect(TextFit.truncate("learning rate", to: 6) == "learn…")
        #expect(TextFit.truncate("learning rate", to: 6, glyphs: .ascii) == "lear..")
        #expect(TextFit.truncate("lr", to: 6) == "lr")
        #expect(TextFit.truncate("lr", to: 0) == "")
        #expect(TextFit.truncate("lr", to: 1) == "…")
    }

    @Test func wrapBreaksAtSpacesAndCutsLongWords() {
        #expect(TextFit.wrap("save before quitting", width: 10) == ["save", "before", "quitting"])
        #expect(TextFit.wrap("a bb ccc", width: 4) == ["a bb", "ccc"])
        #expect(TextFit.wrap("abcdefgh", width: 3) == ["abc", "def", "gh"])
        #expect(TextFit.wrap("x", width: 0).isEmpty)
    }

    @Test func screenRecorderFramesTheFullGrid() {
        var grid = CellGrid(width: 3, height: 2)
        grid.put("ab", x: 0, y: 0)
        #expect(ScreenRecorder.render(grid) == "ab\n")
        #expect(ScreenRecorder.render(grid, framed: true) == "+---+\n|ab |\n|   |\n+---+")
        var recorder = ScreenRecorder()
        recorder.record(grid, title: "start")
        #expect(recorder.transcript == "start\n+---+\n|ab |\n|   |\n+---+")
    }

    @Test func colorRolesHaveDistinctStableIndices() {
        let all = ColorRole.all
        #expect(all.count == ColorRole.count)
        #expect(Set(all).count == all.count)
        #expect(ColorRole.series(ColorRole.seriesCount) == ColorRole.series(0), "series wrap around")
        #expect(ColorRole.series(-1) == ColorRole.series(ColorRole.seriesCount - 1))
        #expect(ColorRole.heat(9) == ColorRole.heat(4), "heat clamps")
        #expect(ColorRole.series(2).seriesNumber == 2 && ColorRole.series(2).heatLevel == nil)
        #expect(ColorRole.heat(3).heatLevel == 3)
        #expect(ColorRole.selected.description == "selected" && ColorRole.heat(1).description == "heat(1)")
    }
}
