/* The compiled scorer: TF-IDF + one-vs-rest logistic regression from the linear tables, with exactly the
 * tokens of scikit-learn's TfidfVectorizer for its default pattern (?u)\b\w\w+\b. An optional speed-up of
 * service.model.scorer.FastScorer, which stays its exact fallback (see service/model/_speedups.pyi).
 *
 * Tokens: \w is what Python's re module uses for str patterns, Py_UNICODE_ISALNUM(ch) || ch == '_'; a token is
 * a maximal run of at least two such code points. Lower-casing is str.lower itself (it may change a string's
 * length, and turn non-ASCII into ASCII), except for ASCII text, where it is the ASCII table it reduces to.
 * Tokens are written as UTF-8 into one buffer, separated by single spaces, so that the n-gram of tokens
 * i..i+n-1 is the slice from the start of token i to the end of token i+n-1: exactly " ".join(tokens) as
 * bytes, looked up in an open-addressing hash table of the terms' UTF-8 bytes.
 *
 * Threads: the tables are immutable once built and every call keeps its counts in its own buffers, so calls
 * may run in parallel; a batch of more than RELEASE_CHARS code points is scored with the GIL released. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "_records.h"

#define RELEASE_CHARS 16384
#define STACK_BYTES 8192

/* Hashes: a token's is FNV-1a over its UTF-8 bytes, then mixed; an n-gram's folds its tokens' hashes, so that
 * a text's n-grams are hashed from its tokens' hashes, and a term's is found by splitting it at its spaces
 * (tokens never hold a space). */
static inline uint64_t mix(uint64_t h) {
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static uint64_t hash_token(const char *bytes, Py_ssize_t length) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (Py_ssize_t i = 0; i < length; i++) {
        h = (h ^ (unsigned char)bytes[i]) * 0x100000001b3ULL;
    }
    return mix(h);
}

static inline uint64_t hash_fold(uint64_t gram, uint64_t token) {
    return mix(gram * 0x9e3779b97f4a7c15ULL + token);
}

static uint64_t hash_term(const char *bytes, Py_ssize_t length) {
    uint64_t h = 0;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= length; i++) {
        if (i == length || bytes[i] == ' ') {
            uint64_t token = hash_token(bytes + start, i - start);
            h = start == 0 ? token : hash_fold(h, token);
            start = i + 1;
        }
    }
    return h;
}

/* A hash table of byte strings. Slots hold (hash >> 32) << 32 | (index + 1), 0 when empty, and are at most half
 * full. Each entry has one record of `record_size` bytes (a multiple of 64, aligned to 64): its length (uint32),
 * its offset in `blob` (uint32), `values` doubles, then its first bytes, so that a hit usually reads one slot and
 * one cache line. */
typedef struct {
    uint64_t *slots;
    uint64_t mask;
    char *records;
    void *records_base;
    char *blob;
    Py_ssize_t size;
    size_t record_size, inline_bytes;
    int values;
} StringTable;

#define RECORD_LENGTH(r) (*(const uint32_t *)(r))
#define RECORD_OFFSET(r) (*(const uint32_t *)((r) + 4))
#define RECORD_VALUES(r) ((const double *)((r) + 8))

static inline const char *table_record(const StringTable *table, Py_ssize_t index) {
    return table->records + (size_t)index * table->record_size;
}

static inline int record_equals(const StringTable *table, const char *record, const char *bytes, Py_ssize_t length) {
    if ((Py_ssize_t)RECORD_LENGTH(record) != length) {
        return 0;
    }
    const char *kept = record + 8 + (size_t)table->values * sizeof(double);
    size_t head = (size_t)length < table->inline_bytes ? (size_t)length : table->inline_bytes;
    return memcmp(kept, bytes, head) == 0 &&
           memcmp(table->blob + RECORD_OFFSET(record) + head, bytes + head, (size_t)length - head) == 0;
}

/* The index of the entry with these bytes and hash, or -1. */
static Py_ssize_t table_find(const StringTable *table, uint64_t h, const char *bytes, Py_ssize_t length) {
    if (table->size == 0) {
        return -1;
    }
    for (uint64_t i = h & table->mask;; i = (i + 1) & table->mask) {
        uint64_t slot = table->slots[i];
        if (slot == 0) {
            return -1;
        }
        if ((slot >> 32) == (h >> 32)) {
            Py_ssize_t index = (Py_ssize_t)(slot & 0xffffffffULL) - 1;
            if (record_equals(table, table_record(table, index), bytes, length)) {
                return index;
            }
        }
    }
}

