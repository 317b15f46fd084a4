/* pack_records: the compiled twin of service.api.encoder.ParagraphsEncoder.encode, which stays its exact
 * fallback. It knows no message: the caller gives the two keys and, per assignment, the byte pieces that go
 * between a record's scores (the "layouts"); this file writes, per score row,
 *
 *     record_key, varint(size), [id_key, varint(len(id)), id], pieces[0], f32(score[0]), pieces[1], ...,
 *     f32(score[L-1]), pieces[L]
 *
 * choosing the pieces by the labels the row assigns, with the rule of service.domain.tagging.assigned: scores that
 * reach their threshold, highest first with ties in model order, at most top_k of them (0: no cap). A 32-bit
 * score is written as struct's "<f" writes it (PyFloat_Pack4). Anything it is not given a layout for, or cannot
 * write exactly (a score under the smallest normal float, NaN, a row that is not floats), returns None, and the
 * Python code does the whole chunk. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "_records.h"

#define MAX_LABELS 64
#define TINY 0x1p-126

typedef struct {
    PyObject *layout; /* borrowed from the layouts dict, which the call holds */
    const char *id;
    Py_ssize_t id_size;
    size_t body;
} Record;

static size_t varint_size(size_t value) {
    size_t size = 1;
    for (; value > 0x7F; value >>= 7) {
        size++;
    }
    return size;
}

static char *put_varint(char *out, size_t value) {
    for (; value > 0x7F; value >>= 7) {
        *out++ = (char)((value & 0x7F) | 0x80);
    }
    *out++ = (char)value;
    return out;
}

/* The labels `scores` assigns, into `chosen`; returns how many. */
static int assign(const double *scores, const double *thresholds, int labels, Py_ssize_t top_k, int *chosen) {
    int count = 0;
    for (int j = 0; j < labels; j++) {
        if (scores[j] >= thresholds[j]) {
            int k = count++;
            for (; k > 0 && scores[chosen[k - 1]] < scores[j]; k--) { /* insertion keeps ties in model order */
                chosen[k] = chosen[k - 1];
            }
            chosen[k] = j;
        }
    }
    return top_k > 0 && top_k < count ? (int)top_k : count;
}

/* The row's scores into `out`; 0 when it cannot be written exactly (not `labels` floats, tiny or NaN). */
static int read_row(PyObject *row, int labels, double *out) {
    if (!PyList_CheckExact(row) || PyList_GET_SIZE(row) != labels) {
        return 0;
    }
    for (int j = 0; j < labels; j++) {
        PyObject *item = PyList_GET_ITEM(row, j);
        if (!PyFloat_CheckExact(item)) {
            return 0;
        }
        out[j] = PyFloat_AS_DOUBLE(item);
        if (!(out[j] >= TINY)) { /* NaN fails too */
            return 0;
        }
    }
    return 1;
}

/* The layout of the row's assignment (borrowed), NULL with no error set when there is none yet. */
static PyObject *find_layout(PyObject *layouts, const int *chosen, int count, int labels) {
    PyObject *key = PyTuple_New(count);
    if (key == NULL) {
        return NULL;
    }
    for (int k = 0; k < count; k++) {
        PyTuple_SET_ITEM(key, k, PyLong_FromLong(chosen[k])); /* small ints: cached, cannot fail */
    }
    PyObject *layout = PyDict_GetItemWithError(layouts, key);
    Py_DECREF(key);
    if (layout == NULL) {
        return NULL;
    }
    PyObject *pieces = PyTuple_Check(layout) && PyTuple_GET_SIZE(layout) >= 2 ? PyTuple_GET_ITEM(layout, 0) : NULL;
    if (pieces == NULL || !PyTuple_Check(pieces) || PyTuple_GET_SIZE(pieces) != labels + 1) {
        PyErr_SetString(PyExc_TypeError, "a layout is (pieces: tuple of labels + 1 bytes, labels, ...)");
        return NULL;
    }
    for (int j = 0; j <= labels; j++) {
        if (!PyBytes_CheckExact(PyTuple_GET_ITEM(pieces, j))) {
            PyErr_SetString(PyExc_TypeError, "a layout's pieces must be bytes");
            return NULL;
        }
    }
    return layout;
}

static size_t pieces_size(PyObject *layout) {
    PyObject *pieces = PyTuple_GET_ITEM(layout, 0);
    size_t size = 0;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(pieces); j++) {
        size += (size_t)PyBytes_GET_SIZE(PyTuple_GET_ITEM(pieces, j));
    }
    return size;
}

static char *put_bytes(char *out, PyObject *bytes) {
    Py_ssize_t size = PyBytes_GET_SIZE(bytes);
    memcpy(out, PyBytes_AS_STRING(bytes), (size_t)size);
    return out + size;
}

