"""Backprop Circuits: see backpropagation gate by gate, and hinge-loss landscapes."""

__version__ = "0.1.0"
