/// Lets every BatchNorm directly followed by a ReLU apply that ReLU itself: the pair then
/// makes one pass over the activation forward and one fewer backward (the ReLU's mask folds
/// into BatchNorm's first backward pass). Layers, names and saved tensors stay as they are;
/// the results are bit for bit those of the two layers apart (NormalizationAndPoolingTests).
/// Call once, when the layers are built, before any step.
func fuseBatchNormReLU(_ layers: [Layer]) {
    for (a, b) in zip(layers, layers.dropFirst()) {
        guard let bn = a as? BatchNorm2D, let relu = b as? ReLU else { continue }
        bn.appliesReLU = true
        relu.absorbed = true
    }
}
