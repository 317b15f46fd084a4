"""The model: its typed card, linear tables, tokens, scorers, loading and verification, and the swappable slot.
Only `service.model.bundle` imports scikit-learn or joblib, and only for a model that has no linear tables."""
