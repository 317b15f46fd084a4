"""What runs on the Dask workers: the model plugin, which loads and verifies the model once per worker process with
the model layer's own loader (digests, HMAC signature, check scores; the scorer it builds is the service's), and
the partition task, which tags one partition and writes it whole."""

from __future__ import annotations

import gc
from pathlib import Path

from distributed import Worker, WorkerPlugin, get_worker
from distributed.gc import disable_gc_diagnosis

from service.archive.output import OutputFolder, Record
from service.archive.partition import write_partition
from service.archive.plan import Partition
from service.domain.errors import ModelError
from service.domain.limits import Limits
from service.domain.tags import Options
from service.model.loader import Model, load_model

PLUGIN = "tagger-archive-model"


class ModelPlugin(WorkerPlugin):
    """Loads the model on each worker as it joins (a worker restarted after a crash too); setup raises ModelError,
    and the job stops before any row is written, when the model fails verification or is not `version`."""

    def __init__(self, model_path: Path, key: str, version: str) -> None:
        self.model_path, self.key, self.version = model_path, key, version
        self.model: Model | None = None

    def setup(self, worker: Worker) -> None:
        self.model = None
        model = load_model(self.model_path, self.key)
        if model.version != self.version:
            raise ModelError(f"{self.model_path}: the worker found model {model.version}, the job tags {self.version}")
        self.model = model
        # As the server does: long-lived objects (the model, distributed's own) leave the collector's view, so that
        # full collections do not walk every vocabulary string while partitions are scored; and distributed's GC
        # diagnosis, a Python callback on every collection, is turned off in this process.
        gc.collect()
        gc.freeze()
        disable_gc_diagnosis(force=True)


def tag_partition(partition: Partition, out: Path, job: Record, options: Options, limits: Limits) -> Record:
    """Tag `partition` with the worker's model, write it whole, then its record, and return the record."""
    plugin = get_worker().plugins.get(PLUGIN)
    model = plugin.model if isinstance(plugin, ModelPlugin) else None
    if model is None or model.version != job["model_version"]:
        raise ModelError(f"this worker holds no verified model {job['model_version']}")
    return write_partition(model, partition, OutputFolder(out), job, options=options, limits=limits)