static void table_free(StringTable *table) {
    PyMem_Free(table->slots);
    PyMem_Free(table->records_base);
    PyMem_Free(table->blob);
    memset(table, 0, sizeof(*table));
}

/* Fill `table` from a sequence of distinct bytes objects, with `values` doubles per entry from `rows` (NULL for
 * none). Returns 0, or -1 with an exception set. */
static int table_build(StringTable *table, PyObject *sequence, const double *rows, int values, const char *what) {
    PyObject *items = PySequence_Fast(sequence, what);
    if (items == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items), total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(items, i);
        if (!PyBytes_Check(item)) {
            PyErr_Format(PyExc_TypeError, "%s must be bytes", what);
            goto fail;
        }
        total += PyBytes_GET_SIZE(item);
    }
    if (n >= 0x7fffffffLL || total >= 0xffffffffLL) {
        PyErr_Format(PyExc_ValueError, "too many %s", what);
        goto fail;
    }
    uint64_t capacity = 16;
    while (capacity < 2 * (uint64_t)n) {
        capacity <<= 1;
    }
    table->values = values;
    table->record_size = (8 + (size_t)values * sizeof(double) + 16 + 63) & ~(size_t)63;
    table->inline_bytes = table->record_size - 8 - (size_t)values * sizeof(double);
    table->slots = PyMem_Calloc((size_t)capacity, sizeof(uint64_t));
    table->records_base = PyMem_Calloc((size_t)n * table->record_size + 64, 1);
    table->blob = PyMem_Malloc((size_t)total + 1);
    if (!table->slots || !table->records_base || !table->blob) {
        PyErr_NoMemory();
        goto fail;
    }
    table->records = (char *)table->records_base + ((64 - ((uintptr_t)table->records_base & 63)) & 63);
    table->mask = capacity - 1;
    Py_ssize_t offset = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(items, i);
        const char *bytes = PyBytes_AS_STRING(item);
        Py_ssize_t length = PyBytes_GET_SIZE(item);
        uint64_t h = hash_term(bytes, length);
        table->size = i; /* look among the entries added so far */
        if (table_find(table, h, bytes, length) >= 0) {
            PyErr_Format(PyExc_ValueError, "duplicate entry in %s", what);
            goto fail;
        }
        char *record = table->records + (size_t)i * table->record_size;
        *(uint32_t *)record = (uint32_t)length;
        *(uint32_t *)(record + 4) = (uint32_t)offset;
        if (values > 0) {
            memcpy(record + 8, rows + (size_t)i * values, (size_t)values * sizeof(double));
        }
        memcpy(record + 8 + (size_t)values * sizeof(double), bytes,
               (size_t)length < table->inline_bytes ? (size_t)length : table->inline_bytes);
        memcpy(table->blob + offset, bytes, (size_t)length);
        offset += length;
        uint64_t j = h & table->mask;
        while (table->slots[j] != 0) {
            j = (j + 1) & table->mask;
        }
        table->slots[j] = ((h >> 32) << 32) | (uint64_t)(i + 1);
    }
    table->size = n;
    Py_DECREF(items);
    return 0;
fail:
    Py_DECREF(items);
    table_free(table);
    return -1;
}

typedef struct {
    PyObject_HEAD
    StringTable terms;      /* values per term: idf^2, then idf x coef for each label */
    StringTable stop_words; /* no values */
    double *intercept;      /* per label; NULL until __init__ succeeds */
    int labels;
    int lowercase, min_n, max_n, binary, sublinear, l2;
} TablesObject;

/* What one text's scan reads: its code points (after str.lower when lower-casing). */
typedef struct {
    int kind;
    const void *data;
    Py_ssize_t length;
    int ascii;
    int lower_ascii; /* lower-case ASCII inline: the raw text is ASCII and lower-casing is on */
} TextView;

static unsigned char ascii_word[128];
static unsigned char ascii_lower[128];
static PyObject *str_lower; /* the unbound str.lower */

