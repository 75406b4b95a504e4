#!/usr/bin/env bats
# vb-frame: framing (delimiters, length prefix, fixed size), selecting,
# counting, indexing and re-framing records; every option and every error.

load test_helper

# assert_bytes FILE FORMAT: FILE holds exactly the bytes `printf FORMAT`
# makes (bats' $output loses trailing newlines and NULs).
assert_bytes() {
	if ! cmp -s "$1" <(printf "$2"); then
		echo "expected:$(printf "$2" | od -An -c)" >&2
		echo "actual:  $(od -An -c < "$1")" >&2
		return 1
	fi
}

# frames SPEC OUT [RECORD...]: write the RECORDs (python bytes literals)
# to OUT, each after a length field of SPEC.
frames() {
	python3 - "$@" <<'EOF'
import struct, sys
spec, out, recs = sys.argv[1], sys.argv[2], [eval(r) for r in sys.argv[3:]]
def varint(n):
    o = b''
    while True:
        b, n = n & 0x7f, n >> 7
        o += bytes([b | (0x80 if n else 0)])
        if not n:
            return o
enc = {
    'u8': lambda n: struct.pack('>B', n),
    'u16be': lambda n: struct.pack('>H', n), 'u16le': lambda n: struct.pack('<H', n),
    'u24be': lambda n: struct.pack('>I', n)[1:], 'u24le': lambda n: struct.pack('<I', n)[:3],
    'u32be': lambda n: struct.pack('>I', n), 'u32le': lambda n: struct.pack('<I', n),
    'u64be': lambda n: struct.pack('>Q', n), 'u64le': lambda n: struct.pack('<Q', n),
    'varint': varint,
}[spec]
open(out, 'wb').write(b''.join(enc(len(r)) + r for r in recs))
EOF
}

SPECS='u8 u16be u16le u24be u24le u32be u32le u64be u64le varint'

# ------------------------------------------------------------ delimiters

@test "-l: lines end in \\n, \\r\\n or \\r; it is the default framing" {
	printf 'a\nbb\r\nccc\rdddd' > in
	vb-frame -l in > out
	assert_bytes out 'a\nbb\nccc\ndddd\n'
	vb-frame in > out2
	cmp out out2
	vb-frame --lines < in > out2
	cmp out out2
	run -0 vb-frame -l --index in
	assert_output $'0\t1\n2\t2\n6\t3\n10\t4'
	run -0 vb-frame --index --keep in
	assert_output $'0\t2\n2\t4\n6\t4\n10\t4'
	# empty lines of every kind: \n, \r\n, \r then \r\n
	printf '\n\r\n\r\r\n' > blank
	run -0 vb-frame -i blank
	assert_output $'0\t0\n1\t0\n3\t0\n4\t0'
	run -0 vb-frame -c blank
	assert_output 4
}

@test "\\r\\n cut between two reads is one delimiter, never two records" {
	run -0 bash -c "{ printf 'a\r'; sleep 0.2; printf '\nb\n'; } | vb-frame -l --index"
	assert_output $'0\t1\n3\t1'
	bash -c "{ printf 'a\r'; sleep 0.2; printf '\nb\n'; } | vb-frame -k" > out
	assert_bytes out 'a\r\nb\n'
	# a \r followed by something else, or by the end of input, is one
	run -0 bash -c "{ printf 'a\r'; sleep 0.2; printf 'b\r'; } | vb-frame --index --keep"
	assert_output $'0\t2\n2\t2'
	# the same for any delimiter that is a prefix of a longer one
	run -0 bash -c "{ printf 'xab'; sleep 0.2; printf 'cyab'; } | vb-frame -d ab -d abc -i"
	assert_output $'0\t1\n4\t1'
}

@test "-d: several overlapping delimiters, the longest match at the earliest position wins" {
	printf xabcyb > in
	run -0 vb-frame -d ab -d abc -d b in
	assert_output $'x\ny'
	run -0 vb-frame -d ab -d abc -d b --index in
	assert_output $'0\t1\n4\t1'
	# the order of the options does not matter
	run -0 vb-frame -d b -d abc --delimiter ab --index --keep in
	assert_output $'0\t4\n4\t2'
	vb-frame -d ab -d abc -d b -k in | cmp - in
	# an earlier short match beats a later long one
	printf xbabc > in2
	run -0 vb-frame -d ab -d abc -d b -i in2
	assert_output $'0\t1\n2\t0'
	# at the end of input a prefix of a longer delimiter is not one
	run -0 bash -c "printf xab | vb-frame -d ab -d abc -i"
	assert_output $'0\t1'
	run -0 bash -c "printf xab | vb-frame -d abc -i"
	assert_output $'0\t3'
	# a repeated delimiter counts once
	run -0 vb-frame -d b -d b in
	assert_output $'xa\ncy'
}

@test "-d escapes: \\n \\r \\t \\0 \\\\ \\xHH" {
	printf 'a\tb\\c\001d\000e\177f\rg\nh' > in
	vb-frame -d '\t' -d '\\' -d '\x01' -d '\0' -d '\x7F' -d '\r' -d '\n' in > out
	assert_bytes out 'a\nb\nc\nd\ne\nf\ng\nh\n'
	# a multi-byte delimiter made of escapes
	printf 'GET /\r\nHost: x\r\n\r\nbody\r\n\r\n' > req
	vb-frame -d '\r\n\r\n' req > out
	assert_bytes out 'GET /\r\nHost: x\nbody\n'
	# a backslash and hex digits in lower and upper case
	printf 'a\\b\xabc\xab' > in
	vb-frame -d '\xaB' in > out
	assert_bytes out 'a\\b\nc\n'
}

@test "frames do not depend on how the input is cut into reads" {
	printf 'xabcyab\r\nzab\rc\r\r\nabcab' > in
	# one byte per read, as far as the pipe lets us
	trickle() {
		python3 -c '
import sys, time
for b in open(sys.argv[1], "rb").read():
    sys.stdout.buffer.write(bytes([b])); sys.stdout.buffer.flush(); time.sleep(0.004)
' "$1"
	}
	trickle in | vb-frame -d ab -d abc -d '\r\n' -d '\r' -i > slow
	vb-frame -d ab -d abc -d '\r\n' -d '\r' -i in > fast
	cmp slow fast
	assert_bytes fast '0\t1\n4\t1\n7\t0\n9\t1\n12\t0\n13\t1\n15\t0\n17\t0\n20\t0\n'
	frames u16be lp "b'one'" "b''" "b'x' * 3" "b'\\r\\n'"
	trickle lp | vb-frame -L u16be -i > slow
	vb-frame -L u16be -i lp > fast
	cmp slow fast
	assert_bytes fast '2\t3\n7\t0\n9\t3\n14\t2\n'
}

@test "-0: records end with a NUL byte" {
	printf 'a\0bb\0\0c' > in
	vb-frame -0 in > out
	assert_bytes out 'a\nbb\n\nc\n'
	vb-frame --null -k in | cmp - in
	run -0 vb-frame -0 -i in
	assert_output $'0\t1\n2\t2\n5\t0\n6\t1'
	# with -l too: both kinds end records
	printf 'a\0b\r\nc' > in2
	run -0 vb-frame -0 -l -i in2
	assert_output $'0\t1\n2\t1\n5\t1'
}

@test "-z: NUL ends records in the input and in the output, as head -z and sort -z do (-0: the input only)" {
	mkdir d
	touch d/a d/b d/c d/'new
line' d/e
	find d -print0 | LC_ALL=C sort -z > names
	find d -print0 | LC_ALL=C sort -z | head -z -n 3 > exp
	run -0 bash -c 'vb-frame -z -n 1-3 < names | cmp - exp'
	run -0 bash -c 'vb-frame --zero -n 1-3 < names | xargs -0 printf "<%s>"'
	assert_output '<d><d/a><d/b>'
	vb-frame -z names | cmp - names
	run -0 vb-frame -z -c names
	assert_output 6
	run -0 vb-frame -z -i -n 5-6 names
	assert_output $'14\t3\n18\t10'
	run -0 bash -c 'vb-frame -z --last 2 names | xargs -0 printf "<%s>"'
	assert_output '<d/e><d/new
line>'
	# -0 frames the input alone: records written one a line
	run -0 vb-frame -0 -n 2 names
	assert_output d/a
	# with a framing given, -z is for the output: lines to a NUL list,
	# length prefixes to a NUL list
	printf 'a\nbb\n' > lines
	vb-frame -l -z lines > out
	assert_bytes out 'a\0bb\0'
	vb-frame -l --to-length-prefix u8 lines | vb-frame -L u8 -z > out
	assert_bytes out 'a\0bb\0'
	# a store's content too
	vb-insert --create s.vb 0 names
	cksum s.vb > before
	vb-frame -z -n 2-3 s.vb > out
	assert_bytes out 'd/a\0d/b\0'
	run -0 vb-frame -z -c s.vb
	assert_output 6
	cksum s.vb | cmp - before
}

# ------------------------------------------------------------ length prefix

@test "-L: every length field SPEC" {
	for spec in $SPECS; do
		big=300
		[ "$spec" = u8 ] && big=200
		frames "$spec" "in.$spec" "b'one'" "b''" "b'x' * $big" "b'\\n\\r\\0\\xff'"
		vb-frame -L "$spec" "in.$spec" > out
		cmp out <(printf 'one\n\n'; head -c "$big" /dev/zero | tr '\0' x; printf '\n\n\r\0\377\n')
		vb-frame --length-prefix="$spec" -k "in.$spec" | cmp - "in.$spec"
	done
	run -0 vb-frame -L u8 -i in.u8
	assert_output $'1\t3\n5\t0\n6\t200\n207\t4'
	run -0 vb-frame -L u24le -i in.u24le
	assert_output $'3\t3\n9\t0\n12\t300\n315\t4'
	run -0 vb-frame -L u64be -i -k in.u64be
	assert_output $'0\t11\n11\t8\n19\t308\n327\t12'
	run -0 vb-frame -L varint -i in.varint
	assert_output $'1\t3\n5\t0\n7\t300\n308\t4'
	# fields wider than 2 bytes: a record of 70000 bytes
	for spec in u24be u24le u32be u32le u64be u64le varint; do
		frames "$spec" big "b'a'" "b'y' * 70000" "b'z'"
		run -0 vb-frame -L "$spec" -c big
		assert_output 3
		vb-frame -L "$spec" -n 2 big | cmp - <(head -c 70000 /dev/zero | tr '\0' y; echo)
	done
	# the byte order matters: 300 read little endian is 11265
	run -1 --separate-stderr vb-frame -L u16le in.u16be
	assert_output ''
	assert_equal "$stderr" 'vb-frame: in.u16be: the last frame (record 1 at offset 0) is truncated'
}

@test "-L netstring, syslog, pkt-line, dec:C, hex:C: ASCII lengths, records as written, --to-length-prefix round trips" {
	printf '12:hello world!,0:,3:abc,' > n
	run -0 vb-frame -L netstring n
	assert_output $'hello world!\n\nabc'
	run -0 vb-frame -L netstring -i -k n
	assert_output $'0\t16\n16\t3\n19\t6'
	run -0 vb-frame -L netstring -i n
	assert_output $'3\t12\n18\t0\n21\t3'
	run -0 vb-frame -L netstring -c n
	assert_output 3
	# re-framed and back, each form; a netstring's ',' is written after the record
	printf 'one\ntwo two\n\nthree\n' > lines
	for f in netstring syslog pkt-line 'dec:\n' 'hex:;'; do
		vb-frame --to-length-prefix "$f" lines > framed
		run -0 vb-frame -L "$f" framed
		assert_output "$(cat lines)"
		cmp <(vb-frame -L "$f" -k framed) framed
	done
	run -0 vb-frame --to-length-prefix netstring lines
	assert_output '3:one,7:two two,0:,5:three,'
	run -0 vb-frame --to-length-prefix pkt-line lines
	assert_output '0007one000btwo two00040009three'
	run -0 vb-frame --to-length-prefix 'dec:\n' lines
	assert_output $'3\none7\ntwo two0\n5\nthree'
	# --length-offset and --strip apply: a type byte before a netstring
	printf 'T3:abc,U1:x,' > t
	run -0 vb-frame -L netstring --length-offset 1 t
	assert_output $'abc\nx'
	run -0 vb-frame -L netstring --length-offset 1 --strip 0 t
	assert_output $'T3:abc\nU1:x'
}

@test "-L pkt-line on what git writes, -L syslog on what logger --octet-count sends" {
	# git's own pkt-lines: the refs a server advertises, then a flush
	git init -q repo
	git -C repo -c user.name=t -c user.email=t@t commit -q --allow-empty -m one
	git -C repo branch side
	git upload-pack --stateless-rpc --advertise-refs repo > adv
	run -0 vb-frame -L pkt-line -c adv
	assert_output 4 # HEAD (with capabilities), master or main, side, the flush
	run -0 vb-frame -L pkt-line -n 3 adv
	assert_output --regexp '^[0-9a-f]{40} refs/heads/side$'
	run -0 vb-frame -L pkt-line -i -k -n 4 adv
	assert_output "$(( $(stat -c %s adv) - 4 ))	4"
	# RFC 6587 octet counting from logger, over TCP to a listener that
	# keeps the bytes
	command -v logger > /dev/null || skip 'logger (util-linux) is not installed'
	python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
with open(sys.argv[1], "wb") as f:
    while True:
        d = c.recv(65536)
        if not d:
            break
        f.write(d)
' sys.out > port &
	pid=$!
	for ((k = 0; k < 100; k++)); do [ -s port ] && break; sleep 0.05; done
	printf 'first message\nsecond, with a comma\n' |
		logger -T -n 127.0.0.1 -P "$(cat port)" --octet-count -t vbtest
	wait "$pid"
	run -0 vb-frame -L syslog -c sys.out
	assert_output 2
	run -0 vb-frame -L syslog sys.out
	assert_line --index 0 --regexp '^<13>1 .* vbtest .* first message$'
	assert_line --index 1 --regexp '^<13>1 .* second, with a comma$'
}

