"""Offline training, evaluation and corpus checks for the tagger's model."""
