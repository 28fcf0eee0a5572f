/*
 * Native matcher for the RuleIndex trie.
 *
 * A Node is an immutable snapshot of one trie node, built by _native.py bottom-up: the rules
 * whose clauses end there, and per event path the tables that lead on (EDGE_* below). Node()
 * checks the layout once and keeps it as C structs whose objects are borrowed from the edge
 * tuples the node holds, except for the str keys of the tables, which it copies (with new
 * references) into arrays of its own: a str value is looked up there, never in the dict.
 *
 * match(root, event, n_paths) finds the rules of every node the event reaches, exactly as the
 * generated Python node functions of _codegen.py do, and returns their keys in rule order,
 * each once. It returns None where those functions raise Fallback (an array or a value of an
 * unusual type on a path the rules read); the Python trie walker then decides.
 *
 * The dicts of a snapshot are built by this package and never changed (a change after Node()
 * would reach lookups of other values but not of str); match() still checks the type of
 * everything it takes out of them, so a malformed table raises TypeError instead of crashing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>

/* The layout of one edge: a tuple of EDGE_SIZE items, None where a table is empty. */
enum {
    EDGE_PATH,      /* tuple of str: the event path, top-level key first */
    EDGE_PATH_IDS,  /* tuple of int, one per key: the number of the path up to and including
                       that key (what a walk reads is cached by it), below match()'s n_paths */
    EDGE_EXACT,     /* dict: str, number or None -> tuple of Node */
    EDGE_BOOLS,     /* dict: True/False -> tuple of Node */
    EDGE_PREFIX,    /* tuple of (length, dict prefix -> tuple of Node) */
    EDGE_SUFFIX,    /* the same for suffixes */
    EDGE_IC,        /* dict: lower-cased value -> tuple of Node */
    EDGE_PREFIX_IC, /* like EDGE_PREFIX, keys lower-cased */
    EDGE_SUFFIX_IC, /* like EDGE_SUFFIX, keys lower-cased */
    EDGE_EQUAL,     /* dict: number -> tuple of Node (numeric "=") */
    EDGE_BELOW,     /* (bounds, nodes): bound < value, bounds ascending, one node each */
    EDGE_BELOW_EQ,  /* (bounds, nodes): bound <= value */
    EDGE_ABOVE,     /* (bounds, nodes): bound > value */
    EDGE_ABOVE_EQ,  /* (bounds, nodes): bound >= value */
    EDGE_TESTS,     /* tuple of (kind, operand, tuple of Node): predicates on present scalars */
    EDGE_PRESENT,   /* tuple of Node: reached by any present scalar */
    EDGE_ABSENT,    /* tuple of Node: reached by a missing value or an object */
    EDGE_DEDUPE,    /* bool: a value may reach one node by two conditions; visit it once */
    EDGE_SIZE
};

/* The kinds of test in EDGE_TESTS. */
enum {
    TEST_CALL,          /* operand(value) is true */
    TEST_NOT_IN,        /* value not in operand (a frozenset): anything-but strings */
    TEST_NOT_NUMBER_IN, /* value is a bool or not in operand: anything-but numbers */
    TEST_RANGE,         /* value is an int or float within operand = (low, low_inclusive,
                           high, high_inclusive): a two-sided numeric range */
    TEST_KINDS
};

/* Deeper than this, match() hands the event over (the index keeps clauses deeper than its
 * own limit on the walker anyway). */
#define MAX_DEPTH 256
/* Prefix and suffix tables of up to this many keys are compared in place, not sliced. */
#define SMALL_TABLE 4
/* The values of this many paths are cached on the C stack during a match; more on the heap. */
#define STACK_PATHS 32
/* This many rules found are gathered on the C stack during a match; more on the heap. */
#define STACK_FOUND 16

/* A table's exact-str keys in an open-addressed array, so that a str value is looked up
   without the dict machinery: fewer instructions, and fewer cache lines than a dict lookup
   touches (the slot holds the hash, the key and the steps side by side). */
typedef struct {
    Py_hash_t hash;
    PyObject *key;   /* an exact str (a new reference); NULL: an empty slot */
    PyObject *steps; /* tuple of Node (a new reference) */
    PyObject *only;  /* the Node when steps holds one (borrowed from steps), else NULL */
} StrSlot;

typedef struct {
    PyObject *dict; /* borrowed from the edge tuple; NULL: no table */
    /* The dict's str keys, when every other key is an int, float, bool or None (none of which
       equals a str): a str value is then looked up here only. NULL: in the dict. */
    StrSlot *slots;
    size_t mask; /* the number of slots (a power of two, at least twice the keys) - 1 */
} Table;

typedef struct {
    Py_ssize_t length;
    Table table; /* text of that length -> tuple of Node */
    /* For a table of up to SMALL_TABLE keys, its keys and values side by side (new references),
       compared in place instead of slicing and hashing; else NULL. */
    PyObject *keys, *steps;
} Slice;

typedef struct {
    Py_ssize_t count;
    Slice *items;
} Slices;

typedef struct {
    int kind;
    int low_inclusive, high_inclusive; /* TEST_RANGE */
    int doubles;                       /* TEST_RANGE: both bounds are exact doubles */
    double low, high;
    PyObject *operand;
    PyObject *steps; /* tuple of Node */
} Test;

/* One key of an edge's path: the key (borrowed from the path tuple) and the id of the path up
   to and including it. */
typedef struct {
    PyObject *key;
    Py_ssize_t id;
} PathKey;

/* What a string or a number may meet beyond the exact table, tests and exists steps. */
#define MORE_STRINGS 1 /* prefix, suffix or ignore-case tables */
#define MORE_NUMBERS 2 /* numeric "=" or one-sided bounds */

/* Paths of up to this many keys keep them in the edge itself. */
#define INLINE_KEYS 3