# tfrecords FILE RECORD...: a TFRecord file of the RECORDs (the format's
# own definition: a u64le length, masked CRC-32Cs of it and of the data).
tfrecords() {
	python3 - "$@" <<'PY'
import struct, sys
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
    return c ^ 0xffffffff
def mask(c):
    return (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xffffffff
with open(sys.argv[1], 'wb') as f:
    for r in sys.argv[2:]:
        d = r.encode()
        n = struct.pack('<Q', len(d))
        f.write(n + struct.pack('<I', mask(crc32c(n))) + d + struct.pack('<I', mask(crc32c(d))))
PY
}

@test "-L tfrecord: records and both checksums; --to-length-prefix tfrecord writes what the format's definition does" {
	tfrecords t.tfr hello '' 'third record' "$(printf 'a%.0s' {1..300})"
	run -0 vb-frame -L tfrecord -n 1-3 t.tfr
	assert_output $'hello\n\nthird record'
	run -0 vb-frame -L tfrecord -i -k -n 1-3 t.tfr
	assert_output $'0\t21\n21\t16\n37\t28'
	run -0 vb-frame -L tfrecord -c -j t.tfr
	assert_line --index 2 '      {"input": "t.tfr", "records": 4}'
	vb-frame -L tfrecord t.tfr | vb-frame --to-length-prefix tfrecord > again
	cmp again t.tfr
	# a record's checksum: an error naming it, or skipped
	cp t.tfr bad.tfr
	printf 'X' | dd of=bad.tfr bs=1 seek=13 conv=notrunc 2> /dev/null
	run -1 --separate-stderr vb-frame -L tfrecord bad.tfr
	assert_output ''
	assert_equal "$stderr" 'vb-frame: bad.tfr: record 1 at offset 0: the CRC-32C of the record does not match'
	run -0 vb-frame -L tfrecord --bad-checksum=skip -n 1-3 bad.tfr
	assert_output $'\nthird record'
	run -0 vb-frame -L tfrecord --bad-checksum=skip -c bad.tfr
	assert_output 3
	# a length's checksum: the length cannot be trusted, the input ends
	cp t.tfr bad2.tfr
	printf 'X' | dd of=bad2.tfr bs=1 seek=23 conv=notrunc 2> /dev/null
	run -1 --separate-stderr vb-frame -L tfrecord --bad-checksum=skip bad2.tfr
	assert_output 'hello'
	assert_equal "$stderr" 'vb-frame: bad2.tfr: record 2 at offset 21: the CRC-32C of the length field does not match (a damaged header)'
	# cut off: the incomplete last record, as for any length prefix
	head -c 30 t.tfr > cut.tfr
	run -1 --separate-stderr vb-frame -L tfrecord cut.tfr
	assert_output hello
	assert_equal "$stderr" 'vb-frame: cut.tfr: the last frame (record 2 at offset 21) is truncated'
	run vb-frame -L tfrecord --bad-checksum=maybe t.tfr
	assert_usage_error vb-frame "invalid --bad-checksum 'maybe' (error or skip)"
}

@test "-L protobuf is -L varint; -L mrt is u32be at offset 8, the 12-byte header stripped" {
	frames varint pb "b'one'" "b''" "b'three'"
	cmp <(vb-frame -L protobuf pb) <(vb-frame -L varint pb)
	run -0 vb-frame -L protobuf -c pb
	assert_output 3
	# two MRT records: time, type 13 (TABLE_DUMP_V2), subtype, length
	python3 -c '
import struct, sys
with open("m.mrt", "wb") as f:
    for t, msg in ((1700000000, b"peer-index"), (1700000001, b"rib")):
        f.write(struct.pack(">IHHI", t, 13, 1, len(msg)) + msg)
'
	run -0 vb-frame -L mrt m.mrt
	assert_output $'peer-index\nrib'
	run -0 vb-frame -L mrt --strip=0 -i m.mrt
	assert_output $'0\t22\n22\t15'
}

@test "--to-length-adjust: a field that counts itself (Netty's lengthIncludesLengthFieldLength), read back with --length-adjust" {
	printf 'ab\ncde\n' > lines
	vb-frame --to-length-prefix u32be --to-length-adjust=-4 lines > framed
	run -0 od -An -tx1 framed
	assert_output ' 00 00 00 06 61 62 00 00 00 07 63 64 65'
	run -0 vb-frame -L u32be --length-adjust=-4 framed
	assert_output $'ab\ncde'
	# every SPEC, either sign
	for spec in u8 u16le u24be u32le u64be varint netstring syslog 'dec:\n'; do
		for a in -3 +2; do
			vb-frame --to-length-prefix "$spec" --to-length-adjust="$a" lines > f
			run -0 vb-frame -L "$spec" --length-adjust="$a" f
			assert_output $'ab\ncde'
		done
	done
	# a value the field cannot hold: the error ends the input
	run -1 --separate-stderr vb-frame --to-length-prefix u8 --to-length-adjust=3 lines
	assert_equal "$stderr" 'vb-frame: lines: record 1 at offset 0: a record of 2 bytes does not fit the length field with its adjustment'
	run -1 --separate-stderr vb-frame --to-length-prefix u8 --to-length-adjust=-254 lines
	assert_output ''
	assert_equal "$stderr" 'vb-frame: lines: record 1 at offset 0: a record of 2 bytes does not fit a 1-byte length field'
	# usage errors
	run vb-frame --to-length-adjust=-4 lines
	assert_usage_error vb-frame '--to-length-adjust needs --to-length-prefix'
	run vb-frame --to-length-prefix u8 --to-length-adjust=x lines
	assert_usage_error vb-frame "invalid --to-length-adjust 'x' (a whole number, negative as --to-length-adjust=-N)"
	run vb-frame --to-length-prefix u8 --to-length-adjust=9223372036854775808 lines
	assert_usage_error vb-frame "--to-length-adjust '9223372036854775808' is out of range (-9223372036854775808 to 9223372036854775807)"
}

@test "ASCII lengths: malformed fields are errors naming the record; a cut-off frame follows --final; usage errors" {
	printf '3:abc,5:hello;' > n
	run -1 --separate-stderr vb-frame -L netstring n
	assert_output abc
	assert_equal "$stderr" "vb-frame: n: record 2 at offset 6: byte 0x3b after the 5-byte record where ',' belongs"
	# SPEC|INPUT|the message after "record 1 at offset 0: "
	while IFS='|' read -r spec in msg; do
		printf '%s' "$in" > bad
		run -1 --separate-stderr vb-frame -L "$spec" bad
		assert_equal "$stderr" "vb-frame: bad: record 1 at offset 0: $msg"
	done <<'CASES'
netstring|03:abc,|length field: a leading zero
netstring|x:abc,|length field: byte 0x78 where a decimal digit belongs
netstring|123456789012345678901:|length field: more than 20 digits
netstring|99999999999999999999:|length field: the number does not fit 64 bits
syslog|3:abc|length field: byte 0x3a where a decimal digit or its terminator belongs
pkt-line|00zzdata|length field: byte 0x7a where a hex digit belongs
hex:;|fffffffffffffffff;|length field: more than 16 digits
CASES
	# the input ends inside a frame: the incomplete last record, --final decides
	printf '3:abc,10:short' > cut
	run -1 --separate-stderr vb-frame -L netstring cut
	assert_output abc
	assert_equal "$stderr" 'vb-frame: cut: the last frame (record 2 at offset 6) is truncated'
	run -0 vb-frame -L netstring --final=drop cut
	assert_output abc
	# a record too large for pkt-line's four digits
	head -c 70000 /dev/zero | tr '\0' 'a' > big
	run -1 --separate-stderr vb-frame --to-length-prefix pkt-line big
	assert_equal "$stderr" 'vb-frame: big: record 1 at offset 0: a record of 70000 bytes does not fit a 4-digit length field'
	# unknown forms: the list of those there are
	for spec in dec:5 'hex:a' 'dec:ab' dec: netstrings; do
		run vb-frame -L "$spec" n
		assert_usage_error vb-frame "invalid --length-prefix: unknown length prefix '$spec' (binary: u8, u16be, u16le, u24be, u24le, u32be, u32le, u64be, u64le, varint; ASCII: netstring, syslog, pkt-line, dec:C, hex:C with C a byte that is not a digit; presets: protobuf, tfrecord, mrt)"
	done
}

@test "--length-offset and --strip" {
	# a two-byte tag, then a big-endian u16 length
	printf 'HH\0\003abcTT\0\001z' > in
	vb-frame -L u16be --length-offset 2 in > out
	assert_bytes out 'abc\nz\n'
	vb-frame -L u16be --length-offset=0x2 --strip=0 in > out
	assert_bytes out 'HH\0\003abc\nTT\0\001z\n'
	vb-frame -L u16be --length-offset 2 --strip 2 in > out
	assert_bytes out '\0\003abc\n\0\001z\n'
	vb-frame -L u16be --length-offset 2 -k in | cmp - in
	run -0 vb-frame -L u16be --length-offset 2 --index in
	assert_output $'4\t3\n11\t1'
	run -0 vb-frame -L u16be --length-offset 2 --index --keep in
	assert_output $'0\t7\n7\t5'
	run -0 vb-frame -L u16be --length-offset 2 --strip=0 --index in
	assert_output $'0\t7\n7\t5'
	run -0 vb-frame -L u16be --length-offset 2 --strip 3 --index in
	assert_output $'3\t4\n10\t2'
}

@test "--length-adjust: positive, +N and negative (--length-adjust=-N)" {
	# the field counts the whole frame, header included
	printf '\0\005abc\0\002\0\003z' > in
	vb-frame -L u16be --length-adjust=-2 in > out
	assert_bytes out 'abc\n\nz\n'
	run -0 vb-frame -L u16be --length-adjust=-2 -i -k in
	assert_output $'0\t5\n5\t2\n7\t3'
	# the field leaves out a two-byte trailer
	printf '\003abcCC\001zDD' > in2
	run -0 vb-frame -L u8 --length-adjust 2 in2
	assert_output $'abcCC\nzDD'
	run -0 vb-frame -L u8 --length-adjust=+2 in2
	assert_output $'abcCC\nzDD'
	vb-frame -L u8 --length-adjust 2 -k in2 | cmp - in2
}

@test "--length-adjust: its whole range, -9223372036854775808 to 9223372036854775807" {
	# a u64be field of 2^63 + 3: the lowest adjustment leaves 3 bytes
	printf '\200\0\0\0\0\0\0\003abc' > lo
	run -0 vb-frame -L u64be --length-adjust=-9223372036854775808 lo
	assert_output abc
	run -0 vb-frame -L u64be --length-adjust=-0x8000000000000000 -i -k lo
	assert_output $'0\t11'
	# a smaller field goes negative: a malformed frame, not a usage error
	printf '\0\0\0\0\0\0\0\003abc' > small
	run -1 --separate-stderr vb-frame -L u64be --length-adjust=-9223372036854775808 small
	assert_equal "$stderr" 'vb-frame: small: record 1 at offset 0: length 3 adjusted by -9223372036854775808 is negative'
	# the highest: a field of 0 makes a frame of 8 + 2^63 - 1 bytes
	printf '\0\0\0\0\0\0\0\0abc' > hi
	run -1 --separate-stderr vb-frame -L u64be --length-adjust=9223372036854775807 hi
	assert_equal "$stderr" 'vb-frame: hi: record 1 at offset 0 is larger than --max-size (67108864 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -1 --separate-stderr vb-frame -L u64be --length-adjust=+9223372036854775807 hi
	assert_equal "$stderr" 'vb-frame: hi: record 1 at offset 0 is larger than --max-size (67108864 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	# one past either end is a usage error that names the range
	for a in 9223372036854775808 +9223372036854775808 -9223372036854775809 -18446744073709551615; do
		run vb-frame -L u64be --length-adjust="$a" hi
		assert_usage_error vb-frame "--length-adjust '$a' is out of range (-9223372036854775808 to 9223372036854775807)"
	done
	# and the man page gives it
	grep -q -- '9223372036854775808' "$VB_SOURCE_DIR/man/vb-frame.1"
}

# ------------------------------------------------------------ fixed size

@test "-F/--fixed N, with a short last record" {
	printf abcdefg > in
	run -0 vb-frame -F 3 --output-delimiter '\n' in
	assert_output $'abc\ndef\ng'
	run -0 vb-frame --fixed=3 --index in
	assert_output $'0\t3\n3\t3\n6\t1'
	run -0 vb-frame --fixed 3 --index --keep in
	assert_output $'0\t3\n3\t3\n6\t1'
	vb-frame -F 3 -k in | cmp - in
	run -0 vb-frame -F 3 --final=drop in
	assert_output abcdef
	run -1 --separate-stderr vb-frame -F 3 --final=error in
	assert_output abcdef
	assert_equal "$stderr" 'vb-frame: in: the last record (3 at offset 6) is shorter than --fixed'
	run -0 vb-frame -F 7 in
	assert_output abcdefg
	run -0 vb-frame -F 3 -c in
	assert_output 3
	# sizes take suffixes
	head -c 2500 /dev/zero > z
	run -0 vb-frame -F 1K -i z
	assert_output $'0\t1024\n1024\t1024\n2048\t452'
}

# ------------------------------------------------------------ selecting

@test "-F writes records unchanged by default: binary records are not given a newline" {
	head -c 1000 /dev/urandom > bin
	vb-frame -F 100 bin | cmp - bin
	vb-frame --fixed=100 -n 3-4 bin | cmp - <(tail -c +201 bin | head -c 200)
	run -0 bash -c 'cat bin | vb-frame -F 64 | cmp - bin'
	# a short last record too; --final as ever
	vb-frame -F 300 bin | cmp - bin
	vb-frame -F 300 --final=drop bin | cmp - <(head -c 900 bin)
	# an output delimiter, when one is asked for
	printf abcdefgh > in
	vb-frame -F 3 -z in > out
	assert_bytes out 'abc\0def\0gh\0'
	vb-frame -F 3 --output-delimiter '\n' in > out
	assert_bytes out 'abc\ndef\ngh\n'
	vb-frame -F 3 --to-length-prefix u8 in > out
	assert_bytes out '\003abc\003def\002gh'
	# -L and delimiters still end each record with a newline
	vb-frame -F 3 --to-length-prefix u8 in | vb-frame -L u8 > out
	assert_bytes out 'abc\ndef\ngh\n'
	# a store's content
	vb-insert --create s.vb 0 bin
	vb-frame -F 100 s.vb | cmp - bin
}

@test "-n/--records: numbers, ranges, open ranges, lists in any order" {
	seq 1 20 > in
	run -0 vb-frame -n 3 in
	assert_output 3
	run -0 vb-frame -n 3-5 in
	assert_output $'3\n4\n5'
	run -0 vb-frame --records 18- in
	assert_output $'18\n19\n20'
	run -0 vb-frame -n 1,3,5-6,19- in
	assert_output $'1\n3\n5\n6\n19\n20'
	# out of order and overlapping: records come in input order, once
	run -0 vb-frame -n 10,2,5-6,4 in
	assert_output $'2\n4\n5\n6\n10'
	run -0 vb-frame --records=4-6,2-5,5 in
	assert_output $'2\n3\n4\n5\n6'
	run -0 vb-frame -n 20-25 in
	assert_output 20
	run -0 vb-frame -n 25 in
	assert_output ''
	run -0 vb-frame -n 2,4 -i in
	assert_output $'2\t1\n6\t1'
	run -0 vb-frame -n 19- -k in
	assert_output $'19\n20'
	# numbering restarts with each input
	seq 101 105 > in2
	run -0 vb-frame -n 2,5 in in2
	assert_output $'2\n5\n102\n105'
}

@test "-n stops reading once the last wanted record is out" {
	run -0 timeout 20 bash -c 'yes | vb-frame -n 3'
	assert_output y
	run -0 timeout 20 bash -c 'yes | vb-frame -n 4-5,2 --index'
	assert_output $'2\t1\n6\t1\n8\t1'
	run -0 timeout 20 bash -c 'yes | vb-frame -n 1-3 -c'
	assert_output 3
}

@test "-c/--count: one input, several inputs with a total" {
	seq 1 20 > a
	seq 1 5 > b
	run -0 vb-frame -c a
	assert_output 20
	run -0 vb-frame --count a b
	assert_output $'20\ta\n5\tb\n25\ttotal'
	run -0 vb-frame -c -n 3-7 a b
	assert_output $'5\ta\n3\tb\n8\ttotal'
	run -0 bash -c 'vb-frame -c < /dev/null'
	assert_output 0
	run -0 bash -c 'seq 1 3 | vb-frame -c - b'
	assert_output $'3\t-\n5\tb\n8\ttotal'
	# a last record without a delimiter counts, unless --final drops it
	printf 'x\ny' > c
	run -0 vb-frame -c c
	assert_output 2
	run -0 vb-frame -c --final=drop c
	assert_output 1
	run -1 --separate-stderr vb-frame -c --final=error c
	assert_equal "$stderr" 'vb-frame: c: the last record (2 at offset 2) has no delimiter'
	# other framings
	frames u8 lp "b'ab'" "b''" "b'cde'"
	run -0 vb-frame -L u8 -c lp
	assert_output 3
	run -0 vb-frame -L u8 -c --final=emit lp
	assert_output 3
	run -0 vb-frame -d b -c c
	assert_output 1
}

@test "--index: offset and length, without and with the delimiter" {
	printf 'one\r\ntwo\nthree' > a
	run -0 vb-frame --index a
	assert_output $'0\t3\n5\t3\n9\t5'
	run -0 vb-frame -i -k a
	assert_output $'0\t5\n5\t4\n9\t5'
	# several inputs: the name first
	printf 'x\n' > b
	run -0 vb-frame -i a b
	assert_output $'a\t0\t3\na\t5\t3\na\t9\t5\nb\t0\t1'
	run -0 bash -c 'vb-frame -i -k -n 2 a - < b'
	assert_output $'a\t5\t4'
	run -0 bash -c 'vb-frame -i -k a - < b'
	assert_output $'a\t0\t5\na\t5\t4\na\t9\t5\n-\t0\t2'
}

# split_check FILE N FRAMING...: vb-frame --split N FILE's pieces are
# contiguous, cover FILE, are not empty, and framing each piece alone
# gives exactly the records of FILE framed whole (every record in one
# piece, none cut); FIRST_RECORD, where given, is the number of the
# piece's first record.
split_check() {
	# the pieces of `--split N` start where records start (by --index, each
	# record's length with its delimiter), one after the other, none empty,
	# to the end of the file; a FIRST_RECORD given is that record's number:
	# so every record is in exactly one piece
	local file=$1 n=$2
	shift 2
	vb-frame "$@" --index --keep "$file" > index
	vb-frame "$@" --split "$n" "$file" > pieces
	awk -v what="--split $n $*" -v n="$n" -v size="$(stat -c %s "$file")" '
		BEGIN { at = 0 }
		FILENAME == ARGV[1] { start[$1] = FNR; next }
		bad { next }
		$1 != at { print what ": a piece at " $1 ", expected " at; bad = 1; next }
		$2 <= 0 { print what ": an empty piece at " $1; bad = 1; next }
		!($1 in start) { print what ": a piece at " $1 " does not start a record"; bad = 1; next }
		$3 != "-" && $3 != start[$1] {
			print what ": first record " $3 " at " $1 ", expected " start[$1]; bad = 1; next
		}
		{ at = $1 + $2; pieces++ }
		END {
			if (!bad && at != size) { print what ": the pieces end at " at ", not " size; bad = 1 }
			if (!bad && pieces > n + 0) { print what ": " pieces " pieces"; bad = 1 }
			exit bad
		}' index pieces > verdict || fail "$(cat verdict)"
}

@test "--split N: record-aligned pieces for -l, -0, -d X and -F; every record in exactly one piece" {
	python3 -c '
import random
random.seed(7)
out = []
for i in range(3000):
    out.append(b"x" * random.randrange(0, 120) + random.choice([b"\n", b"\r\n", b"\r", b"\n\n"]))
out.append(b"y" * 5000 + b"\n")   # a record longer than a piece of 1000
out.append(b"no end")
open("lines", "wb").write(b"".join(out))
' 
	tr '\n' '\0' < lines > nul
	tr '\n' '|' < lines > bar
	for n in 1 2 3 7 50 1000; do
		split_check lines "$n" -l
		split_check nul "$n" -0
		split_check bar "$n" -d '|'
		split_check lines "$n" -F 37
	done
	# -F: cuts on multiples of the size, numbers known
	run -0 vb-frame -F 100 --split 3 lines
	size=$(stat -c %s lines)
	assert_line --index 0 $'0\t'"$(( size / 3 / 100 * 100 ))"$'\t1'
	# a record longer than a piece: fewer pieces, none empty
	printf '%05000d\n' 0 > one
	run -0 vb-frame --split 10 one
	assert_output $'0\t5001\t-'
	: > empty
	run -0 vb-frame --split 10 empty
	assert_output ''
}

@test "--split on a store: numbered from its line counts, --ranges for vb-cat --range, a file on stdin from where it stands" {
	seq 1 100000 > s.txt
	vb-insert --create s.vb 0 s.txt
	vb-delete s.vb 1000 7
	vb-cat s.vb > flat
	run -0 vb-frame --split 4 s.vb
	assert_equal "${#lines[@]}" 4
	while IFS=$'\t' read -r off len first; do
		# the piece starts a line, whose number is given
		[ "$off" = 0 ] || [ "$(vb-cat -r "$((off - 1)):$off" s.vb)" = '' ]
		[ "$(vb-cat -o "$off" -n "$len" s.vb | head -n 1)" = "$(sed -n "${first}p" flat)" ]
	done <<< "$output"
	run -0 vb-frame --split 4 --ranges s.vb
	: > joined
	for r in "${lines[@]}"; do vb-cat -r "$r" s.vb >> joined; done
	cmp joined flat
	# a file on stdin: offsets from where it stands
	run -0 bash -c '{ head -c 100 > /dev/null; vb-frame --split 2 --ranges; } < s.txt'
	assert_line --index 0 --regexp '^0:[0-9]+$'
	end=${lines[1]#*:}
	assert_equal "$end" $(( $(stat -c %s s.txt) - 100 ))
	# several inputs: the name first
	run -0 vb-frame --split 2 s.vb s.txt
	assert_line --index 0 --regexp $'^s\.vb\t0\t[0-9]+\t1$'
	assert_line --index 2 --regexp $'^s\.txt\t0\t[0-9]+\t-$'
}

@test "--split errors: pipes, length prefixes, delimiters without a sync byte, options that do not apply" {
	seq 1 10 > a
	run -1 --separate-stderr bash -c 'cat a | vb-frame --split 2'
	assert_equal "$stderr" 'vb-frame: -: --split cuts at offsets: it needs a file or a store, not a pipe'
	run -1 --separate-stderr vb-frame -d ab --split 2 a
	assert_equal "$stderr" 'vb-frame: a: --split cuts delimited records after a byte that always ends one (-l, -0, or -d with a one-byte delimiter found in no other): these delimiters have none'
	run vb-frame -L u8 --split 2 a
	assert_usage_error vb-frame '--split cannot cut length-prefixed records: where one starts is known only from every header before it (vb-frame -L SPEC -i lists them all)'
	for o in --count --index '--records 1' '--last 2' --keep --zero; do
		run vb-frame $o --split 2 a
		assert_usage_error vb-frame "--split prints pieces of the input: ${o% *} does not apply"
	done
	run vb-frame --split 0 a
	assert_usage_error vb-frame '--split needs 1 to 4294967295 pieces'
	run vb-frame --ranges a
	assert_usage_error vb-frame '--ranges applies to --split'
}

@test "--match, --regex, --invert: records by content, as grep -F, grep -P and grep -v select lines" {
	python3 -c '
import random
random.seed(5)
w = ["alpha", "beta", "ERROR", "warn", "x\ty", "a.b", "[c]", "\\d", "caf\xc3\xa9"]
open("log", "w", encoding="latin-1").write("".join(" ".join(random.choice(w) for _ in range(random.randrange(0, 6))) + "\n" for _ in range(3000)))
'
	for s in ERROR 'a.b' '[c]' 'x	y' 'beta alpha' zzz; do
		cmp <(vb-frame -l --match "$s" log) <(grep -F -- "$s" log)
		cmp <(vb-frame -l --match "$s" -v log) <(grep -F -v -- "$s" log)
		[ "$(vb-frame -l --match "$s" -c log)" = "$(grep -F -c -- "$s" log)" ]
	done
	for re in '^ERROR' 'warn$' '\bbeta\b' '^$' 'a\.b' '(alpha|beta) ERROR' '\\d'; do
		cmp <(vb-frame -l --regex "$re" log) <(grep -P -- "$re" log)
		[ "$(vb-frame -l -e "$re" -v -c log)" = "$(grep -P -v -c -- "$re" log)" ]
	done
	# over many reads of the input (the search of the buffer carries over)
	seq 1 400000 > big
	for s in 777 99999 1234567 0; do
		cmp <(vb-frame -l --match "$s" big) <(grep -F -- "$s" big)
		[ "$(vb-frame -l --match "$s" -v -c big)" = "$(grep -F -v -c -- "$s" big)" ]
		[ "$(cat big | vb-frame -l --match "$s" -c)" = "$(grep -F -c -- "$s" big)" ]
	done
	# bytes as bytes: a NUL inside records, a byte that is not UTF-8
	printf 'a\0b\nc\377d\nab\n' > bin
	run -0 vb-frame -l --match '\0' -i bin
	assert_output $'0\t3'
	run -0 vb-frame -l --regex '\xff' -i bin
	assert_output $'4\t3'
	# with -n: the records selected by number, then by content
	run -0 vb-frame -l -n 1-10 --match ERROR -c log
	assert_output "$(head -n 10 log | grep -c ERROR)"
	# --index --keep for vb-delete --ranges: the store keeps the other lines
	vb-insert --create s.vb 0 log
	vb-frame -l --match ERROR -i -k s.vb | vb-delete --ranges - s.vb
	cmp <(vb-cat s.vb) <(grep -v ERROR log)
	# other framings: -0, -L
	tr '\n' '\0' < log > nul
	cmp <(vb-frame -z --match beta nul) <(grep -z -F beta nul)
	vb-frame --to-length-prefix varint log > lp
	cmp <(vb-frame -L varint --match beta lp) <(grep -F beta log)
}

@test "--match, --regex: a record over --max-size fails or is skipped (not matched in part); errors" {
	{ echo short; head -c 100 /dev/zero | tr '\0' x; echo; echo xx; } > h
	run -1 --separate-stderr vb-frame -l --match x --max-size 50 h
	assert_output ''
	assert_equal "$stderr" 'vb-frame: h: record 2 at offset 6 is larger than --max-size (50 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -1 --separate-stderr vb-frame -l --match x --max-size 50 -c h
	assert_equal "$stderr" 'vb-frame: h: record 2 at offset 6 is larger than --max-size (50 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -0 --separate-stderr vb-frame -l --match x --max-size 50 --oversize=skip -c h
	assert_output 1
	run vb-frame -l --match x --max-size 50 --oversize=truncate h
	assert_usage_error vb-frame '--oversize=truncate cannot be used with --match: a record larger than --max-size is not held, so not matched whole'
	run vb-frame --regex '(' h
	assert_usage_error vb-frame "invalid --regex '(': at offset 1 of the pattern: missing closing parenthesis"
	run vb-frame --match a --regex b h
	assert_usage_error vb-frame 'choose one of --match and --regex'
	run vb-frame -v h
	assert_usage_error vb-frame '--invert applies to --match and --regex'
	run vb-frame --match a --last 2 h
	assert_usage_error vb-frame '--match selects by content: --last does not apply'
	run vb-frame --regex a --split 2 h
	assert_usage_error vb-frame '--regex selects by content: --split does not apply'
	run vb-frame --match '' h
	assert_usage_error vb-frame "invalid --match '': the bytes to match cannot be empty"
	# a pattern that backtracks without end is given up on, naming the record
	printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n' > bt
	run vb-frame -l -e '^(a+)+$' -c bt
	if [ "$status" -ne 0 ]; then
		assert_equal "$status" 1
		assert_output --regexp '^vb-frame: bt: record 1 at offset 0: the regular expression gave up on it: '
	else
		assert_output 0
	fi
}

# json_rows JSON KEY FIELD...: the entries of JSON's array KEY, one line
# each, their FIELDs tab-separated (python3's json: the text must parse).
json_rows() {
	python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
for e in doc[sys.argv[2]]:
    print("\t".join(str(e[f]) for f in sys.argv[3:]))
' "$@"
}

@test "-j/--json: --index and --count as one JSON object, the same figures as the lines" {
	printf 'one\r\ntwo\nthree' > a
	printf 'x\n' > b
	run -0 vb-frame -i -k --json a b
	assert_line --index 0 '{'
	assert_line --index 1 '   "records": ['
	assert_line --index 2 '      {"input": "a", "offset": 0, "length": 5},'
	assert_line --index 5 '      {"input": "b", "offset": 0, "length": 2}'
	assert_line --index 6 '   ]'
	assert_line --index 7 '}'
	json=$output
	run -0 json_rows "$json" records input offset length
	assert_output "$(vb-frame -i -k a b)"
	run -0 vb-frame -i -j a
	json=$output
	run -0 json_rows "$json" records offset length
	assert_output "$(vb-frame -i a)"
	# --count: an entry an input, and the total
	seq 1 20 > c
	run -0 vb-frame -c -j c b
	json=$output
	run -0 json_rows "$json" inputs records input
	assert_output $'20\tc\n1\tb'
	run -0 python3 -c 'import json, sys; print(json.loads(sys.argv[1])["total"])' "$json"
	assert_output 21
	# nothing to frame: an empty array
	run -0 bash -c 'vb-frame -i -j < /dev/null'
	assert_output $'{\n   "records": [\n   ]\n}'
	run -0 bash -c 'vb-frame -c -j < /dev/null'
	assert_output $'{\n   "inputs": [\n      {"input": "-", "records": 0}\n   ],\n   "total": 0\n}'
	# a store, and the counts from its tree (the line door)
	vb-insert --create s.vb 0 c
	run -0 vb-frame -l -c -j s.vb
	json=$output
	run -0 json_rows "$json" inputs records
	assert_output 20
	run -0 vb-frame -l -i -j --last 2 s.vb
	json=$output
	run -0 json_rows "$json" records offset length
	assert_output "$(vb-frame -l -i --last 2 s.vb)"
}

@test "--json: an input that fails has no entry and the object still parses; names escaped; usage errors" {
	seq 1 3 > a
	run -1 --separate-stderr vb-frame -c -j a nosuch a
	assert_equal "$stderr" 'vb-frame: nosuch: No such file or directory'
	json=$output
	run -0 json_rows "$json" inputs records input
	assert_output $'3\ta\n3\ta'
	# a record that fails part-way: the records before it, then a closed object
	printf 'ab\ncd' > t
	run -1 --separate-stderr vb-frame -i -j --final=error t
	json=$output
	run -0 json_rows "$json" records offset length
	assert_output $'0\t2'
	# names with a quote, a backslash, a newline, a tab and a byte that is not UTF-8
	name=$'q"b\\n\nt\t\xff.txt'
	seq 1 2 > "$name"
	run -0 vb-frame -c -j "$name"
	assert_line --index 2 '      {"input": "q\"b\\n\nt\t\ufffd.txt", "records": 2}'
	json=$output
	run -0 json_rows "$json" inputs records
	assert_output 2
	# only with --count or --index
	run -2 --separate-stderr vb-frame -j a
	assert_equal "$stderr" $'vb-frame: --json applies to --count and --index\nTry \'vb-frame --help\' for more information.'
	run -0 vb-frame --help
	assert_output --partial '-j, --json'
}

@test "vb-frame --index --keep | vb-delete --ranges - removes whole records" {
	printf 'one\r\ntwo\nthree\rfour\nfive' > F
	vb-insert --base F S 0 --text ''
	vb-frame --index --keep -n 2,4-5 F | vb-delete --ranges - S
	vb-cat S > out
	assert_bytes out 'one\r\nthree\r'
	run -0 vb-history --verify S
	# without --keep the delimiters stay
	vb-insert --base F T 0 --text ''
	vb-frame --index -n 1,3 F | vb-delete --ranges - T
	vb-cat T > out
	assert_bytes out '\r\ntwo\n\rfour\nfive'
	# the same on a store as the input
	vb-frame -i -k -n 1 S | vb-delete --ranges - S
	run -0 vb-cat S
	assert_output $'three\r'
}

# ------------------------------------------------------------ --last

@test "--last N: the last N records, with --index (absolute offsets), --keep and --count" {
	seq 1 10 > f
	run -0 vb-frame --last 3 f
	assert_output $'8\n9\n10'
	run -0 vb-frame --last 1 f
	assert_output 10
	run -0 vb-frame --last 3 -i f
	assert_output $'14\t1\n16\t1\n18\t2'
	run -0 vb-frame --last 3 -i -k f
	assert_output $'14\t2\n16\t2\n18\t3'
	vb-frame --last 2 -k f > out
	assert_bytes out '9\n10\n'
	vb-frame --last 2 -l -z f > out
	assert_bytes out '9\00010\000'
	vb-frame --last 2 --to-length-prefix u8 f > out
	assert_bytes out '\0019\00210'
	# --count counts at most N
	run -0 vb-frame --last 3 -c f
	assert_output 3
	run -0 vb-frame --last 30 -c f
	assert_output 10
	# N beyond the records there are: all of them
	run -0 vb-frame --last 1K f
	assert_output "$(seq 1 10)"
	run -0 vb-frame --last 18446744073709551615 -c f
	assert_output 10
}

@test "--last: an unterminated last record is a record; --final applies" {
	printf '1\n2\n3' > f
	run -0 vb-frame --last 1 -i f
	assert_output $'4\t1'
	run -0 vb-frame --last 2 f
	assert_output $'2\n3'
	vb-frame --last 2 -k f > out
	assert_bytes out '2\n3'
	run -0 vb-frame --last 2 --final=drop f
	assert_output $'1\n2'
	run -0 vb-frame --last 2 --final=drop -c f
	assert_output 2
	run -1 --separate-stderr vb-frame --last 1 --final=error f
	assert_output ''
	# read from inside the input, records are not numbered from its start
	assert_equal "$stderr" 'vb-frame: f: the last record (at offset 4) has no delimiter'
	# empty records and an empty input
	printf 'a\n\n' > e
	run -0 vb-frame --last 1 -i e
	assert_output $'2\t0'
	run -0 vb-frame --last 5 -i e
	assert_output $'0\t1\n2\t0'
	: > empty
	run -0 vb-frame --last 3 empty
	assert_output ''
	run -0 vb-frame --last 3 -c empty
	assert_output 0
}

@test "--last N equals the last N lines of forward framing on mixed line endings" {
	python3 - <<'PY'
import random
r = random.Random(11)
for name, size, tail in [('m1', 700000, b''), ('m2', 300000, b'tail\r'), ('m3', 5000, b'\r'),
                         ('m4', 600000, b'x')]:
    parts, n = [], 0
    while n < size:
        k = r.choice([0, 0, 1, 2, 5, 10, 30, 80, 200]) if r.random() < 0.98 else 3000
        parts.append(bytes(r.choice(b'abcxyz\0\t ') for _ in range(k)))
        parts.append(r.choice([b'\n', b'\r\n', b'\r', b'\r\r\n', b'\n\r', b'\r\n\r\n']))
        n += k + 1
    open(name, 'wb').write(b''.join(parts) + tail)
PY
	local f n
	for f in m1 m2 m3 m4; do
		for n in 1 2 3 10 100 1000 4000 100000; do
			echo "$f --last $n"
			cmp <(vb-frame --last "$n" "$f") <(vb-frame "$f" | tail -n "$n")
			cmp <(vb-frame --last "$n" -i -k "$f") <(vb-frame -i -k "$f" | tail -n "$n")
			cmp <(vb-frame --last "$n" -i "$f" < /dev/null) <(vb-frame -i "$f" | tail -n "$n")
			[ "$(vb-frame --last "$n" -c "$f")" -eq "$(vb-frame "$f" | tail -n "$n" | wc -l)" ]
		done
	done
	# more records than one backward read holds
	[ "$(vb-frame -c m1)" -gt 4000 ]
	[ "$(stat -c %s m1)" -gt 600000 ]
}

@test "--last with -0 and one-byte -d sync bytes" {
	printf 'a\0bb\0\0c' > z
	run -0 vb-frame --last 2 -0 -i z
	assert_output $'5\t0\n6\t1'
	vb-frame --last 3 -0 -k z > out
	assert_bytes out 'bb\0\0c'
	# b ends every delimiter it is in: records start after any b
	printf 'xabyabzbw' > m
	run -0 vb-frame --last 2 -d b -d ab -i -k m
	assert_output $'6\t2\n8\t1'
	run -0 vb-frame --last 3 -d ab -d b m
	assert_output $'y\nz\nw'
	# -l with -0: \n is the sync byte, NULs end records too
	printf 'a\0b\r\nc\0d\n' > lz
	run -0 vb-frame --last 3 -l -0 lz
	assert_output $'b\nc\nd'
	printf '1\n2\n3\n' > f
	run -0 vb-frame --last 2 -d '\n' f
	assert_output $'2\n3'
}

@test "--last reads only the tail: a 1 TiB sparse file and a store made from it" {
	truncate -s 1T big 2>/dev/null || skip "no sparse 1 TiB file on this file system"
	printf 'a\nb\nc\n' >> big
	# framing from the start would fail: the first record is 1 TiB of NULs
	run -1 --separate-stderr vb-frame -n 1 big
	assert_regex "$stderr" '^vb-frame: big: record 1 at offset 0 is larger than --max-size'
	run -0 --separate-stderr timeout 60 vb-frame --last 2 big
	assert_output $'b\nc'
	assert_equal "$stderr" ''
	run -0 timeout 60 vb-frame --last 2 -i big
	assert_output $'1099511627778\t1\n1099511627780\t1'
	run -0 timeout 60 vb-frame --last 2 -c big
	assert_output 2
	run -0 timeout 60 bash -c 'vb-frame --last 1 < big'
	assert_output c
	vb-insert --base big s.vb end --text $'x\ny\n'
	[ "$(stat -c %s s.vb)" -lt 65536 ]
	run -0 timeout 60 vb-frame --last 3 s.vb
	assert_output $'c\nx\ny'
	run -0 timeout 60 vb-frame --last 2 -V 0 -i s.vb
	assert_output $'1099511627778\t1\n1099511627780\t1'
	run -0 timeout 60 bash -c 'vb-frame --last 2 -V 0 - < s.vb'
	assert_output $'b\nc'
}

@test "--last on stores, at -V, on stdin, and several inputs each on its own" {
	make_store s.vb "$(seq 1 5)"
	vb-insert s.vb end --text $'\n6\n'
	run -0 vb-frame --last 2 -i s.vb
	assert_output $'8\t1\n10\t1'
	run -0 vb-frame --last 2 -V 1 s.vb
	assert_output $'4\n5'
	run -0 bash -c 'vb-frame --last 2 < s.vb'
	assert_output $'5\n6'
	run -0 bash -c 'vb-frame --last 2 -V 1 - < s.vb'
	assert_output $'4\n5'
	seq 1 10 > f
	run -0 vb-frame --last 2 -c f s.vb
	assert_output $'2\tf\n2\ts.vb\n4\ttotal'
	run -0 vb-frame --last 2 -i f s.vb
	assert_output $'f\t16\t1\nf\t18\t2\ns.vb\t8\t1\ns.vb\t10\t1'
	run -0 bash -c 'vb-frame --last 1 f - f < s.vb'
	assert_output $'10\n6\n10'
}

@test "--last: a file on stdin is read from where it stands; a pipe is an error" {
	seq 1 10 > f
	run -0 bash -c 'vb-frame --last 3 < f'
	assert_output $'8\n9\n10'
	# offsets count from where stdin stood, as forward framing's do
	run -0 bash -c '(read -r x; vb-frame --last 2 -i) < f'
	assert_output $'14\t1\n16\t2'
	run -0 bash -c '(read -r x; vb-frame -i) < f | tail -n 2'
	assert_output $'14\t1\n16\t2'
	run -0 bash -c '(read -r x; read -r x; vb-frame --last 100) < f'
	assert_output "$(seq 3 10)"
	run -0 bash -c '(read -r x; vb-frame --last 100 -c) < f'
	assert_output 9
	# a pipe or a device: one forward pass that holds the last N (issue 16)
	run -0 --separate-stderr bash -c 'seq 1 10 | vb-frame --last 3'
	assert_output $'8\n9\n10'
	assert_equal "$stderr" ''
	run -0 bash -c 'seq 1 10 | vb-frame --last 1 f - f'
	assert_output $'10\n10\n10'
	run -0 vb-frame --last 1 /dev/null
	assert_output ''
}

@test "--last N on a pipe, with -L (one forward pass, N records held) and with -F (found by seeking in a file)" {
	seq 1 1000 > f
	for n in 1 3 999 1000 5000; do
		cmp <(cat f | vb-frame --last "$n") <(tail -n "$n" f)
		cmp <(cat f | vb-frame --last "$n" -i) <(vb-frame --last "$n" -i f)
		cmp <(cat f | vb-frame --last "$n" -c) <(vb-frame --last "$n" -c f)
		cmp <(cat f | vb-frame --last "$n" -z) <(vb-frame -z f | tail -z -n "$n")
	done
	# -L: from a file and from a pipe alike, index and count too
	vb-frame --to-length-prefix u16be f > lp
	for n in 1 7 1000 1001; do
		cmp <(vb-frame -L u16be --last "$n" lp) <(tail -n "$n" f)
		cmp <(cat lp | vb-frame -L u16be --last "$n" -k) <(vb-frame -L u16be -k lp | tail -c +$(( $(vb-frame -L u16be -i -k lp | tail -n "$n" | head -n 1 | cut -f1) + 1 )))
	done
	run -0 vb-frame -L u16be --last 2 -i lp
	assert_output "$(vb-frame -L u16be -i lp | tail -n 2)"
	run -0 vb-frame -L u16be --last 5 -c lp
	assert_output 5
	# -F: the last records start at a multiple of the size; a short last
	# record is one unless --final=drop leaves it out
	printf 'abcdefghij' > f10
	run -0 vb-frame -F 3 --last 2 f10
	assert_output 'ghij'
	run -0 vb-frame -F 3 --last 2 --final=drop f10
	assert_output 'defghi'
	run -0 bash -c 'cat f10 | vb-frame -F 3 --last 2 -i'
	assert_output $'6\t3\n9\t1'
	run -1 --separate-stderr vb-frame -F 3 --last 1 --final=error f10
	assert_equal "$stderr" 'vb-frame: f10: the last record (4 at offset 9) is shorter than --fixed'
	# a record over --max-size fails only if it is one of the last N
	{ head -c 100 /dev/zero | tr '\0' y; echo; seq 1 3; } > h
	run -0 bash -c 'cat h | vb-frame --last 3 --max-size 50'
	assert_output $'1\n2\n3'
	run -1 --separate-stderr bash -c 'cat h | vb-frame --last 4 --max-size 50'
	assert_output ''
	assert_equal "$stderr" 'vb-frame: -: record 1 at offset 0 is larger than --max-size (50 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -0 --separate-stderr bash -c 'cat h | vb-frame --last 4 --max-size 50 --oversize=skip'
	assert_output $'1\n2\n3'
	# a malformed input writes none of its last records
	printf '\000\002ab\000\011x' > bad
	run -1 --separate-stderr bash -c 'cat bad | vb-frame -L u16be --last 5'
	assert_output ''
	assert_equal "$stderr" 'vb-frame: -: the last frame (record 2 at offset 4) is truncated'
}

@test "--last with --oversize: the last N records that pass, each warning once" {
	{ seq 1 10; head -c 100 /dev/zero | tr '\0' y; echo; seq 1 3; } > h
	run -1 --separate-stderr vb-frame --last 5 --max-size 50 h
	assert_output ''
	assert_equal "$stderr" 'vb-frame: h: record at offset 21 is larger than --max-size (50 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -0 --separate-stderr vb-frame --last 5 --max-size 50 --oversize=skip h
	assert_output $'9\n10\n1\n2\n3'
	assert_equal "$stderr" 'vb-frame: h: warning: record at offset 21 skipped: larger than --max-size (50 bytes)'
	run -0 --separate-stderr vb-frame --last 5 --max-size 50 --oversize=skip -c h
	assert_output 5
	run -0 --separate-stderr vb-frame --last 3 --max-size 50 --oversize=skip h
	assert_output $'1\n2\n3'
	assert_equal "$stderr" ''
	# --index gives true lengths, truncated or not (issue 14, item 2)
	run -0 vb-frame --last 4 --max-size 50 --oversize=truncate -i h
	assert_output $'21\t100\n122\t1\n124\t1\n126\t1'
	# several skipped records in a row
	{ seq 1 10; for i in 1 2 3 4; do head -c 100 /dev/zero | tr '\0' y; echo; done; echo last; } > h2
	run -0 --separate-stderr vb-frame --last 3 --max-size 50 --oversize=skip h2
	assert_output $'9\n10\nlast'
	assert_equal "${#stderr_lines[@]}" 4
	cmp <(vb-frame --last 3 --max-size 50 --oversize=skip h2 2>/dev/null) \
	    <(vb-frame --max-size 50 --oversize=skip h2 2>/dev/null | tail -n 3)
}

@test "--last: usage errors" {
	seq 1 3 > f
	run vb-frame --last 0 f
	assert_usage_error vb-frame '--last needs at least 1 record'
	run vb-frame --last x f
	assert_usage_error vb-frame "invalid record count 'x'"
	run vb-frame --last -1 f
	assert_usage_error vb-frame "invalid record count '-1' (a record count cannot be negative)"
	run vb-frame --last 1 -n 2 f
	assert_usage_error vb-frame '--last and --records cannot be used together'
	local sync='--last needs a one-byte delimiter that appears in no other delimiter except at its end (as \n does for -l), so that reading backward finds where records start'
	run vb-frame --last 1 -d ab f
	assert_usage_error vb-frame "$sync"
	run vb-frame --last 1 -d '\r\n' f
	assert_usage_error vb-frame "$sync"
	run vb-frame --last 1 -d a -d ab f
	assert_usage_error vb-frame "$sync"
	run vb-frame --last 1 -d x -d xy f
	assert_usage_error vb-frame "$sync"
}

# ------------------------------------------------------------ --max-size

@test "--max-size with --oversize=error (the default), skip and truncate" {
	printf 'ab\nabcdefgh\ncd\nxyzxyzxyz' > in
	local msg='vb-frame: in: record 2 at offset 3 is larger than --max-size (4 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -1 --separate-stderr vb-frame --max-size 4 in
	assert_output ab
	assert_equal "$stderr" "$msg"
	run -1 --separate-stderr vb-frame --max-size 4 --oversize=error in
	assert_output ab
	assert_equal "$stderr" "$msg"
	run -0 --separate-stderr vb-frame --max-size 4 --oversize=skip in
	assert_output $'ab\ncd'
	assert_equal "$stderr" 'vb-frame: in: warning: record 2 at offset 3 skipped: larger than --max-size (4 bytes)
vb-frame: in: warning: record 4 at offset 15 skipped: larger than --max-size (4 bytes)'
	run -0 --separate-stderr vb-frame --max-size 4 --oversize=truncate in
	assert_output $'ab\nabcd\ncd\nxyzx'
	assert_equal "$stderr" ''
	# a record of exactly --max-size bytes fits
	run -0 vb-frame --max-size 8 -n 2 in
	assert_output abcdefgh
	# skipped records are not counted; unwanted ones are not reported
	run -0 --separate-stderr vb-frame --max-size 4 --oversize=skip -c -n 3- in
	assert_output 1
	assert_equal "$stderr" 'vb-frame: in: warning: record 4 at offset 15 skipped: larger than --max-size (4 bytes)'
	run -0 --separate-stderr vb-frame --max-size 4 --oversize=skip -i in
	assert_output $'0\t2\n12\t2'
	run -0 vb-frame --max-size 1K --oversize=skip in
	assert_output $'ab\nabcdefgh\ncd\nxyzxyzxyz'
}

@test "a 50 MiB record with --max-size 1M: the error comes early, skip goes on after it" {
	# the producer fails (SIGPIPE, or EPIPE where SIGPIPE is ignored) only
	# if vb-frame stops reading long before the end of the record
	run -0 --separate-stderr bash -c 'head -c 50M /dev/zero 2> /dev/null | vb-frame --max-size 1M; echo "${PIPESTATUS[*]}"'
	assert_output --regexp '^[1-9][0-9]* 1$'
	assert_equal "$stderr" 'vb-frame: -: record 1 at offset 0 is larger than --max-size (1048576 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	big() { echo first; head -c 50M /dev/zero; printf '\nlast\n'; }
	big | vb-frame --max-size 1M --oversize=skip > out 2> err
	assert_bytes out 'first\nlast\n'
	assert_equal "$(cat err)" 'vb-frame: -: warning: record 2 at offset 6 skipped: larger than --max-size (1048576 bytes)'
	big | vb-frame --max-size 1M --oversize=truncate | cmp - <(echo first; head -c 1M /dev/zero; printf '\nlast\n')
	big | vb-frame --max-size 1M --oversize=skip --index > out
	assert_bytes out '0\t5\n52428807\t4\n'
	# the record is never held whole (peak memory from GNU time, if installed)
	local gnu_time
	if gnu_time=$(type -P time); then
		big | "$gnu_time" -f %M -o rss vb-frame --max-size 1M --oversize=skip > /dev/null 2>&1
		[ "$(cat rss)" -lt 32768 ]
	fi
}

@test "oversized length-prefixed frames: error, skip, truncate" {
	frames u16be in "b'ab'" "b'x' * 5000" "b'cd'"
	run -1 --separate-stderr vb-frame -L u16be --max-size 1K in
	assert_output ab
	assert_equal "$stderr" 'vb-frame: in: record 2 at offset 4 is larger than --max-size (1024 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -0 --separate-stderr vb-frame -L u16be --max-size 1K --oversize=skip in
	assert_output $'ab\ncd'
	assert_equal "$stderr" 'vb-frame: in: warning: record 2 at offset 4 skipped: larger than --max-size (1024 bytes)'
	vb-frame -L u16be --max-size 1K --oversize=truncate in > out
	cmp out <(echo ab; head -c 1024 /dev/zero | tr '\0' x; echo; echo cd)
	# a frame of 50 MiB is skipped without holding it
	big() { printf '\003\0\0\0one\0\0\040\003'; head -c 50M /dev/zero; printf '\003\0\0\0two'; }
	big | vb-frame -L u32le --max-size 1M --oversize=skip > out 2> err
	assert_bytes out 'one\ntwo\n'
	assert_equal "$(cat err)" 'vb-frame: -: warning: record 2 at offset 7 skipped: larger than --max-size (1048576 bytes)'
	big | vb-frame -L u32le --max-size 1M --oversize=skip -c > out 2> /dev/null
	assert_bytes out '2\n'
	# counting with --final=emit takes the same path
	run -0 --separate-stderr vb-frame -L u16be --max-size 1K --oversize=skip --final=emit -c in
	assert_output 2
	local gnu_time
	if gnu_time=$(type -P time); then
		big | "$gnu_time" -f %M -o rss vb-frame -L u32le --max-size 1M --oversize=skip > /dev/null 2>&1
		[ "$(cat rss)" -lt 32768 ]
	fi
	# the input ending inside an oversized frame: the frame is the
	# incomplete last record, --final's (error by default with -L), not
	# skipped
	run -1 --separate-stderr bash -c "printf '\002ab\377abc' | vb-frame -L u8 --max-size 4 --oversize=skip"
	assert_output ab
	assert_equal "$stderr" 'vb-frame: -: the last frame (record 2 at offset 3) is truncated'
}

@test "--fixed larger than --max-size: no phantom record at the end of input" {
	# every record is oversized; the end of input is not one more record,
	# and a short last record that fits is an ordinary record
	run -0 bash -c 'vb-frame -F 5 --max-size 4 < /dev/null'
	assert_output ''
	run -0 --separate-stderr bash -c 'printf abcdefghij | vb-frame -F 5 --max-size 4 --oversize=skip'
	assert_output ''
	assert_equal "$stderr" 'vb-frame: -: warning: record 1 at offset 0 skipped: larger than --max-size (4 bytes)
vb-frame: -: warning: record 2 at offset 5 skipped: larger than --max-size (4 bytes)'
	run -0 --separate-stderr bash -c 'printf abcdefg | vb-frame -F 5 --max-size 4 --oversize=skip'
	assert_output fg
	run -0 --separate-stderr bash -c 'printf abcdefg | vb-frame -F 5 --max-size 4 --oversize=truncate'
	assert_output abcdfg
	assert_equal "$stderr" ''
	run -0 --separate-stderr timeout 20 bash -c 'printf abcdefg | vb-frame -F 5 --max-size 4 --oversize=skip -c'
	assert_output 1
}

@test "--count and --index need no record's bytes: a record over --max-size is counted and indexed with its true length" {
	{ echo one; head -c 3000 /dev/zero | tr '\0' x; printf '\ntwo\nend'; } > big
	run -0 --separate-stderr vb-frame -c --max-size=1000 big
	assert_output 4
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-frame -i --max-size=1000 big
	assert_output $'0\t3\n4\t3000\n3005\t3\n3009\t3'
	assert_equal "$stderr" ''
	# issue 14's case: --oversize=truncate truncates what is written, not
	# what --index reports (it reported 1000)
	run -0 --separate-stderr vb-frame -i --max-size=1000 --oversize=truncate big
	assert_output $'0\t3\n4\t3000\n3005\t3\n3009\t3'
	run -0 --separate-stderr vb-frame -i -k --max-size=1000 --oversize=truncate big
	assert_output $'0\t4\n4\t3001\n3005\t4\n3009\t3'
	run -0 vb-frame -c --max-size=1000 --oversize=truncate big
	assert_output 4
	# the same through a pipe, with -n, --last and --final
	run -0 bash -c 'cat big | vb-frame -i --max-size=1000 -n 2'
	assert_output $'4\t3000'
	run -0 vb-frame -i --max-size=1000 --last 3 big
	assert_output $'4\t3000\n3005\t3\n3009\t3'
	run -0 vb-frame -c --max-size=1000 --last 3 big
	assert_output 3
	head -c 3004 big > cut
	run -0 vb-frame -i --max-size=1000 --final=drop cut
	assert_output $'0\t3'
	run -1 --separate-stderr vb-frame -c --max-size=1000 --final=error cut
	assert_output ''
	assert_equal "$stderr" 'vb-frame: cut: the last record (2 at offset 4) has no delimiter'
	# --oversize=skip still leaves it out, with its warning
	run -0 --separate-stderr vb-frame -i --max-size=1000 --oversize=skip big
	assert_output $'0\t3\n3005\t3\n3009\t3'
	assert_equal "$stderr" 'vb-frame: big: warning: record 2 at offset 4 skipped: larger than --max-size (1000 bytes)'
	run -0 --separate-stderr vb-frame -c --max-size=1000 --oversize=skip big
	assert_output 3
	# a length prefix and a fixed size
	frames u16be lp "b'ab'" "b'x' * 5000" "b'cd'"
	run -0 vb-frame -L u16be -i --max-size 1K lp
	assert_output $'2\t2\n6\t5000\n5008\t2'
	run -0 vb-frame -L u16be -i -k --max-size 1K --oversize=truncate lp
	assert_output $'0\t4\n4\t5002\n5006\t4'
	run -0 vb-frame -L u16be -c --max-size 1K lp
	assert_output 3
	run -0 vb-frame -F 2000 -i --max-size 1K big
	assert_output $'0\t2000\n2000\t1012'
	# the ranges remove exactly the records from a store, and a store
	# input is left as it was
	vb-insert --base big s.vb 0 --text ''
	cksum s.vb > before
	run -0 vb-frame -i -k --max-size=1000 -n 2-3 s.vb
	assert_output $'4\t3001\n3005\t4'
	cksum s.vb | cmp - before
	vb-frame -i -k --max-size=1000 -n 2-3 s.vb | vb-delete --ranges - s.vb
	run -0 vb-cat s.vb
	assert_output $'one\nend'
}

@test "--final decides a frame cut off by the end of input, even one larger than --max-size (-L)" {
	# the header says 9 bytes follow; 4 do: a frame of 13 bytes, cut at 8
	printf '\0\0\0\x09abcd' > cut
	run -0 --separate-stderr vb-frame -L u32be --max-size=5 --oversize=skip --final=drop cut
	assert_output ''
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-frame -L u32be --max-size=5 --oversize=truncate --final=drop cut
	assert_output ''
	assert_equal "$stderr" ''
	run -1 --separate-stderr vb-frame -L u32be --max-size=5 --oversize=skip --final=error cut
	assert_output ''
	assert_equal "$stderr" 'vb-frame: cut: the last frame (record 1 at offset 0) is truncated'
	run -1 --separate-stderr vb-frame -L u32be --max-size=5 --oversize=truncate cut
	assert_equal "$stderr" 'vb-frame: cut: the last frame (record 1 at offset 0) is truncated'
	# emitted, it is a record like any other: --oversize applies to it
	run -0 --separate-stderr vb-frame -L u32be --max-size=5 --oversize=skip --final=emit cut
	assert_output ''
	assert_equal "$stderr" 'vb-frame: cut: warning: record 1 at offset 0 skipped: larger than --max-size (5 bytes)'
	run -0 --separate-stderr vb-frame -L u32be --max-size=5 --oversize=truncate --final=emit cut
	assert_output abcd
	assert_equal "$stderr" ''
	# the same through a pipe
	run -0 --separate-stderr bash -c "printf '\0\0\0\x09abcd' | vb-frame -L u32be --max-size=5 --oversize=skip --final=drop"
	assert_output ''
	assert_equal "$stderr" ''
}

@test "--final decides an incomplete last record with delimiters and -F, whatever --oversize says" {
	printf 'ab\nabcdefgh' > in
	# truncate wrote part of a record that --final=drop drops
	run -0 --separate-stderr vb-frame -d '\n' --max-size=5 --oversize=truncate --final=drop in
	assert_output ab
	assert_equal "$stderr" ''
	run -0 --separate-stderr bash -c "printf 'ab\nabcdefgh' | vb-frame -d '\n' --max-size=5 --oversize=truncate --final=drop"
	assert_output ab
	# skip passed over a record that --final=error fails on
	run -1 --separate-stderr vb-frame -d '\n' --max-size=5 --oversize=skip --final=error in
	assert_output ab
	assert_equal "$stderr" 'vb-frame: in: the last record (2 at offset 3) has no delimiter'
	printf abcdefgh > f8
	run -1 --separate-stderr vb-frame -F 10 --final=error f8
	assert_output ''
	assert_equal "$stderr" 'vb-frame: f8: the last record (1 at offset 0) is shorter than --fixed'
	run -1 --separate-stderr vb-frame -F 10 --max-size=5 --oversize=skip --final=error f8
	assert_equal "$stderr" 'vb-frame: f8: the last record (1 at offset 0) is shorter than --fixed'
	run -1 --separate-stderr bash -c 'printf abcdefgh | vb-frame -F 10 --max-size=5 --oversize=skip --final=error'
	assert_equal "$stderr" 'vb-frame: -: the last record (1 at offset 0) is shorter than --fixed'
	run -0 --separate-stderr vb-frame -F 10 --max-size=5 --oversize=truncate --final=drop f8
	assert_output ''
	assert_equal "$stderr" ''
	# a complete record that is too large stays --oversize's: its first
	# bytes are held until its end shows it complete, then written
	printf 'ab\nabcdefgh\nxy' > in2
	run -0 --separate-stderr vb-frame --max-size=5 --oversize=truncate --final=drop in2
	assert_output $'ab\nabcde'
	vb-frame --max-size=5 --oversize=truncate --final=error --to-length-prefix u8 in2 > out || :
	assert_bytes out '\002ab\005abcde'
	run -0 vb-frame --max-size=5 --oversize=truncate --final=drop -i in2
	assert_output $'0\t2\n3\t8'
	run -0 vb-frame --max-size=5 --oversize=truncate --final=drop -c in2
	assert_output 2
	# and under --oversize=error, with --final=drop, it is read to its
	# end: too large if complete, dropped if not
	run -1 --separate-stderr vb-frame --max-size=5 --final=drop in2
	assert_output ab
	assert_equal "$stderr" 'vb-frame: in2: record 2 at offset 3 is larger than --max-size (5 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	run -0 --separate-stderr vb-frame --max-size=5 --final=drop in
	assert_output ab
	assert_equal "$stderr" ''
	# truncation stays inside its frame: with --strip=8 a 10-byte frame
	# holds a record of 2 bytes
	printf '\011abcdefghi\001z' > st
	vb-frame -L u8 --strip=8 --max-size=5 --oversize=truncate -n 1 st > out
	assert_bytes out 'hi\n'
	vb-frame -L u8 --strip=8 --max-size=5 --oversize=truncate --final=drop -n 1 st > out
	assert_bytes out 'hi\n'
}

@test "a 50 MiB record, --oversize=truncate and --final=drop: held to --max-size while read through" {
	big() { echo first; head -c 50M /dev/zero; printf '\nlast\n'; }
	big | vb-frame --max-size 1M --oversize=truncate --final=drop | cmp - <(echo first; head -c 1M /dev/zero; printf '\nlast\n')
	big | VB_BUFFER=segmented vb-frame --max-size 1M --oversize=truncate --final=error | cmp - <(echo first; head -c 1M /dev/zero; printf '\nlast\n')
	# cut off: dropped, or an error
	run -0 bash -c 'big() { echo first; head -c 50M /dev/zero; }; big | vb-frame --max-size 1M --oversize=truncate --final=drop | wc -c'
	assert_output 6
	frames u32le lp "b'one'"
	{ cat lp; printf '\0\0\040\003'; head -c 10M /dev/zero; } > lpcut
	run -1 --separate-stderr vb-frame -L u32le --max-size 1M --oversize=truncate lpcut
	assert_output one
	assert_equal "$stderr" 'vb-frame: lpcut: the last frame (record 2 at offset 7) is truncated'
	# what is held is the first --max-size bytes, not the record (peak
	# memory from GNU time, if installed)
	local gnu_time
	if gnu_time=$(type -P time); then
		big | "$gnu_time" -f %M -o rss vb-frame --max-size 1M --oversize=truncate --final=drop > /dev/null 2>&1
		[ "$(cat rss)" -lt 32768 ]
	fi
}

# The one rule of --oversize and --final (vb_frame_policy_fate in
# lib/frame.h, and the man page) for every framing.  The fate of the last
# record, by its kind:
#   small  the incomplete last record, within --max-size;
#   big    the incomplete last record, larger than --max-size;
#   whole  a complete last record, larger than --max-size;
# for --oversize error, skip, truncate (groups) and --final emit, drop,
# error (in each group):
#   E written, T its first --max-size bytes written, S skipped with a
#   warning, D dropped, FS fails as too large, FF fails as incomplete.
FATES_small='E D FF  E D FF  E D FF'
FATES_big='FS D FS  S D FF  T D FF'
FATES_whole='FS FS FS  S S S  T T T'

# matrix_case KIND ARGS INPUT BEFORE N OFF RECORD FINALMSG: with
# vb-frame ARGS --max-size=5 on the bytes `printf INPUT`, the records
# before the last are written as `printf BEFORE`; the last is record N at
# offset OFF, written as `printf RECORD` (for T: its first 5 bytes), and
# FINALMSG is what --final=error says.  Checked from a file and from a
# pipe that delivers one byte at a time, and with --count and --index
# (which hold no record: only skip of --oversize applies to them).  (Few
# forks per case: the machine may be busy.)
matrix_case() {
	local kind=$1 args=$2 input=$3 before=$4 n=$5 off=$6 record=$7 finalmsg=$8
	local fates=FATES_$kind i=0 o f fate status count nbefore src name st ctx want_err k
	# (an output delimiter, last in ARGS, is not for --count and --index)
	local cargs=${args% --output-delimiter=*}
	local too="record $n at offset $off is larger than --max-size (5 bytes); raise --max-size or use --oversize=skip or --oversize=truncate"
	local skipped="warning: record $n at offset $off skipped: larger than --max-size (5 bytes)"
	local -a lines
	fates=(${!fates})
	printf "$input" > m.in
	[ -p idle ] || mkfifo idle
	exec 9<> idle
	trickle "$input" | cmp - m.in
	# the expected outputs: the records before, and the last written whole
	# or truncated
	printf "$before" > exp.S
	cp exp.S exp.D
	cp exp.S exp.FS
	cp exp.S exp.FF
	printf "$before$record\n" > exp.E
	{ printf "$before"; printf "$record" | head -c 5; echo; } > exp.T
	mapfile -t lines < exp.S
	nbefore=${#lines[@]}
	for o in error skip truncate; do
		for f in emit drop error; do
			fate=${fates[i++]}
			status=0 count=$nbefore want_err=
			case $fate in
			E|T) count=$((nbefore + 1)) ;;
			S) want_err=$skipped ;;
			FS) want_err=$too status=1 ;;
			FF) want_err=$finalmsg status=1 ;;
			esac
			for src in file pipe; do
				name=m.in
				if [ $src = file ]; then
					vb-frame $args --max-size=5 --oversize=$o --final=$f m.in > out 2> err && st=0 || st=$?
				else
					name=-
					trickle "$input" 2> /dev/null | vb-frame $args --max-size=5 --oversize=$o --final=$f > out 2> err && st=0 || st=$?
				fi
				ctx="[$args] $kind --oversize=$o --final=$f ($src): fate $fate"
				[ "$st" = "$status" ] || { echo "$ctx: status $st, expected $status" >&2; return 1; }
				cmp -s out exp.$fate || { echo "$ctx: output differs" >&2; assert_bytes out "$(<exp.$fate)"; return 1; }
				mapfile -t lines < err
				if [ -z "$want_err" ]; then
					[ ${#lines[@]} = 0 ] || { echo "$ctx: stderr '${lines[*]}', expected none" >&2; return 1; }
				else
					[ ${#lines[@]} = 1 ] && [ "${lines[0]}" = "vb-frame: $name: $want_err" ] ||
						{ echo "$ctx: stderr '${lines[*]}', expected 'vb-frame: $name: $want_err'" >&2; return 1; }
				fi
			done
			# --count and --index need no record's bytes: error and
			# truncate do not apply to them (the record is counted,
			# or indexed with its true length), skip still leaves a
			# large record out, and --final decides as ever
			if [ $o != skip ]; then
				case $kind/$f in
				whole/*|*/emit) fate=E ;;
				*/drop) fate=D ;;
				*) fate=FF ;;
				esac
			fi
			status=0 count=$nbefore
			case $fate in
			E) count=$((nbefore + 1)) ;;
			FF|FS) status=1 ;;
			esac
			# counting takes other paths; a failed input prints no count
			vb-frame $cargs --max-size=5 --oversize=$o --final=$f -c m.in > out 2> err && st=0 || st=$?
			mapfile -t lines < out
			[ "$st" = "$status" ] || { echo "[$args] $kind $o $f -c: status $st, expected $status" >&2; return 1; }
			[ "$status" = 1 ] || [ "${lines[*]}" = "$count" ] ||
				{ echo "[$args] $kind $o $f -c: '${lines[*]}', expected $count" >&2; return 1; }
			[ $o != skip ] || continue
			# and --index (with --keep too) as if --max-size were large
			for k in "" -k; do
				vb-frame $cargs --max-size=5 --oversize=$o --final=$f -i $k m.in > out 2> err && st=0 || st=$?
				vb-frame $cargs --final=$f -i $k m.in > exp.i 2> exp.err && status=0 || status=$?
				ctx="[$args] $kind $o $f -i $k"
				[ "$st" = "$status" ] || { echo "$ctx: status $st, expected $status" >&2; return 1; }
				cmp -s out exp.i || { echo "$ctx: '$(<out)', expected '$(<exp.i)'" >&2; return 1; }
				cmp -s err exp.err || { echo "$ctx: stderr '$(<err)', expected '$(<exp.err)'" >&2; return 1; }
			done
		done
	done
}

