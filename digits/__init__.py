"""Digit Classifier: handwritten digits from real uploads, served to an Anvil app."""
