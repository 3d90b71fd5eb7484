/// One (x, y) sample of a chart series, optionally with the spread of the samples it stands for.
///
/// A bounded history keeps old steps as min/mean/max buckets: give the mean as `y` and the
/// bucket's extremes as `low`/`high`, and the chart draws the whole span in that column so a
/// spike that was averaged away still shows.
public struct ChartPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    /// Smallest value merged into this point (nil: just `y`).
    public var low: Double?
    /// Largest value merged into this point (nil: just `y`).
    public var high: Double?

    public init(x: Double, y: Double, low: Double? = nil, high: Double? = nil) {
        self.x = x
        self.y = y
        self.low = low
        self.high = high
    }
}

/// How a series is drawn.
public enum SeriesStyle: Equatable, Sendable {
    /// A thin line (braille dots, or the series' ASCII marker in every cell it crosses).
    case line
    /// Each point as a marker (`●`, `O` in ASCII) joined by a thin line (`.` in ASCII): for sparse
    /// samples such as test evaluations, which must stand out from a dense train curve.
    case markers
}

/// Numbers shown after a series' name in the legend: the latest value and optionally a smoothed
/// one. Give text when the caller has its own formatting, or numbers and a `ValueFormat`.
public struct Readout: Equatable, Sendable {
    public var latest: String
    public var smoothed: String?

    public init(latest: String, smoothed: String? = nil) {
        self.latest = latest
        self.smoothed = smoothed
    }

    public init(latest: Double, smoothed: Double? = nil, format: ValueFormat = .number, glyphs: GlyphSet = .unicode) {
        self.latest = format.readout(latest, glyphs: glyphs)
        self.smoothed = smoothed.map { format.readout($0, glyphs: glyphs) }
    }
}

/// A named line in a `LineChart`.
public struct ChartSeries: Equatable, Sendable {
    public var label: String
    public var role: ColorRole
    public var points: [ChartPoint]
    public var style: SeriesStyle
    /// Numbers for the legend; nil shows the name only.
    public var readout: Readout?
    /// Whether the series has a legend entry (a smoothed twin of a series already named may not need one).
    public var inLegend = true
    /// The ASCII character of a line series (nil: chosen by its place among the series). Runs
    /// overlaid in one chart keep their own character whatever else is drawn beside them.
    public var asciiGlyph: Character?

    public init(label: String, role: ColorRole, points: [ChartPoint], style: SeriesStyle = .line,
                readout: Readout? = nil) {
        self.label = label
        self.role = role
        self.points = points
        self.style = style
        self.readout = readout
    }

    public init(label: String, role: ColorRole, xy: [(x: Double, y: Double)], style: SeriesStyle = .line,
                readout: Readout? = nil) {
        self.init(label: label, role: role, points: xy.map { ChartPoint(x: $0.x, y: $0.y) }, style: style,
                  readout: readout)
    }
}

/// Something that happened at an x position (a learning-rate change, a variant switch, a
/// resume): drawn as a vertical rule through the plot with a short label at the top.
public struct ChartMarker: Equatable, Sendable {
    public var x: Double
    /// Short: `lr×2`, `→linear`, `sgd`. Cut or moved down a row when labels would collide.
    public var label: String
    public var role: ColorRole

    public init(x: Double, label: String, role: ColorRole = .warn) {
        self.x = x
        self.label = label
        self.role = role
    }
}

/// Which y range a chart fits to its data when no fixed range is given.
public enum YFit: Equatable, Sendable {
    /// From the smallest to the largest visible value (including bucket spans).
    case data
    /// Ignores the `trim` fraction of visible points at each end (0.02: the top and bottom 2 %),
    /// so a few early spikes do not squash the rest of the curve; clipped points get an arrow.
    case robust(trim: Double)
}
