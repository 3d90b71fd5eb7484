"""SphereLab's hyperspherical CNNs in PyTorch: the same operators, names and snapshot format
as the Swift engine, for runs that outgrow one CPU (design.md §10)."""
from .ops import Variant, sphere_conv2d, sphere_response
from .layers import BatchNorm2d, SphereConv2d, SphereNorm
from .models import ModelSpec, SphereNetwork, build_model, parse_model_name
from .heads import CrossEntropyOptions, HeadKind, head_forward, parse_loss

__all__ = ["Variant", "sphere_conv2d", "sphere_response", "BatchNorm2d", "SphereConv2d", "SphereNorm",
           "ModelSpec", "SphereNetwork", "build_model", "parse_model_name", "CrossEntropyOptions",
           "HeadKind", "head_forward", "parse_loss"]
