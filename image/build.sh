#!/usr/bin/env bash
# Builds weft's one OCI image (proxy and control plane, different commands) without Docker:
# an esbuild bundle of the CLI, the node binary and exactly the shared libraries it links,
# assembled with `buildah from scratch` and written as an OCI archive. No shell, no package manager.
#
# Also ships iptables-restore/iptables-save (Debian's xtables-nft-multi, its libraries and the xtables
# extensions the interception rules load) for the iptables init container.
#
# Usage: image/build.sh [--repository R] [--tag T] [--output FILE] [--node PATH]
# Env (flags win): WEFT_IMAGE_REPOSITORY (default ghcr.io/weft-mesh/weft), WEFT_IMAGE_TAG (default
# package.json version), WEFT_IMAGE_OUTPUT (default dist/weft-image.tar), WEFT_IMAGE_NODE (default
# `command -v node`), WEFT_IMAGE_STORAGE (buildah storage root; default a temp dir removed at exit),
# WEFT_IMAGE_XTABLES (default /usr/sbin/xtables-nft-multi), WEFT_IMAGE_XTABLES_LIBDIR (default
# /usr/lib/x86_64-linux-gnu/xtables: where that binary looks for its extensions).
# Exit codes: 0 built, 2 usage error, 3 missing tool, 1 build failure.
set -euo pipefail

die() { local rc=$1; shift; echo "weft image: $*" >&2; exit "$rc"; }

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(node -p "require('$root_dir/package.json').version")"
repository="${WEFT_IMAGE_REPOSITORY:-ghcr.io/weft-mesh/weft}"
tag="${WEFT_IMAGE_TAG:-$version}"
output="${WEFT_IMAGE_OUTPUT:-$root_dir/dist/weft-image.tar}"
node_bin="${WEFT_IMAGE_NODE:-$(command -v node || true)}"
xtables_bin="${WEFT_IMAGE_XTABLES:-/usr/sbin/xtables-nft-multi}"
xtables_libdir="${WEFT_IMAGE_XTABLES_LIBDIR:-/usr/lib/x86_64-linux-gnu/xtables}"
# The xtables extensions shipped: what constructs/workload.ts iptablesRules() loads (standard targets
# and jumps, tcp, owner, REDIRECT), plus the few a rule set like it commonly grows into.
xtables_exts="standard tcp udp owner REDIRECT comment multiport"

