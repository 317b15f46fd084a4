/* The record packer of service/model/_records.c, registered by the _speedups module. */
#ifndef TAGGER_RECORDS_H
#define TAGGER_RECORDS_H

#include <Python.h>

PyObject *pack_records(PyObject *module, PyObject *args);

#define PACK_RECORDS_DOC                                                                                         \
    "pack_records(record_key, id_key, ids, rows, thresholds, top_k, layouts) -> (bytes, list) | None: the "      \
    "exact twin of service.api.encoder.ParagraphsEncoder.encode (see _records.c)."

#endif
