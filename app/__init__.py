"""Backprop Circuits: see backpropagation gate by gate, and hinge-loss landscapes."""

__version__ = "0.2.0"