/* The fields every step reads come first: a walk touches as few cache lines as it can. */
typedef struct {
    int dedupe;
    int more; /* MORE_* */
    Py_ssize_t n_keys;
    PathKey *keys; /* n_keys of them: inline_keys, or on the heap for longer paths */
    Py_ssize_t max_id;
    PathKey inline_keys[INLINE_KEYS];
    Table exact;
    PyObject *present; /* tuple of Node or NULL */
    Py_ssize_t n_tests;
    Test *tests;
    PyObject *absent; /* tuple of Node or NULL */
    Table bools, ic, equal;
    Slices prefix, suffix, prefix_ic, suffix_ic;
    PyObject *bounds[4][2]; /* below, below_eq, above, above_eq: (keys, nodes) or NULL */
    double *bound_doubles[4]; /* the keys as doubles when each is one exactly; else NULL */
} Edge;

/* A node and its edges in one block of memory (a variable-size object, one Edge per item). */
typedef struct {
    PyObject_VAR_HEAD
    Py_ssize_t n_rules;
    long long *orders; /* the order of each rule, or NULL when there are none */
    Py_ssize_t n_edges; /* the edges parsed (and to be freed) */
    PyObject *rules;    /* tuple of (order, key): the rules whose clauses end here */
    PyObject *spec;     /* tuple of edge tuples: owns every object the edges point to */
    Edge edges[];
} NodeObject;

static PyTypeObject NodeType;
static PyObject *str_lower;

#define IS_NODE(o) Py_IS_TYPE((o), &NodeType)

/* ---------------------------------------------------------------- reading the layout */

/* Whether number (an exact int or float) is exactly a double; if so, *out is it. Floats always
   are; ints up to 2**53 in magnitude are. Comparing such doubles gives Python's answer. */
static int
exact_double(PyObject *number, double *out)
{
    if (PyFloat_CheckExact(number)) {
        *out = PyFloat_AS_DOUBLE(number);
        return 1;
    }
    if (PyLong_CheckExact(number)) {
        int overflow;
        long long value = PyLong_AsLongLongAndOverflow(number, &overflow);
        if (!overflow && value >= -(1LL << 53) && value <= (1LL << 53)) {
            *out = (double)value;
            return 1;
        } /* an exact int sets overflow rather than an error */
    }
    return 0;
}

static int
parse_steps(PyObject *steps, const char *what, PyObject **into)
{
    *into = NULL;
    if (steps == Py_None) {
        return 0;
    }
    if (!PyTuple_CheckExact(steps)) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple of Node", what);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(steps); i++) {
        if (!IS_NODE(PyTuple_GET_ITEM(steps, i))) {
            PyErr_Format(PyExc_TypeError, "%s must be a tuple of Node", what);
            return -1;
        }
    }
    *into = steps;
    return 0;
}

static void
table_free(Table *table)
{
    /* Detach first: whatever a release runs finds the table empty, not half freed. */
    StrSlot *slots = table->slots;
    size_t mask = table->mask;
    table->slots = NULL;
    table->dict = NULL;
    table->mask = 0;
    if (slots != NULL) {
        for (size_t i = 0; i <= mask; i++) {
            Py_XDECREF(slots[i].key);
            Py_XDECREF(slots[i].steps);
        }
        PyMem_Free(slots);
    }
}

static int
table_traverse(const Table *table, visitproc visit, void *arg)
{
    if (table->slots != NULL) {
        for (size_t i = 0; i <= table->mask; i++) {
            Py_VISIT(table->slots[i].steps);
        }
    }
    return 0;
}

/* Copy the exact-str keys of into->dict to slots, when no other key could equal a str. */
static int
table_slots(Table *into)
{
    Py_ssize_t pos = 0, count = 0;
    PyObject *key, *value;
    while (PyDict_Next(into->dict, &pos, &key, &value)) {
        if (PyUnicode_CheckExact(key)) {
            count++;
        }
        else if (!PyLong_CheckExact(key) && !PyFloat_CheckExact(key) && !PyBool_Check(key) &&
                 key != Py_None) {
            return 0; /* a str subclass or another type: str values go to the dict */
        }
    }
    size_t size = 1;
    while (size < 2 * (size_t)count) {
        size <<= 1;
    }
    into->slots = PyMem_Calloc(size, sizeof(StrSlot));
    if (into->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    into->mask = size - 1;
    pos = 0;
    while (PyDict_Next(into->dict, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            continue;
        }
        Py_hash_t hash = PyObject_Hash(key);
        if (hash == -1) {
            return -1;
        }
        size_t i = (size_t)hash & into->mask;
        while (into->slots[i].key != NULL) {
            i = (i + 1) & into->mask;
        }
        into->slots[i].hash = hash;
        into->slots[i].key = Py_NewRef(key);
        into->slots[i].steps = Py_NewRef(value);
        into->slots[i].only = PyTuple_GET_SIZE(value) == 1 ? PyTuple_GET_ITEM(value, 0) : NULL;
    }
    return 0;
}

/* Slots for tables of more than this many keys (never, for tables no str is looked up in). */
#define NO_SLOTS PY_SSIZE_T_MAX

/* On failure, what was allocated is left for table_free. */
static int
parse_table(PyObject *table, const char *what, Table *into, Py_ssize_t slots_above)
{
    into->dict = NULL;
    into->slots = NULL;
    into->mask = 0;
    if (table == Py_None) {
        return 0;
    }
    if (!PyDict_CheckExact(table)) {
        PyErr_Format(PyExc_TypeError, "%s must be a dict or None", what);
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value, *steps;
    while (PyDict_Next(table, &pos, &key, &value)) {
        if (value == Py_None || parse_steps(value, what, &steps) < 0) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "%s must map to tuples of Node", what);
            }
            return -1;
        }
    }
    into->dict = table;
    return PyDict_GET_SIZE(table) > slots_above ? table_slots(into) : 0;
}

