# Sourced by scripts/narrate, scripts/test, scripts/bench and scripts/quality: create .venv
# at the repo root on first use and (re)install narrator into it whenever pyproject.toml
# changes or the calling script needs an extra that is not installed yet.
# The caller may set, before sourcing:
#   extras           extras it needs, comma-separated (default: test)
#   optional_extras  extras it can do without: if installing them fails (no package index),
#                    it goes on without them, says so, and tries again on its next run
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.narrator-installed"  # line 1: pyproject.toml's SHA-256; line 2: the extras in
extras="${extras:-test}"
optional_extras="${optional_extras:-}"

find_python() {
    for candidate in "${PYTHON:-}" python3 python; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "narrator: Python 3.10 or newer is needed; install it or set PYTHON=/path/to/python3" >&2
    return 1
}

# the union of comma-separated lists, sorted, without empty items
union() { tr ',' '\n' <<<"$*" | tr ' ' '\n' | sed '/^$/d' | sort -u | paste -sd, -; }

pip_install() {
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[$1]" >&2
}

want="$(sha256sum <"$root/pyproject.toml" | cut -d' ' -f1)"
have="$(sed -n 1p "$stamp" 2>/dev/null || true)"
have_extras="$(sed -n 2p "$stamp" 2>/dev/null || true)"
[ "$have" = "$want" ] || have_extras=""
needed="$(union "$extras,$optional_extras")"
if [ ! -x "$venv/bin/python" ] || [ "$(union "$have_extras,$needed")" != "$have_extras" ]; then
    python="$(find_python)" || exit 1
    if [ ! -x "$venv/bin/python" ]; then
        echo "narrator: creating $venv (first run only)" >&2
        "$python" -m venv "$venv" || exit 1
    fi
    echo "narrator: installing dependencies into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 || exit 1
    installed="$(union "$have_extras,$needed")"
    if ! pip_install "$installed"; then
        installed="$(union "$have_extras,$extras")"
        if [ -z "$optional_extras" ] || ! pip_install "$installed"; then
            echo "narrator: installing dependencies failed (see above); fix it and run again" >&2
            exit 1
        fi
        echo "narrator: could not install the optional extras ($optional_extras), probably" \
            "because the package index cannot be reached; going on without them" >&2
    fi
    printf '%s\n%s\n' "$want" "$installed" >"$stamp"
fi
