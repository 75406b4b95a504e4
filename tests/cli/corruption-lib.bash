# Helpers of corruption.bats: fixtures with a varied history, seeded
# damage, and the rule that decides whether a command's reaction to the
# damage is acceptable.  Sourced after test_helper.bash.
#
# The fixtures live in $CX (made once per file by cx_make_fixtures):
#   base.txt        the base file (numbered lines), never changed
#   s.vb            a store over base.txt with about 30 versions
#   e.vb            a store with the base embedded, compacted to its last
#                   versions (it never opens the base)
#   X.ends          "VERSION END" per kept version of X, in file order:
#                   END is the offset just after that version's commit
#   X.head          the newest version of X
#   exp/X.V.KEY     stdout of reading command KEY on X opened at version V
#   exp/X.V.KEY.rc  its exit status
#   pool            deterministic pseudo-random bytes for garbage
#
# Damaged copies are made in $CX/w (the stores find the base there by
# its absolute path, recorded when they were created).

# CX_READERS: KEY and the command line after the program name (the store
# is the last word, or the word before B for --diff).  KEY must not hold
# dots.
cx_reader_cmd() { # KEY STORE -> the command in CX_CMD (an array)
	local a=$CX_A
	case $1 in
	cat) CX_CMD=(vb-cat "$2") ;;
	range) CX_CMD=(vb-cat --range 1000:70000 "$2") ;;
	frame) CX_CMD=(vb-frame -l --count "$2") ;;
	hist) CX_CMD=(vb-history "$2") ;;
	diff) CX_CMD=(vb-history --diff "$a" "$2") ;;
	export) CX_CMD=(vb-history --export "$a" "$2") ;;
	*) return 1 ;;
	esac
}
CX_READERS='cat range frame hist diff export'

# A command may take at most this long: a hang is a failure.  Raised by
# VB_TIMEOUT_MULT (the sanitizer build is several times slower);
# CX_TIMEOUT sets it outright (the test of the rule itself).
cx_timeout() {
	echo "${CX_TIMEOUT:-$((20 * ${VB_TIMEOUT_MULT:-1}))}"
}