static int
parse_slices(PyObject *tables, const char *what, Slices *into)
{
    into->count = 0;
    into->items = NULL;
    if (tables == Py_None) {
        return 0;
    }
    if (!PyTuple_CheckExact(tables)) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple of (length, dict) or None", what);
        return -1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(tables);
    into->items = PyMem_New(Slice, count > 0 ? count : 1);
    if (into->items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyTuple_GET_ITEM(tables, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(pair, 0))) {
            PyErr_Format(PyExc_TypeError, "%s must be a tuple of (length, dict)", what);
            return -1;
        }
        Slice *slice = &into->items[i];
        slice->table.dict = NULL;
        slice->table.slots = NULL;
        slice->table.mask = 0;
        slice->keys = slice->steps = NULL;
        into->count = i + 1; /* from here on edge_free releases what it holds */
        slice->length = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0));
        if (slice->length < 0) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "%s: a length must not be negative", what);
            }
            return -1;
        }
        /* small tables are compared in place, from the keys and steps below */
        if (parse_table(PyTuple_GET_ITEM(pair, 1), what, &slice->table, SMALL_TABLE) < 0) {
            return -1;
        }
        if (slice->table.dict == NULL) {
            PyErr_Format(PyExc_TypeError, "%s must be a tuple of (length, dict)", what);
            return -1;
        }
        Py_ssize_t pos = 0, at = 0, size = PyDict_GET_SIZE(slice->table.dict);
        if (size <= SMALL_TABLE) {
            slice->keys = PyTuple_New(size);
            slice->steps = PyTuple_New(size);
            if (slice->keys == NULL || slice->steps == NULL) {
                return -1;
            }
        }
        PyObject *key, *value;
        while (PyDict_Next(slice->table.dict, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key) || PyUnicode_GET_LENGTH(key) != slice->length) {
                PyErr_Format(PyExc_TypeError, "%s: a key is not a str of its table's length",
                             what);
                return -1;
            }
            if (slice->keys != NULL && at < size) {
                PyTuple_SET_ITEM(slice->keys, at, Py_NewRef(key));
                PyTuple_SET_ITEM(slice->steps, at, Py_NewRef(value));
                at++;
            }
        }
    }
    return 0;
}

static int
parse_bounds(PyObject *bounds, const char *what, PyObject **into, double **doubles)
{
    into[0] = into[1] = NULL;
    *doubles = NULL;
    if (bounds == Py_None) {
        return 0;
    }
    PyObject *nodes;
    if (!PyTuple_CheckExact(bounds) || PyTuple_GET_SIZE(bounds) != 2 ||
        !PyTuple_CheckExact(PyTuple_GET_ITEM(bounds, 0)) ||
        PyTuple_GET_ITEM(bounds, 1) == Py_None ||
        parse_steps(PyTuple_GET_ITEM(bounds, 1), what, &nodes) < 0 ||
        PyTuple_GET_SIZE(PyTuple_GET_ITEM(bounds, 0)) != PyTuple_GET_SIZE(nodes)) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "%s must be (bounds, nodes) of equal length", what);
        }
        return -1;
    }
    into[0] = PyTuple_GET_ITEM(bounds, 0);
    into[1] = nodes;
    Py_ssize_t count = PyTuple_GET_SIZE(into[0]);
    *doubles = PyMem_New(double, count > 0 ? count : 1);
    if (*doubles == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!exact_double(PyTuple_GET_ITEM(into[0], i), &(*doubles)[i]) ||
            (i > 0 && !((*doubles)[i - 1] <= (*doubles)[i]))) {
            PyMem_Free(*doubles); /* compare as Python objects instead */
            *doubles = NULL;
            break;
        }
    }
    return 0;
}

static int
parse_test(PyObject *item, Test *test)
{
    if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 3 ||
        !PyLong_CheckExact(PyTuple_GET_ITEM(item, 0)) || PyTuple_GET_ITEM(item, 2) == Py_None ||
        parse_steps(PyTuple_GET_ITEM(item, 2), "tests", &test->steps) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "tests must be a tuple of (kind, operand, nodes)");
        }
        return -1;
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
    PyObject *operand = PyTuple_GET_ITEM(item, 1);
    int valid = 0;
    switch (kind) {
    case TEST_CALL:
        valid = PyCallable_Check(operand);
        break;
    case TEST_NOT_IN:
    case TEST_NOT_NUMBER_IN:
        valid = PyFrozenSet_CheckExact(operand);
        break;
    case TEST_RANGE:
        valid = PyTuple_CheckExact(operand) && PyTuple_GET_SIZE(operand) == 4 &&
                PyBool_Check(PyTuple_GET_ITEM(operand, 1)) &&
                PyBool_Check(PyTuple_GET_ITEM(operand, 3));
        if (valid) {
            test->low_inclusive = PyTuple_GET_ITEM(operand, 1) == Py_True;
            test->high_inclusive = PyTuple_GET_ITEM(operand, 3) == Py_True;
            test->doubles = exact_double(PyTuple_GET_ITEM(operand, 0), &test->low) &&
                            exact_double(PyTuple_GET_ITEM(operand, 2), &test->high);
        }
        break;
    }
    if (!valid) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "a test of kind %ld has a malformed operand", kind);
        }
        return -1;
    }
    test->kind = (int)kind;
    test->operand = operand;
    return 0;
}

static void
slices_free(Slices *slices)
{
    Slice *items = slices->items;
    Py_ssize_t count = slices->count;
    slices->items = NULL;
    slices->count = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_CLEAR(items[i].keys);
        Py_CLEAR(items[i].steps);
        table_free(&items[i].table);
    }
    PyMem_Free(items);
}

static int
slices_traverse(Slices *slices, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < slices->count; i++) {
        Py_VISIT(slices->items[i].keys);
        Py_VISIT(slices->items[i].steps);
        int err = table_traverse(&slices->items[i].table, visit, arg);
        if (err) {
            return err;
        }
    }
    return 0;
}

static void
edge_free(Edge *edge)
{
    if (edge->keys != edge->inline_keys) {
        PyMem_Free(edge->keys);
    }
    edge->keys = NULL;
    table_free(&edge->exact);
    table_free(&edge->bools);
    table_free(&edge->ic);
    table_free(&edge->equal);
    slices_free(&edge->prefix);
    slices_free(&edge->suffix);
    slices_free(&edge->prefix_ic);
    slices_free(&edge->suffix_ic);
    for (int which = 0; which < 4; which++) {
        PyMem_Free(edge->bound_doubles[which]);
        edge->bound_doubles[which] = NULL;
    }
    PyMem_Free(edge->tests);
}