# trickle FORMAT: write the bytes of `printf FORMAT` one at a time, with a
# pause after each (so that each comes in a read of its own, as far as
# the pipe lets us), without a process per byte: the pause is a read that
# times out on fd 9, a FIFO no one writes to (made by matrix_case).
trickle() {
	local fmt=$1 unit
	while [ -n "$fmt" ]; do
		[[ $fmt =~ ^(\\x[0-9a-fA-F]{1,2}|\\[0-7]{1,3}|\\.|.) ]]
		unit=${BASH_REMATCH[1]}
		fmt=${fmt:${#unit}}
		printf "$unit"
		read -r -t 0.002 -u 9 || :
	done
}

@test "--oversize and --final, one rule for every framing: delimiters" {
	local nodelim='the last record (2 at offset 3) has no delimiter'
	matrix_case small "-d \\n" 'ok\nabc' 'ok\n' 2 3 abc "$nodelim"
	matrix_case big "-d \\n" 'ok\nabcdefgh' 'ok\n' 2 3 abcdefgh "$nodelim"
	matrix_case whole "-d \\n" 'ok\nabcdefgh\n' 'ok\n' 2 3 abcdefgh "$nodelim"
	matrix_case big "-d \\n" 'ok\nabcdef' 'ok\n' 2 3 abcdef "$nodelim"
	local crlf='the last record (2 at offset 4) has no delimiter'
	matrix_case small -l 'ok\r\nabc' 'ok\n' 2 4 abc "$crlf"
	matrix_case big -l 'ok\r\nabcdefgh' 'ok\n' 2 4 abcdefgh "$crlf"
	matrix_case whole -l 'ok\r\nabcdefgh\r\n' 'ok\n' 2 4 abcdefgh "$crlf"
	matrix_case whole -l 'ok\r\nabcdefgh\r' 'ok\n' 2 4 abcdefgh "$crlf"
	matrix_case small -0 'ok\0abc' 'ok\n' 2 3 abc "$nodelim"
	matrix_case big -0 'ok\0abcdefgh' 'ok\n' 2 3 abcdefgh "$nodelim"
	matrix_case whole -0 'ok\0abcdefgh\0' 'ok\n' 2 3 abcdefgh "$nodelim"
	# a delimiter of several bytes, begun but not finished at the end
	local long='the last record (2 at offset 5) has no delimiter'
	matrix_case small "-d <=>" 'ok<=>ab<=' 'ok\n' 2 5 'ab<=' "$long"
	matrix_case big "-d <=>" 'ok<=>abcdefg<=' 'ok\n' 2 5 'abcdefg<=' "$long"
	matrix_case whole "-d <=>" 'ok<=>abcdefgh<=>' 'ok\n' 2 5 abcdefgh "$long"
}

@test "--oversize and --final, one rule for every framing: -F" {
	# -F 8 over --max-size 5: every complete record is too large; a
	# short last one is as large as its bytes
	# (written one a line: by default -F adds nothing)
	local short='the last record (1 at offset 0) is shorter than --fixed' nl='--output-delimiter=\n'
	matrix_case small "-F 8 $nl" 'abc' '' 1 0 abc "$short"
	matrix_case big "-F 8 $nl" 'abcdefg' '' 1 0 abcdefg "$short"
	matrix_case whole "-F 8 $nl" 'abcdefgh' '' 1 0 abcdefgh "$short"
	matrix_case small "-F 4 $nl" 'abcdxy' 'abcd\n' 2 4 xy 'the last record (2 at offset 4) is shorter than --fixed'
}

@test "--oversize and --final, one rule for every framing: -L" {
	# a frame's size is what its header says, header included
	local cut='the last frame (record 2 at offset 3) is truncated'
	matrix_case small "-L u8" '\002ok\003ab' 'ok\n' 2 3 ab "$cut"
	matrix_case big "-L u8" '\002ok\011abcdefg' 'ok\n' 2 3 abcdefg "$cut"
	matrix_case big "-L u8" '\002ok\011ab' 'ok\n' 2 3 ab "$cut"
	matrix_case whole "-L u8" '\002ok\011abcdefghi' 'ok\n' 2 3 abcdefghi "$cut"
	matrix_case big "-L u32be" '\0\0\0\011abcd' '' 1 0 abcd 'the last frame (record 1 at offset 0) is truncated'
	matrix_case whole "-L varint" '\002ok\012abcdefghij' 'ok\n' 2 3 abcdefghij "$cut"
	# (a varint cut short is a header cut short: the record is its bytes)
	matrix_case small "-L varint" '\002ok\200' 'ok\n' 2 3 '\200' "$cut"
	# the input ends inside the header: the bytes there are the record
	local head='the last frame (record 1 at offset 0) is truncated'
	matrix_case small "-L u16be --length-offset 6" 'HHH' '' 1 0 HHH "$head"
	matrix_case big "-L u16be --length-offset 6" 'HHHHHHH' '' 1 0 HHHHHHH "$head"
}

# ------------------------------------------------------------ output

@test "-k/--keep gives the input back byte for byte" {
	python3 - <<'PY'
import random
r = random.Random(5)
parts = []
for i in range(20000):
    parts.append(bytes(r.randrange(256) for _ in range(r.choice([0, 1, 3, 20, 200]))))
    parts.append(r.choice([b'\n', b'\r\n', b'\r', b'<=>', b'\0']))
open('in', 'wb').write(b''.join(parts) + b'tail\r')
PY
	vb-frame -l -k < in | cmp - in
	vb-frame --keep in | cmp - in
	vb-frame -d '<=>' -d '<=' -d '\r\n' -k in | cmp - in
	vb-frame -0 -k in | cmp - in
	vb-frame -F 7 -k in | cmp - in
	vb-frame --to-length-prefix varint in > lp
	vb-frame -L varint -k lp | cmp - lp
	# records and delimiters are the input, in order
	[ "$(vb-frame -i -k in | awk '{ n += $2 } END { print n }')" -eq "$(stat -c %s in)" ]
}

@test "-z, --output-delimiter with escapes, empty" {
	printf 'a\nbb\r\nc' > in
	# (-z with a framing: NUL ends the records written)
	vb-frame -l -z in > out
	assert_bytes out 'a\0bb\0c\0'
	vb-frame --lines --zero in > out
	assert_bytes out 'a\0bb\0c\0'
	vb-frame --output-delimiter '\r\n\t\x41\\' in > out
	assert_bytes out 'a\r\n\tA\\bb\r\n\tA\\c\r\n\tA\\'
	vb-frame --output-delimiter=, in > out
	assert_bytes out 'a,bb,c,'
	vb-frame --output-delimiter '' in > out
	assert_bytes out 'abbc'
	vb-frame --output-delimiter '\0' in > out
	assert_bytes out 'a\0bb\0c\0'
	# -0 and -z: NUL lists in and out
	printf 'x\0y\0' > nul
	vb-frame -0 -z nul | cmp - nul
}

@test "--to-length-prefix: every SPEC round trips; a record too large for the field fails" {
	{ seq 1 1000; echo; head -c 300 /dev/zero | tr '\0' x; echo; } > lines
	for spec in $SPECS; do
		in=lines
		if [ "$spec" = u8 ]; then
			seq 1 1000 > short
			in=short
		fi
		vb-frame -l --to-length-prefix "$spec" "$in" | vb-frame -L "$spec" | cmp - "$in"
	done
	vb-frame --to-length-prefix u32be -n 1-2 lines > out
	assert_bytes out '\0\0\0\0011\0\0\0\0012'
	vb-frame --to-length-prefix u16le -n 1001 lines > out
	assert_bytes out '\0\0'
	vb-frame --to-length-prefix varint -n 1002 lines | head -c 2 > out
	assert_bytes out '\254\002'
	# 255 bytes fit a u8, 256 do not; the records before are written
	{ echo ab; head -c 255 /dev/zero | tr '\0' y; echo; head -c 256 /dev/zero | tr '\0' z; printf '\ncd\n'; } > in
	run -1 --separate-stderr vb-frame --to-length-prefix u8 in
	assert_equal "$stderr" 'vb-frame: in: record 3 at offset 259: a record of 256 bytes does not fit a 1-byte length field'
	vb-frame --to-length-prefix u8 in > out 2> /dev/null || :
	cmp out <(printf '\002ab\377'; head -c 255 /dev/zero | tr '\0' y)
	head -c 65536 /dev/zero > z64
	run -1 --separate-stderr vb-frame --to-length-prefix u16be z64
	assert_equal "$stderr" 'vb-frame: z64: record 1 at offset 0: a record of 65536 bytes does not fit a 2-byte length field'
	run -0 bash -c 'head -c 65535 z64 | vb-frame --to-length-prefix u16be | vb-frame -L u16be -c'
	assert_output 1
}

@test "--final=emit|drop|error for a last record without its delimiter" {
	printf 'a\nb' > in
	run -0 vb-frame in
	assert_output $'a\nb'
	run -0 vb-frame --final=emit -i in
	assert_output $'0\t1\n2\t1'
	run -0 vb-frame --final=drop in
	assert_output a
	run -1 --separate-stderr vb-frame --final=error in
	assert_output a
	assert_equal "$stderr" 'vb-frame: in: the last record (2 at offset 2) has no delimiter'
	printf 'a\n' > ok
	run -0 vb-frame --final=error ok
	assert_output a
	# -k writes the last record as it was: without a delimiter
	vb-frame -k in > out
	assert_bytes out 'a\nb'
}

@test "length prefix: a truncated last frame is an error unless --final says otherwise" {
	printf '\003abc\002d' > in
	run -1 --separate-stderr vb-frame -L u8 in
	assert_output abc
	assert_equal "$stderr" 'vb-frame: in: the last frame (record 2 at offset 4) is truncated'
	run -1 --separate-stderr vb-frame -L u8 --final=error in
	assert_equal "$stderr" 'vb-frame: in: the last frame (record 2 at offset 4) is truncated'
	run -0 --separate-stderr vb-frame -L u8 --final=drop in
	assert_output abc
	assert_equal "$stderr" ''
	# the header is complete: emitted without it, like any record
	vb-frame -L u8 --final=emit in > out
	assert_bytes out 'abc\nd\n'
	run -0 vb-frame -L u8 --final=emit -i in
	assert_output $'1\t3\n5\t1'
	# with --keep, as it was
	vb-frame -L u8 --final=emit --keep in > out
	assert_bytes out '\003abc\002d'
	run -0 vb-frame -L u8 --final=emit -c in
	assert_output 2
	# a header cut short, and a field offset beyond the end
	run -1 --separate-stderr bash -c "printf '\0\003abc\0' | vb-frame -L u16be"
	assert_output abc
	assert_equal "$stderr" 'vb-frame: -: the last frame (record 2 at offset 5) is truncated'
	run -1 --separate-stderr bash -c "printf 'ab' | vb-frame -L u8 --length-offset 4"
	assert_equal "$stderr" 'vb-frame: -: the last frame (record 1 at offset 0) is truncated'
	# the same for fixed records (emit is their default)
	run -0 bash -c "printf abcd | vb-frame -F 3 --final=emit --output-delimiter '\n'"
	assert_output $'abc\nd'
}

@test "-u/--unbuffered writes each record at once" {
	mkfifo fifo
	exec 8<>fifo
	vb-frame -u < fifo > out 8>&- &
	local pid=$! i
	printf 'a\nb' >&8
	for i in $(seq 1 400); do
		[ -s out ] && break
		sleep 0.025
	done
	assert_bytes out 'a\n'
	exec 8>&-
	wait "$pid"
	assert_bytes out 'a\nb\n'
	# without -u the output to a file waits for the buffer or the end
	exec 8<>fifo
	vb-frame < fifo > out2 8>&- &
	pid=$!
	printf 'a\nb' >&8
	sleep 0.3
	assert_bytes out2 ''
	exec 8>&-
	wait "$pid"
	assert_bytes out2 'a\nb\n'
}

# ------------------------------------------------------------ inputs

@test "stdin, '-', files; several inputs are framed separately" {
	printf 'a\nb' > x
	printf 'c\nd\n' > y
	run -0 vb-frame x y
	assert_output $'a\nb\nc\nd'
	run -0 bash -c 'vb-frame < x'
	assert_output $'a\nb'
	run -0 bash -c 'vb-frame x - y < y'
	assert_output $'a\nb\nc\nd\nc\nd'
	# a record never runs from one input into the next
	run -0 vb-frame -i x y
	assert_output $'x\t0\t1\nx\t2\t1\ny\t0\t1\ny\t2\t1'
	printf 'a<' > p
	printf '=>b' > q
	run -0 vb-frame -d '<=>' p q
	assert_output $'a<\n=>b'
	printf 'a\r' > r
	printf '\nb\n' > s
	run -0 vb-frame -i r s
	assert_output $'r\t0\t1\ns\t0\t0\ns\t1\t1'
	# with -k inputs follow each other as they are
	vb-frame -k x y > out
	assert_bytes out 'a\nbc\nd\n'
	# -L: a frame does not continue in the next input
	printf '\003ab' > l1
	printf 'c\001z' > l2
	run -1 --separate-stderr vb-frame -L u8 l1 l2
	assert_equal "$stderr" 'vb-frame: l1: the last frame (record 1 at offset 0) is truncated
vb-frame: l2: the last frame (record 1 at offset 0) is truncated'
}

@test "a vb store as input: its content at the newest version" {
	make_store s.vb $'one\ntwo\nthree\n'
	vb-delete s.vb 0 4
	vb-insert s.vb end --text four
	run -0 vb-frame s.vb
	assert_output $'two\nthree\nfour'
	run -0 vb-frame -i s.vb
	assert_output $'0\t3\n4\t5\n10\t4'
	run -0 vb-frame -c -l s.vb
	assert_output 3
	# on stdin, and named '-'
	run -0 bash -c 'vb-frame < s.vb'
	assert_output $'two\nthree\nfour'
	run -0 bash -c 'vb-frame -n 2 - < s.vb'
	assert_output three
	make_store t.vb $'x\ny\n'
	run -0 bash -c 'vb-frame -c t.vb - < s.vb'
	assert_output $'2\tt.vb\n3\t-\n5\ttotal'
	# through a pipe a store cannot be opened: its raw bytes are framed,
	# with a warning
	run -0 --separate-stderr bash -c 'cat s.vb | vb-frame -c'
	refute_output 3
	assert_equal "$stderr" "vb-frame: -: warning: this looks like a vb store arriving through a pipe; its raw bytes are framed (give the store as a file to frame its content)"
	# a store with a base file, on stdin from another directory
	seq 1 10 > base
	vb-insert --base base b.vb 0 --text $'H\n'
	mkdir elsewhere
	cd elsewhere
	run -0 bash -c 'vb-frame -n 1-3 < ../b.vb'
	assert_output $'H\n1\n2'
	run -0 vb-frame -c ../b.vb
	assert_output 11
}

@test "-V N: a store's version N, for every framing and output" {
	make_store s.vb $'one\ntwo\nthree\n'
	vb-delete s.vb 0 4
	vb-insert s.vb end --text four
	run -0 vb-frame -V 1 s.vb
	assert_output $'one\ntwo\nthree'
	run -0 vb-frame --at-version 2 -i s.vb
	assert_output $'0\t3\n4\t5'
	run -0 vb-frame --at-version=3 -c s.vb
	assert_output 3
	run -0 vb-frame -V 1 -n 2 -k s.vb
	assert_output two
	run -0 vb-frame -V 0 -c s.vb
	assert_output 0
	run -0 vb-frame -V 1 -F 4 --output-delimiter=, s.vb
	assert_output $'one\n,two\n,thre,e\n,'
	# on stdin, named '-', and several stores, each at version N
	run -0 bash -c 'vb-frame -V 1 -n 3 < s.vb'
	assert_output three
	make_store t.vb $'x\ny\n'
	vb-insert t.vb 0 --text $'w\n'
	run -0 bash -c 'vb-frame -V 1 -c t.vb - < s.vb'
	assert_output $'2\tt.vb\n3\t-\n5\ttotal'
	# a base file is version 0
	seq 1 10 > base
	vb-insert --base base b.vb 0 --text $'H\n'
	vb-delete b.vb 2 4
	run -0 vb-frame -V 0 -n 1-2 b.vb
	assert_output $'1\n2'
	run -0 vb-frame -V 1 -c b.vb
	assert_output 11
	run -0 vb-frame -c b.vb
	assert_output 9
}

# same_as_flat STORE VERSION ARGS...: vb-frame ARGS on version VERSION of
# STORE (from its line counts) and on that version's bytes as a file give
# the same output and exit status.
same_as_flat() {
	local s=$1 v=$2
	shift 2
	vb-cat -V "$v" "$s" > flat.$v
	local a b sa=0 sb=0
	a=$(vb-frame -V "$v" "$@" "$s" 2>/dev/null | od -An -c) || sa=$?
	b=$(vb-frame "$@" flat.$v 2>/dev/null | od -An -c) || sb=$?
	[ "$a" = "$b" ] && [ "$sa" = "$sb" ] ||
		fail "vb-frame -V $v $* differs on the store ($sa) and its bytes ($sb)"
}

@test "-n, --last and --count on a store find their lines from its line counts: as on its bytes" {
	# lines ended by \n, \r\n and lone \r, split across edits and pieces
	seq 1 3000 | sed 's/5$/5\r/; s/7$/7\r/' > base
	vb-insert --base base s.vb 0 --text $'head\r'
	RANDOM=13
	for i in $(seq 1 40); do
		len=$(vb-cat s.vb | wc -c)
		off=$(( (RANDOM * 32768 + RANDOM) % len ))
		case $(( RANDOM % 4 )) in
		0) vb-insert s.vb "$off" --text $'\r' ;;
		1) vb-insert s.vb "$off" --text $'\nins\r\n' ;;
		2) vb-delete s.vb "$off" $(( RANDOM % 7 )) ;;
		3) vb-insert s.vb "$off" --text "$(seq 1 $((RANDOM % 300)) | tr '\n' '\r')" ;;
		esac
	done
	for v in 0 17 41; do
		for args in "-l -n 1" "-l -n 1500" "-l -n 2-9,400,2990-" "-l -n 100000" \
			    "-l --last 1" "-l --last 25" "-l --last 99999" "-l --count" \
			    "-l --count --final=drop" "-l --last 3 --final=drop" "-l -n 5-8 -i" \
			    "-l -n 20-30 --count" "-l -n 3,3,4-6,5" "-l -n 2-4 -z"; do
			# shellcheck disable=SC2086
			same_as_flat s.vb "$v" $args
		done
		same_as_flat s.vb "$v" -d '\n' -n 700-710
		same_as_flat s.vb "$v" -d '\n' --last 4
		same_as_flat s.vb "$v" -d '\n' --count
	done
}

