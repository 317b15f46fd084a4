"""tagger: a gRPC service that tags English paragraphs with topics."""
