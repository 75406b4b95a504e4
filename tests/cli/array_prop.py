#!/usr/bin/env python3
"""Property tests of the array options of vb-cat, vb-insert and vb-delete
(issue 17) against NumPy, the reference.

    array_prop.py [--seed N] [--cases N] GROUP...

GROUP is one of:
  cat     vb-cat --npy --slice/--transpose on .npy stores (versions 1.0, 2.0,
          3.0, C and Fortran order) against np.transpose(a[spec], axes)
  raw     the same on headerless stores (--shape/--unit), raw output
          against the C-order bytes
  edit    sequences of vb-insert --axis / vb-delete --axis against
          np.insert / np.delete; every old version still reads back; now
          and then a vb-flatten (full, --partial, --compact), and in a
          quarter of the cases an automatic flatten in every edit
          ($VB_AUTO_FLATTEN)
  keep    vb-delete --keep-slice against a[spec] (mostly positive steps,
          some negative), mixed with axis edits
  header  damaged and unusual .npy headers: what NumPy refuses vb refuses
          (exit 1, one line), what vb reads it reads as np.load does
  big     contents of megabytes with a 256 KiB cache ($VB_CACHE): slices,
          transposes and edits whose runs cross the buffers
  err-*   the error classes: exit status, one line on stderr naming the
          program (and the --help hint after a usage error), nothing on
          stdout, the store and its base byte-identical after:
    err-shape   --shape/--unit not the content's size (exit 1)
    err-syntax  --slice syntax, a step 0, --transpose AXES syntax (exit 2)
    err-rank    too many indices, AXES not a permutation of the result's
                axes (exit 1: they depend on the array, as an index out of
                bounds does)
    err-bounds  an index out of bounds, an INDEX/COUNT beyond the axis, an
                axis that does not exist (exit 1, NumPy's wording)
    err-npy     .npy data not the header's size, an object dtype (exit 1)
    err-slab    vb-insert --axis input that is not whole slabs (exit 1)
    err-usage   option combinations the man pages refuse (exit 2)
  all     every group above (the default)

Run it with a python3 that imports NumPy, the built commands first on PATH
(array.bats does both).  The seed comes from --seed, else $VB_TEST_SEED,
else it is random; it is printed with every result so that
`VB_TEST_SEED=S array_prop.py GROUP` reproduces a failure.  Each case runs
in a new temporary directory.  The number of cases per
group comes from --cases, else $VB_TEST_ARRAY_CASES, else a default that
$VB_TEST_LONG=1 multiplies by 10.
"""

import io
import os
import random
import shlex
import subprocess
import sys
import tempfile
import traceback
import warnings

import numpy as np

# np.load of damaged headers (group header) warns about overflows
warnings.simplefilter('ignore')

GROUPS = ('cat', 'raw', 'edit', 'keep', 'header', 'big', 'err-shape', 'err-syntax',
          'err-rank', 'err-bounds', 'err-npy', 'err-slab', 'err-usage')
# cases per group by default: the whole array.bats in well under a minute
# on two cores (three minutes in a sanitizer build)
DEFAULT_CASES = {'cat': 150, 'raw': 150, 'edit': 80, 'keep': 80, 'header': 150, 'big': 6,
                 'err-shape': 30, 'err-syntax': 40, 'err-rank': 40, 'err-bounds': 60,
                 'err-npy': 40, 'err-slab': 40, 'err-usage': 40}

DTYPES = ['<f4', '<f8', '|u1', '<i2', '>i4', '<c8', '|S3', '<U2', '|b1',
          [('a', '<i4'), ('b', '|S3')],
          '>f8', '<u8', '|V5', '<M8[ns]', [('x', '<f2'), ('y', [('z', '|u1')], (2,))]]

MAX_ELEMS = 3000


class Failure(Exception):
    pass


# ------------------------------------------------------------ running

