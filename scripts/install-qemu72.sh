#!/usr/bin/env bash
# QEMU 7.2 (Debian bookworm's) beside the installed QEMU 10.0, without replacing it: the three
# packages (binary, its modules, its ROMs) are unpacked with dpkg -x into a private prefix (default /opt/qemu-7.2) and a
# wrapper runs that binary with its own modules (QEMU_MODULE_DIR: the TCG accelerator is one)
# and its own firmware directory (-L) first. Rerunnable; does
# nothing when the wrapper already answers with version 7.2.
# Use it with: LIVEMIG_QEMU=/opt/qemu-7.2/bin/qemu-system-x86_64 livemig qemu ...
#          or: livemig qemu --qemu /opt/qemu-7.2/bin/qemu-system-x86_64 ...
#              npm run validate -- --qemu /opt/qemu-7.2/bin/qemu-system-x86_64 ...
set -euo pipefail
prefix="${1:-/opt/qemu-7.2}"
wrapper="$prefix/bin/qemu-system-x86_64"
# The versions Debian bookworm carries (the arch-dependent packages are a binNMU of the source).
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
if ! apt-get download "qemu-system-x86=$x86_version" "qemu-system-common=$x86_version" "qemu-system-data=$data_version" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get download "qemu-system-x86=$x86_version" "qemu-system-common=$x86_version" "qemu-system-data=$data_version" >/dev/null
fi
rm -rf "$prefix.new"
mkdir -p "$prefix.new"
for deb in ./*.deb; do dpkg -x "$deb" "$prefix.new"; done
# Its shared libraries are the installed 10.0's (same Debian release): refuse if one is missing.
missing="$(for so in "$prefix.new/usr/bin/qemu-system-x86_64" "$prefix.new"/usr/lib/x86_64-linux-gnu/qemu/accel-*.so; do ldd "$so"; done | grep "not found" | sort -u || true)"
if [ -n "$missing" ]; then
  echo "install-qemu72: QEMU 7.2 needs libraries that are not installed:" >&2
  echo "$missing" >&2
  exit 1
fi
mkdir -p "$prefix.new/bin"
# QEMU 7.2 was built to look in /usr/lib/x86_64-linux-gnu/qemu and /usr/share/qemu, which hold
# 10.0's modules and ROMs: its own come first (QEMU_MODULE_DIR; -L is searched before the
# built-in path), then the installed seabios's BIOS and ipxe's NIC ROMs (shared with 10.0,
# which looks in those directories itself; 7.2 does not).
cat >"$prefix.new/bin/qemu-system-x86_64" <<WRAPPER
#!/bin/sh
QEMU_MODULE_DIR="$prefix/usr/lib/x86_64-linux-gnu/qemu" exec "$prefix/usr/bin/qemu-system-x86_64" -L "$prefix/usr/share/qemu" -L /usr/share/seabios -L /usr/lib/ipxe/qemu "\$@"
WRAPPER
chmod 755 "$prefix.new/bin/qemu-system-x86_64"
rm -rf "$prefix"
mv "$prefix.new" "$prefix"
"$wrapper" --version | head -1
