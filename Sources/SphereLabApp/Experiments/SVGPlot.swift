import Foundation

/// A line chart written as SVG text: axes with ticks and labels, a title, a legend, and per
/// series a line (Okabe–Ito colour plus its own dash pattern, so it reads in grey print),
/// optional markers at the points and an optional shaded band (e.g. min–max over seeds).
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Lower and upper edge of a band at the same x values (drawn under the line).
        public var band: [(x: Double, low: Double, high: Double)]
        public init(name: String, points: [(x: Double, y: Double)], band: [(x: Double, low: Double, high: Double)] = []) {
            self.name = name; self.points = points; self.band = band
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 720.0
    public var height = 420.0
    /// Formats y tick labels (e.g. percentages).
    public var yPercent = false
    public var yRange: ClosedRange<Double>?
    /// Draw a marker at each point (and not only the line).
    public var markers = true
    /// Note under the title, e.g. "mean of 3 seeds; band: min–max".
    public var subtitle: String?

    /// Okabe & Ito's colour-blind-safe palette (yellow left out: too pale on white).
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    /// Dash patterns cycled with the colours, offset so the pairs keep apart in grey.
    public static let dashes = ["", "7 4", "2 3", "10 3 2 3", "4 2", "1 2", "12 4 2 4 2 4"]
    /// Series i's dash pattern: after the palette wraps round, the dashes shift by one, so no
    /// two of the first 49 series share both colour and dash.
    static func dash(_ i: Int) -> String { dashes[(i + i / palette.count) % dashes.count] }

    /// Marker shapes cycled likewise.
    static let shapes = ["circle", "square", "triangle", "diamond", "cross", "circle-open", "square-open"]

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
    }

    /// Round tick values covering `low...high`: steps of 1, 2 or 5 × 10ⁿ, about `count` of them.
    public static func ticks(_ low: Double, _ high: Double, count: Int = 6) -> [Double] {
        guard low.isFinite, high.isFinite else { return [] }
        if high <= low { return [low] }
        let raw = (high - low) / Double(max(1, count - 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var out: [Double] = []
        var v = ceil(low / step - 1e-9) * step
        while v <= high + step * 1e-9 {
            out.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return out
    }

    static func label(_ v: Double, step: Double, percent: Bool) -> String {
        let value = percent ? v * 100 : v
        let s = percent ? step * 100 : step
        let decimals = s >= 1 ? 0 : min(6, Int(ceil(-log10(s) - 1e-9)))
        if !percent, abs(value) >= 10_000, decimals == 0 {
            return value.truncatingRemainder(dividingBy: 1000) == 0 ? "\(Int(value / 1000))k" : String(format: "%.1fk", value / 1000)
        }
        return String(format: "%.\(decimals)f", value) + (percent ? "%" : "")
    }

    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    public func render() -> String {
        let finite = series.flatMap { s in s.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let bandValues = series.flatMap { s in s.band.flatMap { [$0.low, $0.high] } }.filter(\.isFinite)
        let xs = finite.map(\.x)
        let ys = finite.map(\.y) + bandValues
        let x0 = xs.min() ?? 0
        var x1 = xs.max() ?? 1
        if x1 <= x0 { x1 = x0 + 1 }
        var y0 = yRange?.lowerBound ?? (ys.min() ?? 0), y1 = yRange?.upperBound ?? (ys.max() ?? 1)
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        if yRange == nil { let pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad }
        let xTicks = SVGPlot.ticks(x0, x1, count: 7), yTicks = SVGPlot.ticks(y0, y1, count: 6)
        let legendWidth = min(230.0, 24 + 7.0 * Double(series.map(\.name.count).max() ?? 4) + 20)
        let left = 66.0, right = legendWidth + 20, top = subtitle == nil ? 44.0 : 60.0, bottom = 54.0
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (min(max(y, y0), y1) - y0) / (y1 - y0) * ph }

        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <title>\(SVGPlot.escape(title))</title>
        <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="#ffffff"/>
        <text x="\(SVGPlot.f(left))" y="22" font-size="15" font-weight="bold">\(SVGPlot.escape(title))</text>

        """
        if let subtitle { svg += "<text x=\"\(SVGPlot.f(left))\" y=\"40\" font-size=\"11\" fill=\"#444444\">\(SVGPlot.escape(subtitle))</text>\n" }
        // Grid and ticks.
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        svg += "<g stroke=\"#dddddd\" stroke-width=\"1\">\n"
        for t in yTicks where t >= y0 && t <= y1 { svg += "<line x1=\"\(SVGPlot.f(left))\" y1=\"\(SVGPlot.f(py(t)))\" x2=\"\(SVGPlot.f(left + pw))\" y2=\"\(SVGPlot.f(py(t)))\"/>\n" }
        for t in xTicks where t >= x0 && t <= x1 { svg += "<line x1=\"\(SVGPlot.f(px(t)))\" y1=\"\(SVGPlot.f(top))\" x2=\"\(SVGPlot.f(px(t)))\" y2=\"\(SVGPlot.f(top + ph))\"/>\n" }
        svg += "</g>\n<g stroke=\"#000000\" stroke-width=\"1\" fill=\"none\">\n"
        svg += "<line x1=\"\(SVGPlot.f(left))\" y1=\"\(SVGPlot.f(top + ph))\" x2=\"\(SVGPlot.f(left + pw))\" y2=\"\(SVGPlot.f(top + ph))\"/>\n"
        svg += "<line x1=\"\(SVGPlot.f(left))\" y1=\"\(SVGPlot.f(top))\" x2=\"\(SVGPlot.f(left))\" y2=\"\(SVGPlot.f(top + ph))\"/>\n"
        for t in yTicks where t >= y0 && t <= y1 { svg += "<line x1=\"\(SVGPlot.f(left - 5))\" y1=\"\(SVGPlot.f(py(t)))\" x2=\"\(SVGPlot.f(left))\" y2=\"\(SVGPlot.f(py(t)))\"/>\n" }
        for t in xTicks where t >= x0 && t <= x1 { svg += "<line x1=\"\(SVGPlot.f(px(t)))\" y1=\"\(SVGPlot.f(top + ph))\" x2=\"\(SVGPlot.f(px(t)))\" y2=\"\(SVGPlot.f(top + ph + 5))\"/>\n" }
        svg += "</g>\n<g fill=\"#000000\">\n"
        for t in yTicks where t >= y0 && t <= y1 {
            svg += "<text x=\"\(SVGPlot.f(left - 8))\" y=\"\(SVGPlot.f(py(t) + 4))\" text-anchor=\"end\">\(SVGPlot.label(t, step: yStep, percent: yPercent))</text>\n"
        }
        for t in xTicks where t >= x0 && t <= x1 {
            svg += "<text x=\"\(SVGPlot.f(px(t)))\" y=\"\(SVGPlot.f(top + ph + 19))\" text-anchor=\"middle\">\(SVGPlot.label(t, step: xStep, percent: false))</text>\n"
        }
        svg += "<text x=\"\(SVGPlot.f(left + pw / 2))\" y=\"\(SVGPlot.f(height - 12))\" text-anchor=\"middle\">\(SVGPlot.escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(16 \(SVGPlot.f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(SVGPlot.escape(yLabel))</text>\n</g>\n"
        if finite.isEmpty {
            svg += "<text x=\"\(SVGPlot.f(left + pw / 2))\" y=\"\(SVGPlot.f(top + ph / 2))\" text-anchor=\"middle\" fill=\"#666666\">no data</text>\n"
        }
        // Bands first, then lines, so no band hides a line.
        for (i, s) in series.enumerated() where s.band.count > 1 {
            let colour = SVGPlot.palette[i % SVGPlot.palette.count]
            let b = s.band.filter { $0.x.isFinite && $0.low.isFinite && $0.high.isFinite }
            guard b.count > 1 else { continue }
            let upper = b.map { "\(SVGPlot.f(px($0.x))),\(SVGPlot.f(py($0.high)))" }
            let lower = b.reversed().map { "\(SVGPlot.f(px($0.x))),\(SVGPlot.f(py($0.low)))" }
            svg += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"0.13\" stroke=\"none\"/>\n"
        }
        for (i, s) in series.enumerated() {
            let colour = SVGPlot.palette[i % SVGPlot.palette.count]
            let dash = SVGPlot.dash(i)
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            if pts.count > 1 {
                svg += "<polyline points=\"\(pts.map { "\(SVGPlot.f(px($0.x))),\(SVGPlot.f(py($0.y)))" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>\n"
            }
            if markers || pts.count == 1 {
                for p in pts { svg += SVGPlot.marker(i, x: px(p.x), y: py(p.y), colour: colour) }
            }
        }
        // Legend.
        let lx = left + pw + 16
        svg += "<g font-size=\"12\">\n"
        for (i, s) in series.enumerated() {
            let colour = SVGPlot.palette[i % SVGPlot.palette.count]
            let dash = SVGPlot.dash(i)
            let y = top + 8 + Double(i) * 20
            svg += "<line x1=\"\(SVGPlot.f(lx))\" y1=\"\(SVGPlot.f(y))\" x2=\"\(SVGPlot.f(lx + 30))\" y2=\"\(SVGPlot.f(y))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>\n"
            svg += SVGPlot.marker(i, x: lx + 15, y: y, colour: colour)
            svg += "<text x=\"\(SVGPlot.f(lx + 36))\" y=\"\(SVGPlot.f(y + 4))\">\(SVGPlot.escape(s.name))</text>\n"
        }
        svg += "</g>\n</svg>\n"
        return svg
    }

    static func marker(_ i: Int, x: Double, y: Double, colour: String) -> String {
        let r = 3.5
        switch shapes[i % shapes.count] {
        case "square": return "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"\(colour)\"/>\n"
        case "triangle": return "<polygon points=\"\(f(x)),\(f(y - r - 1)) \(f(x - r - 0.5)),\(f(y + r)) \(f(x + r + 0.5)),\(f(y + r))\" fill=\"\(colour)\"/>\n"
        case "diamond": return "<polygon points=\"\(f(x)),\(f(y - r - 1)) \(f(x + r + 1)),\(f(y)) \(f(x)),\(f(y + r + 1)) \(f(x - r - 1)),\(f(y))\" fill=\"\(colour)\"/>\n"
        case "cross": return "<path d=\"M\(f(x - r)) \(f(y - r))L\(f(x + r)) \(f(y + r))M\(f(x - r)) \(f(y + r))L\(f(x + r)) \(f(y - r))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
        case "circle-open": return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"#ffffff\" stroke=\"\(colour)\" stroke-width=\"1.5\"/>\n"
        case "square-open": return "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"#ffffff\" stroke=\"\(colour)\" stroke-width=\"1.5\"/>\n"
        default: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(colour)\"/>\n"
        }
    }
}