# cx_make_fixtures DIR
cx_make_fixtures() {
	local d=$1 i
	mkdir -p "$d/exp" "$d/w"
	cd "$d" || return 1
	seq 1 50000 > base.txt
	# deterministic pseudo-random bytes: inserted binary data and the
	# garbage written over stores
	seq 1 300000 | gzip -9 -n | tail -c +64 | head -c 400000 > pool
	head -c 100000 pool > bin1
	tail -c 80000 pool | od -An -tx1 -v | tr -d ' \n' | head -c 140000 | fold -w 70 > text2
	local ends=() e
	cx_rec() { ends+=("$(stat -c %s s.vb)"); }
	export VB_AUTO_FLATTEN=0
	# version 0 (the base) and 1 are written together
	vb-insert --base base.txt s.vb 0 --text $'HEAD LINE\n'              # 1
	cx_rec
	vb-insert -m 'big binary' s.vb 1000 bin1                            # 2: > 64 KiB
	cx_rec
	vb-delete s.vb 5000 300                                             # 3
	cx_rec
	printf '10 5\n20000 100\n300000 7\n250000 1000\n' > ranges
	vb-delete --ranges ranges s.vb                                      # 4
	cx_rec
	vb-insert s.vb 2000 --replace 50 --text REPLACED                     # 5
	cx_rec
	vb-history --revert 2 s.vb                                          # 6
	cx_rec
	vb-insert -a mark s.vb 12345 --text ANCHORED                        # 7
	cx_rec
	for i in 1 2 3 4 5; do                                              # 8-12
		vb-insert s.vb $((i * 7919)) --text "small$i"
		cx_rec
	done
	vb-insert s.vb 50000 text2                                          # 13: > 64 KiB text
	cx_rec
	vb-flatten --partial s.vb                                           # 14
	cx_rec
	vb-flatten s.vb                                                     # 15: no base
	cx_rec
	vb-insert s.vb 0 --hex '00 0d 0a ff 0a'                             # 16
	cx_rec
	vb-delete s.vb 100 20000                                            # 17
	cx_rec
	vb-history --revert 13 s.vb                                         # 18: base again
	cx_rec
	vb-history --set-anchor two s.vb 4000                               # 19
	cx_rec
	for i in 1 2 3 4 5 6; do                                            # 20-25
		vb-insert -m "edit $i" s.vb $((i * 31337)) --text "line $i"$'\n'
		cx_rec
	done
	vb-delete s.vb @mark 4                                              # 26
	cx_rec
	vb-insert s.vb end --text $'the end\n'                              # 27
	cx_rec
	vb-insert s.vb 60000 --replace 70000 < /dev/null                    # 28
	cx_rec
	vb-insert s.vb 77 --text 'last'                                     # 29
	cx_rec
	cx_ends s.vb "${ends[@]}" || return 1

	cp s.vb e.vb
	ends=()
	cx_rec() { ends+=("$(stat -c %s e.vb)"); }
	vb-flatten --embed e.vb                                             # 30
	for i in 1 2 3; do                                                  # 31-33
		vb-insert e.vb $((i * 1000)) --text "e$i"
	done
	vb-delete e.vb 0 10                                                 # 34
	vb-flatten --compact --keep 4 e.vb                                  # 35 (keeps 31-35)
	vb-insert e.vb 500 --text 'after compaction'                        # 36
	vb-delete e.vb 10 10                                                # 37
	cx_ends e.vb || return 1
	unset VB_AUTO_FLATTEN

	# the expected output of every reading command at every version
	local x v end
	for x in s e; do
		while read -r v end; do
			head -c "$end" $x.vb > w/t.vb
			CX_A=$(cx_diff_from $x)
			for k in $CX_READERS; do
				cx_reader_cmd "$k" w/t.vb
				"${CX_CMD[@]}" > "exp/$x.$v.$k" 2> w/err && e=0 || e=$?
				echo "$e" > "exp/$x.$v.$k.rc"
				if [ "$e" = 0 ] && [ -s w/err ]; then
					echo "fixture: ${CX_CMD[*]} at version $v wrote to stderr:" >&2
					cat w/err >&2
					return 1
				fi
			done
		done < $x.ends
	done
	rm -f w/t.vb w/err
}

# The version --diff and --export start from, per store.
cx_diff_from() {
	case $1 in s) echo 7 ;; e) echo 33 ;; esac
}

