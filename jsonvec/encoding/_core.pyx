# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False, embedsignature=True
"""The compiled encoder: the algorithm of :mod:`jsonvec.encoding.reference`, record by record, in C.

One pass over a record does it all: the walk (:mod:`jsonvec.encoding.walk`), each leaf's atoms hashed
as it is met (:mod:`jsonvec.encoding.leaves`, :mod:`jsonvec.codebook.hashing`), each entry moved by its path's
role at once (:mod:`jsonvec.encoding.bind`: tables, and powers of ``Q_seq`` through their cycles) and
added as a whole multiple of 2⁻³² into 64-bit integers (:mod:`jsonvec.encoding.accumulate`); then the
norm in the fixed tree of :mod:`jsonvec._utils.stable`. Nothing is kept per leaf or per array
position, so memory does not grow with the size of a record.

Every floating-point operation is the reference's, in the same order, on IEEE doubles, and the
module is compiled without contraction into fused multiply-adds (``-ffp-contract=off``), so
the vectors are bit-identical to the reference's (tested on every corpus). Path nodes, roles
and the rare values the reference handles in Python (integers beyond 2⁵³, subclasses of the
JSON types) come from the same Python code.
"""

import math

import numpy as np

from cpython.dict cimport PyDict_Next
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.unicode cimport (
    Py_UNICODE_ISSPACE,
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
)
from libc.math cimport fabs, floor, frexp, isfinite, rint, sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

from jsonvec.errors import EncodeError
from jsonvec.codebook.hashing import kind_key
from jsonvec.encoding.leaves import CONSTANTS, TAP as _TAP, LeafCoder, level_weights
from jsonvec.encoding.path_tree import SET, PathTree
from jsonvec.records.paths import child_path
from jsonvec.encoding.walk import CONSTANT, NUMBER, STRING, leaf_kind

cdef uint64_t M1 = 0xBF58476D1CE4E5B9ULL
cdef uint64_t M2 = 0x94D049BB133111EBULL
cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL
cdef double UNIT = 4294967296.0  # 2**32
cdef int64_t EXACT_FLOAT = 9007199254740992  # 2**53
cdef int64_t ANCHOR_OFFSET = 140737488355328  # 2**47
# Positions 1..COMPOSED of an ordered array that is inside no other get their role as one
# table (the node's, Q_seq**k, the array's), built once and kept on the node, while the
# encoder's budget of COMPOSED_BYTES lasts: an entry then moves by one lookup instead of a
# walk along Q_seq's cycles. Positions past it, and deeper arrays, walk the cycles: the cost
# of an element never depends on the array's length.
DEF COMPOSED = 32
cdef Py_ssize_t COMPOSED_BYTES = 32 * 1024 * 1024
cdef double TAP = _TAP  # the weight of each atom of a character at an odd place


cdef Shape _shape(int nonzeros, int dim):
    cdef Shape shape
    shape.k = min(nonzeros, dim)
    shape.block = dim // shape.k
    shape.inverse = 1.0 / math.sqrt(shape.k)
    return shape


cdef inline uint64_t mix(uint64_t z) noexcept nogil:
    """The SplitMix64 finaliser (jsonvec.codebook.hashing.mix)."""
    z = (z ^ (z >> 30)) * M1
    z = (z ^ (z >> 27)) * M2
    return z ^ (z >> 31)


cdef inline uint64_t hash_int(uint64_t value, uint64_t key) noexcept nogil:
    """jsonvec.codebook.hashing.hash_ints for one value."""
    return mix(mix(value ^ key) + GOLDEN)


cdef inline uint32_t fold(uint32_t c) noexcept nogil:
    """ASCII letters to lower case (jsonvec.encoding.leaves.fold_case)."""
    return c + 32 if 65 <= c <= 90 else c


cdef class _Budget:
    """How many more composed tables an encoder may hold: a node that is dropped (the tree
    starts over) gives its tables back, so long runs over ever-new keys keep getting them."""

    cdef public Py_ssize_t left


cdef class CNode:
    """A path node (see jsonvec.encoding.path_tree.PathNode), with its table in C arrays."""

    cdef public str gpath
    cdef object _inverse, _signs  # the table as numpy arrays, made when first asked for
    cdef public CNode boundary
    cdef public int depth
    cdef public bint identity
    cdef public double weight
    cdef public int array_kind
    cdef public dict children
    cdef public object item
    cdef public object set_item
    cdef int32_t* moves  # 2 * inverse[j] + (1 if signs[j] < 0 else 0): dim entries, owned
    cdef int dim
    cdef int32_t* composed[COMPOSED]  # the roles of the first positions (item nodes), or NULL
    cdef _Budget budget  # where its composed tables came from (None until it has one)

    def __dealloc__(self):
        cdef int i
        cdef Py_ssize_t held = 0
        free(self.moves)
        for i in range(COMPOSED):
            if self.composed[i] != NULL:
                held += 1
                free(self.composed[i])
        if self.budget is not None:
            self.budget.left += held

    def __init__(self, gpath, table, boundary, identity, weight, array_kind):
        cdef int32_t[::1] view
        self._fields(gpath, boundary, identity, weight, array_kind, len(table[0]))
        self._inverse, self._signs = table
        moves = 2 * np.asarray(self._inverse, dtype=np.int32)
        moves += np.asarray(self._signs) < 0
        view = np.ascontiguousarray(moves, dtype=np.int32)
        memcpy(self.moves, &view[0], self.dim * sizeof(int32_t))

    cdef int _fields(
        self, str gpath, CNode boundary, bint identity, double weight, int array_kind, int dim
    ) except -1:
        self.gpath = gpath
        self.boundary = boundary
        self.depth = 0 if boundary is None else boundary.depth + 1
        self.identity = identity
        self.weight = weight
        self.array_kind = array_kind
        self.children = {}
        self.item = None
        self.set_item = None
        self.dim = dim
        self.moves = <int32_t*> malloc(dim * sizeof(int32_t))
        if self.moves == NULL:
            raise MemoryError()
        return 0

    @property
    def inverse(self):
        """Where coordinate ``j`` goes (jsonvec.encoding.path_tree.PathNode.inverse)."""
        if self._inverse is None:
            self._table()
        return self._inverse

    @property
    def signs(self):
        """The sign coordinate ``j`` gets there (jsonvec.encoding.path_tree.PathNode.signs)."""
        if self._signs is None:
            self._table()
        return self._signs

    cdef _table(self):
        moves = np.asarray(<int32_t[:self.dim]> self.moves).copy()
        self._inverse = (moves >> 1).astype(np.intp)
        self._signs = 1.0 - 2.0 * (moves & 1).astype(np.float64)


