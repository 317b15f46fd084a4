"""The archive job: tag whole archives of JSONL or CSV paragraphs into partitioned JSONL, on a Dask cluster (an
embedded LocalCluster by default), with the model layer's own loading, verification and scorer on every worker.
The only package that imports dask or distributed; it never imports grpc."""