/* Fill edge (zeroed) from its tuple; on failure, what was allocated is left for edge_free. */
static int
parse_edge(PyObject *spec, Edge *edge)
{
    if (!PyTuple_CheckExact(spec) || PyTuple_GET_SIZE(spec) != EDGE_SIZE) {
        PyErr_Format(PyExc_TypeError, "an edge must be a tuple of %d items", EDGE_SIZE);
        return -1;
    }
    PyObject *path = PyTuple_GET_ITEM(spec, EDGE_PATH);
    PyObject *ids = PyTuple_GET_ITEM(spec, EDGE_PATH_IDS);
    if (!PyTuple_CheckExact(path) || PyTuple_GET_SIZE(path) == 0 || !PyTuple_CheckExact(ids) ||
        PyTuple_GET_SIZE(ids) != PyTuple_GET_SIZE(path)) {
        PyErr_SetString(PyExc_TypeError,
                        "an edge needs a non-empty path and one path id per key of it");
        return -1;
    }
    edge->n_keys = PyTuple_GET_SIZE(path);
    edge->keys = edge->n_keys <= INLINE_KEYS ? edge->inline_keys : PyMem_New(PathKey, edge->n_keys);
    if (edge->keys == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < edge->n_keys; i++) {
        edge->keys[i].key = PyTuple_GET_ITEM(path, i);
        if (!PyUnicode_CheckExact(edge->keys[i].key)) {
            PyErr_SetString(PyExc_TypeError, "an edge's path must be a tuple of str");
            return -1;
        }
        PyObject *id = PyTuple_GET_ITEM(ids, i);
        edge->keys[i].id = PyLong_CheckExact(id) ? PyLong_AsSsize_t(id) : -1;
        if (edge->keys[i].id < 0) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "a path id must be an int >= 0");
            }
            return -1;
        }
        if (edge->keys[i].id > edge->max_id) {
            edge->max_id = edge->keys[i].id;
        }
    }
    if (parse_table(PyTuple_GET_ITEM(spec, EDGE_EXACT), "exact", &edge->exact, 0) < 0 ||
        parse_table(PyTuple_GET_ITEM(spec, EDGE_BOOLS), "bools", &edge->bools, NO_SLOTS) < 0 ||
        parse_slices(PyTuple_GET_ITEM(spec, EDGE_PREFIX), "prefix", &edge->prefix) < 0 ||
        parse_slices(PyTuple_GET_ITEM(spec, EDGE_SUFFIX), "suffix", &edge->suffix) < 0 ||
        parse_table(PyTuple_GET_ITEM(spec, EDGE_IC), "ic", &edge->ic, 0) < 0 ||
        parse_slices(PyTuple_GET_ITEM(spec, EDGE_PREFIX_IC), "prefix_ic", &edge->prefix_ic) < 0 ||
        parse_slices(PyTuple_GET_ITEM(spec, EDGE_SUFFIX_IC), "suffix_ic", &edge->suffix_ic) < 0 ||
        parse_table(PyTuple_GET_ITEM(spec, EDGE_EQUAL), "equal", &edge->equal, NO_SLOTS) < 0 ||
        parse_bounds(PyTuple_GET_ITEM(spec, EDGE_BELOW), "below", edge->bounds[0],
                     &edge->bound_doubles[0]) < 0 ||
        parse_bounds(PyTuple_GET_ITEM(spec, EDGE_BELOW_EQ), "below_eq", edge->bounds[1],
                     &edge->bound_doubles[1]) < 0 ||
        parse_bounds(PyTuple_GET_ITEM(spec, EDGE_ABOVE), "above", edge->bounds[2],
                     &edge->bound_doubles[2]) < 0 ||
        parse_bounds(PyTuple_GET_ITEM(spec, EDGE_ABOVE_EQ), "above_eq", edge->bounds[3],
                     &edge->bound_doubles[3]) < 0 ||
        parse_steps(PyTuple_GET_ITEM(spec, EDGE_PRESENT), "present", &edge->present) < 0 ||
        parse_steps(PyTuple_GET_ITEM(spec, EDGE_ABSENT), "absent", &edge->absent) < 0) {
        return -1;
    }
    if (edge->prefix.count || edge->suffix.count || edge->ic.dict != NULL ||
        edge->prefix_ic.count || edge->suffix_ic.count) {
        edge->more |= MORE_STRINGS;
    }
    if (edge->equal.dict != NULL || edge->bounds[0][0] != NULL || edge->bounds[1][0] != NULL ||
        edge->bounds[2][0] != NULL || edge->bounds[3][0] != NULL) {
        edge->more |= MORE_NUMBERS;
    }
    PyObject *dedupe = PyTuple_GET_ITEM(spec, EDGE_DEDUPE);
    if (!PyBool_Check(dedupe)) {
        PyErr_SetString(PyExc_TypeError, "an edge's dedupe flag must be a bool");
        return -1;
    }
    edge->dedupe = dedupe == Py_True;
    PyObject *tests = PyTuple_GET_ITEM(spec, EDGE_TESTS);
    if (tests != Py_None) {
        if (!PyTuple_CheckExact(tests)) {
            PyErr_SetString(PyExc_TypeError, "tests must be a tuple of (kind, operand, nodes)");
            return -1;
        }
        Py_ssize_t count = PyTuple_GET_SIZE(tests);
        edge->tests = PyMem_New(Test, count > 0 ? count : 1);
        if (edge->tests == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < count; i++) {
            if (parse_test(PyTuple_GET_ITEM(tests, i), &edge->tests[i]) < 0) {
                return -1;
            }
            edge->n_tests = i + 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- the Node type */

static void
Node_free_edges(NodeObject *self)
{
    Py_ssize_t count = self->n_edges;
    self->n_edges = 0; /* a walk that reaches the node meanwhile sees no edges */
    for (Py_ssize_t i = 0; i < count; i++) {
        edge_free(&self->edges[i]);
    }
}

static PyObject *
Node_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"rules", "edges", NULL};
    PyObject *rules, *spec;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!:Node", kwlist, &PyTuple_Type, &rules,
                                     &PyTuple_Type, &spec)) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(rules); i++) {
        PyObject *entry = PyTuple_GET_ITEM(rules, i);
        if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(entry, 0))) {
            PyErr_SetString(PyExc_TypeError, "rules must be a tuple of (order, key)");
            return NULL;
        }
    }
    Py_ssize_t count = PyTuple_GET_SIZE(spec);
    NodeObject *self = (NodeObject *)type->tp_alloc(type, count); /* zeroed */
    if (self == NULL) {
        return NULL;
    }
    self->rules = Py_NewRef(rules);
    self->spec = Py_NewRef(spec);
    self->n_rules = PyTuple_GET_SIZE(rules);
    if (self->n_rules > 0) {
        self->orders = PyMem_New(long long, self->n_rules);
        if (self->orders == NULL) {
            Py_DECREF(self);
            return PyErr_NoMemory();
        }
        for (Py_ssize_t i = 0; i < self->n_rules; i++) {
            self->orders[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(PyTuple_GET_ITEM(rules, i), 0));
            if (self->orders[i] == -1 && PyErr_Occurred()) {
                Py_DECREF(self);
                return NULL;
            }
        }
    }
    self->n_edges = count;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (parse_edge(PyTuple_GET_ITEM(spec, i), &self->edges[i]) < 0) {
            Py_DECREF(self); /* frees what parse_edge allocated */
            return NULL;
        }
    }
    return (PyObject *)self;
}

