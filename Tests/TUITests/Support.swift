@testable import TUI

/// Renders with `draw` into a fresh grid and returns its lines (trailing spaces trimmed).
func rendered(width: Int, height: Int, _ draw: (inout CellGrid) -> Void) -> [String] {
    var grid = CellGrid(width: width, height: height)
    draw(&grid)
    return grid.lines
}

/// A grid after `draw`, for checks on styles.
func grid(width: Int, height: Int, _ draw: (inout CellGrid) -> Void) -> CellGrid {
    var grid = CellGrid(width: width, height: height)
    draw(&grid)
    return grid
}

/// Points (x, y) with x = 0, 1, 2, … (or `xStep` apart).
func points(_ ys: [Double], xStep: Double = 1) -> [ChartPoint] {
    ys.enumerated().map { ChartPoint(x: Double($0.offset) * xStep, y: $0.element) }
}
