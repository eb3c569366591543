"""Training, evaluation and analysis of the digit models."""