static int
Node_traverse(NodeObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->rules);
    Py_VISIT(self->spec);
    for (Py_ssize_t i = 0; i < self->n_edges; i++) {
        Edge *edge = &self->edges[i];
        Slices *all[] = {&edge->prefix, &edge->suffix, &edge->prefix_ic, &edge->suffix_ic};
        const Table *tables[] = {&edge->exact, &edge->bools, &edge->ic, &edge->equal};
        for (int j = 0; j < 4; j++) {
            int err = slices_traverse(all[j], visit, arg);
            if (!err) {
                err = table_traverse(tables[j], visit, arg);
            }
            if (err) {
                return err;
            }
        }
    }
    return 0;
}

static int
Node_clear(NodeObject *self)
{
    Node_free_edges(self); /* they borrow from spec */
    PyMem_Free(self->orders);
    self->orders = NULL;
    self->n_rules = 0;
    Py_CLEAR(self->rules);
    Py_CLEAR(self->spec);
    return 0;
}

static void
Node_dealloc(NodeObject *self)
{
    PyObject_GC_UnTrack(self);
    Node_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Node_repr(NodeObject *self)
{
    return PyUnicode_FromFormat("<Node: %zd rules, %zd paths>",
                                self->rules ? PyTuple_GET_SIZE(self->rules) : 0, self->n_edges);
}

static PyTypeObject NodeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "eventbridge_sdk.patterns._speedups.Node",
    .tp_doc = PyDoc_STR("Node(rules, edges): a snapshot of one RuleIndex trie node."),
    .tp_basicsize = offsetof(NodeObject, edges),
    .tp_itemsize = sizeof(Edge),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Node_new,
    .tp_traverse = (traverseproc)Node_traverse,
    .tp_clear = (inquiry)Node_clear,
    .tp_dealloc = (destructor)Node_dealloc,
    .tp_repr = (reprfunc)Node_repr,
};

/* ---------------------------------------------------------------- matching */

/* What a step of the walk says: go on, hand the event to the walker, or an exception is set. */
#define GO_ON 0
#define HAND_OVER 1
#define FAILED -1

/* One match: the event, the (order, key) entries found, and the values of the event's paths
   read so far, by path id (several nodes often read the same path or a prefix of it). */
typedef struct {
    long long order;
    PyObject *entry; /* a new reference to an (order, key) tuple */
} Found;

typedef struct {
    PyObject *event;
    Found *found; /* on_stack[STACK_FOUND] of speedups_match, or on the heap */
    Py_ssize_t n_found, cap_found;
    Py_ssize_t n_paths;
    PyObject **values; /* NULL: not read yet; MISSING_VALUE: missing; else a new reference */
    PyObject *seen;    /* the nodes the current step reached, when it dedupes; else NULL */
} Walk;

/* The value of a path that is missing (or runs through a scalar or null); never exposed. */
static PyObject missing_value;
#define MISSING_VALUE (&missing_value)

static int visit(NodeObject *node, Walk *w, int depth);

/* Make room for more rules found: move them off the C stack, or double the heap array. */
static int
grow_found(Walk *w)
{
    Py_ssize_t cap = w->cap_found * 2;
    Found *found = PyMem_New(Found, cap);
    if (found == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(found, w->found, (size_t)w->n_found * sizeof(Found));
    if (w->cap_found > STACK_FOUND) {
        PyMem_Free(w->found);
    }
    w->found = found;
    w->cap_found = cap;
    return 0;
}

/* Visit a node the current step reached, once per step when the step dedupes. */
static int
reach(PyObject *node, Walk *w, int depth)
{
    if (w->seen != NULL) {
        int seen = PySet_Contains(w->seen, node);
        if (seen != 0) {
            return seen < 0 ? FAILED : GO_ON;
        }
        if (PySet_Add(w->seen, node) < 0) {
            return FAILED;
        }
    }
    return visit((NodeObject *)node, w, depth);
}

static int
visit_all(PyObject *steps, Walk *w, int depth)
{
    if (!PyTuple_CheckExact(steps)) {
        PyErr_SetString(PyExc_TypeError, "a RuleIndex table holds something other than a tuple");
        return FAILED;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(steps); i++) {
        PyObject *node = PyTuple_GET_ITEM(steps, i);
        if (!IS_NODE(node)) {
            PyErr_SetString(PyExc_TypeError, "a RuleIndex table holds something other than a Node");
            return FAILED;
        }
        int status = reach(node, w, depth);
        if (status != GO_ON) {
            return status;
        }
    }
    return GO_ON;
}

/* Whether two exact str hold the same text: canonical (PEP 393) strings of equal text have
   the same kind and the same bytes. */
static int
same_text(PyObject *a, PyObject *b)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(a);
    int kind = PyUnicode_KIND(a);
    return length == PyUnicode_GET_LENGTH(b) && kind == PyUnicode_KIND(b) &&
           memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), (size_t)length * (size_t)kind) == 0;
}

