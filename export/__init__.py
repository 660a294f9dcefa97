"""Export trained models to ONNX, .pt2 and TensorRT with parity checks (python -m export)."""