cdef struct Shape:
    # the entries of one kind of atom (jsonvec.codebook.atoms): k blocks of ``block`` coordinates,
    # entries of magnitude ``inverse`` = 1/sqrt(k)
    int k
    int block
    double inverse


cdef struct StringCode:
    # the weights of a string leaf's parts (jsonvec.encoding.leaves.LeafCoder.strings)
    double exact, gram, word, place
    Py_ssize_t ngram, ngram_max, reach, traced_words
    uint64_t k_str, k_gram, k_word, k_first, k_last


cdef struct Symbol:
    # one distinct symbol of a string's position trace: its atoms of weight 1 and TAP
    uint64_t h
    int64_t full
    int64_t half
    bint used


cdef struct Coord:
    # a coordinate's place among the cycles of Q_seq's scatter map
    int32_t cycle
    int32_t place


cdef struct Cycle:
    int32_t start           # where its coordinates start in ``members``
    int32_t length
    int32_t parity_start    # where its run starts in ``parity`` (the cycle taken twice)
    int32_t full            # parity of the negative signs over the whole cycle


cdef struct SeqCycles:
    # Q_seq as its cycles (jsonvec.encoding.bind.SeqPowers): what a power of it needs
    Coord* coords           # each coordinate's cycle and place in it
    Cycle* cycles
    int32_t* members        # the coordinates of each cycle, cycle after cycle
    uint8_t* parity         # negative-sign parities along each cycle, taken twice
    int count               # how many cycles


cdef struct NumberCode:
    # the parts of a number leaf (jsonvec.encoding.leaves.LeafCoder.numbers)
    double exact, part      # weights of the exact atom and of each graded level
    int levels
    uint64_t k_num, k_num0, k_numint, k_plus, k_minus


cdef struct Level:
    # one ordered array on a path: its power of Q_seq, as a shift and a sign flip per cycle
    int64_t power           # the power these were computed for (-1: none yet)
    int32_t* shift          # per cycle: power mod length
    uint8_t* flip           # per cycle: parity of the negatives of the power's full turns


cdef struct Track:
    # the coordinates a record touched, while there are at most ``limit`` of them: a sparse
    # record is finished (norm, division) on those alone
    bint on
    int32_t count
    int32_t limit
    int32_t* touched
    uint8_t* marks


cdef struct Chain:
    # where the entries of the leaf being encoded go: tables and powers along its path
    int levels              # ordered arrays above the node
    int32_t** moves         # levels + 1 tables (NULL: identity), the node's first
    Level* steps            # levels powers of Q_seq, innermost first
    double scaled           # the term's weight times 2**32
    double* acc             # the record's sums, whole numbers of 2**-32 (exact below 2**53)
    double* bag             # the unbound leaves' sums, or NULL
    Chain* copy             # a second term of the same leaf (the order-free copy), or NULL
    Track* track            # the coordinates touched so far, while they are few


cdef class _Route:
    """The buffers of one chain: its tables and its levels (grown as paths get deeper)."""

    cdef Chain chain
    cdef int capacity
    cdef int cycles
    cdef int32_t* shifts
    cdef uint8_t* flips

    def __dealloc__(self):
        free(self.chain.moves)
        free(self.chain.steps)
        free(self.shifts)
        free(self.flips)

    cdef int reserve(self, int levels, int cycles) except -1:
        cdef int wanted = levels + 1, i
        if wanted <= self.capacity:
            return 0
        wanted = max(wanted, 2 * self.capacity, 8)
        self.chain.moves = <int32_t**> realloc(self.chain.moves, wanted * sizeof(int32_t*))
        self.chain.steps = <Level*> realloc(self.chain.steps, wanted * sizeof(Level))
        self.shifts = <int32_t*> realloc(self.shifts, wanted * cycles * sizeof(int32_t))
        self.flips = <uint8_t*> realloc(self.flips, wanted * cycles * sizeof(uint8_t))
        if (
            self.chain.moves == NULL or self.chain.steps == NULL
            or self.shifts == NULL or self.flips == NULL
        ):
            raise MemoryError()
        for i in range(wanted):
            self.chain.steps[i].power = -1
            self.chain.steps[i].shift = self.shifts + i * cycles
            self.chain.steps[i].flip = self.flips + i * cycles
        self.capacity = wanted
        return 0


cdef class _Scratch:
    """Per-call buffers (so that calls from several threads never share them)."""

    cdef double* acc
    cdef double* bag
    cdef double* work
    cdef int64_t* powers
    cdef uint32_t* text      # a string's folded, padded code points for its n-grams
    cdef uint64_t* grams     # the hashes of its n-grams
    cdef Symbol* symbols     # its trace's distinct symbols (an open-addressing table)
    cdef Py_ssize_t symbol_room
    cdef Track track
    cdef int capacity
    cdef _Route main
    cdef _Route second

    def __dealloc__(self):
        free(self.acc)
        free(self.bag)
        free(self.work)
        free(self.powers)
        free(self.track.touched)
        free(self.track.marks)
        free(self.text)
        free(self.grams)
        free(self.symbols)

    cdef int reserve(self, int levels) except -1:
        """Room for the powers of a path inside ``levels`` ordered arrays, plus one."""
        cdef int wanted = levels + 2
        if wanted <= self.capacity:
            return 0
        wanted = max(wanted, 2 * self.capacity, 16)
        self.powers = <int64_t*> realloc(self.powers, wanted * sizeof(int64_t))
        if self.powers == NULL:
            raise MemoryError()
        self.capacity = wanted
        return 0


