# The shared part of the fish completions of the vb commands.
#
# completions/generate.py puts this file, unchanged, into every generated
# fish completion, followed by the command's table (global variables
# __vb_CMD_takes, __vb_CMD_at, __vb_CMD_operands, __vb_CMD_alt, with CMD
# the command's name with '_' for '-') and its "complete" lines, from
# completions/vb.spec.  The functions read the table of the command they
# are given; loading several files defines them again identically.

# __vb_scan CMD TOKEN...: print the operands among TOKEN (the words after
# the command), one a line; with the tokens before the cursor, a last line
# "pending OPTION" if an option waits for its value, and "at V" lines for
# the values of --at-version.
function __vb_scan
    set -l var __vb_(string replace -a -- - _ $argv[1])
    set -l takes_var {$var}_takes
    set -l at_var {$var}_at
    set -l takes $$takes_var
    set -l at $$at_var
    set -l pending
    set -l dashdash 0
    for w in $argv[2..-1]
        if test -n "$pending"
            contains -- $pending $at; and echo "at $w"
            set pending
            continue
        end
        if test $dashdash = 0
            switch $w
                case --
                    set dashdash 1
                    continue
                case '--*=*'
                    set -l name (string split -m1 = -- $w)
                    contains -- $name[1] $at; and echo "at $name[2]"
                    continue
                case '--?*'
                    contains -- $w $takes; and set pending $w
                    continue
                case '-?*'
                    # a cluster of short options: the first one that takes
                    # a value ends it (its value is the rest, or the next word)
                    for c in (string split '' -- (string sub -s 2 -- $w))
                        if contains -- -$c $takes
                            set -l rest (string replace -r -- '^-[^'$c']*'$c '' $w)
                            if test -z "$rest"
                                set pending -$c
                            else if contains -- -$c $at
                                echo "at $rest"
                            end
                            break
                        end
                    end
                    continue
            end
        end
        echo "operand $w"
    end
    test -n "$pending"; and echo "pending $pending"
end

# __vb_operand_is CMD KIND: whether the word at the cursor is an operand of
# KIND (not an option, nor an option's value).
function __vb_operand_is
    set -l cmd $argv[1]
    set -l var __vb_(string replace -a -- - _ $cmd)
    set -l tokens (commandline -opc)
    set -l scan (__vb_scan $cmd $tokens[2..-1])
    string match -q 'pending *' -- $scan[-1]; and return 1
    if not contains -- -- $tokens; and string match -q -- '-*' (commandline -ct)
        return 1
    end
    set -l n (count (string match 'operand *' -- $scan))
    set -l ops_var {$var}_operands
    set -l alt_var {$var}_alt
    set -l ops $$ops_var
    set -l alt $$alt_var
    if test (count $alt) -gt 0
        set -l all (commandline -op)
        if contains -- $alt[1] $all; or string match -q -- "$alt[1]=*" $all
            set ops $alt[2..-1]
        end
    end
    set -l kind
    if test $n -lt (count $ops)
        set kind $ops[(math $n + 1)]
    else if string match -q -- '*...' $ops[-1]
        set kind $ops[-1]
    end
    test (string replace -- ... '' "$kind") = $argv[2]
end

# __vb_history CMD ARG...: run "vb-history ARG... -- STORE" on the store on
# the line, its first operand (the vb-history next to the command typed,
# else the one on PATH; at most 2 seconds), its errors dropped; with
# --anchors, at the version of --at-version if one is given.  (While it
# completes, fish shows "commandline" only the line up to the cursor, so
# a store after it is not seen.)
function __vb_history
    set -l cmd $argv[1]
    set -l all (commandline -op)
    set -l scan (__vb_scan $cmd $all[2..-1])
    set -l store (string replace -r -- '^operand ' '' (string match 'operand *' -- $scan))[1]
    set -l at (string replace -r -- '^at ' '' (string match 'at *' -- $scan))
    string match -q -- '~/*' "$store"; and set store $HOME/(string sub -s 3 -- $store)
    test -n "$store" -a "$store" != - -a -f "$store" -a -r "$store"; or return 1
    # (fish's own $history is the command history)
    set -l hist (string replace -r -- (string escape --style=regex $cmd)'$' vb-history $all[1])
    test -x "$hist"; and string match -q '*/*' -- $hist; or set hist vb-history
    set -l run $hist $argv[2..-1]
    test "$argv[2]" = --anchors; and test -n "$at[-1]"; and set run $run --at-version=$at[-1]
    command -q timeout; and set run timeout 2 $run
    $run -- $store 2>/dev/null </dev/null
end

# __vb_stores: the store files (*.vb) and directories that start with the
# word at the cursor (fish's __fish_complete_suffix offers every file).
function __vb_stores
    set -l cur (string replace -r -- '^--[^=]*=' '' (commandline -ct))
    for f in $cur*
        if test -d $f
            echo $f/
        else if string match -q -- '*.vb' $f
            echo $f
        end
    end
end

# __vb_anchors CMD: the anchors of the store (NAME).
function __vb_anchors
    for line in (__vb_history $argv[1] --anchors)
        printf '%s\tanchor\n' (string split -f1 \t -- $line)
    end
end

# __vb_offsets CMD: after '@', an anchor of the store (@NAME).
function __vb_offsets
    set -l cur (string replace -r -- '^--[^=]*=' '' (commandline -ct))
    string match -q -- '@*' $cur; or return
    printf '@%s\n' (__vb_anchors $argv[1])
end

# __vb_ranges CMD: START:END, where after '@' at its start or after the ':'
# come the anchors of the store (@a:@b, @a:+10, 10:@b).
function __vb_ranges
    set -l cur (string replace -r -- '^--[^=]*=' '' (commandline -ct))
    set -l pre ''
    if string match -q -- '*:*' $cur
        set pre (string split -m1 : -- $cur)[1]:
    end
    string match -q -- "$pre@*" $cur; or return
    for a in (__vb_anchors $argv[1])
        echo "$pre@$a"
    end
end

# __vb_versions CMD: the versions of the store that "vb-history -H" lists
# (the kept ones): each number, head and head~K for each older one.
function __vb_versions
    set -l newest
    for line in (__vb_history $argv[1] -H)
        set -l v (string trim -- $line | string split -f1 ' ')
        string match -qr -- '^[0-9]+$' $v; or continue
        printf '%s\tversion\n' $v
        if test -z "$newest"
            set newest $v
            printf 'head\tversion %s\n' $v
        else
            printf 'head~%s\tversion %s\n' (math $newest - $v) $v
        end
    end
end