@test "on a store, records before those asked for are not read: one too large for --max-size does not stop -n" {
	{ head -c 2000 /dev/zero | tr '\0' x; printf '\nsmall\nlast\n'; } > base
	vb-insert --base base s.vb 0 --text $'a\n'
	run -0 vb-frame -l --max-size 100 -n 3 s.vb
	assert_output small
	run -0 vb-frame -l --max-size 100 --last 2 s.vb
	assert_output $'small\nlast'
	# --count never needs a record's bytes (as wc -l)
	run -0 vb-frame -l --max-size 100 --count s.vb
	assert_output 4
	# one of those asked for is still too large
	run -1 vb-frame -l --max-size 100 -n 2 s.vb
	assert_output --partial 'larger than'
}

@test "-V N: an input that is not a store, or without version N, is an error; the others are framed" {
	make_store s.vb $'a\nb\n'
	vb-insert s.vb end --text $'c\n'
	seq 1 3 > f
	run -1 --separate-stderr vb-frame -V 1 f s.vb
	assert_output $'a\nb'
	assert_equal "$stderr" 'vb-frame: f: -V applies to stores, and this is not one'
	run -1 --separate-stderr vb-frame -V 1 -c s.vb f s.vb
	assert_output $'2\ts.vb\n2\ts.vb\n4\ttotal'
	assert_equal "$stderr" 'vb-frame: f: -V applies to stores, and this is not one'
	run -1 --separate-stderr bash -c 'vb-frame -V 1 < f'
	assert_output ''
	assert_equal "$stderr" 'vb-frame: -: -V applies to stores, and this is not one'
	run -1 --separate-stderr bash -c 'cat s.vb | vb-frame -V 1'
	assert_output ''
	assert_equal "$stderr" 'vb-frame: -: -V applies to stores, and this is not one'
	run -1 --separate-stderr vb-frame -V 3 s.vb
	assert_output ''
	assert_equal "$stderr" 'vb-frame: s.vb: version 3 does not exist (the newest is 2)'
	run -1 --separate-stderr vb-frame -V 3 s.vb nosuch
	assert_output ''
	assert_equal "$stderr" 'vb-frame: s.vb: version 3 does not exist (the newest is 2)
vb-frame: nosuch: No such file or directory'
	run vb-frame -V x s.vb
	assert_usage_error vb-frame "invalid version 'x'"
	run vb-frame --at-version=-1 s.vb
	assert_usage_error vb-frame "invalid version '-1' (a version cannot be negative)"
}