cdef class CoreEncoder:
    """Encodes JSON values with one codebook; bit-identical to ReferenceEncoder.

    Safe to call from several threads: per-call buffers are per call, and the path tree
    shared between calls only ever gains nodes (or is replaced whole).
    """

    cdef readonly object codebook
    cdef readonly int dim
    cdef readonly object tree
    cdef object coder
    cdef double beta, root, bag_weight
    cdef bint weighted
    cdef int padded
    cdef Shape atom_shape, piece_shape, exact_shape, anchor_shape
    cdef StringCode text
    cdef NumberCode num
    cdef double[::1] widths  # of the graded levels, and their weights
    cdef double[::1] graded
    cdef uint64_t k_role
    cdef SeqCycles seq
    cdef int64_t[::1] const_ptr, const_pos
    cdef double[::1] const_val
    cdef dict const_ids
    cdef _Budget budget  # how many more composed tables the encoder may hold

    def __init__(self, codebook):
        from jsonvec.encoding.bind import SeqPowers  # the reference's cycles

        self.codebook = codebook
        self.dim = codebook.dim
        self.tree = PathTree(codebook, node_class=CNode)
        self.coder = LeafCoder.of(codebook)
        s = codebook.settings
        self.beta = s.array_set_weight
        self.root = math.sqrt(1.0 + self.beta * self.beta)
        self.bag_weight = s.leaf_bag_weight
        self.weighted = bool(s.weight_of())
        self.atom_shape = _shape(s.atom_nonzeros, self.dim)
        self.piece_shape = _shape(s.piece_nonzeros, self.dim)
        self.exact_shape = _shape(s.number_exact_nonzeros, self.dim)
        self.anchor_shape = _shape(s.number_anchor_nonzeros, self.dim)
        seed = codebook.seed
        self.text.exact = s.string_exact_weight
        self.text.gram = s.string_ngram_weight
        self.text.word = s.string_word_weight
        self.text.place = s.string_position_weight
        self.text.ngram = s.ngram
        self.text.ngram_max = s.ngram_max_chars
        self.text.reach = s.position_chars
        self.text.traced_words = s.position_words
        self.text.k_str = int(kind_key(seed, "str"))
        self.text.k_gram = int(kind_key(seed, "gram"))
        self.text.k_word = int(kind_key(seed, "word"))
        self.text.k_first = int(kind_key(seed, "pos<"))
        self.text.k_last = int(kind_key(seed, "pos>"))
        e = s.number_exact_weight
        part = 1.0 / math.sqrt(1.0 + e * e)
        self.num.exact = e * part
        self.num.part = part
        levels = level_weights(s)
        self.num.levels = len(levels)
        self.widths = np.asarray([width for width, _ in levels], dtype=np.float64)
        self.graded = np.asarray([weight for _, weight in levels], dtype=np.float64)
        self.num.k_num = int(kind_key(seed, "num"))
        self.num.k_num0 = int(kind_key(seed, "num0"))
        self.num.k_numint = int(kind_key(seed, "numint"))
        self.k_role = int(kind_key(seed, "role:key"))
        self.num.k_plus = int(kind_key(seed, "lvl+"))
        self.num.k_minus = int(kind_key(seed, "lvl-"))
        self._cycles(SeqPowers.of(codebook.role("seq")))
        table = self.coder.constants(CONSTANTS)
        self.const_ptr = np.ascontiguousarray(table.ptr, dtype=np.int64)
        self.const_pos = np.ascontiguousarray(table.positions, dtype=np.int64)
        self.const_val = np.ascontiguousarray(table.values, dtype=np.float64)
        self.const_ids = {name: i for i, name in enumerate(CONSTANTS)}
        self.budget = _Budget()
        self.budget.left = COMPOSED_BYTES // (self.dim * sizeof(int32_t))
        self.padded = 1
        while self.padded < self.dim:
            self.padded *= 2

    @property
    def composed_left(self):
        """How many more composed tables the budget allows (nodes dropped give theirs back)."""
        return self.budget.left

    @composed_left.setter
    def composed_left(self, Py_ssize_t value):
        self.budget.left = value

    def __dealloc__(self):
        free(self.seq.coords)
        free(self.seq.cycles)
        free(self.seq.members)
        free(self.seq.parity)

    cdef int _cycles(self, steps) except -1:
        """Q_seq's cycles (jsonvec.encoding.bind.SeqPowers) in C structs: parities of the negative
        counts are all the sign needs."""
        cdef Py_ssize_t j, c, n = len(steps.start), total = len(steps.negatives)
        self.seq.count = <int> n
        self.seq.coords = <Coord*> malloc(self.dim * sizeof(Coord))
        self.seq.cycles = <Cycle*> malloc(n * sizeof(Cycle))
        self.seq.members = <int32_t*> malloc(self.dim * sizeof(int32_t))
        self.seq.parity = <uint8_t*> malloc(total * sizeof(uint8_t))
        if self.seq.coords == NULL or self.seq.cycles == NULL or self.seq.members == NULL:
            raise MemoryError()
        if self.seq.parity == NULL:
            raise MemoryError()
        for j in range(self.dim):
            self.seq.coords[j].cycle = steps.cycle[j]
            self.seq.coords[j].place = steps.place[j]
            self.seq.members[j] = steps.members[j]
        for c in range(n):
            self.seq.cycles[c].start = steps.start[c]
            self.seq.cycles[c].length = steps.length[c]
            self.seq.cycles[c].parity_start = steps.neg_start[c]
            self.seq.cycles[c].full = steps.negatives[steps.neg_start[c] + steps.length[c]] & 1
        for j in range(total):
            self.seq.parity[j] = steps.negatives[j] & 1
        return 0

    def encode_batch(self, values):
        """Vectors of ``values`` (a sequence): ndarray (n_records, dim), float32, unit rows."""
        out = np.empty((len(values), self.dim), dtype=np.float32)
        self.encode_into(values, out)
        return out

    def encode_into(self, values, float[:, ::1] out):
        """Encode ``values`` (a sequence) into the first rows of ``out`` (C-contiguous float32,
        ``dim`` columns), which may be shared memory."""
        cdef Py_ssize_t n = len(values), row
        if out.shape[1] != self.dim or out.shape[0] < n:
            raise ValueError(f"encode_into needs {n} rows of {self.dim} float32")
        cdef _Scratch scratch = self._scratch()
        for row in range(n):
            self.record(values[row], scratch, &out[row, 0])

    cdef _Scratch _scratch(self):
        cdef _Scratch sc = _Scratch()
        cdef int i
        sc.acc = <double*> calloc(self.dim, sizeof(double))
        sc.work = <double*> malloc(3 * self.padded * sizeof(double))
        sc.track.limit = self.dim // 8
        sc.track.touched = <int32_t*> malloc((sc.track.limit + 1) * sizeof(int32_t))
        sc.track.marks = <uint8_t*> calloc(self.dim, sizeof(uint8_t))
        sc.track.on = self.bag_weight <= 0.0
        sc.text = <uint32_t*> malloc((self.text.ngram_max + 2) * sizeof(uint32_t))
        sc.grams = <uint64_t*> malloc((self.text.ngram_max + 2) * sizeof(uint64_t))
        if sc.text == NULL or sc.grams == NULL:
            raise MemoryError()
        if sc.track.touched == NULL or sc.track.marks == NULL:
            raise MemoryError()
        if self.bag_weight > 0.0:
            sc.bag = <double*> calloc(self.dim, sizeof(double))
            if sc.bag == NULL:
                raise MemoryError()
        if sc.acc == NULL or sc.work == NULL:
            raise MemoryError()
        sc.reserve(8)
        sc.main = _Route()
        sc.second = _Route()
        for route in (sc.main, sc.second):
            route.cycles = self.seq.count
            route.reserve(8, self.seq.count)
            route.chain.acc = sc.acc
            route.chain.bag = sc.bag
            route.chain.copy = NULL
            route.chain.track = &sc.track
        return sc

    cdef int record(self, object value, _Scratch sc, float* out) except -1:
        try:
            if _container(value):
                self.walk(value, sc)
            else:  # a bare scalar: its leaf at the root
                self.leaf(value, <CNode> self.tree.root, 1.0, sc.powers, None, 0.0, NULL, sc)
            if self.tree.size >= self.tree.capacity:
                self.tree.trim()
            self.finish(sc, out)
        finally:
            self.clear(sc)
        return 0

    cdef void clear(self, _Scratch sc) noexcept nogil:
        """Zero the sums for the next record: only what was touched, if that is known."""
        cdef int32_t j, p
        for j in range(sc.track.count):
            p = sc.track.touched[j]
            sc.track.marks[p] = 0
            sc.acc[p] = 0.0
        if not sc.track.on:
            memset(sc.acc, 0, self.dim * sizeof(double))
        if sc.bag != NULL:
            memset(sc.bag, 0, self.dim * sizeof(double))
        sc.track.on = sc.bag == NULL
        sc.track.count = 0

    # -- the walk (jsonvec.encoding.walk) ---------------------------------------------------------

    cdef int walk(self, object value, _Scratch sc) except -1:
        cdef list stack = [(value, 1.0, self.tree.root, ())]
        cdef tuple entry
        cdef object node
        cdef double weight
        cdef CNode path
        while stack:
            entry = <tuple> stack.pop()
            node = entry[0]
            weight = entry[1]
            path = <CNode> entry[2]
            if type(node) is dict and node:
                self.walk_object(node, weight, path, <tuple> entry[3], stack, sc)
            elif type(node) is list and node:
                self.walk_array(node, weight, path, <tuple> entry[3], stack, sc)
            elif _container(node):
                if isinstance(node, dict):
                    self.walk_object(dict(node), weight, path, <tuple> entry[3], stack, sc)
                else:
                    self.walk_array(list(node), weight, path, <tuple> entry[3], stack, sc)
            else:
                self.set_powers(sc, <tuple> entry[3], 0)
                self.leaf(node, path, weight, sc.powers, None, 0.0, NULL, sc)
        return 0

    cdef int set_powers(self, _Scratch sc, tuple powers, int first) except -1:
        cdef Py_ssize_t i, n = len(powers)
        sc.reserve(<int> n)
        for i in range(n):
            sc.powers[first + i] = powers[i]
        return 0

    cdef CNode key_node(self, CNode parent, object key):
        found = parent.children.get(key)
        if found is not None:
            return <CNode> found
        if type(key) is not str:  # a subclass, or no string at all (PathTree.key says so)
            return <CNode> self.tree.key(parent, key)
        return self.new_key(parent, <str> key)

    cdef CNode new_key(self, CNode parent, str key):
        """The node of a key met for the first time (PathTree.key, in C): its role drawn by
        jsonvec.codebook.roles.scatter_of, composed with the parent's table, in O(dim) integer steps."""
        cdef object tree = self.tree
        cdef str gpath = child_path(parent.gpath, key)
        cdef CNode node = CNode.__new__(CNode)
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(key), i
        cdef int kind = PyUnicode_KIND(key)
        cdef void* data = PyUnicode_DATA(key)
        cdef uint64_t total = 0, h, w
        cdef int32_t j, swap, move
        cdef int32_t* moves
        cdef int32_t* outer = NULL if parent.identity else parent.moves
        array_kind, weight = tree.settings_of(gpath)
        node._fields(gpath, parent.boundary, False, weight, array_kind, self.dim)
        for i in range(n):  # hash_texts of the key under the key of its kind
            w = <uint64_t> PyUnicode_READ(kind, data, i) | (<uint64_t> i << 21)
            total += mix(w ^ self.k_role)
        h = mix(total ^ mix(<uint64_t> n ^ self.k_role))
        moves = node.moves
        for j in range(self.dim):
            moves[j] = j
        for j in range(self.dim - 1, 0, -1):  # Fisher-Yates, from the top
            w = mix(h + <uint64_t> (j + 1) * GOLDEN)
            i = <Py_ssize_t> (((w >> 32) * <uint64_t> (j + 1)) >> 32)
            swap = moves[j]
            moves[j] = moves[i]
            moves[i] = swap
        for j in range(self.dim):  # then signs, and the parent's table after it
            w = mix(h + <uint64_t> (j + 1) * GOLDEN)
            move = 2 * moves[j] if outer == NULL else outer[moves[j]]
            moves[j] = move ^ <int32_t> (w & 1)
        if tree._keep():
            parent.children[key] = node
        return node

    cdef int walk_object(
        self, dict d, double weight, CNode path, tuple powers, list stack, _Scratch sc
    ) except -1:
        cdef Py_ssize_t pos = 0
        cdef PyObject* key
        cdef PyObject* child
        cdef CNode node
        cdef double scale, total, share
        cdef list children
        self.set_powers(sc, powers, 0)
        if not self.weighted:
            scale = weight / sqrt(<double> len(d))
            while PyDict_Next(d, &pos, &key, &child):
                node = self.key_node(path, <object> key)
                if _container(<object> child):
                    stack.append((<object> child, scale, node, powers))
                else:
                    self.leaf(<object> child, node, scale, sc.powers, None, 0.0, NULL, sc)
            return 0
        children = []
        total = 0.0
        while PyDict_Next(d, &pos, &key, &child):
            node = self.key_node(path, <object> key)
            children.append((node, <object> child))
            total += node.weight * node.weight
        total = sqrt(total)
        if total == 0.0:  # every field ignored: the object reads as {}
            self.leaf({}, path, weight, sc.powers, None, 0.0, NULL, sc)
            return 0
        scale = weight / total
        for node, value in children:
            if node.weight == 0.0:
                continue
            share = scale * node.weight
            if _container(value):
                stack.append((value, share, node, powers))
            else:
                self.leaf(value, node, share, sc.powers, None, 0.0, NULL, sc)
        return 0

    cdef int walk_array(
        self, list a, double weight, CNode path, tuple powers, list stack, _Scratch sc
    ) except -1:
        cdef Py_ssize_t index, n = len(a)
        cdef double share = weight / sqrt(<double> n)
        cdef double ordered, copy
        cdef CNode item, set_item, copy_node
        cdef object element
        set_item = <CNode> (path.set_item if path.set_item is not None else self.tree.set_item(path))
        if path.array_kind == SET:
            self.set_powers(sc, powers, 0)
            for element in a:
                if _container(element):
                    stack.append((element, share, set_item, powers))
                else:
                    self.leaf(element, set_item, share, sc.powers, None, 0.0, NULL, sc)
            return 0
        item = <CNode> (path.item if path.item is not None else self.tree.item(path))
        ordered = share / self.root if self.beta > 0.0 else share
        copy = self.beta * ordered
        copy_node = set_item if self.beta > 0.0 else None
        self.set_powers(sc, powers, 1)
        for index in range(n):
            element = a[index]
            if _container(element):
                if not (self.weighted and self.reads_empty(element, item)):
                    stack.append((element, share, item, (index + 1,) + powers))
                    continue
                element = {}  # every field ignored: the element reads as {} (walk.reads_empty)
            sc.powers[0] = index + 1
            self.leaf(element, item, ordered, sc.powers, copy_node, copy, sc.powers + 1, sc)
        return 0

    cdef bint reads_empty(self, object value, CNode at) except -1:
        """Whether ``value`` is an object whose fields are all ignored (walk.reads_empty)."""
        if not isinstance(value, dict):
            return False
        for key in value:
            if self.key_node(at, key).weight != 0.0:
                return False
        return True

    # -- leaves (jsonvec.encoding.leaves) ---------------------------------------------------------

    cdef int leaf(
        self, object value, CNode node, double weight, int64_t* powers,
        CNode copy_node, double copy_weight, int64_t* copy_powers, _Scratch sc,
    ) except -1:
        """Encode one leaf into its term at ``node`` (and, for a scalar element of an
        ordered array, into its order-free copy at ``copy_node`` too: one leaf, two terms)."""
        cdef Chain* chain = &sc.main.chain
        cdef type kind = type(value)
        self.route(sc.main, node, weight, powers)
        if copy_node is None:
            chain.copy = NULL
        else:
            self.route(sc.second, copy_node, copy_weight, copy_powers)
            chain.copy = &sc.second.chain
        if kind is str:
            return self.string(value, chain, sc)
        if kind is float or kind is int:
            return self.number(value, chain)
        if value is None or kind is bool or ((kind is dict or kind is list) and not value):
            return self.constant(self.const_ids[_constant_name(value)], chain)
        leaf_type, leaf = leaf_kind(value, node.gpath)
        if leaf_type == CONSTANT:
            return self.constant(self.const_ids[leaf], chain)
        if leaf_type == STRING:
            return self.string(leaf, chain, sc)
        return self.number(leaf, chain)

    cdef int constant(self, Py_ssize_t which, Chain* chain) except -1:
        cdef int64_t i
        for i in range(self.const_ptr[which], self.const_ptr[which + 1]):
            self.put(chain, self.const_pos[i], self.const_val[i])
        return 0

    cdef int string(self, str text, Chain* chain, _Scratch sc) except -1:
        cdef StringCode* code = &self.text
        cdef uint32_t* padded = sc.text  # its folded, padded code points
        cdef uint64_t* grams = sc.grams
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, start, words = 0, size, count, w
        cdef Py_ssize_t traced = 0, span, run = 0
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef uint32_t c
        cdef uint64_t h, total
        cdef double scale, coef, place_coef = 0.0, squares, trace_norm = 0.0
        cdef Py_ssize_t cut, length
        for i in range(n + 1):  # words: runs of what str.split() does not split on
            if i < n and not Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)):
                run += 1
                continue
            if run > 0:  # a word ends: the first ones leave a trace of their characters
                if words < code.traced_words:
                    traced += 2 * (run if run <= code.reach else code.reach)
                words += 1
                run = 0
        squares = code.exact * code.exact + code.gram * code.gram  # the reference's order
        squares = squares + (code.word * code.word if words > 0 else 0.0)
        squares = squares + (code.place * code.place if traced > 0 else 0.0)
        if traced > 0:
            trace_norm = self.trace_norm(text, n, traced, sc)
        scale = 1.0 / sqrt(squares)
        # the exact string: hash_texts of its code points
        total = 0
        for i in range(n):
            c = PyUnicode_READ(kind, data, i)
            total += mix((<uint64_t> c | (<uint64_t> i << 21)) ^ code.k_str)
        h = mix(total ^ mix(<uint64_t> n ^ code.k_str))
        self.atom(chain, h, &self.atom_shape, code.exact * scale)
        # n-grams of the folded text, cut and padded with \x02 ... \x03 (hash_windows)
        cut = n if n <= code.ngram_max else code.ngram_max
        length = cut + 2
        padded[0] = 2
        for i in range(cut):
            padded[i + 1] = fold(PyUnicode_READ(kind, data, i))
        padded[length - 1] = 3
        count = length - code.ngram + 1 if length > code.ngram else 1
        size = code.ngram if length > code.ngram else length
        coef = code.gram * scale / sqrt(<double> count)
        for w in range(count):  # the hashes first, independent of each other, then the atoms
            h = code.k_gram
            for i in range(w, w + size):
                h = mix(h ^ <uint64_t> padded[i])
            grams[w] = mix(h + <uint64_t> size * GOLDEN)
        for w in range(count):
            self.atom(chain, grams[w], &self.piece_shape, coef)
        if words == 0:
            return 0
        coef = code.word * scale / sqrt(<double> words)
        if traced > 0:
            place_coef = code.place * scale / trace_norm
        words = 0
        i = 0
        while i < n:  # each word: hash_texts of its folded code points
            if Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)):
                i += 1
                continue
            start = i
            total = 0
            while i < n and not Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)):
                c = fold(PyUnicode_READ(kind, data, i))
                total += mix((<uint64_t> c | (<uint64_t> (i - start) << 21)) ^ code.k_word)
                i += 1
            h = mix(total ^ mix(<uint64_t> (i - start) ^ code.k_word))
            self.atom(chain, h, &self.piece_shape, coef)
            if words < code.traced_words:  # its trace (_PositionTrace): from each end
                span = i - start if i - start <= code.reach else code.reach
                for w in range(span):
                    c = fold(PyUnicode_READ(kind, data, start + w))
                    self.place(chain, c, w, code.k_first, place_coef)
                for w in range(span):
                    c = fold(PyUnicode_READ(kind, data, i - 1 - w))
                    self.place(chain, c, w, code.k_last, place_coef)
            words += 1
        return 0

    cdef double trace_norm(self, str text, Py_ssize_t n, Py_ssize_t traced, _Scratch sc) except -1:
        """The norm of the string's position trace, its repeated symbols counted
        (leaves._trace_norms): ``sqrt(A + 2·TAP·B + TAP²·C)`` from integer sums."""
        cdef StringCode* code = &self.text
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef Py_ssize_t room = 4, i, start, w, span, words = 0, slot
        cdef uint64_t mask, c
        cdef int64_t big_a = 0, big_b = 0, big_c = 0
        cdef Symbol* table
        cdef double squares
        while room < 4 * traced:  # two atoms at most per traced character, half full at most
            room *= 2
        if room > sc.symbol_room:
            free(sc.symbols)
            sc.symbols = <Symbol*> malloc(room * sizeof(Symbol))
            if sc.symbols == NULL:
                sc.symbol_room = 0
                raise MemoryError()
            sc.symbol_room = room
        table = sc.symbols
        memset(table, 0, room * sizeof(Symbol))
        mask = <uint64_t> (room - 1)
        i = 0
        while i < n and words < code.traced_words:
            if Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)):
                i += 1
                continue
            start = i
            while i < n and not Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)):
                i += 1
            span = i - start if i - start <= code.reach else code.reach
            for w in range(span):
                c = fold(PyUnicode_READ(kind, data, start + w))
                _count(table, mask, c, w, code.k_first)
                c = fold(PyUnicode_READ(kind, data, i - 1 - w))
                _count(table, mask, c, w, code.k_last)
            words += 1
        for slot in range(room):
            if table[slot].used:
                big_a += table[slot].full * table[slot].full
                big_b += table[slot].full * table[slot].half
                big_c += table[slot].half * table[slot].half
        squares = <double> big_a + (2.0 * TAP) * <double> big_b
        squares = squares + (TAP * TAP) * <double> big_c
        return sqrt(squares)

    cdef inline void place(
        self, Chain* chain, uint32_t c, Py_ssize_t i, uint64_t key, double coef
    ) noexcept nogil:
        """Character ``c`` at place ``i``: one atom at an even place, two at an odd one."""
        cdef uint64_t cell = <uint64_t> (i >> 1)
        if i & 1 == 0:
            self.atom(chain, hash_int(<uint64_t> c | (cell << 21), key), &self.piece_shape, coef)
            return
        self.atom(
            chain, hash_int(<uint64_t> c | (cell << 21), key), &self.piece_shape, coef * TAP
        )
        self.atom(
            chain, hash_int(<uint64_t> c | ((cell + 1) << 21), key), &self.piece_shape, coef * TAP
        )

    cdef int number(self, object value, Chain* chain) except -1:
        cdef double x, fraction, t
        cdef int exponent, overflow = 0
        cdef long long whole
        cdef uint64_t bits
        if type(value) is float:
            x = PyFloat_AS_DOUBLE(value)
        else:
            whole = PyLong_AsLongLongAndOverflow(value, &overflow)
            if overflow:
                return self.huge(value, chain)
            if whole > EXACT_FLOAT or whole < -EXACT_FLOAT:
                return self.wide(whole, chain)
            x = <double> whole
        if not isfinite(x):
            raise EncodeError(f"cannot encode the number {value!r}")
        x = x + 0.0  # -0.0 becomes 0.0
        fraction = frexp(fabs(x), &exponent)
        t = (<double> exponent - 2.0) + 2.0 * fraction
        memcpy(&bits, &x, sizeof(double))
        self.atom(chain, hash_int(bits, self.num.k_num), &self.exact_shape, self.num.exact)
        if x == 0.0:
            self.atom(chain, hash_int(0, self.num.k_num0), &self.exact_shape, self.num.part)
            return 0
        self.graded_code(chain, t, self.num.k_plus if x > 0.0 else self.num.k_minus)
        return 0

    cdef void graded_code(self, Chain* chain, double t, uint64_t key) noexcept nogil:
        """The anchors of every level around magnitude ``t`` (LeafCoder.numbers)."""
        cdef int level
        cdef double u, cell, f, norm, g
        cdef uint64_t anchor
        for level in range(self.num.levels):
            u = t / self.widths[level]
            cell = floor(u)
            f = u - cell
            norm = sqrt((1.0 - f) * (1.0 - f) + f * f)
            anchor = (<uint64_t> (<int64_t> cell + ANCHOR_OFFSET)) ^ (<uint64_t> level << 48)
            g = self.graded[level]
            self.atom(chain, hash_int(anchor, key), &self.anchor_shape, g * (1.0 - f) / norm)
            self.atom(chain, hash_int(anchor + 1, key), &self.anchor_shape, g * f / norm)

    cdef int wide(self, long long whole, Chain* chain) except -1:
        """An integer past 2**53 within 64 bits (LeafCoder._huge_parts): magnitude from its
        nearest float64, the exact atom from that float if it is exact, else from its one
        64-bit word of magnitude and its sign (jsonvec.encoding.leaves.integer_hash)."""
        cdef double m = <double> whole
        cdef double fraction, t
        cdef int exponent
        cdef uint64_t bits, h, magnitude
        cdef bint exact
        fraction = frexp(fabs(m), &exponent)
        t = <double> (exponent - 2) + 2.0 * fraction
        exact = -9.223372036854775808e18 <= m < 9.223372036854775808e18 and <long long> m == whole
        if exact:
            memcpy(&bits, &m, sizeof(double))
            h = hash_int(bits, self.num.k_num)
        else:
            magnitude = <uint64_t> whole if whole >= 0 else (~(<uint64_t> whole)) + 1
            h = mix(mix(magnitude ^ self.num.k_numint) + GOLDEN)
            h = mix(h ^ mix(<uint64_t> 1 ^ self.num.k_numint ^ (<uint64_t> (whole < 0) << 63)))
        self.atom(chain, h, &self.exact_shape, self.num.exact)
        self.graded_code(chain, t, self.num.k_plus if whole > 0 else self.num.k_minus)
        return 0

    cdef int huge(self, object value, Chain* chain) except -1:
        """An integer beyond 64 bits: the reference's leaf, entry by entry."""
        cdef Py_ssize_t i
        table = self.coder.numbers([value])
        positions, values = table.positions, table.values
        for i in range(len(positions)):
            self.put(chain, positions[i], values[i])
        return 0

    # -- binding and adding (jsonvec.encoding.bind, jsonvec.encoding.accumulate) ---------------------------

    cdef int route(self, _Route route, CNode node, double weight, int64_t* powers) except -1:
        """Point ``route``'s chain at ``node``'s role: its table, then each enclosing ordered
        array's power of Q_seq (as shifts along the cycles) and table."""
        cdef int level, c
        cdef int64_t k, turns
        cdef Level* step
        cdef CNode at = node
        cdef Chain* chain = &route.chain
        cdef int32_t* table
        cdef int32_t j
        route.reserve(node.depth, self.seq.count)
        chain.levels = node.depth
        chain.scaled = weight * UNIT
        for level in range(node.depth + 1):
            chain.moves[level] = NULL if at.identity else at.moves
            at = at.boundary
        if node.depth == 1 and 1 <= powers[0] <= COMPOSED:
            table = node.composed[powers[0] - 1]
            if table != NULL:
                chain.levels = 0
                chain.moves[0] = table
                return 0
        for level in range(node.depth):
            step = &chain.steps[level]
            k = powers[level]
            if step.power == k:
                continue
            step.power = k
            for c in range(self.seq.count):
                step.shift[c] = <int32_t> (k % self.seq.cycles[c].length)
                turns = k // self.seq.cycles[c].length
                step.flip[c] = <uint8_t> ((turns & 1) & self.seq.cycles[c].full)
        if node.depth == 1 and 1 <= powers[0] <= COMPOSED and self.budget.left > 0:
            table = <int32_t*> malloc(self.dim * sizeof(int32_t))
            if table == NULL:
                raise MemoryError()
            for j in range(self.dim):
                table[j] = self.moved(chain, j)
            node.composed[powers[0] - 1] = table
            node.budget = self.budget
            self.budget.left -= 1
            chain.levels = 0
            chain.moves[0] = table
        return 0

    cdef inline void atom(
        self, Chain* chain, uint64_t h, Shape* shape, double coef
    ) noexcept nogil:
        """The ``k`` entries of the atom of hash ``h``, times ``coef`` (jsonvec.codebook.atoms).

        An entry is ``±inverse · coef``, bound (sign flips) and scaled by the term's weight
        times 2**32, then rounded: the rounding of a negated number is the negated rounding
        (to nearest, ties to even), so every entry of the atom adds ``±amount``, computed once
        per term.
        """
        cdef int t, k = shape.k, block = shape.block
        cdef double inverse = shape.inverse
        cdef uint64_t w, offset
        cdef uint64_t mask = <uint64_t> (block - 1)
        cdef bint power_of_two = (block & (block - 1)) == 0
        cdef double magnitude = inverse * coef
        cdef double amount = rint(magnitude * chain.scaled)
        cdef double second = 0.0
        cdef int32_t move
        cdef int32_t* moves = chain.moves[0]
        cdef int32_t* copy_moves = NULL
        if chain.copy != NULL:
            second = rint(magnitude * chain.copy.scaled)
            copy_moves = chain.copy.moves[0]
        if amount == 0.0 and second == 0.0:
            return
        if chain.levels == 0 and chain.bag == NULL and (
            chain.copy == NULL or chain.copy.levels == 0
        ):
            # the common case, in a tight loop: each role one table (or none)
            for t in range(k):
                w = mix(h + <uint64_t> (t + 1) * GOLDEN)
                offset = ((w >> 1) & mask) if power_of_two else ((w >> 1) % <uint64_t> block)
                offset += <uint64_t> (t * block)
                if amount != 0.0:
                    if moves == NULL:
                        touch(chain.track, <int32_t> offset)
                        chain.acc[offset] += -amount if (w & 1) else amount
                    else:
                        move = moves[offset]
                        touch(chain.track, move >> 1)
                        chain.acc[move >> 1] += (
                            -amount if ((w ^ <uint64_t> move) & 1) else amount
                        )
                if second != 0.0:
                    if copy_moves == NULL:
                        touch(chain.copy.track, <int32_t> offset)
                        chain.copy.acc[offset] += -second if (w & 1) else second
                    else:
                        move = copy_moves[offset]
                        touch(chain.copy.track, move >> 1)
                        chain.copy.acc[move >> 1] += (
                            -second if ((w ^ <uint64_t> move) & 1) else second
                        )
            return
        for t in range(k):
            w = mix(h + <uint64_t> (t + 1) * GOLDEN)
            offset = ((w >> 1) & mask) if power_of_two else ((w >> 1) % <uint64_t> block)
            if amount != 0.0:
                self.add(chain, <int64_t> offset + t * block, -amount if (w & 1) else amount)
            if second != 0.0:
                self.add(
                    chain.copy, <int64_t> offset + t * block, -second if (w & 1) else second
                )

    cdef inline void put(self, Chain* chain, int64_t p, double v) noexcept nogil:
        """Bind one entry of value ``v`` by the chain's role (and its copy's) and add it."""
        cdef double amount = rint(v * chain.scaled)
        if amount != 0.0:
            self.add(chain, p, amount)
        if chain.copy != NULL:
            amount = rint(v * chain.copy.scaled)
            if amount != 0.0:
                self.add(chain.copy, p, amount)

    cdef inline void add(self, Chain* chain, int64_t p, double amount) noexcept nogil:
        """Move an entry (already scaled and rounded) by the chain's role and add it."""
        cdef int32_t move
        if chain.bag != NULL:
            chain.bag[p] += amount
        move = self.moved(chain, <int32_t> p)
        if move & 1:
            amount = -amount
        touch(chain.track, move >> 1)
        chain.acc[move >> 1] += amount

    cdef inline int32_t moved(self, Chain* chain, int32_t p) noexcept nogil:
        """Where the chain's role moves coordinate ``p``, as ``2 * place + negated``."""
        cdef int level
        cdef int32_t move, turn, negated = 0
        cdef Coord coord
        cdef Cycle* cycle
        cdef Level* step
        if chain.moves[0] != NULL:
            move = chain.moves[0][p]
            negated = move & 1
            p = move >> 1
        for level in range(chain.levels):
            step = &chain.steps[level]
            coord = self.seq.coords[p]
            cycle = &self.seq.cycles[coord.cycle]
            turn = coord.place + step.shift[coord.cycle]
            negated ^= (
                self.seq.parity[cycle.parity_start + turn]
                ^ self.seq.parity[cycle.parity_start + coord.place]
                ^ step.flip[coord.cycle]
            )
            if turn >= cycle.length:
                turn -= cycle.length
            p = self.seq.members[cycle.start + turn]
            if chain.moves[level + 1] != NULL:
                move = chain.moves[level + 1][p]
                negated ^= move & 1
                p = move >> 1
        return 2 * p + negated

    cdef int finish(self, _Scratch sc, float* out) except -1:
        """The record's unit vector, as float32 (jsonvec.encoding.accumulate.finish)."""
        cdef int i
        cdef int32_t j, p
        cdef double* x = sc.acc
        cdef double n = self.norm(x, sc.work)
        n = n if n > 0.0 else 1.0
        if sc.track.on:  # a sparse record: only its few coordinates to divide
            memset(out, 0, self.dim * sizeof(float))
            for j in range(sc.track.count):
                p = sc.track.touched[j]
                out[p] = <float> (x[p] / n)
            return 0
        if sc.bag == NULL:
            for i in range(self.dim):
                out[i] = <float> (x[i] / n)
            return 0
        for i in range(self.dim):
            x[i] = x[i] / n
        n = self.norm(sc.bag, sc.work)
        n = n if n > 0.0 else 1.0
        for i in range(self.dim):
            x[i] = x[i] + self.bag_weight * (sc.bag[i] / n)
        n = self.norm(x, sc.work)
        n = n if n > 0.0 else 1.0
        for i in range(self.dim):
            out[i] = <float> (x[i] / n)
        return 0

    cdef double norm(self, double* x, double* tree) noexcept nogil:
        """sqrt of the sum of squares, summed in jsonvec._utils.stable.sum_last's fixed tree."""
        cdef int i, half, width = self.padded
        for i in range(self.dim):
            tree[i] = x[i] * x[i]
        for i in range(self.dim, width):
            tree[i] = 0.0
        while width > 1:
            half = width // 2
            for i in range(half):
                tree[i] = tree[i] + tree[i + half]
            width = half
        return sqrt(tree[0])