# cx_ends STORE [END...]: write STORE's .ends and .head files from the
# commit records found in the file (type 3 footers whose offset field
# points back at their own record) and check them against ENDs (the size
# after each writing command, when given).
cx_ends() {
	local f=$1 x=${1%.vb} off ends=() vers=()
	shift
	while read -r off; do
		ends+=($((off + 32)))
	done < <(LC_ALL=C grep -obUaP 'VBrf\x03' "$f" | cut -d: -f1)
	mapfile -t vers < <(vb-history -H "$f" | awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -n)
	if [ "${#vers[@]}" != "${#ends[@]}" ]; then
		echo "$f: ${#vers[@]} versions but ${#ends[@]} commit footers" >&2
		return 1
	fi
	: > "$x.ends"
	local i
	for i in "${!vers[@]}"; do
		echo "${vers[i]} ${ends[i]}" >> "$x.ends"
	done
	echo "${vers[-1]}" > "$x.head"
	# the sizes after each command are the ends of versions 1, 2, ...
	if [ $# -gt 0 ]; then
		local want got
		want=$(printf '%s\n' "$@")
		got=$(awk '$1 >= 1 { print $2 }' "$x.ends")
		if [ "$want" != "$got" ]; then
			echo "$f: commit ends do not match the sizes after each command" >&2
			return 1
		fi
	fi
	[ "$(tail -1 "$x.ends" | cut -d' ' -f2)" = "$(stat -c %s "$f")" ]
}

# ------------------------------------------------------------ damage

# cx_rand: a random number in CX_R from bash's seeded RANDOM, 30 bits.
cx_rand() {
	CX_R=$(( (RANDOM << 15) | RANDOM ))
}

# cx_damage KIND FILE: damage FILE in place at a position drawn from
# RANDOM (seed it first).  Sets CX_POS (first damaged byte, or the new
# size for a truncation), CX_LEN (bytes changed) and CX_WHAT.
# Positions: 1 in 8 in the header, 1 in 4 in the last 2 KiB (the newest
# commits), 1 in 4 in the 600 bytes before the end of a commit drawn at
# random (commit records, tree nodes, operations), the rest anywhere.
cx_damage() {
	local kind=$1 f=$2 size pos len hdr
	size=$(stat -c %s "$f")
	hdr=$(od -An -tu4 -j12 -N4 "$f" | tr -d ' ')
	cx_rand
	case $((CX_R % 8)) in
	0) cx_rand; pos=$((CX_R % hdr)) ;;
	1 | 2) cx_rand; pos=$((size - 1 - CX_R % 2048)) ;;
	3 | 4)
		local ends
		mapfile -t ends < <(cut -d' ' -f2 "$CX/$CX_X.ends")
		cx_rand
		pos=$((ends[CX_R % ${#ends[@]}] - 1 - RANDOM % 600))
		;;
	*) cx_rand; pos=$((CX_R % size)) ;;
	esac
	[ "$pos" -ge 0 ] || pos=0
	case $kind in
	bit)
		local b bit
		b=$(od -An -tu1 -j"$pos" -N1 "$f" | tr -d ' ')
		bit=$((RANDOM % 8))
		cx_put_byte "$f" "$pos" $((b ^ (1 << bit)))
		len=1
		CX_WHAT="bit $bit of byte $pos flipped"
		;;
	byte)
		local v=$((RANDOM % 256))
		cx_put_byte "$f" "$pos" "$v"
		len=1
		CX_WHAT="byte $pos set to $v"
		;;
	zero4k)
		pos=$((pos / 4096 * 4096))
		len=$((size - pos < 4096 ? size - pos : 4096))
		head -c "$len" /dev/zero | dd of="$f" bs=1M seek="$pos" oflag=seek_bytes conv=notrunc status=none
		CX_WHAT="4 KiB block at $pos zeroed ($len bytes)"
		;;
	zero512)
		len=$((size - pos < 512 ? size - pos : 512))
		head -c "$len" /dev/zero | dd of="$f" bs=1M seek="$pos" oflag=seek_bytes conv=notrunc status=none
		CX_WHAT="$len bytes at $pos zeroed"
		;;
	garbage)
		len=$((1 + RANDOM % 4096))
		len=$((size - pos < len ? size - pos : len))
		cx_rand
		tail -c +$((1 + CX_R % 100000)) "$CX/pool" | head -c "$len" |
			dd of="$f" bs=1M seek="$pos" oflag=seek_bytes conv=notrunc status=none
		CX_WHAT="$len bytes of garbage at $pos"
		;;
	trunc)
		# (at least the 8 bytes of the magic: a shorter file is not
		# recognisably a store any more; vb-frame frames it as the
		# plain bytes it is, since it frames any file, and the other
		# commands say 'not a vb store', as vb-cat.bats shows)
		[ "$pos" -ge 8 ] || pos=8
		truncate -s "$pos" "$f"
		len=0
		CX_WHAT="truncated to $pos bytes"
		;;
	*) return 1 ;;
	esac
	CX_POS=$pos
	CX_LEN=$len
	# damage that reaches the end of the file, or zeros or garbage over
	# part of the last record's footer, looks like a torn tail
	# (lib/store.c, FINDING THE HEAD): a crash can leave zeros or stale
	# bytes after the last record that reached the disk, and the sectors
	# of a record being written reach it in any order.  (A footer with one
	# field changed, as a flipped bit or byte leaves it, is recognised as
	# damage: lib/store.c damaged_footer.)
	CX_TORN=0
	if [ "$kind" = trunc ] || [ $((pos + len)) -ge "$size" ]; then
		CX_TORN=1
	elif [ "$kind" != bit ] && [ "$kind" != byte ] && [ $((pos + len)) -gt $((size - 32)) ]; then
		CX_TORN=1
	fi
}