@test "store errors name the input as given: a missing base, a torn tail" {
	seq 1 10 > base
	vb-insert --base base b.vb 0 --text $'H\n'
	make_store s.vb $'a\nb\n'
	printf 'garbage' >> s.vb
	run -0 --separate-stderr vb-frame s.vb
	assert_output $'a\nb'
	assert_equal "$stderr" 'vb-frame: s.vb: warning: ignoring 7 bytes after the last commit (an interrupted write; the next writer removes them)'
	run -0 --separate-stderr bash -c 'vb-frame < s.vb'
	assert_output $'a\nb'
	assert_equal "$stderr" 'vb-frame: -: warning: ignoring 7 bytes after the last commit (an interrupted write; the next writer removes them)'
	rm base
	run -1 --separate-stderr vb-frame b.vb s.vb
	assert_output $'a\nb'
	assert_regex "$stderr" "^vb-frame: b\\.vb: base file 'base' \\(or '[^']*'\\) cannot be opened: No such file or directory"
	run -1 --separate-stderr bash -c 'vb-frame < b.vb'
	assert_regex "$stderr" "^vb-frame: -: base file 'base' \\(or '[^']*'\\) cannot be opened: No such file or directory\$"
}

@test "a missing file, a directory, an unreadable file: reported, the others framed, exit 1" {
	seq 1 3 > a
	seq 4 5 > b
	mkdir d
	run -1 --separate-stderr vb-frame a nosuch d b
	assert_output $'1\n2\n3\n4\n5'
	assert_equal "$stderr" 'vb-frame: nosuch: No such file or directory
vb-frame: d: is a directory'
	run -1 --separate-stderr vb-frame -c a nosuch b
	assert_output $'3\ta\n2\tb\n5\ttotal'
	assert_equal "$stderr" 'vb-frame: nosuch: No such file or directory'
	run -1 --separate-stderr vb-frame d
	assert_output ''
	assert_equal "$stderr" 'vb-frame: d: is a directory'
	open_to_nobody
	chmod 600 b
	run -1 --separate-stderr as_nobody vb-frame a b
	assert_output $'1\n2\n3'
	assert_equal "$stderr" 'vb-frame: b: Permission denied'
}

