#!/usr/bin/env bash
# Builds livemig's test guest into OUT: a stock Debian kernel (vmlinuz) and an initramfs
# (initrd.gz: busybox-static, /init, the workload program compiled statically).
# Usage: guest/build.sh OUT
# Inputs: this directory, /bin/busybox (busybox-static), gcc, cpio; the kernel is
# $LIVEMIG_KERNEL, else the newest /boot/vmlinuz-*, else the current Debian cloud kernel
# package, downloaded with apt-get download and unpacked with dpkg -x (no install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT}"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt-get download runs as _apt, which must write here

fail() { echo "guest build: $*" >&2; exit 1; }
for tool in gcc cpio gzip; do command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install $tool)"; done
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && linkage="$(ldd "$b" 2>&1 || true)" && [[ "$linkage" == *"not a dynamic"* || "$linkage" == *"statically linked"* ]]; then busybox="$b"; break; fi
done
[ -n "$busybox" ] || fail "a static busybox is missing (apt-get install busybox-static)"

# The kernel.
kernel="${LIVEMIG_KERNEL:-}"
if [ -z "$kernel" ]; then
  kernel="$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$kernel" ]; then
  command -v apt-get >/dev/null || fail "no kernel: set LIVEMIG_KERNEL, or install a Debian linux-image package"
  pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)"
  [ -n "$pkg" ] || fail "cannot resolve linux-image-cloud-amd64 (run apt-get update)"
  (cd "$work" && apt-get download -q "$pkg" >/dev/null) || fail "apt-get download $pkg failed"
  dpkg -x "$work"/"$pkg"_*.deb "$work/kernel"
  kernel="$(ls -1 "$work"/kernel/boot/vmlinuz-* | head -n 1)"
fi
[ -r "$kernel" ] || fail "kernel $kernel is not readable"
cp "$kernel" "$out/vmlinuz"

# The initramfs.
root="$work/root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/init" "$root/init"
gcc -O2 -static -Wall -Wextra -Werror -o "$root/bin/livemig-writer" "$here/writer.c"
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet --owner=0:0) | gzip -9n > "$out/initrd.gz"
printf '{"kernel": "%s"}\n' "$(basename "$kernel")" > "$out/manifest.json"
echo "guest built in $out (kernel $(basename "$kernel"))" >&2
