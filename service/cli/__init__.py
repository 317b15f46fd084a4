"""The `tagger` command-line client: talks to the gRPC API only, never to the model."""
