/* warden.record._native: the audit writer's per-batch hashing without the GIL.
 *
 * Optional: setup.py builds it when a C compiler and libcrypto's headers are present, and
 * warden.record.merkle / warden.record.writer fall back to their pure-Python code when it is
 * absent. Both functions compute exactly what that Python code computes (tests compare them on
 * random batches and tree sizes); they only move the work off the interpreter:
 *
 *   leaves(start, tails) -> (datas, hashes)
 *       datas[k]  = b'{"i":%d,' % (start + k) + tails[k]   (entry.entry_bytes)
 *       hashes[k] = SHA-256(0x00 || datas[k])               (RFC 9162 leaf hash)
 *   plain(obj, encode) -> bool
 *       canonical._plain (tier 1 of the canonical encoding: exact types, integers in range,
 *       floats checked against ``encode``'s text, which is msgspec's), with the GIL held: the
 *       producer's type walk without the interpreter (the float check calls ``encode``).
 *   fold(size, stack, leaves) -> blobs
 *       CompactRange.append for every leaf in turn: ``stack`` (the edge: one 32-byte hash per
 *       set bit of ``size``, highest subtree first) is updated in place, and blobs[k] is the
 *       leaf's hash followed by every subtree it completed, SHA-256(0x01 || left || right).
 *
 * The Python objects (inputs read, outputs allocated) are touched with the GIL held; the
 * SHA-256 work runs with the GIL released, on buffers nobody else can see yet (new bytes
 * objects not yet in any container visible to Python, and C arrays). The producer thread of
 * the log runs meanwhile: that overlap is the point (docs/audit.md section 9).
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/sha.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define HASH 32
#define MAX_LEVELS 64
/* Batches smaller than this keep the GIL: a lone acknowledged append (one entry) must not give
 * the GIL away and then wait to take it back from another thread (up to the 5 ms switch
 * interval) for a microsecond of hashing. */
#define NOGIL_MIN 32

typedef struct {
    const unsigned char *src; /* the data to hash (our own new bytes object) */
    Py_ssize_t len;
    unsigned char *out;       /* 32 bytes of a new bytes object */
} job_t;