static int
lookup(const Table *table, PyObject *key, Walk *w, int depth)
{
    PyObject *steps; /* borrowed */
    if (table->slots != NULL && PyUnicode_CheckExact(key)) {
        Py_hash_t hash = PyObject_Hash(key);
        if (hash == -1) {
            return FAILED;
        }
        for (size_t i = (size_t)hash & table->mask;; i = (i + 1) & table->mask) {
            const StrSlot *slot = &table->slots[i];
            if (slot->key == NULL) {
                return GO_ON;
            }
            if (slot->hash == hash && (slot->key == key || same_text(slot->key, key))) {
                if (slot->only != NULL) {
                    return reach(slot->only, w, depth); /* slots hold their steps */
                }
                steps = slot->steps;
                break;
            }
        }
    }
    else if ((steps = PyDict_GetItemWithError(table->dict, key)) == NULL) {
        return PyErr_Occurred() ? FAILED : GO_ON;
    }
    Py_INCREF(steps);
    int status = visit_all(steps, w, depth);
    Py_DECREF(steps);
    return status;
}

/* Prefixes (from_end = 0) or suffixes (from_end = 1) of text, of each length a table holds. */
static int
sliced(const Slices *slices, PyObject *text, int from_end, Walk *w, int depth)
{
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    for (Py_ssize_t i = 0; i < slices->count; i++) {
        const Slice *slice = &slices->items[i];
        if (slice->length > size) {
            continue;
        }
        int status = GO_ON;
        if (slice->keys != NULL) {
            Py_ssize_t start = from_end ? size - slice->length : 0;
            int ascii = PyUnicode_IS_ASCII(text);
            for (Py_ssize_t j = 0; status == GO_ON && j < PyTuple_GET_SIZE(slice->keys); j++) {
                PyObject *key = PyTuple_GET_ITEM(slice->keys, j);
                Py_ssize_t hit;
                if (ascii && PyUnicode_IS_ASCII(key)) {
                    hit = memcmp((const char *)PyUnicode_DATA(text) + start, PyUnicode_DATA(key),
                                 (size_t)slice->length) == 0;
                }
                else {
                    hit = PyUnicode_Tailmatch(text, key, 0, size, from_end ? 1 : -1);
                    if (hit < 0) {
                        return FAILED;
                    }
                }
                if (hit) {
                    status = visit_all(PyTuple_GET_ITEM(slice->steps, j), w, depth);
                }
            }
        }
        else {
            PyObject *part = from_end ? PyUnicode_Substring(text, size - slice->length, size)
                                      : PyUnicode_Substring(text, 0, slice->length);
            if (part == NULL) {
                return FAILED;
            }
            status = lookup(&slice->table, part, w, depth);
            Py_DECREF(part);
        }
        if (status != GO_ON) {
            return status;
        }
    }
    return GO_ON;
}

