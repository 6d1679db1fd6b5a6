#!/usr/bin/env bash
# Install test: `cmake --install` of this build tree into a temporary prefix, the pinned Chroma
# copied into <prefix>/share/kbindex/chroma (as tools/setup --prefix does), then the source and
# build trees are hidden (a read-only empty tmpfs over each, in a private mount namespace) and,
# with a clean environment (no KBINDEX_* variables, an empty HOME), checks that:
#   - the installed kbindex indexes, searches and reports stats against the managed local Chroma
#     it finds install-relative (documents == the sample notes, all synced, Chroma reachable);
#   - examples/embed builds against the installed CMake package (find_package(kbindex)), finds
#     libkbindex.so in the prefix by RPATH, and works (index, search, stats);
#   - the pkg-config file gives working flags (the example builds with them too);
#   - the systemd user unit runs <prefix>/bin/kbindex serve and passes systemd-analyze verify;
#   - an installed kbindex without Chroma fails and names kbindex-install-chroma.
# Needs root (unshare -m, mount): fails, never skips, without it.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

fail() {
  echo "install_test: FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
[ $# -eq 2 ] || fail "usage: install_test.sh BUILD_DIR SOURCE_DIR"
build="$(cd "$1" && pwd -P)"
src="$(cd "$2" && pwd -P)"

[ "$(id -u)" -eq 0 ] ||
  fail "must run as root: the source tree is hidden with unshare -m and mount (CI runs the suite as root)"
command -v unshare >/dev/null || fail "unshare is missing (Debian package util-linux)"
unshare -m true 2>/dev/null || fail "unshare -m does not work here (no CAP_SYS_ADMIN?)"
for tool in cmake c++ pkg-config readelf ldd node systemd-analyze; do
  command -v "$tool" >/dev/null || fail "$tool is missing (tools/setup installs it)"
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kbindex-install-test.XXXXXX")"
tmp="$(cd "$tmp" && pwd -P)"
case "$tmp/" in "$src/"* | "$build/"*) fail "the temporary folder $tmp is inside the tree it must hide" ;; esac
# Managed Chroma servers are shared per database and normally stopped by their last user; if a
# check fails half-way, stop the ones this test started (their pids are in the data folders).
cleanup() {
  for state in "$tmp"/db*/*.chroma/kbindex-server.json; do
    [ -f "$state" ] || continue
    pid="$(node -p 'require(process.argv[1]).pid' "$state" 2>/dev/null || true)"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

prefix="$tmp/prefix"
step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install failed"; }
[ -x "$prefix/bin/kbindex" ] || fail "bin/kbindex not installed"
libkbindex="$(find "$prefix" -name 'libkbindex.so.0' | head -1)"
[ -n "$libkbindex" ] || fail "libkbindex.so.0 (the SONAME link) not installed"
libdir="$(dirname "$libkbindex")"
[ -L "$libdir/libkbindex.so" ] || fail "the libkbindex.so development link is missing"
grep -q 'SONAME.*\[libkbindex\.so\.0\]' <<<"$(readelf -d "$libkbindex")" || fail "libkbindex's SONAME is not libkbindex.so.0"
for f in "$prefix/bin/kbindex" "$libkbindex"; do
  if grep -E 'RPATH|RUNPATH' <<<"$(readelf -d "$f")"; then fail "$f has an RPATH"; fi
done

step "the pinned Chroma into $prefix/share/kbindex/chroma (a copy of the checkout's, as tools/setup --prefix does)"
chroma_dir="$prefix/share/kbindex/chroma"
[ -f "$chroma_dir/package.json" ] || fail "share/kbindex/chroma/package.json (the version pins) not installed"
checkout_chroma="$(readlink -f "$src/.chroma")"
[ -f "$checkout_chroma/node_modules/chromadb/dist/cli.mjs" ] || fail "no Chroma in $src/.chroma: run tools/setup"
# Hard links when on one file system (fast: the server is 400 MB), else a copy.
cp -al "$checkout_chroma/node_modules" "$chroma_dir/" 2>/dev/null ||
  { rm -rf "$chroma_dir/node_modules"; cp -a "$checkout_chroma/node_modules" "$chroma_dir/"; }
# The installer agrees that these are the pinned versions, and so does nothing (idempotent).
out="$(env -i PATH=/usr/bin:/bin HOME="$tmp/home" "$prefix/bin/kbindex-install-chroma")" ||
  fail "kbindex-install-chroma failed: $out"
grep -q "already installed in $chroma_dir" <<<"$out" || fail "kbindex-install-chroma did not recognise the pinned server: $out"

# A prefix with kbindex (and its installer) but no Chroma.
mkdir -p "$tmp/bare/bin" "$tmp/home" "$tmp/empty-home"
cp "$prefix/bin/kbindex" "$prefix/bin/kbindex-install-chroma" "$tmp/bare/bin/"

cp -r "$src/examples/embed" "$src/examples/notes" "$tmp/"
notes="$(find "$tmp/notes" -type f \( -name '*.md' -o -name '*.markdown' -o -name '*.txt' \) -not -path '*/.*' | wc -l)"
[ "$notes" -gt 0 ] || fail "no sample notes in examples/notes"

# Everything below runs with the source and build trees hidden.
cat >"$tmp/hidden.sh" <<'EOF'
set -euo pipefail
src="$1" build="$2" tmp="$3" prefix="$4" libdir="$5" notes="$6" checkout_chroma="$7"
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
hide() { mount -t tmpfs -o ro,size=4k,mode=0555 kbindex-hidden "$1"; }
# The build tree first: it may be inside the source tree.
hide "$build"
hide "$src"
case "$checkout_chroma/" in "$src/"*) ;; *) hide "$checkout_chroma" ;; esac
[ -z "$(ls -A "$src")" ] || fail "the source tree is still visible"
[ ! -e "$build" ] || [ -z "$(ls -A "$build")" ] || fail "the build tree is still visible"
cd "$tmp"
# (Output captured before grep: grep -q exiting early would make the pipeline fail.)
loads_from_prefix() { grep -qF "libkbindex.so.0 => $libdir/libkbindex.so.0 (" <<<"$(ldd "$1")"; }
# A clean environment: no KBINDEX_*, an empty HOME (so no per-user Chroma, no config file).
run() { env -i PATH="$prefix/bin:/usr/bin:/bin" HOME="$tmp/home" LANG=C.UTF-8 "$@"; }

