/// Reader and writer of the safetensors format:
///
///     [8 bytes: N, little-endian UInt64][N bytes: JSON header][data buffer]
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
/// relative to the data buffer) plus an optional `"__metadata__"` object of strings.
public enum SafeTensors {}