/* bisect.bisect_left (right = 0) or bisect.bisect_right (right = 1) over a tuple. */
static Py_ssize_t
bisect(PyObject *keys, PyObject *value, int right)
{
    Py_ssize_t lo = 0, hi = PyTuple_GET_SIZE(keys);
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        int before = right ? PyObject_RichCompareBool(value, PyTuple_GET_ITEM(keys, mid), Py_LT)
                           : !PyObject_RichCompareBool(PyTuple_GET_ITEM(keys, mid), value, Py_LT);
        if (PyErr_Occurred()) {
            return -1;
        }
        if (before) {
            hi = mid;
        }
        else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* One-sided numeric conditions; which = 0 bound < value (nodes[:bisect_left]), 1 bound <=
   value (nodes[:bisect_right]), 2 bound > value (nodes[bisect_right:]), 3 bound >= value
   (nodes[bisect_left:]). */
static int
thresholds(const Edge *edge, int which, PyObject *value, Walk *w, int depth)
{
    PyObject *keys = edge->bounds[which][0], *nodes = edge->bounds[which][1];
    if (keys == NULL) {
        return GO_ON;
    }
    int right = which == 1 || which == 2;
    const double *doubles = edge->bound_doubles[which];
    double number;
    Py_ssize_t cut;
    if (doubles != NULL && exact_double(value, &number)) {
        Py_ssize_t lo = 0, hi = PyTuple_GET_SIZE(keys);
        while (lo < hi) { /* bisect over the doubles, as bisect() over the objects */
            Py_ssize_t mid = lo + (hi - lo) / 2;
            if (right ? number < doubles[mid] : !(doubles[mid] < number)) {
                hi = mid;
            }
            else {
                lo = mid + 1;
            }
        }
        cut = lo;
    }
    else {
        cut = bisect(keys, value, right);
    }
    if (cut < 0) {
        return FAILED;
    }
    Py_ssize_t start = which < 2 ? 0 : cut;
    Py_ssize_t stop = which < 2 ? cut : PyTuple_GET_SIZE(nodes);
    for (Py_ssize_t i = start; i < stop; i++) {
        int status = reach(PyTuple_GET_ITEM(nodes, i), w, depth);
        if (status != GO_ON) {
            return status;
        }
    }
    return GO_ON;
}

/* Whether the scalar value passes a test: 1, 0, or -1 with an exception set. */
static int
passes(const Test *test, PyObject *value)
{
    switch (test->kind) {
    case TEST_CALL: {
        PyObject *result = PyObject_CallOneArg(test->operand, value);
        if (result == NULL) {
            return -1;
        }
        int truth = PyObject_IsTrue(result);
        Py_DECREF(result);
        return truth;
    }
    case TEST_NOT_NUMBER_IN:
        if (PyBool_Check(value)) {
            return 1;
        }
        /* fall through */
    case TEST_NOT_IN: {
        int found = PySet_Contains(test->operand, value);
        return found < 0 ? -1 : !found;
    }
    case TEST_RANGE: {
        if (!PyLong_CheckExact(value) && !PyFloat_CheckExact(value)) {
            return 0;
        }
        double number;
        if (test->doubles && exact_double(value, &number)) {
            return (test->low_inclusive ? test->low <= number : test->low < number) &&
                   (test->high_inclusive ? number <= test->high : number < test->high);
        }
        int above_low = PyObject_RichCompareBool(PyTuple_GET_ITEM(test->operand, 0), value,
                                                 test->low_inclusive ? Py_LE : Py_LT);
        if (above_low <= 0) {
            return above_low;
        }
        return PyObject_RichCompareBool(value, PyTuple_GET_ITEM(test->operand, 2),
                                        test->high_inclusive ? Py_LE : Py_LT);
    }
    }
    PyErr_Format(PyExc_SystemError, "unknown test kind %d", test->kind);
    return -1;
}

/* What any present scalar does: exists-true steps, then predicates. */
static int
present(const Edge *edge, PyObject *value, Walk *w, int depth)
{
    if (edge->present != NULL) {
        int status = visit_all(edge->present, w, depth);
        if (status != GO_ON) {
            return status;
        }
    }
    for (Py_ssize_t i = 0; i < edge->n_tests; i++) {
        const Test *test = &edge->tests[i];
        int truth = passes(test, value);
        if (truth < 0) {
            return FAILED;
        }
        if (truth) {
            int status = visit_all(test->steps, w, depth);
            if (status != GO_ON) {
                return status;
            }
        }
    }
    return GO_ON;
}

static int
strings(const Edge *edge, PyObject *value, Walk *w, int depth)
{
    int status;
    if (edge->exact.dict != NULL && (status = lookup(&edge->exact, value, w, depth)) != GO_ON) {
        return status;
    }
    if (!(edge->more & MORE_STRINGS)) {
        return present(edge, value, w, depth);
    }
    if (edge->prefix.count && (status = sliced(&edge->prefix, value, 0, w, depth)) != GO_ON) {
        return status;
    }
    if (edge->suffix.count && (status = sliced(&edge->suffix, value, 1, w, depth)) != GO_ON) {
        return status;
    }
    if (edge->ic.dict != NULL || edge->prefix_ic.count || edge->suffix_ic.count) {
        PyObject *lowered = PyObject_CallMethodNoArgs(value, str_lower);
        if (lowered == NULL) {
            return FAILED;
        }
        status = GO_ON;
        if (edge->ic.dict != NULL) {
            status = lookup(&edge->ic, lowered, w, depth);
        }
        if (status == GO_ON && edge->prefix_ic.count) {
            status = sliced(&edge->prefix_ic, lowered, 0, w, depth);
        }
        if (status == GO_ON && edge->suffix_ic.count) {
            status = sliced(&edge->suffix_ic, lowered, 1, w, depth);
        }
        Py_DECREF(lowered);
        if (status != GO_ON) {
            return status;
        }
    }
    return present(edge, value, w, depth);
}

static int
numbers(const Edge *edge, PyObject *value, Walk *w, int depth)
{
    int status;
    if (edge->exact.dict != NULL && (status = lookup(&edge->exact, value, w, depth)) != GO_ON) {
        return status;
    }
    if (PyFloat_CheckExact(value) && !isfinite(PyFloat_AS_DOUBLE(value))) {
        /* NaN and infinities (never in JSON) satisfy no numeric condition */
        return present(edge, value, w, depth);
    }
    if (!(edge->more & MORE_NUMBERS)) {
        return present(edge, value, w, depth);
    }
    if (edge->equal.dict != NULL && (status = lookup(&edge->equal, value, w, depth)) != GO_ON) {
        return status;
    }
    for (int which = 0; which < 4; which++) {
        if ((status = thresholds(edge, which, value, w, depth)) != GO_ON) {
            return status;
        }
    }
    return present(edge, value, w, depth);
}

static int
is_scalar(PyObject *value)
{
    return PyUnicode_CheckExact(value) || PyLong_CheckExact(value) || PyFloat_CheckExact(value) ||
           PyBool_Check(value) || value == Py_None;
}

/* The value at the edge's path, read once per walk: MISSING_VALUE when it is missing (a
   scalar, null or missing on the way counts as missing), else a reference the walk owns;
   NULL with *status HAND_OVER when an array or an unusual type is crossed, or FAILED. The
   values of the path's prefixes (data, data.customer, ...) are cached too. */
static PyObject *
read_path(Walk *w, const Edge *edge, int *status)
{
    Py_ssize_t n = edge->n_keys;
    const PathKey *keys = edge->keys;
    if (edge->max_id >= w->n_paths) {
        PyErr_SetString(PyExc_ValueError, "a path id is out of range");
        *status = FAILED;
        return NULL;
    }
    Py_ssize_t at = n - 1; /* the longest prefix read already */
    while (at >= 0 && w->values[keys[at].id] == NULL) {
        at--;
    }
    PyObject *value = at < 0 ? w->event : w->values[keys[at].id];
    for (Py_ssize_t i = at + 1; i < n; i++) {
        if (value != MISSING_VALUE) {
            if (!PyDict_CheckExact(value)) {
                if (!is_scalar(value)) {
                    *status = HAND_OVER;
                    return NULL;
                }
                value = MISSING_VALUE;
            }
            else {
                value = PyDict_GetItemWithError(value, keys[i].key);
                if (value == NULL) {
                    if (PyErr_Occurred()) {
                        *status = FAILED;
                        return NULL;
                    }
                    value = MISSING_VALUE;
                }
                else {
                    Py_INCREF(value);
                }
            }
        }
        w->values[keys[i].id] = value;
    }
    return value;
}

static int
step_value(const Edge *edge, Walk *w, int depth)
{
    int status = GO_ON;
    PyObject *value = read_path(w, edge, &status);
    if (value == NULL) {
        return status;
    }
    if (value == MISSING_VALUE || PyDict_CheckExact(value)) {
        return edge->absent == NULL ? GO_ON : visit_all(edge->absent, w, depth);
    }
    if (PyUnicode_CheckExact(value)) {
        return strings(edge, value, w, depth);
    }
    if (PyLong_CheckExact(value) || PyFloat_CheckExact(value)) {
        return numbers(edge, value, w, depth);
    }
    const Table *table;
    if (PyBool_Check(value)) {
        table = &edge->bools;
    }
    else if (value == Py_None) {
        table = &edge->exact;
    }
    else {
        return HAND_OVER;
    }
    if (table->dict != NULL && (status = lookup(table, value, w, depth)) != GO_ON) {
        return status;
    }
    return present(edge, value, w, depth);
}

static int
step(const Edge *edge, Walk *w, int depth)
{
    PyObject *outer = w->seen;
    w->seen = NULL;
    if (edge->dedupe && (w->seen = PySet_New(NULL)) == NULL) {
        w->seen = outer;
        return FAILED;
    }
    int status = step_value(edge, w, depth);
    Py_XDECREF(w->seen);
    w->seen = outer;
    return status;
}

static int
visit(NodeObject *node, Walk *w, int depth)
{
    if (depth > MAX_DEPTH) {
        return HAND_OVER;
    }
    for (Py_ssize_t i = 0; i < node->n_rules; i++) {
        if (w->n_found == w->cap_found && grow_found(w) < 0) {
            return FAILED;
        }
        w->found[w->n_found].order = node->orders[i];
        w->found[w->n_found].entry = Py_NewRef(PyTuple_GET_ITEM(node->rules, i));
        w->n_found++;
    }
    for (Py_ssize_t i = 0; i < node->n_edges; i++) {
        int status = step(&node->edges[i], w, depth + 1);
        if (status != GO_ON) {
            return status;
        }
    }
    return GO_ON;
}

static int
by_order(const void *a, const void *b)
{
    const Found *x = a, *y = b;
    if (x->order != y->order) {
        return (x->order > y->order) - (x->order < y->order);
    }
    /* Equal orders (only in a hand-made snapshot): the same entry side by side, to dedupe. */
    return (x->entry > y->entry) - (x->entry < y->entry);
}

/* The keys of the entries found (at least one), each entry once, by order. */
static PyObject *
keys_in_order(Found *found, Py_ssize_t n)
{
    if (n == 1) {
        PyObject *keys = PyList_New(1);
        if (keys != NULL) {
            PyList_SET_ITEM(keys, 0, Py_NewRef(PyTuple_GET_ITEM(found[0].entry, 1)));
        }
        return keys;
    }
    qsort(found, (size_t)n, sizeof(Found), by_order);
    Py_ssize_t unique = 1;
    for (Py_ssize_t i = 1; i < n; i++) {
        unique += found[i].entry != found[i - 1].entry; /* one rule through two clauses */
    }
    PyObject *keys = PyList_New(unique);
    if (keys == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0, at = 0; i < n; i++) {
        if (i == 0 || found[i].entry != found[i - 1].entry) {
            PyList_SET_ITEM(keys, at++, Py_NewRef(PyTuple_GET_ITEM(found[i].entry, 1)));
        }
    }
    return keys;
}

static PyObject *
speedups_match(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "match() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *root = args[0], *event = args[1];
    Py_ssize_t n_paths = PyLong_CheckExact(args[2]) ? PyLong_AsSsize_t(args[2]) : -1;
    if (!IS_NODE(root) || !PyDict_CheckExact(event) || n_paths < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "match(root: Node, event: dict, n_paths: int >= 0)");
        }
        return NULL;
    }
    PyObject *on_stack[STACK_PATHS] = {NULL};
    Found found_on_stack[STACK_FOUND];
    Walk w = {event, found_on_stack, 0, STACK_FOUND, n_paths, on_stack, NULL};
    if (n_paths > STACK_PATHS) {
        w.values = PyMem_Calloc((size_t)n_paths, sizeof(PyObject *));
        if (w.values == NULL) {
            return PyErr_NoMemory();
        }
    }
    /* The event and the snapshot stay alive for the whole walk, whatever a predicate does. */
    Py_INCREF(event);
    Py_INCREF(root);
    int status = visit((NodeObject *)root, &w, 0);
    Py_DECREF(root);
    for (Py_ssize_t i = 0; i < n_paths; i++) {
        if (w.values[i] != NULL && w.values[i] != MISSING_VALUE) {
            Py_DECREF(w.values[i]);
        }
    }
    if (w.values != on_stack) {
        PyMem_Free(w.values);
    }
    Py_DECREF(event);
    PyObject *result;
    if (status == FAILED) {
        result = NULL;
    }
    else if (status == HAND_OVER) {
        result = Py_NewRef(Py_None);
    }
    else if (w.n_found == 0) {
        result = PyList_New(0); /* the common answer */
    }
    else {
        result = keys_in_order(w.found, w.n_found);
    }
    for (Py_ssize_t i = 0; i < w.n_found; i++) {
        Py_DECREF(w.found[i].entry);
    }
    if (w.found != found_on_stack) {
        PyMem_Free(w.found);
    }
    return result;
}

static PyMethodDef speedups_methods[] = {
    {"match", (PyCFunction)(void (*)(void))speedups_match, METH_FASTCALL,
     PyDoc_STR("match(root, event, n_paths) -> list | None\n\nThe keys of the rules the event "
               "reaches, in rule order, each once; None when the trie walker must decide.")},
    {NULL, NULL, 0, NULL},
};

static int
speedups_exec(PyObject *module)
{
    if (PyType_Ready(&NodeType) < 0) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Node", (PyObject *)&NodeType) < 0) {
        return -1;
    }
    if (PyModule_AddIntConstant(module, "EDGE_SIZE", EDGE_SIZE) < 0 ||
        PyModule_AddIntConstant(module, "TEST_KINDS", TEST_KINDS) < 0) {
        return -1;
    }
    if (str_lower == NULL) {
        str_lower = PyUnicode_InternFromString("lower");
        if (str_lower == NULL) {
            return -1;
        }
    }
    return 0;
}

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "eventbridge_sdk.patterns._speedups",
    .m_doc = PyDoc_STR("Native matcher for the RuleIndex trie; see _native.py."),
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
