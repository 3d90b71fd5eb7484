/// The element types named by the safetensors format. The reader knows every name the format
/// defines so that it can tell "a type SphereLab does not read" from "not a type at all".
enum SafeTensorsDType: String, CaseIterable, Sendable {
    // Read by SphereLab (F32 and I64 are also written).
    case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32"
    // Defined by the format but not read here (quantised and sub-byte types included).
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16"
    case u32 = "U32", u64 = "U64", c64 = "C64"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2", f8e8m0 = "F8_E8M0"
    case f6e2m3 = "F6_E2M3", f6e3m2 = "F6_E3M2", f4 = "F4"

    /// Bytes per element for the types SphereLab reads; nil for the others, which are refused
    /// before any size arithmetic happens.
    var readableSize: Int? {
        switch self {
        case .f16, .bf16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        default: return nil
        }
    }
}

/// IEEE half precision bits to Float. Written out by hand because `Float16` is not available on
/// every platform Swift targets (macOS on Intel lacks it).
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = UInt32((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F {
        // Infinity or NaN: all-ones exponent, keep the payload.
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 {
        // Zero or subnormal: value = mantissa × 2^-24, exact in Float.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    }
    // Normal: rebias the exponent from 15 to 127.
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// bfloat16 is the top half of a Float, so widening is a shift.
@inline(__always)
func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}