static void Tables_dealloc(TablesObject *self) {
    table_free(&self->terms);
    table_free(&self->stop_words);
    PyMem_Free(self->intercept);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Tables_init(TablesObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"terms", "rows",   "intercept", "stop_words", "lowercase", "min_n",
                               "max_n", "binary", "sublinear", "l2",         NULL};
    PyObject *terms, *intercept, *stop_words, *bias = NULL;
    Py_buffer rows;
    if (self->intercept != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Tables are immutable: __init__ runs once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Oy*OOpiippp", keywords, &terms, &rows, &intercept, &stop_words,
                                     &self->lowercase, &self->min_n, &self->max_n, &self->binary, &self->sublinear,
                                     &self->l2)) {
        return -1;
    }
    double *bias_values = NULL;
    int status = -1;
    bias = PySequence_Fast(intercept, "intercept must be a sequence of floats");
    if (bias == NULL) {
        goto done;
    }
    Py_ssize_t labels = PySequence_Fast_GET_SIZE(bias), n_terms = PyObject_Length(terms);
    if (n_terms < 0) {
        goto done;
    }
    if (labels < 1 || labels > 4096 || self->min_n < 1 || self->max_n < self->min_n || self->max_n > 64) {
        PyErr_SetString(PyExc_ValueError, "need 1-4096 labels and 1 <= min_n <= max_n <= 64");
        goto done;
    }
    if ((size_t)rows.len != (size_t)n_terms * (size_t)(labels + 1) * sizeof(double)) {
        PyErr_Format(PyExc_ValueError, "rows hold %zd bytes, expected terms x (labels + 1) doubles", rows.len);
        goto done;
    }
    bias_values = PyMem_Malloc((size_t)labels * sizeof(double));
    if (bias_values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t j = 0; j < labels; j++) {
        bias_values[j] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(bias, j));
        if (bias_values[j] == -1.0 && PyErr_Occurred()) {
            goto done;
        }
    }
    if (table_build(&self->terms, terms, rows.buf, (int)labels + 1, "terms") < 0 ||
        table_build(&self->stop_words, stop_words, NULL, 0, "stop_words") < 0) {
        table_free(&self->terms);
        goto done;
    }
    self->labels = (int)labels;
    self->intercept = bias_values;
    bias_values = NULL;
    status = 0;
done:
    PyMem_Free(bias_values);
    Py_XDECREF(bias);
    PyBuffer_Release(&rows);
    return status;
}

/* Per-call working memory, from the stack when small: the token buffer and spans, each n-gram's hash, bytes
 * and candidate entry, and the term counts (an open-addressing map from entry to count). */
typedef struct {
    char *buffer;
    Py_ssize_t *starts, *ends;
    uint64_t *token_hashes, *gram_hashes;
    Py_ssize_t *gram_starts, *gram_lengths;
    int32_t *candidates;
    uint32_t *keys, *counts, *found;
    uint64_t mask;
    void *heap;
} Scratch;

static int scratch_open(Scratch *scratch, Py_ssize_t length, int grams_per_token, char *stack) {
    size_t tokens = (size_t)length / 2 + 2, grams = tokens * (size_t)grams_per_token;
    uint64_t capacity = 16;
    while (capacity < 2 * (uint64_t)grams) {
        capacity <<= 1;
    }
    size_t need = 2 * tokens * sizeof(Py_ssize_t) + tokens * sizeof(uint64_t) +
                  grams * (sizeof(uint64_t) + 2 * sizeof(Py_ssize_t) + sizeof(int32_t) + sizeof(uint32_t)) +
                  (size_t)capacity * 2 * sizeof(uint32_t) + (size_t)length * 5 + 64;
    char *base = stack;
    scratch->heap = NULL;
    if (need > STACK_BYTES) {
        base = scratch->heap = PyMem_RawMalloc(need);
        if (base == NULL) {
            return -1;
        }
    }
    /* 8-byte fields first, then 4-byte ones, then bytes: every field stays aligned */
    scratch->starts = (Py_ssize_t *)base;
    scratch->ends = scratch->starts + tokens;
    scratch->token_hashes = (uint64_t *)(scratch->ends + tokens);
    scratch->gram_hashes = scratch->token_hashes + tokens;
    scratch->gram_starts = (Py_ssize_t *)(scratch->gram_hashes + grams);
    scratch->gram_lengths = scratch->gram_starts + grams;
    scratch->candidates = (int32_t *)(scratch->gram_lengths + grams);
    scratch->found = (uint32_t *)(scratch->candidates + grams);
    scratch->keys = scratch->found + grams;
    scratch->counts = scratch->keys + capacity;
    scratch->buffer = (char *)(scratch->counts + capacity);
    return 0;
}