static PyObject *
native_leaves(PyObject *self, PyObject *args)
{
    (void)self;
    long long start;
    PyObject *tails;
    if (!PyArg_ParseTuple(args, "LO!:leaves", &start, &PyList_Type, &tails))
        return NULL;
    if (start < 0) {
        PyErr_SetString(PyExc_ValueError, "leaves: start must not be negative");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(tails);
    if (n > 0 && start > LLONG_MAX - n) {
        PyErr_SetString(PyExc_OverflowError, "leaves: index out of range");
        return NULL;
    }
    PyObject *datas = PyList_New(n), *hashes = PyList_New(n), *result = NULL;
    job_t *jobs = PyMem_Malloc(sizeof(job_t) * (size_t)(n ? n : 1));
    if (datas == NULL || hashes == NULL || jobs == NULL) {
        if (jobs == NULL)
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *tail = PyList_GET_ITEM(tails, k);
        if (!PyBytes_CheckExact(tail)) {
            PyErr_SetString(PyExc_TypeError, "leaves: every tail must be bytes");
            goto done;
        }
        char prefix[40];
        int plen = snprintf(prefix, sizeof prefix, "{\"i\":%lld,", start + (long long)k);
        Py_ssize_t tlen = PyBytes_GET_SIZE(tail);
        PyObject *data = PyBytes_FromStringAndSize(NULL, plen + tlen);
        if (data == NULL)
            goto done;
        PyList_SET_ITEM(datas, k, data);
        char *buf = PyBytes_AS_STRING(data);
        memcpy(buf, prefix, (size_t)plen);
        memcpy(buf + plen, PyBytes_AS_STRING(tail), (size_t)tlen);
        PyObject *h = PyBytes_FromStringAndSize(NULL, HASH);
        if (h == NULL)
            goto done;
        PyList_SET_ITEM(hashes, k, h);
        jobs[k].src = (const unsigned char *)buf;
        jobs[k].len = plen + tlen;
        jobs[k].out = (unsigned char *)PyBytes_AS_STRING(h);
    }
    PyThreadState *ts = n >= NOGIL_MIN ? PyEval_SaveThread() : NULL;
    SHA256_CTX base, ctx;
    static const unsigned char zero = 0x00;
    SHA256_Init(&base);
    SHA256_Update(&base, &zero, 1);
    for (Py_ssize_t k = 0; k < n; k++) {
        ctx = base;
        SHA256_Update(&ctx, jobs[k].src, (size_t)jobs[k].len);
        SHA256_Final(jobs[k].out, &ctx);
    }
    if (ts != NULL)
        PyEval_RestoreThread(ts);
    result = PyTuple_Pack(2, datas, hashes);
done:
    PyMem_Free(jobs);
    Py_XDECREF(datas);
    Py_XDECREF(hashes);
    return result;
}

static PyObject *
native_fold(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *size_obj, *stack, *leaves;
    if (!PyArg_ParseTuple(args, "O!O!O!:fold", &PyLong_Type, &size_obj, &PyList_Type, &stack,
                          &PyList_Type, &leaves))
        return NULL;
    unsigned long long size = PyLong_AsUnsignedLongLong(size_obj); /* negative: OverflowError */
    if (size == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t depth = PyList_GET_SIZE(stack);
    if (depth != __builtin_popcountll(size)) {
        PyErr_SetString(PyExc_ValueError, "fold: one edge hash per set bit of size is required");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(leaves);
    if (size > (1ULL << 62) || (unsigned long long)n > (1ULL << 62) - size) {
        PyErr_SetString(PyExc_OverflowError, "fold: tree size out of range");
        return NULL;
    }
    unsigned char edge[MAX_LEVELS + 1][HASH];
    for (Py_ssize_t j = 0; j < depth; j++) {
        PyObject *h = PyList_GET_ITEM(stack, j);
        if (!PyBytes_CheckExact(h) || PyBytes_GET_SIZE(h) != HASH) {
            PyErr_SetString(PyExc_ValueError, "fold: edge hashes must be 32 bytes");
            return NULL;
        }
        memcpy(edge[j], PyBytes_AS_STRING(h), HASH);
    }
    PyObject *blobs = PyList_New(n), *result = NULL;
    unsigned char *in = PyMem_Malloc((size_t)HASH * (size_t)(n ? n : 1));
    unsigned char **out = PyMem_Malloc(sizeof(unsigned char *) * (size_t)(n ? n : 1));
    if (blobs == NULL || in == NULL || out == NULL) {
        if (blobs != NULL)
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *leaf = PyList_GET_ITEM(leaves, k);
        if (!PyBytes_CheckExact(leaf) || PyBytes_GET_SIZE(leaf) != HASH) {
            PyErr_SetString(PyExc_ValueError, "fold: leaf hashes must be 32 bytes");
            goto done;
        }
        memcpy(in + (size_t)k * HASH, PyBytes_AS_STRING(leaf), HASH);
        /* the leaf at index size + k completes one subtree per trailing 1 bit of that index */
        int completed = __builtin_ctzll(size + (unsigned long long)k + 1);
        PyObject *blob = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)HASH * (1 + completed));
        if (blob == NULL)
            goto done;
        PyList_SET_ITEM(blobs, k, blob);
        out[k] = (unsigned char *)PyBytes_AS_STRING(blob);
    }
    PyThreadState *ts = n >= NOGIL_MIN ? PyEval_SaveThread() : NULL;
    SHA256_CTX base, ctx;
    static const unsigned char one = 0x01;
    SHA256_Init(&base);
    SHA256_Update(&base, &one, 1);
    unsigned long long m = size;
    for (Py_ssize_t k = 0; k < n; k++, m++) {
        unsigned char h[HASH];
        unsigned char *o = out[k];
        memcpy(h, in + (size_t)k * HASH, HASH);
        memcpy(o, h, HASH);
        o += HASH;
        for (unsigned long long c = m; c & 1; c >>= 1) {
            ctx = base;
            SHA256_Update(&ctx, edge[--depth], HASH);
            SHA256_Update(&ctx, h, HASH);
            SHA256_Final(h, &ctx);
            memcpy(o, h, HASH);
            o += HASH;
        }
        memcpy(edge[depth++], h, HASH);
    }
    if (ts != NULL)
        PyEval_RestoreThread(ts);
    /* the new edge replaces the old one in place (the caller's CompactRange._stack) */
    PyObject *fresh = PyList_New(depth);
    if (fresh == NULL)
        goto done;
    for (Py_ssize_t j = 0; j < depth; j++) {
        PyObject *h = PyBytes_FromStringAndSize((const char *)edge[j], HASH);
        if (h == NULL) {
            Py_DECREF(fresh);
            goto done;
        }
        PyList_SET_ITEM(fresh, j, h);
    }
    int rc = PyList_SetSlice(stack, 0, PyList_GET_SIZE(stack), fresh);
    Py_DECREF(fresh);
    if (rc < 0)
        goto done;
    result = blobs;
    blobs = NULL;
done:
    PyMem_Free(in);
    PyMem_Free(out);
    Py_XDECREF(blobs);
    return result;
}

/* 1 if ``v`` (an exact float) is plain: 1e-4 <= |v| < 1e16, not integral, and ``encode(v)``
 * is exactly repr(v) (float_repr is PyOS_double_to_string 'r' with Py_DTSF_ADD_DOT_0); 0 if
 * not; -1 with an exception set if ``encode`` raised. */
static int
plain_float(PyObject *v, PyObject *encode)
{
    double x = PyFloat_AS_DOUBLE(v);
    double a = fabs(x);
    if (!(a >= 1e-4 && a < 1e16) || floor(x) == x)
        return 0;
    PyObject *text = PyObject_CallOneArg(encode, v);
    if (text == NULL)
        return -1;
    int same = 0;
    char *r = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL) {
        Py_DECREF(text);
        PyErr_NoMemory();
        return -1;
    }
    if (PyBytes_CheckExact(text)) {
        size_t len = strlen(r);
        same = (size_t)PyBytes_GET_SIZE(text) == len && memcmp(PyBytes_AS_STRING(text), r, len) == 0;
    }
    PyMem_Free(r);
    Py_DECREF(text);
    return same;
}