cx_put_byte() { # FILE POS VALUE
	printf "\\x$(printf %02x "$3")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# ------------------------------------------------------------ the rule

# cx_candidates X: the versions a store damaged at CX_POS may open at:
# the head, unless the damage reaches into the newest commits, and the
# newest version whose commit ends at or before CX_POS (its records lie
# wholly before the damage; the opener falls back to it when every
# newer commit is bad).  A truncation opens at the latter only.
# Sets CX_HEAD, CX_FALL (empty if none) and CX_FALL_END.
cx_candidates() {
	local x=$1 v end
	CX_HEAD=$(cat "$CX/$x.head")
	CX_FALL= CX_FALL_END=
	while read -r v end; do
		[ "$end" -le "$CX_POS" ] || break
		CX_FALL=$v CX_FALL_END=$end
	done < "$CX/$x.ends"
	if [ "$CX_FALL" = "$CX_HEAD" ]; then
		CX_FALL=	# the damage is after the head's commit: none
	fi
}

# cx_fail MESSAGE: record a failure with everything needed to repeat it.
cx_fail() {
	CX_FAILS+=("seed $CX_SEED, store $CX_X, $CX_KIND: $CX_WHAT: ${CX_CMD[*]}: $1")
}

# cx_msgs_ok PROG ERRFILE NEED_PLACE [FILE]: every stderr line is
# "PROG: FILE: ..." (FILE the store as named: the last word of the
# command unless given), and when NEED_PLACE is 1
# one of them that is not a warning names a place: a record or byte
# offset, the header, a version or the base file.
cx_msgs_ok() {
	local prog=$1 err=$2 need=$3 line place=0 name=${4:-${CX_CMD[-1]}}
	[ "${CX_CMD[1]}" = --diff ] && name=${CX_CMD[3]}
	while IFS= read -r line; do
		case $line in
		"$prog: $name: "*) ;;
		*)
			cx_fail "stderr line not in PROG: FILE: form: $line"
			return 1
			;;
		esac
		case $line in
		"$prog: $name: warning: "* | "$prog: $name: note: "*) continue ;;
		esac
		# (a damaged format version field reads as a newer format)
		if [[ $line =~ (offset|byte|bytes)\ [0-9]+|header|version\ [0-9]+|base\ file ]]; then
			place=1
		fi
	done < "$err"
	if [ "$need" = 1 ] && [ "$place" = 0 ]; then
		cx_fail "exit 1 but no message names where the damage is: $(head -c 300 "$err")"
		return 1
	fi
}

# cx_warned ERRFILE PROG SIZE FALL_END: the reader's warning that it
# ignored the bytes after the version it fell back to.
cx_warned() {
	grep -q "^$2: .*: warning: ignoring $(($3 - $4)) bytes after the last commit" "$1"
}

# cx_check_reader KEY: run reading command KEY on w/d.vb and judge it.
cx_check_reader() {
	local k=$1 x=$CX_X rc v ok=0 size
	local prog
	cx_reader_cmd "$k" d.vb
	prog=${CX_CMD[0]}
	timeout "$(cx_timeout)" "${CX_CMD[@]}" > out 2> err && rc=0 || rc=$?
	CX_RUNS=$((CX_RUNS + 1))
	size=$(stat -c %s d.vb)
	case $rc in
	0)
		for v in $CX_HEAD $CX_FALL; do
			[ "$v" = "$CX_HEAD" ] && [ "$CX_KIND" = trunc ] && continue
			[ "$(cat "$CX/exp/$x.$v.$k.rc")" = 0 ] || continue
			cmp -s out "$CX/exp/$x.$v.$k" || continue
			if [ "$v" != "$CX_HEAD" ] && ! cx_warned err "$prog" "$size" "$CX_FALL_END"; then
				cx_fail "read version $v (not the newest) without the warning: $(head -c 300 err)"
				return 0
			fi
			ok=1
			break
		done
		if [ $ok = 0 ]; then
			cx_fail "exit 0 with wrong output (versions tried: $CX_HEAD $CX_FALL)"
			return 0
		fi
		cx_msgs_ok "$prog" err 0 || :
		;;
	1)
		cx_msgs_ok "$prog" err 1 || :
		;;
	124)
		cx_fail "timed out (a hang)"
		;;
	*)
		cx_fail "exit status $rc: $(head -c 300 err)"
		;;
	esac
	CX_RC[$k]=$rc
	return 0
}

