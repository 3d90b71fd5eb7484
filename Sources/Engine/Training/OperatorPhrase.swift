extension ConvVariant {
    /// The operator in words for logs and progress lines: `cosine SphereConv`, but
    /// `plain convolution` for conv, which is no SphereConv.
    public var operatorPhrase: String { self == .conv ? "plain convolution" : "\(self) SphereConv" }
}
