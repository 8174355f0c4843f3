#!/usr/bin/env bash
# Builds Claude Cockpit's two images (images/Dockerfile: control-plane and worker) with
# whichever engine is here (docker, nerdctl or buildah) and imports them into k3s's
# containerd (`k3s ctr images import`): a NUC needs no registry.
#
# usage: images/build-and-import.sh [--tag TAG] [--engine docker|nerdctl|buildah]
#                                   [--no-import] [--save DIR] [--print-tag]
#
#   --tag TAG      image tag (default: the chart's appVersion plus the git commit, e.g.
#                  0.1.0-1a2b3c4, so a new commit rolls the Deployment)
#   --engine E     the build engine (default: the first of docker, nerdctl, buildah found)
#   --no-import    build only
#   --save DIR     keep the image archives in DIR (to copy to another machine and import
#                  there with `k3s ctr images import FILE`)
#   --print-tag    print the tag that would be built and exit
#
# Environment: COCKPIT_IMAGE_TAG and COCKPIT_ENGINE (same as the options), K3S (the k3s
# command, default `k3s`; run as root or with sudo for the import).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag=${COCKPIT_IMAGE_TAG:-}
engine=${COCKPIT_ENGINE:-}
import=1
save_dir=
print_tag=0

die() { printf 'build-and-import: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case $1 in
    --tag) [ $# -ge 2 ] || die "--tag needs a value"; tag=$2; shift 2 ;;
    --engine) [ $# -ge 2 ] || die "--engine needs a value"; engine=$2; shift 2 ;;
    --no-import) import=0; shift ;;
    --save) [ $# -ge 2 ] || die "--save needs a directory"; save_dir=$2; shift 2 ;;
    --print-tag) print_tag=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

default_tag() {
  local version sha
  version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$root/charts/cockpit/Chart.yaml")
  [ -n "$version" ] || die "no appVersion in charts/cockpit/Chart.yaml"
  if sha=$(git -C "$root" rev-parse --short=7 HEAD 2>/dev/null); then
    printf '%s-%s\n' "$version" "$sha"
  else
    printf '%s\n' "$version"
  fi
}

[ -n "$tag" ] || tag=$(default_tag)
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "bad tag '$tag'"
[ "$tag" != latest ] || die "use a fixed tag, not latest (Pods would always pull it, and there is no registry)"
if [ "$print_tag" = 1 ]; then
  printf '%s\n' "$tag"
  exit 0
fi

if [ -z "$engine" ]; then
  for candidate in docker nerdctl buildah; do
    if command -v "$candidate" >/dev/null 2>&1; then engine=$candidate; break; fi
  done
  [ -n "$engine" ] || die "no image builder found: install docker, nerdctl (with buildkit) or buildah (e.g. apt-get install buildah)"
fi
case $engine in
  docker | nerdctl | buildah) command -v "$engine" >/dev/null 2>&1 || die "$engine is not installed" ;;
  *) die "unknown engine '$engine' (docker, nerdctl or buildah)" ;;
esac

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${save_dir:-$work}
mkdir -p "$out"

build() { # TARGET IMAGE
  local target=$1 image=$2
  printf '== building %s (%s, %s)\n' "$image" "$target" "$engine"
  case $engine in
    docker)
      DOCKER_BUILDKIT=1 docker build --file "$root/images/Dockerfile" --target "$target" --tag "$image" "$root" ;;
    nerdctl)
      nerdctl build --file "$root/images/Dockerfile" --target "$target" --tag "$image" "$root" ;;
    buildah)
      buildah build --layers --file "$root/images/Dockerfile" --ignorefile "$root/images/Dockerfile.dockerignore" \
        --target "$target" --tag "$image" "$root" ;;
  esac
}

save() { # IMAGE FILE
  local image=$1 file=$2
  case $engine in
    docker) docker save --output "$file" "$image" ;;
    nerdctl) nerdctl save --output "$file" "$image" ;;
    buildah) rm -f "$file"; buildah push "$image" "docker-archive:$file:$image" ;;
  esac
}

images=()
for target in control-plane worker; do
  # Fully qualified, so every engine and k3s's containerd agree on the name the Pods use
  # (`cockpit-worker:TAG` is short for docker.io/library/cockpit-worker:TAG).
  image="docker.io/library/cockpit-$target:$tag"
  build "$target" "$image"
  save "$image" "$out/cockpit-$target-$tag.tar"
  images+=("$image")
done

if [ "$import" = 1 ]; then
  k3s=${K3S:-k3s}
  command -v "$k3s" >/dev/null 2>&1 || die "$k3s not found: install k3s first (k3s/install.sh), or use --no-import --save DIR"
  for target in control-plane worker; do
    printf '== importing %s into k3s\n' "cockpit-$target:$tag"
    as_root "$k3s" ctr images import "$out/cockpit-$target-$tag.tar"
  done
fi

printf '\nimages (tag %s):\n' "$tag"
printf '  %s\n' "${images[@]}"
if [ -n "$save_dir" ]; then
  printf 'archives in %s\n' "$save_dir"
fi
printf 'chart values: --set image.tag=%s\n' "$tag"