# ------------------------------------------------------------ errors

@test "usage errors: framings, options that do not go together" {
	seq 1 3 > f
	local both='choose one framing: delimiters (-d, -l, -0), --length-prefix or --fixed'
	run vb-frame -l -L u8 f
	assert_usage_error vb-frame "$both"
	run vb-frame -d x -F 3 f
	assert_usage_error vb-frame "$both"
	run vb-frame -0 --length-prefix u8 f
	assert_usage_error vb-frame "$both"
	run vb-frame -L u8 -F 2 f
	assert_usage_error vb-frame "$both"
	run vb-frame --length-offset 1 f
	assert_usage_error vb-frame '--length-offset only applies with --length-prefix'
	run vb-frame -l --length-adjust=-1 f
	assert_usage_error vb-frame '--length-adjust only applies with --length-prefix'
	run vb-frame -F 2 --strip 1 f
	assert_usage_error vb-frame '--strip only applies with --length-prefix'
	run vb-frame -c -i f
	assert_usage_error vb-frame '--count and --index cannot be used together'
	local outs='choose one of --keep, -z, --output-delimiter and --to-length-prefix'
	run vb-frame -k -z f
	assert_usage_error vb-frame "$outs"
	run vb-frame -z --output-delimiter x f
	assert_usage_error vb-frame "$outs"
	run vb-frame --to-length-prefix u8 --keep f
	assert_usage_error vb-frame "$outs"
	run vb-frame --output-delimiter x --to-length-prefix u8 f
	assert_usage_error vb-frame "$outs"
	# (-z alone frames the input by NUL, for --count and --index too)
	run vb-frame -c -z -l f
	assert_usage_error vb-frame '--count prints numbers: -z, --output-delimiter and --to-length-prefix do not apply'
	run vb-frame -i -z -d x f
	assert_usage_error vb-frame '--index prints numbers: -z, --output-delimiter and --to-length-prefix do not apply'
	run vb-frame -i --to-length-prefix u8 f
	assert_usage_error vb-frame '--index prints numbers: -z, --output-delimiter and --to-length-prefix do not apply'
	run vb-frame -i --output-delimiter x f
	assert_usage_error vb-frame '--index prints numbers: -z, --output-delimiter and --to-length-prefix do not apply'
	run vb-frame -c -k f
	assert_usage_error vb-frame '--count prints a number: --keep does not apply'
	run vb-frame -k --oversize=truncate f
	assert_usage_error vb-frame '--oversize=truncate cannot be used with --keep: a truncated record is not the record as it was'
	# (--index gives true lengths whatever --oversize says: no conflict)
	run -0 vb-frame -i -k --oversize=truncate --max-size=1 f
	assert_output $'0\t2\n2\t2\n4\t2'
}