/* The records into `out`, which has room for them all. */
static int write_records(const Record *records, PyObject *rows, Py_ssize_t n, int labels, PyObject *record_key,
                         PyObject *id_key, char *out) {
    double scores[MAX_LABELS];
    for (Py_ssize_t i = 0; i < n; i++) {
        const Record *record = &records[i];
        read_row(PyList_GET_ITEM(rows, i), labels, scores); /* checked by the first pass */
        out = put_bytes(out, record_key);
        out = put_varint(out, record->body);
        if (record->id_size > 0) {
            out = put_bytes(out, id_key);
            out = put_varint(out, (size_t)record->id_size);
            memcpy(out, record->id, (size_t)record->id_size);
            out += record->id_size;
        }
        PyObject *pieces = PyTuple_GET_ITEM(record->layout, 0);
        for (int j = 0; j < labels; j++) {
            out = put_bytes(out, PyTuple_GET_ITEM(pieces, j));
            if (PyFloat_Pack4(scores[j], out, 1) < 0) {
                return -1;
            }
            out += 4;
        }
        out = put_bytes(out, PyTuple_GET_ITEM(pieces, labels));
    }
    return 0;
}

/* First pass: each record's layout, id and size; returns the total size, 0 to fall back, -1 on error. */
static Py_ssize_t plan_records(Record *records, PyObject *ids, PyObject *rows, const double *thresholds, int labels,
                               Py_ssize_t top_k, PyObject *layouts, size_t record_key, size_t id_key) {
    double scores[MAX_LABELS];
    int chosen[MAX_LABELS];
    size_t total = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(rows); i++) {
        PyObject *id = PyList_GET_ITEM(ids, i);
        if (!PyUnicode_Check(id) || !read_row(PyList_GET_ITEM(rows, i), labels, scores)) {
            return 0;
        }
        int count = assign(scores, thresholds, labels, top_k, chosen);
        PyObject *layout = find_layout(layouts, chosen, count, labels);
        if (layout == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        Record *record = &records[i];
        record->layout = layout;
        record->id = PyUnicode_AsUTF8AndSize(id, &record->id_size);
        if (record->id == NULL) {
            return -1; /* a lone surrogate: not UTF-8 */
        }
        record->body = pieces_size(layout) + 4 * (size_t)labels;
        if (record->id_size > 0) {
            record->body += id_key + varint_size((size_t)record->id_size) + (size_t)record->id_size;
        }
        total += record_key + varint_size(record->body) + record->body;
    }
    return (Py_ssize_t)total;
}

static PyObject *labels_of(const Record *records, Py_ssize_t n) {
    PyObject *assigned = PyList_New(n);
    if (assigned == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyList_SET_ITEM(assigned, i, Py_NewRef(PyTuple_GET_ITEM(records[i].layout, 1)));
    }
    return assigned;
}

PyObject *pack_records(PyObject *module, PyObject *args) {
    PyObject *record_key, *id_key, *ids, *rows, *threshold_items, *layouts;
    Py_ssize_t top_k;
    if (!PyArg_ParseTuple(args, "SSO!O!O!nO!:pack_records", &record_key, &id_key, &PyList_Type, &ids, &PyList_Type,
                          &rows, &PyTuple_Type, &threshold_items, &top_k, &PyDict_Type, &layouts)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(rows), labels = PyTuple_GET_SIZE(threshold_items);
    if (PyList_GET_SIZE(ids) != n) {
        PyErr_SetString(PyExc_ValueError, "pack_records needs one id per row");
        return NULL;
    }
    if (labels < 1 || labels > MAX_LABELS || n == 0) {
        Py_RETURN_NONE;
    }
    double thresholds[MAX_LABELS];
    for (Py_ssize_t j = 0; j < labels; j++) {
        thresholds[j] = PyFloat_AsDouble(PyTuple_GET_ITEM(threshold_items, j));
        if (thresholds[j] == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    Record *records = PyMem_Malloc((size_t)n * sizeof(Record));
    if (records == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *result = NULL, *data = NULL, *assigned = NULL;
    Py_ssize_t total = plan_records(records, ids, rows, thresholds, (int)labels, top_k, layouts,
                                    (size_t)PyBytes_GET_SIZE(record_key), (size_t)PyBytes_GET_SIZE(id_key));
    if (total == 0) {
        result = Py_NewRef(Py_None);
    } else if (total > 0 && (data = PyBytes_FromStringAndSize(NULL, total)) != NULL &&
               write_records(records, rows, n, (int)labels, record_key, id_key, PyBytes_AS_STRING(data)) == 0 &&
               (assigned = labels_of(records, n)) != NULL) {
        result = PyTuple_Pack(2, data, assigned);
    }
    Py_XDECREF(data);
    Py_XDECREF(assigned);
    PyMem_Free(records);
    return result;
}
