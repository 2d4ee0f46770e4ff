"""Multiclass SVM and softmax loss landscapes: data, losses, exact slices, descent paths (numpy only)."""
