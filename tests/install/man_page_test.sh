#!/usr/bin/env bash
# Man page test: the page the build rendered (build/man/kbindex.1, from `kbindex --man`) has a
# section for every subcommand `kbindex --help` lists, with every option that subcommand's
# --help lists, has every global option, and is valid troff (groff -ww reports nothing).
#   man_page_test.sh BUILD_DIR
set -euo pipefail

fail() {
  echo "man_page_test: FAIL: $*" >&2
  exit 1
}
[ $# -eq 1 ] || fail "usage: man_page_test.sh BUILD_DIR"
build="$(cd "$1" && pwd -P)"
page="$build/man/kbindex.1"
kbindex="$build/kbindex"
[ -s "$page" ] || fail "$page was not rendered by the build"
command -v groff >/dev/null || fail "groff is missing (Debian package groff-base)"

# The long options in a --help text's "Options:" part.
options_of() { sed -n '/^Options:/,/^[A-Z][a-z]*:/p' | grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u; }
# One subcommand's part of the page (from its .SS heading to the next heading).
section_of() { awk -v h=".SS \"kbindex $1" 'index($0, h) == 1 { on = 1; next } on && /^\.S[SH]/ { exit } on'; }
roff() { sed 's/-/\\-/g' <<<"$1"; }

subcommands="$("$kbindex" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF { print $1 }')"
[ "$(wc -w <<<"$subcommands")" -ge 10 ] || fail "could not read the subcommands from kbindex --help: $subcommands"
for sub in $subcommands; do
  section="$(section_of "$sub" <"$page")"
  [ -n "$section" ] || fail "no section for 'kbindex $sub'"
  for opt in $("$kbindex" "$sub" --help | options_of); do
    [ "$opt" = --help ] && continue
    grep -qF "\\fB$(roff "$opt")\\fR" <<<"$section" || fail "'kbindex $sub $opt' is not in its section"
  done
done
globals="$(sed -n '/^\.SH GLOBAL OPTIONS/,/^\.SH COMMANDS/p' "$page")"
for opt in $("$kbindex" --help | options_of); do
  grep -qF "\\fB$(roff "$opt")\\fR" <<<"$globals" || fail "global option $opt is not in the page"
done
warnings="$(groff -man -Tutf8 -ww -z "$page" 2>&1)"
[ -z "$warnings" ] || fail "groff warns: $warnings"
echo "man_page_test: $(wc -w <<<"$subcommands") subcommands, all with their options: $(tr '\n' ' ' <<<"$subcommands")"
