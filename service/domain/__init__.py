"""The domain: plain types, errors, tagging rules, request validation and document splitting. Imports nothing else
of `service`, and neither gRPC nor scikit-learn."""
