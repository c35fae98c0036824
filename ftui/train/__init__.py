"""What runs inside a training process: the only home of torch/transformers/peft/trl imports."""