class Runner:
    """Runs commands in a directory and remembers them for the report."""

    def __init__(self, workdir):
        self.dir = workdir
        self.log = []

    def run(self, argv, stdin=None, input_bytes=None):
        self.log.append(' '.join(shlex.quote(a) for a in argv)
                        + ('' if stdin is None else ' < ' + shlex.quote(stdin))
                        + ('' if input_bytes is None
                           else ' <<< (%d bytes on a pipe)' % len(input_bytes)))
        if stdin is not None:
            with open(os.path.join(self.dir, stdin), 'rb') as f:
                p = subprocess.run(argv, cwd=self.dir, stdin=f,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        else:
            p = subprocess.run(argv, cwd=self.dir,
                               input=input_bytes if input_bytes is not None else b'',
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return p

    def ok(self, argv, **kw):
        p = self.run(argv, **kw)
        if p.returncode != 0:
            raise Failure('exit %d from %s\nstderr: %s' % (
                p.returncode, self.log[-1], p.stderr.decode(errors='replace')))
        return p.stdout

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        with open(self.path(name), 'wb') as f:
            f.write(data)

    def read(self, name):
        with open(self.path(name), 'rb') as f:
            return f.read()


# ------------------------------------------------------------ arrays

def random_shape(rng, min_axes=1, max_axes=5, zero_p=0.08, nonzero=False):
    """1 to 5 axes of 0 to 50 (log-uniform), at most MAX_ELEMS elements;
    now and then (with max_axes 5) 6 to 32 axes of 1 to 3."""
    if max_axes == 5 and rng.random() < 0.05:
        while True:
            shape = tuple(rng.choice([1, 1, 2, 3]) for _ in range(rng.randint(6, 32)))
            if int(np.prod(shape)) <= MAX_ELEMS:
                return shape
    while True:
        ndim = rng.randint(min_axes, max_axes)
        shape = []
        for _ in range(ndim):
            if not nonzero and rng.random() < zero_p:
                shape.append(0)
            else:
                shape.append(max(1, int(51 ** rng.random())))
        prod = 1
        for s in shape:
            prod *= max(s, 1)
        if prod <= MAX_ELEMS:
            return tuple(shape)


def random_dtype(rng):
    return np.dtype(rng.choice(DTYPES))


def random_values(nrng, shape, dtype):
    """An array of random (valid) values."""
    n = int(np.prod(shape, dtype=np.int64))
    if dtype.kind == 'b':
        a = nrng.integers(0, 2, size=n).astype(dtype)
    elif dtype.kind == 'U':
        chars = np.array(list('abcXYZ 09\u00e9\u4e2d\U0001f600'))
        a = np.empty(n, dtype)
        for i in range(n):
            a[i] = ''.join(chars[nrng.integers(0, len(chars), nrng.integers(0, 3))])
    elif dtype.names:
        a = np.zeros(n, dtype)
        for name in dtype.names:
            sub = dtype.fields[name][0]
            a[name] = np.frombuffer(nrng.bytes(n * sub.itemsize), sub)
    else:
        # every bit pattern (NaNs with payloads too: compared as bytes)
        a = np.frombuffer(nrng.bytes(n * dtype.itemsize), dtype).copy()
    return a.reshape(shape)


def cbytes(a):
    """The C-order element bytes of a (an array or a 0-d result)."""
    return np.ascontiguousarray(a).tobytes()


def as_array(r, dtype):
    """a[spec] as an array (NumPy gives a scalar when every axis is indexed
    by an integer)."""
    if isinstance(r, np.ndarray):
        return r
    out = np.empty((), dtype)
    out[()] = r
    return out


def npy_bytes(a, version=None, pad=0):
    """A .npy of a: np.save's (version None), write_array's of a format
    version, or (version 'tight') a header without NumPy's room for a longer
    shape, padded only to a multiple of 64 plus `pad` x 64 bytes of spaces
    (so that an edit may have to change the header's length)."""
    f = io.BytesIO()
    if version is None:
        np.save(f, a)
    elif version == 'tight':
        fortran = a.flags.f_contiguous and not a.flags.c_contiguous
        d = repr({'descr': np.lib.format.dtype_to_descr(a.dtype),
                  'fortran_order': fortran, 'shape': a.shape}).encode()
        n = 10 + len(d) + 1
        d += b' ' * ((-n) % 64 + 64 * pad) + b'\n'
        f.write(b'\x93NUMPY\x01\x00' + len(d).to_bytes(2, 'little') + d)
        f.write(a.tobytes(order='F' if fortran else 'C'))
    else:
        np.lib.format.write_array(f, a, version=version)
    return f.getvalue()


def parse_npy(data, what):
    """(array, header dict, header length) of .npy bytes, or Failure."""
    f = io.BytesIO(data)
    try:
        major, minor = np.lib.format.read_magic(f)
        if (major, minor) == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format._read_array_header(
                f, version=(major, minor))
        hlen = f.tell()
        f.seek(0)
        a = np.load(f, allow_pickle=False)
    except Exception as e:
        raise Failure('%s: not a valid .npy file: %r (first bytes %r)' % (
            what, e, data[:128]))
    if hlen % 64 != 0:
        raise Failure('%s: the .npy header (magic to newline) is %d bytes, not '
                      'a multiple of 64 as the format requires' % (what, hlen))
    expect = hlen + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expect:
        raise Failure('%s: %d bytes, not the %d of the header %r' % (
            what, len(data), expect, data[:hlen]))
    return a, {'shape': shape, 'fortran_order': fortran, 'descr': dtype}, hlen


def describe(a):
    return 'shape %s dtype %s' % (a.shape, a.dtype.descr if a.dtype.names else a.dtype.str)


def first_diff(x, y):
    """Where two arrays of the same shape and dtype first differ."""
    bx = np.ascontiguousarray(x).reshape(-1)
    by = np.ascontiguousarray(y).reshape(-1)
    for i in range(len(bx)):
        if bx[i:i + 1].tobytes() != by[i:i + 1].tobytes():
            idx = np.unravel_index(i, x.shape) if x.ndim else ()
            return 'first difference at %s: expected %r, got %r' % (
                tuple(int(k) for k in idx), bx[i], by[i])
    return 'no difference?'


def same_array(expect, got, what):
    if got.dtype != expect.dtype:
        raise Failure('%s: dtype %s, expected %s' % (what, got.dtype, expect.dtype))
    if got.shape != expect.shape:
        raise Failure('%s: shape %s, expected %s' % (what, got.shape, expect.shape))
    if cbytes(got) != cbytes(expect):
        raise Failure('%s: values differ (%s); %s' % (
            what, describe(expect), first_diff(expect, got)))


def same_bytes(expect, got, what):
    if got != expect:
        n = min(len(got), len(expect))
        i = next((k for k in range(n) if got[k] != expect[k]), n)
        raise Failure('%s: %d bytes, expected %d; first difference at byte %d '
                      '(expected %r, got %r)' % (what, len(got), len(expect), i,
                                                 expect[i:i + 8], got[i:i + 8]))


# ------------------------------------------------------------ slice specs

def random_item(rng, n, allow_int=True, positive_step=False):
    """One index item for an axis of size n: (text, Python index)."""
    if allow_int and n > 0 and rng.random() < 0.25:
        i = rng.randint(-n, n - 1)
        return str(i), i

    def bound():
        if rng.random() < 0.35:
            return None
        if rng.random() < 0.15:  # out of range: NumPy clamps
            return rng.choice([-n - rng.randint(1, 3), n + rng.randint(0, 3)])
        return rng.randint(-n, n) if n else rng.randint(-1, 1)

    start, stop = bound(), bound()
    if rng.random() < 0.4:
        step = None
    else:
        step = rng.randint(1, 4)
        if not positive_step and rng.random() < 0.5:
            step = -step
    s = lambda v: '' if v is None else str(v)
    form = rng.random()
    if step is None and form < 0.5:
        text = s(start) + ':' + s(stop)          # a:b, a:, :b, :
    elif step is None:
        text = s(start) + ':' + s(stop) + ':'    # a:b: (empty step)
    else:
        text = s(start) + ':' + s(stop) + ':' + str(step)
    return text, slice(start, stop, step)


def random_spec(rng, shape, positive_step=False, allow_int=True):
    """(spec text, NumPy index tuple): one item per axis or fewer, maybe
    with one '...'."""
    ndim = len(shape)
    items = [random_item(rng, n, allow_int, positive_step) for n in shape]
    use_ellipsis = rng.random() < 0.3
    if use_ellipsis:
        # '...' stands for a run of axes (maybe none)
        a = rng.randint(0, ndim)
        b = rng.randint(a, ndim)
        items = items[:a] + [('...', Ellipsis)] + items[b:]
    else:
        # fewer items than axes: the rest whole
        k = rng.randint(1, ndim) if rng.random() < 0.3 else ndim
        items = items[:k]
    text = ','.join(t for t, _ in items)
    return text, tuple(i for _, i in items)


def random_axes(rng, ndim):
    """--transpose: None (no option), '' (--transpose, reversed) or a
    permutation with some axes written negative."""
    r = rng.random()
    if r < 0.35:
        return None, None
    if r < 0.55 or ndim == 0:
        return '', tuple(reversed(range(ndim)))
    perm = list(range(ndim))
    rng.shuffle(perm)
    written = [p - ndim if rng.random() < 0.3 else p for p in perm]
    return ','.join(map(str, written)), tuple(perm)


def transpose_opt(text):
    if text is None:
        return []
    if text == '':
        return ['--transpose']
    return ['--transpose=' + text]


def shape_text(shape):
    return 'x'.join(map(str, shape))


# ------------------------------------------------------------ stores

class Store:
    """A store over an array: kind 'npy' (a .npy) or 'raw' (headerless,
    described by --shape/--unit on every command); the file is the base
    (version 0) or, with create, copied into a new store (version 0 empty,
    version 1 the file)."""

    def __init__(self, run, a, kind, version=None, name='s.vb', pad=0, create=False):
        self.run = run
        self.kind = kind
        self.name = name
        self.fortran = False
        if kind == 'npy':
            data = npy_bytes(a, version, pad)
            self.fortran = parse_npy(data, 'np.save output')[1]['fortran_order']
            run.write('a.npy', data)
            f = 'a.npy'
        else:
            run.write('a.raw', cbytes(a))
            f = 'a.raw'
        if create:
            run.ok(['vb-insert', '--create', name, '0', f])
        else:
            run.ok(['vb-insert', '--base', f, name, '0', '--text', ''])
        self.a = a                      # the newest version's array
        self.versions = {}              # version -> array (None: empty)
        self.versions[0] = None if create else a
        self.versions[1] = a
        self.head = self.newest()
        if self.head != 1:
            raise Failure('a new store: newest version %d, not 1' % self.head)

    def newest(self):
        out = self.run.ok(['vb-history', '--json', '-n', '1', self.name])
        line = out.decode().splitlines()[0]
        return int(line.split('"version":', 1)[1].split(',', 1)[0])

    def desc(self, a=None):
        """The options that describe the content."""
        if self.kind == 'npy':
            return ['--npy']
        a = self.a if a is None else a
        opts = ['--shape', shape_text(a.shape)]
        if a.dtype.itemsize != 1 or random.random() < 0.5:
            opts += ['--unit', str(a.dtype.itemsize)]
        return opts

    def check_content(self, version, expect):
        argv = ['vb-cat'] + ([] if version is None else ['-V', str(version)]) + [self.name]
        data = self.run.ok(argv)
        what = 'version %s of the store (%s)' % ('newest' if version is None else version,
                                                 ' '.join(argv))
        if expect is None:
            same_bytes(b'', data, what)
        elif self.kind == 'npy':
            got, hdr, _ = parse_npy(data, what)
            if expect.ndim >= 2 and hdr['fortran_order'] != self.fortran:
                raise Failure('%s: fortran_order %s, the base had %s' % (
                    what, hdr['fortran_order'], self.fortran))
            same_array(expect, got, what)
        else:
            same_bytes(cbytes(expect), data, what)

    def edited(self, expect, what):
        """After an edit: one new version, its content, and every old
        version still the same."""
        if self.kind == 'raw' and expect.ndim == 0:
            # a headerless content has at least one axis: one element
            expect = expect.reshape(1)
        v = self.newest()
        if v != self.head + 1:
            raise Failure('%s: newest version %d, expected %d (one version per edit)'
                          % (what, v, self.head + 1))
        self.head = v
        self.a = expect
        self.versions[v] = expect
        self.check_content(None, expect)
        for old in sorted(self.versions):
            if old != v:
                self.check_content(old, self.versions[old])
        # a slice of an old version
        old = random.choice(sorted(self.versions))
        if self.versions[old] is not None and self.versions[old].ndim:
            check_cat(self.run, self, self.versions[old], random, version=old)


def check_cat(run, store, a, rng, version=None):
    """One vb-cat [-V version] --slice/--transpose against NumPy."""
    spec_text, spec = random_spec(rng, a.shape)
    r = as_array(a[spec], a.dtype)
    axes_text, axes = random_axes(rng, r.ndim)
    expect = r if axes is None else np.transpose(r, axes)
    # --transpose first: `--transpose STORE` (AXES omitted before an
    # operand) has its own test in array.bats
    argv = (['vb-cat'] + transpose_opt(axes_text) + store.desc(a)
            + ['--slice', spec_text] + ([] if version is None else ['-V', str(version)])
            + [store.name])
    out = run.ok(argv)
    what = '%s (NumPy: np.transpose(a[%s], %s) on an array of %s)' % (
        ' '.join(shlex.quote(x) for x in argv), spec_text, axes, describe(a))
    if store.kind == 'npy':
        got, hdr, _ = parse_npy(out, what)
        if hdr['fortran_order']:
            raise Failure('%s: the output has fortran_order True' % what)
        same_array(expect, got, what)
    else:
        same_bytes(cbytes(expect), out, what)


# ------------------------------------------------------------ groups

def new_array(rng, nrng, **kw):
    """A random array (random_shape's keywords), C or Fortran order."""
    shape = random_shape(rng, **kw)
    dtype = random_dtype(rng)
    a = random_values(nrng, shape, dtype)
    if rng.random() < 0.4:
        a = np.asfortranarray(a)
    return a


def case_cat(run, rng, nrng):
    a = new_array(rng, nrng)
    store = Store(run, a, 'npy', version=rng.choice([None, (1, 0), (2, 0), (3, 0), 'tight']),
                  pad=rng.choice([0, 0, 1, 5]), create=rng.random() < 0.25)
    # the whole array, no slice: a .npy in C order (fortran_order False)
    got, hdr, _ = parse_npy(run.ok(['vb-cat', '--npy', store.name]), 'vb-cat --npy s.vb')
    same_array(a, got, 'vb-cat --npy s.vb')
    if hdr['fortran_order']:
        raise Failure('vb-cat --npy s.vb: the output has fortran_order True')
    for _ in range(6):
        check_cat(run, store, a, rng)


def case_raw(run, rng, nrng):
    a = np.ascontiguousarray(new_array(rng, nrng))
    store = Store(run, a, 'raw', create=rng.random() < 0.25)
    for _ in range(6):
        check_cat(run, store, a, rng)


def block_input(store, block):
    """The bytes vb-insert --axis reads for a block: C order, or Fortran
    order on a Fortran-order .npy."""
    if store.fortran:
        return block.tobytes(order='F')
    return cbytes(block)


def feed(run, rng, argv, data):
    """Run an insert with its input as a FILE, two FILEs, '-', or a pipe."""
    how = rng.random()
    if how < 0.35:
        run.write('in1', data)
        return run.run(argv + ['in1'])
    if how < 0.5:
        cut = rng.randint(0, len(data))
        run.write('in1', data[:cut])
        run.write('in2', data[cut:])
        return run.run(argv + ['in1', 'in2'])
    if how < 0.65:
        return run.run(argv + ['-'], input_bytes=data)
    if how < 0.8:
        run.write('in1', data)
        return run.run(argv, stdin='in1')
    return run.run(argv, input_bytes=data)


def random_insert(run, rng, nrng, store, cap=200000):
    a = store.a
    axes = [k for k in range(a.ndim)
            if int(np.prod(a.shape[:k] + a.shape[k + 1:], dtype=np.int64)) > 0]
    if not axes:
        return False
    k = rng.choice(axes)
    n = a.shape[k]
    m = rng.choice([0, 1, 1, 1, 2, 3])
    index = rng.randint(-n, n) if rng.random() < 0.3 else rng.randint(0, n)
    bshape = a.shape[:k] + (m,) + a.shape[k + 1:]
    if int(np.prod(bshape, dtype=np.int64)) * a.dtype.itemsize > cap:
        m = 0
        bshape = a.shape[:k] + (0,) + a.shape[k + 1:]
    block = random_values(nrng, bshape, a.dtype)
    if m:
        expect = np.insert(a, [index] * m, block, axis=k)
    else:
        expect = a.copy()
    # np.insert against the plain definition
    pos = index + n if index < 0 else index
    alt = np.concatenate([a[(slice(None),) * k + (slice(None, pos),)], block,
                          a[(slice(None),) * k + (slice(pos, None),)]], axis=k)
    # (concatenate gives '>i4' in the native byte order)
    alt = alt.astype(a.dtype)
    assert (cbytes(alt), alt.shape) == (cbytes(expect), expect.shape), (a.shape, k, index, m)
    argv = ['vb-insert', '--axis', str(k)] + store.desc() + [store.name]
    argv += (['--', str(index)] if index < 0 else [str(index)])
    p = feed(run, rng, argv, block_input(store, block))
    if p.returncode != 0:
        raise Failure('exit %d from %s\nstderr: %s' % (
            p.returncode, run.log[-1], p.stderr.decode(errors='replace')))
    store.edited(expect, '%s (NumPy: np.insert(a, [%d] * %d, block, axis=%d) on %s)'
                 % (run.log[-1], index, m, k, describe(a)))
    return True


def random_delete(run, rng, store):
    a = store.a
    k = rng.randrange(a.ndim)
    n = a.shape[k]
    i = rng.randint(0, n)
    count = rng.randint(0, min(n - i, 3)) if rng.random() < 0.8 else rng.randint(0, n - i)
    index = i - n if (i < n and rng.random() < 0.3) else i
    expect = np.delete(a, list(range(i, i + count)), axis=k)
    argv = ['vb-delete', '--axis', str(k)] + store.desc() + [store.name]
    argv += (['--', str(index)] if index < 0 else [str(index)]) + [str(count)]
    run.ok(argv)
    store.edited(expect, '%s (NumPy: np.delete(a, range(%d, %d), axis=%d) on %s)'
                 % (run.log[-1], i, i + count, k, describe(a)))


def random_keep(run, rng, store):
    """vb-delete --keep-slice: mostly positive steps (pieces of the old
    content), now and then negative ones (the slice copied in its new
    order, vb-delete(1))."""
    a = store.a
    spec_text, spec = random_spec(rng, a.shape, positive_step=rng.random() < 0.7)
    expect = as_array(a[spec], a.dtype)
    argv = ['vb-delete', '--keep-slice', spec_text] + store.desc() + [store.name]
    run.ok(argv)
    store.edited(expect, '%s (NumPy: a[%s] on %s)' % (run.log[-1], spec_text, describe(a)))


# every writing command flattens the store in the version of its edit
AUTO_FLATTEN_ALWAYS = 'pieces=1,average=1G,commits=1'


def maybe_flatten(run, rng, store):
    """Now and then a vb-flatten (full, --partial, or --compact that
    drops the older versions): the content stays, old versions stay or are
    refused."""
    r = rng.random()
    if r > 0.2:
        return
    if r < 0.08:
        run.ok(['vb-flatten', store.name])
    elif r < 0.14:
        run.ok(['vb-flatten', '--partial', store.name])
    else:
        keep = rng.randint(1, 3)
        run.ok(['vb-flatten', '--compact', '--keep', str(keep), store.name])
        kept = sorted(store.versions)[-keep:]
        for v in sorted(store.versions):
            if v not in kept:
                del store.versions[v]
                p = run.run(['vb-cat', '-V', str(v), store.name])
                if p.returncode != 1:
                    raise Failure('%s: exit %d for a version compacted away' % (
                        run.log[-1], p.returncode))
    store.edited(store.a, run.log[-1])


class env_set:
    """Set an environment variable (inherited by the commands) for a
    with block, or leave it when value is None."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def __enter__(self):
        self.old = os.environ.get(self.name)
        if self.value is not None:
            os.environ[self.name] = self.value

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop(self.name, None)
        else:
            os.environ[self.name] = self.old


def case_edit(run, rng, nrng):
    with env_set('VB_AUTO_FLATTEN', AUTO_FLATTEN_ALWAYS if rng.random() < 0.25 else None):
        edit_sequence(run, rng, nrng)


def edit_sequence(run, rng, nrng):
    a = new_array(rng, nrng)
    kind = rng.choice(['npy', 'npy', 'raw'])
    if kind == 'raw':
        a = np.ascontiguousarray(a)
    store = Store(run, a, kind, version=rng.choice([None, (2, 0), (3, 0), 'tight', 'tight']),
                  pad=rng.choice([0, 0, 0, 1, 3]), create=rng.random() < 0.25)
    for _ in range(rng.randint(3, 6)):
        if rng.random() < 0.5 and random_insert(run, rng, nrng, store):
            pass
        else:
            random_delete(run, rng, store)
        # a slice of the edited (fragmented) content reads as NumPy's
        check_cat(run, store, store.a, rng)
        maybe_flatten(run, rng, store)


def big_shape(rng):
    """1 to 4 axes, 200 000 to 1 500 000 elements."""
    while True:
        ndim = rng.randint(1, 4)
        shape = [max(1, int(3000 ** rng.random())) for _ in range(ndim)]
        if ndim == 1:
            shape = [rng.randint(200000, 1500000)]
        n = int(np.prod(shape, dtype=np.int64))
        if 200000 <= n <= 1500000:
            return tuple(shape)


def case_big(run, rng, nrng):
    """Contents of megabytes read and edited with a 256 KiB cache
    ($VB_CACHE): runs that cross the cache's and the copy engine's
    buffers."""
    with env_set('VB_CACHE', '256K'):
        shape = big_shape(rng)
        dtype = np.dtype(rng.choice(['<f4', '|u1', '<i2', '<c8', '|S3', '>f8']))
        a = np.frombuffer(nrng.bytes(int(np.prod(shape)) * dtype.itemsize), dtype).reshape(shape)
        if rng.random() < 0.3:
            a = np.asfortranarray(a)
        kind = rng.choice(['npy', 'raw'])
        if kind == 'raw':
            a = np.ascontiguousarray(a)
        store = Store(run, a, kind, version=rng.choice([None, 'tight']),
                      create=rng.random() < 0.3)
        for _ in range(3):
            check_cat(run, store, a, rng)
        for _ in range(2):
            if store.a.ndim == 0:
                break
            if rng.random() < 0.5:
                random_delete(run, rng, store)
            elif rng.random() < 0.5:
                random_keep(run, rng, store)
            elif not random_insert(run, rng, nrng, store, cap=8000000):
                random_delete(run, rng, store)
            if store.a.ndim:
                check_cat(run, store, store.a, rng)


def case_keep(run, rng, nrng):
    with env_set('VB_AUTO_FLATTEN', AUTO_FLATTEN_ALWAYS if rng.random() < 0.25 else None):
        keep_sequence(run, rng, nrng)


def keep_sequence(run, rng, nrng):
    a = new_array(rng, nrng)
    kind = rng.choice(['npy', 'npy', 'raw'])
    if kind == 'raw':
        a = np.ascontiguousarray(a)
    store = Store(run, a, kind, version=rng.choice([None, 'tight']), pad=rng.choice([0, 2]),
                  create=rng.random() < 0.25)
    for _ in range(rng.randint(2, 4)):
        r = rng.random()
        if r < 0.6 or store.a.ndim == 0:
            if store.a.ndim == 0:
                # a 0-d content: '...' keeps it whole
                store_keep_all(run, store)
            else:
                random_keep(run, rng, store)
        elif r < 0.8 and random_insert(run, rng, nrng, store):
            pass
        else:
            random_delete(run, rng, store)
        if store.a.ndim:
            check_cat(run, store, store.a, rng)
        maybe_flatten(run, rng, store)


def store_keep_all(run, store):
    argv = ['vb-delete', '--keep-slice', '...'] + store.desc() + [store.name]
    run.ok(argv)
    store.edited(store.a, run.log[-1])


# ------------------------------------------------------------ errors

def check_error(run, argv, files, status, prog=None, **kw):
    """argv fails with exit `status` (a tuple of allowed statuses), one line
    on stderr naming the program (and the --help hint after a usage error),
    nothing on stdout, and every file in `files` byte-identical."""
    prog = prog or argv[0]
    before = {f: run.read(f) for f in files}
    p = run.run(argv, **kw)
    cmd = run.log[-1]
    err = p.stderr.decode(errors='replace')
    if p.returncode not in status:
        raise Failure('%s: exit %d, expected %s\nstderr: %s' % (
            cmd, p.returncode, ' or '.join(map(str, status)), err))
    lines = err.splitlines()
    hint = "Try '%s --help' for more information." % prog
    good = (len(lines) >= 1 and lines[0].startswith(prog + ': ')
            and (len(lines) == 1 or (len(lines) == 2 and p.returncode == 2
                                      and lines[1] == hint)))
    if not good or not err.endswith('\n'):
        raise Failure('%s: exit %d, but stderr is not one line "%s: ..."%s:\n%s' % (
            cmd, p.returncode, prog, ' (and the --help hint)' if p.returncode == 2 else '',
            err))
    if p.stdout:
        raise Failure('%s: failed (exit %d: %s) but wrote %d bytes on stdout' % (
            cmd, p.returncode, lines[0], len(p.stdout)))
    for f in files:
        if run.read(f) != before[f]:
            raise Failure('%s: failed (exit %d: %s) but changed %s' % (
                cmd, p.returncode, lines[0], f))
    return lines[0]


def bad_shape(rng, shape, unit, nbytes):
    """A --shape/--unit whose size is not nbytes."""
    while True:
        s = list(shape)
        u = unit
        r = rng.random()
        if r < 0.4:
            k = rng.randrange(len(s))
            s[k] = max(0, s[k] + rng.choice([-1, 1, 2]))
        elif r < 0.6:
            s.append(rng.randint(2, 4))
        elif r < 0.8 and len(s) > 1:
            s.pop(rng.randrange(len(s)))
        else:
            u = rng.choice([1, 2, 3, 4, 8, 16])
        if int(np.prod(s, dtype=np.int64)) * u != nbytes:
            return s, u


def err_shape_mismatch(run, rng, nrng):
    a = np.ascontiguousarray(random_values(nrng, random_shape(rng, zero_p=0),
                                           random_dtype(rng)))
    store = Store(run, a, 'raw')
    files = [store.name, 'a.raw']
    s, u = bad_shape(rng, a.shape, a.dtype.itemsize, a.nbytes)
    d = ['--shape', shape_text(s), '--unit', str(u)]
    which = rng.randrange(5)
    if which == 0:
        argv = ['vb-cat'] + d + ['--slice', '...', store.name]
    elif which == 1:
        argv = ['vb-cat'] + d + [store.name]
    elif which == 2:
        run.write('in1', b'')
        argv = ['vb-insert', '--axis', '0'] + d + [store.name, '0', 'in1']
    elif which == 3:
        argv = ['vb-delete', '--axis', '0'] + d + [store.name, '0', '0']
    else:
        argv = ['vb-delete', '--keep-slice', '...'] + d + [store.name]
    line = check_error(run, argv, files, (1,))
    if '%d bytes' % a.nbytes not in line:
        raise Failure('%s: the message does not give the content size %d: %s' % (
            run.log[-1], a.nbytes, line))


def bad_spec_syntax(rng, shape):
    """A --slice that is wrong whatever the shape: syntax or a step 0."""
    ndim = len(shape)
    if rng.random() < 0.45:
        return rng.choice(['1:2:3:4', 'a', '1,,2', ',', '...,...', '1.5',
                           '--1', ':::', '1:2:3:', 'x:1', '1:x', '::-', '+', '1 2', ',1',
                           '(1)', '[0]', '..', '....', '1:2,...,...', ':,:,...,:,...'])
    # step 0
    items = [':'] * rng.randint(1, ndim)
    items[rng.randrange(len(items))] = rng.choice(['::0', '1:2:0', ':5:0', '-1::0', '::-0'])
    return ','.join(items)


def too_many_indices(rng, shape):
    """A --slice with more items than the array has axes (maybe with
    '...')."""
    items = [rng.choice([':', '0', '::2', '-1:']) if n else ':' for n in shape]
    items += [rng.choice([':', '::2', '1:']) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.3:
        items.insert(rng.randint(0, len(items)), '...')
    return ','.join(items)


def err_bad_spec(run, rng, nrng, make_spec, status=(2,)):
    """A spec refused: its text (status 2, a usage error) or what it asks of
    the store's array (too many indices: status 1, as an index out of
    bounds; vb-cat(1) EXIT STATUS)."""
    a = new_array(rng, nrng)
    kind = rng.choice(['npy', 'raw'])
    if kind == 'raw':
        a = np.ascontiguousarray(a)
    store = Store(run, a, kind)
    files = [store.name, 'a.npy' if kind == 'npy' else 'a.raw']
    spec = make_spec(rng, a.shape)
    if rng.random() < 0.5:
        argv = ['vb-cat'] + store.desc() + ['--slice', spec, store.name]
    else:
        argv = ['vb-delete', '--keep-slice', spec] + store.desc() + [store.name]
    check_error(run, argv, files, status)


def err_bad_axes(run, rng, nrng, syntax):
    """--transpose=AXES not a list of integers (syntax: status 2), or not a
    permutation of the result's axes (status 1: it depends on the array)."""
    a = new_array(rng, nrng, min_axes=2)
    store = Store(run, a, 'npy')
    nd = a.ndim
    if syntax:
        bad = rng.choice(['a', '0,,1', '0;1', '1.0,0', ',0', '0,', '0 1', '+', '-'])
    else:
        bad = rng.choice([
            ','.join(['0'] * nd),                               # repeated
            ','.join(map(str, range(nd - 1))),                  # too few
            ','.join(map(str, range(nd + 1))),                  # too many
            ','.join(map(str, list(range(nd - 1)) + [nd])),     # out of range
            ','.join(map(str, list(range(nd - 1)) + [-nd - 1])),
            ','.join(map(str, list(range(nd - 2)) + [-1, nd - 1])),   # -1 is nd-1
        ])
    argv = ['vb-cat', '--npy', '--transpose=' + bad, store.name]
    check_error(run, argv, [store.name, 'a.npy'], (2,) if syntax else (1,))


def err_out_of_bounds(run, rng, nrng):
    shape = random_shape(rng, zero_p=0.15)
    a = random_values(nrng, shape, random_dtype(rng))
    kind = rng.choice(['npy', 'raw'])
    store = Store(run, a, kind)
    files = [store.name, 'a.npy' if kind == 'npy' else 'a.raw']
    k = rng.randrange(a.ndim)
    n = a.shape[k]
    which = rng.randrange(5)
    if which == 2 and int(np.prod(a.shape[:k] + a.shape[k + 1:], dtype=np.int64)) == 0:
        which = 3   # no whole slab to insert along axis k
    if which <= 1:
        # an integer index out of [-n, n)
        i = rng.choice([n + rng.randint(0, 3), -n - 1 - rng.randint(0, 3)])
        items = [':'] * k + [str(i)]
        spec = ','.join(items)
        if which == 0:
            argv = ['vb-cat'] + store.desc() + ['--slice', spec, store.name]
        else:
            argv = ['vb-delete', '--keep-slice', spec] + store.desc() + [store.name]
        line = check_error(run, argv, files, (1,))
        msg = 'index %d is out of bounds for axis %d with size %d' % (i, k, n)
        if msg not in line:
            raise Failure('%s: expected "%s" in the message: %s' % (run.log[-1], msg, line))
    elif which == 2:
        # vb-insert INDEX beyond [-n, n] (a whole slab of input, so only the
        # index is wrong)
        index = rng.choice([n + 1 + rng.randint(0, 2), -n - 1 - rng.randint(0, 2)])
        block = random_values(nrng, a.shape[:k] + (1,) + a.shape[k + 1:], a.dtype)
        run.write('in1', block_input(store, block))
        argv = ['vb-insert', '--axis', str(k)] + store.desc() + [store.name, '--', str(index), 'in1']
        line = check_error(run, argv, files, (1,))
        msg = 'index %d is out of bounds for axis %d with size %d' % (index, k, n)
        if msg not in line:
            raise Failure('%s: expected "%s" in the message: %s' % (run.log[-1], msg, line))
    elif which == 3:
        # vb-delete INDEX + COUNT beyond the axis
        i = rng.randint(0, n)
        count = n - i + rng.randint(1, 3)
        if rng.random() < 0.3:
            i, count = n + rng.randint(1, 2), 0
        argv = ['vb-delete', '--axis', str(k)] + store.desc() + [store.name, str(i), str(count)]
        check_error(run, argv, files, (1,))
    else:
        # an axis that does not exist
        K = rng.choice([a.ndim, a.ndim + 1 + rng.randint(0, 5)])
        if rng.random() < 0.5:
            argv = ['vb-delete', '--axis', str(K)] + store.desc() + [store.name, '0', '0']
        else:
            run.write('in1', b'')
            argv = ['vb-insert', '--axis', str(K)] + store.desc() + [store.name, '0', 'in1']
        line = check_error(run, argv, files, (1,))
        msg = 'axis %d is out of bounds for an array of %d ax' % (K, a.ndim)
        if msg not in line:
            raise Failure('%s: expected "%s" in the message: %s' % (run.log[-1], msg, line))


def err_npy_data_size(run, rng, nrng):
    """A .npy whose data is not prod(shape) x itemsize bytes (a byte count
    that is not whole elements, or whole elements too many or too few)."""
    shape = random_shape(rng, zero_p=0.1)
    dtype = random_dtype(rng)
    a = random_values(nrng, shape, dtype)
    data = npy_bytes(a)
    isz = dtype.itemsize
    r = rng.random()
    if r < 0.4 and isz > 1:
        data += b'\0' * rng.randint(1, isz - 1)            # not whole elements
    elif r < 0.7:
        data += b'\0' * isz * rng.randint(1, 3)             # whole ones too many
    elif a.nbytes:
        data = data[:-rng.randint(1, min(a.nbytes, 2 * isz))]  # too few
    else:
        data += b'\1'
    run.write('a.npy', data)
    run.ok(['vb-insert', '--base', 'a.npy', 's.vb', '0', '--text', ''])
    files = ['s.vb', 'a.npy']
    which = rng.randrange(4)
    if which == 0:
        argv = ['vb-cat', '--npy', '--slice', '...', 's.vb']
    elif which == 1:
        argv = ['vb-delete', '--axis', '0', '--npy', 's.vb', '0', '0']
    elif which == 2:
        argv = ['vb-delete', '--keep-slice', '...', '--npy', 's.vb']
    else:
        run.write('in1', b'')
        argv = ['vb-insert', '--axis', '0', '--npy', 's.vb', '0', 'in1']
    check_error(run, argv, files, (1,))


def err_slab(run, rng, nrng):
    """vb-insert input that is not whole slabs."""
    a = random_values(nrng, random_shape(rng, nonzero=True), random_dtype(rng))
    kind = rng.choice(['npy', 'raw'])
    if kind == 'raw':
        a = np.ascontiguousarray(a)
    store = Store(run, a, kind)
    files = [store.name, 'a.npy' if kind == 'npy' else 'a.raw']
    k = rng.randrange(a.ndim)
    slab = int(np.prod(a.shape[:k] + a.shape[k + 1:], dtype=np.int64)) * a.dtype.itemsize
    if slab == 1:
        # every byte count is whole slabs: use an axis with a bigger slab
        # or skip this case
        return
    n = slab * rng.randint(0, 2) + rng.randint(1, slab - 1)
    data = nrng.bytes(n)
    argv = ['vb-insert', '--axis', str(k)] + store.desc() + [store.name, '0']
    if rng.random() < 0.5:
        run.write('in1', data)
        check_error(run, argv + ['in1'], files, (1,))
    else:
        check_error(run, argv, files, (1,), input_bytes=data)


def err_usage(run, rng, nrng):
    """Option combinations the man pages refuse (exit 2)."""
    a = random_values(nrng, random_shape(rng, nonzero=True), random_dtype(rng))
    store = Store(run, a, 'npy')
    run.write('in1', b'')
    files = [store.name, 'a.npy']
    s = shape_text(a.shape)
    cases = [
        ['vb-cat', '--npy', '--unit', '4', '--slice', '...', 's.vb'],
        ['vb-cat', '--npy', '--shape', s, '--slice', '...', 's.vb'],
        ['vb-cat', '--slice', '...', 's.vb'],
        ['vb-cat', '--transpose', 's.vb'],
        ['vb-cat', '--npy', '--slice', '...', '--range', '0:1', 's.vb'],
        ['vb-cat', '--npy', '--slice', '...', '--offset', '1', 's.vb'],
        ['vb-cat', '--npy', '--slice', '...', '--length', '1', 's.vb'],
        ['vb-cat', '--npy', '--transpose', '--lines', '1', 's.vb'],
        ['vb-insert', '--axis', '0', '--npy', '--text', 'x', 's.vb', '0'],
        ['vb-insert', '--axis', '0', '--npy', '--hex', '00', 's.vb', '0'],
        ['vb-insert', '--axis', '0', '--npy', '--replace', '1', 's.vb', '0', 'in1'],
        ['vb-insert', '--axis', '0', '--npy', '--at-version', '0', 's.vb', '0', 'in1'],
        ['vb-insert', '--axis', '0', '--npy', '--anchor', 'x', 's.vb', '0', 'in1'],
        ['vb-insert', '--axis', '0', '--npy', '--unit', '2', 's.vb', '0', 'in1'],
        ['vb-delete', '--axis', '0', '--npy', '--unit', '2', 's.vb', '0', '0'],
        ['vb-delete', '--axis', '0', '--npy', '--shape', s, 's.vb', '0', '0'],
        ['vb-delete', '--keep-slice', '...', '--npy', '--unit', '2', 's.vb'],
        ['vb-insert', '--npy', 's.vb', '0', '--text', 'x'],
        ['vb-insert', '--shape', s, 's.vb', '0', 'in1'],
        ['vb-delete', '--npy', 's.vb', '0', '1'],
        ['vb-delete', '--shape', s, '--unit', '1', 's.vb', '0', '1'],
        ['vb-insert', '--axis', '0', '--npy', '--edits', 'in1', 's.vb'],
        ['vb-delete', '--axis', '0', '--keep-slice', '...', '--npy', 's.vb', '0', '1'],
        ['vb-cat', '--shape', rng.choice(['', 'x', '3x', 'x3', '3xx4', '3xa', '-3', '3,4']),
         '--slice', '...', 's.vb'],
    ]
    argv = rng.choice(cases)
    check_error(run, argv, files, (2,))


def err_object(run, rng, nrng):
    """An object-dtype .npy is refused."""
    a = np.empty(rng.randint(1, 5), dtype=object)
    for i in range(len(a)):
        a[i] = [i, 'x']
    f = io.BytesIO()
    np.save(f, a, allow_pickle=True)
    run.write('a.npy', f.getvalue())
    run.ok(['vb-insert', '--base', 'a.npy', 's.vb', '0', '--text', ''])
    argv = rng.choice([['vb-cat', '--npy', '--slice', '0', 's.vb'],
                       ['vb-delete', '--axis', '0', '--npy', 's.vb', '0', '1']])
    check_error(run, argv, ['s.vb', 'a.npy'], (1, 2))


def err_syntax(run, rng, nrng):
    if rng.random() < 0.7:
        err_bad_spec(run, rng, nrng, bad_spec_syntax)
    else:
        err_bad_axes(run, rng, nrng, True)


def err_rank(run, rng, nrng):
    if rng.random() < 0.6:
        err_bad_spec(run, rng, nrng, too_many_indices, (1,))
    else:
        err_bad_axes(run, rng, nrng, False)


def err_npy(run, rng, nrng):
    if rng.random() < 0.85:
        err_npy_data_size(run, rng, nrng)
    else:
        err_object(run, rng, nrng)


HEADER_TOKENS = ["'", '"', ',', ' ', '(', ')', '{', '}', ':', '0', '1', '9', '-', '+',
                 'True', 'False', 'None', 'L', '\n', '\t', '\\', 'x', '<', '>', '|', '[',
                 ']', 'e', '.', '\x00', '\xff', "'descr'", "'shape'", "'fortran_order'"]
DESCRS = ["'<f4'", "'<i8'", "'|u1'", "'<U3'", "'|S0'", "'<U0'", "'|O'", "'<q4'", "'f4'",
          "'>c16'", "'|b1'", "'|V0'", "'<m8[s]'", "[('a', '<i4')]", "[('a', '|O')]",
          "[]", "''", "'<f4", "'<i4'*2", "1"]


def mutate_header(rng, text):
    """A few random edits of a .npy header's dictionary text."""
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        i = rng.randint(0, len(text))
        if r < 0.25 and text:
            j = min(len(text), i + rng.randint(1, 3))
            text = text[:i] + text[j:]
        elif r < 0.5:
            text = text[:i] + rng.choice(HEADER_TOKENS) + text[i:]
        elif r < 0.75:
            # a number of the shape replaced
            digits = [k for k, c in enumerate(text) if c.isdigit()]
            if digits:
                k = rng.choice(digits)
                e = k
                while e < len(text) and text[e].isdigit():
                    e += 1
                text = text[:k] + str(rng.choice([0, 1, 2, 7, 10 ** 6, 2 ** 31, 2 ** 62,
                                                  2 ** 63, 2 ** 64 + 3, -1])) + text[e:]
        else:
            d = text.find("'descr'")
            if d >= 0:
                v = text.find(':', d) + 1
                e = text.find(", '", v)
                if e > v:
                    text = text[:v] + ' ' + rng.choice(DESCRS) + text[e:]
    return text


def case_header(run, rng, nrng):
    """Damaged and unusual .npy headers: what NumPy refuses, vb refuses
    (exit 1, one line, nothing changed); what vb reads, it reads as
    np.load does.  (vb may refuse more than NumPy: np.load ignores data
    after the array, for one.)"""
    a = new_array(rng, nrng, max_axes=3)
    fortran = a.flags.f_contiguous and not a.flags.c_contiguous
    items = [('descr', repr(np.lib.format.dtype_to_descr(a.dtype))),
             ('fortran_order', repr(fortran)), ('shape', repr(a.shape))]
    rng.shuffle(items)
    q = rng.choice(["'", '"'])
    text = '{' + ', '.join('%s%s%s: %s' % (q, k, q, v) for k, v in items) + rng.choice(['', ', ']) + '}'
    if rng.random() < 0.85:
        text = mutate_header(rng, text)
    major = rng.choice([1, 1, 2, 3]) if rng.random() < 0.9 else rng.choice([0, 4, 255])
    minor = 0 if rng.random() < 0.95 else 1
    hb = text.encode('utf-8' if major >= 3 else 'latin-1', errors='replace')
    lenbytes = 2 if major == 1 else 4
    n = 6 + 2 + lenbytes + len(hb) + 1
    hb += b' ' * ((-n) % 64) + b'\n'
    hlen = len(hb)
    if rng.random() < 0.1:
        hlen = max(0, hlen + rng.choice([-70, -1, 1, 64, 10 ** 5]))
    if hlen >= 256 ** lenbytes:
        hlen = 256 ** lenbytes - 1
    data = b'\x93NUMPY' + bytes([major, minor]) + hlen.to_bytes(lenbytes, 'little') + hb
    data += a.tobytes(order='F' if fortran else 'C')
    r = rng.random()
    if r < 0.1:
        data = data[:rng.randint(0, len(data))]
    elif r < 0.15:
        data = data[:rng.randint(0, 5)] + bytes([rng.randrange(256)]) + data[rng.randint(0, 5) + 1:]
    run.write('a.npy', data)
    try:
        expect = np.load(io.BytesIO(data), allow_pickle=False)
    except (MemoryError, ValueError) as e:
        expect = None
        why = '%s: %s' % (type(e).__name__, e)
        if isinstance(e, MemoryError) or 'too big' in str(e):
            # NumPy's limit on what it allocates, not on the format
            why = None
    except Exception as e:
        expect = None
        why = '%s: %s' % (type(e).__name__, e)
    run.ok(['vb-insert', '--base', 'a.npy', 's.vb', '0', '--text', ''])
    files = ['s.vb', 'a.npy']
    before = {f: run.read(f) for f in files}
    argv = rng.choice([['vb-cat', '--npy', 's.vb'], ['vb-cat', '--npy', '--slice', '...', 's.vb'],
                       ['vb-cat', '--npy', '--transpose', 's.vb']])
    p = run.run(argv)
    what = '%s on a.npy = %r' % (run.log[-1], data[:200])
    if p.returncode == 0:
        if expect is None and why is None:
            return
        if expect is None:
            raise Failure('%s: exit 0, but NumPy refuses the file (%s)' % (what, why))
        got, _, _ = parse_npy(p.stdout, what)
        if argv[-2] == '--transpose':
            expect = expect.T
        same_array(expect, got, what)
    else:
        check_error(run, argv, files, (1,))
    for f in files:
        if run.read(f) != before[f]:
            raise Failure('%s changed %s' % (what, f))


CASES = {'header': case_header, 'big': case_big, 'cat': case_cat, 'raw': case_raw, 'edit': case_edit, 'keep': case_keep,
         'err-shape': err_shape_mismatch, 'err-syntax': err_syntax, 'err-rank': err_rank,
         'err-bounds': err_out_of_bounds, 'err-npy': err_npy, 'err-slab': err_slab,
         'err-usage': err_usage}


# ------------------------------------------------------------ main

def run_group(group, seed, ncases):
    grng = random.Random('%s:%d' % (group, seed))
    for i in range(ncases):
        case_seed = grng.randrange(2 ** 32)
        rng = random.Random(case_seed)
        random.seed(case_seed)          # Store.desc's choice of --unit
        nrng = np.random.default_rng(case_seed)
        with tempfile.TemporaryDirectory(prefix='vb-array-') as d:
            run = Runner(d)
            try:
                CASES[group](run, rng, nrng)
            except Failure as e:
                report(group, seed, i, case_seed, run, str(e))
                return False
            except Exception:
                report(group, seed, i, case_seed, run,
                       'the test itself failed:\n' + traceback.format_exc())
                return False
    return True


def report(group, seed, i, case_seed, run, msg):
    sys.stderr.write(
        'array_prop.py: group %s, case %d (case seed %d) FAILED\n%s\n'
        'commands of this case (in a fresh directory):\n%s\n'
        'reproduce: VB_TEST_SEED=%d python3 tests/cli/array_prop.py %s '
        '(a python3 with NumPy; the built commands first on PATH)\n' % (
            group, i, case_seed, msg,
            ''.join('  $ %s\n' % c for c in run.log[-12:]), seed, group))


def main(argv):
    args = list(argv[1:])
    seed = os.environ.get('VB_TEST_SEED')
    cases = os.environ.get('VB_TEST_ARRAY_CASES')
    groups = []
    while args:
        a = args.pop(0)
        if a == '--seed':
            seed = args.pop(0)
        elif a == '--cases':
            cases = args.pop(0)
        elif a in GROUPS:
            groups.append(a)
        elif a == 'all':
            groups.extend(GROUPS)
        else:
            sys.stderr.write(__doc__)
            return 2
    if not groups:
        groups = list(GROUPS)
    seed = int(seed) if seed else random.SystemRandom().randrange(2 ** 31)
    long_run = os.environ.get('VB_TEST_LONG') == '1'
    ok = True
    for g in groups:
        n = int(cases) if cases else DEFAULT_CASES[g] * (10 if long_run else 1)
        if run_group(g, seed, n):
            print('array_prop.py: group %s: %d cases passed (seed %d)' % (g, n, seed))
        else:
            ok = False
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