step "installed kbindex: index, search, stats against the managed Chroma it finds in the prefix"
run "$prefix/bin/kbindex" --db "$tmp/db/kb.db" index "$tmp/notes" >"$tmp/index.out" 2>&1 ||
  { cat "$tmp/index.out"; fail "kbindex index failed"; }
cat "$tmp/index.out"
run "$prefix/bin/kbindex" --db "$tmp/db/kb.db" search --mode hybrid "sourdough starter" >"$tmp/search.out" 2>&1 ||
  { cat "$tmp/search.out"; fail "kbindex search failed"; }
grep -q "notes:cooking/sourdough.md" "$tmp/search.out" || { cat "$tmp/search.out"; fail "search did not find the sourdough note"; }
run "$prefix/bin/kbindex" --db "$tmp/db/kb.db" --json stats >"$tmp/stats.json" 2>"$tmp/stats.err" ||
  { cat "$tmp/stats.json" "$tmp/stats.err"; fail "kbindex stats failed"; }
cat "$tmp/stats.json"
node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const want = Number(process.argv[2]);
  const bad = [];
  if (s.documents !== want) bad.push(`documents ${s.documents}, want ${want}`);
  if (s.sync.synced !== s.documents) bad.push(`synced ${s.sync.synced} of ${s.documents}`);
  if (s.sync.pending !== 0 || s.sync.failed !== 0) bad.push(`pending ${s.sync.pending}, failed ${s.sync.failed}`);
  if (!s.chroma || s.chroma.reachable !== true) bad.push("chroma not reachable: " + JSON.stringify(s.chroma));
  if (bad.length) { console.error(bad.join("; ")); process.exit(1); }' "$tmp/stats.json" "$notes" ||
  fail "stats --json is not what the index should have produced"

