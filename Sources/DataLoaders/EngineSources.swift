import Engine

// DataLoaders is where the engine's batches come from: the training stream and the test set
// conform to the engine's two small source protocols.

extension ImageSet: ExampleSource {
    public var format: ImageFormat { ImageFormat(channels: channels, height: height, width: width, classes: classes) }

    public func fill(start: Int, count: Int, images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>) {
        fillSequentialBatch(from: self, start: start, count: count, images: images, labels: labels)
    }
}

extension BatchIterator: BatchSource {
    public var format: ImageFormat { self.set.format }
    public var count: Int { self.set.count }
}
