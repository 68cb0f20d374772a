#!/usr/bin/env bash
# QEMU 7.2 (Debian bookworm's) beside the installed QEMU 10.0, without replacing it: the two
# packages are unpacked with dpkg -x into a private prefix (default /opt/qemu-7.2) and a
# wrapper runs that binary with its own firmware directory (-L) first. Rerunnable; does
# nothing when the wrapper already answers with version 7.2.
# Use it with: LIVEMIG_QEMU=/opt/qemu-7.2/bin/qemu-system-x86_64 livemig qemu ...
#          or: livemig qemu --qemu /opt/qemu-7.2/bin/qemu-system-x86_64 ...
#              npm run validate -- --qemu /opt/qemu-7.2/bin/qemu-system-x86_64 ...
set -euo pipefail
prefix="${1:-/opt/qemu-7.2}"
wrapper="$prefix/bin/qemu-system-x86_64"
# The versions Debian bookworm carries (the -x86 binary is a binNMU of the source's -data).
x86_version="1:7.2+dfsg-7+deb12u18+b3"
data_version="1:7.2+dfsg-7+deb12u18"
if [ -x "$wrapper" ] && "$wrapper" --version 2>/dev/null | grep -q "version 7\.2\."; then
  echo "$("$wrapper" --version | head -1) already at $wrapper"
  exit 0
fi
command -v apt-get >/dev/null || { echo "install-qemu72: apt-get not found (Debian bookworm expected)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt's _apt user downloads into it
cd "$work"
if ! apt-get download "qemu-system-x86=$x86_version" "qemu-system-data=$data_version" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get download "qemu-system-x86=$x86_version" "qemu-system-data=$data_version" >/dev/null
fi
rm -rf "$prefix.new"
mkdir -p "$prefix.new"
for deb in ./*.deb; do dpkg -x "$deb" "$prefix.new"; done
# Its shared libraries are the installed 10.0's (same Debian release): refuse if one is missing.
missing="$(ldd "$prefix.new/usr/bin/qemu-system-x86_64" | grep "not found" || true)"
if [ -n "$missing" ]; then
  echo "install-qemu72: QEMU 7.2 needs libraries that are not installed:" >&2
  echo "$missing" >&2
  exit 1
fi
mkdir -p "$prefix.new/bin"
# QEMU 7.2 was built to look in /usr/share/qemu, which holds 10.0's ROMs: its own come first
# (-L is searched before the built-in path; the BIOS itself is seabios's, /usr/share/seabios).
cat >"$prefix.new/bin/qemu-system-x86_64" <<WRAPPER
#!/bin/sh
exec "$prefix/usr/bin/qemu-system-x86_64" -L "$prefix/usr/share/qemu" "\$@"
WRAPPER
chmod 755 "$prefix.new/bin/qemu-system-x86_64"
rm -rf "$prefix"
mv "$prefix.new" "$prefix"
"$wrapper" --version | head -1