@test "usage errors: bad values" {
	seq 1 3 > f
	for list in 0 0-3; do
		run vb-frame -n "$list" f
		assert_usage_error vb-frame "invalid --records '$list': records are numbered from 1"
	done
	for list in x 1x -3 18446744073709551616 2-x '' , 1,,2 1, ,1; do
		run vb-frame -n "$list" f
		assert_usage_error vb-frame "invalid --records '$list': expected record numbers and ranges such as 5,10-20,100-"
	done
	for list in 5-3 3-0; do
		run vb-frame --records "$list" f
		assert_usage_error vb-frame "invalid --records '$list': a range is FIRST-LAST with FIRST <= LAST"
	done
	run vb-frame --oversize=maybe f
	assert_usage_error vb-frame "invalid --oversize 'maybe' (error, skip or truncate)"
	run vb-frame --final x f
	assert_usage_error vb-frame "invalid --final 'x' (emit, drop or error)"
	run vb-frame -L u7 f
	assert_usage_error vb-frame "invalid --length-prefix: unknown length prefix 'u7' (binary: u8, u16be, u16le, u24be, u24le, u32be, u32le, u64be, u64le, varint; ASCII: netstring, syslog, pkt-line, dec:C, hex:C with C a byte that is not a digit; presets: protobuf, tfrecord, mrt)"
	run vb-frame -L U8 f
	assert_usage_error vb-frame "invalid --length-prefix: unknown length prefix 'U8' (binary: u8, u16be, u16le, u24be, u24le, u32be, u32le, u64be, u64le, varint; ASCII: netstring, syslog, pkt-line, dec:C, hex:C with C a byte that is not a digit; presets: protobuf, tfrecord, mrt)"
	run vb-frame --to-length-prefix u16 f
	assert_usage_error vb-frame "invalid --to-length-prefix: unknown length prefix 'u16' (binary: u8, u16be, u16le, u24be, u24le, u32be, u32le, u64be, u64le, varint; ASCII: netstring, syslog, pkt-line, dec:C, hex:C with C a byte that is not a digit; presets: protobuf, tfrecord, mrt)"
	run vb-frame -d '\q' f
	assert_usage_error vb-frame "invalid --delimiter '\\q': unknown escape '\\q' (use \\n \\r \\t \\0 \\\\ \\xHH)"
	run vb-frame -d '\x4' f
	assert_usage_error vb-frame "invalid --delimiter '\\x4': \\x needs two hex digits"
	run vb-frame -d '\xg0' f
	assert_usage_error vb-frame "invalid --delimiter '\\xg0': \\x needs two hex digits"
	run vb-frame -d 'a\' f
	assert_usage_error vb-frame "invalid --delimiter 'a\\': a lone backslash at the end"
	run vb-frame --output-delimiter '\q' f
	assert_usage_error vb-frame "invalid --output-delimiter '\\q': unknown escape '\\q' (use \\n \\r \\t \\0 \\\\ \\xHH)"
	run vb-frame -d '' f
	assert_usage_error vb-frame "invalid --delimiter '': a delimiter cannot be empty"
	run vb-frame -d x -d '' f
	assert_usage_error vb-frame "invalid --delimiter '': a delimiter cannot be empty"
	run vb-frame -d "$(head -c 1025 /dev/zero | tr '\0' a)" f
	assert_usage_error vb-frame 'a delimiter must be 1 to 1024 bytes'
	run -0 vb-frame -d "$(head -c 1024 /dev/zero | tr '\0' a)" -c f
	assert_output 1
	local many=() i
	for i in $(seq 1 65); do many+=(-d "x$i"); done
	run vb-frame "${many[@]}" f
	assert_usage_error vb-frame 'at most 64 delimiters'
	run -0 vb-frame "${many[@]:2}" -c f
	assert_output 1
	run vb-frame -F 0 f
	assert_usage_error vb-frame '--fixed needs a size of at least 1'
	run vb-frame --fixed x f
	assert_usage_error vb-frame "invalid record size 'x'"
	run vb-frame --max-size 0 f
	assert_usage_error vb-frame '--max-size must be at least 1'
	run vb-frame --max-size 1Q f
	assert_usage_error vb-frame "invalid size '1Q' (unknown suffix 'Q')"
	run vb-frame -L u8 --length-offset x f
	assert_usage_error vb-frame "invalid length offset 'x'"
	run vb-frame -L u8 --length-adjust x f
	assert_usage_error vb-frame "invalid --length-adjust 'x' (a whole number, negative as --length-adjust=-N)"
	run vb-frame -L u8 --length-adjust=-x f
	assert_usage_error vb-frame "invalid --length-adjust '-x' (a whole number, negative as --length-adjust=-N)"
	run vb-frame -L u8 --length-adjust '' f
	assert_usage_error vb-frame "invalid --length-adjust '' (a whole number, negative as --length-adjust=-N)"
	run vb-frame -L u8 --length-adjust=9223372036854775808 f
	assert_usage_error vb-frame "--length-adjust '9223372036854775808' is out of range (-9223372036854775808 to 9223372036854775807)"
	run vb-frame -L u8 --strip=-1 f
	assert_usage_error vb-frame "invalid strip '-1' (a strip cannot be negative)"
	run vb-frame --bogus f
	assert_usage_error vb-frame '--bogus: unknown option'
	run vb-frame -d
	assert_usage_error vb-frame '-d: missing argument'
}

@test "malformed length fields: exit 1 naming the record and its offset" {
	# a negative adjusted length (record 2)
	printf '\007abc\003x' > neg
	run -1 --separate-stderr vb-frame -L u8 --length-adjust=-4 neg
	assert_output abc
	assert_equal "$stderr" 'vb-frame: neg: record 2 at offset 4: length 3 adjusted by -4 is negative'
	# strip larger than the frame (record 3)
	printf '\003abc\003def\000' > st
	run -1 --separate-stderr vb-frame -L u8 --strip 2 st
	assert_output $'bc\nef'
	assert_equal "$stderr" 'vb-frame: st: record 3 at offset 8: cannot strip 2 bytes from a 1-byte frame'
	# an 11-byte varint (record 2)
	printf '\001a\377\377\377\377\377\377\377\377\377\377\001' > vi
	run -1 --separate-stderr vb-frame -L varint vi
	assert_output a
	assert_regex "$stderr" '^vb-frame: vi: record 2 at offset 2: varint (longer than 10 bytes|larger than 2\^64-1)$'
	# a 10-byte varint whose value is over 2^64-1
	printf '\377\377\377\377\377\377\377\377\377\002' > vo
	run -1 --separate-stderr vb-frame -L varint vo
	assert_equal "$stderr" 'vb-frame: vo: record 1 at offset 0: varint larger than 2^64-1'
	# a 10-byte varint in range (2^63) is an oversized frame, not a malformed one
	printf '\200\200\200\200\200\200\200\200\200\001' > vm
	run -1 --separate-stderr vb-frame -L varint vm
	assert_equal "$stderr" 'vb-frame: vm: record 1 at offset 0 is larger than --max-size (67108864 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	# a length that overflows 64 bits once adjusted
	printf '\377\377\377\377\377\377\377\377' > ov
	run -1 --separate-stderr vb-frame -L u64be --length-adjust 1 ov
	assert_equal "$stderr" 'vb-frame: ov: record 1 at offset 0: length 18446744073709551615 adjusted by 1 overflows 64 bits'
}

# ------------------------------------------------------------ environment

@test "VB_BUFFER=segmented frames a store (reads no more than a page holds)" {
	seq 1 300000 > base.txt
	vb-insert --no-sync --base base.txt s.vb 0 --text 'first
'
	for backend in segmented virtual; do
		run -0 env VB_BUFFER=segmented VB_PAGE_BACKEND=$backend vb-frame -l --count s.vb
		assert_output 300001
		VB_BUFFER=segmented VB_PAGE_BACKEND=$backend vb-frame -l s.vb | cmp - <(vb-cat s.vb)
		VB_BUFFER=segmented VB_PAGE_BACKEND=$backend vb-frame -0 --index s.vb |
			cmp - <(vb-frame -0 --index s.vb)
	done
}

@test "VB_BUFFER and VB_PAGE_* errors are usage errors" {
	seq 1 3 > f
	run env VB_BUFFER=bad vb-frame f
	assert_usage_error vb-frame "VB_BUFFER must be 'linear' or 'segmented', not 'bad'"
	run env VB_BUFFER=segmented VB_PAGE_BACKEND=x vb-frame f
	assert_usage_error vb-frame "VB_PAGE_BACKEND must be 'segmented' or 'virtual', not 'x'"
	run env VB_BUFFER=segmented VB_PAGE_SIZE=1000 vb-frame f
	assert_usage_error vb-frame "VB_PAGE_SIZE must be a multiple of $(getconf PAGESIZE) up to 1G, not '1000'"
	run env VB_BUFFER=segmented VB_PAGE_SIZE=2G vb-frame f
	assert_usage_error vb-frame "VB_PAGE_SIZE must be a multiple of $(getconf PAGESIZE) up to 1G, not '2G'"
	run env VB_BUFFER=segmented VB_PAGE_THRESHOLD=0 vb-frame f
	assert_usage_error vb-frame "VB_PAGE_THRESHOLD must be a percentage from 1 to 100, not '0'"
	run env VB_BUFFER=segmented VB_PAGE_DECAY=-1 vb-frame f
	assert_usage_error vb-frame "VB_PAGE_DECAY must be seconds (0 or more), not '-1'"
	run env VB_BUFFER=segmented VB_PAGE_RESERVE=1 vb-frame f
	assert_usage_error vb-frame "VB_PAGE_RESERVE must be a size of at least one page, not '1'"
	run -0 env VB_BUFFER=linear vb-frame -c f
	assert_output 3
	run -0 env VB_BUFFER= vb-frame -c f
	assert_output 3
}