static inline int is_word(Py_UCS4 ch) {
    return ch < 128 ? ascii_word[ch] : (Py_UNICODE_ISALNUM(ch) || ch == '_');
}

static inline char *put_utf8(char *out, Py_UCS4 ch) {
    if (ch < 0x80) {
        *out++ = (char)ch;
    } else if (ch < 0x800) {
        *out++ = (char)(0xc0 | (ch >> 6));
        *out++ = (char)(0x80 | (ch & 0x3f));
    } else if (ch < 0x10000) {
        *out++ = (char)(0xe0 | (ch >> 12));
        *out++ = (char)(0x80 | ((ch >> 6) & 0x3f));
        *out++ = (char)(0x80 | (ch & 0x3f));
    } else {
        *out++ = (char)(0xf0 | (ch >> 18));
        *out++ = (char)(0x80 | ((ch >> 12) & 0x3f));
        *out++ = (char)(0x80 | ((ch >> 6) & 0x3f));
        *out++ = (char)(0x80 | (ch & 0x3f));
    }
    return out;
}

/* Write the text's tokens (stop words dropped) into the scratch buffer, with their hashes; returns how many. */
static Py_ssize_t tokenize(const TablesObject *self, const TextView *text, Scratch *scratch) {
    Py_ssize_t count = 0, i = 0;
    char *out = scratch->buffer;
    while (i < text->length) {
        Py_UCS4 ch = PyUnicode_READ(text->kind, text->data, i);
        if (!is_word(ch)) {
            i++;
            continue;
        }
        char *start = out;
        Py_ssize_t run = 0;
        do {
            if (text->ascii) {
                *out++ = (char)(text->lower_ascii ? ascii_lower[ch] : ch);
            } else {
                out = put_utf8(out, ch);
            }
            run++;
            i++;
        } while (i < text->length && is_word(ch = PyUnicode_READ(text->kind, text->data, i)));
        if (run < 2) {
            out = start;
            continue;
        }
        uint64_t h = hash_token(start, out - start);
        if (self->stop_words.size > 0 && table_find(&self->stop_words, h, start, out - start) >= 0) {
            out = start;
            continue;
        }
        scratch->starts[count] = start - scratch->buffer;
        scratch->ends[count] = out - scratch->buffer;
        scratch->token_hashes[count] = h;
        count++;
        *out++ = ' ';
    }
    return count;
}

static inline double term_frequency(const TablesObject *self, uint32_t count) {
    if (self->binary || count == 1) {
        return 1.0; /* 1 + log(1) is exactly 1: most terms occur once, and log is the dearest step per term */
    }
    return self->sublinear ? 1.0 + log((double)count) : (double)count;
}

static inline double sigmoid(double x) {
    if (x >= 0) {
        return 1.0 / (1.0 + exp(-x));
    }
    double e = exp(x);
    return e / (1.0 + e);
}

/* The text's n-grams, hashed from their tokens' hashes, each slot prefetched; returns how many. */
static Py_ssize_t hash_grams(const TablesObject *self, Py_ssize_t tokens, Scratch *scratch) {
    Py_ssize_t grams = 0;
    for (Py_ssize_t i = 0; i < tokens; i++) {
        uint64_t h = 0;
        for (int n = 1; n <= self->max_n && i + n <= tokens; n++) {
            h = n == 1 ? scratch->token_hashes[i] : hash_fold(h, scratch->token_hashes[i + n - 1]);
            if (n < self->min_n) {
                continue;
            }
            scratch->gram_hashes[grams] = h;
            scratch->gram_starts[grams] = scratch->starts[i];
            scratch->gram_lengths[grams] = scratch->ends[i + n - 1] - scratch->starts[i];
            __builtin_prefetch(&self->terms.slots[h & self->terms.mask]);
            grams++;
        }
    }
    return grams;
}

/* Count the text's terms: a first pass finds each n-gram's candidate entry by its hash tag (prefetching the
 * record), a second checks the bytes. */
