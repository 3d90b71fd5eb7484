import Testing
@testable import SessionStore

@Suite("strict JSON reader")
struct StrictJSONTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try StrictJSON.parse(Array(text.utf8)) }

    @Test("keeps duplicate keys and member order; numbers keep their text")
    func duplicatesAndNumbers() throws {
        guard case .object(let members) = try parse(#"{"b": 1, "a": -2.5e3, "b": 0}"#) else {
            Issue.record("expected an object")
            return
        }
        #expect(members.map(\.key) == ["b", "a", "b"])
        guard case .number(let number) = members[1].value else {
            Issue.record("expected a number")
            return
        }
        #expect(number.text == "-2.5e3")
        #expect(number.int64 == nil)
        #expect(number.double == -2500)
    }

    @Test("integer accessors refuse fractions, exponents and overflow")
    func integers() {
        #expect(JSONNumber(text: "18446744073709551615").uint64 == .max)
        #expect(JSONNumber(text: "18446744073709551616").uint64 == nil)
        #expect(JSONNumber(text: "-9223372036854775808").int64 == .min)
        #expect(JSONNumber(text: "3.0").int64 == nil)
        #expect(JSONNumber(text: "3E2").int64 == nil)
    }

    @Test("rejects what RFC 8259 rejects", arguments: [
        "", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[01]", "[1.]", "[.5]", "[+1]", "[1e]", "\"\u{1}\"",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "tru", "nul", "{} {}", "[\"a\" \"b\"]", "{'a':1}", "NaN",
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try parse(text) }
    }

    @Test("accepts literals, escapes and nesting")
    func accepts() throws {
        guard case .array(let items) = try parse(#" [true, false, null, "\/\b\f\n\r\t\u0041", 0, -0.5, {}] "#) else {
            Issue.record("expected an array")
            return
        }
        #expect(items.count == 7)
        if case .string(let text) = items[3] { #expect(text == "/\u{8}\u{C}\n\r\tA") } else { Issue.record("expected a string") }
    }

    @Test("deep nesting is refused, not a stack overflow")
    func depthLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try parse(fine) }
    }

    @Test("string writer escapes what the reader needs escaped")
    func writerRoundTrip() throws {
        let text = "q\"b\\n\n\t\u{0}\u{1F}é🧠"
        var out: [UInt8] = []
        appendJSONString(text, to: &out)
        #expect(try StrictJSON.parse(out).kindName == "a string")
        if case .string(let back) = try StrictJSON.parse(out) { #expect(back == text) }
    }
}
