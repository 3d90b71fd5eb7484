import Testing
@testable import TUI

@Suite struct KeyTests {
    @Test(arguments: [
        (Key.Input.character(97), Key.char("a")), (.character(32), .char(" ")), (.character(0x3C0), .char("π")),
        (.character(10), .enter), (.character(13), .enter), (.character(9), .tab), (.character(27), .escape),
        (.character(127), .backspace), (.character(8), .backspace), (.character(3), .ctrlC),
        (.character(1), .unknown(1)), (.character(0xD800), .unknown(0xD800)),
        (.keyCode(0o402), .down), (.keyCode(0o403), .up), (.keyCode(0o404), .left), (.keyCode(0o405), .right),
        (.keyCode(0o406), .home), (.keyCode(0o550), .end), (.keyCode(0o407), .backspace),
        (.keyCode(0o512), .delete), (.keyCode(0o522), .pageDown), (.keyCode(0o523), .pageUp),
        (.keyCode(0o527), .enter), (.keyCode(0o541), .backTab), (.keyCode(0o632), .resize),
        (.keyCode(0o411), .f(1)), (.keyCode(0o410 + 12), .f(12)), (.keyCode(0o410), .unknown(0o410)),
        (.keyCode(0o513), .unknown(0o513)), (.keyCode(-5), .unknown(-5)),
    ] as [(Key.Input, Key)])
    func decoding(input: Key.Input, expected: Key) {
        #expect(Key.decode(input) == expected)
    }

    @Test func codesMatchTheNcursesHeader() {
        let header = Terminal.headerKeyCodes()
        let ours: [String: Int32] = [
            "down": Key.Code.down, "up": Key.Code.up, "left": Key.Code.left, "right": Key.Code.right,
            "home": Key.Code.home, "end": Key.Code.end, "backspace": Key.Code.backspace, "f0": Key.Code.f0,
            "delete": Key.Code.delete, "pageDown": Key.Code.pageDown, "pageUp": Key.Code.pageUp,
            "enter": Key.Code.enter, "backTab": Key.Code.backTab, "resize": Key.Code.resize,
        ]
        #expect(header == ours)
    }

    @Test func names() {
        #expect(Key.char(" ").name == "space")
        #expect(Key.char("q").name == "q")
        #expect(Key.f(1).name == "F1")
        #expect(Key.up.name == "↑")
        #expect(Key.unknown(7).name == "key 7")
    }

    @Test func terminalIsInertBeforeStart() {
        let terminal = Terminal()
        #expect(terminal.size == (0, 0))
        #expect(terminal.readKey(timeoutMilliseconds: 0) == nil)
        terminal.draw(CellGrid(width: 2, height: 2))
        terminal.stop()
        terminal.stop()
        #expect(!terminal.isStarted)
    }
}