static Py_ssize_t count_terms(const TablesObject *self, Py_ssize_t grams, Scratch *scratch) {
    const StringTable *terms = &self->terms;
    /* the count map is sized for the n-grams found, not the most the text could hold, so clearing it is cheap */
    uint64_t capacity = 16;
    while (capacity < 2 * (uint64_t)grams) {
        capacity <<= 1;
    }
    scratch->mask = capacity - 1;
    memset(scratch->keys, 0, (size_t)capacity * sizeof(uint32_t));
    for (Py_ssize_t g = 0; g < grams; g++) {
        uint64_t h = scratch->gram_hashes[g];
        int32_t candidate = -1;
        for (uint64_t i = h & terms->mask; terms->slots[i] != 0; i = (i + 1) & terms->mask) {
            if ((terms->slots[i] >> 32) == (h >> 32)) {
                candidate = (int32_t)(terms->slots[i] & 0xffffffffULL) - 1;
                __builtin_prefetch(table_record(terms, candidate));
                break;
            }
        }
        scratch->candidates[g] = candidate;
    }
    Py_ssize_t distinct = 0;
    for (Py_ssize_t g = 0; g < grams; g++) {
        Py_ssize_t term = scratch->candidates[g];
        if (term < 0) {
            continue;
        }
        const char *bytes = scratch->buffer + scratch->gram_starts[g];
        if (!record_equals(terms, table_record(terms, term), bytes, scratch->gram_lengths[g])) {
            term = table_find(terms, scratch->gram_hashes[g], bytes, scratch->gram_lengths[g]); /* a tag clash */
            if (term < 0) {
                continue;
            }
        }
        uint32_t key = (uint32_t)term + 1;
        uint64_t j = (((uint64_t)key * 0x9e3779b97f4a7c15ULL) >> 20) & scratch->mask;
        while (scratch->keys[j] != 0 && scratch->keys[j] != key) {
            j = (j + 1) & scratch->mask;
        }
        if (scratch->keys[j] == 0) {
            scratch->keys[j] = key;
            scratch->counts[j] = 0;
            scratch->found[distinct++] = (uint32_t)j;
        }
        scratch->counts[j]++;
    }
    return distinct;
}

/* Per label, the probability for one text, into `out`. Returns 0, or -1 when out of memory. */
static int score_text(const TablesObject *self, const TextView *text, double *out) {
    char stack[STACK_BYTES] __attribute__((aligned(16)));
    Scratch scratch;
    if (scratch_open(&scratch, text->length, self->max_n - self->min_n + 1, stack) < 0) {
        return -1;
    }
    Py_ssize_t tokens = tokenize(self, text, &scratch);
    Py_ssize_t distinct = count_terms(self, hash_grams(self, tokens, &scratch), &scratch);
    int labels = self->labels;
    double norm = 0.0;
    for (int j = 0; j < labels; j++) {
        out[j] = 0.0;
    }
    for (Py_ssize_t k = 0; k < distinct; k++) {
        uint32_t slot = scratch.found[k];
        const double *row = RECORD_VALUES(table_record(&self->terms, scratch.keys[slot] - 1));
        double tf = term_frequency(self, scratch.counts[slot]);
        norm += tf * tf * row[0];
        for (int j = 0; j < labels; j++) {
            out[j] += tf * row[j + 1];
        }
    }
    double scale = (self->l2 && norm > 0.0) ? 1.0 / sqrt(norm) : 1.0;
    for (int j = 0; j < labels; j++) {
        out[j] = sigmoid(out[j] * scale + self->intercept[j]);
    }
    PyMem_RawFree(scratch.heap);
    return 0;
}

/* The view of one text to scan, lower-cased with str.lower when it is not ASCII; `*owned` gets a reference to the
 * string the view reads. */
static int view_text(const TablesObject *self, PyObject *text, TextView *view, PyObject **owned) {
    *owned = NULL;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "texts must be str, not %.100s", Py_TYPE(text)->tp_name);
        return -1;
    }
    view->lower_ascii = 0;
    if (PyUnicode_IS_ASCII(text)) {
        view->lower_ascii = self->lowercase;
        *owned = Py_NewRef(text); /* kept alive while the GIL may be released, whatever happens to `texts` */
    } else if (self->lowercase) {
        *owned = PyObject_CallOneArg(str_lower, text);
        if (*owned == NULL) {
            return -1;
        }
        text = *owned;
    } else {
        *owned = Py_NewRef(text);
    }
    view->kind = PyUnicode_KIND(text);
    view->data = PyUnicode_DATA(text);
    view->length = PyUnicode_GET_LENGTH(text);
    view->ascii = PyUnicode_IS_ASCII(text);
    return 0;
}

