import ArgumentParser
import TUI

/// `--ascii`, shared by every command that draws or prints for people. The choice is the
/// workbench's: ASCII when asked for, or when the locale's character set is not UTF-8.
struct GlyphOptions: ParsableArguments {
    @Flag(help: "ASCII only: no braille, box or block characters, symbols spelled out; automatic when the locale is not UTF-8.")
    var ascii = false

    var glyphs: GlyphSet { .chosen(asciiRequested: ascii) }
}