step "examples/embed against the installed CMake package"
run cmake -S "$tmp/embed" -B "$tmp/embed-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/embed-config.log" 2>&1 ||
  { cat "$tmp/embed-config.log"; fail "configuring examples/embed against the prefix failed"; }
grep -q "^kbindex_DIR:PATH=$libdir/cmake/kbindex$" "$tmp/embed-build/CMakeCache.txt" ||
  fail "find_package(kbindex) did not use the prefix: $(grep kbindex_DIR "$tmp/embed-build/CMakeCache.txt")"
run cmake --build "$tmp/embed-build" >"$tmp/embed-build.log" 2>&1 ||
  { cat "$tmp/embed-build.log"; fail "building examples/embed failed"; }
loads_from_prefix "$tmp/embed-build/kbindex-embed" ||
  fail "the example does not load libkbindex from the prefix: $(ldd "$tmp/embed-build/kbindex-embed")"
run "$tmp/embed-build/kbindex-embed" "$tmp/db2/kb.db" "$tmp/notes" sourdough starter >"$tmp/embed.out" 2>&1 ||
  { cat "$tmp/embed.out"; fail "the example failed"; }
cat "$tmp/embed.out"
for want in "documents: $notes" "synced: $notes, pending: 0, failed: 0" "chroma: reachable at http://127.0.0.1:" \
            "notes:cooking/sourdough.md" "embedder: hash-v1:384" "synced $notes documents to Chroma"; do
  grep -qF "$want" "$tmp/embed.out" || fail "the example's output lacks '$want'"
done
# Installed, the example keeps finding the library (RPATH to the prefix's libdir).
run cmake --install "$tmp/embed-build" --prefix "$tmp/app" >/dev/null
loads_from_prefix "$tmp/app/bin/kbindex-embed" ||
  fail "the installed example does not find libkbindex: $(ldd "$tmp/app/bin/kbindex-embed")"

step "pkg-config"
pcdir="$libdir/pkgconfig"
flags="$(run env PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs kbindex)" || fail "pkg-config does not know kbindex"
flags="${flags%% }"
echo "pkg-config --cflags --libs kbindex: $flags"
[ "$flags" = "-I$prefix/include -L$libdir -lkbindex" ] || fail "unexpected pkg-config flags: $flags"
# shellcheck disable=SC2086 # the flags are words
run c++ -std=c++20 -o "$tmp/embed-pc" "$tmp/embed/main.cpp" $flags -Wl,-rpath,"$libdir" ||
  fail "examples/embed does not build with the pkg-config flags"
loads_from_prefix "$tmp/embed-pc" || fail "the pkg-config build does not find libkbindex"

step "the systemd user unit"
unit="$prefix/lib/systemd/user/kbindex.service"
grep -qx "ExecStart=$prefix/bin/kbindex serve" "$unit" || fail "the unit does not run $prefix/bin/kbindex serve"
# Also resolves Documentation=man:kbindex(1) against the installed page.
verify="$(run env MANPATH="$prefix/share/man" systemd-analyze verify "$unit" 2>&1)" ||
  fail "systemd-analyze verify rejects the unit: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns about the unit: $verify"

step "an installed kbindex without Chroma says what to do"
set +e
run env HOME="$tmp/empty-home" "$tmp/bare/bin/kbindex" --db "$tmp/db3/kb.db" sync >"$tmp/bare.out" 2>&1
code=$?
set -e
cat "$tmp/bare.out"
[ "$code" -eq 1 ] || fail "kbindex sync without Chroma exited $code, want 1"
grep -qF "Install the pinned server with \`$tmp/bare/bin/kbindex-install-chroma\`" "$tmp/bare.out" ||
  fail "the message does not name the installer beside the binary"
grep -qF "KBINDEX_CHROMA_HOME" "$tmp/bare.out" || fail "the message does not mention KBINDEX_CHROMA_HOME"
echo "install_test: all checks passed with the source tree hidden"
EOF
step "hiding $src and $build (unshare -m, tmpfs)"
unshare -m --propagation private bash "$tmp/hidden.sh" "$src" "$build" "$tmp" "$prefix" "$libdir" "$notes" "$checkout_chroma"
