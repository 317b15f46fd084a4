"""Running the tagger on Kubernetes: the Kustomize base and overlays under kubernetes/, and the offline checks of
what they render (`python -m deploy`, `make check-deploy`)."""