cdef inline void _count(
    Symbol* table, uint64_t mask, uint64_t c, Py_ssize_t i, uint64_t key
) noexcept nogil:
    """Count the atoms of character ``c`` at place ``i`` (as LeafCoder.place emits them)."""
    cdef uint64_t cell = <uint64_t> (i >> 1)
    if i & 1 == 0:
        _add_symbol(table, mask, hash_int(c | (cell << 21), key), True)
        return
    _add_symbol(table, mask, hash_int(c | (cell << 21), key), False)
    _add_symbol(table, mask, hash_int(c | ((cell + 1) << 21), key), False)


cdef inline void _add_symbol(Symbol* table, uint64_t mask, uint64_t h, bint full) noexcept nogil:
    cdef uint64_t slot = h & mask
    while table[slot].used and table[slot].h != h:
        slot = (slot + 1) & mask
    table[slot].used = True
    table[slot].h = h
    if full:
        table[slot].full += 1
    else:
        table[slot].half += 1


cdef inline void touch(Track* track, int32_t p) noexcept nogil:
    """Note that coordinate ``p`` is touched, until too many are to call the record sparse."""
    if track.on and not track.marks[p]:
        if track.count == track.limit:
            track.on = False
            return
        track.marks[p] = 1
        track.touched[track.count] = p
        track.count += 1


cdef inline bint _container(object value):
    return isinstance(value, (dict, list)) and len(value) > 0


cdef str _constant_name(object value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return "{}" if isinstance(value, dict) else "[]"