while [ $# -gt 0 ]; do
  case "$1" in
    --repository) [ $# -ge 2 ] || die 2 "WEFT_ERR_USAGE: --repository needs a value"; repository="$2"; shift 2 ;;
    --tag) [ $# -ge 2 ] || die 2 "WEFT_ERR_USAGE: --tag needs a value"; tag="$2"; shift 2 ;;
    --output) [ $# -ge 2 ] || die 2 "WEFT_ERR_USAGE: --output needs a value"; output="$2"; shift 2 ;;
    --node) [ $# -ge 2 ] || die 2 "WEFT_ERR_USAGE: --node needs a value"; node_bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "WEFT_ERR_USAGE: unknown argument $1 (see --help)" ;;
  esac
done

[[ "$repository" =~ ^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$ ]] || die 2 "WEFT_ERR_USAGE: repository ${repository@Q} is not a valid image repository"
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die 2 "WEFT_ERR_USAGE: tag ${tag@Q} is not a valid image tag"
command -v buildah >/dev/null || die 3 "WEFT_ERR_IMAGE_TOOL: buildah not found (Debian: apt-get install -y buildah)"
[ -n "$node_bin" ] && [ -x "$node_bin" ] || die 3 "WEFT_ERR_IMAGE_TOOL: node binary not found (set WEFT_IMAGE_NODE)"
node_bin="$(readlink -f "$node_bin")"
[ -x "$xtables_bin" ] || die 3 "WEFT_ERR_IMAGE_TOOL: $xtables_bin not found (Debian: apt-get install -y iptables)"
xtables_bin="$(readlink -f "$xtables_bin")"
for ext in $xtables_exts; do
  [ -f "$xtables_libdir/libxt_$ext.so" ] || die 3 "WEFT_ERR_IMAGE_TOOL: xtables extension $xtables_libdir/libxt_$ext.so not found (Debian: apt-get install -y iptables)"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/weft-image.XXXXXX")"
storage="${WEFT_IMAGE_STORAGE:-$work/storage}"
# A private storage root with the vfs driver: no overlay mounts needed, nothing left in the host's store.
bh() { buildah --root "$storage" --runroot "$work/run" --storage-driver vfs "$@"; }
ctr=""
cleanup() {
  [ -n "$ctr" ] && bh rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

rootfs="$work/rootfs"
mkdir -p "$rootfs"/{app/protos/protobufjs/google,usr/local/bin,usr/sbin,etc,tmp,run,home/weft}

echo "weft image: bundling the weft CLI with esbuild" >&2
# `require.main` is defined away: in one bundle every module shares the top-level `module`, so each
# `if (require.main === module) main()` guard would fire; image/entry.js starts the CLI instead.
(cd "$root_dir" && npx --no-install esbuild image/entry.js --bundle --platform=node --target=node20 --format=cjs \
  --define:require.main=undefined --outfile="$rootfs/app/weft.js" --legal-comments=none --log-level=error \
  --banner:js="/* weft $version: esbuild bundle of the weft CLI (image/entry.js) for the OCI image */")

echo "weft image: copying node ($node_bin), iptables-restore ($xtables_bin) and their shared libraries" >&2
cp "$node_bin" "$rootfs/usr/local/bin/node"
# iptables-restore/-save are symlinks to the multi-call binary (it dispatches on argv[0]), as in Debian.
cp "$xtables_bin" "$rootfs/usr/sbin/xtables-nft-multi"
ln -s xtables-nft-multi "$rootfs/usr/sbin/iptables-restore"
ln -s xtables-nft-multi "$rootfs/usr/sbin/iptables-save"
# The extensions are dlopen()ed from the compiled-in directory, so they keep their host path.
mkdir -p "$rootfs$xtables_libdir"
ext_files=""
for ext in $xtables_exts; do ext_files="$ext_files $xtables_libdir/libxt_$ext.so"; done
# shellcheck disable=SC2086 # word splitting of the extension list is intended
cp $ext_files "$rootfs$xtables_libdir/"
# Every absolute path ldd prints: the libraries (after "=>") and the dynamic loader itself.
libs=""
# shellcheck disable=SC2086
for bin in "$node_bin" "$xtables_bin" $ext_files; do
  bin_libs="$(ldd "$bin" | grep -oE '/[^ ]+')" || true
  [ -n "$bin_libs" ] || die 1 "WEFT_ERR_IMAGE_LDD: ldd listed no libraries for $bin"
  libs="$libs $bin_libs"
done
libs="$(printf '%s\n' $libs | sort -u)"
for lib in $libs; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

echo "weft image: copying the Envoy protos (loaded at run time from \$WEFT_PROTO_DIR)" >&2
xds_deps="$(cd "$root_dir" && node -p "require('path').dirname(require.resolve('@grpc/grpc-js-xds/package.json'))")/deps"
pbjs="$(cd "$root_dir" && node -p "require('path').dirname(require.resolve('protobufjs/package.json'))")"
for d in envoy-api xds googleapis protoc-gen-validate; do
  mkdir -p "$rootfs/app/protos/$d"
  (cd "$xds_deps/$d" && find . -name '*.proto' -exec cp --parents -t "$rootfs/app/protos/$d" {} +)
done
cp -r "$pbjs/google/protobuf" "$rootfs/app/protos/protobufjs/google/protobuf"
# weft's own protos (the CA service) keep their repository path under $WEFT_PROTO_DIR/weft/.
mkdir -p "$rootfs/app/protos/weft"
(cd "$root_dir" && find api control-plane proxy -name '*.proto' -not -path '*/node_modules/*' -exec cp --parents -t "$rootfs/app/protos/weft" {} +)
find "$rootfs/app/protos/protobufjs" -type f ! -name '*.proto' -delete

# Users: root owns the files; weft (10001) runs the process. No login shell exists in the image.
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
weft:x:10001:10001:weft proxy and control plane:/home/weft:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
weft:x:10001:
nogroup:x:65534:
EOF
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
find "$rootfs" -type d -exec chmod 755 {} + ; chmod 1777 "$rootfs/tmp"
find "$rootfs/app" "$rootfs/etc" "$rootfs$xtables_libdir" -type f -exec chmod 644 {} +

echo "weft image: assembling with buildah from scratch" >&2
ctr="$(bh from --quiet scratch)"
# Mounting a vfs container needs root (rootless: run this script under `buildah unshare`).
mnt="$(bh mount "$ctr")"
cp -a "$rootfs/." "$mnt/"
chown -R 0:0 "$mnt"
chown 10001:10001 "$mnt/home/weft"
bh umount "$ctr" >/dev/null
# One timestamp for the label, the image config and every file: same sources, same image digest.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$root_dir" log -1 --format=%ct 2>/dev/null || date +%s)}"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
revision="$(git -C "$root_dir" rev-parse HEAD 2>/dev/null || echo unknown)"
bh config \
  --os linux --arch "$(node -p process.arch | sed 's/x64/amd64/')" \
  --created-by "weft image/build.sh (buildah from scratch)" \
  --user 10001:10001 --workingdir /app \
  --entrypoint '["/usr/local/bin/node", "/app/weft.js"]' --cmd proxy \
  --env PATH=/usr/local/bin:/usr/sbin \
  --env WEFT_PROTO_DIR=/app/protos --env NODE_ENV=production --env HOME=/home/weft \
  --label org.opencontainers.image.title=weft \
  --label "org.opencontainers.image.description=weft sidecar proxy and control plane (weft proxy | weft control-plane)" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created" \
  --label "org.opencontainers.image.base.name=scratch" \
  --label "dev.weft.node-version=$("$node_bin" --version)" \
  --label "dev.weft.commands=proxy,control-plane,self-check" \
  "$ctr"

mkdir -p "$(dirname "$output")"
rm -f "$output"
bh commit --quiet --format oci --disable-compression=false --timestamp "$epoch" --rm "$ctr" "oci-archive:$output:$repository:$tag" >/dev/null
ctr=""
size="$(du -h "$output" | cut -f1)"
echo "weft image: wrote $output ($repository:$tag, $size)" >&2
echo "$output"
