import Testing
@testable import TUI

@Suite struct RectTests {
    let area = Rect(x: 10, y: 5, width: 100, height: 30)

    @Test func rowsServeFixedThenRatioThenFill() {
        let parts = area.rows([.fixed(1), .ratio(0.5), .fill(1), .fixed(2)])
        #expect(parts.map(\.height) == [1, 15, 12, 2])
        #expect(parts.map(\.y) == [5, 6, 21, 33])
        #expect(parts.allSatisfy { $0.x == 10 && $0.width == 100 })
    }

    @Test func columnsShareTheRemainderByWeightWithGaps() {
        let parts = area.columns([.fill(1), .fill(2)], gap: 1)
        #expect(parts.map(\.width) == [33, 66])
        #expect(parts.map(\.x) == [10, 44])
    }

    @Test func fixedPartsLargerThanTheSpaceAreCut() {
        let parts = Rect(x: 0, y: 0, width: 10, height: 5).columns([.fixed(8), .fixed(8), .fill(1)])
        #expect(parts.map(\.width) == [8, 2, 0])
        #expect(parts.map(\.x) == [0, 8, 10])
    }

    @Test func splitHelpers() {
        let (top, rest) = area.splitTop(3)
        #expect(top == Rect(x: 10, y: 5, width: 100, height: 3))
        #expect(rest == Rect(x: 10, y: 8, width: 100, height: 27))
        let (left, bottom) = area.splitBottom(40)
        #expect(left.height == 0 && bottom.height == 30)
        let (side, _) = area.splitLeft(20)
        #expect(side.width == 20)
        let (_, right) = area.splitRight(7)
        #expect(right == Rect(x: 103, y: 5, width: 7, height: 30))
    }

    @Test func geometry() {
        let r = Rect(x: 2, y: 3, width: -4, height: 5)
        #expect(r.width == 0 && r.isEmpty)
        #expect(area.inset(by: 1) == Rect(x: 11, y: 6, width: 98, height: 28))
        #expect(Rect(x: 0, y: 0, width: 1, height: 1).inset(by: 1).isEmpty)
        #expect(area.centered(width: 20, height: 10) == Rect(x: 50, y: 15, width: 20, height: 10))
        #expect(area.centered(width: 500, height: 10).width == 100)
        #expect(area.intersection(Rect(x: 0, y: 0, width: 12, height: 6)) == Rect(x: 10, y: 5, width: 2, height: 1))
        #expect(area.intersection(Rect(x: 0, y: 0, width: 3, height: 3)).isEmpty)
        #expect(area.contains(x: 10, y: 5) && !area.contains(x: 110, y: 5))
    }
}