# cx_check_cat_version N: vb-cat -V N.
cx_check_cat_version() {
	local n=$1 rc v size
	CX_CMD=(vb-cat -V "$n" d.vb)
	timeout "$(cx_timeout)" "${CX_CMD[@]}" > out 2> err && rc=0 || rc=$?
	CX_RUNS=$((CX_RUNS + 1))
	case $rc in
	0)
		if ! cmp -s out "$CX/exp/$CX_X.$n.cat"; then
			cx_fail "exit 0 with wrong bytes"
			return 0
		fi
		# a version newer than the one opened cannot be read
		if [ "$CX_KIND" = trunc ] && [ -n "$CX_FALL" ] && [ "$n" -gt "$CX_FALL" ]; then
			cx_fail "read version $n beyond the version the truncated store ends at"
		fi
		cx_msgs_ok vb-cat err 0 || :
		;;
	1) cx_msgs_ok vb-cat err 1 || : ;;
	124) cx_fail "timed out (a hang)" ;;
	*) cx_fail "exit status $rc: $(head -c 300 err)" ;;
	esac
	return 0
}

# cx_check_verify: vb-history --verify.  Any changed byte of a record
# must be reported (exit 1); a truncation is a torn tail, reported as a
# note with exit 0 (or exit 1 if it cut into a record a version uses).
cx_check_verify() {
	local rc
	CX_CMD=(vb-history --verify d.vb)
	timeout "$(cx_timeout)" "${CX_CMD[@]}" > out 2> err && rc=0 || rc=$?
	CX_RUNS=$((CX_RUNS + 1))
	CX_VRC=$rc
	case $rc in
	0)
		if [ "$CX_TORN" = 0 ] && ! cmp -s d.vb "$CX/$CX_X.vb"; then
			cx_fail "--verify passed a changed store: $(cat out err | head -c 300)"
			return 0
		fi
		cx_msgs_ok vb-history err 0 || :
		;;
	1) cx_msgs_ok vb-history err 1 || : ;;
	124) cx_fail "timed out (a hang)" ;;
	*) cx_fail "exit status $rc: $(head -c 300 err)" ;;
	esac
	return 0
}

# cx_expected_edit KIND V OUT: the content version V has after the
# writer KIND's edit.
cx_expected_edit() {
	local src=$CX/exp/$CX_X.$2.cat
	case $1 in
	insert) { head -c 100 "$src"; printf XYZ; tail -c +101 "$src"; } > "$3" ;;
	delete) { head -c 200 "$src"; tail -c +251 "$src"; } > "$3" ;;
	partial | compact) cp "$src" "$3" ;;
	esac
}

