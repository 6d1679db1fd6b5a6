#!/usr/bin/env bash
# Package test: `cpack -G DEB` of this build tree (into a temporary folder), then checks the
# .deb's name, control fields and contents, and that no installed text file names the source
# tree, the build tree or CPack's staging folder.
#   package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

fail() {
  echo "package_test: FAIL: $*" >&2
  exit 1
}
[ $# -eq 2 ] || fail "usage: package_test.sh BUILD_DIR SOURCE_DIR"
build="$(cd "$1" && pwd -P)"
src="$(cd "$2" && pwd -P)"
for tool in cpack dpkg-deb dpkg-shlibdeps readelf; do
  command -v "$tool" >/dev/null || fail "$tool is missing (tools/setup installs it)"
done
[ -f "$build/CPackConfig.cmake" ] || fail "$build/CPackConfig.cmake is missing"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kbindex-package-test.XXXXXX")"
tmp="$(cd "$tmp" && pwd -P)"
trap 'rm -rf "$tmp"' EXIT

version="$("$build/kbindex" --version | awk '{print $2}')"
arch="$(dpkg --print-architecture)"
echo "== cpack -G DEB (kbindex $version, $arch)"
(cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack failed"; }
deb="$tmp/out/kbindex_${version}_${arch}.deb"
[ -f "$deb" ] || fail "expected $deb; cpack made: $(ls "$tmp/out")"

echo "== control fields"
dpkg-deb -f "$deb" | tee "$tmp/control"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = kbindex ] || fail "Package is not kbindex"
[ "$(field Version)" = "$version" ] || fail "Version is not $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is not $arch"
[ "$(field Section)" = utils ] || fail "Section is not utils"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
grep -q "SQLite FTS5" <<<"$(field Description)" || fail "the Description does not say what kbindex is"
depends="$(field Depends)"
for want in "nodejs" "npm" "libc6 (>=" "libstdc++6 (>=" "libsqlite3-0" "libpq5"; do
  grep -qF "$want" <<<"$depends" || fail "Depends lacks '$want' (dpkg-shlibdeps ran?): $depends"
done

echo "== contents"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/contents"
has() { grep -Eq "^$1\$" "$tmp/contents" || fail "the package lacks $1"; }
lib='/usr/lib(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?'
has /usr/bin/kbindex
has /usr/bin/kbindex-install-chroma
has "$lib/libkbindex\\.so\\.0"
has "$lib/libkbindex\\.so\\.$version"
has "$lib/libkbindex\\.so"
for h in kbindex export options status types; do has "/usr/include/kbindex/$h\\.h"; done
has "$lib/cmake/kbindex/kbindexConfig\\.cmake"
has "$lib/cmake/kbindex/kbindexConfigVersion\\.cmake"
has "$lib/cmake/kbindex/kbindexTargets\\.cmake"
has "$lib/pkgconfig/kbindex\\.pc"
has "/usr/share/man/man1/kbindex\\.1(\\.gz)?"
has /usr/lib/systemd/user/kbindex.service
has /usr/share/kbindex/chroma/package.json
# Only the public headers; no static floors, tests or benchmarks.
if grep -E '^/usr/include/' "$tmp/contents" | grep -Ev '^/usr/include/(kbindex/)?$|^/usr/include/kbindex/[a-z_]+\.h$'; then
  fail "headers other than include/kbindex/*.h are packaged"
fi
if grep -E '\.a$|test|bench|node_modules' "$tmp/contents"; then fail "the package holds files it should not"; fi

echo "== installed files"
dpkg-deb -x "$deb" "$tmp/root"
grep -qx 'ExecStart=/usr/bin/kbindex serve' "$tmp/root/usr/lib/systemd/user/kbindex.service" ||
  fail "the unit's ExecStart is not /usr/bin/kbindex serve"
grep -qx 'Restart=on-failure' "$tmp/root/usr/lib/systemd/user/kbindex.service" || fail "the unit does not restart on failure"
grep -qx 'prefix=/usr' "$(find "$tmp/root" -name kbindex.pc)" || fail "kbindex.pc does not say prefix=/usr"
for f in "$tmp/root/usr/bin/kbindex" "$(find "$tmp/root" -name "libkbindex.so.$version")"; do
  if grep -E 'RPATH|RUNPATH' <<<"$(readelf -d "$f")"; then fail "$f has an RPATH"; fi
done
# The packaged (stripped) programs run, and the page is the one the build rendered.
[ "$("$tmp/root/usr/bin/kbindex" --version)" = "kbindex $version" ] || fail "the packaged kbindex does not run"
cmp -s <(gzip -dcf "$(find "$tmp/root/usr/share/man/man1" -name 'kbindex.1*')") "$build/man/kbindex.1" ||
  fail "the packaged man page is not build/man/kbindex.1"
"$tmp/root/usr/bin/kbindex-install-chroma" --help >/dev/null || fail "the packaged kbindex-install-chroma does not run"
# No text file names the trees the package was built from (-I: text files only).
for leak in "$src" "$build" "$tmp/out"; do
  if grep -rIl -F "$leak" "$tmp/root"; then fail "installed files name $leak"; fi
done
echo "package_test: $(basename "$deb") ($(du -h "$deb" | cut -f1)) is complete"