@test "the same records with every buffer and page configuration" {
	python3 - <<'PY'
import random, re, struct
r = random.Random(7)
recs, seps, n = [], [b'\n', b'\r\n', b'\r', b'<=>', b'<=', b'=>'], 0
alphabet = b'abcdefghij'
while n < 3 * 1024 * 1024:
    k = r.choice([0, 1, 5, 40, 300, 5000, 70000, 200000])
    s = bytes(r.choice(b'<=>\r\nx') if r.random() < 0.02 else r.choice(alphabet) for _ in range(k))
    recs.append(s + r.choice(seps))
    n += len(recs[-1])
data = b''.join(recs)
open('mix', 'wb').write(data)
def out(name, records):
    open(name, 'wb').write(b''.join(x + b'\n' for x in records))
def split(pattern):
    parts = re.split(pattern, data)
    return parts[:-1] if parts[-1] == b'' else parts
out('exp.l', split(rb'\r\n|\r|\n'))
out('exp.d', split(rb'<=>|<=|=>|\r\n'))
body = [x for x in re.split(rb'\r\n|\r|\n', data)]
open('mix.lp', 'wb').write(b''.join(struct.pack('>I', len(x)) + x for x in body))
out('exp.L', body)
open('exp.c', 'w').write('%d\n' % len(split(rb'\r\n|\r|\n')))
PY
	[ "$(stat -c %s mix)" -gt 3000000 ]
	local conf how page
	# the smallest page size the system allows (4K on most)
	page=$(getconf PAGESIZE)
	# run_conf ARGS... FILE: vb-frame ARGS on FILE, read as a file or a pipe
	run_conf() {
		if [ "$how" = pipe ]; then
			cat "${@: -1}" | env $conf vb-frame "${@:1:$#-1}"
		else
			env $conf vb-frame "$@"
		fi
	}
	for conf in '' VB_BUFFER=linear VB_BUFFER=segmented "VB_BUFFER=segmented VB_PAGE_SIZE=$page" \
		'VB_BUFFER=segmented VB_PAGE_BACKEND=virtual' \
		"VB_BUFFER=segmented VB_PAGE_BACKEND=virtual VB_PAGE_SIZE=$page"; do
		for how in file pipe; do
			echo "configuration: '$conf', $how"
			[ "$(run_conf -l mix | md5sum)" = "$(md5sum < exp.l)" ]
			[ "$(run_conf -d '<=>' -d '<=' -d '=>' -d '\r\n' mix | md5sum)" = "$(md5sum < exp.d)" ]
			[ "$(run_conf -L u32be mix.lp | md5sum)" = "$(md5sum < exp.L)" ]
			[ "$(run_conf -l -k mix | md5sum)" = "$(md5sum < mix)" ]
			[ "$(run_conf -L u32be -k mix.lp | md5sum)" = "$(md5sum < mix.lp)" ]
			[ "$(run_conf -c mix)" = "$(cat exp.c)" ]
		done
	done
}

# ------------------------------------------------------------ output errors

@test "a closed output pipe stops quietly with status 0" {
	seq 1 2000000 > big
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-frame -l big | head -1'
	assert_output 1
	assert_equal "$stderr" ''
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-frame -u -i big big nosuch | head -1'
	assert_output $'big\t0\t1'
	assert_equal "$stderr" ''
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-frame --to-length-prefix u32be big | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
}

@test "a write error on stdout is reported once, exit 1" {
	seq 1 5 > f
	seq 1 200000 > big
	run -1 bash -c 'vb-frame f > /dev/full'
	assert_output 'vb-frame: write error: No space left on device'
	run -1 bash -c 'vb-frame big big > /dev/full'
	assert_output 'vb-frame: write error: No space left on device'
	run -1 bash -c 'vb-frame -c f f > /dev/full'
	assert_output 'vb-frame: write error: No space left on device'
	run -1 bash -c 'vb-frame -u -i big > /dev/full'
	assert_output 'vb-frame: write error: No space left on device'
	run -1 bash -c 'vb-frame --help > /dev/full'
	assert_output 'vb-frame: write error: No space left on device'
}

# ------------------------------------------------------------ the rest

@test "popt's !#:+ does not eat operands in option values" {
	printf 'aax!#:+ybb' > p1
	printf 'ccx!#:+ydd' > p2
	run -0 vb-frame -d 'x!#:+y' p1 p2
	assert_output $'aa\nbb\ncc\ndd'
	run -0 vb-frame --delimiter='!#:+' -c p1 p2
	assert_output $'2\tp1\n2\tp2\n4\ttotal'
	vb-frame --output-delimiter '!#:+' -d y p1 > out
	assert_bytes out 'aax!#:+!#:+bb!#:+'
}

@test "--help prints usage to stdout; --version prints the version" {
	run -0 --separate-stderr vb-frame --help
	assert_line --index 0 'Usage: vb-frame [OPTION...] [INPUT...]'
	assert_output --partial '--length-prefix=SPEC'
	assert_output --partial '--oversize=error|skip|truncate'
	assert_output --partial '--last=N'
	assert_output --partial '-V, --at-version=N'
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-frame --version
	assert_output --regexp '^vb-frame \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
}

@test "an oversized record that -n does not select is passed over, whatever --oversize says" {
	printf 'a\nbbbbbbbb\nc\n' > in
	run -0 --separate-stderr vb-frame --max-size 3 -n 3 in
	assert_output c
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-frame --max-size 3 -n 1,3 --oversize=skip in
	assert_output $'a\nc'
	assert_equal "$stderr" ''
}

@test "a failure's message comes after the records written before it" {
	printf 'a\nbbbbbbbb\nc\n' > in
	run -1 bash -c 'vb-frame --max-size 3 in 2>&1'
	assert_output "a
vb-frame: in: record 2 at offset 2 is larger than --max-size (3 bytes); raise --max-size or use --oversize=skip or --oversize=truncate"
	printf 'a\nb' > in2
	run -1 bash -c 'vb-frame --final=error in2 2>&1'
	assert_output "a
vb-frame: in2: the last record (2 at offset 2) has no delimiter"
}

@test "VB_PAGE_* sizes follow the offset grammar; the threshold is a whole percentage" {
	seq 1 1000 > in
	for size in 64K 64KiB 0x10000 65536; do
		run -0 env VB_BUFFER=segmented VB_PAGE_SIZE=$size vb-frame -c in
		assert_output 1000
	done
	run -0 env VB_BUFFER=segmented VB_PAGE_BACKEND=virtual VB_PAGE_RESERVE=1MiB vb-frame -c in
	assert_output 1000
	for t in 50% 50abc +50 0 101; do
		# without the variable the same command succeeds: the error is the value's
		run -0 vb-frame -c in
		assert_output 1000
		run env VB_PAGE_THRESHOLD="$t" vb-frame -c in
		assert_usage_error vb-frame "VB_PAGE_THRESHOLD must be a percentage from 1 to 100, not '$t'"
	done
	run env VB_PAGE_SIZE=1T vb-frame -c in
	assert_usage_error vb-frame "VB_PAGE_SIZE must be a multiple of $(getconf PAGESIZE) up to 1G, not '1T'"
	run env VB_PAGE_SIZE=99999999999999999999 vb-frame -c in
	assert_usage_error vb-frame "VB_PAGE_SIZE must be a multiple of $(getconf PAGESIZE) up to 1G, not '99999999999999999999'"
}

@test "--cache and VB_CACHE: for stores; checked whatever the input" {
	vb-insert -c s.vb 0 --text $'a\nb\nc\n'
	run -0 vb-frame --cache 256K -c s.vb
	assert_output 3
	VB_CACHE=1M run -0 vb-frame --last 2 s.vb
	assert_output $'b\nc'
	printf 'x\n' > plain
	run vb-frame --cache 0 plain
	assert_usage_error vb-frame "--cache '0' is too small (at least 256K)"
	VB_CACHE=1q run vb-frame plain
	assert_usage_error vb-frame "invalid VB_CACHE '1q' (unknown suffix 'q')"
}

# ------------------------------------------------------------ limits (memory, descriptors, closed streams)

@test "ulimit -v: 200 MiB of records are framed within a 64 MiB memory limit" {
	skip_under_sanitizer
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; yes 0123456789abcdef | head -c 200M | vb-frame -c"
	assert_output $((200 * 1024 * 1024 / 17 + 1))
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; head -c 200M /dev/zero | vb-frame --fixed 4096 -c"
	assert_output $((200 * 1024 * 1024 / 4096))
	make_store s.vb hello
	yes 0123456789abcdef | head -c 200M | vb-insert s.vb 5
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-frame -c s.vb"
	assert_output $((200 * 1024 * 1024 / 17 + 1))
}

@test "ulimit -v: a record the memory limit cannot hold: exit 1, one line that says so" {
	skip_under_sanitizer
	run -1 --separate-stderr bash -c "head -c 100M /dev/zero | (ulimit -v $MEM_LIMIT_KB; vb-frame -n 1)"
	assert_output ''
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == 'vb-frame: -: out of memory for a '*'-byte buffer' ]]
	# within --max-size it is the usual error
	run -1 --separate-stderr bash -c "head -c 100M /dev/zero | (ulimit -v $MEM_LIMIT_KB; vb-frame --max-size 1M)"
	[[ $stderr == 'vb-frame: -: record 1 at offset 0 is larger than --max-size'* ]]
}

@test "ulimit -v: --count and --index measure a record of 100 MiB without holding it, as wc -l counts" {
	skip_under_sanitizer
	big() { echo a; head -c 100M /dev/zero; printf '\nb\nc'; }
	run -0 --separate-stderr bash -c "$(declare -f big); big | (ulimit -v $MEM_LIMIT_KB; vb-frame -c)"
	assert_output 4
	assert_equal "$stderr" ''
	run -0 --separate-stderr bash -c "$(declare -f big); big | (ulimit -v $MEM_LIMIT_KB; vb-frame -i)"
	assert_output $'0\t1\n2\t104857600\n104857603\t1\n104857605\t1'
	run -0 --separate-stderr bash -c "$(declare -f big); big | (ulimit -v $MEM_LIMIT_KB; vb-frame -i -k -n 2- --final=drop)"
	assert_output $'2\t104857601\n104857603\t2'
	# also with --max-size above the memory limit, and for -F
	run -0 --separate-stderr bash -c "$(declare -f big); big | (ulimit -v $MEM_LIMIT_KB; vb-frame -c --max-size 1G)"
	assert_output 4
	run -0 --separate-stderr bash -c "head -c 200M /dev/zero | (ulimit -v $MEM_LIMIT_KB; vb-frame -F 150M -i --max-size 1G)"
	assert_output $'0\t157286400\n157286400\t52428800'
}

@test "ulimit -v: the buffer grows to --max-size and a little, not to the next power of two" {
	skip_under_sanitizer
	# a 33 MiB record within --max-size 34M needs ~35 MiB of buffer; the
	# doubling growth alone would ask for 64 MiB, more than the limit
	run -0 --separate-stderr bash -c "(head -c 33M /dev/zero | tr '\\0' a; echo) | (ulimit -v 49152; vb-frame -l -c --max-size 34M)"
	assert_output 1
	assert_equal "$stderr" ''
	# a length prefix's header counts too
	run -0 --separate-stderr bash -c "(printf '\\x00\\x00\\x10\\x02'; head -c 33M /dev/zero) | (ulimit -v 49152; vb-frame --length-prefix u32le --length-offset 0 -c --max-size 34M)"
	assert_output 1
}

@test "ulimit -n: an input that cannot be opened is named, the others are framed" {
	seq 1 10 > f
	vb-insert -c s.vb 0 f
	make_base base 10
	vb-insert -b base b.vb 0 --text x
	# a store input takes two descriptors (the input, then the store)
	run -1 --separate-stderr nofile 4 'vb-frame -c f f s.vb f'
	assert_output "10	f
10	f
10	f
30	total"
	assert_equal "$stderr" 'vb-frame: s.vb: cannot open: Too many open files'
	# and its base a third
	run -1 --separate-stderr nofile 5 'vb-frame -c f b.vb s.vb f'
	assert_output "10	f
10	s.vb
10	f
30	total"
	assert_equal "$stderr" "vb-frame: b.vb: base file 'base' (or '$TEST_DIR/base') cannot be opened: Too many open files"
}

@test "a closed stdout: exit 1 and 'write error'; a closed stdin is a read error" {
	seq 1 10 > f
	for args in "f" "-c f" "-i f" "--help" "--version"; do
		run -1 bash -c "vb-frame $args >&-"
		assert_output 'vb-frame: write error: Bad file descriptor'
	done
	run -1 bash -c 'vb-frame -c <&-'
	assert_output 'vb-frame: -: read: Bad file descriptor'
}

@test "--last: an oversized record before the last N is passed over, as with -n; one among them fails" {
	# the last record has no delimiter: the two records both follow the
	# only sync byte, and framing starts at the first
	printf 'aaaaaaaaaaaaaaaaaaaa\nb' > f
	run -0 --separate-stderr vb-frame -n 2 --max-size 10 f
	assert_output b
	run -0 --separate-stderr vb-frame --last 1 --max-size 10 f
	assert_output b
	assert_equal "$stderr" ''
	run -0 vb-frame --last 1 --max-size 10 -c f
	assert_output 1
	# -l: records ending in a lone \r are not counted by the sync byte \n
	printf 'x\naaaaaaaaaaaaaaaaaaaa\rb\rc\n' > g
	run -0 --separate-stderr vb-frame --last 2 --max-size 10 g
	assert_output $'b\nc'
	assert_equal "$stderr" ''
	# one of the last N is an error, found while counting: nothing is
	# written
	run -1 --separate-stderr vb-frame --last 3 --max-size 10 g
	assert_output ''
	assert_equal "$stderr" 'vb-frame: g: record 2 at offset 2 is larger than --max-size (10 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
	# the same where the tail starts inside the input
	printf 'a\nb\naaaaaaaaaaaaaaaaaaaa\rc\rd\n' > h
	run -0 --separate-stderr vb-frame --last 2 --max-size 10 h
	assert_output $'c\nd'
	assert_equal "$stderr" ''
	printf 'a\nb\naaaaaaaaaaaaaaaaaaaa\rc\n' > h
	run -1 --separate-stderr vb-frame --last 2 --max-size 10 h
	assert_output ''
	assert_equal "$stderr" 'vb-frame: h: record at offset 4 is larger than --max-size (10 bytes); raise --max-size or use --oversize=skip or --oversize=truncate'
}

@test "a store's records onto the store or its base: refused, exit 1, nothing written" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text $'x\n'
	s0=$(sum_of s.vb) b0=$(sum_of base.txt)
	run bash -c 'vb-frame -l -n 1-3 s.vb >> s.vb'
	assert_failure 1
	assert_output 'vb-frame: s.vb: the output is the store itself: nothing written'
	run bash -c 'vb-frame -l --count s.vb >> base.txt'
	assert_failure 1
	assert_output "vb-frame: s.vb: the output is its base file 'base.txt': nothing written"
	assert_equal "$(sum_of s.vb)" "$s0"
	assert_equal "$(sum_of base.txt)" "$b0"
}

# ------------------------------------------------------------ progress

@test "--progress: the bytes framed of a file's or a store's total, the percent, the rate and an ETA" {
	seq 1 3000000 > big
	size=$(stat -c %s big)
	VB_PROGRESS_DELAY=0 vb-frame --progress -c big > out 2> err
	assert_equal "$(cat out)" 3000000
	mapfile -t l < err
	[ "${#l[@]}" -ge 2 ]
	for line in "${l[@]:0:${#l[@]}-1}"; do
		assert_regex "$line" "^[0-9]+ of $size bytes \([^)]*, [0-9]+%\) framed, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s, ETA ([0-9]+:[0-9]{2}:[0-9]{2}|-:--:--)\$"
	done
	assert_regex "${l[-1]}" "^$size of $size bytes \([0-9.]+ MB, [0-9.]+ MiB, 100%\) framed, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s\$"
	# a store: its content's length (--keep: framed by reading)
	vb-insert --create s.vb 0 big
	run -0 --separate-stderr vb-frame --progress -k -n 2999999- s.vb
	assert_output $'2999999\n3000000'
	assert_regex "$stderr" "^$size of $size bytes \([^)]*, 100%\) framed, "
	# a pipe: no total
	run -0 --separate-stderr bash -c 'cat big | vb-frame --progress -c'
	assert_regex "$stderr" "^$size bytes \([0-9.]+ MB, [0-9.]+ MiB\) framed, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s\$"
	# one line per input
	run -0 --separate-stderr vb-frame --progress -c big big
	[ "${#stderr_lines[@]}" -eq 2 ]
}

@test "progress: nothing without --progress when stderr is not a terminal; on a terminal after VB_PROGRESS_DELAY" {
	seq 1 3000000 > big
	VB_PROGRESS_DELAY=0 vb-frame -c big 2> err > /dev/null
	assert_file_empty err
	run -0 --separate-stderr vb-frame --progress --no-progress -c big
	assert_equal "$stderr" ''
	command -v script > /dev/null || skip 'script (util-linux) is not installed'
	run -0 env VB_PROGRESS_DELAY=0 script -qec 'vb-frame -c big > out' /dev/null < /dev/null
	assert_regex "$output" $'\r[0-9]+ of [0-9]+ bytes \\([^)]*100%\\) framed, '
	run -0 env VB_PROGRESS_DELAY=100 script -qec 'vb-frame -c big > out' /dev/null < /dev/null
	assert_output ''
	# a failed input ends its line without figures
	run -1 --separate-stderr vb-frame --progress -c nosuch
	assert_equal "$stderr" 'vb-frame: nosuch: No such file or directory'
}