# cx_check_writer KIND: run a writer on its own copy of the damaged store.
cx_check_writer() {
	local kind=$1 rc before v ok=0 vrc off
	cp d.vb wr.vb
	before=$(cksum < wr.vb)
	case $kind in
	insert) CX_CMD=(vb-insert --no-sync wr.vb 100 --text XYZ) ;;
	delete) CX_CMD=(vb-delete --no-sync wr.vb 200 50) ;;
	partial) CX_CMD=(vb-flatten --no-sync --partial --piece-size 8K wr.vb) ;;
	compact) CX_CMD=(vb-flatten --no-sync --compact --keep 2 wr.vb) ;;
	esac
	local prog=${CX_CMD[0]}
	timeout "$(cx_timeout)" "${CX_CMD[@]}" > out 2> err && rc=0 || rc=$?
	CX_RUNS=$((CX_RUNS + 1))
	case $rc in
	0)
		cx_msgs_ok "$prog" err 0 wr.vb || return 0
		# the version it opened at: the one before the new head
		local new
		new=$(vb-history -H -n 1 wr.vb 2> /dev/null | awk '{ print $1 }')
		v=$((new - 1))
		if [ "$v" != "$CX_HEAD" ] && [ "$v" != "$CX_FALL" ]; then
			cx_fail "wrote version $new after version $v, not after $CX_HEAD or $CX_FALL"
			return 0
		fi
		if [ "$v" != "$CX_HEAD" ] && [ "$CX_TORN" = 0 ] &&
			! grep -q "^$prog: wr\\.vb: warning: [0-9]* bytes after the last commit belong to no version" err; then
			cx_fail "wrote after version $v (not the newest) without a warning: $(head -c 300 err)"
			return 0
		fi
		cx_expected_edit "$kind" "$v" want
		CX_CMD=(vb-cat wr.vb)
		vb-cat wr.vb > out 2> err2 && rc=0 || rc=$?
		if [ $rc = 0 ]; then
			cmp -s out want || cx_fail "after $kind the content is wrong"
		elif [ $rc = 1 ] && [ "${CX_RC[cat]}" = 1 ]; then
			# the damage it could not see: reading fails as before
			cx_msgs_ok vb-cat err2 1 || :
		else
			cx_fail "after $kind, vb-cat exits $rc: $(head -c 300 err2)"
		fi
		# --verify of what it wrote complains only about old records
		CX_CMD=(vb-history --verify wr.vb)
		vb-history --verify wr.vb > out 2> err2 && vrc=0 || vrc=$?
		if [ "$kind" = compact ]; then
			# compaction moves blocks without reading them (their
			# checksums move with them): damage in a kept version
			# stays, detectably, and nothing else may fail
			if [ $vrc != 0 ] && [ "$CX_VRC" = 0 ]; then
				cx_fail "the compacted store does not verify: $(head -c 300 err2)"
			fi
		elif [ $vrc = 1 ]; then
			local lim
			lim=$(awk -v v="$v" '$1 == v { print $2 }' "$CX/$CX_X.ends")
			for off in $(grep -o 'offset [0-9]*' err2 | cut -d' ' -f2); do
				if [ "$off" -ge "$lim" ]; then
					cx_fail "after $kind --verify complains about new bytes: $(head -c 300 err2)"
					break
				fi
			done
		elif [ $vrc != 0 ]; then
			cx_fail "after $kind --verify exits $vrc"
		fi
		;;
	1)
		cx_msgs_ok "$prog" err 1 wr.vb || return 0
		if [ "$(cksum < wr.vb)" != "$before" ]; then
			# only the torn tail may have been cut off
			local size
			size=$(stat -c %s wr.vb)
			if [ -z "$CX_FALL" ] || [ "$size" != "$CX_FALL_END" ] || ! cmp -s -n "$size" wr.vb d.vb; then
				cx_fail "failed (exit 1) but changed the store"
			fi
		fi
		;;
	124) cx_fail "timed out (a hang)" ;;
	*) cx_fail "exit status $rc: $(head -c 300 err)" ;;
	esac
	return 0
}

# cx_sweep X KIND SEED COUNT: COUNT damages of KIND to store X, seeds
# SEED, SEED+1, ...; appends failures to CX_FAILS, counts in CX_INPUTS
# and CX_RUNS.
cx_sweep() {
	local x=$1 kind=$2 seed=$3 count=$4 i n
	declare -gA CX_RC
	CX_X=$x CX_KIND=$kind CX_A=$(cx_diff_from "$x")
	cd "$CX/w" || return 1
	for ((i = 0; i < count; i++)); do
		CX_SEED=$((seed + i))
		RANDOM=$CX_SEED
		cp "$CX/$x.vb" d.vb
		cx_damage "$kind" d.vb
		cx_candidates "$x"
		CX_INPUTS=$((CX_INPUTS + 1))
		CX_RC=()
		for k in $CX_READERS; do
			cx_check_reader "$k"
		done
		for n in $(cx_pick_versions "$x"); do
			cx_check_cat_version "$n"
		done
		cx_check_verify
		for k in insert delete partial compact; do
			cx_check_writer "$k"
		done
	done
}

# Three versions to read with -V: the oldest kept, one from the middle,
# and one drawn at random.
cx_pick_versions() {
	local vers
	mapfile -t vers < <(cut -d' ' -f1 "$CX/$1.ends")
	echo "${vers[0]} ${vers[${#vers[@]} / 2]} ${vers[RANDOM % ${#vers[@]}]}"
}