static PyObject *Tables_scores(TablesObject *self, PyObject *texts) {
    if (self->intercept == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Tables were not initialised");
        return NULL;
    }
    PyObject *items = PySequence_Fast(texts, "texts must be a sequence of str");
    if (items == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items), chars = 0;
    int labels = self->labels, failed = 0;
    PyObject *result = NULL;
    PyObject **owned = PyMem_Calloc((size_t)n + 1, sizeof(PyObject *));
    TextView *views = PyMem_Malloc(((size_t)n + 1) * sizeof(TextView));
    double *out = PyMem_Malloc(((size_t)n * labels + 1) * sizeof(double));
    if (!owned || !views || !out) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (view_text(self, PySequence_Fast_GET_ITEM(items, i), &views[i], &owned[i]) < 0) {
            goto done;
        }
        chars += views[i].length;
    }
    if (chars > RELEASE_CHARS) {
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n && !failed; i++) {
            failed = score_text(self, &views[i], out + i * labels);
        }
        Py_END_ALLOW_THREADS
    } else {
        for (Py_ssize_t i = 0; i < n && !failed; i++) {
            failed = score_text(self, &views[i], out + i * labels);
        }
    }
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    result = PyList_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        PyObject *row = PyList_New(labels);
        if (row == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, row);
        for (int j = 0; j < labels; j++) {
            PyObject *value = PyFloat_FromDouble(out[i * labels + j]);
            if (value == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(row, j, value);
        }
    }
done:
    if (owned != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_XDECREF(owned[i]);
        }
    }
    PyMem_Free(owned);
    PyMem_Free(views);
    PyMem_Free(out);
    Py_DECREF(items);
    return result;
}

static PyObject *Tables_sizeof(TablesObject *self, PyObject *Py_UNUSED(ignored)) {
    size_t size = sizeof(TablesObject) + (size_t)self->labels * sizeof(double);
    const StringTable *tables[] = {&self->terms, &self->stop_words};
    for (int k = 0; k < 2; k++) {
        const StringTable *t = tables[k];
        if (t->slots != NULL) {
            size += (t->mask + 1) * sizeof(uint64_t) + (size_t)t->size * t->record_size + 64;
            size += t->size ? RECORD_OFFSET(table_record(t, t->size - 1)) + RECORD_LENGTH(table_record(t, t->size - 1)) : 0;
        }
    }
    return PyLong_FromSize_t(size);
}

static PyMethodDef Tables_methods[] = {
    {"scores", (PyCFunction)Tables_scores, METH_O,
     "scores(texts) -> list[list[float]]: per text, per label, the pipeline's predict_proba."},
    {"__sizeof__", (PyCFunction)Tables_sizeof, METH_NOARGS, "Bytes held, tables included."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TablesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "service.model._speedups.Tables",
    .tp_basicsize = sizeof(TablesObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The linear tables in C, scored with the vectorizer's exact tokens (default token pattern only).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Tables_init,
    .tp_dealloc = (destructor)Tables_dealloc,
    .tp_methods = Tables_methods,
};

static PyMethodDef speedups_functions[] = {
    {"pack_records", (PyCFunction)pack_records, METH_VARARGS, PACK_RECORDS_DOC},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "service.model._speedups",
    .m_doc = "The compiled scorer (optional; see service.model.scorer) and the reply packer of service.api.encoder.",
    .m_size = -1,
    .m_methods = speedups_functions,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    for (int ch = 0; ch < 128; ch++) {
        ascii_word[ch] = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        ascii_lower[ch] = (unsigned char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
    }
    if (str_lower == NULL) {
        str_lower = PyObject_GetAttrString((PyObject *)&PyUnicode_Type, "lower");
        if (str_lower == NULL) {
            return NULL;
        }
    }
    if (PyType_Ready(&TablesType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Tables", (PyObject *)&TablesType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
