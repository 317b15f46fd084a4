"""Generated stubs, do not edit: `make proto` writes them from proto/tagger/v1/tagger_service.proto."""