static int plain_value(PyObject *v, PyObject *encode);

/* canonical._plain: every key an exact str, every value plain. */
static int
plain_dict(PyObject *obj, PyObject *encode)
{
    if (Py_EnterRecursiveCall(" in the canonical type walk"))
        return -1;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int ok = 1;
    while (ok == 1 && PyDict_Next(obj, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) {
            ok = 0;
            break;
        }
        Py_INCREF(v); /* ``encode`` is Python-visible: keep the value alive whatever it does */
        ok = plain_value(v, encode);
        Py_DECREF(v);
    }
    Py_LeaveRecursiveCall();
    return ok;
}

/* canonical._plain_list */
static int
plain_list(PyObject *obj, PyObject *encode)
{
    if (Py_EnterRecursiveCall(" in the canonical type walk"))
        return -1;
    int ok = 1;
    for (Py_ssize_t j = 0; ok == 1 && j < PyList_GET_SIZE(obj); j++) {
        PyObject *v = PyList_GET_ITEM(obj, j);
        Py_INCREF(v);
        ok = plain_value(v, encode);
        Py_DECREF(v);
    }
    Py_LeaveRecursiveCall();
    return ok;
}

static int
plain_value(PyObject *v, PyObject *encode)
{
    if (PyUnicode_CheckExact(v) || PyBool_Check(v) || v == Py_None)
        return 1;
    if (PyDict_CheckExact(v))
        return plain_dict(v, encode);
    if (PyFloat_CheckExact(v))
        return plain_float(v, encode);
    if (PyLong_CheckExact(v)) { /* -2**53 < v < 2**53 (RFC 8785 section 3.2.2.3) */
        int overflow = 0;
        long long i = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (i == -1 && PyErr_Occurred())
            return -1;
        const long long limit = 1LL << 53;
        return !overflow && -limit < i && i < limit;
    }
    if (PyList_CheckExact(v))
        return plain_list(v, encode);
    return 0;
}

static PyObject *
native_plain(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj, *encode;
    if (!PyArg_ParseTuple(args, "O!O:plain", &PyDict_Type, &obj, &encode))
        return NULL;
    if (!PyDict_CheckExact(obj))
        Py_RETURN_FALSE;
    int ok = plain_dict(obj, encode);
    if (ok < 0)
        return NULL;
    return PyBool_FromLong(ok);
}

static PyMethodDef methods[] = {
    {"plain", native_plain, METH_VARARGS,
     "plain(obj, encode) -> bool: canonical._plain, floats checked against encode's text."},
    {"leaves", native_leaves, METH_VARARGS,
     "leaves(start, tails) -> (datas, hashes): entry bytes and RFC 9162 leaf hashes."},
    {"fold", native_fold, METH_VARARGS,
     "fold(size, stack, leaves) -> blobs: CompactRange.append for each leaf; stack updated."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "warden.record._native",
    "The audit writer's batch hashing in C, without the GIL (optional; see merkle.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModule_Create(&module);
}
